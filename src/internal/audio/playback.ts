/**
 * The playback buffer behind `session.audio`: model audio waits here until the application takes
 * it, and is dropped when the user barges in (`interrupted`) or the application calls `clearAudio`.
 *
 * Bounded two ways. While a reader is running, a full buffer makes the session's reader wait
 * (backpressure: nothing is lost, the socket slows down). While nobody reads `session.audio` (an
 * application that only reads `events`), a full buffer drops its oldest chunk instead, counted, so
 * an unread audio buffer never stalls the events.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AudioChunk } from "../../LiveSession.js"

export interface Playback {
  /** Adds a chunk; waits while a reader is running and the buffer is full. */
  readonly push: (chunk: AudioChunk) => Effect.Effect<void>
  /** Adds a chunk now if `push` would not wait (gives `true`); else does nothing (`false`: use `push`). */
  readonly offer: (chunk: AudioChunk) => boolean
  /** Drops every chunk not yet taken; returns how many bytes were dropped. */
  readonly clear: Effect.Effect<number>
  /** `clear`, now (for the synchronous routing of a message). */
  readonly clearNow: () => number
  /** No more chunks: readers end once the buffer is drained. */
  readonly end: Effect.Effect<void>
  /** The chunks, one at a time (several concurrent readers would share them). */
  readonly stream: Stream.Stream<AudioChunk>
  /** Bytes dropped because nobody was reading and the buffer was full. */
  readonly droppedBytes: () => number
}

/** No playback buffer (`audioBufferSize: 0`): the application takes model audio from `events`. */
export const disabled: Playback = {
  push: () => Effect.void,
  offer: () => true,
  clear: Effect.succeed(0),
  clearNow: () => 0,
  end: Effect.void,
  stream: Stream.dieMessage(
    "session.audio is off: the session was connected with audioBufferSize: 0 (take the audio from the AudioDelta events)"
  ),
  droppedBytes: () => 0
}

/**
 * The chunk as the buffer keeps it: with bytes of its own when they are a view of a larger buffer
 * (a frame or a slab shared by sessions), which a waiting chunk would otherwise keep alive.
 */
const kept = (chunk: AudioChunk): AudioChunk => {
  if (chunk.data.byteLength === chunk.data.buffer.byteLength) return chunk
  // A buffer of its own (`Buffer.from` would put a small copy in Node's shared pool).
  const data = Buffer.allocUnsafeSlow(chunk.data.byteLength)
  data.set(chunk.data)
  return { ...chunk, data }
}

export const make = (capacity: number): Effect.Effect<Playback> =>
  Effect.sync(() => {
    const chunks: Array<AudioChunk> = []
    let readers = 0
    let ended = false
    let dropped = 0
    /** Completed when a chunk arrives or the buffer ends (takers wait on it). */
    let available: Deferred.Deferred<void> | undefined
    /** Completed when there is room, or nobody reads any more (the pusher waits on it). */
    let room: Deferred.Deferred<void> | undefined

    const signal = (deferred: Deferred.Deferred<void> | undefined) => {
      if (deferred !== undefined) Deferred.unsafeDone(deferred, Effect.void)
    }
    const wake = () => {
      signal(available)
      available = undefined
    }
    const release = () => {
      signal(room)
      room = undefined
    }

    const offer = (chunk: AudioChunk): boolean => {
      if (ended) return true
      if (chunks.length < capacity) {
        chunks.push(kept(chunk))
        wake()
        return true
      }
      if (readers === 0) {
        dropped += chunks.shift()!.data.byteLength
        chunks.push(kept(chunk))
        return true
      }
      return false
    }

    const push = (chunk: AudioChunk): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (offer(chunk)) return Effect.void
        room ??= Deferred.unsafeMake<void>(FiberId.none)
        return Effect.zipRight(Deferred.await(room), push(chunk))
      })

    const take: Effect.Effect<AudioChunk, Option.Option<never>> = Effect.suspend(() => {
      const chunk = chunks.shift()
      if (chunk !== undefined) {
        release()
        return Effect.succeed(chunk)
      }
      if (ended) return Effect.fail(Option.none())
      available ??= Deferred.unsafeMake<void>(FiberId.none)
      return Effect.zipRight(Deferred.await(available), take)
    })

    const clearNow = () => {
      const bytes = chunks.reduce((sum, chunk) => sum + chunk.data.byteLength, 0)
      chunks.length = 0
      release()
      return bytes
    }
    const clear = Effect.sync(clearNow)

    const end = Effect.sync(() => {
      ended = true
      wake()
      release()
    })

    // Built when read (most sessions never read it): nothing of it is kept until then.
    const stream = Stream.suspend(() =>
      Stream.unwrapScoped(
        Effect.acquireRelease(
          Effect.sync(() => {
            readers++
          }),
          () =>
            Effect.sync(() => {
              readers--
              if (readers === 0) release()
            })
        ).pipe(Effect.as(Stream.repeatEffectOption(take)))
      )
    )

    return { push, offer, clear, clearNow, end, stream, droppedBytes: () => dropped }
  })
