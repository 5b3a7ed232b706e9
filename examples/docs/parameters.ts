// The ts blocks of docs/parameters.md and the README's "Parameters", type-checked, not run
// (test/readme.test.ts finds each block here).
import { Effect, Layer } from "effect"
import { GeminiLive, WireTrace } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"

export const replacingServices = Effect.gen(function*() {
  const emulator = yield* LiveEmulator.make()
  GeminiLive.layer({ apiKey: "test" }).pipe(Layer.provide(emulator.layerTransport))   // in-memory socket
  GeminiLive.layer({ apiKey: "unused" }).pipe(Layer.provide(WireTrace.layerMemory()))   // trace in memory
})
