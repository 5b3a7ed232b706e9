/**
 * The wire protocol of the Live API (`BidiGenerateContent`): Schemas of what crosses the socket,
 * the mapping of the flat `LiveConnectConfig` into the `setup` message, the encoders of the four
 * client messages and the decoder of server frames (their implementations: `internal/codec/`).
 *
 * Server Schemas keep what they do not know: unknown fields survive decoding
 * (`onExcessProperty: "preserve"`), and an unknown message kind decodes to an object with no known
 * key, which the session reports as an `Unknown` event. A known field of the wrong type is dropped
 * (and reported), not the message.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as content from "./internal/codec/content.js"
import * as decode from "./internal/codec/decode.js"
import * as encode from "./internal/codec/encode.js"
import * as setup from "./internal/codec/setup.js"
import type { ConfigError, ProtocolError } from "./LiveError.js"
import type { Frame } from "./Transport.js"

const optional = Schema.optional
const UnknownRecord = Schema.Record({ key: Schema.String, value: Schema.Unknown })

// -----------------------------------------------------------------------------
// Content
// -----------------------------------------------------------------------------

/**
 * Inline bytes with their MIME type; `data` is base64 on the wire.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Blob = Schema.Struct({
  data: Schema.String,
  mimeType: Schema.String,
  displayName: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type Blob = typeof Blob.Type

/**
 * A call the model asks the client to make. `id` is minted by the server on the Gemini API.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FunctionCall = Schema.Struct({
  id: optional(Schema.String),
  name: Schema.String,
  args: optional(UnknownRecord)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type FunctionCall = typeof FunctionCall.Type

/**
 * The answer to a `FunctionCall`. `scheduling` (SILENT | WHEN_IDLE | INTERRUPT) and `willContinue`
 * apply to NON_BLOCKING functions.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const FunctionResponse = Schema.Struct({
  id: optional(Schema.String),
  name: Schema.String,
  response: UnknownRecord,
  scheduling: optional(Schema.String),
  willContinue: optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type FunctionResponse = typeof FunctionResponse.Type

/**
 * A function the model may call (an entry of a tool's `functionDeclarations`): its parameters as
 * JSON Schema (`parametersJsonSchema`) or as the API's OpenAPI subset (`parameters`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface FunctionDeclaration {
  readonly name: string
  readonly description?: string
  readonly parametersJsonSchema?: unknown
  readonly parameters?: unknown
  readonly behavior?: "BLOCKING" | "NON_BLOCKING"
  readonly [key: string]: unknown
}

/**
 * One part of a `Content`: text, inline data, a function call or response, code, ...
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Part = Schema.Struct({
  text: optional(Schema.String),
  thought: optional(Schema.Boolean),
  inlineData: optional(Blob),
  functionCall: optional(FunctionCall),
  functionResponse: optional(FunctionResponse),
  executableCode: optional(UnknownRecord),
  codeExecutionResult: optional(UnknownRecord),
  fileData: optional(UnknownRecord)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type Part = typeof Part.Type

/**
 * A turn of the conversation: a role (`user` or `model`) and its parts.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Content = Schema.Struct({
  role: optional(Schema.String),
  parts: optional(Schema.Array(Part))
})

/**
 * @since 0.1.0
 * @category Models
 */
export type Content = typeof Content.Type

// -----------------------------------------------------------------------------
// LiveConnectConfig -> setup
// -----------------------------------------------------------------------------

