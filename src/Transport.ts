/**
 * The Transport service, the abstraction only: it opens one WebSocket connection and hands back a
 * scoped `Connection`. The implementations live elsewhere: `NodeTransport` (the `ws` package, the
 * default) and, for tests with no socket at all, `MemoryTransport` in `effect-gemini-live/testing`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Listening from "./internal/transport/listening.js"
import type { ConnectError } from "./LiveError.js"

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
  readonly send: (frame: Frame) => Effect.Effect<void, TransportError>
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
 * A write to a connection that is no longer open: `close` says how it ended.
 *
 * @since 0.1.0
 * @category Errors
 */
export class TransportError extends Schema.TaggedError<TransportError>("effect-gemini-live/TransportError")("TransportError", {
  reason: Schema.Literal("Closed"),
  close: Schema.Struct({ code: Schema.Number, reason: Schema.String, wasClean: Schema.Boolean })
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `the connection is closed (${this.close.code}${this.close.reason === "" ? "" : ` ${this.close.reason}`})`
  }
}

/** The connections whose binary frames their reader owns once read. */
const framesHandedOver = new WeakSet<Connection>()

/**
 * Marks `connection` as handing its binary frames over: once read, a frame is the reader's alone
 * (nothing else keeps it), so the reader may reuse its memory (the session decodes model audio into
 * it). A transport marks the connections it makes; a wrapper's own object is not marked, as it may
 * keep frames.
 *
 * @since 0.1.0
 * @category Utils
 */
export const handOverFrames = <C extends Connection>(connection: C): C => {
  framesHandedOver.add(connection)
  return connection
}

/**
 * Whether the binary frames read from `connection` are the reader's alone (`handOverFrames`).
 *
 * @since 0.1.0
 * @category Utils
 */
export const ownsFrames = (connection: Connection): boolean => framesHandedOver.has(connection)
