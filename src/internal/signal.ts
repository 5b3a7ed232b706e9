/**
 * A wake-up for fibers waiting until something changes (events arrived, room was made): cheaper
 * than a Deferred made per wait on the hot paths (a Deferred is a large object: its prototype's
 * fields are copied into each one), an `async` callback is not. A class, so that each of the
 * few signals every session holds is one small object (its methods are on the prototype).
 */
import * as Effect from "effect/Effect"

/** What a wait tells its owner (`Signal.awaitUntil`). */
export interface Waiting {
  readonly start: () => void
  readonly stop: () => void
}

export class Signal {
  /** The waiting fibers' checks: each resumes its fiber and says `true` once its condition holds. */
  private waiters: Array<() => boolean> | undefined

  /**
   * Suspends until `ready()` holds, checked when the wait starts and at each `wake`. (Checked at
   * the start, not only before: a fiber may yield between its check and its wait, and a `wake` in
   * between must not be lost.) A fiber interrupted while waiting is forgotten. `waiting`, if given,
   * is told when the fiber starts to wait (not if `ready()` holds at once) and when it stops,
   * woken or interrupted: state that lives only as long as a wait, with no finalizer around it.
   */
  awaitUntil(ready: () => boolean, waiting?: Waiting): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (ready()) return resume(Effect.void)
      const waiter = () => {
        if (!ready()) return false
        waiting?.stop()
        resume(Effect.void)
        return true
      }
      waiting?.start()
      ;(this.waiters ??= []).push(waiter)
      return Effect.sync(() => {
        this.waiters = this.waiters?.filter((other) => other !== waiter)
        waiting?.stop()
      })
    })
  }

  /** Lets every waiting fiber look again. */
  wake(): void {
    const waking = this.waiters
    if (waking === undefined || waking.length === 0) return
    this.waiters = undefined
    for (const waiter of waking) if (!waiter()) (this.waiters ??= []).push(waiter)
  }
}

export const make = (): Signal => new Signal()
