/**
 * The supervisor: what happens when a link ends. An unexpected close reconnects per the
 * ReconnectPolicy (`Reconnecting`); a `goAway` opens the next link at a safe point and switches to it
 * (`Switching`); either way the new link resumes with the latest handle and, with transparent
 * resumption, is sent again what the server had not consumed. One fiber at a time, in a FiberHandle.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberHandle from "effect/FiberHandle"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type { LiveError, SessionClosed } from "../../LiveError.js"
import * as LiveEvent from "../../LiveEvent.js"
import type * as Transport from "../../Transport.js"
import * as Calls from "./calls.js"
import * as Link from "./link.js"
import * as Receive from "./receive.js"
import * as Resumption from "./resumption.js"
import * as Send from "./send.js"
import type { Session } from "./session.js"
import * as State from "./state.js"

/** A new link, and what transparent resumption sent again on it. */
interface Resumed {
  readonly link: Link.Link
  /** Resumed with a handle (or a fresh conversation). */
  readonly resumed: boolean
  /** The index of the first message sent again on the link. */
  readonly resentFrom: number
  /** Client messages sent again. */
  readonly resent: number
  /** Client messages the server may not have consumed that were not sent again (too old for the log, or a fresh start). */
  readonly lost: number
}

/** Opens a link whose frames and close the session handles. */
export const connect = (session: Session, resumeWith: string | undefined): Effect.Effect<Link.Link, LiveError> =>
  Link.connect(session, resumeWith, (link) => ({
    frame: (frame) => Receive.handleFrame(session, link, frame, startHandover),
    closed: (info) => Effect.ensuring(linkClosed(session, link, info), Scope.close(link.scope, Exit.void))
  }))

/** A link's connection closed: tell the application, then decide for the session. */
const linkClosed = (session: Session, link: Link.Link, info: Transport.CloseInfo): Effect.Effect<void> =>
  Effect.gen(function*() {
    session.trace?.note(`close ${info.code} ${info.reason}${info.wasClean ? "" : " (not clean)"}`)
    link.closeInfo = info
    session.changed.wake()
    yield* notifyClose(session, info)
    const state = session.state
    if (state._tag === "Closed" || link.phase !== "Serving") return
    if (state._tag === "Closing") return yield* State.finish(session, info, "client")
    const policy = session.policy
    if (policy === undefined || !policy.retryable(info)) return yield* State.finish(session, info, "server")
    if (state._tag !== "Active" || state.link === link) State.toReconnecting(session)
    const stable = (yield* Clock.currentTimeMillis) - link.openedAt >= Duration.toMillis(policy.stableAfter)
    yield* FiberHandle.run(yield* supervisor(session), reconnect(session, info, stable))
  })

/**
 * Reconnects after an unexpected close, with the latest handle, on the policy's schedule. A link
 * that died before `stableAfter` counts as a failed attempt (it waits first: no reconnect storm
 * against a server that accepts and drops); one that lived longer resets the count.
 */
const reconnect = (session: Session, cause: Transport.CloseInfo, stable: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* Calls.voidPending(session)
    const retries = session.retries ??= yield* Schedule.driver(session.policy!.schedule)
    if (stable) yield* retries.reset
    let attempt = 0
    let resumeWith = session.handle
    let failure: LiveError | undefined
    let wait = !stable
    while (!State.isOver(session.state)) {
      if (wait && Either.isLeft(yield* Effect.either(retries.next(failure ?? cause)))) break
      wait = true
      attempt++
      yield* session.hub.publish([LiveEvent.Reconnecting({ attempt, reason: "Closed", close: cause })])
      const result = yield* connectThen(
        session,
        resumeWith,
        undefined,
        (result): Effect.Effect<Either.Either<Resumed, LiveError>> =>
          Either.isLeft(result)
            ? Effect.succeed(Either.left(result.left))
            : result.right === "abandoned"
            ? Effect.dieMessage("a reconnection is never abandoned")
            : Effect.as(switchTo(session, result.right), Either.right(result.right))
      )
      if (Either.isRight(result)) {
        const { lost, resent } = result.right
        return yield* session.hub.publish([LiveEvent.Reconnected({ resumed: resumeWith !== undefined, attempts: attempt, resent, lost })])
      }
      failure = result.left
      if (failure._tag === "SetupRejected" && failure.code === 1007 && resumeWith !== undefined) {
        // The handle was refused (expired, unknown: INVALID_ARGUMENT): start afresh rather than fail.
        resumeWith = session.handle = undefined
        wait = false
      } else if (isFinal(failure)) {
        break
      }
    }
    yield* State.finish(
      session,
      failure !== undefined && "code" in failure ? { code: failure.code as number, reason: String(failure.reason), wasClean: false } : cause,
      "server"
    )
  })

