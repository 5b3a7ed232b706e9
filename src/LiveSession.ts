/**
 * A Live session: one WebSocket conversation with the model, as a scoped resource.
 *
 * It opens with `setupComplete` received and closes (with 1000) when its scope closes. Every send
 * is an Effect that fails with a typed error (`SessionClosed` after a close, `ConfigError` for an
 * argument the protocol refuses): nothing is ever dropped silently.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/session.js"
import type { ConfigError, LiveError, SessionClosed } from "./LiveError.js"
import type { LiveEvent } from "./LiveEvent.js"
import type { WebSocketCloseEvent } from "./Parameters.js"
import type * as Protocol from "./Protocol.js"
import type * as Services from "./Parameters.js"
import type * as Statistics from "./Statistics.js"
import type { CloseInfo } from "./Transport.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface LiveSession {
  /** This client's id for the session (also the trace file's name). */
  readonly id: string
  /** The server's session id (`setupComplete.sessionId`; Vertex AI sends one). */
  readonly sessionId: string | undefined
  /** The `setup` message that was sent. */
  readonly setup: Protocol.Setup
  /**
   * The session's events, buffered from the start and delivered once each; the stream ends with a
   * `Closed` event. Reading it again (for instance turn by turn with `Stream.takeUntil`) continues
   * where the last read stopped. Not reading it eventually pauses the socket (bounded buffer).
   */
  readonly events: Stream.Stream<LiveEvent>
  /** An additional reader of every event published from now on (explicit fan-out). */
  readonly subscribe: Effect.Effect<Stream.Stream<LiveEvent>, never, Scope.Scope>
  /** Sends `clientContent`: turns appended to the context; `turnComplete` defaults to `true`. */
  readonly sendClientContent: (input?: Protocol.ClientContentInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /** Sends `realtimeInput`: audio, video, text, activity signals or `audioStreamEnd`. */
  readonly sendRealtimeInput: (input: Protocol.RealtimeInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /** Sends `toolResponse` (each response with the call's `id` and `name`). */
  readonly sendToolResponse: (input: Protocol.ToolResponseInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /**
   * Closes the session (default code 1000) and waits for the socket to close. Events already
   * buffered are still delivered, then `Closed`.
   */
  readonly close: (code?: number, reason?: string) => Effect.Effect<CloseInfo>
  /** Completes when the session has closed, however it closed. */
  readonly closed: Effect.Effect<CloseInfo>
  /** This session's figures (all zero, `enabled: false`, with statistics off). */
  readonly statistics: Effect.Effect<Statistics.Snapshot>
  /** Where the wire trace is written, with `trace: true`. */
  readonly trace: string | undefined
}

/**
 * How to open a session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly model: string
  readonly connectConfig: Protocol.LiveConnectConfig
  /** For opening the socket and getting `setupComplete`. */
  readonly timeout: Duration.DurationInput
  readonly onWebSocketClose?: ((event: WebSocketCloseEvent) => void) | undefined
  /** Events buffered per reader before the socket is paused; default 256. */
  readonly eventBufferSize?: number | undefined
}

/**
 * Opens a session with the services in context: sends `setup` and waits for `setupComplete`.
 * Fails with `ConfigError` (refused before anything is sent), `AuthError`, `ConnectError`
 * (socket not opened, or no `setupComplete` in time) or `SetupRejected` (closed during setup).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (options: Options) => Effect.Effect<LiveSession, LiveError, Scope.Scope | Services.Services> =
  internal.make
