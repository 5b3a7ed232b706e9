/**
 * A Live session: one conversation with the model, as a scoped resource. It is open once
 * `setupComplete` arrives and closes (1000) with its scope. Every send fails with a typed error
 * (`SessionClosed`, `ConfigError`): nothing is dropped silently.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Audio from "./Audio.js"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/session/make.js"
import type { AudioError, ConfigError, LiveError, SessionClosed } from "./LiveError.js"
import type { LiveEvent } from "./LiveEvent.js"
import type { WebSocketCloseEvent } from "./Parameters.js"
import type * as Protocol from "./Protocol.js"
import type * as Services from "./Parameters.js"
import type * as ReconnectPolicy from "./ReconnectPolicy.js"
import type * as Statistics from "./Statistics.js"
import type * as Tool from "./Tool.js"
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
   * The events, buffered from the start, each delivered once; ends with `Closed`. A new read (e.g.
   * turn by turn with `Stream.takeUntil`) continues where the last stopped, except that a read
   * ending inside a chunk of deltas (at a delta, or by a timeout) drops the rest of that chunk.
   * Not reading it eventually pauses the socket.
   */
  readonly events: Stream.Stream<LiveEvent>
  /**
   * Reads `events` with a handler, in the socket's callback (the fastest way); a returned effect holds
   * back later events. Ends after `Closed`, or fails with a returned effect's failure (events stay
   * buffered). Keep the synchronous part short: reading the socket waits for it.
   */
  readonly runForEach: <X = void, E = never, R = never>(handler: (event: LiveEvent) => Effect.Effect<X, E, R> | void) => Effect.Effect<void, E, R>
  /**
   * `runForEach` with no fiber of its own, until the scope closes (the lightest, for many sessions):
   * a returned effect runs in a fiber of the scope. A throw or defect is logged and reading goes on.
   * One `listen` at a time (`subscribe` gives another reader).
   */
  readonly listen: <R = never>(handler: (event: LiveEvent) => Effect.Effect<unknown, never, R> | void) => Effect.Effect<void, never, Scope.Scope | R>
  /** An additional reader of every event published from now on (explicit fan-out). */
  readonly subscribe: Effect.Effect<Stream.Stream<LiveEvent>, never, Scope.Scope>
  /**
   * Sends `clientContent` (turns appended to the context; `turnComplete` defaults to `true`). What a
   * model accepts differs (`LiveModel`); a refused message fails with `ConfigError`, unsent.
   */
  readonly sendClientContent: (input?: Protocol.ClientContentInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /** Sends `realtimeInput`: audio, video, text, activity signals or `audioStreamEnd`. */
  readonly sendRealtimeInput: (input: Protocol.RealtimeInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /**
   * Sends `contextUpdate`: a new system instruction and/or tools from the next turn on (a field left
   * out stays; `tools: []` removes every declaration). Later connections start with the update.
   */
  readonly sendContextUpdate: (input: Protocol.ContextUpdateInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /** Sends `toolResponse` (each response with the call's `id` and `name`). */
  readonly sendToolResponse: (input: Protocol.ToolResponseInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /**
   * Streams audio to the model: converted to 16 kHz PCM16, framed, paced at real time (or as fast
   * as the socket takes it), then `audioStreamEnd` when activity detection is on. Interrupting it
   * stops the input; the session stays usable.
   */
  readonly sendAudio: <E, R>(
    audio: Stream.Stream<Uint8Array, E, R>,
    options?: SendAudioOptions
  ) => Effect.Effect<SendAudioSummary, E | SessionClosed | ConfigError | AudioError, R>
  /**
   * A live audio input for callbacks (a phone line, a microphone): `unsafeOffer(chunk)` converts,
   * frames and writes in the caller's call. Frames the connection cannot take yet wait, up to
   * `bufferMillis`, oldest dropped beyond (counted). `end` sends the rest; the scope stops it.
   */
  readonly audioInput: (options?: AudioInputOptions) => Effect.Effect<AudioInput, ConfigError, Scope.Scope>
  /**
   * The model's audio for one player: 24 kHz PCM16 chunks, buffered from the start; untaken audio is
   * dropped on barge-in (`Interrupted`). Unread, it keeps the latest ~30 s. Off with `audioBufferSize: 0`.
   */
  readonly audio: Stream.Stream<AudioChunk>
  /** `audio` converted to `format` (e.g. `Audio.MULAW_8K` for a phone line), as bytes. */
  readonly audioAs: (format: Audio.Format) => Stream.Stream<Uint8Array, AudioError>
  /** Drops the model audio not yet taken from `audio` (VoxEngine's `clearMediaBuffer`); gives the bytes dropped. */
  readonly clearAudio: Effect.Effect<number>
  /** Closes the session (default 1000) and waits for the socket; buffered events still arrive, then `Closed`. */
  readonly close: (code?: number, reason?: string) => Effect.Effect<CloseInfo>
  /** Completes when the session has closed, however it closed. */
  readonly closed: Effect.Effect<CloseInfo>
  /** This session's figures (all zero, `enabled: false`, with statistics off). */
  readonly statistics: Effect.Effect<Statistics.Snapshot>
  /** Where the wire trace is written, with `trace: true`. */
  readonly trace: string | undefined
}

/**
 * A chunk of model audio: PCM16 LE mono at `sampleRate` (24 kHz), from model turn `turn` (from 0).
 *
 * @since 0.1.0
 * @category Models
 */
export interface AudioChunk {
  readonly data: Uint8Array
  readonly sampleRate: number
  readonly turn: number
}

/**
 * How `sendAudio` sends.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SendAudioOptions {
  /** The format of the stream's bytes; default 16 kHz PCM16 (`Audio.INPUT_FORMAT`). */
  readonly format?: Audio.Format | undefined
  /** Frame duration in milliseconds (10–1000); default 40. */
  readonly frameMillis?: number | undefined
  /** `realtime` (default): never faster than real time; `none`: as fast as the socket takes them (files). */
  readonly pacing?: "realtime" | "none" | undefined
  /**
   * When the source outruns the socket: `backpressure` (default) pulls slower; `dropOldest` (live
   * sources) keeps `bufferMillis` of frames and drops the oldest (counted and logged).
   */
  readonly overflow?: "backpressure" | "dropOldest" | undefined
  /** The drop-oldest buffer; default 1000 ms. */
  readonly bufferMillis?: number | undefined
  /** Send `audioStreamEnd` after the stream; default: when automatic activity detection is on. */
  readonly audioStreamEnd?: boolean | undefined
}

/**
 * How `audioInput` sends: as `sendAudio` with `overflow: "dropOldest"`, paced by its source.
 *
 * @since 0.1.0
 * @category Models
 */
export type AudioInputOptions = Pick<SendAudioOptions, "format" | "frameMillis" | "bufferMillis" | "audioStreamEnd">

/**
 * A live audio input (`session.audioInput`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface AudioInput {
  /**
   * Sends a chunk's whole frames now if the connection takes them, else they wait. The bytes are not
   * kept (the buffer may be reused). `false` once the input has ended.
   */
  readonly unsafeOffer: (chunk: Uint8Array) => boolean
  /** `unsafeOffer` as an effect. */
  readonly offer: (chunk: Uint8Array) => Effect.Effect<boolean>
  /** Sends what waits, the last short frame and `audioStreamEnd` (when on); fails if the session closed first. */
  readonly end: Effect.Effect<SendAudioSummary, SessionClosed>
}

/**
 * What `sendAudio` sent.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SendAudioSummary {
  readonly framesSent: number
  readonly bytesSent: number
  readonly framesDropped: number
  readonly durationMillis: number
}

/**
 * How to open a session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<R = never> {
  readonly model: string
  readonly connectConfig: Protocol.LiveConnectConfig
  /** For opening the socket and getting `setupComplete`. */
  readonly timeout: Duration.DurationInput
  readonly onWebSocketClose?: ((event: WebSocketCloseEvent) => void) | undefined
  /** Events buffered per reader before the socket is paused; default 256. */
  readonly eventBufferSize?: number | undefined
  /** Model audio chunks `session.audio` buffers; default 150 (~30 s); `0` turns it off (no copy kept). */
  readonly audioBufferSize?: number | undefined
  /** Tools declared in the setup and answered automatically (see `Tool`). */
  readonly tools?: Tool.Toolkit<R> | undefined
  /** What to do when a connection ends unasked; `false`: end the session. Default `ReconnectPolicy.defaultPolicy`. */
  readonly reconnect?: ReconnectPolicy.ReconnectPolicy | false | undefined
}

/**
 * Opens a session: sends `setup` and waits for `setupComplete`. Fails with `ConfigError` (nothing
 * sent), `AuthError`, `ConnectError` (no socket or no `setupComplete` in time) or `SetupRejected`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <R = never>(
  options: Options<R>
) => Effect.Effect<LiveSession, LiveError, Scope.Scope | Services.Services | R> = internal.make
