/**
 * The event fan-out of a session: one bounded buffer per reader, filled from the session's start.
 *
 * The primary reader (`session.events`) has a buffer from the moment the session is created, so no
 * event is lost before the user starts reading. `subscribe` adds a reader from now on. Publishing
 * appends to every reader's buffer at once (in order, synchronously), then waits while a reader's
 * buffer is full (backpressure up to the socket): a buffer holds at most its capacity plus what one
 * publication adds (plus what an `offer` whose wait is not waited for adds: the session's timed
 * `MediaEnded`, one per stretch of speech). The last event (`Closed`) is not buffered: every
 * reader's stream ends with it once its buffer is drained.
 *
 * Readers take events a chunk at a time (one stream step for many events, not one each), and a chunk
 * ends after every event that `endsChunk` picks (turn boundaries, tool calls, ...) and at the first
 * event of each read: a reader that stops at such an event (`Stream.takeUntil`, `Stream.take(1)`)
 * leaves what follows buffered for its next read.
 *
 * `runForEach` reads the primary buffer without a stream: while it waits for events, publishing
 * calls its handler directly (no buffer, no fiber wake-up); an effect the handler gives back is run
 * by its fiber, and the events that come meanwhile wait in the buffer, in order, as for a stream.
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Signal from "./signal.js"

export interface EventHub<A> {
  /** Delivers events to every reader, waiting while a reader's buffer is full. */
  readonly publish: (events: ReadonlyArray<A>) => Effect.Effect<void>
  /**
   * Delivers events to every reader now; gives back what to wait on while a reader's buffer is full
   * (`undefined`, usually: nothing to wait for). The synchronous form of `publish`, for callers
   * outside a fiber: the socket's reader, the media timer.
   */
  readonly offer: (events: ReadonlyArray<A>) => Effect.Effect<void> | undefined
  /** The primary reader: buffered since creation; each event is delivered once. */
  readonly events: Stream.Stream<A>
  /** A new reader of the events published from now on, removed with the scope. */
  readonly subscribe: Effect.Effect<Stream.Stream<A>, never, Scope.Scope>
  /**
   * Reads the primary buffer as `events` does, calling `handler` on each event, `last` included,
   * then ends. While it waits, events are handed to `handler` as they are published, synchronously;
   * when `handler` gives back an effect, what follows waits for it. A handler that throws ends the
   * read with that defect (the session goes on).
   */
  readonly runForEach: <X = void, E = never, R = never>(handler: (event: A) => Effect.Effect<X, E, R> | void) => Effect.Effect<void, E, R>
  /** Ends every reader's stream with `last`, after the events already buffered. */
  readonly end: (last: A) => Effect.Effect<void>
}

/** One reader's buffer, with the wake-ups of its taker and of the publishers waiting for room. */
interface Reader<A> {
  items: Array<A>
  ended: boolean
  /** Woken when events arrive or the buffer ends (the taker waits on it). */
  readonly available: Signal.Signal
  /** Woken when the buffer has room again, or the reader is gone (publishers wait on it). */
  readonly room: Signal.Signal
  /** A `runForEach` waiting for events: published ones go straight to it while the buffer is empty. */
  direct: Direct<A> | undefined
}

/** A `runForEach` of a reader. */
interface Direct<A> {
  readonly handler: (event: A) => Effect.Effect<unknown, unknown, unknown> | void
  /** What the handler gave back (or threw) when called directly: the read's fiber runs it next. */
  pending: Effect.Effect<unknown, unknown, unknown> | undefined
}

/** Calls `handler`; gives back the effect to wait for, if any (a throw becomes a defect). */
const callHandler = <A>(
  handler: (event: A) => Effect.Effect<unknown, unknown, unknown> | void,
  event: A
): Effect.Effect<unknown, unknown, unknown> | undefined => {
  try {
    const result = handler(event)
    return result !== undefined && Effect.isEffect(result) ? result : undefined
  } catch (defect) {
    return Effect.die(defect)
  }
}

