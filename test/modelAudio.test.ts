/**
 * Model audio routing: `MediaStarted`/`MediaEnded` around each stretch of audio, even when the
 * stretch's timer never got to run.
 */
import { describe, expect, it, vi } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { LiveEvent } from "../src/index.js"
import * as ModelAudio from "../src/internal/audio/modelAudio.js"
import * as Playback from "../src/internal/audio/playback.js"

const delta = LiveEvent.AudioDelta({ data: new Uint8Array(480), mimeType: "audio/pcm;rate=24000", sampleRate: 24000 })

describe("ModelAudio", () => {
  // On the live clock, where the media timer is a setTimeout.
  it.live("after the scope closes, audio starts no media timer", () =>
    Effect.gen(function*() {
      const playback = yield* Playback.make(10)
      const offered: Array<string> = []
      const scope = yield* Scope.make()
      const audio = yield* ModelAudio.make({
        playback,
        hub: { offer: (events) => void offered.push(...events.map((e) => e._tag)) },
        scope,
        clock: yield* Effect.clock,
        playbackBytesDropped: () => {}
      })
      yield* Scope.close(scope, Exit.void)
      const timeouts = vi.spyOn(globalThis, "setTimeout")
      try {
        expect(audio.route([delta]).pending).toBeUndefined()
        expect(timeouts).not.toHaveBeenCalled()
      } finally {
        timeouts.mockRestore()
      }
      expect(offered).toEqual([])
    }))

  // The timer is lost when the reader that would fork it is interrupted.
  it.scoped("a stretch whose timer never ran ends at the next audio", () =>
    Effect.gen(function*() {
      const playback = yield* Playback.make(10)
      const audio = yield* ModelAudio.make({
        playback,
        hub: { offer: () => undefined },
        scope: yield* Effect.scope,
        clock: yield* Effect.clock,
        playbackBytesDropped: () => {}
      })
      // The first stretch's timer would be forked by `pending`: it is dropped here, never run.
      expect(audio.route([delta]).events.map((e) => e._tag)).toEqual(["MediaStarted", "AudioDelta"])
      yield* TestClock.adjust("5 seconds")
      const next = audio.route([delta]).events
      expect(next.map((e) => e._tag)).toEqual(["MediaEnded", "MediaStarted", "AudioDelta"])
      expect(next[0]).toMatchObject({ turn: 0, durationMillis: 10 })
    }))
})
