/**
 * The session state machine: open the socket, send `setup`, await `setupComplete`, then one reader
 * fiber turns frames into events while sends write straight to the socket, until the close.
 *
 *   frames ─> Protocol.decodeServerMessage ─> Backend.normalize ─> LiveEvent.fromServerMessage ─> EventHub
 *   send*  ─> Protocol.encode* ─> Statistics + WireTrace ─> Connection.send
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
import type { LiveSession, Options } from "../LiveSession.js"
import type { Services } from "../Parameters.js"
import * as Protocol from "../Protocol.js"
import * as Statistics from "../Statistics.js"
import * as Transport from "../Transport.js"
import * as WireTrace from "../WireTrace.js"
import * as EventHub from "./eventHub.js"

const defaultEventBufferSize = 256

export const make = (options: Options): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const setup = yield* backend.setup(options.model, options.connectConfig)
    const credentials = yield* Effect.flatMap(Auth.Auth, (auth) => auth.credentials)
    const endpoint = yield* backend.endpoint(credentials)
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    return yield* open(options, setup, endpoint).pipe(
      Scope.extend(scope),
      Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void))
    )
  }).pipe(Effect.withSpan("GeminiLive.connect", { attributes: { model: options.model } }))

const open = (
  options: Options,
  setup: Protocol.Setup,
  endpoint: Backend.Endpoint
): Effect.Effect<LiveSession, LiveError, Scope.Scope | Services> =>
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
          Effect.zipRight(hub.end(LiveEvent.Closed({ info, initiator, error }))),
          Effect.zipRight(Deferred.succeed(closed, info))
        )
      })

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
      return hub.publish(events)
    }

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

    const sendEncoded = (method: string, encoded: Either.Either<string, ConfigError>) =>
      Either.isLeft(encoded) ? Effect.fail(encoded.left) : write(method, encoded.right)

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
      sendToolResponse: (input) =>
        sendEncoded(
          "sendToolResponse",
          Protocol.encodeToolResponse(
            { functionResponses: quirks.outgoing(Protocol.functionResponsesOf(input)) },
            { requireId: backend.requiresFunctionResponseId, backend: backend.kind }
          )
        ),
      close: (code = 1000, reason = "") => closeWith(code, reason),
      closed: Deferred.await(closed),
      statistics: statistics.snapshot,
      trace: trace.location
    }
    return session
  })

/** Calls the user's `onWebSocketClose`; a throwing callback is logged, never allowed to break the close. */
const notifyClose = (options: Options, info: Transport.CloseInfo): Effect.Effect<void> =>
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
