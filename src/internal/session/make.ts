/**
 * A session: one logical conversation over a sequence of connections ("links"). `make` checks the
 * options against the model, wires the parts (`Session`), opens the first link and gives back the
 * object users hold. Its life is `State`; frames come in through `receive`, go out through `send`;
 * the `supervisor` reconnects and hands over; `close` ends it, bounded.
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Audio from "../../Audio.js"
import * as Auth from "../../Auth.js"
import * as Backend from "../../Backend.js"
import { ConfigError, type LiveError } from "../../LiveError.js"
import * as LiveEvent from "../../LiveEvent.js"
import * as LiveModel from "../../LiveModel.js"
import type { AudioChunk, LiveSession, Options } from "../../LiveSession.js"
import type { Services } from "../../Parameters.js"
import type * as Protocol from "../../Protocol.js"
import * as ReconnectPolicy from "../../ReconnectPolicy.js"
import * as Statistics from "../../Statistics.js"
import * as Tool from "../../Tool.js"
import * as Transport from "../../Transport.js"
import * as WireTrace from "../../WireTrace.js"
import * as AudioInput from "../audio/audioInput.js"
import * as ModelAudio from "../audio/modelAudio.js"
import * as Playback from "../audio/playback.js"
import * as SendAudio from "../audio/sendAudio.js"
import * as EventHub from "../events/hub.js"
import * as Resumption from "./resumption.js"
import * as Send from "./send.js"
import { Session } from "./session.js"
import * as State from "./state.js"
import * as Supervisor from "./supervisor.js"
import * as ToolDispatcher from "./toolDispatcher.js"

const defaultEventBufferSize = 256
const defaultAudioBufferSize = 150

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
    const config = Resumption.withResumption(yield* withTools(options.connectConfig, options.tools, backend.kind), policy)
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
      // Closes AFTER the session's close finalizer (registered below): closing still sees every socket close.
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
        respond: (response) => Effect.catchTag(Send.sendToolResponse(session, { functionResponses: response }), "ConfigError", Effect.die)
      })
    }
    // On the scope's close: the session closes (1000), the supervisor stops, then the links close.
    // (`Scope.addFinalizer`: no copy of this fiber's FiberRefs is kept for the session's lifetime.)
    yield* Scope.addFinalizer(sessionScope, Effect.suspend(() => Effect.zipRight(close(session, 1000, ""), Supervisor.stop(session))))
    // The first connection: its failure is connect's.
    yield* State.activate(session, yield* Supervisor.connect(session, undefined))
    return api(session)
  })

/**
 * The session users hold: plain properties (no getters: accessors make a slow dictionary-mode
 * object). The server's session id and the trace are known once the first link is up.
 */
const api = (session: Session): LiveSession => {
  const { hub, playback } = session
  return {
    id: session.id,
    sessionId: session.sessionId,
    setup: session.setup,
    events: hub.events,
    runForEach: (handler) => hub.runForEach(handler),
    listen: (handler) => hub.listen(handler),
    subscribe: hub.subscribe,
    sendClientContent: (input = {}) => Send.sendClientContent(session, input),
    sendRealtimeInput: (input) => Send.sendRealtimeInput(session, input),
    sendContextUpdate: (input) => Send.sendContextUpdate(session, input),
    sendToolResponse: (input) => Send.sendToolResponse(session, input),
    sendAudio: (audio, audioOptions) => SendAudio.sendAudio(Send.audioSink(session), audio, audioOptions),
    audioInput: (inputOptions) => AudioInput.make(Send.audioSink(session), inputOptions),
    audio: playback.stream,
    audioAs: (format) => playbackAs(playback.stream, format),
    clearAudio: playback.clear,
    close: (code, reason) => close(session, code, reason),
    closed: Effect.suspend(() => State.awaitClosed(session)),
    statistics: session.statistics.snapshot,
    trace: session.trace?.location
  } satisfies LiveSession
}

/**
 * Closes the session: `Closing` (sends fail), the link closes with `code`, its reader delivers what
 * arrived before the close (up to a second), then `Closed`. Between links: reconnecting stops.
 */
const close = (session: Session, code = 1000, reason = ""): Effect.Effect<Transport.CloseInfo> =>
  Effect.suspend(() => {
    const state = session.state
    if (state._tag === "Closed") return Effect.succeed(state.info)
    const info = state._tag === "Closing" ? state.info : { code, reason, wasClean: true }
    return Effect.flatMap(state._tag === "Closing" ? Effect.succeed(state.link) : State.toClosing(session, info), (link) =>
      link === undefined
        ? Supervisor.stop(session).pipe(Effect.zipRight(State.finish(session, info, "client")), Effect.zipRight(State.awaitClosed(session)))
        : link.connection.close(info.code, info.reason).pipe(
          Effect.flatMap((closed) =>
            Effect.zipRight(
              State.linkClosed(session, link).pipe(Effect.timeout("1 second"), Effect.ignore, Effect.interruptible),
              State.finish(session, closed, "client")
            )
          ),
          Effect.zipRight(State.awaitClosed(session))
        ))
  })

/** A buffer size option: a whole number of at least `least`, if given. */
const bufferSize = (path: string, value: number | undefined, least: number): Effect.Effect<void, ConfigError> =>
  value === undefined || (Number.isInteger(value) && value >= least)
    ? Effect.void
    : Effect.fail(new ConfigError({ module: "LiveSession", method: "connect", path, description: `must be a whole number of at least ${least}` }))

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

/** Model audio converted to `format`; a new converter for each turn, so no filter state crosses a barge-in. */
const playbackAs = (audio: Stream.Stream<AudioChunk>, format: Audio.Format) =>
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
