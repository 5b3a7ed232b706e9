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
import * as Auth from "../../Auth.js"
import * as Backend from "../../Backend.js"
import { ConfigError, ConnectError, type LiveError, ServerClosed, SessionClosed, SetupRejected } from "../../LiveError.js"
import * as LiveEvent from "../../LiveEvent.js"
import * as LiveModel from "../../LiveModel.js"
import type { AudioChunk as LiveSessionAudioChunk, LiveSession, Options } from "../../LiveSession.js"
import type { Services } from "../../Parameters.js"
import * as Protocol from "../../Protocol.js"
import * as ReconnectPolicy from "../../ReconnectPolicy.js"
import * as Statistics from "../../Statistics.js"
import * as Transport from "../../Transport.js"
import * as WireTrace from "../../WireTrace.js"
import * as Audio from "../../Audio.js"
import * as AudioData from "../codec/audioBytes.js"
import * as AudioInput from "../audio/audioInput.js"
import * as SendAudio from "../audio/sendAudio.js"
import * as EventHub from "../events/hub.js"
import * as ModelAudio from "../audio/modelAudio.js"
import * as Playback from "../audio/playback.js"
import * as ReplayLog from "./replayLog.js"
import * as Signal from "../kernel/signal.js"
import * as ToolDispatcher from "./toolDispatcher.js"
import * as Tool from "../../Tool.js"

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
    // The model's rules, checked before anything is sent (an unknown model is not checked): the
    // toolkit's functions first, so that an error names the tool rather than a place in the setup.
    const model = LiveModel.checkFor(yield* LiveModel.Models, options.model, backend.kind)
    const broken = model === undefined
      ? undefined
      : (options.tools === undefined
        ? undefined
        : LiveModel.checkTools(model, [Tool.declarations(options.tools)], "connect", (name) => `tools.${name}.behavior`)) ??
        LiveModel.checkSetup(model, setup)
    if (broken !== undefined) return yield* broken
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    return yield* open(options, setup, model, policy).pipe(
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
  /** Its binary frames are the session's alone once read (`Transport.ownsFrames`). */
  readonly ownsFrames: boolean
}

const open = <R>(
  options: Options<R>,
  setup: Protocol.Setup,
  model: LiveModel.Check | undefined,
  policy: ReconnectPolicy.ReconnectPolicy | undefined
): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services | R> =>
  Effect.gen(function*() {
    const statisticsService = yield* Statistics.Statistics
    const sessionScope = yield* Effect.scope
    const playback = options.audioBufferSize === 0
      ? Playback.disabled
      : yield* Playback.make(options.audioBufferSize ?? defaultAudioBufferSize)
    const hub = yield* EventHub.make<LiveEvent.LiveEvent>(options.eventBufferSize ?? defaultEventBufferSize, endsChunk)
    const statistics = yield* statisticsService.session
    const session = new Session({
      options,
      setup,
      model,
      policy,
      backend: yield* Backend.Backend,
      auth: yield* Auth.Auth,
      transport: yield* Transport.Transport,
      wireTrace: yield* WireTrace.WireTrace,
      statistics,
      countBytes: statisticsService.enabled,
      // Connections and the trace live in a scope that closes AFTER the session's close finalizer
      // (registered below), so that closing the session still sees every socket close.
      linksScope: yield* Scope.fork(sessionScope, ExecutionStrategy.sequential),
      hub,
      playback,
      modelAudio: yield* ModelAudio.make({
        playback,
        hub,
        scope: sessionScope,
        clock: yield* Effect.clock,
        playbackBytesDropped: statistics.playbackBytesDropped
      })
    })
    if (options.tools !== undefined) {
      session.dispatcher = yield* ToolDispatcher.make({
        toolkit: options.tools,
        manual: session.manualFunctions!,
        context: yield* Effect.context<R>(),
        respond: (response) => Effect.catchTag(session.sendToolResponse({ functionResponses: response }), "ConfigError", Effect.die)
      })
    }
    // On the scope's close: the session closes (1000), then the supervisor's fiber is interrupted,
    // then the links close (`linksScope`, forked before).
    // (`Scope.addFinalizer`: no copy of this fiber's FiberRefs is kept for the session's lifetime.)
    yield* Scope.addFinalizer(sessionScope, Effect.suspend(() => session.release()))
    // The first connection: its failure is connect's.
    yield* session.activate(yield* session.connectLink(undefined))
    return session.api()
  })

/** What a session is made of: its options, services and parts. */
interface Parts {
  readonly options: Options<any>
  readonly setup: Protocol.Setup
  readonly model: LiveModel.Check | undefined
  readonly policy: ReconnectPolicy.ReconnectPolicy | undefined
  readonly backend: Backend.Service
  readonly auth: Auth.Service
  readonly transport: Transport.Service
  readonly wireTrace: WireTrace.Service
  readonly statistics: Statistics.SessionStatistics
  /** Statistics are on: bytes are counted. */
  readonly countBytes: boolean
  readonly linksScope: Scope.CloseableScope
  readonly hub: EventHub.EventHub<LiveEvent.LiveEvent>
  readonly playback: Playback.Playback
  readonly modelAudio: ModelAudio.ModelAudio
}

/**
 * One session's state and steps. A class: its steps (receiving, connecting, reconnecting, the
 * handover, sending) are the prototype's methods, not closures made for each session, so that an
 * idle session holds its state and little else (a process may hold thousands). What users call is
 * the plain object `api()` makes.
 */
