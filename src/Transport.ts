/**
 * The Transport service: opens a WebSocket as a scoped `Connection`. Implementations:
 * `NodeTransport` (`ws`, the default) and `MemoryTransport` in `effect-gemini-live/testing`.
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
 * How a connection ended: the close code and reason; `wasClean: false` means it dropped (1006).
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
 * One open WebSocket. Frames are written synchronously, in call order, with no queue; a send once
 * the socket is closing fails with `TransportError`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Connection {
  /** Writes one frame, or fails if the connection is no longer open. */
  readonly send: (frame: Frame) => Effect.Effect<void, TransportError>
  /**
   * Optional synchronous `send` for many frames (audio): writes and gives `true` when open and below
   * the send buffer's high-water mark, else writes nothing and gives `false`.
   */
  readonly trySend?: ((frame: Frame) => boolean) | undefined
  /** Completes when the send buffer is below its high-water mark (a fast producer waits on it). */
  readonly awaitWritable: Effect.Effect<void>
  /** The frames received, in order, ending once the connection has closed. Reading slowly pauses the socket. */
  readonly frames: Stream.Stream<Frame>
  /** Optional, instead of `frames`: hands each frame to `Listener` in the socket's own callback (see `Transport.listen`). */
  readonly listen?: ((listener: Listener) => Effect.Effect<void, never, Scope.Scope>) | undefined
  /** Starts the closing handshake (if still open) and waits until the connection has closed. */
  readonly close: (code?: number, reason?: string) => Effect.Effect<CloseInfo>
  /** Drops the connection without a closing handshake (the peer sees 1006). */
  readonly terminate: Effect.Effect<void>
  /** Completes once the connection has closed, however it closed. */
  readonly closed: Effect.Effect<CloseInfo>
}

/**
 * What reads a connection (`Transport.listen`): `frame` on each frame in order, then `closed` once.
 * When `frame` returns an effect, later frames wait for it. A failing step is logged and reading
 * goes on; it stops with its scope. One listener at a time (on `NodeTransport` a new one replaces it).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Listener {
  readonly frame: (frame: Frame) => Effect.Effect<void> | undefined
  readonly closed: (info: CloseInfo) => Effect.Effect<void>
}

/**
 * Reads `connection` with `listener` until the scope closes: with its own `listen` when it has one,
 * otherwise from `frames` in a fiber.
 *
 * @since 0.1.0
 * @category Actions
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
 * Marks `connection` as handing its binary frames over: a frame read is the reader's alone, which
 * may reuse its memory. A transport marks its own connections; a wrapper, which may keep frames, is not.
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
