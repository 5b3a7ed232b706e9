/**
 * The event hub's `runForEach` and `listen`: events handed straight to a waiting handler, returned
 * effects holding back what follows, failures, interruption; nothing lost or reordered.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Logger, LogLevel, Scope, Stream, Supervisor } from "effect"
import * as EventHub from "../src/internal/events/hub.js"

const hubOf = (capacity = 16) => EventHub.make<number>(capacity, () => false)

/** Lets forked fibers run until they wait. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** Offers synchronously, ignoring backpressure (the tests stay below the capacity). */
const offer = (hub: EventHub.EventHub<number>, ...events: Array<number>) => Effect.sync(() => hub.offer(events))

describe("EventHub.runForEach", () => {
  // After the last event, the read ends.
  it.effect("buffered events, then each published one at once, then last", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      yield* hub.publish([1, 2])
      const reading = yield* Effect.fork(hub.runForEach((event) => void seen.push(event)))
      yield* settle
      expect(seen).toEqual([1, 2])
      // Handed over in the publisher's call, without the reader's fiber running in between.
      hub.offer([3, 4])
      expect(seen).toEqual([1, 2, 3, 4])
      yield* hub.end(99)
      yield* Fiber.join(reading)
      expect(seen).toEqual([1, 2, 3, 4, 99])
    }))

  it.effect("a returned effect holds back later events, in order", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const gate = yield* Deferred.make<void>()
      const seen: Array<number> = []
      const reading = yield* Effect.fork(hub.runForEach((event) => {
        seen.push(event)
        if (event === 1) return Deferred.await(gate)
      }))
      yield* settle
      hub.offer([1, 2, 3])
      hub.offer([4])
      yield* settle
      expect(seen).toEqual([1])
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      expect(seen).toEqual([1, 2, 3, 4])
      // Waiting again: handed over directly.
      hub.offer([5])
      expect(seen).toEqual([1, 2, 3, 4, 5])
      yield* hub.end(99)
      yield* Fiber.join(reading)
      expect(seen).toEqual([1, 2, 3, 4, 5, 99])
    }))

  it.effect("a failure ends the read; the rest stays buffered", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const reading = yield* Effect.fork(hub.runForEach((event) => (event === 2 ? Effect.fail("two" as const) : undefined)))
      yield* settle
      hub.offer([1, 2, 3])
      const exit = yield* Fiber.await(reading)
      expect(exit).toEqual(Exit.fail("two"))
      hub.offer([4])
      yield* hub.end(99)
      const rest = yield* Stream.runCollect(hub.events)
      expect([...rest]).toEqual([3, 4, 99])
    }))

  it.effect("a read stopping mid-buffer leaves the rest buffered", () =>
    Effect.gen(function*() {
      const failing = yield* hubOf()
      yield* failing.publish([1, 2, 3])
      expect(yield* Effect.exit(failing.runForEach((event) => (event === 2 ? Effect.fail("two" as const) : undefined)))).toEqual(
        Exit.fail("two")
      )
      yield* failing.end(99)
      expect([...(yield* Stream.runCollect(failing.events))]).toEqual([3, 99])

      const interrupted = yield* hubOf()
      yield* interrupted.publish([1, 2, 3])
      const reading = yield* Effect.fork(interrupted.runForEach((event) => (event === 1 ? Effect.never : undefined)))
      yield* settle
      yield* Fiber.interrupt(reading)
      yield* interrupted.end(99)
      expect([...(yield* Stream.runCollect(interrupted.events))]).toEqual([2, 3, 99])
    }))

  it.effect("a throw is a defect of the read, not of the publisher", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const boom = new Error("boom")
      const reading = yield* Effect.fork(hub.runForEach((event) => {
        if (event === 1) throw boom
      }))
      yield* settle
      expect(() => hub.offer([1, 2])).not.toThrow()
      const exit = yield* Fiber.await(reading)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe(boom)
      yield* hub.end(99)
      expect([...(yield* Stream.runCollect(hub.events))]).toEqual([2, 99])
    }))

  it.effect("interrupted while waiting: later events buffered, not lost", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      const reading = yield* Effect.fork(hub.runForEach((event) => void seen.push(event)))
      yield* settle
      yield* Fiber.interrupt(reading)
      yield* offer(hub, 1, 2)
      yield* hub.end(99)
      expect(seen).toEqual([])
      expect([...(yield* Stream.runCollect(hub.events))]).toEqual([1, 2, 99])
    }))

  // What a handler publishes comes after the rest of the publication it is handling.
  it.effect("a handler's publication follows the rest of the current one", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      const reading = yield* Effect.fork(hub.runForEach((event) => {
        seen.push(event)
        if (event === 1) hub.offer([10])
      }))
      yield* settle
      hub.offer([1, 2])
      yield* settle
      yield* hub.end(99)
      yield* Fiber.join(reading)
      expect(seen).toEqual([1, 2, 10, 99])
    }))

  // Every reader sees publication order.
  it.scoped("a handler's publication or end reaches all readers in order", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const other = yield* Effect.fork(Stream.runCollect(yield* hub.subscribe))
      const seen: Array<number> = []
      const reading = yield* Effect.fork(hub.runForEach((event) => {
        seen.push(event)
        if (event === 1) {
          hub.offer([10])
          // Given back with more of its publication to come: those come before the 10.
          return Effect.void
        }
        if (event === 3) return hub.end(99)
      }))
      yield* settle
      hub.offer([1, 2])
      yield* settle
      hub.offer([3, 4])
      yield* Fiber.join(reading)
      expect(seen).toEqual([1, 2, 10, 3, 4, 99])
      expect([...(yield* Fiber.join(other))]).toEqual([1, 2, 10, 3, 4, 99])
    }))

  it.effect("a full buffer holds the publisher while an effect runs", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf(2)
      const gate = yield* Deferred.make<void>()
      const seen: Array<number> = []
      yield* Effect.fork(hub.runForEach((event) => {
        seen.push(event)
        if (event === 1) return Deferred.await(gate)
      }))
      yield* settle
      expect(hub.offer([1, 2])).toBeUndefined()
      const wait = hub.offer([3])
      expect(wait).toBeDefined()
      const publisher = yield* Effect.fork(wait!)
      yield* settle
      expect(publisher.unsafePoll()).toBeNull()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(publisher)
      expect(seen).toEqual([1, 2, 3])
    }))

  it.effect("the handler's effects run with the caller's services", () =>
    Effect.gen(function*() {
      class Log extends Context.Tag("Log")<Log, Array<string>>() {}
      const hub = yield* hubOf()
      const log: Array<string> = []
      yield* hub.publish([1])
      yield* hub.end(99)
      yield* hub.runForEach((event) => Effect.flatMap(Log, (lines) => Effect.sync(() => lines.push(`event ${event}`)))).pipe(
        Effect.provideService(Log, log)
      )
      expect(log).toEqual(["event 1", "event 99"])
    }))
})

