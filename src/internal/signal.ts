/**
 * A wake-up for fibers waiting until something changes (events arrived, room was made): cheaper
 * than a Deferred made per wait on the hot paths (a Deferred is a large object: its prototype's
 * fields are copied into each one), an `async` callback is not.
 */
import * as Effect from "effect/Effect"

export interface Signal {
  /**
   * Suspends until `ready()` holds, checked when the wait starts and at each `wake`. (Checked at
   * the start, not only before: a fiber may yield between its check and its wait, and a `wake` in
   * between must not be lost.) A fiber interrupted while waiting is forgotten.
   */
  readonly awaitUntil: (ready: () => boolean) => Effect.Effect<void>
  /** Lets every waiting fiber look again. */
  readonly wake: () => void
}

export const make = (): Signal => {
  let waiters: Array<() => boolean> = []
  const awaitUntil = (ready: () => boolean): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      if (ready()) return resume(Effect.void)
      const waiter = () => {
        if (!ready()) return false
        resume(Effect.void)
        return true
      }
      waiters.push(waiter)
      return Effect.sync(() => {
        waiters = waiters.filter((other) => other !== waiter)
      })
    })
  const wake = () => {
    if (waiters.length === 0) return
    const waking = waiters
    waiters = []
    for (const waiter of waking) if (!waiter()) waiters.push(waiter)
  }
  return { awaitUntil, wake }
}