/** goAway: the handover runs in the supervisor unless one already does. */
const startHandover: Receive.OnGoAway = (session, link, timeLeft) =>
  Effect.flatMap(supervisor(session), (handle) => FiberHandle.run(handle, handover(session, link, timeLeft), { onlyIfMissing: true })).pipe(
    Effect.asVoid
  )

/**
 * The handover: at a safe point (or at `timeLeft` minus the margin, whatever happens), connect the
 * next link with the handle. If the model spoke on the old link meanwhile, the conversation moved
 * past the handle: go back to the old link and try again at the next safe point, with a newer
 * handle. At the deadline, switch anyway; calls still in flight are voided.
 */
const handover = (session: Session, link: Link.Link, timeLeft: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    const margin = Duration.min(session.policy!.handoverMargin, Duration.times(timeLeft, 0.5))
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(timeLeft) - Duration.toMillis(margin)
    for (let attempt = 1; State.currentLink(session.state) === link; attempt++) {
      const late = !(yield* safePointBefore(session, deadline))
      if (State.currentLink(session.state) !== link) return
      if (late) yield* Calls.voidPending(session)
      yield* session.hub.publish([LiveEvent.Reconnecting({ attempt, reason: "GoAway", close: undefined })])
      State.toSwitching(session, link)
      const resumeWith = session.handle
      // Checked before anything is sent again on the new link (it would answer it too).
      const stillWanted = () => {
        const state = session.state
        return late || !(state._tag === "Switching" && state.outputSeen)
      }
      const outcome = yield* connectThen(session, resumeWith, stillWanted, (result): Effect.Effect<"failed" | "again" | Resumed> => {
        // The old connection still works until its deadline: keep it; its close will reconnect.
        if (Either.isLeft(result)) return Effect.as(State.activate(session, link), "failed" as const)
        if (result.right === "abandoned") return Effect.as(State.activate(session, link), "again" as const)
        link.phase = "Retired"
        return Effect.as(switchTo(session, result.right), result.right)
      })
      if (outcome === "failed") return
      if (outcome === "again") continue
      yield* session.hub.publish([
        LiveEvent.Reconnected({ resumed: resumeWith !== undefined, attempts: attempt, resent: outcome.resent, lost: outcome.lost })
      ])
      return yield* link.connection.close(1000, "")
    }
  })

/**
 * Opens the next link (resuming with `resumeWith`) and, with transparent resumption, sends on it
 * again what the server had not consumed; the link is not the session's yet (`switchTo`).
 */
const connectNext = (
  session: Session,
  resumeWith: string | undefined,
  stillWanted: () => boolean = () => true
): Effect.Effect<Resumed | "abandoned", LiveError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(connect(session, resumeWith)), (link): Effect.Effect<Resumed | "abandoned", LiveError> => {
      if (!stillWanted()) return Effect.as(Scope.close(link.scope, Exit.void), "abandoned" as const)
      return restore(resend(session, link, resumeWith !== undefined)).pipe(
        Effect.map((replayed): Resumed => ({ link, ...replayed })),
        // Failed or interrupted: the link is nobody's; close it (it would go on reading).
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(link.scope, Exit.void)))
      )
    })
  )

/**
 * `connectNext`, then `use` its link at once: an interruption (the session closing, the old link
 * dying during a handover) cannot fall between, so a connected link is never left unused.
 */
