/**
 * A `Connection` over a `ws` WebSocket (client or server side), on the socket's own events, with no
 * fiber of its own. With `listen`, each frame goes to the listener at once; frames queue in a
 * backlog only behind a listener's wait or while nobody listens (the socket paused at
 * `readHighWaterMark`). Writes go straight to `ws.send`. A client connection watches its liveness
 * (liveness.ts) on one timer; a close (and the scope's release) is bounded by a timer of its own.
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import WebSocket from "ws"
import { ConnectError } from "../../LiveError.js"
import { type CloseInfo, type Connection, type Frame, handOverFrames, type Listener, type OpenRequest, TransportError } from "../../Transport.js"
import * as Listening from "./listening.js"
import * as Liveness from "./liveness.js"
import * as ScopedFork from "../kernel/scopedFork.js"
import * as Signal from "../kernel/signal.js"

/** Frames buffered before the socket is paused (the reader is slower than the peer). */
const readHighWaterMark = 256

/** Bytes queued in the socket above which `awaitWritable` waits (a few seconds of audio). */
const writeHighWaterMark = 256 * 1024

/** How often `awaitWritable` looks again while the socket drains. */
const drainPollInterval = "5 millis"

const CONNECTING = 0
const OPEN = 1
const CLOSED = 3

/** Opens a client connection (upgrade request with headers). */
export const open = (request: OpenRequest, settings: Liveness.Settings): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  fromWebSocket(
    Effect.sync(() =>
      new WebSocket(request.url, { headers: { ...request.headers }, perMessageDeflate: false, maxPayload: settings.maxFrameBytes })
    ),
    request.openTimeout,
    settings
  )

/** Wraps a `ws` socket (connecting or already open) as a `Connection` living in the current scope. */
export const fromWebSocket = (
  acquire: Effect.Effect<WebSocket>,
  openTimeout: OpenRequest["openTimeout"],
  settings: Liveness.Settings = Liveness.serverSettings
): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(acquire, (socket) => {
        const state = new SocketState(socket, settings)
        // `Scope.addFinalizer`: unlike `acquireRelease`, it keeps no copy of this fiber's FiberRefs.
        return Effect.zipRight(
          Scope.addFinalizer(scope, releaseOf(state)),
          restore(state.awaitOpen(openTimeout)).pipe(Effect.as(state.connection()))
        )
      })
    ))

/** Made out here, so the release does not keep the open request (URL, headers) alive. */
const releaseOf = (state: SocketState): Effect.Effect<unknown> => Effect.suspend(() => state.release())

/** One `listen`: frames go to `listener` while it is `active`; `busy` while a fiber of it handles what waits. */
interface ListenState {
  readonly listener: Listener
  /** Starts a fiber in the listening's scope. */
  readonly fork: ScopedFork.Fork
  active: boolean
  busy: boolean
}

/** The socket's state, on its `ws` instance: the socket's listeners (shared by every socket) find it there. */
const stateKey = Symbol.for("effect-gemini-live/SocketState")

const stateOf = (socket: WebSocket): SocketState => (socket as unknown as { readonly [stateKey]: SocketState })[stateKey]

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  // `binaryType` is "nodebuffer": binary data is one Buffer (fragments joined); text is decoded as UTF-8.
  stateOf(this).received(isBinary ? (data as Buffer) : data.toString())
}

