/**
 * The event fan-out of a session: one bounded buffer per reader. The primary reader
 * (`session.events`) buffers from the session's start; `subscribe` adds readers from now on.
 * Publishing appends to every buffer synchronously, then waits while one is full (backpressure up
 * to the socket). The last event (`Closed`) is not buffered: each stream ends with it once drained.
 *
 * Streams take a chunk at a time; a chunk ends after each event `endsChunk` picks and at a read's
 * first event, so a reader stopping there leaves the rest for its next read. `runForEach` and
 * `listen` take events straight from the publisher while they have nothing to wait for.
 *
 * A class, so its methods live on the prototype rather than in closures per session.
 */
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ScopedFork from "../kernel/scopedFork.js"
import * as Signal from "../kernel/signal.js"

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

const makeReader = <A>(): Reader<A> => ({
  items: [],
  ended: false,
  available: new Signal.Signal(),
  room: new Signal.Signal(),
  direct: undefined
})

/** A handler taking a reader's events as they are published: a waiting `runForEach`, or a `listen`. */
interface Direct<A> {
  readonly handler: (event: A) => Effect.Effect<unknown, unknown, unknown> | void
  /**
   * The handler gave back `effect` (or threw) when called directly, and the reader is no longer
   * direct: `effect` runs next, then what comes meanwhile, in order, from the buffer.
   */
  handOver(effect: Effect.Effect<unknown, unknown, unknown>): void
  /** The reader ended while the handler was direct: the last event is due. */
  ended(): void
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

/** A read of a reader's buffer by a stream: its state is per run of the stream. */
interface Read {
  /** No event taken yet: the first goes alone. */
  first: boolean
  /** `last` has been delivered (the end of this read). */
  done: boolean
}

export class EventHub<A> {
  /** The primary reader (`events`, `runForEach`): buffered since creation. */
  private readonly primary: Reader<A> = makeReader()
  /** The readers added by `subscribe` (made at the first). */
  private subscribers: Set<Reader<A>> | undefined
  /** The last event, once the hub has ended. */
  private lastEvent: { readonly value: A } | undefined
  /** A handler is being called: what it publishes meanwhile is buffered, after what it is handed. */
  private delivering = false
  /** The `listen` reading the primary buffer, until its scope closes or it has handed over the last event. */
  private listening: Listening<A> | undefined

  /** The primary reader: buffered since creation; each event is delivered once. */
  readonly events: Stream.Stream<A>

  /** A new reader of the events published from now on, removed with the scope. */
  readonly subscribe: Effect.Effect<Stream.Stream<A>, never, Scope.Scope>

  constructor(
    private readonly capacity: number,
    /** Which events end a chunk of a stream read (turn boundaries, tool calls, ...). */
    private readonly endsChunk: (event: A) => boolean
  ) {
    this.events = this.streamOf(this.primary)
    this.subscribe = Effect.suspend(() => this.addSubscriber())
  }

  /**
   * `publish` for callers outside a fiber (the socket's reader, the media timer): delivers now and
   * gives back what to wait on while a buffer is full (usually `undefined`).
   */
  offer(events: ReadonlyArray<A>): Effect.Effect<void> | undefined {
    if (events.length === 0) return undefined
    const primary = this.primary
    let full: Array<Reader<A>> | undefined
    if (this.subscribers !== undefined) {
      for (const reader of this.subscribers) if (!reader.ended) full = this.append(reader, events, 0, full)
    }
    if (!primary.ended) {
      const direct = primary.direct
      if (direct === undefined || primary.items.length > 0 || this.delivering) {
        full = this.append(primary, events, 0, full)
      } else {
        // A direct handler with an empty buffer, after the other readers.
        const from = this.deliver(primary, direct, events)
        if (from < events.length) {
          // Before anything the handler published meanwhile.
          const published = primary.items
          primary.items = []
          full = this.append(primary, events, from, full)
          for (const event of published) primary.items.push(event)
        }
      }
      // What a handler published meanwhile is buffered: the handler takes it from there.
      const late = primary.direct
      if (late !== undefined && primary.items.length > 0 && !this.delivering) {
        primary.direct = undefined
        late.handOver(Effect.void)
      }
    }
    if (full === undefined) return undefined
    return full.length === 1 ? this.awaitRoom(full[0]) : Effect.forEach(full, (reader) => this.awaitRoom(reader), { discard: true })
  }

