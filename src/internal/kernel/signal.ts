/**
 * A wake-up for fibers waiting until something changes (events arrived, room was made): cheaper
 * than a Deferred made per wait on the hot paths (a Deferred is a large object: its prototype's
 * fields are copied into each one), an `async` callback is not. A class, so that each of the
 * few signals every session holds is one small object (its methods are on the prototype).
 */
import * as Effect from "effect/Effect"

/**
 * What a wait waits for: a condition, or an object that is also told when its fiber starts to wait
 * (not if the condition holds at once) and when it stops, woken or interrupted: state that lives
 * only as long as a wait, with no finalizer around it.
 */
export type Until = (() => boolean) | Waiting

/** A condition with the wait's start and stop (`Until`); methods, so that one object serves every wait. */
export interface Waiting {
  ready(): boolean
  start(): void
  stop(): void
}

const isReady = (until: Until): boolean => (typeof until === "function" ? until() : until.ready())

export class Signal {
  /** The waiting fibers' checks: each resumes its fiber and says `true` once its condition holds. */
  private waiters: Array<() => boolean> | undefined

  /**
   * Suspends until `until` holds, checked when the wait starts and at each `wake`. (Checked at the
   * start, not only before: a fiber may yield between its check and its wait, and a `wake` in
   * between must not be lost.) A fiber interrupted while waiting is forgotten.
   */
  awaitUntil(until: Until): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (isReady(until)) return resume(Effect.void)
      const waiting = typeof until === "function" ? undefined : until
      const waiter = () => {
        if (!isReady(until)) return false
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
