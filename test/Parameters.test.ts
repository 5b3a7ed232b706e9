import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Redacted } from "effect"
import { Backend, GeminiLive, Parameters } from "../src/index.js"

const configError = (input: unknown) => {
  const result = Parameters.decode(input)
  if (Either.isRight(result)) throw new Error("expected a ConfigError")
  return result.left
}

describe("Parameters.decode", () => {
  it("accepts the seed's parameters and redacts the secrets", () => {
    const decoded = Either.getOrThrow(Parameters.decode({
      apiKey: "secret-key",
      backend: Backend.GEMINI_API,
      model: "gemini-3.1-flash-live-preview",
      connectConfig: { responseModalities: ["AUDIO"], inputAudioTranscription: {} },
      httpOptions: { headers: { "x-test": "1" }, apiVersion: "v1beta", timeout: 5000, baseUrl: "http://127.0.0.1:1" },
      onWebSocketClose: () => {},
      statistics: true,
      trace: false,
      privacy: true
    }))
    expect(Redacted.isRedacted(decoded.apiKey)).toBe(true)
    expect(Redacted.value(decoded.apiKey!)).toBe("secret-key")
    expect(String(decoded.apiKey)).not.toContain("secret-key")
    expect(decoded.connectConfig).toEqual({ responseModalities: ["AUDIO"], inputAudioTranscription: {} })
  })

  // Fields the server may add later pass through to the setup.
  it("keeps connectConfig fields it does not know", () => {
    const decoded = Either.getOrThrow(Parameters.decode({ apiKey: "k", connectConfig: { newServerField: { a: 1 } } }))
    expect(decoded.connectConfig).toEqual({ newServerField: { a: 1 } })
  })

  it.each([
    [{ apiKey: "k", backend: "OpenAI" }, "backend"],
    [{ backend: Backend.VERTEX_AI }, "project"],
    [{ backend: Backend.VERTEX_AI, project: "p", credentials: 42 }, "credentials"],
    [{ apiKey: "k", onWebSocketClose: "not a function" }, "onWebSocketClose"],
    [{ apiKey: "k", httpOptions: { timeout: -1 } }, "httpOptions.timeout"],
    [{ apiKey: "k", httpOptions: { baseUrl: "not a url" } }, "httpOptions.baseUrl"],
    [{ apiKey: "k", httpOptions: { baseUrl: "ftp://example.com" } }, "httpOptions.baseUrl"],
    [{ apiKey: "k", statistics: "yes" }, "statistics"],
    [{ apiKey: "k", model: "" }, "model"],
    [{ apiKey: 42 }, "apiKey"],
    [{ apiKey: "" }, "apiKey"],
    [{ apiKey: " \n " }, "apiKey"],
    [{ apiKey: "", backend: Backend.VERTEX_AI }, "apiKey"],
    [{ apiKey: "k", httpOptions: { headers: { "x-ok": "1", "x-test": "a\r\nx-evil: 1" } } }, "httpOptions.headers.x-test"],
    [{ apiKey: "k", httpOptions: { headers: { "x-test": "a\nb" } } }, "httpOptions.headers.x-test"],
    [{ apiKey: "k", httpOptions: { headers: { "x test": "1" } } }, "httpOptions.headers.x test"],
    [{ apiKey: "k", httpOptions: { headers: { "x:test": "1" } } }, "httpOptions.headers.x:test"],
    [{ apiKey: "k", apiKye: "typo" }, "apiKye"],
    [{ apiKey: "k", connectConfig: { temperature: "hot" } }, "connectConfig.temperature"],
    [{ apiKey: "k", connectConfig: { responseModalities: "AUDIO" } }, "connectConfig.responseModalities"],
    [{ apiKey: "k", connectConfig: { httpOptions: {} } }, "connectConfig.httpOptions"]
  ])("refuses %j naming %s", (input, path) => {
    const error = configError(input)
    expect(error._tag).toBe("ConfigError")
    expect(error.path).toBe(path)
    expect(error.retryable).toBe(false)
    expect(error.message).toContain(path)
  })

  it("never echoes a secret in an error", () => {
    const error = configError({ apiKey: "top-secret", credentials: 7 })
    expect(error.path).toBe("credentials")
    expect(JSON.stringify(error)).not.toContain("top-secret")
    expect(error.message).not.toContain("top-secret")
  })
})

describe("GeminiLive.layer", () => {
  const build = (layer: Layer.Layer<GeminiLive.GeminiLive, unknown>) =>
    Effect.flip(Effect.scoped(Layer.build(layer)))

  it.effect("fails with a ConfigError for bad parameters", () =>
    Effect.gen(function*() {
      const error = yield* build(GeminiLive.layer({ apiKey: "k", httpOptions: { timeout: -5 } }))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "httpOptions.timeout" })
    }))

  it.effect("an empty apiKey or a CR/LF header fails the layer", () =>
    Effect.gen(function*() {
      expect(yield* build(GeminiLive.layer({ apiKey: "" }))).toMatchObject({ _tag: "ConfigError", path: "apiKey" })
      const error = yield* build(GeminiLive.layer({ apiKey: "k", httpOptions: { headers: { "x-a": "1\r\nx-b: 2" } } }))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "httpOptions.headers.x-a" })
    }))

  it.effect("needs an API key on the Gemini API", () =>
    Effect.gen(function*() {
      const error = yield* build(GeminiLive.layer({}))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "apiKey" })
    }))

  // GOOGLE_API_KEY wins over GEMINI_API_KEY.
  it.effect("layerConfig reads the key from the environment", () =>
    Effect.gen(function*() {
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layerConfig({ model: "m" })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([
          ["GEMINI_API_KEY", "from-gemini"],
          ["GOOGLE_API_KEY", "from-google"],
          ["GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9"]
        ])))
      )
      expect(Redacted.value(client.parameters.apiKey!)).toBe("from-google")
      expect(client.parameters.model).toBe("m")
      expect(client.parameters.httpOptions?.baseUrl).toBe("http://127.0.0.1:9")
    }))

  it.effect("layerConfig without a key fails naming apiKey", () =>
    Effect.gen(function*() {
      const error = yield* build(GeminiLive.layerConfig()).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect(error).toMatchObject({ _tag: "ConfigError", path: "apiKey" })
    }))
})