// Before the open, an error is the open's failure; after it, the close that follows says it all
// (a frame over `maxPayload` is reported as the 1009 it is: `ws` alone would report 1006).
// Only the error's message is kept: the error itself may hold the URL, which holds the key.
function onError(this: WebSocket, error: Error): void {
  const state = stateOf(this)
  if ((error as { readonly code?: unknown }).code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") state.failed(state.settings.oversized)
  state.settleOpen(Exit.fail(openError(error)))
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  stateOf(this).closedWith({ code, reason: reason.toString("utf8"), wasClean: code !== 1006 })
}

function onOpen(this: WebSocket): void {
  const state = stateOf(this)
  state.settleOpen(Exit.void)
  state.watch()
}

/** A ping or pong from the peer: it is alive. */
function onHeard(this: WebSocket): void {
  stateOf(this).silentTicks = 0
}

function onTick(state: SocketState): void {
  state.tick()
}

function onCloseTimeout(state: SocketState): void {
  state.drop(state.settings.closeTimedOut)
}

/**
 * A connection's state and steps: a class with shared socket listeners, so a connection (a server
 * holds thousands) is little more than its fields. Its `Connection` is a plain object (a wrapper may spread it).
 */
class SocketState {
  /** Where the open's outcome goes, until the socket is open (then dropped: it is not needed any more). */
  private opened: Deferred.Deferred<void, ConnectError> | undefined = Deferred.unsafeMake(FiberId.none)
  /** Frames received and not handled yet: nobody reading, or queued behind a handler's wait. */
  private backlog: Array<Frame> = []
  private paused = false
  /** The closing handshake this side started. */
  private closing: CloseInfo | undefined
  /** The socket has closed: no frame will follow the backlog. */
  private ended = false
  /** How the socket closed, once it has. */
  private closeInfo: CloseInfo | undefined
  /** The current `listen`, until its scope closes (or `closed` has run, or a newer one replaced it). */
  private listening: ListenState | undefined
  /** Wakes the reader of `frames` (frames, or the close), and `closed`'s waiters. */
  private readonly wake = new Signal.Signal()
  /** Ticks of the liveness timer since the peer was last heard from (a frame resets it: one assignment). */
  silentTicks = 0
  /** Ticks the send buffer has been non-empty without going down, and its size at the last tick. */
  private stuckTicks = 0
  private lastBuffered = 0
  /** The liveness timer, while the socket is open; the close's timer, while it closes. */
  private timer: ReturnType<typeof setInterval> | undefined
  private closeTimer: ReturnType<typeof setTimeout> | undefined
  /** How this side ended the connection (dead, a close timed out, a frame too large): reported over what `ws` says. */
  private failure: CloseInfo | undefined

  constructor(private readonly socket: WebSocket, readonly settings: Liveness.Settings) {
    // One connection a socket: the shared listeners serve the state they find on it.
    if (stateKey in socket) throw new Error("effect-gemini-live: this WebSocket is already a Connection")
    ;(socket as unknown as { [stateKey]: SocketState })[stateKey] = this
    socket.on("message", onMessage)
    socket.on("error", onError)
    socket.on("close", onClose)
    if (socket.readyState === OPEN) {
      this.settleOpen(Exit.void)
      this.watch()
    } else if (socket.readyState === CLOSED) this.closedWith({ code: 1006, reason: "", wasClean: false })
    else socket.once("open", onOpen)
  }

  /** The `Connection` of this socket. */
  connection(): Connection {
    // Built lazily (an idle connection holds less); plain properties, not getters (see docs/performance.md).
    const connection: Connection = {
      send: (frame) => this.send(frame),
      trySend: (frame) => this.trySend(frame),
      awaitWritable: Effect.suspend(() => this.awaitWritable()),
      listen: (listener) => this.listen(listener),
      close: (code, reason) => this.close(code, reason),
      frames: Stream.suspend(() => Stream.repeatEffectChunkOption(this.takeBacklog())),
      terminate: Effect.sync(() => this.socket.terminate()),
      closed: Effect.suspend(() => this.awaitClosed())
    }
    // `ws` gives each binary message bytes of its own that nothing reads afterwards.
    return handOverFrames(connection)
  }

  settleOpen(exit: Exit.Exit<void, ConnectError>): void {
    if (this.opened !== undefined) Deferred.unsafeDone(this.opened, exit)
  }

  /** Waits for the open's outcome, up to `timeout`. */
  awaitOpen(timeout: OpenRequest["openTimeout"]): Effect.Effect<void, ConnectError> {
    return Deferred.await(this.opened!).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new ConnectError({ module: "Transport", method: "open", reason: "Timeout", description: "timed out opening the WebSocket" })
      }),
      Effect.zipRight(Effect.sync(() => {
        this.opened = undefined
      }))
    )
  }

  /** The scope's close: a clean close of an open socket; an open that did not finish is aborted. */
  release(): Effect.Effect<unknown> {
    if (this.opened === undefined) return this.close(1000)
    // An open that timed out or failed: abort the handshake rather than leave a connection behind.
    if (this.socket.readyState === OPEN) {
      this.socket.close(1000)
      this.armCloseTimer()
    } else if (this.socket.readyState === CONNECTING) this.socket.terminate()
    return Effect.void
  }

  /** Starts the liveness timer (a client's open socket): unref'd, it keeps no process alive. */
  watch(): void {
    const plan = this.settings.liveness
    if (plan === undefined || this.timer !== undefined) return
    this.socket.on("pong", onHeard)
    this.socket.on("ping", onHeard)
    this.timer = setInterval(onTick, plan.tickMillis, this)
    this.timer.unref()
  }

  /** One liveness tick: dead after `deadTicks` of silence or of a send buffer that does not go down; else a ping now and then. */
  tick(): void {
    const plan = this.settings.liveness!
    const socket = this.socket
    // Closing: the close's own timer bounds it (armed here too when the peer started the close).
    if (socket.readyState !== OPEN) return this.armCloseTimer()
    const silent = ++this.silentTicks
    const buffered = socket.bufferedAmount
    this.stuckTicks = buffered === 0 || buffered < this.lastBuffered ? 0 : this.stuckTicks + 1
    this.lastBuffered = buffered
    if (silent >= plan.deadTicks) this.drop(plan.silent)
    else if (this.stuckTicks >= plan.deadTicks) this.drop(plan.stuck)
    else if (silent % plan.pingTicks === 0) socket.ping()
  }

  /** Records why this side ends the connection, and bounds the close that follows. */
  failed(info: CloseInfo): void {
    this.failure ??= info
    this.armCloseTimer()
  }

  /** Ends the connection at once (no handshake), reporting `info`. */
  drop(info: CloseInfo): void {
    this.failure ??= info
    this.socket.terminate()
  }

  /** After the close timeout, the socket is terminated: a close never waits on the peer longer. */
  private armCloseTimer(): void {
    if (this.closeTimer !== undefined || this.closeInfo !== undefined || this.settings.closeTimeoutMillis === Infinity) return
    this.closeTimer = setTimeout(onCloseTimeout, this.settings.closeTimeoutMillis, this)
    this.closeTimer.unref()
  }

  /** A frame from the socket: handled at once by the listener, or queued. */
  received(frame: Frame): void {
    this.silentTicks = 0
    const current = this.listening
    if (current !== undefined && !current.busy) {
      // The usual case: handled here and now, no queue, no fiber.
      const waiting = Listening.frameStep(current.listener, frame)
      if (waiting !== undefined) this.startDrain(current, waiting)
      return
    }
    this.backlog.push(frame)
    // Not while closing: the peer's close frame must still be read.
    if (this.backlog.length >= readHighWaterMark && !this.paused && this.closing === undefined) {
      this.paused = true
      this.socket.pause()
    }
    this.wake.wake()
  }

  closedWith(info: CloseInfo): void {
    clearInterval(this.timer)
    clearTimeout(this.closeTimer)
    this.settleOpen(Exit.fail(openFailure(info)))
    // Over a 1006 only: a close frame the peer did send (before a late end of the TCP stream) says more.
    this.closeInfo ??= info.code === 1006 && this.failure !== undefined ? this.failure : info
    this.ended = true
    this.wake.wake()
    if (this.listening !== undefined && !this.listening.busy) this.startDrain(this.listening, undefined)
  }

  private resume(): void {
    if (this.paused) {
      this.paused = false
      this.socket.resume()
    }
  }

  /**
   * Handles the backlog in order (the wait of a frame before the next frame), then, once the socket
   * has closed, tells the listener; then the socket's callback handles frames again. A listening
   * that has stopped stops here, leaving the backlog to the next.
   */
  private drain(current: ListenState): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!current.active) return Effect.void
      while (this.backlog.length > 0) {
        const frames = this.backlog
        this.backlog = []
        this.resume()
        for (let i = 0; i < frames.length; i++) {
          const waiting = Listening.frameStep(current.listener, frames[i])
          if (waiting !== undefined) {
            this.backlog = i + 1 === frames.length ? this.backlog : frames.slice(i + 1).concat(this.backlog)
            return Effect.zipRight(Listening.guarded(waiting), this.drain(current))
          }
        }
      }
      this.resume()
      if (this.ended) {
        // The last step: the listening is over (and lets go of the listener).
        current.active = false
        if (this.listening === current) this.listening = undefined
        const info = this.closeInfo!
        return Listening.guarded(Effect.suspend(() => current.listener.closed(info)))
      }
      current.busy = false
      return Effect.void
    })
  }

  /** Has a fiber of the listening run `first` (a frame's wait, or nothing), then what queued behind it. */
  private startDrain(current: ListenState, first: Effect.Effect<void> | undefined): void {
    current.busy = true
    current.fork(first === undefined ? this.drain(current) : Effect.zipRight(Listening.guarded(first), this.drain(current)))
  }

  private listen(listener: Listener): Effect.Effect<void, never, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) =>
      Effect.flatMap(ScopedFork.make(scope), (fork) => {
        const current: ListenState = { listener, fork, active: true, busy: false }
        return Effect.sync(() => {
          if (this.listening !== undefined) this.listening.active = false
          this.listening = current
          // Frames that came before, or the close.
          if (this.backlog.length > 0 || this.ended) this.startDrain(current, undefined)
        }).pipe(
          Effect.zipRight(Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              current.active = false
              if (this.listening === current) this.listening = undefined
            })
          ))
        )
      }))
  }

  /** Completes once the socket has closed (on the reader's signal, which the close wakes). */
  private awaitClosed(): Effect.Effect<CloseInfo> {
    return Effect.zipRight(this.wake.awaitUntil(() => this.closeInfo !== undefined), Effect.sync(() => this.closeInfo!))
  }

  private takeBacklog(): Effect.Effect<Chunk.Chunk<Frame>, Option.Option<never>> {
    return Effect.suspend(() => {
      if (this.backlog.length > 0) {
        const chunk = this.backlog
        this.backlog = []
        this.resume()
        return Effect.succeed(Chunk.unsafeFromArray(chunk))
      }
      return this.ended
        ? Effect.fail(Option.none())
        : Effect.zipRight(this.wake.awaitUntil(() => this.backlog.length > 0 || this.ended), this.takeBacklog())
    })
  }

  private send(frame: Frame): Effect.Effect<void, TransportError> {
    if (this.socket.readyState === OPEN && this.closing === undefined) {
      this.socket.send(frame)
      return Effect.void
    }
    return Effect.suspend(() => {
      const info = this.closeInfo ?? this.failure ?? this.closing ?? { code: 1006, reason: "", wasClean: false }
      return Effect.fail(new TransportError({ reason: "Closed", close: info }))
    })
  }

  private trySend(frame: Frame): boolean {
    const socket = this.socket
    if (socket.readyState !== OPEN || this.closing !== undefined || socket.bufferedAmount > writeHighWaterMark) return false
    socket.send(frame)
    return true
  }

  private drained(): boolean {
    return this.socket.bufferedAmount <= writeHighWaterMark || this.socket.readyState !== OPEN
  }

  private awaitWritable(): Effect.Effect<void> {
    if (this.socket.bufferedAmount <= writeHighWaterMark) return Effect.void
    return Effect.repeat(Effect.zipRight(Effect.sleep(drainPollInterval), Effect.sync(() => this.drained())), { until: (done) => done }).pipe(
      Effect.asVoid
    )
  }

  /**
   * Bounded in any context: a timer, not `Effect.timeout` (which cannot interrupt the wait inside a
   * finalizer), terminates the socket when the peer's close frame is late.
   */
  private close(code = 1000, reason = ""): Effect.Effect<CloseInfo> {
    return Effect.suspend(() => {
      // The close frame must be read even if nobody reads the frames any more.
      this.resume()
      if (this.closing === undefined && this.socket.readyState === OPEN) {
        this.closing = { code, reason, wasClean: true }
        this.socket.close(code, reason)
      }
      this.armCloseTimer()
      return this.awaitClosed()
    })
  }
}

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
