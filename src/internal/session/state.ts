/**
 * Where a session is in its life: one field, a tagged union, and the transitions between its states.
 *
 *   Connecting ─> Active ─goAway─> Switching ─> Active (the new link, or the old one if the new failed)
 *                   │  └─close─> Reconnecting ─> Active
 *                   └─ close() / scope end ─> Closing ─> Closed;  out of retries or refused ─> Closed
 *
 * Sends go to the link of `Active`; in `Connecting`, `Switching` and `Reconnecting` they wait on
 * `waiting` (in order, made by the first that has to wait); in `Closing` and `Closed` they fail.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import { ServerClosed, SessionClosed } from "../../LiveError.js"
import * as LiveEvent from "../../LiveEvent.js"
import type * as Transport from "../../Transport.js"
import type { Link } from "./link.js"
import * as Resumption from "./resumption.js"
import type { Session } from "./session.js"

/** Sends waiting for the next link. */
export type Waiting = Deferred.Deferred<Link, SessionClosed>

/** Where a session is in its life. */
export type State = Connecting | Active | Switching | Reconnecting | Closing | Closed

/** The first connection is being opened (`connect` has not returned). */
export interface Connecting {
  readonly _tag: "Connecting"
  waiting: Waiting | undefined
}

/** Sends go straight to `link`. */
export interface Active {
  readonly _tag: "Active"
  readonly link: Link
}

/** A goAway handover: the next link is being opened; `from` still receives. */
export interface Switching {
  readonly _tag: "Switching"
  readonly from: Link
  waiting: Waiting | undefined
  /** The model spoke on `from` meanwhile: the conversation moved past the handle. */
  outputSeen: boolean
}

/** The link closed unasked: the supervisor reconnects per the policy. */
export interface Reconnecting {
  readonly _tag: "Reconnecting"
  waiting: Waiting | undefined
}

/** The application closes the session: `link` (if any) is closing with `info`. */
export interface Closing {
  readonly _tag: "Closing"
  readonly info: Transport.CloseInfo
  readonly link: Link | undefined
}

/** The session is over; `drained` once its last events are out. */
export interface Closed {
  readonly _tag: "Closed"
  readonly info: Transport.CloseInfo
  readonly drained: boolean
}

/** The initial state. */
export const connecting = (): State => ({ _tag: "Connecting", waiting: undefined })

/** The link sends go to, if any. */
export const currentLink = (state: State): Link | undefined => (state._tag === "Active" ? state.link : undefined)

/** Closing or closed: nothing more is sent. */
export const isOver = (state: State): state is Closing | Closed => state._tag === "Closing" || state._tag === "Closed"

export const closedError = (method: string, info: Transport.CloseInfo): SessionClosed =>
  new SessionClosed({ module: "LiveSession", method, code: info.code, reason: info.reason })

const waitingOf = (state: State): Waiting | undefined =>
  state._tag === "Connecting" || state._tag === "Switching" || state._tag === "Reconnecting" ? state.waiting : undefined

/** Makes `link` the one sends go to (its held resumption updates now count), and lets waiting sends through. */
export const activate = (session: Session, link: Link): Effect.Effect<void> =>
  Effect.suspend(() => {
    const state = session.state
    // Closing won the race: the link stays unused, and closes with the session's links.
    if (isOver(state)) return Effect.void
    session.state = { _tag: "Active", link }
    link.phase = "Serving"
    for (const update of link.heldUpdates) Resumption.applyUpdate(session, link, update)
    link.heldUpdates.length = 0
    const waiting = waitingOf(state)
    return waiting === undefined ? Effect.void : Deferred.succeed(waiting, link)
  })

/** A goAway handover starts from `link`: sends wait for the next link. */
export const toSwitching = (session: Session, link: Link): void => {
  session.state = { _tag: "Switching", from: link, waiting: undefined, outputSeen: false }
}

/** The link is lost: sends wait for the next one (with those already waiting). */
export const toReconnecting = (session: Session): void => {
  const state = session.state
  if (isOver(state)) return
  session.state = { _tag: "Reconnecting", waiting: waitingOf(state) }
}

/** The application closes the session; sends waiting fail. Gives back the link to close, if any. */
export const toClosing = (session: Session, info: Transport.CloseInfo): Effect.Effect<Link | undefined> =>
  Effect.suspend(() => {
    const state = session.state
    const link = currentLink(state)
    session.state = { _tag: "Closing", info, link }
    const waiting = waitingOf(state)
    return waiting === undefined ? Effect.succeed(link) : Effect.as(Deferred.fail(waiting, closedError("send", info)), link)
  })

/** Waits for the link sends go to; fails once the session is closing or closed. */
export const awaitLink = (session: Session): Effect.Effect<Link, SessionClosed> =>
  Effect.suspend(() => {
    const state = session.state
    switch (state._tag) {
      case "Active":
        return Effect.succeed(state.link)
      case "Closing":
      case "Closed":
        return Effect.fail(closedError("send", state.info))
      default:
        return Deferred.await(state.waiting ??= Deferred.unsafeMake<Link, SessionClosed>(FiberId.none))
    }
  })

/** The session is over (closed by the application, refused, or out of retries): runs once. */
export const finish = (session: Session, info: Transport.CloseInfo, initiator: "client" | "server"): Effect.Effect<void> =>
  Effect.suspend(() => {
    const state = session.state
    if (state._tag === "Closed") return Effect.void
    session.state = { _tag: "Closed", info, drained: false }
    const error = initiator === "server" && info.code !== 1000
      ? new ServerClosed({ module: "LiveSession", method: "events", ...info })
      : undefined
    const waiting = waitingOf(state)
    return (waiting === undefined ? Effect.void : Deferred.fail(waiting, closedError("send", info))).pipe(
      Effect.zipRight(session.playback.end),
      Effect.zipRight(session.hub.end(LiveEvent.Closed({ info, initiator, error }))),
      Effect.zipRight(Effect.sync(() => {
        session.state = { _tag: "Closed", info, drained: true }
        session.changed.wake()
      }))
    )
  })

/** The session's close, once its last events are out (`session.closed`). */
export const awaitClosed = (session: Session): Effect.Effect<Transport.CloseInfo> =>
  Effect.zipRight(
    session.changed.awaitUntil(() => session.state._tag === "Closed" && session.state.drained),
    Effect.sync(() => (session.state as Closed).info)
  )

/** The close `link`'s reader has seen, once it has. */
export const linkClosed = (session: Session, link: Link): Effect.Effect<Transport.CloseInfo> =>
  Effect.zipRight(session.changed.awaitUntil(() => link.closeInfo !== undefined), Effect.sync(() => link.closeInfo!))