  /** Delivers events to every reader, waiting while a reader's buffer is full. */
  publish(events: ReadonlyArray<A>): Effect.Effect<void> {
    return Effect.suspend(() => this.offer(events) ?? Effect.void)
  }

  /**
   * Calls `handler` on each event of the primary buffer, `last` included; while waiting, directly
   * from the publisher. A returned effect holds back what follows; a throw ends the read (a defect).
   */
  runForEach<X = void, E = never, R = never>(handler: (event: A) => Effect.Effect<X, E, R> | void): Effect.Effect<void, E, R> {
    return Effect.suspend(() => new ForEachRead(this, this.primary, handler).step) as Effect.Effect<void, E, R>
  }

  /**
   * `runForEach` with no fiber of its own, until the scope closes: a returned effect runs in a fiber
   * of the scope, then what came meanwhile. Failures are logged. One at a time (a second is a defect).
   */
  listen<R = never>(handler: (event: A) => Effect.Effect<unknown, never, R> | void): Effect.Effect<void, never, Scope.Scope | R> {
    return Effect.suspend(() => {
      // It has no fiber to be woken by: two could not share the buffer's direct handler.
      if (this.listening !== undefined) {
        return Effect.dieMessage("effect-gemini-live: session.listen: another listen is reading the events (use subscribe for a second reader)")
      }
      return Effect.flatMap(Effect.scope, (scope) =>
        // Fibers start on the scheduler, so a publication buffers what the handler did not take first.
        Effect.flatMap(ScopedFork.make<R>(scope, { immediate: false }), (fork) => {
          const listening = new Listening(this, this.primary, handler as Direct<A>["handler"], fork)
          return Effect.zipRight(
            Effect.sync(() => {
              this.listening = listening
              listening.start()
            }),
            Scope.addFinalizer(scope, Effect.sync(() => listening.stop()))
          )
        }))
    })
  }

  /** A handler is being handed events (what it publishes or ends comes after them). */
  isDelivering(): boolean {
    return this.delivering
  }

  /** `listening` reads no more (its scope closed, or it has handed over the last event). */
  listenerGone(listening: Listening<A>): void {
    if (this.listening === listening) this.listening = undefined
  }

