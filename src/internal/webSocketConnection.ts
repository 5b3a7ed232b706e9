/**
 * A `Connection` over a `ws` WebSocket, client side or server side, on the socket's own events: no
 * fiber of its own. With `listen`, the `message` listener hands each frame to the listener at once;
 * frames queue in a backlog only behind a listener's wait (run by a fiber started for it, which ends
 * with the backlog) or while nobody listens, and `frames` drains that backlog a chunk at a time. The
 * socket is paused while the backlog holds `readHighWaterMark` frames. Writes go straight to
 * `ws.send` after a state check.
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import WebSocket from "ws"
import { ConnectError, SessionClosed } from "../LiveError.js"
import type { CloseInfo, Connection, Frame, Listener, OpenRequest } from "../Transport.js"
import * as Listening from "./listening.js"
import * as ScopedFork from "./scopedFork.js"
import * as Signal from "./signal.js"

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
    const opening = yield* Deferred.make<void, ConnectError>()
    /** Where the open's outcome goes, until the socket is open (then dropped: it is not needed any more). */
    let opened: Deferred.Deferred<void, ConnectError> | undefined = opening
    const settleOpen = (exit: Exit.Exit<void, ConnectError>) => {
      if (opened !== undefined) Deferred.unsafeDone(opened, exit)
    }
    /** Frames received and not handled yet: nobody reading, or queued behind a handler's wait. */
    let backlog: Array<Frame> = []
    let paused = false
    /** The closing handshake this side started. */
    let closing: CloseInfo | undefined
    /** The socket has closed: no frame will follow the backlog. */
    let ended = false
    /** How the socket closed, once it has. */
    let closeInfo: CloseInfo | undefined
    /** The current `listen`, until its scope closes (or `closed` has run, or a newer one replaced it). */
    let listening: ListenState | undefined
    /** Wakes the reader of `frames` (frames, or the close), and `closed`'s waiters. */
    const wake = Signal.make()
    const resume = () => {
      if (paused) {
        paused = false
        socket.resume()
      }
    }
    /**
     * Handles the backlog in order (the wait of a frame before the next frame), then, once the socket
     * has closed, tells the listener; then the socket's callback handles frames again. A listening
     * that has stopped stops here, leaving the backlog to the next.
     */
    const drain = (current: ListenState): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (!current.active) return Effect.void
        while (backlog.length > 0) {
          const frames = backlog
          backlog = []
          resume()
          for (let i = 0; i < frames.length; i++) {
            const waiting = Listening.frameStep(current.listener, frames[i])
            if (waiting !== undefined) {
              backlog = i + 1 === frames.length ? backlog : frames.slice(i + 1).concat(backlog)
              return Effect.zipRight(Listening.guarded(waiting), drain(current))
            }
          }
        }
        resume()
        if (ended) {
          // The last step: the listening is over (and lets go of the listener).
          current.active = false
          if (listening === current) listening = undefined
          return Listening.guarded(Effect.suspend(() => current.listener.closed(closeInfo!)))
        }
        current.busy = false
        return Effect.void
      })
    /** Has a fiber of the listening run `first` (a frame's wait, or nothing), then what queued behind it. */
    const startDrain = (current: ListenState, first: Effect.Effect<void> | undefined) => {
      current.busy = true
      current.fork(first === undefined ? drain(current) : Effect.zipRight(Listening.guarded(first), drain(current)))
    }

    // The finalizers are added with `Scope.addFinalizer`, which (unlike `Effect.addFinalizer` and
    // `acquireRelease`) keeps no copy of this fiber's FiberRefs for the connection's lifetime.
    const scope = yield* Effect.scope
    const socket = yield* Effect.uninterruptible(Effect.tap(acquire, (ws) =>
      Scope.addFinalizer(
        scope,
        Effect.sync(() => {
          if (ws.readyState === OPEN) ws.close(1000)
          // An open that timed out: abort the handshake rather than leave a connection behind.
          else if (ws.readyState === CONNECTING) ws.terminate()
        })
      )))

    socket.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      // `binaryType` is "nodebuffer": binary data is one Buffer (fragments joined); text is decoded as UTF-8.
      const frame = isBinary ? (data as Buffer) : data.toString()
      const current = listening
      if (current !== undefined && !current.busy) {
        // The usual case: handled here and now, no queue, no fiber.
        const waiting = Listening.frameStep(current.listener, frame)
        if (waiting !== undefined) startDrain(current, waiting)
        return
      }
      backlog.push(frame)
      // Not while closing: the peer's close frame must still be read.
      if (backlog.length >= readHighWaterMark && !paused && closing === undefined) {
        paused = true
        socket.pause()
      }
      wake.wake()
    })
    // Before the open, an error is the open's failure; after it, the close that follows says it all.
    // Only the error's message is kept: the error itself may hold the URL, which holds the key.
    socket.on("error", (error: Error) => {
      settleOpen(Exit.fail(openError(error)))
    })
    const onClose = (info: CloseInfo) => {
      settleOpen(Exit.fail(openFailure(info)))
      closeInfo ??= info
      ended = true
      wake.wake()
      if (listening !== undefined && !listening.busy) startDrain(listening, undefined)
    }
    socket.on("close", (code: number, reason: Buffer) => {
      onClose({ code, reason: reason.toString("utf8"), wasClean: code !== 1006 })
    })
    if (socket.readyState === OPEN) settleOpen(Exit.void)
    else if (socket.readyState === CLOSED) onClose({ code: 1006, reason: "", wasClean: false })
    else socket.once("open", () => settleOpen(Exit.void))

    yield* Deferred.await(opening).pipe(
      Effect.timeoutFail({
        duration: openTimeout,
        onTimeout: () =>
          new ConnectError({ module: "Transport", method: "open", reason: "Timeout", description: "timed out opening the WebSocket" })
      })
    )
    opened = undefined

    /** Completes once the socket has closed (on the reader's signal, which the close wakes). */
    const awaitClosed = (): Effect.Effect<CloseInfo> =>
      Effect.zipRight(wake.awaitUntil(() => closeInfo !== undefined), Effect.sync(() => closeInfo!))

    const takeBacklog: Effect.Effect<Chunk.Chunk<Frame>, Option.Option<never>> = Effect.suspend(() => {
      if (backlog.length > 0) {
        const chunk = backlog
        backlog = []
        resume()
        return Effect.succeed(Chunk.unsafeFromArray(chunk))
      }
      return ended ? Effect.fail(Option.none()) : Effect.zipRight(wake.awaitUntil(() => backlog.length > 0 || ended), takeBacklog)
    })

    const listen = (listener: Listener): Effect.Effect<void, never, Scope.Scope> =>
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.flatMap(ScopedFork.make(scope), (fork) => {
          const current: ListenState = { listener, fork, active: true, busy: false }
          return Effect.sync(() => {
            if (listening !== undefined) listening.active = false
            listening = current
            // Frames that came before, or the close.
            if (backlog.length > 0 || ended) startDrain(current, undefined)
          }).pipe(
            Effect.zipRight(Scope.addFinalizer(
              scope,
              Effect.sync(() => {
                current.active = false
                if (listening === current) listening = undefined
              })
            ))
          )
        }))

    const send = (frame: Frame): Effect.Effect<void, SessionClosed> => {
      if (socket.readyState === OPEN && closing === undefined) {
        socket.send(frame)
        return Effect.void
      }
      return Effect.suspend(() => {
        const info = closeInfo ?? closing ?? { code: 1006, reason: "", wasClean: false }
        return Effect.fail(new SessionClosed({ module: "Transport", method: "send", code: info.code, reason: info.reason }))
      })
    }

    const trySend = (frame: Frame): boolean => {
      if (socket.readyState !== OPEN || closing !== undefined || socket.bufferedAmount > writeHighWaterMark) return false
      socket.send(frame)
      return true
    }

    const terminate = Effect.sync(() => socket.terminate())

    const drained = () => socket.bufferedAmount <= writeHighWaterMark || socket.readyState !== OPEN
    const awaitWritable: Effect.Effect<void> = Effect.suspend(() =>
      socket.bufferedAmount <= writeHighWaterMark
        ? Effect.void
        : Effect.repeat(Effect.zipRight(Effect.sleep(drainPollInterval), Effect.sync(drained)), { until: (done) => done }).pipe(
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
        return awaitClosed().pipe(
          Effect.timeoutTo({
            duration: closeHandshakeTimeout,
            onSuccess: Effect.succeed,
            onTimeout: () => Effect.zipRight(terminate, awaitClosed())
          }),
          Effect.flatten
        )
      })

    yield* Scope.addFinalizer(scope, close(1000))

    // What most connections never use is built when it runs (not pre-built): an idle connection
    // holds less. Plain properties, not getters: an object literal with accessors is a slow,
    // dictionary-mode object in V8.
    const connection: Connection = {
      send,
      trySend,
      awaitWritable,
      listen,
      close,
      frames: Stream.suspend(() => Stream.repeatEffectChunkOption(takeBacklog)),
      terminate,
      closed: Effect.suspend(awaitClosed)
    }
    made.add(connection)
    return connection
  })

/** One `listen`: frames go to `listener` while it is `active`; `busy` while a fiber of it handles what waits. */
interface ListenState {
  readonly listener: Listener
  /** Starts a fiber in the listening's scope. */
  readonly fork: ScopedFork.Fork
  active: boolean
  busy: boolean
}

/** The connections made here, as they were made (a copy or a wrapper is not one of them). */
const made = new WeakSet<Connection>()

/**
 * Whether `connection` is one of ours, unwrapped: `ws` gives each binary message bytes of its own
 * (a socket read, or the fragments joined) that nothing reads after it, so the session may reuse
 * their memory once it has read a frame. A wrapper (which may keep the frames) is not.
 */
export const ownsFrames = (connection: Connection): boolean => made.has(connection)

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
