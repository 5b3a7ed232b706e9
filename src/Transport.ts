/**
 * The Transport service: opens one WebSocket connection and hands back a scoped `Connection`.
 *
 * Two layers ship: `layerWebSocket` (the `ws` package, read from its own events, with request
 * headers) and `layerMemory` (an in-process pair of connections, for tests that need no
 * socket at all; the emulator in `effect-gemini-live/testing` serves both).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Listening from "./internal/listening.js"
import * as MemoryConnection from "./internal/memoryConnection.js"
import * as WebSocketConnection from "./internal/webSocketConnection.js"
import type { ConnectError, SessionClosed } from "./LiveError.js"

/**
 * A WebSocket frame: text arrives as a string, binary as bytes.
 *
 * @since 0.1.0
 * @category Models
 */
export type Frame = string | Uint8Array

/**
 * How a connection ended: the close frame's code and reason, and whether the closing handshake
 * completed (`wasClean: false` means the connection dropped, reported as code 1006).
 *
 * @since 0.1.0
 * @category Models
 */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

/**
 * What to open: the URL and the headers of the upgrade request.
 *
 * @since 0.1.0
 * @category Models
 */
export interface OpenRequest {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly openTimeout: Duration.DurationInput
}

/**
 * One open WebSocket. Frames are written synchronously and in call order (`send` is the one writer:
 * there is no queue between it and the socket), and `send` fails with `SessionClosed` once the
 * socket is closing: a frame is never dropped silently.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Connection {
  /** Writes one frame, or fails if the connection is no longer open. */
  readonly send: (frame: Frame) => Effect.Effect<void, SessionClosed>
  /**
   * Optional, the synchronous fast path of `send` for a producer of many frames (audio): writes the
   * frame now and says `true` if the connection is open and its send buffer is below the high-water
   * mark; otherwise writes nothing and says `false` (then `awaitWritable` and `send` tell why).
   */
  readonly trySend?: ((frame: Frame) => boolean) | undefined
  /**
   * Completes when the socket's send buffer is below its high-water mark (at once, usually): what a
   * producer that can outrun the network waits on between frames.
   */
  readonly awaitWritable: Effect.Effect<void>
  /**
   * The frames received, in order; ends after the last frame once the connection has closed. Reading
   * slowly pauses the socket (bounded read buffer), so the peer is slowed down rather than the
   * process filling up.
   */
  readonly frames: Stream.Stream<Frame>
  /**
   * Optional, instead of `frames` (read a connection with `Transport.listen`, which uses it when
   * there): hands each frame to the listener as it arrives, in the socket's own callback, with no
   * fiber or queue per frame. See `Listener`.
   */
  readonly listen?: ((listener: Listener) => Effect.Effect<void, never, Scope.Scope>) | undefined
  /** Starts the closing handshake (if still open) and waits until the connection has closed. */
  readonly close: (code?: number, reason?: string) => Effect.Effect<CloseInfo>
  /** Drops the connection without a closing handshake (the peer sees 1006). */
  readonly terminate: Effect.Effect<void>
  /** Completes once the connection has closed, however it closed. */
  readonly closed: Effect.Effect<CloseInfo>
}

/**
 * What reads a connection (`Transport.listen`): `frame` is called on each frame, in order, then
 * `closed` once, after the connection has closed and every frame was handled. When `frame` gives
 * back an effect, the frames that follow wait (buffered, the socket paused when many) until it has
 * run; a fiber runs it and the frames queued behind it, and ends when none are left. A step that
 * fails (a throw, a defect, an interrupted wait) is logged and the reading goes on. Listening stops
 * when its scope closes. Listen with one listener at a time (on the WebSocket transport, a new
 * `listen` replaces the one before).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Listener {
  readonly frame: (frame: Frame) => Effect.Effect<void> | undefined
  readonly closed: (info: CloseInfo) => Effect.Effect<void>
}

/**
 * Reads `connection` with `listener` until the scope closes: through the connection's own `listen`
 * when it has one (frames handled in the socket's callback; a fiber only while a wait runs),
 * otherwise from `frames`, in a fiber.
 *
 * @since 0.1.0
 * @category Reading
 */
export const listen = (connection: Connection, listener: Listener): Effect.Effect<void, never, Scope.Scope> =>
  connection.listen !== undefined ? connection.listen(listener) : Listening.readFrames(connection, listener)

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** Opens a connection that lives until the scope closes (closing with 1000) or the peer closes it. */
  readonly open: (request: OpenRequest) => Effect.Effect<Connection, ConnectError, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class Transport extends Context.Tag("effect-gemini-live/Transport")<Transport, Service>() {}

/**
 * The WebSocket transport on the `ws` package (Node), with headers on the upgrade request and
 * per-message compression off (audio does not compress, and deflate costs CPU on every frame).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const webSocket: Service = Transport.of({ open: WebSocketConnection.open })

/**
 * The WebSocket transport as a Layer (the default of `GeminiLive.layer`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerWebSocket: Layer.Layer<Transport> = Layer.succeed(Transport, webSocket)

/**
 * A server reached through `layerMemory`: it decides each upgrade, then serves the accepted
 * connection from the other end of an in-memory pair.
 *
 * @since 0.1.0
 * @category Models
 */
export interface MemoryServer {
  /** `undefined` accepts the upgrade; a status refuses it, as an HTTP answer to the upgrade would. */
  readonly upgrade: (request: OpenRequest) => { readonly status: number; readonly message: string } | undefined
  /** Serves one accepted connection until it closes. */
  readonly serve: (request: OpenRequest, peer: Connection) => Effect.Effect<void>
}

/**
 * An in-memory transport: every `open` creates a connected pair and hands the far end to `server`.
 * Close codes, reasons and abrupt drops behave as on a socket.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerMemory = (server: MemoryServer): Layer.Layer<Transport> =>
  Layer.succeed(Transport, Transport.of({ open: (request) => MemoryConnection.open(server, request) }))