/**
 * The session configuration, flat as in `@google/genai`'s `LiveConnectConfig` (and VoxEngine's
 * `connectConfig`). `connect` maps it into the `setup` message; fields this Schema does not name are
 * kept and sent as fields of `setup` (so newer server fields such as `historyConfig` pass through).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const LiveConnectConfig = Schema.Struct({
  /** @deprecated set the generation fields on the config itself. */
  generationConfig: optional(UnknownRecord),
  responseModalities: optional(Schema.Array(Schema.String)),
  temperature: optional(Schema.Number),
  topP: optional(Schema.Number),
  topK: optional(Schema.Number),
  maxOutputTokens: optional(Schema.Number),
  mediaResolution: optional(Schema.String),
  seed: optional(Schema.Number),
  speechConfig: optional(UnknownRecord),
  thinkingConfig: optional(UnknownRecord),
  enableAffectiveDialog: optional(Schema.Boolean),
  systemInstruction: optional(Schema.Union(Schema.String, Content, Part, Schema.Array(Schema.Union(Schema.String, Part)))),
  tools: optional(Schema.Array(UnknownRecord)),
  sessionResumption: optional(
    Schema.Struct({ handle: optional(Schema.String), transparent: optional(Schema.Boolean) })
  ),
  inputAudioTranscription: optional(UnknownRecord),
  outputAudioTranscription: optional(UnknownRecord),
  realtimeInputConfig: optional(UnknownRecord),
  contextWindowCompression: optional(UnknownRecord),
  proactivity: optional(UnknownRecord),
  historyConfig: optional(UnknownRecord),
  explicitVadSignal: optional(Schema.Boolean),
  avatarConfig: optional(UnknownRecord),
  safetySettings: optional(Schema.Array(UnknownRecord)),
  translationConfig: optional(UnknownRecord),
  labels: optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})

/**
 * @since 0.1.0
 * @category Models
 */
export type LiveConnectConfig = typeof LiveConnectConfig.Type

/**
 * The `setup` message's body (`BidiGenerateContentSetup`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Setup {
  readonly model: string
  readonly generationConfig?: Readonly<Record<string, unknown>>
  readonly systemInstruction?: Content
  readonly [key: string]: unknown
}

/**
 * Maps a flat `LiveConnectConfig` into the `setup` message for `model` (already a full model name),
 * as `@google/genai` does: generation fields into `generationConfig` (merged over the deprecated
 * `config.generationConfig`), `systemInstruction` into a `Content`, JSON-Schema-style function
 * parameters into the API's Schema form, every other field into `setup`. Fields set to `null` or
 * `undefined` are left out. Fails on a function schema genai would refuse.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeSetup: (model: string, config: LiveConnectConfig) => Either.Either<Setup, ConfigError> = setup.makeSetup

/**
 * Anything a user may pass where a `Content` is expected: a string, a part, a list of strings and
 * parts (one user turn), or a `Content`.
 *
 * @since 0.1.0
 * @category Models
 */
export type ContentInput = string | Part | Content | ReadonlyArray<string | Part>

/**
 * Normalises a `ContentInput` into a `Content` (a string or parts become a `user` turn).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const toContent: (input: ContentInput) => Content = content.toContent

/**
 * The turns of a `clientContent` message: one `ContentInput`, or a list of `Content`s.
 *
 * @since 0.1.0
 * @category Models
 */
export type TurnsInput = ContentInput | ReadonlyArray<Content>

/**
 * Normalises `turns` as `@google/genai` does: a list of Contents stays a list, a list of strings and
 * parts becomes one user turn, a single value becomes one turn. Mixing Contents and parts, or a bare
 * function call/response part (which needs an explicit role), is refused.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const toTurns: (turns: TurnsInput) => Either.Either<ReadonlyArray<Content>, string> = content.toTurns

// -----------------------------------------------------------------------------
// Client messages
// -----------------------------------------------------------------------------

/**
 * The argument of `sendClientContent`: `turns` are appended to the context in order;
 * `turnComplete` (default `true`) asks the model to answer.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ClientContentInput {
  readonly turns?: TurnsInput | undefined
  readonly turnComplete?: boolean | undefined
}

/**
 * Media for `sendRealtimeInput`: base64 `data`, or raw bytes (encoded for you).
 *
 * @since 0.1.0
 * @category Models
 */
export interface MediaInput {
  readonly data: string | Uint8Array
  readonly mimeType: string
}

