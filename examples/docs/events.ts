// The ts blocks of docs/events.md and the README's "Sessions and events", type-checked, not run
// (test/readme.test.ts finds each block here).
import { Deferred, Effect } from "effect"
import { GeminiLive, type LiveEvent, type Transport } from "effect-gemini-live"

/** Plays model audio (a sound card, a phone line). */
declare const speaker: { readonly write: (pcm: Uint8Array) => void }
/** A phone call of a telephony platform. */
declare const call: { readonly sendMedia: (pcm: Uint8Array) => void }
/** Answers a tool call (manual mode). */
declare const handleCall: (event: Extract<LiveEvent.LiveEvent, { readonly _tag: "ToolCall" }>) => Effect.Effect<void>

export const withRunForEach = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  yield* session.runForEach((event) => {
    if (event._tag === "AudioDelta") speaker.write(event.data) // synchronous: handled at once
    if (event._tag === "ToolCall") return handleCall(event) // an Effect: what follows waits for it
  }).pipe(Effect.fork)
})

export const withListen = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  const ended = yield* Deferred.make<Transport.CloseInfo>()
  yield* session.listen((event) => {
    if (event._tag === "AudioDelta") call.sendMedia(event.data) // in the socket's callback
    if (event._tag === "ToolCall") return handleCall(event) // an Effect: run by a fiber of the scope
    if (event._tag === "Closed") return Deferred.succeed(ended, event.info)
  })
  return yield* Deferred.await(ended)
})
