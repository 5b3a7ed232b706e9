/**
 * A wake-up for fibers waiting until a condition holds (events arrived, room was made): on the hot
 * paths, lighter than a Deferred per wait. See docs/performance.md.
 */
import * as Effect from "effect/Effect"

/** What a wait waits for: a condition, or a `Waiting` also told when the wait starts and stops. */
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
   * Suspends until `until` holds, checked when the wait starts (so a `wake` just before is not lost)
   * and at each `wake`. A fiber interrupted while waiting is forgotten.
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