/**
 * The argument of `sendRealtimeInput`. Usually one field at a time: `audio` (`audio/pcm;rate=16000`),
 * `video` (JPEG/PNG frames), `text`, `activityStart`/`activityEnd` (manual activity detection) or
 * `audioStreamEnd` (the microphone stopped; automatic activity detection). `media` is the legacy
 * `mediaChunks`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RealtimeInput {
  readonly media?: MediaInput | ReadonlyArray<MediaInput> | undefined
  readonly audio?: MediaInput | undefined
  readonly audioStreamEnd?: boolean | undefined
  readonly video?: MediaInput | undefined
  readonly text?: string | undefined
  readonly activityStart?: Record<string, never> | undefined
  readonly activityEnd?: Record<string, never> | undefined
}

/**
 * The argument of `sendToolResponse`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ToolResponseInput {
  readonly functionResponses: FunctionResponse | ReadonlyArray<FunctionResponse>
}

/**
 * The responses of a `ToolResponseInput`, as a list (empty for an input that has none).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const functionResponsesOf: (input: ToolResponseInput) => ReadonlyArray<FunctionResponse> = encode.functionResponsesOf

/**
 * Encodes a `clientContent` message. `turnComplete` defaults to `true`. Any input that is not one
 * (`turns: 5`, a part's `text: 1`, `null`) is a `ConfigError` naming the field, never a throw.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const encodeClientContent: (input: ClientContentInput) => Either.Either<string, ConfigError> = encode.encodeClientContent

/**
 * The argument of `sendContextUpdate`: what changes in the session's context from the next turn on.
 * A field left out stays as it is; `tools: []` removes every tool.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ContextUpdateInput {
  readonly systemInstruction?: ContentInput | undefined
  readonly tools?: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined
}

/**
 * An encoded `contextUpdate`: the frame, and the new system instruction and tools as the setup of a
 * later connection states them.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ContextUpdate {
  readonly frame: string
  readonly systemInstruction: Content | undefined
  readonly tools: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined
}

/**
 * Encodes a `contextUpdate` message as `@google/genai` 3.3's `sendContextUpdate` does:
 * `{"contextUpdate":{"systemInstruction":Content,"tools":{"tools":[...]}}}`, function schemas in
 * the API's form.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const encodeContextUpdate: (input: ContextUpdateInput) => Either.Either<ContextUpdate, ConfigError> =
  encode.encodeContextUpdate

/**
 * Encodes a `realtimeInput` message. `audio` must be an `audio/*` type and `video` an `image/*` type;
 * data base64 (standard or URL-safe) or bytes, PCM16 (`audio/pcm`) whole samples; at least one field
 * set. Anything else (`null`, `text: 5`, `{}`) is a `ConfigError` naming the field, never a throw.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const encodeRealtimeInput: (input: RealtimeInput) => Either.Either<string, ConfigError> = encode.encodeRealtimeInput

/**
 * An encoder of `realtimeInput.audio` frames for one MIME type: the audio hot path, one string
 * build per frame around its base64 data, which is not checked (`encodeRealtimeInput` checks).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const realtimeAudioEncoder: (mimeType: string) => (base64: string) => string = encode.realtimeAudioEncoder

/**
 * Encodes one `realtimeInput.audio` frame from base64 data, unchecked (see `realtimeAudioEncoder`).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const encodeRealtimeAudio: (base64: string, mimeType: string) => string = encode.encodeRealtimeAudio

/**
 * Encodes a `toolResponse` message (any input that is not one: a `ConfigError` naming the field).
 * Every response needs a `name` and a `response` object;
 * `requireId` (the Gemini API) also needs the call's `id`; `willContinue` is refused unless
 * `acceptsWillContinue` (Google's SDK refuses it on Vertex AI).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const encodeToolResponse: (
  input: ToolResponseInput,
  options: { readonly requireId: boolean; readonly backend: string; readonly acceptsWillContinue?: boolean | undefined }
) => Either.Either<string, ConfigError> = encode.encodeToolResponse

// -----------------------------------------------------------------------------
// Server messages
// -----------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category Schemas
 */
export const SetupComplete = Schema.Struct({
  sessionId: optional(Schema.String),
  voiceConsentSignature: optional(UnknownRecord)
})

/**
 * A transcription delta of the user's audio (`inputTranscription`) or the model's (`outputTranscription`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Transcription = Schema.Struct({
  text: optional(Schema.String),
  finished: optional(Schema.Boolean),
  languageCode: optional(Schema.String),
  /** Where the text starts and ends in the audio (a proto Duration, e.g. `"1.200s"`). */
  startOffset: optional(Schema.String),
  endOffset: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type Transcription = typeof Transcription.Type

