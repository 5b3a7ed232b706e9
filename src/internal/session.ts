/**
 * The session: one logical conversation over a sequence of connections ("links").
 *
 * Each link opens the socket, sends `setup` (with the latest resumption handle when resuming),
 * awaits `setupComplete`, and turns its frames into events as they arrive (in the socket's callback,
 * `Transport.listen`: a fiber runs only what must wait, while it does), all into one hub. Sends
 * write straight to the current link; between links (a reconnect, a goAway handover) they wait for
 * the next one, in order, or fail with `SessionClosed` if the session ends. The supervisor (a FiberHandle) reconnects after an
 * unexpected close per the ReconnectPolicy, and on `goAway` opens the next link at a safe point,
 * switches, and closes the old one with 1000. With transparent resumption, a replay log keeps what
 * the server has not consumed, and a new link is sent it first.
 *
 *   frames ─> Protocol.decodeServerMessage ─> Backend quirks ─> LiveEvent.fromServerMessage ─> EventHub
 *                                                                     └─ AudioDelta ─> Playback (session.audio)
 *   send*  ─> Protocol.encode* ─> Statistics + WireTrace (+ ReplayLog) ─> Connection.send
 *   sendAudio ─> audioInput (convert, frame, pace) ─> Connection.trySend, or the same write when it must wait
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberHandle from "effect/FiberHandle"
import * as FiberId from "effect/FiberId"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Auth from "../Auth.js"
import * as Backend from "../Backend.js"
import { ConfigError, ConnectError, type LiveError, ServerClosed, SessionClosed, SetupRejected } from "../LiveError.js"
import * as LiveEvent from "../LiveEvent.js"
import type { AudioChunk as LiveSessionAudioChunk, LiveSession, Options } from "../LiveSession.js"
import type { Services } from "../Parameters.js"
import * as Protocol from "../Protocol.js"
import * as ReconnectPolicy from "../ReconnectPolicy.js"
import * as Statistics from "../Statistics.js"
import * as Transport from "../Transport.js"
import * as WireTrace from "../WireTrace.js"
import * as Audio from "../Audio.js"
import * as AudioData from "./audioData.js"
import * as AudioInput from "./audioInput.js"
import * as SendAudio from "./sendAudio.js"
import * as EventHub from "./eventHub.js"
import * as ModelAudio from "./modelAudio.js"
import * as Playback from "./playback.js"
import * as ReplayLog from "./replayLog.js"
import * as Signal from "./signal.js"
import * as ToolDispatcher from "./toolDispatcher.js"
import * as WebSocketConnection from "./webSocketConnection.js"
import * as Tool from "../Tool.js"

const defaultEventBufferSize = 256
const defaultAudioBufferSize = 150
/**
 * How much the replay log of a transparent session holds: about three minutes of 40 ms frames of
 * 16 kHz audio, for a server that issues no handle meanwhile (no completed turn).
 */
const replayLogBytes = 8 * 1024 * 1024

type ResumptionUpdate = NonNullable<Protocol.ServerMessage["sessionResumptionUpdate"]>

/** A new link, and what transparent resumption sent again on it. */
interface Resumed {
  readonly link: Link
  /** Resumed with a handle (or a fresh conversation). */
  readonly resumed: boolean
  /** The index of the first message sent again on the link. */
  readonly resentFrom: number
  /** Client messages sent again. */
  readonly resent: number
  /** Client messages the server may not have consumed that were not sent again (too old for the log, or a fresh start). */
  readonly lost: number
}

const nothingResent = { resumed: false, resentFrom: 0, resent: 0, lost: 0 }

/**
 * Events a chunk of `session.events` may run on past: the deltas of a turn. Any other event ends a
 * chunk, so a reader that stops at it (`Stream.takeUntil`) leaves the rest buffered.
 */
const deltaTags: ReadonlySet<LiveEvent.LiveEvent["_tag"]> = new Set([
  "ServerContent",
  "AudioDelta",
  "TextDelta",
  "InputTranscription",
  "OutputTranscription"
])
const endsChunk = (event: LiveEvent.LiveEvent) => !deltaTags.has(event._tag)

/**
 * Connects a session, in a `GeminiLive.connect` span. The span is not made the parent of what runs
 * inside (`useSpan`, not `withSpan`): the session's fibers outlive it, and would keep it in memory.
 */
export const make = <R>(options: Options<R>): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services | R> =>
  Effect.useSpan("GeminiLive.connect", { attributes: { model: options.model } }, () => connect(options))

const connect = <R>(options: Options<R>): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services | R> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    yield* bufferSize("eventBufferSize", options.eventBufferSize, 1)
    yield* bufferSize("audioBufferSize", options.audioBufferSize, 0)
    const policy = options.reconnect === false ? undefined : options.reconnect ?? ReconnectPolicy.defaultPolicy
    const config = withResumption(yield* withTools(options.connectConfig, options.tools, backend.kind), policy)
    const setup = yield* backend.setup(options.model, config)
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    return yield* open(options, setup, policy).pipe(
      Scope.extend(scope),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
    )
  })