const connectThen = <A>(
  session: Session,
  resumeWith: string | undefined,
  stillWanted: (() => boolean) | undefined,
  use: (result: Either.Either<Resumed | "abandoned", LiveError>) => Effect.Effect<A>
): Effect.Effect<A> =>
  Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.either(restore(connectNext(session, resumeWith, stillWanted))), use))

/**
 * Transparent resumption, on a link resumed with the handle: sends again what the server had not
 * consumed. The log itself changes only when the session switches to the link (`switchTo`).
 */
const resend = (session: Session, link: Link.Link, resumed: boolean): Effect.Effect<Omit<Resumed, "link">, SessionClosed> =>
  Effect.suspend(() => {
    const replay = session.replay
    if (replay === undefined) return Effect.succeed({ resumed, resentFrom: 0, resent: 0, lost: 0 })
    const { dropped, frames } = replay.pending()
    // A fresh conversation: the old one's messages belong to a context that is gone.
    if (!resumed) return Effect.succeed({ resumed, resentFrom: 0, resent: 0, lost: frames.length + dropped })
    const resentFrom = link.sent
    return Effect.forEach(frames, (frame) => Send.sendOn(session, link, "resend", frame, false), { discard: true }).pipe(
      Effect.as({ resumed, resentFrom, resent: frames.length, lost: dropped })
    )
  })

/** Makes a new link the session's. */
const switchTo = (session: Session, next: Resumed): Effect.Effect<void> =>
  Effect.suspend(() => {
    const replay = session.replay
    if (replay !== undefined) {
      if (next.resumed) replay.resentOn(next.link.index, next.resentFrom, next.resent)
      else replay.clear()
    }
    session.statistics.reconnected()
    session.generating = false
    // Resumed: the state is the handle's (plus what was sent again), a safe point.
    session.handleFresh = true
    const warning = next.lost === 0 ? Effect.void : Effect.logWarning(
      `effect-gemini-live: ${next.lost} client messages the server may not have consumed were not sent again (${
        next.resumed ? `too old for the replay log of ${Resumption.replayLogBytes} bytes` : "the session started afresh"
      })`
    )
    return Effect.zipRight(warning, State.activate(session, next.link))
  })

/** Waits for a safe point until `deadline` (epoch millis): whether one came. */
const safePointBefore = (session: Session, deadline: number): Effect.Effect<boolean> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.repeat(Effect.sync(() => Resumption.isSafePoint(session)), { until: (safe) => safe, schedule: Schedule.spaced("20 millis") }).pipe(
      Effect.timeout(Duration.millis(Math.max(0, deadline - now))),
      Effect.as(true),
      Effect.catchAll(() => Effect.succeed(false))
    ))

/** The supervisor, made at the first reconnection or handover; it lives with the links. */
const supervisor = (session: Session): Effect.Effect<FiberHandle.FiberHandle<void, never>> =>
  Effect.suspend(() =>
    session.supervisor !== undefined
      ? Effect.succeed(session.supervisor)
      : Effect.map(Scope.extend(FiberHandle.make<void, never>(), session.linksScope), (handle) => (session.supervisor ??= handle))
  )

/** Interrupts the reconnection or handover in progress, if any. */
export const stop = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => (session.supervisor === undefined ? Effect.void : FiberHandle.clear(session.supervisor)))

/** A failure to reconnect that trying again cannot fix (a rejected setup the policy would not retry, bad config). */
const isFinal = (failure: LiveError): boolean =>
  (failure._tag === "SetupRejected" && !failure.retryable) || failure._tag === "ConfigError"

/** Calls the user's `onWebSocketClose`; a throwing callback is logged, never allowed to break the close. */
const notifyClose = (session: Session, info: Transport.CloseInfo): Effect.Effect<void> => {
  const callback = session.options.onWebSocketClose
  return callback === undefined ? Effect.void : Effect.try({
    try: () => callback({ code: info.code, reason: info.reason, wasClean: info.wasClean }),
    catch: (error) => error
  }).pipe(Effect.catchAll((error) => Effect.logWarning(`effect-gemini-live: onWebSocketClose threw: ${String(error)}`)))
}
