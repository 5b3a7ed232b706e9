import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Backend from "../src/Backend.js"
import * as GeminiLive from "../src/GeminiLive.js"
import * as LiveEmulator from "../src/testing/LiveEmulator.js"
import * as Transport from "../src/Transport.js"
import {
  bearer,
  decodeFrame,
  geminiPath,
  livePath,
  openMemory,
  openSocket,
  openTcp,
  readUntil,
  summary,
  type TestClient,
  untilTurnComplete,
  vertexModel,
  vertexPath
} from "./support/emulatorClients.js"
import { serviceAccountJson } from "./support/googleTokenEndpoint.js"

// -----------------------------------------------------------------------------
// Fixtures (the raw clients are in support/emulatorClients.ts)
// -----------------------------------------------------------------------------

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const setupMessage = (setup: Record<string, unknown> = {}) => ({
  setup: { model: "models/gemini-2.5-flash-native-audio-preview-12-2025", ...setup }
})

const textSetup = setupMessage({ generationConfig: { responseModalities: ["TEXT"] } })

/** 16 kHz PCM16 LE: a 440 Hz tone (speech, for the activity detector) or silence. */
const pcm16k = (ms: number, amplitude: number): Uint8Array => {
  const samples = (16000 * ms) / 1000
  const bytes = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) {
    bytes.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 16000)), i * 2)
  }
  return new Uint8Array(bytes)
}
const tone = (ms: number) => pcm16k(ms, 8000)
const silence = (ms: number) => pcm16k(ms, 0)

const audioInput = (pcm: Uint8Array) => ({
  realtimeInput: { audio: { data: Buffer.from(pcm).toString("base64"), mimeType: "audio/pcm;rate=16000" } }
})

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => new Uint8Array(Buffer.concat(parts))

const unregistered =
  "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API c"

// -----------------------------------------------------------------------------
// Upgrade, authentication, setup validation
// -----------------------------------------------------------------------------

