/**
 * The typed events a Live session emits, derived from server messages.
 *
 * One server message can yield several events, always in this order: `ServerContent` (the raw
 * content, as VoxEngine's event gives it), then `InputTranscription`, the model turn's parts
 * (`AudioDelta`, `TextDelta`), `OutputTranscription`, `Interrupted`, `GenerationComplete`,
 * `InteractionStatus`, `WaitingForInput`, `UsageMetadata`, and `TurnComplete` last, so a reader
 * that stops at `TurnComplete` has seen the turn's usage. `Closed` is the last event of every session.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as internal from "./internal/codec/toEvents.js"
import type { ProtocolError, ServerClosed } from "./LiveError.js"
import type * as Protocol from "./Protocol.js"
import type { CloseInfo } from "./Transport.js"

/**
 * @since 0.1.0
 * @category Models
 */
export type LiveEvent = Data.TaggedEnum<{
  /** The server accepted the setup; `sessionId` is set on Vertex AI. */
  SetupComplete: { readonly sessionId: string | undefined }
  /** A `serverContent` message as the server sent it (unknown fields kept). */
  ServerContent: { readonly content: Protocol.ServerContent }
  /**
   * Model audio: PCM16 little-endian mono bytes at `sampleRate` (24 kHz from the Live API), shared
   * with the `ServerContent` event's blob: read them, copy them to change them. Like Node's small
   * buffers, they are a view (mind `byteOffset`, 8-byte aligned) of a larger buffer that they keep
   * alive: copy a chunk to keep it for long.
   */
  AudioDelta: { readonly data: Uint8Array; readonly mimeType: string; readonly sampleRate: number }
  /** Model text (TEXT modality); `thought` marks thinking summaries. */
  TextDelta: { readonly text: string; readonly thought: boolean }
  /**
   * A piece of the transcription of the user's audio; `startOffset`/`endOffset` (proto Durations such
   * as `"1.200s"`) when the server sends them (`realtimeInputConfig.interimTranscriptTimestampEnabled`).
   */
  InputTranscription: Transcribed
  /** A piece of the transcription of the model's audio (empty pieces are not events). */
  OutputTranscription: Transcribed
  /** The user barged in: the model stopped, and audio not yet played should be dropped. */
  Interrupted: {}
  /** The model finished generating this turn (playback may still be going on). */
  GenerationComplete: {}
  /**
   * Background reasoning (`gemini-3.8-live-extended-thinking`): `IN_PROGRESS` while the model reasons
   * (it may speak filler meanwhile), `IDLE` when it is done.
   */
  InteractionStatus: { readonly status: string }
  /** The model is waiting for the user's input (`serverContent.waitingForInput`). */
  WaitingForInput: {}
  /** The turn is over; `reason` is set when the model stopped early (e.g. `MALFORMED_FUNCTION_CALL`). */
  TurnComplete: { readonly reason: string | undefined }
  /** The model asks for function calls; answer each with `sendToolResponse`. */
  ToolCall: { readonly functionCalls: ReadonlyArray<Protocol.FunctionCall> }
  /**
   * The model no longer wants these calls' results. The session also says so itself when a lost
   * connection voids the calls in flight: the resumed conversation predates them.
   */
  ToolCallCancellation: { readonly ids: ReadonlyArray<string> }
  /** Token usage so far. */
  UsageMetadata: { readonly usage: Protocol.UsageMetadata }
  /** The server will close this connection after `timeLeft` (e.g. `"50s"`). */
  GoAway: { readonly timeLeft: string | undefined }
  /** A new session resumption handle (usable when `resumable`). */
  SessionResumptionUpdate: {
    readonly newHandle: string | undefined
    readonly resumable: boolean
    readonly lastConsumedClientMessageIndex: string | undefined
  }
  /** Voice activity detected by the server (`ACTIVITY_START`/`ACTIVITY_END` or a VAD signal type). */
  VoiceActivity: { readonly type: string | undefined; readonly audioOffset: string | undefined }
  /** Model audio started arriving (VoxEngine's `WebSocketMediaStarted`); `turn` counts model turns from 0. */
  MediaStarted: { readonly turn: number }
  /** No model audio for 1 s (VoxEngine's `WebSocketMediaEnded`); `durationMillis` of audio since `MediaStarted`. */
  MediaEnded: { readonly turn: number; readonly durationMillis: number }
  /**
   * The connection ended (`reason: "Closed"`, with its `close`) or is about to (`"GoAway"`): the
   * session is opening the next one. Sends wait meanwhile; nothing is dropped.
   */
  Reconnecting: {
    readonly attempt: number
    readonly reason: "Closed" | "GoAway"
    readonly close: CloseInfo | undefined
  }
  /**
   * The session goes on over a new connection; `resumed`: with the conversation's context (a
   * resumption handle). With transparent resumption (Vertex AI), `resent` client messages the server
   * had not consumed went out again first, and `lost` were too old for the replay log (0 otherwise).
   */
  Reconnected: { readonly resumed: boolean; readonly attempts: number; readonly resent: number; readonly lost: number }
  /** The session ended; `error` is set when the server or network ended it abnormally. */
  Closed: { readonly info: CloseInfo; readonly initiator: "client" | "server"; readonly error: ServerClosed | undefined }
  /** A message of a kind this library does not know, or a frame it could not decode (`error`). */
  Unknown: { readonly message: unknown; readonly error: ProtocolError | undefined }
}>

/**
 * A piece of transcription.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Transcribed {
  readonly text: string
  readonly finished: boolean
  readonly startOffset?: string
  readonly endOffset?: string
}

/**
 * Constructors and matchers: `LiveEvent.AudioDelta({ ... })`, `LiveEvent.$is("TurnComplete")`,
 * `LiveEvent.$match(event, { ... })`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const {
  $is,
  $match,
  AudioDelta,
  Closed,
  GenerationComplete,
  GoAway,
  InputTranscription,
  InteractionStatus,
  Interrupted,
  MediaEnded,
  MediaStarted,
  OutputTranscription,
  Reconnected,
  Reconnecting,
  ServerContent,
  SessionResumptionUpdate,
  SetupComplete,
  TextDelta,
  ToolCall,
  ToolCallCancellation,
  TurnComplete,
  Unknown,
  UsageMetadata,
  VoiceActivity,
  WaitingForInput
} = Data.taggedEnum<LiveEvent>()

/**
 * A guard for one kind of event, for `Stream.filter` and `Stream.takeUntil`.
 *
 * @example
 * ```ts
 * session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")))
 * ```
 *
 * @since 0.1.0
 * @category Guards
 */
export const is = <Tag extends LiveEvent["_tag"]>(tag: Tag) =>
(event: LiveEvent): event is Extract<LiveEvent, { readonly _tag: Tag }> => event._tag === tag

/**
 * The events of one decoded server message, in the order the module's doc gives.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const fromServerMessage: (message: Protocol.ServerMessage) => ReadonlyArray<LiveEvent> = internal.fromServerMessage