class Session {
  readonly id = newSessionId()
  private readonly options: Options<any>
  /** The setup the session opened with (`LiveSession.setup`). */
  private readonly setup: Protocol.Setup
  /** The setup of the next connection: the first, with the context updates sent since. */
  private linkSetup: Protocol.Setup
  /** The model's rules on this backend; `undefined` for a model `LiveModel` does not know. */
  private readonly model: LiveModel.Check | undefined
  /** With a toolkit: the functions the application declared itself (it answers them), which the dispatcher leaves alone. */
  readonly manualFunctions: Set<string> | undefined
  private readonly policy: ReconnectPolicy.ReconnectPolicy | undefined
  private readonly backend: Backend.Service
  private readonly auth: Auth.Service
  private readonly quirks: Backend.Quirks
  private readonly transport: Transport.Service
  private readonly wireTrace: WireTrace.Service
  private readonly statistics: Statistics.SessionStatistics
  private readonly countBytes: boolean
  private readonly linksScope: Scope.CloseableScope
  private readonly hub: EventHub.EventHub<LiveEvent.LiveEvent>
  private readonly playback: Playback.Playback
  private readonly modelAudio: ModelAudio.ModelAudio
  /** Transparent resumption: what the server may not have consumed, to send again on reconnecting. */
  private readonly replay: ReplayLog.ReplayLog | undefined
  /** Answers function calls, when the session has a toolkit. */
  dispatcher: ToolDispatcher.Dispatcher | undefined
  private trace: WireTrace.SessionTrace | undefined

  /** Woken when a link closes (`Link.closeInfo`) and when the session has closed (`closedInfo`). */
  private readonly changed = new Signal.Signal()
  /** Set once the session has closed and its last events are out: what `session.closed` gives. */
  private closedInfo: Transport.CloseInfo | undefined
  /**
   * Runs the reconnection or the handover in progress; made at the first one (most sessions never
   * need it). It lives in `linksScope`, and `close` interrupts its fiber before the links close.
   */
  private supervisor: FiberHandle.FiberHandle<void, never> | undefined
  /** The reconnect policy's schedule, driven across reconnections; made at the first one. */
  private retries: Schedule.ScheduleDriver<unknown, unknown, never> | undefined

  // State of the logical session, across its connections

  /** The link sends go to; undefined while (re)connecting. */
  private current: Link | undefined
  private linksOpened = 0
  /** The server's session id (of the first connection's `setupComplete`). */
  private sessionId: string | undefined
  /** Where sends wait while there is no current link; made by the first that has to. */
  private nextLink: Deferred.Deferred<Link, SessionClosed> | undefined
  /** Set when the application closes the session: the code and reason. */
  private closing: Transport.CloseInfo | undefined
  /** Set once the logical session has ended. */
  private ended: Transport.CloseInfo | undefined
  /** The latest resumption handle the server said can be resumed, and whether it is newer than any generation. */
  private handle: string | undefined
  private handleFresh = false
  private generating = false
  /** Function calls in flight (made at the first). */
  private pendingCalls: Set<string> | undefined
  /** BLOCKING calls in flight, on a model whose server cancels them on new input (made at the first). */
  private blockingCalls: Set<string> | undefined
  /** The conversation has started: realtime input was sent, or the model spoke (`LiveModel` clientContent rules). */
  private started = false
  /**
   * Calls the session cancelled: their responses are not sent (a lost connection: the resumed
   * conversation never made them; new input: the server cancelled them).
   */
  private voided: Set<string> | undefined
  /** What `sendAudio` and `audioInput` write through (made on first use). */
  private sink: SendAudio.Sink | undefined

  constructor(parts: Parts) {
    this.options = parts.options
    this.setup = parts.setup
    this.linkSetup = parts.setup
    this.model = parts.model
    this.manualFunctions = parts.options.tools === undefined ? undefined : new Set(functionNames(parts.options.connectConfig.tools))
    this.policy = parts.policy
    this.backend = parts.backend
    this.auth = parts.auth
    this.quirks = parts.backend.quirks()
    this.transport = parts.transport
    this.wireTrace = parts.wireTrace
    this.statistics = parts.statistics
    this.countBytes = parts.countBytes
    this.linksScope = parts.linksScope
    this.hub = parts.hub
    this.playback = parts.playback
    this.modelAudio = parts.modelAudio
    this.replay = parts.policy !== undefined && isTransparent(parts.setup) ? ReplayLog.make(replayLogBytes) : undefined
  }

  /**
   * The session users hold: plain properties (no getters: an object literal with accessors is a
   * slow, dictionary-mode object in V8). The server's session id and the trace are known once the
   * first link is up.
   */
  api(): LiveSession {
    const { hub, playback } = this
    return {
      id: this.id,
      sessionId: this.sessionId,
      setup: this.setup,
      events: hub.events,
      runForEach: (handler) => hub.runForEach(handler),
      listen: (handler) => hub.listen(handler),
      subscribe: hub.subscribe,
      sendClientContent: (input = {}) => this.sendClientContent(input),
      sendRealtimeInput: (input) => this.sendRealtimeInput(input),
      sendContextUpdate: (input) => this.sendContextUpdate(input),
      sendToolResponse: (input) => this.sendToolResponse(input),
      sendAudio: (audio, audioOptions) => SendAudio.sendAudio(this.audioSink(), audio, audioOptions),
      audioInput: (inputOptions) => AudioInput.make(this.audioSink(), inputOptions),
      audio: playback.stream,
      audioAs: (format) => playbackAs(playback.stream, format),
      clearAudio: playback.clear,
      close: (code, reason) => this.close(code, reason),
      closed: Effect.suspend(() => this.awaitClosed()),
      statistics: this.statistics.snapshot,
      trace: this.trace?.location
    } satisfies LiveSession
  }