/**
 * `serverContent`: the model's output and the turn's progress. Several fields may come in one message.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ServerContent = Schema.Struct({
  modelTurn: optional(Content),
  turnComplete: optional(Schema.Boolean),
  interrupted: optional(Schema.Boolean),
  generationComplete: optional(Schema.Boolean),
  inputTranscription: optional(Transcription),
  outputTranscription: optional(Transcription),
  groundingMetadata: optional(UnknownRecord),
  urlContextMetadata: optional(UnknownRecord),
  turnCompleteReason: optional(Schema.String),
  waitingForInput: optional(Schema.Boolean),
  interactionStatus: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type ServerContent = typeof ServerContent.Type

/**
 * @since 0.1.0
 * @category Schemas
 */
export const ToolCall = Schema.Struct({ functionCalls: optional(Schema.Array(FunctionCall)) })

/**
 * @since 0.1.0
 * @category Schemas
 */
export const ToolCallCancellation = Schema.Struct({ ids: optional(Schema.Array(Schema.String)) })

const ModalityTokenCount = Schema.Struct({ modality: optional(Schema.String), tokenCount: optional(Schema.Number) })

/**
 * Token usage of the session so far, sent with `turnComplete`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const UsageMetadata = Schema.Struct({
  promptTokenCount: optional(Schema.Number),
  cachedContentTokenCount: optional(Schema.Number),
  responseTokenCount: optional(Schema.Number),
  toolUsePromptTokenCount: optional(Schema.Number),
  thoughtsTokenCount: optional(Schema.Number),
  totalTokenCount: optional(Schema.Number),
  promptTokensDetails: optional(Schema.Array(ModalityTokenCount)),
  cacheTokensDetails: optional(Schema.Array(ModalityTokenCount)),
  responseTokensDetails: optional(Schema.Array(ModalityTokenCount)),
  toolUsePromptTokensDetails: optional(Schema.Array(ModalityTokenCount)),
  trafficType: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type UsageMetadata = typeof UsageMetadata.Type

/**
 * The server will close this connection after `timeLeft` (a duration such as `"50s"`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const GoAway = Schema.Struct({ timeLeft: optional(Schema.String) })

/**
 * @since 0.1.0
 * @category Schemas
 */
export const SessionResumptionUpdate = Schema.Struct({
  newHandle: optional(Schema.String),
  resumable: optional(Schema.Boolean),
  lastConsumedClientMessageIndex: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Schemas
 */
export const VoiceActivity = Schema.Struct({
  type: optional(Schema.String),
  voiceActivityType: optional(Schema.String),
  audioOffset: optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category Schemas
 */
export const VoiceActivityDetectionSignal = Schema.Struct({ vadSignalType: optional(Schema.String) })

/**
 * One server message (`BidiGenerateContentServerMessage`): usually one top-level field, but
 * `usageMetadata` rides along with `serverContent`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const ServerMessage = Schema.Struct({
  setupComplete: optional(SetupComplete),
  serverContent: optional(ServerContent),
  toolCall: optional(ToolCall),
  toolCallCancellation: optional(ToolCallCancellation),
  usageMetadata: optional(UsageMetadata),
  goAway: optional(GoAway),
  sessionResumptionUpdate: optional(SessionResumptionUpdate),
  voiceActivity: optional(VoiceActivity),
  voiceActivityDetectionSignal: optional(VoiceActivityDetectionSignal)
})

/**
 * @since 0.1.0
 * @category Models
 */
export type ServerMessage = typeof ServerMessage.Type

/**
 * Decodes one server frame, text or binary (the service sends binary frames of pretty-printed JSON).
 * The common `serverContent` messages (audio, text, transcriptions) are checked by hand and used as
 * parsed (audio data cut out of the text before parsing, then put back); every other message goes
 * through the `ServerMessage` Schema.
 *
 * Leniently: a field of the wrong type (`promptTokenCount: "12"`, `role: 7`) costs only itself —
 * the smallest optional field or list element around it is dropped, the rest of the message (its
 * audio, its `turnComplete`, its usage) kept, and `onDropped` is called once per drop with a short
 * `ProtocolError` (the field's path, what was expected and what came). A frame that is not a JSON
 * object is a `ProtocolError` (a short description).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const decodeServerMessage: (
  frame: Frame,
  onDropped?: (error: ProtocolError) => void
) => Either.Either<ServerMessage, ProtocolError> = decode.serverMessageDecoder(ServerMessage)