export const make = <A>(capacity: number, endsChunk: (event: A) => boolean): Effect.Effect<EventHub<A>> =>
  Effect.sync(() => {
    const makeReader = (): Reader<A> => ({
      items: [],
      ended: false,
      available: Signal.make(),
      room: Signal.make(),
      direct: undefined
    })
    const primary = makeReader()
    const readers = new Set<Reader<A>>([primary])
    /** The last event, once the hub has ended. */
    let lastEvent: { readonly value: A } | undefined

    const wakeTaker = (reader: Reader<A>) => reader.available.wake()
    const releasePublishers = (reader: Reader<A>) => reader.room.wake()

    const hasRoom = (reader: Reader<A>) => reader.items.length < capacity || reader.ended || !readers.has(reader)

    /** Waits until `reader` has room (or is gone), however many publishers wait with it. */
    const awaitRoom = (reader: Reader<A>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (hasRoom(reader)) return Effect.void
        return Effect.zipRight(reader.room.awaitUntil(() => hasRoom(reader)), awaitRoom(reader))
      })

    /** Appends `events` from `from` on to `reader`'s buffer; adds the reader to `full` when it is. */
    const append = (reader: Reader<A>, events: ReadonlyArray<A>, from: number, full: Array<Reader<A>> | undefined) => {
      for (let index = from; index < events.length; index++) reader.items.push(events[index])
      wakeTaker(reader)
      return reader.items.length >= capacity ? [...(full ?? []), reader] : full
    }

    const offer = (events: ReadonlyArray<A>): Effect.Effect<void> | undefined => {
      if (events.length === 0) return undefined
      let full: Array<Reader<A>> | undefined
      /** The reader whose `runForEach` waits with an empty buffer: handed the events after the others have them. */
      let waiting: Reader<A> | undefined
      for (const reader of readers) {
        if (reader.ended) continue
        if (reader.direct !== undefined && reader.items.length === 0 && !delivering) waiting = reader
        else full = append(reader, events, 0, full)
      }
      if (waiting !== undefined) {
        const from = deliver(waiting, waiting.direct!, events)
        if (from < events.length) {
          // Before anything the handler published meanwhile.
          const published = waiting.items
          waiting.items = []
          full = append(waiting, events, from, full)
          for (const event of published) waiting.items.push(event)
        }
      }
      if (full === undefined) return undefined
      return full.length === 1 ? awaitRoom(full[0]) : Effect.forEach(full, awaitRoom, { discard: true })
    }

    /** A handler is being called: what it publishes meanwhile is buffered, after what it is handed. */
    let delivering = false

    /**
     * Hands `events` to a waiting `runForEach`'s handler, up to the first that gives back an effect
     * (then its fiber takes over); gives back how many were handed over.
     */
    const deliver = (reader: Reader<A>, direct: Direct<A>, events: ReadonlyArray<A>): number => {
      delivering = true
      try {
        for (let index = 0; index < events.length; index++) {
          const pending = callHandler(direct.handler, events[index])
          if (pending !== undefined) {
            reader.direct = undefined
            direct.pending = pending
            wakeTaker(reader)
            return index + 1
          }
        }
        return events.length
      } finally {
        delivering = false
      }
    }

    const publish = (events: ReadonlyArray<A>): Effect.Effect<void> => Effect.suspend(() => offer(events) ?? Effect.void)

    /** A read of `reader`'s buffer: its state is per run of the stream. */
    interface Read {
      /** No event taken yet: the first goes alone. */
      first: boolean
      /** `last` has been delivered (the end of this read). */
      done: boolean
    }

    /**
     * The next chunk: up to and including the first event that ends a chunk (one event alone for a
     * read's first); once the buffer has ended and is drained, `last` on its own, then `undefined`
     * (the end).
     */
    const take = (reader: Reader<A>, read: Read): Effect.Effect<Chunk.Chunk<A> | undefined> =>
      Effect.suspend(() => {
        const items = reader.items
        if (items.length === 0) {
          if (!reader.ended) {
            return Effect.zipRight(reader.available.awaitUntil(() => reader.items.length > 0 || reader.ended), take(reader, read))
          }
          if (read.done || lastEvent === undefined) return Effect.succeed(undefined)
          read.done = true
          return Effect.succeed(Chunk.of(lastEvent.value))
        }
        let count = 1
        if (!read.first) {
          while (count < items.length && !endsChunk(items[count - 1])) count++
        }
        read.first = false
        const chunk = count === items.length ? items : items.splice(0, count)
        if (chunk === items) reader.items = []
        if (reader.items.length < capacity) releasePublishers(reader)
        return Effect.succeed(Chunk.unsafeFromArray(chunk))
      })

    /**
     * A reader's stream: a channel written by hand (take a chunk, write it, again), which weighs less
     * on each of its consumers than `Stream.repeatEffectChunkOption`.
     */
    const streamOf = (reader: Reader<A>): Stream.Stream<A> =>
      Stream.fromChannel(Channel.suspend(() => {
        const read: Read = { first: true, done: false }
        const loop: Channel.Channel<Chunk.Chunk<A>> = Channel.flatMap(
          Channel.fromEffect(take(reader, read)),
          (chunk) => (chunk === undefined ? Channel.void : Channel.zipRight(Channel.write(chunk), loop))
        )
        return loop
      }))

    const runForEach = <X = void, E = never, R = never>(handler: (event: A) => Effect.Effect<X, E, R> | void): Effect.Effect<void, E, R> =>
      Effect.suspend(() => {
        const reader = primary
        const direct: Direct<A> = { handler, pending: undefined }
        /** While the read waits (and only then: no finalizer), events published go straight to the handler. */
        const waiting = {
          start: () => {
            reader.direct = direct
          },
          stop: () => {
            if (reader.direct === direct) reader.direct = undefined
          }
        }
        const ready = () => direct.pending !== undefined || reader.items.length > 0 || reader.ended
        const step: Effect.Effect<unknown, unknown, unknown> = Effect.suspend(() => {
          const pending = direct.pending
          if (pending !== undefined) {
            direct.pending = undefined
            return Effect.zipRight(pending, step)
          }
          // One event at a time out of the buffer: if the read stops (a failure, an interruption),
          // what it has not taken stays there for the next read.
          while (reader.items.length > 0) {
            const event = reader.items.shift()!
            if (reader.items.length < capacity) releasePublishers(reader)
            const wait = callHandler(direct.handler, event)
            if (wait !== undefined) return Effect.zipRight(wait, step)
          }
          if (reader.ended) {
            return lastEvent === undefined ? Effect.void : callHandler(direct.handler, lastEvent.value) ?? Effect.void
          }
          return Effect.zipRight(reader.available.awaitUntil(ready, waiting), step)
        })
        return step as Effect.Effect<void, E, R>
      })

    const subscribe = Effect.suspend(() => {
      if (lastEvent !== undefined) return Effect.succeed(Stream.make(lastEvent.value))
      return Effect.acquireRelease(
        Effect.sync(() => {
          const reader = makeReader()
          readers.add(reader)
          return reader
        }),
        (reader) =>
          Effect.sync(() => {
            readers.delete(reader)
            reader.ended = true
            reader.items = []
            wakeTaker(reader)
            releasePublishers(reader)
          })
      ).pipe(Effect.map(streamOf))
    })

    const end = (event: A) =>
      Effect.sync(() => {
        if (lastEvent !== undefined) return
        lastEvent = { value: event }
        for (const reader of readers) {
          reader.ended = true
          wakeTaker(reader)
          releasePublishers(reader)
        }
      })

    return { publish, offer, events: streamOf(primary), runForEach, subscribe, end }
  })
