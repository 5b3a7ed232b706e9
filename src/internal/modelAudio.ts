/**
 * Routes the model's audio as events arrive: into the playback buffer (`session.audio`), numbered
 * by model turn, framed by `MediaStarted` / `MediaEnded` (VoxEngine's rule: media ends after 1 s
 * without model audio), and cleared on barge-in (`Interrupted`).
 *
 * Routing is synchronous (it runs for every audio message): only a full playback buffer that is
 * being read, and the start of the media timer, give the session something to wait on.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Audio from "../Audio.js"
import * as LiveEvent from "../LiveEvent.js"
import type { AudioChunk } from "../LiveSession.js"
import type { Playback } from "./playback.js"

/**
 * `effect` after `pending`. (A module-level function, not a closure per message: under tsx each
 * named closure costs a `defineProperty` for its name.)
 */
const andThen = (pending: Effect.Effect<void> | undefined, effect: Effect.Effect<void>) =>
  pending === undefined ? effect : Effect.zipRight(pending, effect)

/** How long without model audio ends a stretch of speech. */
export const mediaEndMillis = 1000

/** One message's events, routed. */
export interface Routed {
  /** The events to publish: the message's, with `MediaStarted` in front when speech starts. */
  readonly events: ReadonlyArray<LiveEvent.LiveEvent>
  /** What must complete before they are published, in order (`undefined`, usually: nothing). */
  readonly pending: Effect.Effect<void> | undefined
}

export interface ModelAudio {
  /** Routes one server message's events now, up to the first one that has to wait (see `Routed`). */
  readonly route: (events: ReadonlyArray<LiveEvent.LiveEvent>) => Routed
}

export const make = (options: {
  readonly playback: Playback
  /** Where `MediaEnded` goes (it is timed, so it is published on its own). */
  readonly publish: (events: ReadonlyArray<LiveEvent.LiveEvent>) => Effect.Effect<void>
  /** The session's scope: the media timer's fiber lives in it. */
  readonly scope: Scope.Scope
  /** The session's clock (the media timer's too). */
  readonly clock: Clock.Clock
  readonly playbackBytesDropped: (bytes: number) => void
}): ModelAudio => {
  const { clock, playback } = options
  let turn = 0
  let media: { readonly turn: number; bytes: number; lastAt: number } | undefined
  let reportedDrops = 0

  /** Ends the current stretch of audio: its `MediaEnded`. */
  const endMedia = (): LiveEvent.LiveEvent => {
    const ended = media!
    media = undefined
    return LiveEvent.MediaEnded({ turn: ended.turn, durationMillis: Audio.durationMillis(Audio.OUTPUT_FORMAT, ended.bytes) })
  }

  const mediaEnd: Effect.Effect<void> = Effect.gen(function*() {
    while (media !== undefined) {
      const wait = media.lastAt + mediaEndMillis - (yield* Clock.currentTimeMillis)
      if (wait > 0) {
        yield* Effect.sleep(wait)
        continue
      }
      yield* options.publish([endMedia()])
    }
  })

  const reportDrops = () => {
    const dropped = playback.droppedBytes()
    if (dropped > reportedDrops) {
      options.playbackBytesDropped(dropped - reportedDrops)
      reportedDrops = dropped
    }
  }

  const route = (events: ReadonlyArray<LiveEvent.LiveEvent>): Routed => {
    /** Media events, before the message's own. */
    let mediaEvents: Array<LiveEvent.LiveEvent> | undefined
    let pending: Effect.Effect<void> | undefined
    /** Once a push has to wait, what follows it in the playback buffer waits behind it. */
    let blocked = false
    for (const event of events) {
      if (event._tag === "AudioDelta") {
        const now = clock.unsafeCurrentTimeMillis()
        if (media !== undefined && now - media.lastAt > mediaEndMillis) {
          // The stretch should have ended and its timer did not say so (its fork was lost with an
          // interrupted reader, or the loop was too busy): end it here, then start anew.
          mediaEvents = [endMedia()]
        }
        if (media === undefined) {
          media = { turn, bytes: 0, lastAt: now }
          mediaEvents = [...(mediaEvents ?? []), LiveEvent.MediaStarted({ turn })]
          pending = andThen(pending, Effect.asVoid(Effect.forkIn(mediaEnd, options.scope)))
        }
        media.bytes += event.data.byteLength
        media.lastAt = now
        const chunk: AudioChunk = { data: event.data, sampleRate: event.sampleRate, turn }
        if (blocked || !playback.offer(chunk)) {
          blocked = true
          pending = andThen(pending, playback.push(chunk))
        }
      } else if (event._tag === "Interrupted") {
        if (blocked) pending = andThen(pending, Effect.asVoid(playback.clear))
        else playback.clearNow()
      } else if (event._tag === "TurnComplete") {
        turn++
      }
    }
    if (blocked) pending = andThen(pending, Effect.sync(reportDrops))
    else reportDrops()
    return { events: mediaEvents === undefined ? events : [...mediaEvents, ...events], pending }
  }

  return { route }
}