  /** Ends every reader's stream with `last`, after the events already buffered. */
  end(last: A): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.lastEvent !== undefined) return
      this.lastEvent = { value: last }
      this.endReader(this.primary)
      if (this.subscribers !== undefined) for (const reader of this.subscribers) this.endReader(reader)
    })
  }

  /** The last event, once the hub has ended. */
  last(): { readonly value: A } | undefined {
    return this.lastEvent
  }

  /** `reader` took events out of its buffer: publishers waiting for room look again. */
  took(reader: Reader<A>): void {
    if (reader.items.length < this.capacity) reader.room.wake()
  }

  private endReader(reader: Reader<A>): void {
    reader.ended = true
    reader.available.wake()
    reader.room.wake()
    reader.direct?.ended()
  }

  private hasRoom(reader: Reader<A>): boolean {
    return reader.items.length < this.capacity || reader.ended
  }

  /** Waits until `reader` has room (or is gone), however many publishers wait with it. */
  private awaitRoom(reader: Reader<A>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.hasRoom(reader)) return Effect.void
      return Effect.zipRight(reader.room.awaitUntil(() => this.hasRoom(reader)), this.awaitRoom(reader))
    })
  }

  /** Appends `events` from `from` on to `reader`'s buffer; adds the reader to `full` when it is. */
  private append(reader: Reader<A>, events: ReadonlyArray<A>, from: number, full: Array<Reader<A>> | undefined) {
    for (let index = from; index < events.length; index++) reader.items.push(events[index])
    reader.available.wake()
    return reader.items.length >= this.capacity ? [...(full ?? []), reader] : full
  }

  /** Hands `events` to a direct handler up to the first that returns an effect; gives the count handed. */
  private deliver(reader: Reader<A>, direct: Direct<A>, events: ReadonlyArray<A>): number {
    this.delivering = true
    try {
      for (let index = 0; index < events.length; index++) {
        const pending = callHandler(direct.handler, events[index])
        if (pending !== undefined) {
          reader.direct = undefined
          direct.handOver(pending)
          return index + 1
        }
        // The handler ended the hub, or closed its own scope: the rest goes to the buffer.
        if (reader.direct !== direct) return index + 1
      }
      return events.length
    } finally {
      this.delivering = false
    }
  }

  /** The next chunk (up to an event that ends one; a read's first alone), then `last`, then `undefined`. */
  private take(reader: Reader<A>, read: Read): Effect.Effect<Chunk.Chunk<A> | undefined> {
    return Effect.suspend(() => {
      const items = reader.items
      if (items.length === 0) {
        if (!reader.ended) {
          return Effect.zipRight(reader.available.awaitUntil(() => reader.items.length > 0 || reader.ended), this.take(reader, read))
        }
        if (read.done || this.lastEvent === undefined) return Effect.succeed(undefined)
        read.done = true
        return Effect.succeed(Chunk.of(this.lastEvent.value))
      }
      let count = 1
      if (!read.first) {
        while (count < items.length && !this.endsChunk(items[count - 1])) count++
      }
      read.first = false
      const chunk = count === items.length ? items : items.splice(0, count)
      if (chunk === items) reader.items = []
      this.took(reader)
      return Effect.succeed(Chunk.unsafeFromArray(chunk))
    })
  }

  /** A reader's stream: a hand-written channel, lighter than `Stream.repeatEffectChunkOption`. */
  private streamOf(reader: Reader<A>): Stream.Stream<A> {
    return Stream.fromChannel(Channel.suspend(() => {
      const read: Read = { first: true, done: false }
      const loop: Channel.Channel<Chunk.Chunk<A>> = Channel.flatMap(
        Channel.fromEffect(this.take(reader, read)),
        (chunk) => (chunk === undefined ? Channel.void : Channel.zipRight(Channel.write(chunk), loop))
      )
      return loop
    }))
  }

  private addSubscriber(): Effect.Effect<Stream.Stream<A>, never, Scope.Scope> {
    if (this.lastEvent !== undefined) return Effect.succeed(Stream.make(this.lastEvent.value))
    return Effect.acquireRelease(
      Effect.sync(() => {
        const reader = makeReader<A>()
        ;(this.subscribers ??= new Set()).add(reader)
        return reader
      }),
      (reader) =>
        Effect.sync(() => {
          this.subscribers?.delete(reader)
          reader.items = []
          this.endReader(reader)
        })
    ).pipe(Effect.map((reader) => this.streamOf(reader)))
  }
}

/** One `runForEach`: while its fiber waits (`start`/`stop`, from the signal), events go straight to the handler. */
class ForEachRead<A> implements Direct<A>, Signal.Waiting {
  private pending: Effect.Effect<unknown, unknown, unknown> | undefined = undefined
  readonly step: Effect.Effect<unknown, unknown, unknown>

  constructor(
    private readonly hub: EventHub<A>,
    private readonly reader: Reader<A>,
    readonly handler: (event: A) => Effect.Effect<unknown, unknown, unknown> | void
  ) {
    this.step = Effect.suspend(() => this.next())
  }

  handOver(effect: Effect.Effect<unknown, unknown, unknown>): void {
    this.pending = effect
    this.reader.available.wake()
  }

  ended(): void {
    // The read's fiber is woken by the buffer's end, and takes `last` itself.
  }

  start(): void {
    // Not over a `listen` (it has no fiber to be woken): then this read takes what it buffers.
    if (this.reader.direct === undefined) this.reader.direct = this
  }

  stop(): void {
    if (this.reader.direct === this) this.reader.direct = undefined
  }

  ready(): boolean {
    return this.pending !== undefined || this.reader.items.length > 0 || this.reader.ended
  }

