// The ts blocks of docs/audio.md and the README's "Streaming audio", type-checked, not run
// (test/readme.test.ts finds each block here).
import { Effect, Stream } from "effect"
import { Audio, GeminiLive } from "effect-gemini-live"

/** A caller's audio: 8 kHz mu-law. */
declare const microphone: Stream.Stream<Uint8Array>
/** Plays model audio to the caller. */
declare const playToCaller: (chunk: Uint8Array) => Effect.Effect<void>
/** A phone line that emits its media as events. */
declare const phoneLine: { readonly on: (event: "media", listener: (payload: Uint8Array) => void) => void }

export const streams = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  yield* session.sendAudio(microphone, { format: Audio.MULAW_8K, overflow: "dropOldest" }).pipe(Effect.fork)
  yield* session.audioAs(Audio.MULAW_8K).pipe(Stream.runForEach(playToCaller))
})

export const pushed = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  const input = yield* session.audioInput({ format: Audio.MULAW_8K, frameMillis: 20 })
  phoneLine.on("media", (payload: Uint8Array) => input.unsafeOffer(payload))
  return yield* input.end
})