  private closedError(method: string, info: Transport.CloseInfo): SessionClosed {
    return new SessionClosed({ module: "LiveSession", method, code: info.code, reason: info.reason })
  }

  private awaitClosed(): Effect.Effect<Transport.CloseInfo> {
    return Effect.zipRight(this.changed.awaitUntil(() => this.closedInfo !== undefined), Effect.sync(() => this.closedInfo!))
  }

  /** Runs once: the logical session is over (closed by the application, refused, or out of retries). */
  private finish(info: Transport.CloseInfo, initiator: "client" | "server"): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.ended !== undefined) return Effect.void
      this.ended = info
      this.current = undefined
      const error = initiator === "server" && info.code !== 1000
        ? new ServerClosed({ module: "LiveSession", method: "events", ...info })
        : undefined
      const waiting = this.nextLink
      this.nextLink = undefined
      return (waiting === undefined ? Effect.void : Deferred.fail(waiting, this.closedError("send", info))).pipe(
        Effect.zipRight(this.playback.end),
        Effect.zipRight(this.hub.end(LiveEvent.Closed({ info, initiator, error }))),
        Effect.zipRight(Effect.sync(() => {
          this.closedInfo = info
          this.changed.wake()
        }))
      )
    })
  }

  // ---------------------------------------------------------------------------
  // Receiving: frames -> events (each link's, as they arrive, all into one hub)
  // ---------------------------------------------------------------------------

  private observe(link: Link, message: Protocol.ServerMessage, events: ReadonlyArray<LiveEvent.LiveEvent>): void {
    if (message.setupComplete !== undefined && link.setupDone !== undefined) {
      Deferred.unsafeDone(link.setupDone, Exit.succeed(message.setupComplete.sessionId))
    }
    const update = message.sessionResumptionUpdate
    if (update !== undefined) {
      if (link === this.current) this.applyUpdate(link, update)
      else link.heldUpdates.push(update)
    }
    for (const event of events) {
      switch (event._tag) {
        case "AudioDelta":
        case "TextDelta":
          this.generating = true
          this.started = true
          this.handleFresh = false
          if (link !== this.current) link.outputWhileSwitching = true
          break
        case "TurnComplete":
        case "Interrupted":
          this.generating = false
          break
        case "ToolCall":
          this.started = true
          for (const call of event.functionCalls) {
            if (call.id === undefined) continue
            ;(this.pendingCalls ??= new Set()).add(call.id)
            const model = this.model
            if (model?.rules.inputCancelsBlockingCalls === true && this.behaviorOf(model, call.name) === "BLOCKING") {
              ;(this.blockingCalls ??= new Set()).add(call.id)
            }
          }
          if (link !== this.current) link.outputWhileSwitching = true
          break
        case "ToolCallCancellation":
          for (const callId of event.ids) {
            this.pendingCalls?.delete(callId)
            this.blockingCalls?.delete(callId)
          }
          break
      }
    }
  }

  /** The latest handle the server said can be resumed (a non-empty `newHandle` with `resumable: true`) is kept. */
  private applyUpdate(link: Link, update: ResumptionUpdate): void {
    if (update.resumable === true && update.newHandle !== undefined && update.newHandle !== "") {
      this.handle = update.newHandle
      this.handleFresh = true
      // Without the index (not Vertex AI), the handle is taken to cover what was sent until now.
      this.replay?.consumed(link.index, Number(update.lastConsumedClientMessageIndex ?? link.sent - 1))
    } else {
      this.handleFresh = false
    }
  }

  /**
   * Handles one frame synchronously, up to the first thing that has to wait (a full buffer, a
   * handover, a tool call); gives back that wait, in order, or `undefined` (usually): the next
   * frame can be handled at once.
   */
  private handleFrame(link: Link, frame: Transport.Frame): Effect.Effect<void> | undefined {
    const { hub, statistics, trace } = this
    if (this.countBytes) statistics.received(typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength)
    if (trace?.enabled) trace.received(frame)
    const decoded = Protocol.decodeServerMessage(frame)
    if (Either.isLeft(decoded)) {
      statistics.protocolError()
      return hub.offer([LiveEvent.Unknown({ message: frameText(frame), error: decoded.left })])
    }
    // The frame's memory takes the audio when nothing else will read it (a custom trace might keep it).
    AudioData.decodeInPlace(decoded.right, link.ownsFrames && trace?.enabled !== true && typeof frame !== "string" ? frame : undefined)
    const message = this.quirks.incoming(decoded.right)
    let events = LiveEvent.fromServerMessage(message)
    this.observe(link, message, events)
    if (message.setupComplete !== undefined && link.index > 0) {
      // A reconnection's setupComplete: users see Reconnected instead.
      events = events.filter((event) => event._tag !== "SetupComplete")
    }
    const voided = this.voided
    if (message.toolCallCancellation !== undefined && voided !== undefined) {
      // Calls the session already said were cancelled are not cancelled twice.
      events = events.flatMap((event): ReadonlyArray<LiveEvent.LiveEvent> => {
        if (event._tag !== "ToolCallCancellation") return [event]
        const ids = event.ids.filter((id) => !voided.has(id))
        return ids.length === 0 ? [] : ids.length === event.ids.length ? [event] : [LiveEvent.ToolCallCancellation({ ids })]
      })
    }
    if (this.countBytes) record(statistics, events)
    let effect: Effect.Effect<void> | undefined
    if (message.serverContent === undefined) {
      effect = hub.offer(events)
    } else {
      const routed = this.modelAudio.route(events)
      effect = routed.pending === undefined ? hub.offer(routed.events) : Effect.zipRight(routed.pending, hub.publish(routed.events))
    }
    if (message.goAway !== undefined && link === this.current && this.policy !== undefined) {
      effect = Effect.zipRight(effect ?? Effect.void, this.startHandover(link, message.goAway.timeLeft))
    }
    if (this.blockingCalls !== undefined && this.blockingCalls.size > 0 && userSpeaks(events)) {
      effect = Effect.zipRight(effect ?? Effect.void, this.cancelBlockingCalls())
    }
    const dispatcher = this.dispatcher
    if (dispatcher !== undefined && (message.toolCall !== undefined || message.toolCallCancellation !== undefined)) {
      const calls = message.toolCall?.functionCalls
      const cancelled = message.toolCallCancellation?.ids
      effect = (effect ?? Effect.void).pipe(
        Effect.zipRight(calls === undefined ? Effect.void : dispatcher.onToolCall(calls)),
        Effect.zipRight(cancelled === undefined ? Effect.void : dispatcher.onCancellation(cancelled))
      )
    }
    return effect
  }

  // ---------------------------------------------------------------------------
  // Connecting: one link = open, setup (with the handle when resuming), setupComplete
  // ---------------------------------------------------------------------------

  connectLink(resumeWith: string | undefined): Effect.Effect<Link, LiveError> {
    return Effect.gen(this, function*() {
      const credentials = yield* this.auth.credentials
      const endpoint = yield* this.backend.endpoint(credentials)
      this.trace ??= yield* this.wireTrace.open({ id: this.id, url: endpoint.display }).pipe(Scope.extend(this.linksScope))
      const scope = yield* Scope.fork(this.linksScope, ExecutionStrategy.sequential)
      return yield* this.openLink(scope, Redacted.value(endpoint.url), endpoint.headers, resumeWith).pipe(
        Scope.extend(scope),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
    })
  }

  private openLink(
    scope: Scope.CloseableScope,
    url: string,
    headers: Readonly<Record<string, string>>,
    resumeWith: string | undefined
  ): Effect.Effect<Link, LiveError, Scope.Scope> {
    return Effect.gen(this, function*() {
      const timeout = this.options.timeout
      const startedAt = yield* Clock.currentTimeMillis
      const connection = yield* this.transport.open({ url, headers, openTimeout: timeout })
      const setupDone = yield* Deferred.make<string | undefined>()
      const link: Link = {
        connection,
        scope,
        setupDone,
        closeInfo: undefined,
        openedAt: startedAt,
        index: this.linksOpened++,
        sent: 0,
        activated: false,
        superseded: false,
        outputWhileSwitching: false,
        heldUpdates: [],
        ownsFrames: Transport.ownsFrames(connection)
      }
      yield* Transport.listen(connection, {
        frame: (frame) => this.handleFrame(link, frame),
        closed: (info) => this.linkClosed(link, info)
      })
      const setup = this.linkSetup
      const linkSetup = resumeWith === undefined
        ? setup
        : { ...setup, sessionResumption: { ...(setup.sessionResumption as object), handle: resumeWith } }
      yield* this.sendOn(link, "setup", JSON.stringify({ setup: linkSetup }), false).pipe(Effect.ignore)
      const sessionId = yield* Deferred.await(setupDone).pipe(
        Effect.raceFirst(
          Effect.flatMap(this.linkClosedInfo(link), (info) =>
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
      link.setupDone = undefined
      this.statistics.setupCompleted((yield* Clock.currentTimeMillis) - startedAt)
      this.trace?.note(`setupComplete${sessionId === undefined ? "" : ` ${sessionId}`}${resumeWith === undefined ? "" : " (resumed)"}`)
      this.sessionId ??= sessionId
      return link
    })
  }

  /** Makes `link` the one sends go to, and lets waiting sends through (in order). */
  activate(link: Link): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.current = link
      link.activated = true
      for (const update of link.heldUpdates) this.applyUpdate(link, update)
      link.heldUpdates.length = 0
      const waiting = this.nextLink
      this.nextLink = undefined
      return waiting === undefined ? Effect.void : Deferred.succeed(waiting, link)
    })
  }

  /** From now on, sends wait for the next link (on the same Deferred as those already waiting, if any). */
  private deactivate(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.current = undefined
    })
  }

  /** Waits for the next link (with the sends already waiting); fails if the session ends first. */
  private awaitNextLink(): Effect.Effect<Link, SessionClosed> {
    return Effect.suspend(() =>
      this.ended !== undefined
        ? Effect.fail(this.closedError("send", this.ended))
        : Deferred.await(this.nextLink ??= Deferred.unsafeMake<Link, SessionClosed>(FiberId.none))
    )
  }

  /** The close `link`'s reader has seen, once it has. */
  private linkClosedInfo(link: Link): Effect.Effect<Transport.CloseInfo> {
    return Effect.zipRight(this.changed.awaitUntil(() => link.closeInfo !== undefined), Effect.sync(() => link.closeInfo!))
  }

  /**
   * A link's connection closed: tell the application, then decide for the session. The link is
   * over: its scope closes (what a long session's replaced connections held is let go).
   */
  private linkClosed(link: Link, info: Transport.CloseInfo): Effect.Effect<void> {
    return Effect.ensuring(this.handleLinkClose(link, info), Scope.close(link.scope, Exit.void))
  }

  private handleLinkClose(link: Link, info: Transport.CloseInfo): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      this.trace?.note(`close ${info.code} ${info.reason}${info.wasClean ? "" : " (not clean)"}`)
      link.closeInfo = info
      this.changed.wake()
      yield* notifyClose(this.options, info)
      const policy = this.policy
      if (this.ended !== undefined || link.superseded || !link.activated) return
      if (this.closing !== undefined) return yield* this.finish(info, "client")
      if (policy === undefined || !policy.retryable(info)) return yield* this.finish(info, "server")
      if (this.current === link || this.current === undefined) yield* this.deactivate()
      const stable = (yield* Clock.currentTimeMillis) - link.openedAt >= Duration.toMillis(policy.stableAfter)
      const supervisor = yield* this.supervised()
      yield* FiberHandle.run(supervisor, this.reconnect(info, stable))
    })
  }

  /**
   * Opens the next link (resuming with `resumeWith`) and, with transparent resumption, sends on it
   * again what the server had not consumed; the link is not the session's yet (`activate`).
   */
  private connectNext(
    resumeWith: string | undefined,
    stillWanted: () => boolean = () => true
  ): Effect.Effect<Resumed | "abandoned", LiveError> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(this.connectLink(resumeWith)), (link): Effect.Effect<Resumed | "abandoned", LiveError> => {
        if (!stillWanted()) return Effect.as(Scope.close(link.scope, Exit.void), "abandoned" as const)
        return restore(this.resend(link, resumeWith !== undefined)).pipe(
          Effect.map((replayed): Resumed => ({ link, ...replayed })),
          // Failed or interrupted: the link is nobody's; close it (it would go on reading).
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(link.scope, Exit.void)))
        )
      })
    )
  }

  /**
   * `connectNext`, then `use` its link at once: an interruption (the session closing, the old link
   * dying during a handover) cannot fall between, so a connected link is never left unused.
   */
  private connectThen<A>(
    resumeWith: string | undefined,
    stillWanted: (() => boolean) | undefined,
    use: (result: Either.Either<Resumed | "abandoned", LiveError>) => Effect.Effect<A>
  ): Effect.Effect<A> {
    return Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.either(restore(this.connectNext(resumeWith, stillWanted))), use))
  }

  /**
   * Transparent resumption, on a link resumed with the handle: sends again what the server had not
   * consumed. The log itself changes only when the session switches to the link (`switchTo`).
   */
  private resend(link: Link, resumed: boolean): Effect.Effect<Omit<Resumed, "link">, SessionClosed> {
    return Effect.suspend(() => {
      if (this.replay === undefined) return Effect.succeed({ ...nothingResent, resumed })
      const { dropped, frames } = this.replay.pending()
      // A fresh conversation: the old one's messages belong to a context that is gone.
      if (!resumed) return Effect.succeed({ resumed, resentFrom: 0, resent: 0, lost: frames.length + dropped })
      const resentFrom = link.sent
      return Effect.forEach(frames, (frame) => this.sendOn(link, "resend", frame, false), { discard: true }).pipe(
        Effect.as({ resumed, resentFrom, resent: frames.length, lost: dropped })
      )
    })
  }

  /** A lost connection voids its function calls: the resumed conversation predates them (`resumable: false` at each). */
  private voidPendingCalls(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.generating = false
      return this.pendingCalls === undefined ? Effect.void : this.cancelCalls([...this.pendingCalls])
    })
  }

  /** New input cancels the BLOCKING calls in flight, as the server does (`LiveModel.Rules.inputCancelsBlockingCalls`). */
  private cancelBlockingCalls(): Effect.Effect<void> {
    return Effect.suspend(() => (this.blockingCalls === undefined ? Effect.void : this.cancelCalls([...this.blockingCalls])))
  }

  /**
   * Calls that will not be answered: their handlers are interrupted, their responses not sent, and
   * readers told (without waiting for room: a send may cancel calls from a reader's own handler).
   */
  private cancelCalls(ids: ReadonlyArray<string>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (ids.length === 0) return Effect.void
      for (const id of ids) {
        this.pendingCalls?.delete(id)
        this.blockingCalls?.delete(id)
        ;(this.voided ??= new Set()).add(id)
      }
      this.hub.offer([LiveEvent.ToolCallCancellation({ ids })])
      return this.dispatcher?.onCancellation(ids) ?? Effect.void
    })
  }

  /**
   * Reconnects after an unexpected close, with the latest handle, on the policy's schedule. A link
   * that died before `stableAfter` counts as a failed attempt (it waits first: no reconnect storm
   * against a server that accepts and drops); one that lived longer resets the count.
   */
  private reconnect(cause: Transport.CloseInfo, stable: boolean): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      yield* this.voidPendingCalls()
      const retries = this.retries ??= yield* Schedule.driver(this.policy!.schedule)
      if (stable) yield* retries.reset
      let attempt = 0
      let resumeWith = this.handle
      let failure: LiveError | undefined
      let wait = !stable
      while (this.ended === undefined) {
        if (wait && Either.isLeft(yield* Effect.either(retries.next(failure ?? cause)))) break
        wait = true
        attempt++
        yield* this.hub.publish([LiveEvent.Reconnecting({ attempt, reason: "Closed", close: cause })])
        const result = yield* this.connectThen(
          resumeWith,
          undefined,
          (result): Effect.Effect<Either.Either<Resumed, LiveError>> =>
            Either.isLeft(result)
              ? Effect.succeed(Either.left(result.left))
              : result.right === "abandoned"
              ? Effect.dieMessage("a reconnection is never abandoned")
              : Effect.as(this.switchTo(result.right), Either.right(result.right))
        )
        if (Either.isRight(result)) {
          const { lost, resent } = result.right
          return yield* this.hub.publish([LiveEvent.Reconnected({ resumed: resumeWith !== undefined, attempts: attempt, resent, lost })])
        }
        failure = result.left
        if (failure._tag === "SetupRejected" && failure.code === 1007 && resumeWith !== undefined) {
          // The handle was refused (expired, unknown: INVALID_ARGUMENT): start afresh rather than fail.
          resumeWith = this.handle = undefined
          wait = false
        } else if (isFinal(failure)) {
          break
        }
      }
      yield* this.finish(
        failure !== undefined && "code" in failure ? { code: failure.code as number, reason: String(failure.reason), wasClean: false } : cause,
        "server"
      )
    })
  }

  /** The supervisor, made now if it is the first reconnection or handover. */
  private supervised(): Effect.Effect<FiberHandle.FiberHandle<void, never>> {
    return Effect.suspend(() =>
      this.supervisor !== undefined
        ? Effect.succeed(this.supervisor)
        : Effect.map(Scope.extend(FiberHandle.make<void, never>(), this.linksScope), (handle) => (this.supervisor ??= handle))
    )
  }

  /** Interrupts the reconnection or handover in progress, if any. */
  private stopSupervisor(): Effect.Effect<void> {
    return Effect.suspend(() => (this.supervisor === undefined ? Effect.void : FiberHandle.clear(this.supervisor)))
  }

  /** goAway: open the next connection at a safe point before the deadline, switch, close the old one. */
  private startHandover(link: Link, timeLeft: string | undefined): Effect.Effect<void> {
    return Effect.flatMap(this.supervised(), (supervisor) =>
      FiberHandle.run(supervisor, this.handover(link, parseDuration(timeLeft)), { onlyIfMissing: true })).pipe(Effect.asVoid)
  }

  /**
   * The handover: at a safe point (or at `timeLeft` minus the margin, whatever happens), connect the
   * next link with the handle. If the model said something on the old link meanwhile, the
   * conversation moved on past the handle (and, with transparent resumption, the new link was sent
   * again what the old one is answering): go back to the old link and try again at the next safe
   * point, with a newer handle. At the deadline, switch anyway; calls still in flight are voided.
   */
  private handover(link: Link, timeLeft: Duration.Duration): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const margin = Duration.min(this.policy!.handoverMargin, Duration.times(timeLeft, 0.5))
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(timeLeft) - Duration.toMillis(margin)
      for (let attempt = 1; this.ended === undefined && link === this.current; attempt++) {
        const late = !(yield* this.safePointBefore(deadline))
        if (this.ended !== undefined || link !== this.current) return
        if (late) yield* this.voidPendingCalls()
        yield* this.hub.publish([LiveEvent.Reconnecting({ attempt, reason: "GoAway", close: undefined })])
        yield* this.deactivate()
        link.outputWhileSwitching = false
        const resumeWith = this.handle
        // Checked before anything is sent again on the new link (it would answer it too).
        const stillWanted = () => late || !link.outputWhileSwitching
        const outcome = yield* this.connectThen(resumeWith, stillWanted, (result): Effect.Effect<"failed" | "again" | Resumed> => {
          // The old connection still works until its deadline: keep it; its close will reconnect.
          if (Either.isLeft(result)) return Effect.as(this.activate(link), "failed" as const)
          if (result.right === "abandoned") return Effect.as(this.activate(link), "again" as const)
          link.superseded = true
          return Effect.as(this.switchTo(result.right), result.right)
        })
        if (outcome === "failed") return
        if (outcome === "again") continue
        yield* this.hub.publish([
          LiveEvent.Reconnected({ resumed: resumeWith !== undefined, attempts: attempt, resent: outcome.resent, lost: outcome.lost })
        ])
        return yield* link.connection.close(1000, "")
      }
    })
  }

  /** Makes a new link the session's. */
  private switchTo(next: Resumed): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.replay !== undefined) {
        if (next.resumed) this.replay.resentOn(next.link.index, next.resentFrom, next.resent)
        else this.replay.clear()
      }
      this.statistics.reconnected()
      this.generating = false
      // Resumed: the state is the handle's (plus what was sent again), a safe point.
      this.handleFresh = true
      const warning = next.lost === 0 ? Effect.void : Effect.logWarning(
        `effect-gemini-live: ${next.lost} client messages the server may not have consumed were not sent again (${
          next.resumed ? `too old for the replay log of ${replayLogBytes} bytes` : "the session started afresh"
        })`
      )
      return Effect.zipRight(warning, this.activate(next.link))
    })
  }

  /** Waits for a safe point until `deadline` (epoch millis): whether one came. */
  private safePointBefore(deadline: number): Effect.Effect<boolean> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.repeat(Effect.sync(() => this.isSafePoint()), { until: (safe) => safe, schedule: Schedule.spaced("20 millis") }).pipe(
        Effect.timeout(Duration.millis(Math.max(0, deadline - now))),
        Effect.as(true),
        Effect.catchAll(() => Effect.succeed(false))
      ))
  }

  /** No generation and no function call in flight, and a handle newer than the last generation. */
  private isSafePoint(): boolean {
    return !this.generating && (this.pendingCalls === undefined || this.pendingCalls.size === 0) &&
      (this.handle === undefined || this.handleFresh)
  }

  // ---------------------------------------------------------------------------
  // Sending: straight to the current link, or waiting for the next one
  // ---------------------------------------------------------------------------

  /**
   * Writes one client message to `link`. With transparent resumption it is also written down in
   * the replay log, unless `replayable` is false: `setup` (each link sends its own), a resend
   * (already there), and function responses (they answer calls a resumed conversation never made).
   */
  private sendOn(link: Link, method: string, frame: string, replayable: boolean): Effect.Effect<void, SessionClosed> {
    return Effect.suspend(() => {
      const index = this.written(link, frame, replayable)
      const sent = Effect.mapError(
        link.connection.send(frame),
        (error) => new SessionClosed({ module: "LiveSession", method, code: error.close.code, reason: error.close.reason })
      )
      // Taken back from the replay log if it did not go out.
      const replay = this.replay
      return replay === undefined || !replayable ? sent : Effect.tapError(sent, () => Effect.sync(() => replay.retract(link.index, index)))
    })
  }

  /** Counts, traces, numbers (in wire order) and writes down a message going out on `link`; its index. */
  private written(link: Link, frame: string, replayable: boolean): number {
    if (this.countBytes) this.statistics.sent(Buffer.byteLength(frame))
    if (this.trace?.enabled) this.trace.sent(frame)
    const index = link.sent++
    if (this.replay !== undefined && replayable) this.replay.sent(link.index, index, frame)
    return index
  }

  /**
   * The synchronous path of `write`, for audio frames: written now to the current link if it can
   * take it at once (`Connection.trySend`); `false` otherwise, and nothing happened (use `write`).
   */
  private trySend(frame: string): boolean {
    const link = this.current
    if (link === undefined || this.ended !== undefined || this.closing !== undefined || link.connection.trySend?.(frame) !== true) {
      return false
    }
    this.started = true
    this.written(link, frame, true)
    return true
  }

  /** A send found its link closing: with a policy, it waits for the next link instead of failing. */
  private sendOrWait(link: Link, method: string, frame: string): Effect.Effect<void, SessionClosed> {
    return Effect.catchAll(this.sendOn(link, method, frame, method !== "sendToolResponse"), (error) => {
      if (this.policy === undefined || this.ended !== undefined || this.closing !== undefined) return Effect.fail(error)
      return Effect.zipRight(this.current === link ? this.deactivate() : Effect.void, this.write(method, frame))
    })
  }

  /** Sends when run (not when built: a send effect can be retried or repeated). */
  private write(method: string, frame: string): Effect.Effect<void, SessionClosed> {
    return Effect.suspend(() => {
      if (method !== "sendClientContent" && method !== "sendContextUpdate") this.started = true
      if (this.ended !== undefined) return Effect.fail(this.closedError(method, this.ended))
      if (this.closing !== undefined) return Effect.fail(this.closedError(method, this.closing))
      if (this.current !== undefined) return this.sendOrWait(this.current, method, frame)
      return Effect.flatMap(
        Effect.mapError(
          this.awaitNextLink(),
          (error) => new SessionClosed({ module: "LiveSession", method, code: error.code, reason: error.reason })
        ),
        () => this.write(method, frame)
      )
    })
  }

  private sendEncoded(method: string, encoded: Either.Either<string, ConfigError>): Effect.Effect<void, ConfigError | SessionClosed> {
    return Either.isLeft(encoded) ? Effect.fail(encoded.left) : this.write(method, encoded.right)
  }

  /** `clientContent`, checked against the model's rules when it is sent (they depend on whether the conversation started). */
  private sendClientContent(input: Protocol.ClientContentInput): Effect.Effect<void, ConfigError | SessionClosed> {
    const encoded = Protocol.encodeClientContent(input)
    if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
    return Effect.suspend((): Effect.Effect<void, ConfigError | SessionClosed> => {
      const model = this.model
      if (model !== undefined) {
        const turns = input.turns == null ? undefined : Either.getOrUndefined(Protocol.toTurns(input.turns))
        const broken = LiveModel.checkClientContent(model, this.setup, turns, { started: this.started })
        if (broken !== undefined) return Effect.fail(broken)
      }
      return Effect.zipRight(this.newInput(), this.write("sendClientContent", encoded.right))
    })
  }

  private sendRealtimeInput(input: Protocol.RealtimeInput): Effect.Effect<void, ConfigError | SessionClosed> {
    const encoded = Protocol.encodeRealtimeInput(input)
    if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
    const write = this.write("sendRealtimeInput", encoded.right)
    return input.text != null || input.activityStart != null ? Effect.zipRight(this.newInput(), write) : write
  }

  /** Input that starts a user turn: on a model whose server cancels BLOCKING calls then, they are cancelled here too (when run). */
  private newInput(): Effect.Effect<void> {
    return Effect.suspend(() => (this.blockingCalls === undefined || this.blockingCalls.size === 0 ? Effect.void : this.cancelBlockingCalls()))
  }

  /**
   * `contextUpdate`: checked against the model's rules, sent in order with the rest, and kept for
   * the setup of the next connections (a reconnection keeps the updated context). Functions it
   * declares are the application's to answer.
   */
  private sendContextUpdate(input: Protocol.ContextUpdateInput): Effect.Effect<void, ConfigError | SessionClosed> {
    const encoded = Protocol.encodeContextUpdate(input)
    if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
    const update = encoded.right
    const broken = this.model === undefined ? undefined : LiveModel.checkTools(this.model, update.tools, "sendContextUpdate", "tools")
    if (broken !== undefined) return Effect.fail(broken)
    return Effect.tap(this.write("sendContextUpdate", update.frame), () => {
      const setup: Record<string, unknown> = { ...this.linkSetup }
      if (update.systemInstruction !== undefined) setup.systemInstruction = update.systemInstruction
      if (update.tools !== undefined) {
        setup.tools = update.tools
        for (const name of functionNames(update.tools)) this.manualFunctions?.add(name)
      }
      this.linkSetup = setup as Protocol.Setup
    })
  }

  /** A function's behaviour: as declared in the setup (or a context update), else the model's default. */
  private behaviorOf(model: LiveModel.Check, name: string): LiveModel.Behavior | undefined {
    return LiveModel.functionBehaviors(model.rules, this.linkSetup.tools as ReadonlyArray<unknown> | undefined).get(name) ??
      model.rules.defaultBehavior
  }

  /** Resolves once there is a link to send on (or the session is over: the send will say so). */
  private linkReady(): Effect.Effect<void> {
    return Effect.suspend(() =>
      this.current !== undefined || this.ended !== undefined || this.closing !== undefined ? Effect.void : Effect.ignore(this.awaitNextLink())
    )
  }

  /** Function responses, but not to calls the session cancelled (checked once a link is there). */
  sendToolResponse(input: Protocol.ToolResponseInput): Effect.Effect<void, ConfigError | SessionClosed> {
    return Effect.zipRight(
      this.linkReady(),
      Effect.suspend(() => {
        const voided = this.voided
        const all = Protocol.functionResponsesOf(input)
        if (voided === undefined) return this.sendToolResponses(all)
        const responses = all.filter((response) => response.id === undefined || !voided.has(response.id))
        if (responses.length === all.length) return this.sendToolResponses(responses)
        const stale = all.flatMap((response) => (response.id !== undefined && voided.has(response.id) ? [response.id] : []))
        return Effect.zipRight(
          Effect.logWarning(`effect-gemini-live: not sent: responses to cancelled calls (a lost connection, or new input) (${stale.join(", ")})`),
          responses.length === 0 ? Effect.void : this.sendToolResponses(responses)
        )
      })
    )
  }

  private sendToolResponses(responses: ReadonlyArray<Protocol.FunctionResponse>): Effect.Effect<void, ConfigError | SessionClosed> {
    return this.sendEncoded(
      "sendToolResponse",
      Protocol.encodeToolResponse(
        { functionResponses: this.quirks.outgoing(responses) },
        {
          requireId: this.backend.requiresFunctionResponseId,
          backend: this.backend.kind,
          acceptsWillContinue: this.backend.acceptsWillContinue
        }
      )
    ).pipe(Effect.tap(() => {
      for (const response of responses) {
        if (response.id === undefined || response.willContinue === true) continue
        this.pendingCalls?.delete(response.id)
        this.blockingCalls?.delete(response.id)
      }
    }))
  }

  /** What `sendAudio` and `audioInput` write through (made on first use). */
  private audioSink(): SendAudio.Sink {
    return this.sink ??= {
      write: (method, frame) => this.write(method, frame),
      trySend: (frame) => this.trySend(frame),
      awaitWritable: Effect.suspend(() => this.current?.connection.awaitWritable ?? Effect.void),
      automaticActivityDetection: automaticActivityDetection(this.setup),
      framesDropped: this.statistics.inputFramesDropped
    }
  }

  // ---------------------------------------------------------------------------
  // Closing
  // ---------------------------------------------------------------------------

  private close(code = 1000, reason = ""): Effect.Effect<Transport.CloseInfo> {
    return Effect.suspend(() => {
      if (this.ended !== undefined) return Effect.succeed(this.ended)
      const closing = this.closing ??= { code, reason, wasClean: true }
      const link = this.current
      if (link === undefined) {
        // Between connections: stop reconnecting; the session ends here.
        return this.stopSupervisor().pipe(Effect.zipRight(this.finish(closing, "client")), Effect.zipRight(this.awaitClosed()))
      }
      return link.connection.close(code, reason).pipe(
        Effect.flatMap((info) =>
          Effect.zipRight(
            // The reader delivers what arrived before the close, and tells onWebSocketClose.
            this.linkClosedInfo(link).pipe(Effect.timeout("1 second"), Effect.ignore, Effect.interruptible),
            this.finish(info, "client")
          )
        ),
        Effect.zipRight(this.awaitClosed())
      )
    })
  }

  /** The session scope's close: the session closes (1000), then its reconnection or handover stops. */
  release(): Effect.Effect<void> {
    return Effect.zipRight(this.close(1000, ""), this.stopSupervisor())
  }
}

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