/** One connection of a session, from its open to its close. */
interface Link {
  readonly connection: Transport.Connection
  readonly scope: Scope.CloseableScope
  /** Until its `setupComplete` (then dropped): where the server's session id goes. */
  setupDone: Deferred.Deferred<string | undefined> | undefined
  /** Set (and `changed` woken) when the link's reader has seen the connection close. */
  closeInfo: Transport.CloseInfo | undefined
  readonly openedAt: number
  /** 0 for the session's first connection. */
  readonly index: number
  /** Client messages written to it so far: the next one's index (its `setup` is 0). */
  sent: number
  /** Became the session's link (a link that fails its setup never does: connect reports it). */
  activated: boolean
  /** Replaced by a newer link (goAway handover): its close is not the session's business. */
  superseded: boolean
  /** The model said something here while it was not the current link (during a handover). */
  outputWhileSwitching: boolean
  /**
   * Resumption updates that arrived while it was not the current link: they count if and when it
   * becomes (or again becomes) the current one, not before (a link being switched to may still be
   * given up, and the old one's late handles must not move the handle past what a new link resumed).
   */
  readonly heldUpdates: Array<ResumptionUpdate>
  /** Its binary frames are the session's alone once read (`WebSocketConnection.ownsFrames`). */
  readonly ownsFrames: boolean
}

