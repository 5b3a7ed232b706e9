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
   * The session's events, buffered from the start and delivered once each; the stream ends with a
   * `Closed` event. Reading it again (for instance turn by turn with `Stream.takeUntil`) continues
   * where the last read stopped, when it stopped at its first event or at any event but the deltas
   * (`ServerContent`, `AudioDelta`, `TextDelta`, transcriptions), which come in chunks: like any
   * chunked Effect stream, a read that ends or is interrupted in the middle of a chunk (at a delta, or
   * by a timeout) drops the rest of it, the deltas that followed in that turn. Not reading it
   * eventually pauses the socket (bounded buffer).
   */
  readonly events: Stream.Stream<LiveEvent>
  /**
   * Reads `events` with a handler, without a stream: the fastest way to take them (two thirds of
   * the CPU a message of `Stream.runForEach(session.events, f)`, and no fiber wake-up per event). While
   * it waits, each event is handed to `handler` as it arrives, in the socket's callback; when
   * `handler` gives back an effect, the events after it wait until that effect is done (in order;
   * the bounded buffer, then the socket, hold them meanwhile). Ends after `Closed` is handled; fails
   * with the first failure of an effect `handler` gave back (a throw is a defect), and the session
   * goes on; events it had not taken stay buffered for the next read. (As with a stream, an
   * interruption may leave the effect given back for the last event handed over not run.) Keep the
   * synchronous part short: the session's reading waits for it.
   */
  readonly runForEach: <X = void, E = never, R = never>(handler: (event: LiveEvent) => Effect.Effect<X, E, R> | void) => Effect.Effect<void, E, R>
  /**
   * Reads `events` with a handler and no fiber of its own, for as long as the scope lasts: the
   * lightest way to take them when a process holds many sessions. Each event is handed to
   * `handler` as it arrives, in the socket's callback (the events already buffered first, `Closed`
   * last). When `handler` gives back an effect, a fiber of the scope runs it, then the events that
   * came meanwhile, in order (the bounded buffer, then the socket, hold them), and ends. A throw or
   * a defect is logged and the events go on; handle failures in the effect (its error type is
   * `never`). Closing the scope stops it, and events it had not taken stay buffered for the next
   * read. One at a time: a second `listen` while one reads is a defect (`subscribe` gives another
   * reader); a `runForEach` or a read of `events` alongside gets only what it leaves buffered. Keep
   * the synchronous part short: the session's reading waits for it.
   */
  readonly listen: <R = never>(handler: (event: LiveEvent) => Effect.Effect<unknown, never, R> | void) => Effect.Effect<void, never, Scope.Scope | R>
  /** An additional reader of every event published from now on (explicit fan-out). */
  readonly subscribe: Effect.Effect<Stream.Stream<LiveEvent>, never, Scope.Scope>
  /**
   * Sends `clientContent`: turns appended to the context; `turnComplete` defaults to `true` (on
   * `gemini-3.8-live` it interrupts what the model is saying). What a model accepts differs
   * (`LiveModel`): `gemini-3.1-flash-live-preview` takes it only as initial history; `gemini-3.8-live`
   * needs each turn's role. A message the model refuses fails with a `ConfigError`, not sent.
   */
  readonly sendClientContent: (input?: Protocol.ClientContentInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /** Sends `realtimeInput`: audio, video, text, activity signals or `audioStreamEnd`. */
  readonly sendRealtimeInput: (input: Protocol.RealtimeInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /**
   * Sends `contextUpdate` (`@google/genai` 3.3's `sendContextUpdate`): a new system instruction and/or
   * a new set of tools, seen from the next turn on, in order with the other input. A field left out
   * stays; `tools: []` removes every tool (also the toolkit's declarations: its handlers still answer
   * calls). The session's later connections (a reconnection, a goAway handover) start with the updated
   * context. Functions it declares are the application's to answer.
   */
  readonly sendContextUpdate: (input: Protocol.ContextUpdateInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /** Sends `toolResponse` (each response with the call's `id` and `name`). */
  readonly sendToolResponse: (input: Protocol.ToolResponseInput) => Effect.Effect<void, ConfigError | SessionClosed>
  /**
   * Streams audio to the model: converted to 16 kHz PCM16, cut into frames, paced at real time (or
   * as fast as the socket takes them), each sent as `realtimeInput.audio`; `audioStreamEnd` follows
   * the end of the stream (or its interruption) when the server detects activity. Interrupting the
   * fiber stops the input; the session stays usable.
   */
  readonly sendAudio: <E, R>(
    audio: Stream.Stream<Uint8Array, E, R>,
    options?: SendAudioOptions
  ) => Effect.Effect<SendAudioSummary, E | SessionClosed | ConfigError | AudioError, R>
  /**
   * A live audio input to push chunks into from callbacks (a phone line's media events, a
   * microphone's): `unsafeOffer(chunk)` converts the chunk to 16 kHz PCM16, cuts it into frames and
   * writes each one at once, in the caller's call (no stream, no queue, no fiber wake-up per
   * frame, as `sendAudio` fed from a queue has). Frames the connection cannot take now (a full socket
   * buffer, a reconnection) wait, at most `bufferMillis` of them, oldest dropped beyond (counted).
   * `end` sends the rest and `audioStreamEnd`; closing the scope stops it.
   */
  readonly audioInput: (options?: AudioInputOptions) => Effect.Effect<AudioInput, ConfigError, Scope.Scope>
  /**
   * The model's audio for playback: 24 kHz PCM16 chunks, buffered from the start and delivered once
   * each (one player). Audio not yet taken is dropped when the user barges in (`Interrupted`). While
   * read, a full buffer slows the socket; while not read, it keeps the latest ~30 s. Off (a defect to
   * read) with `audioBufferSize: 0`.
   */
  readonly audio: Stream.Stream<AudioChunk>
  /** `audio` converted to `format` (e.g. `Audio.MULAW_8K` for a phone line), as bytes. */
  readonly audioAs: (format: Audio.Format) => Stream.Stream<Uint8Array, AudioError>
  /** Drops the model audio not yet taken from `audio` (VoxEngine's `clearMediaBuffer`); gives the bytes dropped. */
  readonly clearAudio: Effect.Effect<number>
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
   * When the source outruns the sending: `backpressure` (default) pulls the stream slower, nothing
   * lost; `dropOldest`, for live microphones that cannot wait, keeps `bufferMillis` of frames and
   * drops the oldest (counted in the summary and in Statistics, and logged).
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
   * Hands over a chunk of audio (any length, in the input's format): its whole frames are sent
   * before this returns when the connection takes them, else they wait. The bytes are not kept (the
   * caller may reuse its buffer). `false` once the input has ended (nothing was sent).
   */
  readonly unsafeOffer: (chunk: Uint8Array) => boolean
  /** `unsafeOffer` as an effect. */
  readonly offer: (chunk: Uint8Array) => Effect.Effect<boolean>
  /**
   * Ends the input: sends the last, shorter frame and the frames waiting, then `audioStreamEnd`
   * (when on); gives what was sent. Fails if the session closed before all of it was sent.
   */
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
  /**
   * Model audio chunks `session.audio` buffers; default 150 (about 30 s). `0` turns `session.audio`
   * off, for an application that takes the audio from the `AudioDelta` events: no copy is kept.
   */
  readonly audioBufferSize?: number | undefined
  /** Tools declared in the setup and answered automatically (see `Tool`). */
  readonly tools?: Tool.Toolkit<R> | undefined
  /** What to do when a connection ends unasked; `false`: end the session. Default `ReconnectPolicy.defaultPolicy`. */
  readonly reconnect?: ReconnectPolicy.ReconnectPolicy | false | undefined
}

/**
 * Opens a session with the services in context: sends `setup` and waits for `setupComplete`.
 * Fails with `ConfigError` (refused before anything is sent), `AuthError`, `ConnectError`
 * (socket not opened, or no `setupComplete` in time) or `SetupRejected` (closed during setup).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: <R = never>(
  options: Options<R>
) => Effect.Effect<LiveSession, LiveError, Scope.Scope | Services.Services | R> = internal.make
