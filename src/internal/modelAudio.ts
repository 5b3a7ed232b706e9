/**
 * Routes the model's audio as events arrive: into the playback buffer (`session.audio`), numbered
 * by model turn, framed by `MediaStarted` / `MediaEnded` (VoxEngine's rule: media ends after 1 s
 * without model audio), and cleared on barge-in (`Interrupted`).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Audio from "../Audio.js"
import * as LiveEvent from "../LiveEvent.js"
import type { Playback } from "./playback.js"

/** How long without model audio ends a stretch of speech. */
export const mediaEndMillis = 1000

export interface ModelAudio {
  /** Handles one server message's events; gives them back with `MediaStarted` put in front when speech starts. */
  readonly route: (events: ReadonlyArray<LiveEvent.LiveEvent>) => Effect.Effect<ReadonlyArray<LiveEvent.LiveEvent>>
}

export const make = (options: {
  readonly playback: Playback
  /** Where `MediaEnded` goes (it is timed, so it is published on its own). */
  readonly publish: (events: ReadonlyArray<LiveEvent.LiveEvent>) => Effect.Effect<void>
  /** The session's scope: the media timer's fiber lives in it. */
  readonly scope: Scope.Scope
  readonly playbackBytesDropped: (bytes: number) => void
}): ModelAudio => {
  let turn = 0
  let media: { readonly turn: number; bytes: number; lastAt: number } | undefined
  let reportedDrops = 0

  const mediaEnd: Effect.Effect<void> = Effect.gen(function*() {
    while (media !== undefined) {
      const wait = media.lastAt + mediaEndMillis - (yield* Clock.currentTimeMillis)
      if (wait > 0) {
        yield* Effect.sleep(wait)
        continue
      }
      const ended = media
      media = undefined
      const durationMillis = Audio.durationMillis(Audio.OUTPUT_FORMAT, ended.bytes)
      yield* options.publish([LiveEvent.MediaEnded({ turn: ended.turn, durationMillis })])
    }
  })

  const route = (events: ReadonlyArray<LiveEvent.LiveEvent>) =>
    Effect.gen(function*() {
      let result = events
      for (const event of events) {
        if (event._tag === "AudioDelta") {
          const now = yield* Clock.currentTimeMillis
          if (media === undefined) {
            media = { turn, bytes: 0, lastAt: now }
            result = [LiveEvent.MediaStarted({ turn }), ...events]
            yield* Effect.forkIn(mediaEnd, options.scope)
          }
          media.bytes += event.data.byteLength
          media.lastAt = now
          yield* options.playback.push({ data: event.data, sampleRate: event.sampleRate, turn })
        } else if (event._tag === "Interrupted") {
          yield* options.playback.clear
        } else if (event._tag === "TurnComplete") {
          turn++
        }
      }
      const dropped = options.playback.droppedBytes()
      if (dropped > reportedDrops) {
        options.playbackBytesDropped(dropped - reportedDrops)
        reportedDrops = dropped
      }
      return result
    })

  return { route }
}