const open = <R>(
  options: Options<R>,
  setup: Protocol.Setup,
  policy: ReconnectPolicy.ReconnectPolicy | undefined
): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services | R> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const auth = yield* Auth.Auth
    const quirks = backend.quirks()
    const transport = yield* Transport.Transport
    const wireTrace = yield* WireTrace.WireTrace
    const statisticsService = yield* Statistics.Statistics
    const statistics = yield* statisticsService.session
    const countBytes = statisticsService.enabled
    const id = newSessionId()
    const sessionScope = yield* Effect.scope
    // Connections and the trace live in a scope that closes AFTER the session's close finalizer
    // (registered below), so that closing the session still sees every socket close.
    const linksScope = yield* Scope.fork(sessionScope, ExecutionStrategy.sequential)
    const hub = yield* EventHub.make<LiveEvent.LiveEvent>(options.eventBufferSize ?? defaultEventBufferSize, endsChunk)
    const playback = options.audioBufferSize === 0
      ? Playback.disabled
      : yield* Playback.make(options.audioBufferSize ?? defaultAudioBufferSize)
    /** Woken when a link closes (`Link.closeInfo`) and when the session has closed (`closedInfo`). */
    const changed = Signal.make()
    /** Set once the session has closed and its last events are out: what `session.closed` gives. */
    let closedInfo: Transport.CloseInfo | undefined
    const awaitClosed = (): Effect.Effect<Transport.CloseInfo> =>
      Effect.zipRight(changed.awaitUntil(() => closedInfo !== undefined), Effect.sync(() => closedInfo!))
    /**
     * Runs the reconnection or the handover in progress; made at the first one (most sessions never
     * need it). It lives in `linksScope`, and `close` interrupts its fiber before the links close.
     */
    let supervisor: FiberHandle.FiberHandle<void, never> | undefined
    /** The reconnect policy's schedule, driven across reconnections; made at the first one. */
    let retries: Schedule.ScheduleDriver<unknown, unknown, never> | undefined
    const modelAudio = yield* ModelAudio.make({
      playback,
      hub,
      scope: sessionScope,
      clock: yield* Effect.clock,
      playbackBytesDropped: statistics.playbackBytesDropped
    })
    let trace: WireTrace.SessionTrace | undefined

    // -------------------------------------------------------------------------
    // State of the logical session, across its connections
    // -------------------------------------------------------------------------

    /** The link sends go to; undefined while (re)connecting. */
    let current: Link | undefined
    let linksOpened = 0
    /** The server's session id (of the first connection's `setupComplete`). */
    let sessionIdOf: string | undefined
    /** Where sends wait while there is no current link; made by the first that has to. */
    let nextLink: Deferred.Deferred<Link, SessionClosed> | undefined
    /** Set when the application closes the session: the code and reason. */
    let closing: Transport.CloseInfo | undefined
    /** Set once the logical session has ended. */
    let ended: Transport.CloseInfo | undefined
    /** The latest resumption handle the server said can be resumed, and whether it is newer than any generation. */
    let handle: string | undefined
    let handleFresh = false
    /** Transparent resumption: what the server may not have consumed, to send again on reconnecting. */
    const replay = policy !== undefined && isTransparent(setup) ? ReplayLog.make(replayLogBytes) : undefined
    let generating = false
    const pendingCalls = new Set<string>()
    /** Calls a lost connection voided: their responses are not sent (the resumed conversation never made them). */
    const voided = new Set<string>()

    const closedError = (method: string, info: Transport.CloseInfo) =>
      new SessionClosed({ module: "LiveSession", method, code: info.code, reason: info.reason })

    /** Runs once: the logical session is over (closed by the application, refused, or out of retries). */
    const finish = (info: Transport.CloseInfo, initiator: "client" | "server"): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (ended !== undefined) return Effect.void
        ended = info
        current = undefined
        const error = initiator === "server" && info.code !== 1000
          ? new ServerClosed({ module: "LiveSession", method: "events", ...info })
          : undefined
        const waiting = nextLink
        nextLink = undefined
        return (waiting === undefined ? Effect.void : Deferred.fail(waiting, closedError("send", info))).pipe(
          Effect.zipRight(playback.end),
          Effect.zipRight(hub.end(LiveEvent.Closed({ info, initiator, error }))),
          Effect.zipRight(Effect.sync(() => {
            closedInfo = info
            changed.wake()
          }))
        )
      })

    // -------------------------------------------------------------------------
    // Receiving: frames -> events (each link's, as they arrive, all into one hub)
    // -------------------------------------------------------------------------

    /** Answers function calls, when the session has a toolkit (created once sends exist, below). */
    let dispatcher: ToolDispatcher.Dispatcher | undefined

    const observe = (link: Link, message: Protocol.ServerMessage, events: ReadonlyArray<LiveEvent.LiveEvent>) => {
      if (message.setupComplete !== undefined && link.setupDone !== undefined) {
        Deferred.unsafeDone(link.setupDone, Exit.succeed(message.setupComplete.sessionId))
      }
      const update = message.sessionResumptionUpdate
      if (update !== undefined) {
        if (link === current) applyUpdate(link, update)
        else link.heldUpdates.push(update)
      }
      for (const event of events) {
        switch (event._tag) {
          case "AudioDelta":
          case "TextDelta":
            generating = true
            handleFresh = false
            if (link !== current) link.outputWhileSwitching = true
            break
          case "TurnComplete":
          case "Interrupted":
            generating = false
            break
          case "ToolCall":
            for (const call of event.functionCalls) if (call.id !== undefined) pendingCalls.add(call.id)
            if (link !== current) link.outputWhileSwitching = true
            break
          case "ToolCallCancellation":
            for (const callId of event.ids) pendingCalls.delete(callId)
            break
        }
      }
    }

    /** The latest handle the server said can be resumed (a non-empty `newHandle` with `resumable: true`) is kept. */
    const applyUpdate = (link: Link, update: ResumptionUpdate) => {
      if (update.resumable === true && update.newHandle !== undefined && update.newHandle !== "") {
        handle = update.newHandle
        handleFresh = true
        // Without the index (not Vertex AI), the handle is taken to cover what was sent until now.
        replay?.consumed(link.index, Number(update.lastConsumedClientMessageIndex ?? link.sent - 1))
      } else {
        handleFresh = false
      }
    }

    /**
     * Handles one frame synchronously, up to the first thing that has to wait (a full buffer, a
     * handover, a tool call); gives back that wait, in order, or `undefined` (usually): the next
     * frame can be handled at once.
     */
    const handleFrame = (link: Link, frame: Transport.Frame): Effect.Effect<void> | undefined => {
      if (countBytes) statistics.received(typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength)
      if (trace?.enabled) trace.received(frame)
      const decoded = Protocol.decodeServerMessage(frame)
      if (Either.isLeft(decoded)) {
        statistics.protocolError()
        return hub.offer([LiveEvent.Unknown({ message: frameText(frame), error: decoded.left })])
      }
      // The frame's memory takes the audio when nothing else will read it (a custom trace might keep it).
      AudioData.decodeInPlace(decoded.right, link.ownsFrames && trace?.enabled !== true && typeof frame !== "string" ? frame : undefined)
      const message = quirks.incoming(decoded.right)
      let events = LiveEvent.fromServerMessage(message)
      observe(link, message, events)
      if (message.setupComplete !== undefined && link.index > 0) {
        // A reconnection's setupComplete: users see Reconnected instead.
        events = events.filter((event) => event._tag !== "SetupComplete")
      }
      if (countBytes) record(statistics, events)
      let effect: Effect.Effect<void> | undefined
      if (message.serverContent === undefined) {
        effect = hub.offer(events)
      } else {
        const routed = modelAudio.route(events)
        effect = routed.pending === undefined ? hub.offer(routed.events) : Effect.zipRight(routed.pending, hub.publish(routed.events))
      }
      if (message.goAway !== undefined && link === current && policy !== undefined) {
        effect = Effect.zipRight(effect ?? Effect.void, startHandover(link, message.goAway.timeLeft))
      }
      if (dispatcher !== undefined && (message.toolCall !== undefined || message.toolCallCancellation !== undefined)) {
        const calls = message.toolCall?.functionCalls
        const cancelled = message.toolCallCancellation?.ids
        const { onCancellation, onToolCall } = dispatcher
        effect = (effect ?? Effect.void).pipe(
          Effect.zipRight(calls === undefined ? Effect.void : onToolCall(calls)),
          Effect.zipRight(cancelled === undefined ? Effect.void : onCancellation(cancelled))
        )
      }
      return effect
    }

    // -------------------------------------------------------------------------
    // Connecting: one link = open, setup (with the handle when resuming), setupComplete
    // -------------------------------------------------------------------------

    const connectLink = (resumeWith: string | undefined): Effect.Effect<Link, LiveError> =>
      Effect.gen(function*() {
        const credentials = yield* auth.credentials
        const endpoint = yield* backend.endpoint(credentials)
        trace ??= yield* wireTrace.open({ id, url: endpoint.display }).pipe(Scope.extend(linksScope))
        const scope = yield* Scope.fork(linksScope, ExecutionStrategy.sequential)
        return yield* Effect.gen(function*() {
          const startedAt = yield* Clock.currentTimeMillis
          const connection = yield* transport.open({
            url: Redacted.value(endpoint.url),
            headers: endpoint.headers,
            openTimeout: options.timeout
          })
          const setupDone = yield* Deferred.make<string | undefined>()
          const link: Link = {
            connection,
            scope,
            setupDone,
            closeInfo: undefined,
            openedAt: startedAt,
            index: linksOpened++,
            sent: 0,
            activated: false,
            superseded: false,
            outputWhileSwitching: false,
            heldUpdates: [],
            ownsFrames: WebSocketConnection.ownsFrames(connection)
          }
          yield* Transport.listen(connection, { frame: (frame) => handleFrame(link, frame), closed: (info) => linkClosed(link, info) })
          const linkSetup = resumeWith === undefined
            ? setup
            : { ...setup, sessionResumption: { ...(setup.sessionResumption as object), handle: resumeWith } }
          yield* sendOn(link, "setup", JSON.stringify({ setup: linkSetup }), false).pipe(Effect.ignore)
          const sessionId = yield* Deferred.await(setupDone).pipe(
            Effect.raceFirst(
              Effect.flatMap(linkClosedInfo(link), (info) =>
                Effect.fail(new SetupRejected({ module: "LiveSession", method: "connect", code: info.code, reason: info.reason })))
            ),
            Effect.timeoutFail({
              duration: Duration.subtract(Duration.decode(options.timeout), Duration.millis((yield* Clock.currentTimeMillis) - startedAt)),
              onTimeout: () =>
                new ConnectError({
                  module: "LiveSession",
                  method: "connect",
                  reason: "Timeout",
                  description: "no setupComplete from the server in time (httpOptions.timeout)"
                })
            })
          )
          link.setupDone = undefined
          statistics.setupCompleted((yield* Clock.currentTimeMillis) - startedAt)
          trace?.note(`setupComplete${sessionId === undefined ? "" : ` ${sessionId}`}${resumeWith === undefined ? "" : " (resumed)"}`)
          sessionIdOf ??= sessionId
          return link
        }).pipe(
          Scope.extend(scope),
          Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
        )
      })

    /** Makes `link` the one sends go to, and lets waiting sends through (in order). */
    const activate = (link: Link) =>
      Effect.suspend(() => {
        current = link
        link.activated = true
        for (const update of link.heldUpdates) applyUpdate(link, update)
        link.heldUpdates.length = 0
        const waiting = nextLink
        nextLink = undefined
        return waiting === undefined ? Effect.void : Deferred.succeed(waiting, link)
      })

    /** From now on, sends wait for the next link (on the same Deferred as those already waiting, if any). */
    const deactivate = Effect.sync(() => {
      current = undefined
    })

    /** Waits for the next link (with the sends already waiting); fails if the session ends first. */
    const awaitNextLink = Effect.suspend(() =>
      ended !== undefined
        ? Effect.fail(closedError("send", ended))
        : Deferred.await(nextLink ??= Deferred.unsafeMake<Link, SessionClosed>(FiberId.none))
    )

    /** The close `link`'s reader has seen, once it has. */
    const linkClosedInfo = (link: Link): Effect.Effect<Transport.CloseInfo> =>
      Effect.zipRight(changed.awaitUntil(() => link.closeInfo !== undefined), Effect.sync(() => link.closeInfo!))

    /**
     * A link's connection closed: tell the application, then decide for the session. The link is
     * over: its scope closes (what a long session's replaced connections held is let go).
     */
    const linkClosed = (link: Link, info: Transport.CloseInfo): Effect.Effect<void> =>
      Effect.ensuring(handleLinkClose(link, info), Scope.close(link.scope, Exit.void))

    const handleLinkClose = (link: Link, info: Transport.CloseInfo): Effect.Effect<void> =>
      Effect.gen(function*() {
        trace?.note(`close ${info.code} ${info.reason}${info.wasClean ? "" : " (not clean)"}`)
        link.closeInfo = info
        changed.wake()
        yield* notifyClose(options, info)
        if (ended !== undefined || link.superseded || !link.activated) return
        if (closing !== undefined) return yield* finish(info, "client")
        if (policy === undefined || !policy.retryable(info)) return yield* finish(info, "server")
        if (current === link || current === undefined) yield* deactivate
        const stable = (yield* Clock.currentTimeMillis) - link.openedAt >= Duration.toMillis(policy.stableAfter)
        yield* Effect.flatMap(supervised, (handle) => FiberHandle.run(handle, reconnect(info, stable)))
      })

    /**
     * Opens the next link (resuming with `resumeWith`) and, with transparent resumption, sends on it
     * again what the server had not consumed; the link is not the session's yet (`activate`).
     */
    const connectNext = (
      resumeWith: string | undefined,
      stillWanted: () => boolean = () => true
    ): Effect.Effect<Resumed | "abandoned", LiveError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(connectLink(resumeWith)), (link): Effect.Effect<Resumed | "abandoned", LiveError> => {
          if (!stillWanted()) return Effect.as(Scope.close(link.scope, Exit.void), "abandoned" as const)
          return restore(resend(link, resumeWith !== undefined)).pipe(
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
      resumeWith: string | undefined,
      stillWanted: (() => boolean) | undefined,
      use: (result: Either.Either<Resumed | "abandoned", LiveError>) => Effect.Effect<A>
    ): Effect.Effect<A> =>
      Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.either(restore(connectNext(resumeWith, stillWanted))), use))

    /**
     * Transparent resumption, on a link resumed with the handle: sends again what the server had not
     * consumed. The log itself changes only when the session switches to the link (`switchTo`).
     */
    const resend = (link: Link, resumed: boolean): Effect.Effect<Omit<Resumed, "link">, SessionClosed> =>
      Effect.suspend(() => {
        if (replay === undefined) return Effect.succeed({ ...nothingResent, resumed })
        const { dropped, frames } = replay.pending()
        // A fresh conversation: the old one's messages belong to a context that is gone.
        if (!resumed) return Effect.succeed({ resumed, resentFrom: 0, resent: 0, lost: frames.length + dropped })
        const resentFrom = link.sent
        return Effect.forEach(frames, (frame) => sendOn(link, "resend", frame, false), { discard: true }).pipe(
          Effect.as({ resumed, resentFrom, resent: frames.length, lost: dropped })
        )
      })

    /** A lost connection voids its function calls: the resumed conversation predates them (`resumable: false` at each). */
    const voidPendingCalls = Effect.suspend(() => {
      generating = false
      if (pendingCalls.size === 0) return Effect.void
      const ids = [...pendingCalls]
      pendingCalls.clear()
      for (const id of ids) voided.add(id)
      return Effect.zipRight(dispatcher?.onCancellation(ids) ?? Effect.void, hub.publish([LiveEvent.ToolCallCancellation({ ids })]))
    })

    /**
     * Reconnects after an unexpected close, with the latest handle, on the policy's schedule. A link
     * that died before `stableAfter` counts as a failed attempt (it waits first: no reconnect storm
     * against a server that accepts and drops); one that lived longer resets the count.
     */
    const reconnect = (cause: Transport.CloseInfo, stable: boolean): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* voidPendingCalls
        retries ??= yield* Schedule.driver(policy!.schedule)
        if (stable) yield* retries.reset
        let attempt = 0
        let resumeWith = handle
        let failure: LiveError | undefined
        let wait = !stable
        while (ended === undefined) {
          if (wait && Either.isLeft(yield* Effect.either(retries.next(failure ?? cause)))) break
          wait = true
          attempt++
          yield* hub.publish([LiveEvent.Reconnecting({ attempt, reason: "Closed", close: cause })])
          const result = yield* connectThen(
            resumeWith,
            undefined,
            (result): Effect.Effect<Either.Either<Resumed, LiveError>> =>
              Either.isLeft(result)
                ? Effect.succeed(Either.left(result.left))
                : result.right === "abandoned"
                ? Effect.dieMessage("a reconnection is never abandoned")
                : Effect.as(switchTo(result.right), Either.right(result.right))
          )
          if (Either.isRight(result)) {
            const { lost, resent } = result.right
            return yield* hub.publish([LiveEvent.Reconnected({ resumed: resumeWith !== undefined, attempts: attempt, resent, lost })])
          }
          failure = result.left
          if (failure._tag === "SetupRejected" && failure.code === 1007 && resumeWith !== undefined) {
            // The handle was refused (expired, unknown: INVALID_ARGUMENT): start afresh rather than fail.
            resumeWith = handle = undefined
            wait = false
          } else if (isFinal(failure)) {
            break
          }
        }
        yield* finish(
          failure !== undefined && "code" in failure ? { code: failure.code as number, reason: String(failure.reason), wasClean: false } : cause,
          "server"
        )
      })

    /** The supervisor, made now if it is the first reconnection or handover. */
    const supervised: Effect.Effect<FiberHandle.FiberHandle<void, never>> = Effect.suspend(() =>
      supervisor !== undefined
        ? Effect.succeed(supervisor)
        : Effect.map(Scope.extend(FiberHandle.make<void, never>(), linksScope), (handle) => (supervisor ??= handle))
    )

    /** Interrupts the reconnection or handover in progress, if any. */
    const stopSupervisor = Effect.suspend(() => (supervisor === undefined ? Effect.void : FiberHandle.clear(supervisor)))

    /** goAway: open the next connection at a safe point before the deadline, switch, close the old one. */
    const startHandover = (link: Link, timeLeft: string | undefined): Effect.Effect<void> =>
      Effect.flatMap(supervised, (handle) =>
        FiberHandle.run(handle, handover(link, parseDuration(timeLeft)), { onlyIfMissing: true })).pipe(Effect.asVoid)

    /**
     * The handover: at a safe point (or at `timeLeft` minus the margin, whatever happens), connect the
     * next link with the handle. If the model said something on the old link meanwhile, the
     * conversation moved on past the handle (and, with transparent resumption, the new link was sent
     * again what the old one is answering): go back to the old link and try again at the next safe
     * point, with a newer handle. At the deadline, switch anyway; calls still in flight are voided.
     */
    const handover = (link: Link, timeLeft: Duration.Duration): Effect.Effect<void> =>
      Effect.gen(function*() {
        const margin = Duration.min(policy!.handoverMargin, Duration.times(timeLeft, 0.5))
        const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(timeLeft) - Duration.toMillis(margin)
        for (let attempt = 1; ended === undefined && link === current; attempt++) {
          const late = !(yield* safePointBefore(deadline))
          if (ended !== undefined || link !== current) return
          if (late) yield* voidPendingCalls
          yield* hub.publish([LiveEvent.Reconnecting({ attempt, reason: "GoAway", close: undefined })])
          yield* deactivate
          link.outputWhileSwitching = false
          const resumeWith = handle
          // Checked before anything is sent again on the new link (it would answer it too).
          const stillWanted = () => late || !link.outputWhileSwitching
          const outcome = yield* connectThen(resumeWith, stillWanted, (result): Effect.Effect<"failed" | "again" | Resumed> => {
            // The old connection still works until its deadline: keep it; its close will reconnect.
            if (Either.isLeft(result)) return Effect.as(activate(link), "failed" as const)
            if (result.right === "abandoned") return Effect.as(activate(link), "again" as const)
            link.superseded = true
            return Effect.as(switchTo(result.right), result.right)
          })
          if (outcome === "failed") return
          if (outcome === "again") continue
          yield* hub.publish([LiveEvent.Reconnected({ resumed: resumeWith !== undefined, attempts: attempt, resent: outcome.resent, lost: outcome.lost })])
          return yield* link.connection.close(1000, "")
        }
      })

    /** Makes a new link the session's. */
    const switchTo = (next: Resumed): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (replay !== undefined) {
          if (next.resumed) replay.resentOn(next.link.index, next.resentFrom, next.resent)
          else replay.clear()
        }
        statistics.reconnected()
        generating = false
        // Resumed: the state is the handle's (plus what was sent again), a safe point.
        handleFresh = true
        const warning = next.lost === 0 ? Effect.void : Effect.logWarning(
          `effect-gemini-live: ${next.lost} client messages the server may not have consumed were not sent again (${
            next.resumed ? `too old for the replay log of ${replayLogBytes} bytes` : "the session started afresh"
          })`
        )
        return Effect.zipRight(warning, activate(next.link))
      })

    /** Waits for a safe point until `deadline` (epoch millis): whether one came. */
    const safePointBefore = (deadline: number): Effect.Effect<boolean> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.repeat(Effect.sync(isSafePoint), { until: (safe) => safe, schedule: Schedule.spaced("20 millis") }).pipe(
          Effect.timeout(Duration.millis(Math.max(0, deadline - now))),
          Effect.as(true),
          Effect.catchAll(() => Effect.succeed(false))
        ))

    /** No generation and no function call in flight, and a handle newer than the last generation. */
    const isSafePoint = () => !generating && pendingCalls.size === 0 && (handle === undefined || handleFresh)

    // -------------------------------------------------------------------------
    // Sending: straight to the current link, or waiting for the next one
    // -------------------------------------------------------------------------

    /**
     * Writes one client message to `link`. With transparent resumption it is also written down in
     * the replay log, unless `replayable` is false: `setup` (each link sends its own), a resend
     * (already there), and function responses (they answer calls a resumed conversation never made).
     */
    const sendOn = (link: Link, method: string, frame: string, replayable: boolean): Effect.Effect<void, SessionClosed> =>
      Effect.suspend(() => {
        const index = written(link, frame, replayable)
        const sent = Effect.mapError(
          link.connection.send(frame),
          (error) => new SessionClosed({ module: "LiveSession", method, code: error.code, reason: error.reason })
        )
        // Taken back from the replay log if it did not go out.
        return replay === undefined || !replayable ? sent : Effect.tapError(sent, () => Effect.sync(() => replay.retract(link.index, index)))
      })

    /** Counts, traces, numbers (in wire order) and writes down a message going out on `link`; its index. */
    const written = (link: Link, frame: string, replayable: boolean): number => {
      if (countBytes) statistics.sent(Buffer.byteLength(frame))
      if (trace?.enabled) trace.sent(frame)
      const index = link.sent++
      if (replay !== undefined && replayable) replay.sent(link.index, index, frame)
      return index
    }

    /**
     * The synchronous path of `write`, for audio frames: written now to the current link if it can
     * take it at once (`Connection.trySend`); `false` otherwise, and nothing happened (use `write`).
     */
    const trySend = (frame: string): boolean => {
      const link = current
      if (link === undefined || ended !== undefined || closing !== undefined || link.connection.trySend?.(frame) !== true) return false
      written(link, frame, true)
      return true
    }

    /** A send found its link closing: with a policy, it waits for the next link instead of failing. */
    const sendOrWait = (link: Link, method: string, frame: string): Effect.Effect<void, SessionClosed> =>
      Effect.catchAll(sendOn(link, method, frame, method !== "sendToolResponse"), (error) => {
        if (policy === undefined || ended !== undefined || closing !== undefined) return Effect.fail(error)
        return Effect.zipRight(current === link ? deactivate : Effect.void, write(method, frame))
      })

    /** Sends when run (not when built: a send effect can be retried or repeated). */
    const write = (method: string, frame: string): Effect.Effect<void, SessionClosed> =>
      Effect.suspend(() => {
        if (ended !== undefined) return Effect.fail(closedError(method, ended))
        if (closing !== undefined) return Effect.fail(closedError(method, closing))
        if (current !== undefined) return sendOrWait(current, method, frame)
        return Effect.flatMap(
          Effect.mapError(
            awaitNextLink,
            (error) => new SessionClosed({ module: "LiveSession", method, code: error.code, reason: error.reason })
          ),
          () => write(method, frame)
        )
      })

    const sendEncoded = (
      method: string,
      encoded: Either.Either<string, ConfigError>
    ): Effect.Effect<void, ConfigError | SessionClosed> =>
      Either.isLeft(encoded) ? Effect.fail(encoded.left) : write(method, encoded.right)

    /** Resolves once there is a link to send on (or the session is over: the send will say so). */
    const linkReady = Effect.suspend(() =>
      current !== undefined || ended !== undefined || closing !== undefined ? Effect.void : Effect.ignore(awaitNextLink)
    )

    /** Function responses, but not to calls a lost connection voided (checked once a link is there). */
    const sendToolResponse = (input: Protocol.ToolResponseInput) =>
      Effect.zipRight(
        linkReady,
        Effect.suspend(() => {
          const all = Protocol.functionResponsesOf(input)
          const responses = all.filter((response) => response.id === undefined || !voided.has(response.id))
          if (responses.length === all.length) return sendToolResponses(responses)
          const stale = all.flatMap((response) => (response.id !== undefined && voided.has(response.id) ? [response.id] : []))
          return Effect.zipRight(
            Effect.logWarning(`effect-gemini-live: not sent: responses to calls voided by a lost connection (${stale.join(", ")})`),
            responses.length === 0 ? Effect.void : sendToolResponses(responses)
          )
        })
      )

    const sendToolResponses = (responses: ReadonlyArray<Protocol.FunctionResponse>) => {
      return sendEncoded(
        "sendToolResponse",
        Protocol.encodeToolResponse(
          { functionResponses: quirks.outgoing(responses) },
          { requireId: backend.requiresFunctionResponseId, backend: backend.kind }
        )
      ).pipe(Effect.tap(() => {
        for (const response of responses) if (response.id !== undefined && response.willContinue !== true) pendingCalls.delete(response.id)
      }))
    }

    if (options.tools !== undefined) {
      dispatcher = yield* ToolDispatcher.make({
        toolkit: options.tools,
        manual: manualFunctions(options.connectConfig),
        context: yield* Effect.context<R>(),
        respond: (response) => Effect.catchTag(sendToolResponse({ functionResponses: response }), "ConfigError", Effect.die)
      })
    }

    const close = (code = 1000, reason = ""): Effect.Effect<Transport.CloseInfo> =>
      Effect.suspend(() => {
        if (ended !== undefined) return Effect.succeed(ended)
        closing ??= { code, reason, wasClean: true }
        const link = current
        if (link === undefined) {
          // Between connections: stop reconnecting; the session ends here.
          return stopSupervisor.pipe(Effect.zipRight(finish(closing, "client")), Effect.zipRight(awaitClosed()))
        }
        return link.connection.close(code, reason).pipe(
          Effect.flatMap((info) =>
            Effect.zipRight(
              // The reader delivers what arrived before the close, and tells onWebSocketClose.
              linkClosedInfo(link).pipe(Effect.timeout("1 second"), Effect.ignore, Effect.interruptible),
              finish(info, "client")
            )
          ),
          Effect.zipRight(awaitClosed())
        )
      })

    // Then the supervisor's fiber is interrupted, then the links close (`linksScope`, forked before).
    // (`Scope.addFinalizer`: no copy of this fiber's FiberRefs is kept for the session's lifetime.)
    yield* Scope.addFinalizer(sessionScope, Effect.zipRight(close(1000, ""), stopSupervisor))

    // -------------------------------------------------------------------------
    // The first connection: its failure is connect's
    // -------------------------------------------------------------------------

    yield* activate(yield* connectLink(undefined))

    /** What `sendAudio` and `audioInput` write through (made on first use). */
    let sink: SendAudio.Sink | undefined
    const audioSink = (): SendAudio.Sink =>
      sink ??= {
        write,
        trySend,
        awaitWritable: Effect.suspend(() => current?.connection.awaitWritable ?? Effect.void),
        automaticActivityDetection: automaticActivityDetection(setup),
        framesDropped: statistics.inputFramesDropped
      }

    // Plain properties (no getters: an object literal with accessors is a slow, dictionary-mode
    // object in V8). The server's session id and the trace are known once the first link is up.
    return {
      id,
      sessionId: sessionIdOf,
      setup,
      events: hub.events,
      runForEach: (handler) => hub.runForEach(handler),
      subscribe: hub.subscribe,
      sendClientContent: (input = {}) => sendEncoded("sendClientContent", Protocol.encodeClientContent(input)),
      sendRealtimeInput: (input) => sendEncoded("sendRealtimeInput", Protocol.encodeRealtimeInput(input)),
      sendToolResponse,
      sendAudio: (audio, audioOptions) => SendAudio.sendAudio(audioSink(), audio, audioOptions),
      audioInput: (inputOptions) => AudioInput.make(audioSink(), inputOptions),
      audio: playback.stream,
      audioAs: (format) => playbackAs(playback.stream, format),
      clearAudio: playback.clear,
      close,
      closed: Effect.suspend(awaitClosed),
      statistics: statistics.snapshot,
      trace: trace?.location
    } satisfies LiveSession
  })

