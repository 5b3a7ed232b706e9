/**
 * The session state machine: open the socket, send `setup`, await `setupComplete`, then one reader
 * fiber turns frames into events while sends write straight to the socket, until the close.
 *
 *   frames ─> Protocol.decodeServerMessage ─> Backend quirks ─> LiveEvent.fromServerMessage ─> EventHub
 *                                                                     └─ AudioDelta ─> Playback (session.audio)
 *   send*  ─> Protocol.encode* ─> Statistics + WireTrace ─> Connection.send
 *   sendAudio ─> audioInput (convert, frame, pace) ─> the same write
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Auth from "../Auth.js"
import * as Backend from "../Backend.js"
import { ConfigError, ConnectError, type LiveError, ServerClosed, SessionClosed, SetupRejected } from "../LiveError.js"
import * as LiveEvent from "../LiveEvent.js"
import type { AudioChunk as LiveSessionAudioChunk, LiveSession, Options } from "../LiveSession.js"
import type { Services } from "../Parameters.js"
import * as Protocol from "../Protocol.js"
import * as Statistics from "../Statistics.js"
import * as Transport from "../Transport.js"
import * as WireTrace from "../WireTrace.js"
import * as Audio from "../Audio.js"
import * as AudioInput from "./audioInput.js"
import * as EventHub from "./eventHub.js"
import * as ModelAudio from "./modelAudio.js"
import * as Playback from "./playback.js"
import * as ToolDispatcher from "./toolDispatcher.js"
import * as Tool from "../Tool.js"

const defaultEventBufferSize = 256
const defaultAudioBufferSize = 150

export const make = <R>(options: Options<R>): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services | R> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const setup = yield* backend.setup(options.model, yield* withTools(options.connectConfig, options.tools, backend.kind))
    const credentials = yield* Effect.flatMap(Auth.Auth, (auth) => auth.credentials)
    const endpoint = yield* backend.endpoint(credentials)
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    return yield* open(options, setup, endpoint).pipe(
      Scope.extend(scope),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
    )
  }).pipe(Effect.withSpan("GeminiLive.connect", { attributes: { model: options.model } }))

const open = <R>(
  options: Options<R>,
  setup: Protocol.Setup,
  endpoint: Backend.Endpoint
): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services | R> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const quirks = backend.quirks()
    const transport = yield* Transport.Transport
    const statisticsService = yield* Statistics.Statistics
    const statistics = yield* statisticsService.session
    const countBytes = statisticsService.enabled
    const id = crypto.randomUUID()
    const trace = yield* Effect.flatMap(WireTrace.WireTrace, (wireTrace) => wireTrace.open({ id, url: endpoint.display }))
    const hub = yield* EventHub.make<LiveEvent.LiveEvent>(options.eventBufferSize ?? defaultEventBufferSize)
    const playback = yield* Playback.make(options.audioBufferSize ?? defaultAudioBufferSize)
    const sessionScope = yield* Effect.scope
    const setupDone = yield* Deferred.make<string | undefined>()
    const closed = yield* Deferred.make<Transport.CloseInfo>()
    const startedAt = yield* Clock.currentTimeMillis

    const connection = yield* transport.open({
      url: Redacted.value(endpoint.url),
      headers: endpoint.headers,
      openTimeout: options.timeout
    })

    /** Set when this side starts closing: the code and reason it closes with. */
    let closing: Transport.CloseInfo | undefined
    let closeInfo: Transport.CloseInfo | undefined

    /** Runs once, whoever sees the close first: the reader, `close`, or the scope's finalizer. */
    const finish = (info: Transport.CloseInfo): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (closeInfo !== undefined) return Effect.void
        closeInfo = info
        const initiator = closing === undefined ? "server" : "client"
        trace.note(`close ${info.code} ${info.reason} (${initiator}${info.wasClean ? "" : ", not clean"})`)
        const error = initiator === "server" && info.code !== 1000
          ? new ServerClosed({ module: "LiveSession", method: "events", ...info })
          : undefined
        return notifyClose(options, info).pipe(
          Effect.zipRight(playback.end),
          Effect.zipRight(hub.end(LiveEvent.Closed({ info, initiator, error }))),
          Effect.zipRight(Deferred.succeed(closed, info))
        )
      })

    /** Answers function calls, when the session has a toolkit (created once sends exist, below). */
    let dispatcher: ToolDispatcher.Dispatcher | undefined
    const dispatch = (message: Protocol.ServerMessage): Effect.Effect<void> => {
      if (dispatcher === undefined) return Effect.void
      const calls = message.toolCall?.functionCalls
      const cancelled = message.toolCallCancellation?.ids
      return Effect.zipRight(
        calls === undefined ? Effect.void : dispatcher.onToolCall(calls),
        cancelled === undefined ? Effect.void : dispatcher.onCancellation(cancelled)
      )
    }

    const handleFrame = (frame: Transport.Frame): Effect.Effect<void> => {
      if (countBytes) statistics.received(typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength)
      if (trace.enabled) trace.received(frame)
      const decoded = Protocol.decodeServerMessage(frame)
      if (Either.isLeft(decoded)) {
        statistics.protocolError()
        return hub.publish([LiveEvent.Unknown({ message: frameText(frame), error: decoded.left })])
      }
      const message = quirks.incoming(decoded.right)
      const events = LiveEvent.fromServerMessage(message)
      if (message.setupComplete !== undefined) Deferred.unsafeDone(setupDone, Exit.succeed(message.setupComplete.sessionId))
      if (countBytes) record(statistics, events)
      const published = message.serverContent === undefined ? hub.publish(events) : Effect.flatMap(modelAudio.route(events), hub.publish)
      return message.toolCall === undefined && message.toolCallCancellation === undefined
        ? published
        : Effect.zipRight(published, dispatch(message))
    }

    const modelAudio = ModelAudio.make({
      playback,
      publish: hub.publish,
      scope: sessionScope,
      playbackBytesDropped: statistics.playbackBytesDropped
    })

    const reader = yield* connection.frames.pipe(
      Stream.runForEach(handleFrame),
      Effect.zipRight(Effect.flatMap(connection.closed, finish)),
      Effect.forkScoped
    )

    const closeWith = (code: number, reason: string): Effect.Effect<Transport.CloseInfo> =>
      Effect.suspend(() => {
        closing ??= { code, reason, wasClean: true }
        return Effect.tap(connection.close(code, reason), finish)
      })

    yield* Effect.addFinalizer(() =>
      closeWith(1000, "").pipe(Effect.zipRight(Fiber.interrupt(reader)), Effect.zipRight(Deferred.await(closed)))
    )

    const write = (method: string, frame: string): Effect.Effect<void, SessionClosed> => {
      const ended = closeInfo ?? closing
      if (ended !== undefined) {
        return Effect.fail(new SessionClosed({ module: "LiveSession", method, code: ended.code, reason: ended.reason }))
      }
      if (countBytes) statistics.sent(Buffer.byteLength(frame))
      if (trace.enabled) trace.sent(frame)
      return Effect.mapError(
        connection.send(frame),
        (error) => new SessionClosed({ module: "LiveSession", method, code: error.code, reason: error.reason })
      )
    }

    const sendEncoded = (
      method: string,
      encoded: Either.Either<string, ConfigError>
    ): Effect.Effect<void, ConfigError | SessionClosed> =>
      Either.isLeft(encoded) ? Effect.fail(encoded.left) : write(method, encoded.right)

    const sendToolResponse = (input: Protocol.ToolResponseInput) =>
      sendEncoded(
        "sendToolResponse",
        Protocol.encodeToolResponse(
          { functionResponses: quirks.outgoing(Protocol.functionResponsesOf(input)) },
          { requireId: backend.requiresFunctionResponseId, backend: backend.kind }
        )
      )

    if (options.tools !== undefined) {
      dispatcher = yield* ToolDispatcher.make({
        toolkit: options.tools,
        manual: manualFunctions(options.connectConfig),
        context: yield* Effect.context<R>(),
        respond: (response) => Effect.catchTag(sendToolResponse({ functionResponses: response }), "ConfigError", Effect.die)
      })
    }

    yield* write("setup", JSON.stringify({ setup })).pipe(Effect.catchAll(() => Effect.void))

    const sessionId = yield* Deferred.await(setupDone).pipe(
      Effect.raceFirst(
        Effect.flatMap(Deferred.await(closed), (info) =>
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
    statistics.setupCompleted((yield* Clock.currentTimeMillis) - startedAt)
    trace.note(`setupComplete${sessionId === undefined ? "" : ` ${sessionId}`}`)

    const session: LiveSession = {
      id,
      sessionId,
      setup,
      events: hub.events,
      subscribe: hub.subscribe,
      sendClientContent: (input = {}) => sendEncoded("sendClientContent", Protocol.encodeClientContent(input)),
      sendRealtimeInput: (input) => sendEncoded("sendRealtimeInput", Protocol.encodeRealtimeInput(input)),
      sendToolResponse,
      sendAudio: (audio, audioOptions) =>
        AudioInput.sendAudio(
          {
            write,
            awaitWritable: connection.awaitWritable,
            automaticActivityDetection: automaticActivityDetection(setup),
            framesDropped: statistics.inputFramesDropped
          },
          audio,
          audioOptions
        ),
      audio: playback.stream,
      audioAs: (format) => playbackAs(playback.stream, format),
      clearAudio: playback.clear,
      close: (code = 1000, reason = "") => closeWith(code, reason),
      closed: Deferred.await(closed),
      statistics: statistics.snapshot,
      trace: trace.location
    }
    return session
  })

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
