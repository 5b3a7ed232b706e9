/**
 * A `Connection` over a `ws` WebSocket, client side or server side, on the socket's own events: no
 * fiber of its own. Frames go from the `message` listener into a buffer that `frames` drains a
 * chunk at a time; the socket is paused while the buffer holds `readHighWaterMark` frames. Writes
 * go straight to `ws.send` after a state check.
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
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

const CONNECTING = 0
const OPEN = 1
const CLOSED = 3

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
    const opened = yield* Deferred.make<void, ConnectError>()
    /** Frames in `received` (counted here: `takeAll` empties it). */
    let buffered = 0
    let paused = false
    let closing: CloseInfo | undefined

    const socket = yield* Effect.acquireRelease(acquire, (ws) =>
      Effect.sync(() => {
        if (ws.readyState === OPEN) ws.close(1000)
        // An open that timed out: abort the handshake rather than leave a connection behind.
        else if (ws.readyState === CONNECTING) ws.terminate()
      }))

    socket.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      // `binaryType` is "nodebuffer": binary data is one Buffer (fragments joined); text is decoded as UTF-8.
      received.unsafeOffer(isBinary ? (data as Buffer) : data.toString())
      if (++buffered >= readHighWaterMark && !paused) {
        paused = true
        socket.pause()
      }
    })
    // Before the open, an error is the open's failure; after it, the close that follows says it all.
    // Only the error's message is kept: the error itself may hold the URL, which holds the key.
    socket.on("error", (error: Error) => {
      Deferred.unsafeDone(opened, Exit.fail(openError(error)))
    })
    const onClose = (info: CloseInfo) => {
      Deferred.unsafeDone(opened, Exit.fail(openFailure(info)))
      Deferred.unsafeDone(closed, Exit.succeed(info))
      received.unsafeDone(Exit.void)
    }
    socket.on("close", (code: number, reason: Buffer) => {
      onClose({ code, reason: reason.toString("utf8"), wasClean: code !== 1006 })
    })
    if (socket.readyState === OPEN) Deferred.unsafeDone(opened, Exit.void)
    else if (socket.readyState === CLOSED) onClose({ code: 1006, reason: "", wasClean: false })
    else socket.once("open", () => Deferred.unsafeDone(opened, Exit.void))

    yield* Deferred.await(opened).pipe(
      Effect.timeoutFail({
        duration: openTimeout,
        onTimeout: () =>
          new ConnectError({ module: "Transport", method: "open", reason: "Timeout", description: "timed out opening the WebSocket" })
      })
    )

    const frames: Stream.Stream<Frame> = Stream.repeatEffectChunkOption(
      Effect.flatMap(received.takeAll, ([chunk, done]) => {
        buffered = 0
        if (paused) {
          paused = false
          socket.resume()
        }
        return done && Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk)
      })
    )

    const send = (frame: Frame): Effect.Effect<void, SessionClosed> => {
      if (socket.readyState === OPEN && closing === undefined) {
        socket.send(frame)
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

    const terminate = Effect.sync(() => socket.terminate())

    const drained = Effect.sync(() => socket.bufferedAmount <= writeHighWaterMark || socket.readyState !== OPEN)
    const awaitWritable: Effect.Effect<void> = Effect.suspend(() =>
      socket.bufferedAmount <= writeHighWaterMark
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
          socket.resume()
        }
        if (closing === undefined && socket.readyState === OPEN) {
          closing = { code, reason, wasClean: true }
          socket.close(code, reason)
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

/** Maps an error event before the open to a ConnectError (an HTTP answer to the upgrade keeps its status). */
const openError = (error: unknown): ConnectError => {
  const message = error instanceof Error ? error.message : "the WebSocket failed to open"
  const status = httpStatus(message)
  return new ConnectError({
    module: "Transport",
    method: "open",
    reason: status === undefined ? "Open" : "HttpStatus",
    ...(status === undefined ? {} : { status }),
    description: status === undefined ? message : `the server answered the upgrade with HTTP ${status}`
  })
}