/**
 * A new session id. Node builds `crypto.randomUUID()` by joining 20 pieces: a tree of strings that
 * V8 keeps (about 500 bytes) until something reads it flat. A copy is one string of 36 bytes.
 */
const newSessionId = (): string => Buffer.from(crypto.randomUUID(), "latin1").toString("latin1")

/** A proto Duration such as "50s" or "0.5s"; unknown forms count as 60 s (what the service announces). */
const parseDuration = (value: string | undefined): Duration.Duration => {
  const match = value === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(value)
  return match === null ? Duration.seconds(60) : Duration.millis(Math.round(Number(match[1]) * 1000))
}

/** A buffer size option: a whole number of at least `least`, if given. */
const bufferSize = (path: string, value: number | undefined, least: number): Effect.Effect<void, ConfigError> =>
  value === undefined || (Number.isInteger(value) && value >= least)
    ? Effect.void
    : Effect.fail(new ConfigError({ module: "LiveSession", method: "connect", path, description: `must be a whole number of at least ${least}` }))

/** A failure to reconnect that trying again cannot fix (a rejected setup the policy would not retry, bad config). */
const isFinal = (failure: LiveError): boolean =>
  (failure._tag === "SetupRejected" && !failure.retryable) || failure._tag === "ConfigError"