describe("LiveEmulator", () => {
  describe("upgrade and authentication", () => {
    // Google's SDK appends /ws/... to a base URL ending in "/"; v1, v1beta and v1alpha are all served.
    it.scopedLive("accepts the documented and the SDK's double-slash paths", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        for (const [slashes, version] of [["/", "v1beta"], ["//", "v1"], ["//", "v1alpha"]] as const) {
          const client = yield* openSocket(emulator.port, `${geminiPath("BidiGenerateContent", version, slashes)}?key=k`)
          yield* client.send(setupMessage())
          assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        }
        const records = yield* emulator.connections
        assert.deepStrictEqual(records.map((record) => record.backend), ["GeminiAPI", "GeminiAPI", "GeminiAPI"])
        assert.deepStrictEqual(records.map((record) => record.path), [
          "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
          "//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
          "//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent"
        ])
        assert.strictEqual(emulator.url, `http://127.0.0.1:${emulator.port}`)
      }))

    // A path that is no Live endpoint is refused at the upgrade, on the socket and in memory alike.
    it.scopedLive("answers HTTP 404 to any other path, on both faces", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        for (const path of ["/ws/other?key=k", "///ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent", geminiPath("BidiGenerateMusic")]) {
          assert.strictEqual(yield* Effect.flip(openSocket(emulator.port, path)), 404)
        }
        const refused = yield* Effect.flip(openMemory(emulator, "/ws/other?key=k"))
        assert.deepInclude(refused, { _tag: "ConnectError", status: 404 })
        assert.deepStrictEqual(yield* emulator.connections, [])
      }))

    // The front end lets every upgrade through and checks the credential at the first message.
    it.scopedLive("closes 1008 for a caller without identity", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        // A token on the method that wants a key is no identity (cookbook#821).
        const client = yield* openSocket(emulator.port, `${geminiPath()}?access_token=auth_tokens/t`)
        yield* client.send(setupMessage())
        assert.deepStrictEqual(yield* client.closed, { code: 1008, reason: unregistered })
        assert.strictEqual(Buffer.byteLength(unregistered), 123)
      }))

    // A refused key is INVALID_ARGUMENT (1007); the Python SDK sends the key in that header, not in key=.
    it.scopedLive("closes 1007 for an invalid key; reads x-goog-api-key too", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ isValidApiKey: (key) => key === "good" })
        const bad = yield* openSocket(emulator.port, `${geminiPath()}?key=bad`)
        yield* bad.send(setupMessage())
        assert.deepStrictEqual(yield* bad.closed, {
          code: 1007,
          reason: "API key not valid. Please pass a valid API key."
        })
        const good = yield* openSocket(emulator.port, geminiPath(), { "X-Goog-Api-Key": "good" })
        yield* good.send(setupMessage())
        assert.deepStrictEqual(yield* good.next, { setupComplete: {} })
        const records = yield* emulator.connections
        assert.strictEqual(records[1].headers["x-goog-api-key"], "good")
      }))

    // BidiGenerateContentConstrained reads access_token= or `Authorization: Token`; a key alone is no identity.
    it.scopedLive("takes an ephemeral token from the query or Authorization", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const constrained = geminiPath("BidiGenerateContentConstrained", "v1alpha", "//")
        const byQuery = yield* openSocket(emulator.port, `${constrained}?access_token=auth_tokens/abc`)
        yield* byQuery.send(setupMessage())
        assert.deepStrictEqual(yield* byQuery.next, { setupComplete: {} })
        const byHeader = yield* openSocket(emulator.port, constrained, { Authorization: "Token auth_tokens/abc" })
        yield* byHeader.send(setupMessage())
        assert.deepStrictEqual(yield* byHeader.next, { setupComplete: {} })
        const keyOnly = yield* openSocket(emulator.port, `${constrained}?key=k`)
        yield* keyOnly.send(setupMessage())
        assert.deepStrictEqual(yield* keyOnly.closed, { code: 1008, reason: unregistered })
        const notAToken = yield* openSocket(emulator.port, `${constrained}?access_token=k`)
        yield* notAToken.send(setupMessage())
        assert.strictEqual((yield* notAToken.closed).code, 1008)
      }))
  })

  describe("setup", () => {
    it.scopedLive("closes 1007 when the first message is not setup, or not JSON", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const first = yield* openSocket(emulator.port, livePath)
        yield* first.send({ clientContent: { turnComplete: true } })
        assert.deepStrictEqual(yield* first.closed, { code: 1007, reason: "Request contains an invalid argument." })
        const garbage = yield* openSocket(emulator.port, livePath)
        yield* garbage.sendText("{not json")
        const closed = yield* garbage.closed
        assert.strictEqual(closed.code, 1007)
        assert.isTrue(closed.reason.startsWith("Invalid JSON payload received."))
        const unknownKind = yield* openSocket(emulator.port, livePath)
        yield* unknownKind.send({ hello: {} })
        assert.deepStrictEqual(yield* unknownKind.closed, {
          code: 1007,
          reason: "Invalid JSON payload received. Unknown name \"hello\": Cannot find field."
        })
      }))

    it.scopedLive("closes 1007 for a setup field the service does not know", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(setupMessage({ proactivity: { proactiveAudio: true }, speech_config: {} }))
        assert.deepStrictEqual(yield* client.closed, {
          code: 1007,
          reason: "Invalid JSON payload received. Unknown name \"speech_config\" at 'setup': Cannot find field."
        })
      }))

    // The service's reason, cut to the 123 bytes a close frame allows; a malformed name is 1007.
    it.scopedLive("closes 1008 for a model that is gone", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, `${geminiPath("BidiGenerateContent", "v1alpha")}?key=k`)
        yield* client.send({ setup: { model: "models/gemini-live-2.5-flash-preview" } })
        const closed = yield* client.closed
        assert.deepStrictEqual(closed, {
          code: 1008,
          reason:
            "models/gemini-live-2.5-flash-preview is not found for API version v1alpha, or is not supported for bidiGenerateContent. Cal"
        })
        assert.strictEqual(Buffer.byteLength(closed.reason), 123)
        const custom = yield* LiveEmulator.make({ unknownModels: ["retired"] })
        const other = yield* openSocket(custom.port, livePath)
        yield* other.send({ setup: { model: "models/retired" } })
        assert.strictEqual((yield* other.closed).code, 1008)
        const malformed = yield* openSocket(custom.port, livePath)
        yield* malformed.send({ setup: { model: "gemini-2.5-flash" } })
        assert.strictEqual((yield* malformed.closed).code, 1007)
      }))

    // Byte-exact with the recorded traffic: JSON with 2-space indents and a final newline.
    it.scopedLive("sends each message as a binary frame of pretty JSON", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(textSetup)
        const frame = yield* client.nextFrame
        assert.instanceOf(frame, Uint8Array)
        assert.strictEqual(new TextDecoder().decode(frame as Uint8Array), "{\n  \"setupComplete\": {}\n}\n")
        yield* client.send({ realtimeInput: { text: "Hi" } })
        const delta = yield* client.nextFrame
        assert.strictEqual(
          new TextDecoder().decode(delta as Uint8Array),
          "{\n  \"serverContent\": {\n    \"modelTurn\": {\n      \"parts\": [\n        {\n          \"text\": \"You\"\n        }\n      ]\n    }\n  }\n}\n"
        )
      }))

    it.scoped("answers messages sent before setupComplete, after it", () =>
      Effect.gen(function*() {
        const release = yield* Deferred.make<void>()
        const emulator = yield* LiveEmulator.make({
          beforeSetupComplete: () => [LiveEmulator.waitFor(Deferred.await(release))]
        })
        const client = yield* openMemory(emulator, livePath)
        // Both messages are in the server's inbox before it may answer the setup.
        yield* client.send(textSetup)
        yield* client.send({ clientContent: { turns: [{ role: "user", parts: [{ text: "early" }] }], turnComplete: true } })
        yield* Deferred.succeed(release, undefined)
        assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages.map(summary), [
          "text:You",
          "text: said: \"early\"",
          "generationComplete",
          "turnComplete+usage"
        ])
        const [record] = yield* emulator.connections
        assert.deepStrictEqual(record.clientMessages, [
          textSetup,
          { clientContent: { turns: [{ role: "user", parts: [{ text: "early" }] }], turnComplete: true } }
        ])
      }))

    // So that a client's setup timeout can be tested.
    it.scoped("withholds setupComplete while a script waits forever", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ beforeSetupComplete: () => [LiveEmulator.wait(Duration.infinity)] })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(setupMessage())
        const answer = yield* Effect.fork(Effect.timeout(client.next, "30 seconds"))
        yield* TestClock.adjust("31 seconds")
        const exit = yield* Effect.exit(answer.await.pipe(Effect.flatten))
        assert.isTrue(Exit.isFailure(exit))
      }))
  })

  // ---------------------------------------------------------------------------
  // Vertex AI
  // ---------------------------------------------------------------------------

  describe("Vertex AI", () => {
    // Vertex AI's setupComplete carries a fresh sessionId (a UUID) on each connection.
    it.scopedLive("serves LlmBidiService on v1 and v1beta1, one or two slashes", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const sessionIds: Array<string> = []
        for (const [slashes, version] of [["//", "v1beta1"], ["/", "v1"], ["/", "v1beta1"], ["//", "v1"]] as const) {
          const client = yield* openSocket(emulator.port, vertexPath(version, slashes), bearer())
          yield* client.send(setupMessage({ model: vertexModel() }))
          const complete = yield* client.next
          assert.deepStrictEqual(Object.keys(complete), ["setupComplete"])
          assert.deepStrictEqual(Object.keys(complete.setupComplete), ["sessionId"])
          assert.match(complete.setupComplete.sessionId, uuid)
          sessionIds.push(complete.setupComplete.sessionId)
        }
        assert.strictEqual(new Set(sessionIds).size, 4)
        const records = yield* emulator.connections
        assert.deepStrictEqual(records.map((record) => [record.backend, record.path]), [
          ["VertexAI", "//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"],
          ["VertexAI", "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"],
          ["VertexAI", "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"],
          ["VertexAI", "//ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent"]
        ])
        assert.strictEqual(records[0].headers.authorization, "Bearer ya29.test-token")
        for (
          const path of [
            vertexPath("v1alpha"),
            "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService.BidiGenerateContent",
            "///ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
          ]
        ) {
          assert.strictEqual(yield* Effect.flip(openSocket(emulator.port, path, bearer())), 404)
        }
      }))

    // Vertex AI: modelTurn has role: model, usageMetadata counts candidatesTokenCount.
    it.scopedLive("answers a text turn in Vertex AI's wording", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* client.send(setupMessage({ model: vertexModel(), generationConfig: { responseModalities: ["TEXT"] } }))
        yield* client.next
        yield* client.send({ clientContent: { turns: [{ role: "user", parts: [{ text: "Hello what should we talk about?" }] }], turnComplete: true } })
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages, [
          { serverContent: { modelTurn: { role: "model", parts: [{ text: "You" }] } } },
          { serverContent: { modelTurn: { role: "model", parts: [{ text: " said: \"Hello what should we talk about?\"" }] } } },
          { serverContent: { generationComplete: true } },
          {
            serverContent: { turnComplete: true },
            usageMetadata: {
              promptTokenCount: 515,
              candidatesTokenCount: 11,
              totalTokenCount: 526,
              promptTokensDetails: [{ modality: "TEXT", tokenCount: 515 }],
              candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 11 }]
            }
          }
        ])
        // The key order of the recordings: role first.
        assert.deepStrictEqual(Object.keys(messages[0].serverContent.modelTurn), ["role", "parts"])
        assert.deepStrictEqual(Object.keys(messages[3].usageMetadata), [
          "promptTokenCount",
          "candidatesTokenCount",
          "totalTokenCount",
          "promptTokensDetails",
          "candidatesTokensDetails"
        ])
        const [record] = yield* emulator.connections
        assert.strictEqual(record.backend, "VertexAI")
      }))

    // Vertex AI opens each model turn's output transcription with an empty one.
    it.scopedLive("answers an audio turn with audio/pcm chunks", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* client.send(setupMessage({ model: vertexModel(), outputAudioTranscription: {} }))
        yield* client.next
        yield* client.send({ realtimeInput: { text: "Hi" } })
        const messages = yield* untilTurnComplete(client)
        // "You said: \"Hi\"" is 14 characters: 980 ms, 47,040 bytes.
        assert.deepStrictEqual(messages[0], { serverContent: { outputTranscription: {} } })
        assert.deepStrictEqual(messages.slice(1).map(summary), [
          "audio:9600",
          "audio:11520",
          "out:You ",
          "audio:9600",
          "out:said: ",
          "audio:11520",
          "audio:4800",
          "out:\"Hi\"",
          "generationComplete",
          "turnComplete+usage"
        ])
        const audioParts = messages.flatMap((message) =>
          message.serverContent.modelTurn === undefined ? [] : [message.serverContent.modelTurn]
        )
        assert.strictEqual(audioParts.length, 5)
        for (const turn of audioParts) {
          assert.deepStrictEqual(Object.keys(turn), ["role", "parts"])
          assert.strictEqual(turn.role, "model")
          assert.strictEqual(turn.parts[0].inlineData.mimeType, "audio/pcm")
        }
        assert.deepStrictEqual(messages[messages.length - 1].usageMetadata, {
          promptTokenCount: 508,
          candidatesTokenCount: 4,
          totalTokenCount: 512,
          promptTokensDetails: [{ modality: "TEXT", tokenCount: 508 }],
          candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 4 }]
        })
        // The next model turn opens with an empty transcription too.
        yield* client.send({ realtimeInput: { text: "Go" } })
        const next = yield* untilTurnComplete(client)
        assert.deepStrictEqual(next[0], { serverContent: { outputTranscription: {} } })
        const emptyTranscriptions = next.filter((message) =>
          message.serverContent?.outputTranscription !== undefined && message.serverContent.outputTranscription.text === undefined
        )
        assert.strictEqual(emptyTranscriptions.length, 1)
        // Without outputAudioTranscription: no transcription at all.
        const silent = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* silent.send(setupMessage({ model: vertexModel() }))
        yield* silent.next
        yield* silent.send({ realtimeInput: { text: "Hi" } })
        assert.deepStrictEqual((yield* untilTurnComplete(silent)).map(summary), [
          "audio:9600",
          "audio:11520",
          "audio:9600",
          "audio:11520",
          "audio:4800",
          "generationComplete",
          "turnComplete+usage"
        ])
      }))

    // Google's UNAUTHENTICATED messages; the upgrade itself succeeds, as on the Gemini API.
    it.scopedLive("closes 1008 for a missing, refused or non-Bearer token", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ isValidAccessToken: (token) => token === "ya29.good" })
        const missing = yield* openSocket(emulator.port, vertexPath())
        yield* missing.send(setupMessage({ model: vertexModel() }))
        assert.deepStrictEqual(yield* missing.closed, {
          code: 1008,
          reason:
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentic"
        })
        const invalid =
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication c"
        for (const headers of [bearer("ya29.expired"), { Authorization: "Token ya29.good" }, { Authorization: "Bearer" }]) {
          const refused = yield* openSocket(emulator.port, vertexPath(), headers)
          yield* refused.send(setupMessage({ model: vertexModel() }))
          assert.deepStrictEqual(yield* refused.closed, { code: 1008, reason: invalid })
        }
        const good = yield* openSocket(emulator.port, vertexPath(), bearer("ya29.good"))
        yield* good.send(setupMessage({ model: vertexModel() }))
        assert.match((yield* good.next).setupComplete.sessionId, uuid)
        // Google's front end also reads an access token from the query.
        const byQuery = yield* openSocket(emulator.port, `${vertexPath()}?access_token=ya29.good`)
        yield* byQuery.send(setupMessage({ model: vertexModel() }))
        assert.match((yield* byQuery.next).setupComplete.sessionId, uuid)
        assert.deepStrictEqual((yield* emulator.connections).map((record) => record.serverMessages.length), [0, 0, 0, 0, 1, 1])
      }))

    // The SDKs name the model publishers/google/models/x in Express mode; a refused key is 1007.
    it.scopedLive("Express mode: an API key in x-goog-api-key", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ isValidApiKey: (key) => key === "express-key" })
        const client = yield* openSocket(emulator.port, vertexPath(), { "x-goog-api-key": "express-key" })
        yield* client.send(setupMessage({ model: "publishers/google/models/x", generationConfig: { responseModalities: ["TEXT"] } }))
        assert.match((yield* client.next).setupComplete.sessionId, uuid)
        yield* client.send({ realtimeInput: { text: "Hi" } })
        assert.deepStrictEqual((yield* untilTurnComplete(client)).map(summary), [
          "text:You",
          "text: said: \"Hi\"",
          "generationComplete",
          "turnComplete+usage"
        ])
        const badKey = yield* openSocket(emulator.port, vertexPath(), { "x-goog-api-key": "other" })
        yield* badKey.send(setupMessage({ model: "publishers/google/models/x" }))
        assert.deepStrictEqual(yield* badKey.closed, { code: 1007, reason: "API key not valid. Please pass a valid API key." })
        const records = yield* emulator.connections
        assert.deepStrictEqual(records.map((record) => [record.backend, record.headers["x-goog-api-key"]]), [
          ["VertexAI", "express-key"],
          ["VertexAI", "other"]
        ])
      }))

    // The 1008 reason is Vertex AI's NOT_FOUND wording ("Publisher Model ... was not found").
    it.scopedLive("closes 1008 for an unknown model, 1007 for a malformed one", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ unknownModels: [...LiveEmulator.defaultUnknownModels, "retired"] })
        const refuse = (model: string) =>
          Effect.gen(function*() {
            const client = yield* openSocket(emulator.port, vertexPath(), bearer())
            yield* client.send({ setup: { model } })
            return yield* client.closed
          })
        const gone = yield* refuse(vertexModel("gemini-2.0-flash-live-001"))
        assert.deepStrictEqual(gone, {
          code: 1008,
          reason:
            "Publisher Model `projects/my-project/locations/us-central1/publishers/google/models/gemini-2.0-flash-live-001` was not foun"
        })
        assert.strictEqual(Buffer.byteLength(gone.reason), 123)
        assert.deepStrictEqual(yield* refuse("models/retired"), {
          code: 1008,
          reason:
            "Publisher Model `models/retired` was not found or your project does not have access to it. Please ensure you are using a va"
        })
        assert.strictEqual((yield* refuse("publishers/meta/models/llama")).code, 1008)
        for (const model of ["gemini-2.5-flash", "tunedModels/t", "projects/p/locations/l/models/x", "publishers/google/models/a/b"]) {
          assert.deepStrictEqual(yield* refuse(model), { code: 1007, reason: "Request contains an invalid argument." })
        }
        // `models/x` passes through, as Google's SDKs pass it.
        const passThrough = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* passThrough.send({ setup: { model: "models/gemini-live-2.5-flash" } })
        assert.match((yield* passThrough.next).setupComplete.sessionId, uuid)
      }))

    // Google's SDKs send sessionResumption.transparent and explicitVadSignal only to Vertex AI;
    // a response without an id answers the oldest call.
    it.scoped("in memory: Vertex-only setup fields, toolResponse without id", () =>
      Effect.gen(function*() {
        const toolCall = { toolCall: { functionCalls: [{ name: "getWeather", args: { city: "Paris" } }] } }
        const emulator = yield* LiveEmulator.make({ onTurn: () => [LiveEmulator.send(toolCall)] })
        const client = yield* openMemory(emulator, vertexPath(), bearer(), "us-central1-aiplatform.googleapis.com")
        yield* client.send(setupMessage({
          model: vertexModel(),
          generationConfig: { responseModalities: ["TEXT"] },
          sessionResumption: { transparent: true },
          explicitVadSignal: true
        }))
        const complete = yield* client.next
        assert.match(complete.setupComplete.sessionId, uuid)
        // Transparent resumption: setup is message 0, the text 1, the toolResponse 2.
        assert.deepInclude((yield* client.next).sessionResumptionUpdate, { resumable: true, lastConsumedClientMessageIndex: "0" })
        yield* client.send({ realtimeInput: { text: "Weather in Paris?" } })
        assert.deepStrictEqual(yield* client.next, {
          sessionResumptionUpdate: { resumable: false, lastConsumedClientMessageIndex: "1" }
        })
        assert.deepStrictEqual(yield* client.next, toolCall)
        yield* client.send({ toolResponse: { functionResponses: [{ name: "getWeather", response: { sky: "blue" } }] } })
        assert.deepStrictEqual(yield* untilTurnComplete(client), [
          { serverContent: { modelTurn: { role: "model", parts: [{ text: "getWeather" }] } } },
          { serverContent: { modelTurn: { role: "model", parts: [{ text: " returned {\"sky\":\"blue\"}." }] } } },
          { serverContent: { generationComplete: true } },
          {
            serverContent: { turnComplete: true },
            usageMetadata: {
              promptTokenCount: 512,
              candidatesTokenCount: 9,
              totalTokenCount: 521,
              promptTokensDetails: [{ modality: "TEXT", tokenCount: 512 }],
              candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 9 }]
            }
          }
        ])
        // The function call is answered and the turn complete: a safe point.
        assert.deepInclude((yield* client.next).sessionResumptionUpdate, { resumable: true, lastConsumedClientMessageIndex: "2" })
        const [record] = yield* emulator.connections
        assert.deepInclude(record, { transport: "memory", backend: "VertexAI" })
        assert.strictEqual(record.path, "//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent")
        assert.deepStrictEqual(record.serverMessages[0], complete)
      }))
  })

  // ---------------------------------------------------------------------------
  // Turns
  // ---------------------------------------------------------------------------

  describe("turns", () => {
    // As recorded: a short first delta, generationComplete, then turnComplete with usageMetadata.
    it.scopedLive("answers a text turn with text deltas and usage", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(textSetup)
        yield* client.next
        yield* client.send({ clientContent: { turns: [{ parts: [{ text: "Hello what should we talk about?" }], role: "user" }], turnComplete: true } })
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages, [
          { serverContent: { modelTurn: { parts: [{ text: "You" }] } } },
          { serverContent: { modelTurn: { parts: [{ text: " said: \"Hello what should we talk about?\"" }] } } },
          { serverContent: { generationComplete: true } },
          {
            serverContent: { turnComplete: true },
            usageMetadata: {
              promptTokenCount: 515,
              responseTokenCount: 11,
              totalTokenCount: 526,
              promptTokensDetails: [{ modality: "TEXT", tokenCount: 515 }],
              responseTokensDetails: [{ modality: "TEXT", tokenCount: 11 }]
            }
          }
        ])
      }))

    // Written in snake_case, as the Python SDK sends it: proto3 JSON reads both spellings.
    it.scopedLive("keeps clientContent without turnComplete as context", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return [LiveEmulator.say("ok")]
          }
        })
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send({ setup: { model: "models/m", generation_config: { response_modalities: ["TEXT"] } } })
        yield* client.next
        yield* client.send({ client_content: { turns: [{ role: "user", parts: [{ text: "first" }] }] } })
        yield* client.send({ client_content: { turns: [{ role: "user", parts: [{ text: "second" }] }], turn_complete: true } })
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages.map(summary), ["text:ok", "generationComplete", "turnComplete+usage"])
        assert.deepStrictEqual(turns.map((turn) => [turn.index, turn.text]), [[0, "first\nsecond"]])
      }))

    // 24 kHz audio in 200/240 ms chunks, as recorded, each followed by the words its end has reached.
    it.scopedLive("answers audio ended by audioStreamEnd with audio chunks", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(setupMessage({ inputAudioTranscription: {}, outputAudioTranscription: {} }))
        yield* client.next
        const speech = tone(1000)
        for (let offset = 0; offset < speech.length; offset += 3200) {
          yield* client.send(audioInput(speech.subarray(offset, offset + 3200)))
        }
        yield* client.send({ realtimeInput: { audioStreamEnd: true } })
        const messages = yield* untilTurnComplete(client)
        // "I heard 1.0 seconds of audio." is 29 characters: 2,030 ms of speech, 97,440 bytes; each
        // chunk is followed by the words its end has reached.
        assert.deepStrictEqual(messages.map(summary), [
          "in:[1.00 s of speech]",
          "audio:9600",
          "out:I ",
          "audio:11520",
          "audio:9600",
          "out:heard ",
          "audio:11520",
          "out:1.0 ",
          "audio:9600",
          "audio:11520",
          "audio:9600",
          "out:seconds ",
          "audio:11520",
          "out:of ",
          "audio:9600",
          "audio:3360",
          "out:audio.",
          "generationComplete",
          "turnComplete+usage"
        ])
        const mimeTypes = new Set(
          messages.flatMap((message) => message.serverContent.modelTurn?.parts.map((part: any) => part.inlineData.mimeType) ?? [])
        )
        assert.deepStrictEqual([...mimeTypes], ["audio/pcm;rate=24000"])
        const last = messages[messages.length - 1]
        assert.deepStrictEqual(last.usageMetadata.promptTokensDetails, [
          { modality: "TEXT", tokenCount: 507 },
          { modality: "AUDIO", tokenCount: 32 }
        ])
      }))

    // Counted on the audio's own timeline, so audio sent faster than real time gets the same turns.
    it.scopedLive("ends an audio turn after silenceDurationMs of silence", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return [LiveEmulator.say("heard")]
          }
        })
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(setupMessage({
          generationConfig: { responseModalities: ["TEXT"] },
          realtimeInputConfig: { automaticActivityDetection: { silenceDurationMs: 300 } }
        }))
        yield* client.next
        // 1 s of audio at once, far faster than real time: 600 ms of speech, then 400 ms of silence.
        yield* client.send(audioInput(concat(tone(600), silence(400))))
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages.map(summary), ["text:heard", "generationComplete", "turnComplete+usage"])
        // The turn ends 300 ms into the silence; the rest starts the next turn.
        assert.strictEqual(turns.length, 1)
        assert.strictEqual(turns[0].audio.length, 16000 * 0.9 * 2)
        assert.strictEqual(turns[0].transcript, "[0.90 s of speech]")
        assert.deepStrictEqual(turns[0].audio, concat(tone(600), silence(300)))
        // Silence alone is no turn, even with audioStreamEnd.
        yield* client.send(audioInput(silence(2000)))
        yield* client.send({ realtimeInput: { audioStreamEnd: true } })
        yield* client.send({ realtimeInput: { text: "next" } })
        const next = yield* untilTurnComplete(client)
        assert.deepStrictEqual(next.map(summary), ["text:heard", "generationComplete", "turnComplete+usage"])
        assert.deepStrictEqual(turns.map((turn) => turn.text), [undefined, "next"])
      }))

    // Manual activity detection: audio outside activityStart ... activityEnd is ignored.
    it.scopedLive("with detection disabled, activityStart/End delimit turns", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(setupMessage({
          generationConfig: { responseModalities: ["TEXT"] },
          realtimeInputConfig: { automaticActivityDetection: { disabled: true } }
        }))
        yield* client.next
        yield* client.send(audioInput(tone(1000))) // outside any activity: ignored
        yield* client.send({ realtimeInput: { activityStart: {} } })
        yield* client.send({ realtimeInput: { mediaChunks: [{ data: Buffer.from(silence(500)).toString("base64"), mimeType: "audio/pcm;rate=16000" }] } })
        yield* client.send({ realtimeInput: { audio: { data: Buffer.from(tone(1000)).toString("base64"), mimeType: "audio/pcm;rate=16000" } } })
        yield* client.send({ realtimeInput: { activityEnd: {} } })
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages.map(summary), [
          "text:I",
          "text: heard 1.5 seconds of audio.",
          "generationComplete",
          "turnComplete+usage"
        ])
      }))

    // onMessage replaces the emulator's own answer to a toolResponse.
    it.scoped("in memory: answers a toolResponse as the script says", () =>
      Effect.gen(function*() {
        const toolCall = { toolCall: { functionCalls: [{ id: "function-call-1", name: "getWeather", args: { city: "Paris" } }] } }
        const emulator = yield* LiveEmulator.make({
          onTurn: () => [LiveEmulator.send(toolCall)],
          onMessage: (message: any) =>
            message.toolResponse === undefined
              ? undefined
              : [LiveEmulator.say(`It is ${message.toolResponse.functionResponses[0].response.sky}.`)]
        })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(textSetup)
        assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        yield* client.send({ realtimeInput: { text: "Weather in Paris?" } })
        assert.deepStrictEqual(yield* client.next, toolCall)
        yield* client.send({ toolResponse: { functionResponses: [{ id: "function-call-1", name: "getWeather", response: { sky: "blue" } }] } })
        const messages = yield* untilTurnComplete(client)
        assert.deepStrictEqual(messages.map(summary), ["text:It", "text: is blue.", "generationComplete", "turnComplete+usage"])
        const [record] = yield* emulator.connections
        assert.strictEqual(record.transport, "memory")
        assert.deepStrictEqual(record.serverMessages.slice(0, 2), [{ setupComplete: {} }, toolCall])
      }))

    it.scoped("as layers: the emulator service and its in-memory Transport", () =>
      Effect.gen(function*() {
        const transport = yield* Transport.Transport
        const connection = yield* transport.open({
          url: `wss://generativelanguage.googleapis.com/${livePath}`,
          headers: {},
          openTimeout: "1 second"
        })
        yield* Effect.orDie(connection.send(JSON.stringify(setupMessage())))
        const [first] = yield* Stream.runCollect(Stream.take(connection.frames, 1))
        assert.deepStrictEqual(decodeFrame(first), { setupComplete: {} })
        const emulator = yield* LiveEmulator.LiveEmulator
        const [record] = yield* emulator.connections
        assert.strictEqual(record.path, "//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent")
      }).pipe(Effect.provide(Layer.provideMerge(LiveEmulator.layerTransport, LiveEmulator.layer()))))

    // About 70 ms a character, so reply lengths are predictable; audible, so meters and VADs see a voice.
    it.scoped("synthesizes audible, deterministic speech", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const replyAudio = Effect.gen(function*() {
          const client = yield* openMemory(emulator, livePath)
          yield* client.send(setupMessage())
          yield* client.next
          yield* client.send({ realtimeInput: { text: "Tell me a story" } })
          const messages = yield* untilTurnComplete(client)
          return concat(...messages.flatMap((message) =>
            message.serverContent.modelTurn?.parts.map((part: any) => Buffer.from(part.inlineData.data, "base64")) ?? []
          ))
        })
        const first = yield* replyAudio
        const second = yield* replyAudio
        // "You said: \"Tell me a story\"" is 27 characters: 1,890 ms at 24 kHz.
        assert.strictEqual(first.length, 24000 * 1.89 * 2)
        assert.deepStrictEqual(first, second)
        const samples = new Int16Array(first.buffer, first.byteOffset, first.length / 2)
        const rms = Math.sqrt(samples.reduce((sum, sample) => sum + sample * sample, 0) / samples.length)
        assert.isAbove(rms, 1000)
      }))
  })

  // ---------------------------------------------------------------------------
  // Scripts: closes, drops, pacing, barge-in
  // ---------------------------------------------------------------------------

  describe("scripts", () => {
    // A script may refuse a setup with any close; a drop sends no close frame, so the client sees 1006.
    it.scopedLive("a Close before setupComplete rejects; a Drop is 1006", () =>
      Effect.gen(function*() {
        const rejecting = yield* LiveEmulator.make({
          beforeSetupComplete: () => [LiveEmulator.close(1011, "Internal error encountered.")]
        })
        const client = yield* openSocket(rejecting.port, livePath)
        yield* client.send(setupMessage())
        assert.deepStrictEqual(yield* client.closed, { code: 1011, reason: "Internal error encountered." })
        const [record] = yield* rejecting.connections
        assert.deepStrictEqual(record.serverMessages, [])
        assert.deepStrictEqual(yield* rejecting.awaitClosed(record.id), { code: 1011, reason: "Internal error encountered.", wasClean: true })

        const dropping = yield* LiveEmulator.make({ onTurn: () => [LiveEmulator.say("bye"), LiveEmulator.drop] })
        const dropped = yield* openSocket(dropping.port, livePath)
        yield* dropped.send(textSetup)
        yield* dropped.next
        yield* dropped.send({ realtimeInput: { text: "hi" } })
        const messages = yield* untilTurnComplete(dropped)
        assert.deepStrictEqual(messages.map(summary), ["text:bye", "generationComplete", "turnComplete+usage"])
        assert.strictEqual((yield* dropped.closed).code, 1006)
      }))

    it.scopedLive("records what crossed the wire, and how the connection ended", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, `${livePath}&alt=x`, { "X-Custom-Header": "Value" })
        yield* client.send(textSetup)
        yield* client.next
        yield* client.send({ realtimeInput: { text: "Hi" } })
        yield* untilTurnComplete(client)
        const [open] = yield* emulator.connections
        assert.strictEqual(open.closed, undefined)
        const closeInfo = yield* Effect.zipRight(client.send({ realtimeInput: { hello: 1 } }), client.closed)
        assert.deepStrictEqual(closeInfo, {
          code: 1007,
          reason: "Invalid JSON payload received. Unknown name \"hello\" at 'realtime_input': Cannot find field."
        })
        assert.deepStrictEqual(yield* emulator.awaitClosed(open.id), { ...closeInfo, wasClean: true })
        const [record] = yield* emulator.connections
        assert.deepInclude(record, { id: 0, transport: "socket", droppedMessages: 0 })
        assert.deepStrictEqual(record.query, { key: "test-key", alt: "x" })
        assert.strictEqual(record.headers["x-custom-header"], "Value")
        assert.deepStrictEqual(record.clientMessages, [textSetup, { realtimeInput: { text: "Hi" } }, { realtimeInput: { hello: 1 } }])
        assert.deepStrictEqual(record.serverMessages.map(summary), [
          "setupComplete",
          "text:You",
          "text: said: \"Hi\"",
          "generationComplete",
          "turnComplete+usage"
        ])
        assert.deepStrictEqual(record.closed, { ...closeInfo, wasClean: true })
      }))

    // A hook's exception is the emulator's fault, answered with the service's internal error.
    it.scoped("a script that throws closes 1011, as a server fault", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({
          onTurn: () => {
            throw new Error("script bug")
          }
        })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(setupMessage())
        yield* client.next
        yield* client.send({ realtimeInput: { text: "Hi" } })
        assert.deepStrictEqual(yield* client.closed, { code: 1011, reason: "Internal error encountered." })
      }))

    it.scoped("goAway, then close 1011 when the time is up (TestClock)", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ afterSetupComplete: () => LiveEmulator.goAway("10 seconds") })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(setupMessage())
        assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        assert.deepStrictEqual(yield* client.next, { goAway: { timeLeft: "10s" } })
        const closed = yield* Effect.fork(client.closed)
        yield* TestClock.adjust("9 seconds")
        assert.isTrue(Option.isNone(yield* closed.poll))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* closed.await.pipe(Effect.flatten), {
          code: 1011,
          reason: "Deadline expired before operation could complete."
        })
      }))

    // Driven by the TestClock: only a reply paced at real time is still going when the next turn comes.
    it.scoped("barge-in: a text turn interrupts a real-time reply", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ realtime: true })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(setupMessage())
        yield* client.next
        // "You said: \"one\"" is 15 characters: 1,050 ms in chunks of 200, 240, 200, 240, 170 ms.
        yield* client.send({ realtimeInput: { text: "one" } })
        assert.strictEqual(summary(yield* client.next), "audio:9600")
        yield* TestClock.adjust("200 millis")
        assert.strictEqual(summary(yield* client.next), "audio:11520")
        yield* client.send({ realtimeInput: { text: "two" } })
        assert.deepStrictEqual(yield* client.next, { serverContent: { interrupted: true } })
        assert.strictEqual(summary(yield* client.next), "turnComplete+usage")
        assert.strictEqual(summary(yield* client.next), "audio:9600")
        yield* TestClock.adjust("2 seconds")
        const rest = yield* untilTurnComplete(client)
        assert.deepStrictEqual(rest.map(summary), [
          "audio:11520",
          "audio:9600",
          "audio:11520",
          "audio:8160",
          "generationComplete",
          "turnComplete+usage"
        ])
      }))

    // Over a real socket, with the activity detector hearing the speech.
    it.scopedLive("barge-in: detected speech interrupts a real-time reply", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({
          realtime: true,
          onTurn: (turn) => [LiveEmulator.say(turn.text === undefined ? "" : "A reply that takes seconds to say.")]
        })
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(setupMessage())
        yield* client.next
        yield* client.send({ realtimeInput: { text: "talk" } })
        assert.strictEqual(summary(yield* client.next), "audio:9600")
        yield* client.send(audioInput(tone(100)))
        assert.deepStrictEqual(yield* client.next, { serverContent: { interrupted: true } })
        assert.strictEqual(summary(yield* client.next), "turnComplete+usage")
      }))
  })

  // ---------------------------------------------------------------------------
  // Session resumption and connection lifetime
  // ---------------------------------------------------------------------------

  describe("session resumption", () => {
    const resumableSetup = (resumption: Record<string, unknown> = {}) =>
      setupMessage({ generationConfig: { responseModalities: ["TEXT"] }, sessionResumption: resumption })

    /** Reads the next message, which must be a resumable update, and returns its handle. */
    const nextHandle = (client: TestClient) =>
      Effect.map(client.next, (message) => {
        assert.deepStrictEqual(Object.keys(message), ["sessionResumptionUpdate"])
        const update = message.sessionResumptionUpdate
        assert.strictEqual(update.resumable, true)
        assert.isString(update.newHandle)
        assert.isAbove(update.newHandle.length, 16)
        return update.newHandle as string
      })

    /** Closes from the client's side, and waits until the emulator is done with every connection. */
    const hangUp = (emulator: LiveEmulator.Service, client: TestClient) =>
      Effect.gen(function*() {
        yield* client.close
        for (const record of yield* emulator.connections) yield* emulator.awaitClosed(record.id)
      })

    /** A text turn: the reply up to turnComplete, then the handle that follows it. */
    const textTurn = (client: TestClient, text: string) =>
      Effect.gen(function*() {
        yield* client.send({ realtimeInput: { text } })
        const reply = yield* untilTurnComplete(client)
        return { reply, handle: yield* nextHandle(client) }
      })

    // While the model generates it says resumable: false (no handle); without sessionResumption, no updates.
    it.scoped("issues a handle after setupComplete and after each turn", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(resumableSetup())
        assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        const first = yield* nextHandle(client)
        const { handle: second, reply } = yield* textTurn(client, "Hi")
        assert.deepStrictEqual(reply.map(summary), [
          "sessionResumptionUpdate",
          "text:You",
          "text: said: \"Hi\"",
          "generationComplete",
          "turnComplete+usage"
        ])
        // No handle (and no empty one) while generating.
        assert.deepStrictEqual(reply[0], { sessionResumptionUpdate: { resumable: false } })
        assert.notStrictEqual(first, second)
        const { handle: third } = yield* textTurn(client, "Again")
        assert.notStrictEqual(second, third)

        // Without sessionResumption in the setup: no updates at all.
        const plain = yield* openMemory(emulator, livePath)
        yield* plain.send(textSetup)
        yield* plain.next
        yield* plain.send({ realtimeInput: { text: "Hi" } })
        yield* untilTurnComplete(plain)
        const [, record] = yield* emulator.connections
        assert.isFalse(record.serverMessages.some((message: any) => message.sessionResumptionUpdate !== undefined))
      }))

    it.scoped("holds back the handle while a function call is pending", () =>
      Effect.gen(function*() {
        const toolCall = { toolCall: { functionCalls: [{ id: "function-call-1", name: "getTime", args: {} }] } }
        const emulator = yield* LiveEmulator.make({
          onTurn: () => [LiveEmulator.send(toolCall), LiveEmulator.say("Let me check.")]
        })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(resumableSetup())
        yield* client.next
        yield* nextHandle(client)
        yield* client.send({ realtimeInput: { text: "What time is it?" } })
        const turn = yield* untilTurnComplete(client)
        assert.deepStrictEqual(turn.map(summary), [
          "sessionResumptionUpdate",
          "toolCall",
          "text:Let",
          "text: me check.",
          "generationComplete",
          "turnComplete+usage"
        ])
        assert.deepStrictEqual(turn[0], { sessionResumptionUpdate: { resumable: false } })
        // The turn is complete, but the call is not answered: no handle until it is.
        yield* client.send({ toolResponse: { functionResponses: [{ id: "function-call-1", name: "getTime", response: { time: "noon" } }] } })
        const answer = yield* untilTurnComplete(client)
        assert.deepStrictEqual(answer.map(summary), [
          "text:getTime",
          "text: returned {\"time\":\"noon\"}.",
          "generationComplete",
          "turnComplete+usage"
        ])
        yield* nextHandle(client)
      }))

    // The turn index, the history and the context go on; an older handle resumes from its own point.
    it.scopedLive("a second connection resumes with the handle, on either face", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return [LiveEmulator.say(`#${turn.index} after [${turn.history.join("|")}]`)]
          }
        })
        const first = yield* openSocket(emulator.port, livePath)
        yield* first.send(resumableSetup())
        yield* first.next
        yield* nextHandle(first)
        const one = yield* textTurn(first, "one")
        const two = yield* textTurn(first, "two")
        assert.strictEqual(two.reply.filter((m) => m.serverContent?.modelTurn).map((m) => m.serverContent.modelTurn.parts[0].text).join(""), "#1 after [one]")
        assert.deepStrictEqual(yield* first.close, { code: 1000, reason: "" })

        // In memory, with the handle of the last turn: the turn index and the history go on.
        const second = yield* openMemory(emulator, livePath)
        yield* second.send(resumableSetup({ handle: two.handle }))
        assert.deepStrictEqual(yield* second.next, { setupComplete: {} })
        const afterResume = yield* nextHandle(second)
        assert.notStrictEqual(afterResume, two.handle)
        const three = yield* textTurn(second, "three")
        const said = three.reply.filter((m) => m.serverContent?.modelTurn).map((m) => m.serverContent.modelTurn.parts[0].text).join("")
        assert.strictEqual(said, "#2 after [one|two]")
        assert.deepInclude(turns[2], { index: 2, text: "three", resumed: true, history: ["one", "two"] })
        assert.deepInclude(turns[0], { index: 0, resumed: false, history: [] })
        // The context goes on too: the resumed turn's prompt holds the earlier turns.
        const prompt = (reply: ReadonlyArray<any>) => reply[reply.length - 1].usageMetadata.promptTokenCount
        assert.isAbove(prompt(three.reply), prompt(two.reply))

        // A handle is a snapshot: an older one resumes from its own point (and handles are not used up).
        const third = yield* openMemory(emulator, livePath)
        yield* third.send(resumableSetup({ handle: one.handle }))
        yield* third.next
        yield* nextHandle(third)
        yield* textTurn(third, "other")
        assert.deepInclude(turns[3], { index: 1, resumed: true, history: ["one"] })

        const records = yield* emulator.connections
        assert.deepStrictEqual(
          records.map(({ id, transport, resumedFrom, sessionKey }) => ({ id, transport, resumedFrom, sessionKey })),
          [
            { id: 0, transport: "socket", resumedFrom: undefined, sessionKey: 0 },
            { id: 1, transport: "memory", resumedFrom: two.handle, sessionKey: 0 },
            { id: 2, transport: "memory", resumedFrom: one.handle, sessionKey: 0 }
          ]
        )
      }))

    // A handle it did not issue (or issued on the other backend), or one acceptResumptionHandle refuses,
    // is INVALID_ARGUMENT, as is resuming with another model.
    it.scopedLive("closes 1007 for a bad handle or a change of model", () =>
      Effect.gen(function*() {
        const invalid = { code: 1007, reason: "Invalid session resumption handle." }
        const refused = new Set<string>()
        const emulator = yield* LiveEmulator.make({ acceptResumptionHandle: (handle) => !refused.has(handle) })

        const bogus = yield* openSocket(emulator.port, livePath)
        yield* bogus.send(resumableSetup({ handle: "not-a-handle" }))
        assert.deepStrictEqual(yield* bogus.closed, invalid)

        const origin = yield* openSocket(emulator.port, livePath)
        yield* origin.send(resumableSetup())
        yield* origin.next
        const handle = yield* nextHandle(origin)

        refused.add(handle)
        const refusedClient = yield* openSocket(emulator.port, livePath)
        yield* refusedClient.send(resumableSetup({ handle }))
        assert.deepStrictEqual(yield* refusedClient.closed, invalid)
        refused.delete(handle)

        // Another backend never issued it.
        const vertex = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* vertex.send(setupMessage({ model: vertexModel(), sessionResumption: { handle } }))
        assert.deepStrictEqual(yield* vertex.closed, invalid)

        // "You can change config, but not the model, when resuming."
        const otherModel = yield* openSocket(emulator.port, livePath)
        yield* otherModel.send({ setup: { model: "models/gemini-live-2.5-flash", sessionResumption: { handle } } })
        assert.deepStrictEqual(yield* otherModel.closed, { code: 1007, reason: "Request contains an invalid argument." })

        // The same handle, accepted again.
        const accepted = yield* openSocket(emulator.port, livePath)
        yield* accepted.send(resumableSetup({ handle }))
        assert.deepStrictEqual(yield* accepted.next, { setupComplete: {} })

        const records = yield* emulator.connections
        assert.deepStrictEqual(records.map((record) => record.resumedFrom), [undefined, undefined, undefined, undefined, undefined, handle])
        assert.deepStrictEqual(records[0].serverMessages, [])
      }))

    // As the service documents it; read from the Clock, so the TestClock expires it.
    it.scoped("a handle expires 2 hours after its last connection ended", () =>
      Effect.gen(function*() {
        const invalid = { code: 1007, reason: "Invalid session resumption handle." }
        const emulator = yield* LiveEmulator.make()
        const resume = (handle: string) =>
          Effect.gen(function*() {
            const client = yield* openMemory(emulator, livePath)
            yield* client.send(resumableSetup({ handle }))
            return client
          })

        const first = yield* openMemory(emulator, livePath)
        yield* first.send(resumableSetup())
        yield* first.next
        const handle = yield* nextHandle(first)
        // Valid while its connection is open, however long.
        yield* TestClock.adjust("3 hours")
        const whileOpen = yield* resume(handle)
        assert.deepStrictEqual(yield* whileOpen.next, { setupComplete: {} })
        yield* whileOpen.close
        yield* hangUp(emulator, first)

        // Both ended at 3 h; at 4 h 59 min the handle resumes (and that connection ends at once).
        yield* TestClock.adjust("119 minutes")
        const late = yield* resume(handle)
        assert.deepStrictEqual(yield* late.next, { setupComplete: {} })
        yield* hangUp(emulator, late)
        // 2 hours after that last end, it has expired.
        yield* TestClock.adjust("2 hours")
        assert.deepStrictEqual(yield* (yield* resume(handle)).closed, invalid)

        // resumptionHandleLifetime shortens it.
        const brief = yield* LiveEmulator.make({ resumptionHandleLifetime: "10 seconds" })
        const short = yield* openMemory(brief, livePath)
        yield* short.send(resumableSetup())
        yield* short.next
        const shortHandle = yield* nextHandle(short)
        yield* hangUp(brief, short)
        yield* TestClock.adjust("9 seconds")
        const inTime = yield* openMemory(brief, livePath)
        yield* inTime.send(resumableSetup({ handle: shortHandle }))
        assert.deepStrictEqual(yield* inTime.next, { setupComplete: {} })
        yield* hangUp(brief, inTime)
        yield* TestClock.adjust("10 seconds")
        const tooLate = yield* openMemory(brief, livePath)
        yield* tooLate.send(resumableSetup({ handle: shortHandle }))
        assert.deepStrictEqual(yield* tooLate.closed, invalid)
      }))

    // Text without turnComplete and a contextUpdate, sent while turn "one" is answered, come after the
    // input its handle covers: lost on the Gemini API unless sent again; Vertex AI's handle has them.
    it.scopedLive("Gemini API: a handle covers up to the answered input", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        let gate = Deferred.unsafeMake<void>(FiberId.none)
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return turn.text === "one"
              ? [LiveEmulator.say("Part", { turnComplete: false }), LiveEmulator.waitFor(Deferred.await(gate)), LiveEmulator.say(" two.")]
              : [LiveEmulator.say("ok")]
          }
        })
        const open = (vertex: boolean) =>
          vertex
            ? openMemory(emulator, vertexPath(), bearer(), "us-central1-aiplatform.googleapis.com")
            : openMemory(emulator, livePath)
        // The resumed setup sets no systemInstruction: the conversation's goes on.
        const setup = (vertex: boolean, handle?: string) =>
          setupMessage({
            ...(vertex ? { model: vertexModel() } : {}),
            generationConfig: { responseModalities: ["TEXT"] },
            ...(handle === undefined ? { systemInstruction: { parts: [{ text: "Original." }] } } : {}),
            sessionResumption: handle === undefined ? {} : { handle }
          })
        const handleAfter = (client: TestClient) =>
          Effect.map(
            readUntil(client, (m) => m.sessionResumptionUpdate?.newHandle !== undefined),
            (messages) => messages[messages.length - 1].sessionResumptionUpdate.newHandle as string
          )
        for (const vertex of [false, true]) {
          gate = Deferred.unsafeMake<void>(FiberId.none)
          const first = yield* open(vertex)
          yield* first.send(setup(vertex))
          yield* handleAfter(first)
          yield* first.send({ realtimeInput: { text: "one" } })
          yield* readUntil(first, (m) => m.serverContent?.modelTurn !== undefined)
          yield* first.send({ clientContent: { turns: [{ role: "user", parts: [{ text: "lost" }] }], turnComplete: false } })
          yield* first.send({ contextUpdate: { systemInstruction: { parts: [{ text: "Later." }] } } })
          yield* Effect.sleep("50 millis")
          yield* Deferred.succeed(gate, undefined)
          const handle = yield* handleAfter(first)
          yield* first.close

          const resumed = yield* open(vertex)
          yield* resumed.send(setup(vertex, handle))
          yield* handleAfter(resumed)
          yield* resumed.send({ clientContent: { turns: [{ role: "user", parts: [{ text: "two" }] }], turnComplete: true } })
          yield* untilTurnComplete(resumed)
          yield* resumed.close
        }
        assert.deepStrictEqual(turns.map((t) => [t.index, t.text, t.history, t.systemInstruction]), [
          [0, "one", [], "Original."],
          [1, "two", ["one"], "Original."],
          [0, "one", [], "Original."],
          [1, "lost\ntwo", ["one"], "Later."]
        ])
      }))

    // lastConsumedClientMessageIndex counts the connection's messages; an audio turn in progress is not
    // consumed yet, so the client replays it.
    it.scoped("transparent: the consumed index counts from setup (0)", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const audioMessages = yield* Deferred.make<void>()
        let seen = 0
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => turn.text === "Hi" ? [LiveEmulator.waitFor(Deferred.await(gate)), LiveEmulator.say("Hello")] : [LiveEmulator.say("Heard")],
          onMessage: (message: any) => {
            if (message.realtimeInput?.audio !== undefined && ++seen === 2) Deferred.unsafeDone(audioMessages, Effect.void)
            return undefined
          }
        })
        const update = (client: TestClient) => Effect.map(client.next, (message) => message.sessionResumptionUpdate)
        const client = yield* openMemory(emulator, vertexPath(), bearer(), "us-central1-aiplatform.googleapis.com")
        yield* client.send(setupMessage({
          model: vertexModel(),
          generationConfig: { responseModalities: ["TEXT"] },
          sessionResumption: { transparent: true }
        }))
        yield* client.next
        const atSetup = yield* update(client)
        assert.deepStrictEqual(atSetup, { newHandle: atSetup.newHandle, resumable: true, lastConsumedClientMessageIndex: "0" })

        // 1: a text turn, whose reply waits for the gate.
        yield* client.send({ realtimeInput: { text: "Hi" } })
        // 2 and 3: the user starts speaking; the audio turn is still going on.
        yield* client.send(audioInput(tone(300)))
        yield* client.send(audioInput(silence(100)))
        yield* Deferred.await(audioMessages)
        yield* Deferred.succeed(gate, undefined)
        assert.deepStrictEqual(yield* update(client), { resumable: false, lastConsumedClientMessageIndex: "1" })
        yield* untilTurnComplete(client)
        // The audio of the turn in progress (2, 3) is not in this state: the client replays it.
        const handle = yield* update(client)
        assert.deepInclude(handle, { resumable: true, lastConsumedClientMessageIndex: "1" })

        // 4: silence ends the audio turn: everything is consumed.
        yield* client.send(audioInput(silence(600)))
        assert.deepStrictEqual(yield* update(client), { resumable: false, lastConsumedClientMessageIndex: "4" })
        yield* untilTurnComplete(client)
        const afterAudio = yield* update(client)
        assert.deepInclude(afterAudio, { resumable: true, lastConsumedClientMessageIndex: "4" })

        // A resumed connection counts its own messages, from its own setup.
        const resumed = yield* openMemory(emulator, vertexPath(), bearer(), "us-central1-aiplatform.googleapis.com")
        yield* resumed.send(setupMessage({
          model: vertexModel(),
          generationConfig: { responseModalities: ["TEXT"] },
          sessionResumption: { transparent: true, handle: afterAudio.newHandle }
        }))
        yield* resumed.next
        assert.deepInclude(yield* update(resumed), { resumable: true, lastConsumedClientMessageIndex: "0" })
        yield* resumed.send({ realtimeInput: { text: "Still there?" } })
        assert.deepStrictEqual(yield* update(resumed), { resumable: false, lastConsumedClientMessageIndex: "1" })
        yield* untilTurnComplete(resumed)
        assert.deepInclude(yield* update(resumed), { resumable: true, lastConsumedClientMessageIndex: "1" })
      }))
  })

  describe("connection lifetime", () => {
    // As the service ends a connection at its time limit; driven by the TestClock.
    it.scoped("goAway at lifetime - goAwayBefore, then close 1011", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ connectionLifetime: "10 seconds", goAwayBefore: "3 seconds" })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(setupMessage())
        assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        const goAway = yield* Effect.fork(client.next)
        const closed = yield* Effect.fork(client.closed)
        yield* TestClock.adjust("6999 millis")
        assert.isTrue(Option.isNone(yield* goAway.poll))
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(yield* goAway.await.pipe(Effect.flatten), { goAway: { timeLeft: "3s" } })
        yield* TestClock.adjust("2999 millis")
        assert.isTrue(Option.isNone(yield* closed.poll))
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(yield* closed.await.pipe(Effect.flatten), {
          code: 1011,
          reason: "Deadline expired before operation could complete."
        })
        const [record] = yield* emulator.connections
        assert.deepStrictEqual(record.closed, { code: 1011, reason: "Deadline expired before operation could complete.", wasClean: true })
      }))

    // goAwayBefore (60 s by default) is capped to the lifetime: goAway then follows setupComplete.
    it.scoped("a reply going when the time is up stops there", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({
          realtime: true,
          connectionLifetime: "1500 millis",
          goAwayBefore: "0.5 seconds",
          onTurn: () => [LiveEmulator.say("A reply far too long to be said before the connection ends.")]
        })
        const client = yield* openMemory(emulator, livePath)
        yield* client.send(setupMessage({ sessionResumption: {} }))
        yield* client.next
        yield* client.next // the first handle
        yield* client.send({ realtimeInput: { text: "Talk" } })
        yield* TestClock.adjust("1 second")
        yield* TestClock.adjust("500 millis")
        assert.strictEqual((yield* client.closed).code, 1011)
        const [record] = yield* emulator.connections
        const sent = record.serverMessages.map(summary)
        assert.include(sent, "goAway")
        assert.deepInclude(record.serverMessages, { goAway: { timeLeft: "0.500s" } })
        assert.notInclude(sent, "turnComplete+usage")
        assert.include(sent, "audio:9600")

        // goAwayBefore defaults to 60 s, at most the lifetime: goAway right after setupComplete.
        const capped = yield* LiveEmulator.make({ connectionLifetime: "30 seconds" })
        const cappedClient = yield* openMemory(capped, livePath)
        yield* cappedClient.send(setupMessage())
        yield* cappedClient.next
        assert.deepStrictEqual(yield* cappedClient.next, { goAway: { timeLeft: "30s" } })
        const cappedClosed = yield* Effect.fork(cappedClient.closed)
        yield* TestClock.adjust("30 seconds")
        assert.strictEqual((yield* cappedClosed.await.pipe(Effect.flatten)).code, 1011)
      }))
  })

  // ---------------------------------------------------------------------------
  // Faults
  // ---------------------------------------------------------------------------

  describe("faults", () => {
    /** Opens a raw client and reads setupComplete. */
    const started = (emulator: LiveEmulator.Service, setup: unknown = textSetup) =>
      Effect.gen(function*() {
        const client = yield* openSocket(emulator.port, livePath)
        yield* client.send(setup)
        assert.deepStrictEqual(yield* client.next, { setupComplete: {} })
        return client
      })

    /** Whether `effect` completes within `ms` (real time). */
    const within = (ms: number, effect: Effect.Effect<unknown>) =>
      Effect.map(Effect.timeout(effect, ms), () => true).pipe(Effect.catchTag("TimeoutException", () => Effect.succeed(false)))

    // The bytes are read and dropped: no frame, ping or close frame is handled, and the client's leaving is seen.
    it.scopedLive("stall: no pong, nothing read or sent, socket open", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ onTurn: () => [LiveEmulator.say("Wait."), LiveEmulator.stall()] })
        const client = yield* started(emulator)
        yield* client.ping
        yield* client.send({ realtimeInput: { text: "Hi" } })
        yield* untilTurnComplete(client)
        assert.isFalse(yield* within(300, client.ping))
        yield* client.send({ realtimeInput: { text: "anyone?" } })
        assert.isFalse(yield* within(200, client.next))
        const [open] = yield* emulator.connections
        assert.strictEqual(open.closed, undefined)
        assert.deepStrictEqual(open.clientMessages, [textSetup, { realtimeInput: { text: "Hi" } }])
        // A close frame is not answered either; the client's drop is noticed.
        yield* client.terminate
        assert.deepStrictEqual(yield* emulator.awaitClosed(0), { code: 1006, reason: "", wasClean: false })
      }))

    // pause: the socket is not read at all; the emulator's scope still ends at once (no close handshake).
    it.scopedLive("stall with pause: unread socket, a prompt shutdown", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const emulator = yield* Scope.extend(
          LiveEmulator.make({ afterSetupComplete: () => [LiveEmulator.stall({ pause: true })] }),
          scope
        )
        const client = yield* started(emulator)
        assert.isFalse(yield* within(300, client.ping))
        const start = Date.now()
        yield* Scope.close(scope, Exit.void)
        assert.isBelow(Date.now() - start, 1000)
        assert.strictEqual((yield* client.closed).code, 1006)

        // In memory: nothing is read, so the client's sends wait once the buffer is full.
        const memory = yield* LiveEmulator.make({ afterSetupComplete: () => [LiveEmulator.stall()] })
        const twin = yield* openMemory(memory, livePath)
        yield* twin.send(textSetup)
        yield* twin.next
        const flood = Effect.forEach(Array.from({ length: 1000 }), () => twin.send({ realtimeInput: { text: "x" } }))
        assert.isFalse(yield* within(300, flood))
      }))

    // The frame's header says N bytes, N/2 follow, then the TCP socket ends: no close frame.
    it.scopedLive("dropMidFrame cuts a frame; drop sends no close frame", () =>
      Effect.gen(function*() {
        const message = { serverContent: { modelTurn: { parts: [{ text: "x".repeat(300) }] } } }
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => [turn.text === "cut" ? LiveEmulator.dropMidFrame(message) : LiveEmulator.drop]
        })
        const cut = yield* openTcp(emulator.port, livePath)
        yield* cut.send(textSetup)
        yield* cut.send({ realtimeInput: { text: "cut" } })
        const frames = yield* cut.ended
        assert.deepStrictEqual(frames.map((f) => f.opcode), [2, 2])
        assert.deepStrictEqual(decodeFrame(new Uint8Array(frames[0].payload)), { setupComplete: {} })
        const whole = Buffer.from(JSON.stringify(message, null, 2) + "\n")
        assert.strictEqual(frames[1].length, whole.length)
        assert.deepStrictEqual(frames[1].payload, whole.subarray(0, whole.length >> 1))

        const dropped = yield* openTcp(emulator.port, livePath)
        yield* dropped.send(textSetup)
        yield* dropped.send({ realtimeInput: { text: "drop" } })
        const rest = yield* dropped.ended
        assert.deepStrictEqual(rest.map((f) => [f.opcode, f.payload.length === f.length]), [[2, true]])
        // A ws client sees 1006 for the cut frame.
        const client = yield* started(emulator)
        yield* client.send({ realtimeInput: { text: "cut" } })
        assert.strictEqual((yield* client.closed).code, 1006)
      }))

    it.scopedLive("sendTruncated, sendOversized, schemaDrift frames", () =>
      Effect.gen(function*() {
        const audio = new Uint8Array([1, 2, 3, 4])
        const emulator = yield* LiveEmulator.make({
          onTurn: () => [LiveEmulator.sendTruncated(), LiveEmulator.sendOversized(100_000), LiveEmulator.schemaDrift(audio)]
        })
        const client = yield* started(emulator)
        yield* client.send({ realtimeInput: { text: "Hi" } })
        const truncated = yield* client.nextFrame
        assert.instanceOf(truncated, Uint8Array)
        const whole = "{\n  \"serverContent\": {\n    \"turnComplete\": true\n  }\n}\n"
        assert.strictEqual(new TextDecoder().decode(truncated as Uint8Array), whole.slice(0, whole.length >> 1))
        const oversized = (yield* client.nextFrame) as Uint8Array
        assert.strictEqual(oversized.length, 100_000)
        assert.match(decodeFrame(oversized).serverContent.modelTurn.parts[0].text, /^a{99900,}$/)
        assert.deepStrictEqual(yield* client.next, {
          serverContent: {
            modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data: "AQIDBA==" } }] },
            turnComplete: true
          },
          usageMetadata: { promptTokenCount: "12", responseTokenCount: 5, totalTokenCount: 17 }
        })
        // Raw frames are not recorded; the drifted message is.
        const [record] = yield* emulator.connections
        assert.deepStrictEqual(record.serverMessages.map(summary), ["setupComplete", "audio:4"])

        // A client whose limit is smaller sends close 1009 (`ws` itself then reports 1006: it stops reading).
        const limited = yield* openSocket(emulator.port, livePath, {}, 50_000)
        yield* limited.send(textSetup)
        yield* limited.next
        yield* limited.send({ realtimeInput: { text: "Hi" } })
        yield* limited.nextFrame
        assert.strictEqual((yield* limited.closed).code, 1006)
        assert.deepStrictEqual(yield* emulator.awaitClosed(1), { code: 1009, reason: "", wasClean: true })
      }))

    it.scoped("goAway, then any end: close 1000, a drop", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({
          afterSetupComplete: (setup) =>
            LiveEmulator.goAway("5 seconds", setup.model === "models/drop" ? LiveEmulator.drop : LiveEmulator.close(1000))
        })
        for (const [model, code] of [["models/gemini-live-2.5-flash", 1000], ["models/drop", 1006]] as const) {
          const client = yield* openMemory(emulator, livePath)
          yield* client.send({ setup: { model } })
          yield* client.next
          assert.deepStrictEqual(yield* client.next, { goAway: { timeLeft: "5s" } })
          const closed = yield* Effect.fork(client.closed)
          yield* TestClock.adjust("5 seconds")
          assert.strictEqual((yield* closed.await.pipe(Effect.flatten)).code, code)
        }
      }))

    // 404 first (not counted); then the next upgrades to an endpoint are refused, on either face.
    it.scopedLive("refuses the next upgrades with an HTTP status", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ refuseUpgrades: { count: 2, status: 503 } })
        assert.strictEqual(yield* Effect.flip(openSocket(emulator.port, "/elsewhere")), 404)
        assert.strictEqual(yield* Effect.flip(openSocket(emulator.port, livePath)), 503)
        const memoryRefusal = yield* Effect.flip(openMemory(emulator, livePath))
        assert.deepInclude(memoryRefusal, { reason: "HttpStatus", status: 503 })
        yield* started(emulator)
        yield* emulator.refuseUpgrades(1, 429)
        assert.strictEqual(yield* Effect.flip(openSocket(emulator.port, livePath)), 429)
        yield* started(emulator)
        assert.strictEqual((yield* emulator.connections).length, 2)
      }))

    // Its tokens pass Vertex AI's check even where isValidAccessToken refuses every other token.
    it.scopedLive("a token endpoint whose tokens pass; it fails or hangs", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ isValidAccessToken: () => false })
        assert.strictEqual(emulator.tokenUri, `${emulator.url}/token`)
        const request = (form: Record<string, string>) =>
          Effect.promise(async () => {
            const response = await fetch(emulator.tokenUri, { method: "POST", body: new URLSearchParams(form) })
            return { status: response.status, body: await response.json() as any }
          })
        const grant = { grant_type: "refresh_token", refresh_token: "r", client_id: "c", client_secret: "s" }
        const granted = yield* request(grant)
        assert.strictEqual(granted.status, 200)
        assert.include(granted.body, { token_type: "Bearer", expires_in: 3599 })
        assert.match(granted.body.access_token, /^ya29\.emulator-/)
        assert.deepStrictEqual(yield* request({ grant_type: "password" }), {
          status: 400,
          body: { error: "invalid_grant", error_description: "Bad Request" }
        })

        const setup = setupMessage({ model: vertexModel() })
        const accepted = yield* openSocket(emulator.port, vertexPath(), bearer(granted.body.access_token))
        yield* accepted.send(setup)
        assert.property(yield* accepted.next, "setupComplete")
        const other = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* other.send(setup)
        assert.strictEqual((yield* other.closed).code, 1008)

        yield* emulator.failTokenRequests(1, 401)
        assert.deepStrictEqual(yield* request(grant), { status: 401, body: { error: "invalid_client", error_description: "HTTP 401" } })
        yield* emulator.failTokenRequests(1, "hang")
        assert.isFalse(yield* within(300, request(grant)))
        assert.strictEqual((yield* request(grant)).status, 200)
        assert.strictEqual(yield* emulator.tokenRequests, 5)
      }))

    // A service account's token_uri: GeminiLive connects with the token it issues, or fails with its 401.
    it.scopedLive("GeminiLive on Vertex AI with the emulator's tokens", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ isValidAccessToken: () => false })
        const client = (emulator: LiveEmulator.Service) =>
          GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
            backend: Backend.VERTEX_AI,
            project: "p",
            credentials: serviceAccountJson({ token_uri: emulator.tokenUri }),
            httpOptions: { baseUrl: emulator.url }
          })))
        const session = yield* (yield* client(emulator)).connect()
        assert.strictEqual((yield* session.close()).code, 1000)
        yield* emulator.failTokenRequests(1, 401)
        const error = yield* Effect.flip(Effect.scoped((yield* client(emulator)).connect()))
        assert.strictEqual(error._tag, "AuthError")
        assert.strictEqual(yield* emulator.tokenRequests, 2)
      }))
  })
})
