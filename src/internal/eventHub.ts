/**
 * The event fan-out of a session: one bounded buffer per reader, filled from the session's start.
 *
 * The primary reader (`session.events`) has a buffer from the moment the session is created, so no
 * event is lost before the user starts reading. `subscribe` adds a reader from now on. Publishing
 * waits while any reader's buffer is full (backpressure up to the socket). The last event
 * (`Closed`) is not buffered: every reader's stream ends with it once its buffer is drained.
 */
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

export interface EventHub<A> {
  /** Delivers events to every reader, waiting while a reader's buffer is full. */
  readonly publish: (events: ReadonlyArray<A>) => Effect.Effect<void>
  /** The primary reader: buffered since creation; each event is delivered once. */
  readonly events: Stream.Stream<A>
  /** A new reader of the events published from now on, removed with the scope. */
  readonly subscribe: Effect.Effect<Stream.Stream<A>, never, Scope.Scope>
  /** Ends every reader's stream with `last`, after the events already buffered. */
  readonly end: (last: A) => Effect.Effect<void>
}

export const make = <A>(capacity: number): Effect.Effect<EventHub<A>> =>
  Effect.gen(function*() {
    const primary = yield* Mailbox.make<A>({ capacity })
    const readers = new Set<Mailbox.Mailbox<A>>([primary])
    let last: Stream.Stream<A> | undefined

    /** Takes one event at a time, so a reader that stops early (`takeUntil`) leaves the rest buffered. */
    const streamOf = (mailbox: Mailbox.Mailbox<A>): Stream.Stream<A> =>
      Stream.concat(
        Stream.repeatEffectOption(Effect.mapError(mailbox.take, () => Option.none())),
        Stream.suspend(() => last ?? Stream.empty)
      )

    const publish = (events: ReadonlyArray<A>): Effect.Effect<void> => {
      if (events.length === 0) return Effect.void
      if (readers.size === 1) return Effect.asVoid(primary.offerAll(events))
      return Effect.forEach(readers, (reader) => reader.offerAll(events), { discard: true })
    }

    const subscribe = Effect.suspend(() => {
      if (last !== undefined) return Effect.succeed(last)
      return Effect.acquireRelease(
        Effect.tap(Mailbox.make<A>({ capacity }), (mailbox) => readers.add(mailbox)),
        (mailbox) => Effect.zipRight(Effect.sync(() => readers.delete(mailbox)), mailbox.shutdown)
      ).pipe(Effect.map(streamOf))
    })

    const end = (event: A) =>
      Effect.suspend(() => {
        if (last !== undefined) return Effect.void
        last = Stream.make(event)
        return Effect.forEach(readers, (reader) => reader.end, { discard: true })
      })

    return { publish, events: streamOf(primary), subscribe, end }
  })
