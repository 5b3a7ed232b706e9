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
   * between must not be lost.) A fiber interrupted while waiting is forgotten. `waiting`, if given,
   * is told when the fiber starts to wait (not if `ready()` holds at once) and when it stops,
   * woken or interrupted: state that lives only as long as a wait, with no finalizer around it.
   */
  readonly awaitUntil: (ready: () => boolean, waiting?: Waiting) => Effect.Effect<void>
  /** Lets every waiting fiber look again. */
  readonly wake: () => void
}

/** What a wait tells its owner (`Signal.awaitUntil`). */
export interface Waiting {
  readonly start: () => void
  readonly stop: () => void
}

export const make = (): Signal => {
  let waiters: Array<() => boolean> = []
  const awaitUntil = (ready: () => boolean, waiting?: Waiting): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      if (ready()) return resume(Effect.void)
      const waiter = () => {
        if (!ready()) return false
        waiting?.stop()
        resume(Effect.void)
        return true
      }
      waiting?.start()
      waiters.push(waiter)
      return Effect.sync(() => {
        waiters = waiters.filter((other) => other !== waiter)
        waiting?.stop()
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
