/**
 * A link: one connection of a session, from its open (socket, setup, setupComplete) to its close.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { ConnectError, type LiveError, SetupRejected } from "../../LiveError.js"
import type * as Protocol from "../../Protocol.js"
import * as Transport from "../../Transport.js"
import * as Send from "./send.js"
import type { Session } from "./session.js"
import * as State from "./state.js"

/**
 * Where a link is in its life: `Setup` until its `setupComplete`, `Standby` until the session sends
 * on it, `Serving` once it has been the session's link, `Retired` once a newer link replaced it (a
 * goAway handover). Only a `Serving` link's close is the session's business.
 */
export type Phase = "Setup" | "Standby" | "Serving" | "Retired"

/** A server message that may carry a resumption handle. */
export type ResumptionUpdate = NonNullable<Protocol.ServerMessage["sessionResumptionUpdate"]>

/** One connection of a session. */
export interface Link {
  readonly connection: Transport.Connection
  readonly scope: Scope.CloseableScope
  phase: Phase
  /** Where the server's session id goes, at `setupComplete`; dropped after (an idle link keeps no Deferred). */
  setupDone: Deferred.Deferred<string | undefined> | undefined
  /** How the connection closed, once its reader has seen it. */
  closeInfo: Transport.CloseInfo | undefined
  readonly openedAt: number
  /** 0 for the session's first connection. */
  readonly index: number
  /** Client messages written to it so far: the next one's index (its `setup` is 0). */
  sent: number
  /**
   * Resumption updates that arrived while it was not the session's link: they count once it is
   * (a link being switched to may still be given up; the old one's late handles must not count).
   */
  readonly heldUpdates: Array<ResumptionUpdate>
  /** Its binary frames are the session's alone once read (`Transport.handOverFrames`). */
  readonly ownsFrames: boolean
}

/**
 * Opens a link: the socket, `setup` (with the handle when resuming), then `setupComplete`. Its
 * frames go to `listener` from the start; it is `Standby` when this succeeds (see `State.activate`).
 */
export const connect = (
  session: Session,
  resumeWith: string | undefined,
  listener: (link: Link) => Transport.Listener
): Effect.Effect<Link, LiveError> =>
  Effect.gen(function*() {
    const credentials = yield* session.auth.credentials
    const endpoint = yield* session.backend.endpoint(credentials)
    session.trace ??= yield* session.wireTrace.open({ id: session.id, url: endpoint.display }).pipe(Scope.extend(session.linksScope))
    const scope = yield* Scope.fork(session.linksScope, ExecutionStrategy.sequential)
    return yield* open(session, scope, Redacted.value(endpoint.url), endpoint.headers, resumeWith, listener).pipe(
      Scope.extend(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
  })

const open = (
  session: Session,
  scope: Scope.CloseableScope,
  url: string,
  headers: Readonly<Record<string, string>>,
  resumeWith: string | undefined,
  listener: (link: Link) => Transport.Listener
): Effect.Effect<Link, LiveError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeout = session.options.timeout
    const startedAt = yield* Clock.currentTimeMillis
    const connection = yield* session.transport.open({ url, headers, openTimeout: timeout })
    const setupDone = yield* Deferred.make<string | undefined>()
    const link: Link = {
      connection,
      scope,
      phase: "Setup",
      setupDone,
      closeInfo: undefined,
      openedAt: startedAt,
      index: session.linksOpened++,
      sent: 0,
      heldUpdates: [],
      ownsFrames: Transport.ownsFrames(connection)
    }
    yield* Transport.listen(connection, listener(link))
    const setup = session.linkSetup
    const linkSetup = resumeWith === undefined
      ? setup
      : { ...setup, sessionResumption: { ...(setup.sessionResumption as object), handle: resumeWith } }
    yield* Send.sendOn(session, link, "setup", JSON.stringify({ setup: linkSetup }), false).pipe(Effect.ignore)
    const sessionId = yield* Deferred.await(setupDone).pipe(
      Effect.raceFirst(
        Effect.flatMap(State.linkClosed(session, link), (info) =>
          Effect.fail(new SetupRejected({ module: "LiveSession", method: "connect", code: info.code, reason: info.reason })))
      ),
      Effect.timeoutFail({
        duration: Duration.subtract(Duration.decode(timeout), Duration.millis((yield* Clock.currentTimeMillis) - startedAt)),
        onTimeout: () =>
          new ConnectError({
            module: "LiveSession",
            method: "connect",
            reason: "Timeout",
            description: "no setupComplete from the server in time (httpOptions.timeout)"
          })
      })
    )
    link.phase = "Standby"
    link.setupDone = undefined
    session.statistics.setupCompleted((yield* Clock.currentTimeMillis) - startedAt)
    session.trace?.note(`setupComplete${sessionId === undefined ? "" : ` ${sessionId}`}${resumeWith === undefined ? "" : " (resumed)"}`)
    session.sessionId ??= sessionId
    return link
  })