describe("EventHub.listen", () => {
  /** Listens in a scope of its own, under a supervisor that sees every fiber the listening starts. */
  const listenOn = <R = never>(hub: EventHub.EventHub<number>, handler: (event: number) => Effect.Effect<unknown, never, R> | void) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const supervisor = yield* Supervisor.track
      yield* hub.listen(handler).pipe(Scope.extend(scope), Effect.supervised(supervisor))
      return { scope, fibers: Effect.map(supervisor.value, (running) => running.length) }
    })

  // No fiber runs while it waits.
  it.effect("buffered events, then each published in its call, then last", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      yield* hub.publish([1, 2])
      const { fibers } = yield* listenOn(hub, (event) => void seen.push(event))
      yield* settle
      expect(seen).toEqual([1, 2])
      expect(yield* fibers).toBe(0)
      hub.offer([3, 4])
      expect(seen).toEqual([1, 2, 3, 4])
      expect(yield* fibers).toBe(0)
      yield* hub.end(99)
      yield* settle
      expect(seen).toEqual([1, 2, 3, 4, 99])
      expect(yield* fibers).toBe(0)
      // Over: nothing more is handed over.
      hub.offer([5])
      expect(seen).toEqual([1, 2, 3, 4, 99])
    }))

  // Events wait in order; afterwards it is handed events directly again.
  it.effect("a returned effect holds back later events; then direct again", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const gate = yield* Deferred.make<void>()
      const seen: Array<number> = []
      const { fibers } = yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) return Deferred.await(gate)
      })
      hub.offer([1, 2, 3])
      hub.offer([4])
      yield* settle
      expect(seen).toEqual([1])
      expect(yield* fibers).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      expect(seen).toEqual([1, 2, 3, 4])
      expect(yield* fibers).toBe(0)
      hub.offer([5])
      expect(seen).toEqual([1, 2, 3, 4, 5])
    }))

  // The rest of the publication follows in order.
  it.effect("an effect done at once: the rest of its publication follows", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      const { fibers } = yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) return Effect.void
      })
      hub.offer([1, 2, 3])
      yield* settle
      expect(seen).toEqual([1, 2, 3])
      expect(yield* fibers).toBe(0)
      hub.offer([4])
      expect(seen).toEqual([1, 2, 3, 4])
    }))

  it.effect("the end while an effect runs: the last event after the rest", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const gate = yield* Deferred.make<void>()
      const seen: Array<number> = []
      yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) return Deferred.await(gate)
      })
      hub.offer([1, 2])
      yield* hub.end(99)
      yield* settle
      expect(seen).toEqual([1])
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      expect(seen).toEqual([1, 2, 99])
    }))

  it.effect("a throw or a defect is logged and the events go on", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => void logs.push(String(message)))
      yield* Effect.gen(function*() {
        const hub = yield* hubOf()
        const seen: Array<number> = []
        yield* listenOn(hub, (event) => {
          seen.push(event)
          if (event === 1) throw new Error("boom")
          if (event === 2) return Effect.die("bad")
        })
        hub.offer([1, 2, 3])
        yield* settle
        hub.offer([4])
        yield* settle
        expect(seen).toEqual([1, 2, 3, 4])
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Error))
      expect(logs.filter((line) => line.includes("a session event handler failed"))).toHaveLength(2)
    }))

  it.effect("the scope's close stops it; the rest stays buffered", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      const { scope } = yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) return Effect.never
      })
      hub.offer([1, 2])
      yield* settle
      yield* Scope.close(scope, Exit.void)
      hub.offer([3])
      yield* hub.end(99)
      expect(seen).toEqual([1])
      expect([...(yield* Stream.runCollect(hub.events))]).toEqual([2, 3, 99])
    }))

  // What a handler publishes comes after the rest of the publication it is handling.
  it.effect("a handler's publication follows the rest of the current one", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) hub.offer([10])
      })
      hub.offer([1, 2])
      yield* settle
      expect(seen).toEqual([1, 2, 10])
      hub.offer([3])
      expect(seen).toEqual([1, 2, 10, 3])
    }))

  it.effect("a full buffer holds the publisher while an effect runs", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf(2)
      const gate = yield* Deferred.make<void>()
      const seen: Array<number> = []
      yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) return Deferred.await(gate)
      })
      expect(hub.offer([1, 2])).toBeUndefined()
      const wait = hub.offer([3])
      expect(wait).toBeDefined()
      const publisher = yield* Effect.fork(wait!)
      yield* settle
      expect(publisher.unsafePoll()).toBeNull()
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(publisher)
      yield* settle
      expect(seen).toEqual([1, 2, 3])
    }))

  // It would run after the close: its fiber starts on the scheduler.
  it.effect("an effect handed over before the scope closes does not run", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      let closed = false
      let ranAfterClose = false
      const { scope } = yield* listenOn(hub, (event) => {
        if (event === 1) return Effect.sync(() => void (ranAfterClose = closed))
      })
      // Handed over: its fiber is started on the scheduler, after the close below.
      hub.offer([1])
      yield* Scope.close(scope, Exit.void)
      closed = true
      yield* settle
      expect(ranAfterClose).toBe(false)
    }))

  // The rest of the publication and its effects come before the last event.
  it.effect("a handler ending the hub: its publication, then the last", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      let ran = false
      yield* listenOn(hub, (event) => {
        seen.push(event)
        if (event === 1) Effect.runSync(hub.end(99))
        if (event === 2) return Effect.sync(() => void (ran = true))
      })
      hub.offer([1, 2])
      yield* settle
      expect(seen).toEqual([1, 2, 99])
      expect(ran).toBe(true)
    }))

  // The last event is handed over in the call that ends the hub.
  it.effect("the end while it waits: last handed over in the ending call", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const seen: Array<number> = []
      yield* listenOn(hub, (event) => void seen.push(event))
      hub.offer([1])
      Effect.runSync(hub.end(99))
      expect(seen).toEqual([1, 99])
    }))

  // It does not take the listen's place, and nothing stalls.
  it.effect("a runForEach alongside gets every event and the end", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf(2)
      const seen: Array<number> = []
      const other: Array<number> = []
      yield* listenOn(hub, (event) => void seen.push(event))
      const reading = yield* Effect.fork(hub.runForEach((event) => void other.push(event)))
      yield* settle
      expect(hub.offer([1, 2])).toBeUndefined()
      yield* Fiber.interrupt(reading)
      expect(hub.offer([3, 4])).toBeUndefined()
      yield* hub.end(99)
      expect(seen).toEqual([1, 2, 3, 4, 99])
      expect(other).toEqual([])
    }))

  // After the first one's scope closes, another may listen.
  it.effect("one at a time: a second listen is a defect", () =>
    Effect.gen(function*() {
      const hub = yield* hubOf()
      const first = yield* listenOn(hub, () => {})
      const exit = yield* Effect.exit(listenOn(hub, () => {}))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      yield* Scope.close(first.scope, Exit.void)
      const seen: Array<number> = []
      yield* listenOn(hub, (event) => void seen.push(event))
      hub.offer([1])
      expect(seen).toEqual([1])
    }))

  it.effect("the handler's effects get the listening fiber's services", () =>
    Effect.gen(function*() {
      class Log extends Context.Tag("Log")<Log, Array<string>>() {}
      const hub = yield* hubOf()
      const log: Array<string> = []
      yield* listenOn(hub, (event) => Effect.flatMap(Log, (lines) => Effect.sync(() => lines.push(`event ${event}`)))).pipe(
        Effect.provideService(Log, log)
      )
      hub.offer([1])
      yield* hub.end(99)
      yield* settle
      expect(log).toEqual(["event 1", "event 99"])
    }))
})
