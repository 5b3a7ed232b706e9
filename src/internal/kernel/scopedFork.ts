/**
 * Forks from callbacks (a socket's, a timer's) into a scope, with the runtime of the fiber that made
 * the forker: root fibers the scope's close interrupts, always interruptible so the scope can close.
 * A fiber starts in the forker's call (`immediate`, the default) or on the scheduler.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

/** Forks `effect` into the scope; `R` is what the runtime of the fiber that made the forker provides. */
export type Fork<R = never> = <A, E>(effect: Effect.Effect<A, E, R>) => Fiber.RuntimeFiber<A, E>

export const make = <R = never>(scope: Scope.Scope, options?: { readonly immediate?: boolean }): Effect.Effect<Fork<R>, never, R> =>
  Effect.map(Effect.runtime<R>(), (runtime) => {
    const runFork = Runtime.runFork(runtime)
    const forkOptions = { scope, immediate: options?.immediate ?? true }
    return (effect) => runFork(Effect.interruptible(effect), forkOptions)
  })
