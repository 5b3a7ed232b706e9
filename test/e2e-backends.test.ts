/**
 * The same program on both backends: one test body, run on the Gemini API and on Vertex AI (with a
 * service account whose JWT a local token endpoint verifies), against the emulator over loopback.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { Backend, GeminiLive, LiveEvent, type Parameters } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"
import { endpoint, serviceAccountJson, TokenServer } from "./support/googleTokenEndpoint.js"

const issuedToken = "ya29.service-account-token"

interface Case {
  readonly backend: Backend.Kind
  readonly parameters: (baseUrl: string, tokenUri: string) => Parameters.Input
}

const cases: ReadonlyArray<Case> = [
  {
    backend: Backend.GEMINI_API,
    parameters: (baseUrl) => ({ apiKey: "test-key", httpOptions: { baseUrl } })
  },
  {
    backend: Backend.VERTEX_AI,
    parameters: (baseUrl, tokenUri) => ({
      backend: Backend.VERTEX_AI,
      project: "my-project",
      location: "us-central1",
      credentials: serviceAccountJson({ token_uri: tokenUri }),
      httpOptions: { baseUrl }
    })
  }
]

/** A token endpoint for the test's lifetime: its `/token` URL. */
const tokenEndpoint = Effect.flatMap(Layer.build(TokenServer), (context) => Effect.provide(endpoint("/token"), context))

const oneTurn = (events: Stream.Stream<LiveEvent.LiveEvent>) =>
  events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

const text = (events: ReadonlyArray<LiveEvent.LiveEvent>, tag: "TextDelta" | "OutputTranscription") =>
  events.flatMap((e) => (e._tag === tag ? [e.text] : [])).join("")

const emulatorOptions = (backend: Backend.Kind): LiveEmulator.Options => ({
  isValidAccessToken: (token) => token === issuedToken,
  onTurn: (turn) =>
    turn.text === "weather?"
      ? [
        LiveEmulator.send({
          toolCall: {
            functionCalls: [
              // Vertex AI sometimes leaves ids out: the client mints one and does not send it back.
              backend === Backend.VERTEX_AI ? { name: "getWeather", args: { city: "Paris" } } : { id: "call-1", name: "getWeather", args: { city: "Paris" } }
            ]
          }
        })
      ]
      : LiveEmulator.defaultTurn(turn),
  onMessage: (message) =>
    typeof message === "object" && message !== null && "toolResponse" in message ? [LiveEmulator.say("It is sunny.")] : undefined
})

