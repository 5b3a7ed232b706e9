import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted } from "effect"
import { Auth, Backend, GeminiLive, NodeTransport, Statistics, WireTrace } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

const endpoint = (backend: Backend.Service, credentials: Auth.Credentials) => {
  const result = Either.getOrThrow(backend.endpoint(credentials))
  return { url: Redacted.value(result.url), headers: result.headers, display: result.display }
}
const apiKey = Auth.fromApiKey("key-123")
const bearer: Auth.Credentials = { _tag: "AccessToken", token: Redacted.make("ya29.token") }
const refused = <A>(result: Either.Either<A, { readonly path: string }>) => Either.isLeft(result) ? result.left.path : "accepted"

describe("Backend.geminiApi", () => {
  it("builds @google/genai's URL, and a display without the key", () => {
    const { display, headers, url } = endpoint(Backend.geminiApi(), apiKey)
    expect(url).toBe(
      "wss://generativelanguage.googleapis.com//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent?key=key-123"
    )
    expect(display).toBe(url.replace("key-123", "<redacted>"))
    expect(headers["x-goog-api-client"]).toMatch(/^effect-gemini-live\/\d+\.\d+\.\d+ gl-node\/v/)
  })

  it("ephemeral tokens: the Constrained method, v1alpha by default", () => {
    const token = Auth.fromApiKey("auth_tokens/abc")
    expect(endpoint(Backend.geminiApi(), token).url).toBe(
      "wss://generativelanguage.googleapis.com//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained?access_token=auth_tokens/abc"
    )
    expect(endpoint(Backend.geminiApi({ apiVersion: "v1beta" }), token).url).toContain(".v1beta.GenerativeService.BidiGenerateContentConstrained")
  })

  it("honours baseUrl (http becomes ws) and refuses OAuth tokens", () => {
    expect(endpoint(Backend.geminiApi({ baseUrl: "http://127.0.0.1:8080" }), apiKey).url).toMatch(/^ws:\/\/127\.0\.0\.1:8080\/\/ws\//)
    expect(refused(Backend.geminiApi().endpoint(bearer))).toBe("apiKey")
  })

  it("prefixes models/ and refuses what only Vertex AI accepts", () => {
    const backend = Backend.geminiApi()
    expect(Either.getOrThrow(backend.setup("gemini-x", {})).model).toBe("models/gemini-x")
    expect(Either.getOrThrow(backend.setup("tunedModels/t", {})).model).toBe("tunedModels/t")
    expect(refused(backend.setup("../x", {}))).toBe("model")
    expect(refused(backend.setup("m", { sessionResumption: { transparent: true } }))).toBe("connectConfig.sessionResumption.transparent")
    expect(refused(backend.setup("m", { explicitVadSignal: true }))).toBe("connectConfig.explicitVadSignal")
    expect(refused(backend.setup("m", { tools: [{ googleSearch: {} }, { retrieval: {} }] }))).toBe("connectConfig.tools[1].retrieval")
    expect(refused(backend.setup("m", { safetySettings: [{ method: "SEVERITY" }] }))).toBe("connectConfig.safetySettings[0].method")
    expect(refused(backend.setup("m", { speechConfig: { multiSpeakerVoiceConfig: {} } }))).toBe("connectConfig.speechConfig.multiSpeakerVoiceConfig")
    expect(Either.getOrThrow(backend.setup("m", {})).generationConfig).toBeUndefined()
  })
})

describe("Backend.vertexAi", () => {
  it.each([
    ["global", "wss://aiplatform.googleapis.com/"],
    ["us", "wss://aiplatform.us.rep.googleapis.com/"],
    ["eu", "wss://aiplatform.eu.rep.googleapis.com/"],
    ["us-central1", "wss://us-central1-aiplatform.googleapis.com/"],
    [undefined, "wss://aiplatform.googleapis.com/"]
  ])("location %s: its host, Bearer auth, no secret in the URL", (location, base) => {
    const { display, headers, url } = endpoint(Backend.vertexAi({ project: "p", location }), bearer)
    expect(url).toBe(`${base}/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent`)
    expect(display).toBe(url)
    expect(headers.authorization).toBe("Bearer ya29.token")
  })

  // An API key in x-goog-api-key, on the global host, with no project prefix in the model.
  it("Express mode: x-goog-api-key, the global host, no project", () => {
    const backend = Backend.vertexAi({})
    const { headers, url } = endpoint(backend, apiKey)
    expect(url).toBe("wss://aiplatform.googleapis.com//ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent")
    expect(headers["x-goog-api-key"]).toBe("key-123")
    expect(headers.authorization).toBeUndefined()
    expect(Either.getOrThrow(backend.setup("gemini-live", {})).model).toBe("publishers/google/models/gemini-live")
    expect(refused(backend.endpoint(Auth.fromApiKey("auth_tokens/x")))).toBe("apiKey")
  })

  it("expands model names as @google/genai does", () => {
    const name = (model: string, location?: string) =>
      Either.getOrThrow(Backend.vertexAi({ project: "p", location }).setup(model, {})).model
    expect(name("gemini-live-2.5-flash-native-audio", "us-central1")).toBe(
      "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio"
    )
    expect(name("m")).toBe("projects/p/locations/global/publishers/google/models/m")
    expect(name("acme/m", "l")).toBe("projects/p/locations/l/publishers/acme/models/m")
    expect(name("publishers/google/models/m", "l")).toBe("projects/p/locations/l/publishers/google/models/m")
    expect(name("projects/q/locations/r/publishers/google/models/m", "l")).toBe("projects/q/locations/r/publishers/google/models/m")
    expect(name("models/m", "l")).toBe("models/m")
  })

  // responseModalities defaults to AUDIO, as Google's SDK sends it.
  it("defaults to AUDIO and refuses Gemini-API-only fields", () => {
    const backend = Backend.vertexAi({ project: "p", location: "l" })
    expect(Either.getOrThrow(backend.setup("m", {})).generationConfig).toEqual({ responseModalities: ["AUDIO"] })
    expect(Either.getOrThrow(backend.setup("m", { responseModalities: ["TEXT"] })).generationConfig).toEqual({ responseModalities: ["TEXT"] })
    expect(Either.getOrThrow(backend.setup("m", { explicitVadSignal: true, sessionResumption: { transparent: true } }))).toMatchObject({
      explicitVadSignal: true,
      sessionResumption: { transparent: true }
    })
    expect(refused(backend.setup("m", { tools: [{ fileSearch: {} }] }))).toBe("connectConfig.tools[0].fileSearch")
    expect(refused(backend.setup("m", { speechConfig: { voiceConfig: { replicatedVoiceConfig: { consentAudio: {} } } } })))
      .toBe("connectConfig.speechConfig.voiceConfig.replicatedVoiceConfig.consentAudio")
    expect(backend.requiresFunctionResponseId).toBe(false)
  })

  // Minted ids are not sent back in the responses.
  it("normalises usage names and mints missing tool-call ids", () => {
    const quirks = Backend.vertexAi({ project: "p" }).quirks()
    const usage = quirks.incoming({
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 7, candidatesTokensDetails: [{ modality: "AUDIO", tokenCount: 7 }] } as never
    }).usageMetadata
    expect(usage).toEqual({ promptTokenCount: 5, responseTokenCount: 7, responseTokensDetails: [{ modality: "AUDIO", tokenCount: 7 }] })

    const calls = quirks.incoming({ toolCall: { functionCalls: [{ name: "a" }, { id: "given", name: "b" }] } }).toolCall!.functionCalls!
    expect(calls[0].id).toMatch(/^minted-[0-9a-f-]{36}$/)
    expect(calls[1].id).toBe("given")
    const sent = quirks.outgoing([
      { id: calls[0].id!, name: "a", response: {} },
      { id: "given", name: "b", response: {} }
    ])
    expect(sent).toEqual([{ name: "a", response: {} }, { id: "given", name: "b", response: {} }])
    // Another session does not know this session's minted ids.
    expect(Backend.vertexAi({}).quirks().outgoing([{ id: calls[0].id!, name: "a", response: {} }])[0].id).toBe(calls[0].id)
  })
})

