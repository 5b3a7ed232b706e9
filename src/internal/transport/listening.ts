/**
 * How a `Listener` is run (`Transport.listen`): each step guarded (a failure is logged, reading goes
 * on), and `frames` read in a fiber for a connection without a `listen` of its own.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection, Frame, Listener } from "../../Transport.js"
import * as ScopedFork from "../kernel/scopedFork.js"

/** One step of a listener: a failure is logged and reading goes on (the fiber's interruption still stops it). */
export const guarded = (step: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.catchAllCause(step, (cause) => Effect.logError("effect-gemini-live: a connection listener failed; the reading goes on", cause))

/** Calls `listener.frame`; a throw becomes a defect of the step (logged by `guarded`). */
export const frameStep = (listener: Listener, frame: Frame): Effect.Effect<void> | undefined => {
  try {
    return listener.frame(frame)
  } catch (error) {
    return Effect.die(error)
  }
}

/** Reads `connection.frames` with `listener`, then tells it the close, in a fiber of the scope. */
export const readFrames = (connection: Connection, listener: Listener): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Effect.map(ScopedFork.make(scope), (fork) => {
      fork(
        Stream.runForEach(connection.frames, (frame) => guarded(Effect.suspend(() => frameStep(listener, frame) ?? Effect.void))).pipe(
          Effect.zipRight(Effect.flatMap(connection.closed, (info) => guarded(Effect.suspend(() => listener.closed(info)))))
        )
      )
    }))