describe.each(cases)("the same program on $backend", ({ backend, parameters }) => {
  it.scopedLive("text turn, audio turn, a tool call answered, a clean close", () =>
    Effect.gen(function*() {
      const tokenUri = yield* tokenEndpoint
      const emulator = yield* LiveEmulator.make(emulatorOptions(backend))
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layer({ ...parameters(emulator.url, tokenUri), model: "gemini-live-test" }))
      )

      // A text turn.
      const textSession = yield* client.connect({ connectConfig: { responseModalities: ["TEXT"] } })
      yield* textSession.sendClientContent({ turns: "Hello" })
      const textTurn = yield* oneTurn(textSession.events)
      expect(text(textTurn, "TextDelta")).toBe(`You said: "Hello"`)
      const usage = textTurn.find(LiveEvent.is("UsageMetadata"))?.usage
      expect(usage?.responseTokenCount).toBeGreaterThan(0)
      expect(usage).not.toHaveProperty("candidatesTokenCount")
      expect(yield* textSession.close()).toMatchObject({ code: 1000 })

      // An audio turn (AUDIO is the default modality on both).
      const session = yield* client.connect({ connectConfig: { outputAudioTranscription: {} } })
      yield* session.sendRealtimeInput({ text: "Say something" })
      const audioTurn = yield* oneTurn(session.events)
      const audio = audioTurn.filter(LiveEvent.is("AudioDelta"))
      expect(audio.length).toBeGreaterThan(0)
      expect(audio.every((a) => a.sampleRate === 24_000 && a.data.byteLength > 0)).toBe(true)
      expect(text(audioTurn, "OutputTranscription")).toBe(`You said: "Say something"`)

      // A tool call, answered with the id the event carries.
      yield* session.sendRealtimeInput({ text: "weather?" })
      const toolTurn = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("ToolCall")), Stream.runCollect)
      const call = Chunk.toReadonlyArray(toolTurn).find(LiveEvent.is("ToolCall"))!.functionCalls[0]
      expect(call.name).toBe("getWeather")
      expect(call.id).toBeDefined()
      yield* session.sendToolResponse({ functionResponses: { id: call.id!, name: call.name, response: { sky: "clear" } } })
      expect(text(yield* oneTurn(session.events), "OutputTranscription")).toBe("It is sunny.")
      expect(yield* session.close()).toMatchObject({ code: 1000, wasClean: true })

      // What crossed the wire.
      const records = yield* emulator.connections
      expect(records.map((r) => r.backend)).toEqual([backend, backend])
      const setup = (records[1].clientMessages[0] as { setup: { model: string } }).setup
      const toolResponse = records[1].clientMessages.find((m) => typeof m === "object" && m !== null && "toolResponse" in m)
      if (backend === Backend.VERTEX_AI) {
        expect(records[1].path).toBe("//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent")
        expect(records[1].headers.authorization).toBe(`Bearer ${issuedToken}`)
        expect(records[1].query).toEqual({})
        expect(setup.model).toBe("projects/my-project/locations/us-central1/publishers/google/models/gemini-live-test")
        expect(session.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
        expect(toolResponse).toEqual({ toolResponse: { functionResponses: [{ name: "getWeather", response: { sky: "clear" } }] } })
      } else {
        expect(records[1].path).toBe("//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent")
        expect(records[1].query).toEqual({ key: "test-key" })
        expect(setup.model).toBe("models/gemini-live-test")
        expect(session.sessionId).toBeUndefined()
        expect(toolResponse).toEqual({
          toolResponse: { functionResponses: [{ id: "call-1", name: "getWeather", response: { sky: "clear" } }] }
        })
      }
    }))
})

describe("Vertex AI failures", () => {
  it.scopedLive("a token the server refuses fails the connect", () =>
    Effect.gen(function*() {
      const tokenUri = yield* tokenEndpoint
      const emulator = yield* LiveEmulator.make({ isValidAccessToken: () => false })
      const client = yield* GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
        backend: Backend.VERTEX_AI,
        project: "p",
        credentials: serviceAccountJson({ token_uri: tokenUri }),
        httpOptions: { baseUrl: emulator.url }
      })))
      const error = yield* Effect.flip(Effect.scoped(client.connect()))
      expect(["ConnectError", "SetupRejected"]).toContain(error._tag)
      expect(JSON.stringify(error) + error.message).not.toContain(issuedToken)
    }))

  it.scopedLive("a token endpoint refusing the key: a non-retryable AuthError", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
        backend: Backend.VERTEX_AI,
        project: "p",
        credentials: serviceAccountJson({ token_uri: `${emulator.url}/no-such-token-endpoint` }),
        httpOptions: { baseUrl: emulator.url }
      })))
      const error = yield* Effect.flip(Effect.scoped(client.connect()))
      expect(error._tag).toBe("AuthError")
      expect(yield* emulator.connections).toEqual([])
    }))

  // No credentials, no apiKey and no Auth layer in context.
  it.effect("VERTEX_AI without credentials: a ConfigError naming them", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(GeminiLive.layer({ backend: Backend.VERTEX_AI, project: "p" }))))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "credentials" })
    }))

  it.effect("a bad credential file fails the layer with an AuthError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(
        GeminiLive.layer({ backend: Backend.VERTEX_AI, project: "p", credentials: "{not json" })
      )))
      expect(error).toMatchObject({ _tag: "AuthError" })
      expect(error.message).toContain("not JSON")
    }))
})