describe("Backend headers", () => {
  it("checkHeaders names the first header that cannot be sent", () => {
    expect(Backend.checkHeaders(undefined)).toBeUndefined()
    expect(Backend.checkHeaders({ "x-ok": "a b\tc", "X-Custom_1.v": "é" })).toBeUndefined()
    expect(Backend.checkHeaders({ "x-a": "1\r\nx-b: 2" })).toMatchObject({ _tag: "ConfigError", path: "httpOptions.headers.x-a" })
    expect(Backend.checkHeaders({ "x-a": "1\u0000" })?.path).toBe("httpOptions.headers.x-a")
    expect(Backend.checkHeaders({ "x-a": "1", "x(b)": "2" })?.path).toBe("httpOptions.headers.x(b)")
    expect(Backend.checkHeaders({ "": "1" })?.path).toBe("httpOptions.headers.")
  })

  it.each([
    ["geminiApi", Backend.geminiApi({ headers: { "x-a": "1\r\n" } }), apiKey],
    ["vertexAi", Backend.vertexAi({ project: "p", headers: { "x-a": "1\r\n" } }), bearer]
  ] as const)("%s: a CR/LF header fails every endpoint", (_, backend, credentials) => {
    expect(refused(backend.endpoint(credentials))).toBe("httpOptions.headers.x-a")
  })

  it("Vertex Express: a key with CR/LF is a ConfigError", () => {
    const result = Backend.vertexAi({}).endpoint(Auth.fromApiKey("key\r\nx-evil: 1"))
    expect(refused(result)).toBe("apiKey")
    expect(JSON.stringify(Either.isLeft(result) && result.left)).not.toContain("x-evil")
  })

  // Before this check, ws threw on the header: a defect.
  it.scopedLive("a CR/LF header: a ConfigError, no socket opened", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const services = Layer.mergeAll(
        Auth.apiKey("k"),
        Backend.layerGeminiApi({ baseUrl: emulator.url, headers: { "x-a": "1\r\nx-b: 2" } }),
        NodeTransport.layer,
        Statistics.layerDisabled,
        WireTrace.layerNone
      )
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layerWithoutDependencies({ model: "gemini-live-test" }).pipe(Layer.provide(services)))
      )
      const error = yield* Effect.flip(client.connect())
      expect(error).toMatchObject({ _tag: "ConfigError", path: "httpOptions.headers.x-a" })
      expect(yield* emulator.connections).toHaveLength(0)
    }))
})