/** The config with the toolkit's declarations added to `tools`; generator tools (`willContinue`) are refused on Vertex AI. */
const withTools = (
  config: Protocol.LiveConnectConfig,
  tools: Tool.Toolkit<any> | undefined,
  backend: Backend.Kind
): Effect.Effect<Protocol.LiveConnectConfig, ConfigError> => {
  if (tools === undefined) return Effect.succeed(config)
  for (const tool of tools.tools.values()) {
    if (tool.stream !== undefined && backend === Backend.VERTEX_AI) {
      return Effect.fail(
        new ConfigError({
          module: "LiveSession",
          method: "connect",
          path: `tools.${tool.name}`,
          description: "generator tools (function responses with willContinue) are only supported on the GeminiAPI backend"
        })
      )
    }
  }
  return Effect.succeed({ ...config, tools: [...(config.tools ?? []), Tool.declarations(tools)] })
}

/** The names of the functions `tools` declare. */
const functionNames = (tools: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined): ReadonlyArray<string> =>
  (tools ?? []).flatMap((tool) =>
    ((Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : []) as ReadonlyArray<{ readonly name?: unknown }>).flatMap((
      declaration
    ) => typeof declaration?.name === "string" ? [declaration.name] : [])
  )

/**
 * Whether the server says it detected the user's speech (new input, for `inputCancelsBlockingCalls`).
 * Not a transcription: it may trail the speech that caused the call.
 */
const userSpeaks = (events: ReadonlyArray<LiveEvent.LiveEvent>): boolean =>
  events.some((event) => event._tag === "VoiceActivity" && (event.type === "ACTIVITY_START" || event.type === "VAD_SIGNAL_TYPE_SOS"))

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
