/**
 * A `Connection` over a `ws` WebSocket, client side or server side, driven by `@effect/platform`'s
 * Socket (open, open timeout, reading). Writes go straight to `ws.send` after a state check.
 */
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import WebSocket from "ws"
import { ConnectError, SessionClosed } from "../LiveError.js"
import type { CloseInfo, Connection, Frame, OpenRequest } from "../Transport.js"

/** Frames buffered before the socket is paused (the reader is slower than the peer). */
const readHighWaterMark = 256

/** Bytes queued in the socket above which `awaitWritable` waits (a few seconds of audio). */
const writeHighWaterMark = 256 * 1024

/** How often `awaitWritable` looks again while the socket drains. */
const drainPollInterval = "5 millis"

/** How long `close` waits for the peer's close frame before dropping the connection. */
const closeHandshakeTimeout = "3 seconds"

const CLOSED = 3
const OPEN = 1

/** Opens a client connection (upgrade request with headers). */
export const open = (request: OpenRequest): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  fromWebSocket(
    Effect.sync(() => new WebSocket(request.url, { headers: { ...request.headers }, perMessageDeflate: false })),
    request.openTimeout
  )

/** Wraps a `ws` socket (connecting or already open) as a `Connection` living in the current scope. */
export const fromWebSocket = (
  acquire: Effect.Effect<WebSocket>,
  openTimeout: OpenRequest["openTimeout"]
): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const received = yield* Mailbox.make<Frame>()
    const closed = yield* Deferred.make<CloseInfo>()
    const opened = yield* Deferred.make<void>()
    let ws: WebSocket | undefined
    let paused = false
    let closing: CloseInfo | undefined

    const acquireSocket = Effect.acquireRelease(
      Effect.map(acquire, (socket) => {
        ws = socket
        // The Socket listens for errors once; this keeps a late second error from being unhandled.
        socket.on("error", () => {})
        socket.on("close", (code: number, reason: Buffer) => {
          Deferred.unsafeDone(closed, Exit.succeed({ code, reason: reason.toString("utf8"), wasClean: code !== 1006 }))
        })
        if (socket.readyState === CLOSED) {
          Deferred.unsafeDone(closed, Exit.succeed({ code: 1006, reason: "", wasClean: false }))
        }
        return socket as unknown as globalThis.WebSocket
      }),
      () => Effect.sync(() => ws !== undefined && ws.readyState === OPEN && ws.close(1000))
    )

    const socket = yield* Socket.fromWebSocket(acquireSocket, { openTimeout, closeCodeIsError: () => false })

    const onFrame = (data: string | Uint8Array) => {
      received.unsafeOffer(data)
      if (!paused && ws !== undefined && received.unsafeSize().pipe(Option.getOrElse(() => 0)) >= readHighWaterMark) {
        paused = true
        ws.pause()
      }
    }

    const reader = yield* socket.runRaw(onFrame, { onOpen: Deferred.succeed(opened, undefined) }).pipe(
      Effect.exit,
      Effect.tap(() => received.end),
      Effect.forkScoped
    )

    const failed = Fiber.join(reader).pipe(
      Effect.flatMap((exit) =>
        Exit.match(exit, {
          onSuccess: () => Effect.flatMap(Deferred.await(closed), (info) => Effect.fail(openFailure(info))),
          onFailure: (cause) => Effect.fail(socketFailure(cause))
        })
      )
    )
    yield* Effect.raceFirst(Deferred.await(opened), failed)

    const socketOf = ws as unknown as WebSocket

    const frames: Stream.Stream<Frame> = Stream.repeatEffectChunkOption(
      Effect.flatMap(received.takeAll, ([chunk, done]) => {
        if (paused) {
          paused = false
          socketOf.resume()
        }
        return done && Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk)
      })
    )

    const send = (frame: Frame): Effect.Effect<void, SessionClosed> => {
      if (socketOf.readyState === OPEN && closing === undefined) {
        socketOf.send(frame)
        return Effect.void
      }
      return Effect.flatMap(
        Deferred.poll(closed),
        (done) =>
          Effect.flatMap(
            Option.isSome(done) ? done.value : Effect.succeed(closing ?? { code: 1006, reason: "", wasClean: false }),
            (info) => Effect.fail(new SessionClosed({ module: "Transport", method: "send", code: info.code, reason: info.reason }))
          )
      )
    }

    const terminate = Effect.sync(() => socketOf.terminate())

    const drained = Effect.sync(() => socketOf.bufferedAmount <= writeHighWaterMark || socketOf.readyState !== OPEN)
    const awaitWritable: Effect.Effect<void> = Effect.suspend(() =>
      socketOf.bufferedAmount <= writeHighWaterMark
        ? Effect.void
        : Effect.repeat(Effect.zipRight(Effect.sleep(drainPollInterval), drained), { until: (done) => done }).pipe(
          Effect.asVoid
        )
    )

    const close = (code = 1000, reason = ""): Effect.Effect<CloseInfo> =>
      Effect.suspend(() => {
        if (paused) {
          // The close frame must be read even if nobody reads the frames any more.
          paused = false
          socketOf.resume()
        }
        if (closing === undefined && socketOf.readyState === OPEN) {
          closing = { code, reason, wasClean: true }
          socketOf.close(code, reason)
        }
        return Deferred.await(closed).pipe(
          Effect.timeoutTo({
            duration: closeHandshakeTimeout,
            onSuccess: Effect.succeed,
            onTimeout: () => Effect.zipRight(terminate, Deferred.await(closed))
          }),
          Effect.flatten
        )
      })

    yield* Effect.addFinalizer(() => close(1000))

    return { send, awaitWritable, frames, close, terminate, closed: Deferred.await(closed) } satisfies Connection
  })

const httpStatus = (message: string): number | undefined => {
  const match = /Unexpected server response: (\d+)/.exec(message)
  return match ? Number(match[1]) : undefined
}

const openFailure = (info: CloseInfo): ConnectError =>
  new ConnectError({
    module: "Transport",
    method: "open",
    reason: "Open",
    description: `the connection closed while opening (code ${info.code})`
  })

/** Maps the Socket's failure to a ConnectError, keeping only the message (an error event holds the URL). */
const socketFailure = (cause: Cause.Cause<Socket.SocketError>): ConnectError => {
  const error = Option.getOrUndefined(Cause.failureOption(cause))
  if (error !== undefined && error.reason === "OpenTimeout") {
    return new ConnectError({
      module: "Transport",
      method: "open",
      reason: "Timeout",
      description: "timed out opening the WebSocket"
    })
  }
  const message = error !== undefined && "cause" in error ? describe(error.cause) : "the WebSocket failed to open"
  const status = httpStatus(message)
  return new ConnectError({
    module: "Transport",
    method: "open",
    reason: status === undefined ? "Open" : "HttpStatus",
    ...(status === undefined ? {} : { status }),
    description: status === undefined ? message : `the server answered the upgrade with HTTP ${status}`
  })
}

const describe = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string") {
    return cause.message
  }
  if (typeof cause === "object" && cause !== null && "error" in cause && cause.error instanceof Error) {
    return cause.error.message
  }
  return "the WebSocket failed to open"
}