/** `sessionResumption.transparent: true` (Vertex AI): updates say `lastConsumedClientMessageIndex`. */
const isTransparent = (setup: Protocol.Setup): boolean =>
  (setup.sessionResumption as { readonly transparent?: unknown } | undefined)?.transparent === true

/** Adds `sessionResumption: {}` when the session reconnects by itself and the config says nothing of resumption. */
const withResumption = (
  config: Protocol.LiveConnectConfig,
  policy: ReconnectPolicy.ReconnectPolicy | undefined
): Protocol.LiveConnectConfig =>
  policy === undefined || config.sessionResumption !== undefined ? config : { ...config, sessionResumption: {} }

/** The config with the toolkit's declarations added to `tools`; NON_BLOCKING tools are refused on Vertex AI. */
const withTools = (
  config: Protocol.LiveConnectConfig,
  tools: Tool.Toolkit<any> | undefined,
  backend: Backend.Kind
): Effect.Effect<Protocol.LiveConnectConfig, ConfigError> => {
  if (tools === undefined) return Effect.succeed(config)
  for (const tool of tools.tools.values()) {
    if (tool.behavior === "NON_BLOCKING" && backend === Backend.VERTEX_AI) {
      return Effect.fail(
        new ConfigError({
          module: "LiveSession",
          method: "connect",
          path: `tools.${tool.name}.behavior`,
          description: "NON_BLOCKING functions (and their scheduling) are only supported on the GeminiAPI backend"
        })
      )
    }
  }
  return Effect.succeed({ ...config, tools: [...(config.tools ?? []), Tool.declarations(tools)] })
}

