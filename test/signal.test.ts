/**
 * The hot paths' wake-up (`src/internal/kernel/signal.ts`): no wake-up lost, every waiter woken, an
 * interrupted waiter forgotten.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Signal from "../src/internal/kernel/signal.js"

describe("Signal", () => {
  // Others wait for a wake that makes them true.
  it.effect("a true condition does not wait; others wait for a wake", () =>
    Effect.gen(function*() {
      const signal = new Signal.Signal()
      let items = 1
      yield* signal.awaitUntil(() => items > 0)
      items = 0
      const first = yield* Effect.fork(signal.awaitUntil(() => items > 0))
      const second = yield* Effect.fork(signal.awaitUntil(() => items > 1))
      yield* Effect.yieldNow()
      signal.wake()
      yield* Effect.yieldNow()
      expect(first.unsafePoll()).toBeNull()
      items = 1
      signal.wake()
      yield* Fiber.join(first)
      expect(second.unsafePoll()).toBeNull()
      items = 2
      signal.wake()
      yield* Fiber.join(second)
    }))

  it.effect("an interrupted waiter is forgotten", () =>
    Effect.gen(function*() {
      const signal = new Signal.Signal()
      let ready = false
      const waiting = yield* Effect.fork(signal.awaitUntil(() => ready))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiting)
      ready = true
      signal.wake()
      const next = yield* Effect.fork(signal.awaitUntil(() => ready))
      yield* Fiber.join(next)
    }))
})