  private next(): Effect.Effect<unknown, unknown, unknown> {
    const { reader, step } = this
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      return Effect.zipRight(pending, step)
    }
    // One at a time, so a read that stops leaves the rest buffered.
    while (reader.items.length > 0) {
      const event = reader.items.shift()!
      this.hub.took(reader)
      const wait = callHandler(this.handler, event)
      if (wait !== undefined) return Effect.zipRight(wait, step)
    }
    if (reader.ended) {
      const last = this.hub.last()
      return last === undefined ? Effect.void : callHandler(this.handler, last.value) ?? Effect.void
    }
    return Effect.zipRight(reader.available.awaitUntil(this), step)
  }
}

/** One `listen`: direct while idle; otherwise a fiber of its scope runs the wait, then the buffer. */
class Listening<A> implements Direct<A> {
  /** Its scope has closed. */
  private stopped = false
  /** The last event has been handed over: the reading is over. */
  private done = false
  /** A fiber of the listening is running (or about to): it takes the events (and it is not direct). */
  private busy = false

  constructor(
    private readonly hub: EventHub<A>,
    private readonly reader: Reader<A>,
    readonly handler: (event: A) => Effect.Effect<unknown, unknown, unknown> | void,
    private readonly fork: ScopedFork.Fork
  ) {}

  /** Starts: the events already buffered (or the end) first, in a fiber; otherwise direct at once. */
  start(): void {
    if (this.reader.items.length > 0 || this.reader.ended) this.run(undefined)
    else this.reader.direct = this
  }

  /** The scope closed: no more events (its fiber, if any, is interrupted with the scope). */
  stop(): void {
    this.stopped = true
    if (this.reader.direct === this) this.reader.direct = undefined
    this.hub.listenerGone(this)
  }

  handOver(effect: Effect.Effect<unknown, unknown, unknown>): void {
    this.run(effect)
  }

  ended(): void {
    this.reader.direct = undefined
    // Events still to hand over (buffered, being taken, or mid-publication): a fiber ends after them.
    if (this.busy || this.reader.items.length > 0 || this.hub.isDelivering()) return this.run(undefined)
    // Nothing waits: the last event is handed over now, as the others were.
    const wait = this.handLast()
    if (wait !== undefined) this.run(wait)
  }

  /** Has a fiber run `first` (a handler's effect, or nothing), then the buffer; one at a time. */
  private run(first: Effect.Effect<unknown, unknown, unknown> | undefined): void {
    if (this.stopped || this.busy) return
    this.busy = true
    // Checked when the fiber starts: it starts on the scheduler, and the scope may have closed by then.
    this.fork(Effect.suspend(() => {
      if (this.stopped) return Effect.void
      return first === undefined ? this.next() : Effect.zipRight(guarded(first), Effect.suspend(() => this.next()))
    }))
  }

  private next(): Effect.Effect<void> {
    const reader = this.reader
    while (!this.stopped && !this.done && reader.items.length > 0) {
      const event = reader.items.shift()!
      this.hub.took(reader)
      const wait = callHandler(this.handler, event)
      if (wait !== undefined) return Effect.zipRight(guarded(wait), Effect.suspend(() => this.next()))
    }
    this.busy = false
    if (this.stopped || this.done) return Effect.void
    if (reader.ended) {
      const wait = this.handLast()
      return wait === undefined ? Effect.void : guarded(wait)
    }
    reader.direct = this
    return Effect.void
  }

  /** Hands over the last event: the reading is over. Gives back what to wait for, if anything. */
  private handLast(): Effect.Effect<unknown, unknown, unknown> | undefined {
    this.done = true
    this.hub.listenerGone(this)
    const last = this.hub.last()
    return last === undefined ? undefined : callHandler(this.handler, last.value)
  }
}

/** A step of a `listen`: a failure is logged, and the reading goes on. */
const guarded = (step: Effect.Effect<unknown, unknown, unknown>): Effect.Effect<void> =>
  Effect.catchAllCause(
    Effect.asVoid(step as Effect.Effect<unknown, unknown>),
    (cause) => Effect.logError("effect-gemini-live: a session event handler failed; the events go on", cause)
  )

/** Makes a hub whose readers each buffer up to `capacity` events; `endsChunk` ends a stream read's chunk. */
export const make = <A>(capacity: number, endsChunk: (event: A) => boolean): Effect.Effect<EventHub<A>> =>
  Effect.sync(() => new EventHub(capacity, endsChunk))