/** The functions the application declared itself in `connectConfig.tools` (it answers them). */
const manualFunctions = (config: Protocol.LiveConnectConfig): ReadonlySet<string> =>
  new Set(
    (config.tools ?? []).flatMap((tool) =>
      ((tool.functionDeclarations ?? []) as ReadonlyArray<{ readonly name?: unknown }>).flatMap((declaration) =>
        typeof declaration.name === "string" ? [declaration.name] : []
      )
    )
  )

/** Whether the server detects voice activity itself (unless `automaticActivityDetection.disabled`). */
const automaticActivityDetection = (setup: Protocol.Setup): boolean => {
  const config = setup.realtimeInputConfig as { automaticActivityDetection?: { disabled?: boolean } } | undefined
  return config?.automaticActivityDetection?.disabled !== true
}

/** Model audio converted to `format`; a new converter for each turn, so no filter state crosses a barge-in. */
const playbackAs = (audio: Stream.Stream<LiveSessionAudioChunk>, format: Audio.Format) =>
  Stream.suspend(() => {
    let key = ""
    let converter: Audio.Converter | undefined
    return audio.pipe(
      Stream.mapEffect((chunk) =>
        Effect.try({
          try: () => {
            const next = `${chunk.turn}/${chunk.sampleRate}`
            if (converter === undefined || next !== key) {
              key = next
              converter = Audio.makeConverter({ encoding: "pcm16", sampleRate: chunk.sampleRate as Audio.SampleRate }, format)
            }
            return converter.push(chunk.data)
          },
          catch: (error) => Audio.toAudioError("audioAs", error)
        })
      )
    )
  })

/** Calls the user's `onWebSocketClose`; a throwing callback is logged, never allowed to break the close. */
const notifyClose = (options: Options<any>, info: Transport.CloseInfo): Effect.Effect<void> =>
  options.onWebSocketClose === undefined
    ? Effect.void
    : Effect.try({
      try: () => options.onWebSocketClose!({ code: info.code, reason: info.reason, wasClean: info.wasClean }),
      catch: (error) => error
    }).pipe(Effect.catchAll((error) => Effect.logWarning(`effect-gemini-live: onWebSocketClose threw: ${String(error)}`)))

const record = (statistics: Statistics.SessionStatistics, events: ReadonlyArray<LiveEvent.LiveEvent>) => {
  for (const event of events) {
    if (event._tag === "AudioDelta") statistics.audioReceived(event.data.byteLength)
    else if (event._tag === "TurnComplete") statistics.turnCompleted()
    else if (event._tag === "Interrupted") statistics.interrupted()
  }
}

const textDecoder = new TextDecoder()
const frameText = (frame: Transport.Frame): string => (typeof frame === "string" ? frame : textDecoder.decode(frame))
