/**
 * The client's layers: what each needs shows in its type, and each works with what it is given.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Exit, Layer, Stream } from "effect"
import {
  Auth,
  Backend,
  GeminiLive,
  type LiveError,
  LiveEvent,
  NodeTransport,
  Parameters,
  Statistics,
  Transport,
  WireTrace
} from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

const textTurn = { model: "gemini-live-test", connectConfig: { responseModalities: ["TEXT"] } } as const

describe("GeminiLive layers", () => {
  it("the types name every dependency", () => {
    expectTypeOf(GeminiLive.make).returns.toEqualTypeOf<
      Effect.Effect<GeminiLive.Service, never, Auth.Auth | Backend.Backend | Transport.Transport | Statistics.Statistics | WireTrace.WireTrace>
    >()
    expectTypeOf(GeminiLive.layerWithoutDependencies).returns.toEqualTypeOf<
      Layer.Layer<GeminiLive.GeminiLive, LiveError.ConfigError, Parameters.Services>
    >()
    expectTypeOf(Parameters.layer).returns.toEqualTypeOf<
      Layer.Layer<Parameters.Services, LiveError.ConfigError | LiveError.AuthError>
    >()
    expectTypeOf(GeminiLive.layer).returns.toEqualTypeOf<
      Layer.Layer<GeminiLive.GeminiLive, LiveError.ConfigError | LiveError.AuthError>
    >()
  })

  it.scopedLive("layerWithoutDependencies runs on the services it is given", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const services = Layer.mergeAll(
        Auth.apiKey("k"),
        Backend.layerGeminiApi({ baseUrl: emulator.url }),
        NodeTransport.layer,
        Statistics.layer,
        WireTrace.layerNone
      )
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layerWithoutDependencies(textTurn).pipe(Layer.provide(services)))
      )
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ text: "hello" })
      const events = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect)
      expect([...events].some((event) => event._tag === "TextDelta")).toBe(true)
      // The Statistics given (enabled), not the parameters' default (disabled).
      expect((yield* session.statistics).framesSent).toBeGreaterThan(0)
    }))

  it.effect("Parameters.layer builds the five services from the parameters", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Parameters.layer({ apiKey: "k", backend: Backend.VERTEX_AI, location: "us-central1" }))
      const backend = yield* Effect.provide(Backend.Backend, context)
      expect(backend.kind).toBe(Backend.VERTEX_AI)
      expect(yield* Effect.provide(Transport.Transport, context)).toBe(NodeTransport.webSocket)
    }).pipe(Effect.scoped))

  it.effect("Parameters.layer fails with the field's ConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(Parameters.layer({ apiKey: "k", backend: "OpenAI" } as never)))
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("\"path\":\"backend\"")
    }).pipe(Effect.scoped))
})
