// The ts blocks of docs/testing.md and the README's "Testing with the emulator", type-checked, not
// run (test/readme.test.ts finds each block here).
import { Effect, Layer } from "effect"
import { GeminiLive } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"

export const layers = Effect.gen(function*() {
  const emulator = yield* LiveEmulator.make({
    onTurn: (turn) => [LiveEmulator.say(`You said ${turn.text}`), LiveEmulator.close(1011, "Internal error encountered.")]
  })
  const Live = GeminiLive.layer({ apiKey: "any", httpOptions: { baseUrl: emulator.url } })  // real loopback socket
  const Memory = GeminiLive.layer({ apiKey: "any" }).pipe(Layer.provide(emulator.layerTransport))  // no socket
  return { Live, Memory }
})
