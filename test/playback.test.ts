/**
 * The playback buffer behind `session.audio` keeps bytes of its own for views of shared slabs (so
 * an unread buffer never holds other sessions' audio), and passes whole buffers through.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import * as Playback from "../src/internal/audio/playback.js"

describe("Playback", () => {
  // A view of a larger buffer (a frame, a shared slab) would keep all of it alive while it waits.
  it.effect("keeps a view as a copy, a whole buffer as it is", () =>
    Effect.gen(function*() {
      const playback = yield* Playback.make(8)
      const slab = new Uint8Array(64).map((_, i) => i)
      const view = { data: slab.subarray(8, 16), sampleRate: 24_000, turn: 0 }
      const whole = { data: new Uint8Array([1, 2, 3]), sampleRate: 24_000, turn: 0 }
      expect(playback.offer(view)).toBe(true)
      expect(playback.offer(whole)).toBe(true)
      yield* playback.end
      const [first, second] = Chunk.toReadonlyArray(yield* Stream.runCollect(playback.stream))
      expect([...first.data]).toEqual([8, 9, 10, 11, 12, 13, 14, 15])
      expect(first.data.buffer).not.toBe(slab.buffer)
      expect(first.data.buffer.byteLength).toBe(8)
      expect(second).toBe(whole)
    }))
})
