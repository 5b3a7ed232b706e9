/**
 * Forks from callbacks (a socket's, a timer's, the application's) into a scope, with the runtime of
 * the fiber that makes the forker: root fibers bound to the scope (they keep no parent alive, and
 * the scope's close interrupts them), interruptible even when that fiber was not (a forker made in
 * an `acquireRelease`), so that the scope can close.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

export type Fork = <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>

export const make = (scope: Scope.Scope): Effect.Effect<Fork> =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const runFork = Runtime.runFork(runtime)
    return (effect) => runFork(Effect.interruptible(effect), { scope })
  })
