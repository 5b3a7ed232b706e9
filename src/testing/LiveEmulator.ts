/**
 * A fake Gemini Live server that speaks the real protocol (`BidiGenerateContent` over WebSocket),
 * for running clients offline: in tests, in examples, in CI.
 *
 * It has two faces and one session logic:
 * - a real WebSocket server on `127.0.0.1` (`url` is its HTTP base URL, to give a client as
 *   `httpOptions.baseUrl`, Google's own SDK included);
 * - an in-memory twin, `layerTransport`, for tests that need no socket at all.
 *
 * One emulator serves both backends; the request path chooses (`ConnectionRecord.backend` tells which
 * answered):
 * - Gemini Developer API (`"GeminiAPI"`): paths
 *   `/ws/google.ai.generativelanguage.{v1|v1beta|v1alpha}.GenerativeService.BidiGenerateContent`
 *   (API key: `key=` or `x-goog-api-key`) and `...BidiGenerateContentConstrained` (ephemeral token:
 *   `access_token=` or `Authorization: Token auth_tokens/...`);
 * - Vertex AI (`"VertexAI"`): path `/ws/google.cloud.aiplatform.{v1|v1beta1}.LlmBidiService/BidiGenerateContent`
 *   (OAuth2 access token: `Authorization: Bearer <token>`, checked with `isValidAccessToken`; or, in
 *   Express mode, an API key in `x-goog-api-key`, checked with `isValidApiKey`).
 *
 * Either with one or two leading slashes (Google's SDK sends two); anything else is answered with
 * HTTP 404.
 *
 * What it does, as the real service does it (checked against recorded traffic, and the protocol
 * reference where Vertex AI was not recorded):
 * - The credential is checked when the first message arrives (the upgrade always succeeds, on both
 *   backends: the same Google front end lets the upgrade through and refuses the stream). On the
 *   Gemini API no credential closes 1008, a key the emulator does not accept closes 1007. On Vertex
 *   AI a missing or refused access token is UNAUTHENTICATED: close 1008 "Request is missing required
 *   authentication credential. ..." / "Request had invalid authentication credentials. Expected
 *   OAuth 2 access token, ..." (cut to 123 bytes); a refused Express-mode key closes 1007.
 * - The first message must be `setup` (1007 otherwise); unknown setup fields close 1007. The model
 *   is `models/{name}` (or `tunedModels/...`) on the Gemini API;
 *   `projects/{p}/locations/{l}/publishers/google/models/{name}`, `publishers/google/models/{name}`
 *   or `models/{name}` on Vertex AI; another form closes 1007 "Request contains an invalid
 *   argument.". A name in `unknownModels` closes 1008 "models/X is not found ..." (Gemini API) or
 *   "Publisher Model `...` was not found ..." (Vertex AI), cut to 123 bytes as the service cuts it.
 *   Field names are read in lowerCamel or snake_case, as a proto3 JSON parser reads them.
 * - Vertex AI words the same messages differently: `setupComplete` carries a fresh `sessionId` (a
 *   UUID); `modelTurn` is `{ "role": "model", "parts": [...] }`; audio is `audio/pcm` (still 24 kHz);
 *   `usageMetadata` counts `candidatesTokenCount` / `candidatesTokensDetails` instead of
 *   `responseTokenCount` / `responseTokensDetails`; with `outputAudioTranscription`, each model turn
 *   of an AUDIO session opens with an empty `{"serverContent":{"outputTranscription":{}}}`.
 * - Every server message is a binary frame of `JSON.stringify(message, null, 2) + "\n"`.
 * - Messages sent before `setupComplete` are answered after it.
 * - Each user turn (`clientContent` with `turnComplete: true`, `realtimeInput.text`, or audio ended
 *   by the activity detector, by `audioStreamEnd`, or by `activityEnd` when automatic activity
 *   detection is disabled) gets a reply: text deltas (TEXT), or 24 kHz audio in 200/240 ms chunks
 *   with `outputTranscription` deltas (AUDIO, the default), then `generationComplete`, then
 *   `turnComplete` with `usageMetadata`.
 * - With `realtime: true`, replies are paced at speaking speed (`Effect.sleep`, so the `TestClock`
 *   drives it too) and a new user turn interrupts them: `interrupted`, then `turnComplete`.
 *
 * Models: a session is held to the rules of its model on its backend (`Options.models`, by default
 * `LiveModel.known`; a model the registry does not know is not checked). What a model refuses closes
 * 1007 "Request contains an invalid argument.", the service's INVALID_ARGUMENT: at setup, what
 * `LiveModel.checkSetup` refuses (3.8: `thinkingConfig`; on the Gemini API `proactiveAudio: false`,
 * `enableAffectiveDialog`, a response modality other than AUDIO; extended thinking: a BLOCKING
 * function); a `clientContent` `LiveModel.checkClientContent` refuses (3.1: any, except initial
 * history with `historyConfig.initialHistoryInClientContent: true` before the first realtime input
 * or model output; 3.8: a turn without role `user` or `model`); a `contextUpdate` whose tools
 * `LiveModel.checkTools` refuses. Field names may be snake_case, as elsewhere.
 * - `contextUpdate` (`{"contextUpdate": {"systemInstruction": Content, "tools": {"tools": [...]}}}`,
 *   both optional; `{"tools": []}` clears the tools) replaces what the next turns see:
 *   `Turn.systemInstruction` and `Turn.tools`, kept in the resumption state (a resumed setup's own
 *   `systemInstruction` or `tools` replace them).
 * - A function's behaviour is its declaration's `behavior`, else the model's default (3.8:
 *   NON_BLOCKING; unknown models: BLOCKING). A BLOCKING function's `toolResponse` is answered as a
 *   new reply after the current one ("<name> returned <json>."); a NON_BLOCKING one's by its
 *   `scheduling`: `SILENT`, no reply; `WHEN_IDLE` (the default), a reply after the current one;
 *   `INTERRUPT`, the current reply stops (`interrupted`, `turnComplete`) and the reply follows.
 *   `willContinue: true` keeps the call pending.
 * - Vertex AI 3.8: new input (realtime text, `clientContent`, `activityStart`, detected speech) while
 *   BLOCKING calls are pending sends `{"toolCallCancellation": {"ids": [...]}}`; later responses to
 *   them are ignored.
 * - 3.8: a `clientContent` with `turnComplete: true` interrupts the reply in progress, even with
 *   `activityHandling: NO_INTERRUPTION` and without real-time pacing.
 * - Extended thinking: each reply opens with `{"serverContent": {"interactionStatus": "IN_PROGRESS"}}`
 *   and says `"IDLE"` right before its `turnComplete` (after `generationComplete`, or after
 *   `interrupted`).
 *
 * Session resumption, so that a client's reconnect logic can be tested (the state behind the handles
 * is kept by the emulator, for all its connections, on both faces):
 * - With `sessionResumption` in the setup (`{}`, or `{ handle }`), the emulator sends
 *   `{"sessionResumptionUpdate": {"newHandle": "<opaque>", "resumable": true}}` at each safe point:
 *   right after `setupComplete`, and after each `turnComplete` when no function call is pending. When
 *   the model starts generating (its first output of a turn, or a `toolCall`) it sends
 *   `{"sessionResumptionUpdate": {"resumable": false}}` (no handle) once, until the next handle.
 *   Without `sessionResumption`: no updates.
 * - Behind each handle: the conversation's user turns so far (their texts: an audio turn's
 *   transcript), `clientContent` text not answered yet, the token counts of the context, and how many
 *   client messages were consumed. A setup with a known, valid `handle` continues that conversation:
 *   `Turn.index` goes on, `Turn.resumed` is true and `Turn.history` has the earlier turns, and the
 *   connection's record says `resumedFrom` and the conversation's `sessionKey`.
 * - A handle stays valid while a connection of its conversation is open and for
 *   `resumptionHandleLifetime` (2 hours) after the last one ended, as the service documents ("valid
 *   for 2 hours after the last session terminated"), by the `Clock` (the `TestClock` expires them).
 *   Handles are not used up.
 * - A handle the emulator did not issue (or issued on the other backend), an expired one, or one
 *   `acceptResumptionHandle` refuses closes 1007 "Invalid session resumption handle.": the handle is
 *   an argument of the setup, and the service's INVALID_ARGUMENT is 1007 (as for the other setup
 *   errors), which clients treat as "do not retry with this context" (start a fresh session), unlike
 *   1008 (model or credential) or 1011 (retry). Resuming with another model closes 1007 "Request
 *   contains an invalid argument." ("you can change config, but not the model, when resuming").
 * - Transparent resumption (`sessionResumption.transparent: true`, Vertex AI) adds
 *   `lastConsumedClientMessageIndex` (int64 as a decimal string) to every update. The client messages
 *   are counted per connection, from 0, and `setup` counts: it is message 0, so the update right after
 *   `setupComplete` says `"0"`, and after `setup` then one text turn the handle says `"1"`. The index
 *   is the last message whose effect is in the state behind the handle; the messages of a user audio
 *   turn still in progress (speech detected, or after `activityStart`) are consumed when it ends.
 *   After a reconnect the client replays the messages after that index on the new connection, whose
 *   count starts again at its own `setup`.
 *
 * Connection lifetime (the real service closes a connection after about 10 minutes): with
 * `connectionLifetime`, counted from `setupComplete` (`Effect.sleep`: the `TestClock` drives it),
 * `{"goAway": {"timeLeft": "<goAwayBefore>"}}` goes out `goAwayBefore` (60 s, at most the lifetime)
 * before the end, and at the end the connection closes 1011 "Deadline expired before operation could
 * complete."; a reply still going stops there. `timeLeft` is a proto3 JSON Duration (`"3s"`,
 * `"0.500s"`).
 *
 * Scripts decide what the model says and how connections end (`Action`s), and `connections` tells
 * what crossed the wire.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LiveEmulator } from "effect-gemini-live/testing"
 *
 * const program = Effect.gen(function*() {
 *   const emulator = yield* LiveEmulator.make({
 *     onTurn: (turn) => [LiveEmulator.say(`Echo: ${turn.text ?? "audio"}`)]
 *   })
 *   // connect a client to emulator.url (or provide emulator.layerTransport) ...
 *   const [connection] = yield* emulator.connections
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Http from "node:http"
import { inputSampleRate } from "./internal/pcm.js"
import { makeRecorder, type Recorder } from "./internal/recorder.js"
import { makeResumptionStore } from "./internal/resumption.js"
import { matchRoute, parseRequestTarget } from "./internal/route.js"
import { serve, type SessionConfig } from "./internal/session.js"
import * as SocketServer from "./internal/socketServer.js"
import { protoDuration } from "./internal/wire.js"
import * as LiveModel from "../LiveModel.js"
import type * as Transport from "../Transport.js"
import * as MemoryTransport from "./MemoryTransport.js"

// -----------------------------------------------------------------------------
// Actions
// -----------------------------------------------------------------------------

/**
 * The model says `text`: text deltas in a TEXT session; in an AUDIO session, `audio` (24 kHz PCM16
 * LE mono) or synthesized speech, with `outputTranscription` deltas if the setup asked for them.
 * With `turnComplete` (the default), `generationComplete` and `turnComplete` + `usageMetadata` follow.
 *
 * @since 0.1.0
 * @category Actions
 */
export interface Say {
  readonly _tag: "Say"
  readonly text: string
  readonly audio?: Uint8Array
  readonly turnComplete: boolean
}

/**
 * Sends any server message as it is (`toolCall`, `goAway`, `sessionResumptionUpdate`, ...), in the
 * server's framing (binary, pretty-printed JSON).
 *
 * @since 0.1.0
 * @category Actions
 */
export interface Send {
  readonly _tag: "Send"
  readonly message: unknown
}

/**
 * Sends a raw frame (a string goes out as a text frame, bytes as a binary frame): for clients'
 * handling of frames the real service never sends. Raw frames are not kept in `serverMessages`.
 *
 * @since 0.1.0
 * @category Actions
 */
export interface SendFrame {
  readonly _tag: "SendFrame"
  readonly frame: Transport.Frame
}

/**
 * Closes the connection with a close frame (the reason is cut to 123 bytes). A code no peer may
 * send (1005, 1006, ...) drops the connection instead.
 *
 * @since 0.1.0
 * @category Actions
 */
export interface Close {
  readonly _tag: "Close"
  readonly code: number
  readonly reason: string
}

/**
 * Drops the connection without a close frame: the client sees 1006.
 *
 * @since 0.1.0
 * @category Actions
 */
export interface Drop {
  readonly _tag: "Drop"
}

/**
 * Waits (`Effect.sleep`: the `TestClock` drives it in `it.effect` / `it.scoped` tests).
 *
 * @since 0.1.0
 * @category Actions
 */
export interface Wait {
  readonly _tag: "Wait"
  readonly duration: Duration.DurationInput
}

/**
 * Waits for an effect to complete (e.g. `Deferred.await` of a signal the test gives).
 *
 * @since 0.1.0
 * @category Actions
 */
export interface WaitFor {
  readonly _tag: "WaitFor"
  readonly effect: Effect.Effect<unknown>
}

/**
 * One step of what the emulated server does; scripts are lists of actions, run in order.
 *
 * @since 0.1.0
 * @category Actions
 */
export type Action = Say | Send | SendFrame | Close | Drop | Wait | WaitFor

/**
 * The model says `text` (see `Say`); `turnComplete: false` leaves the model turn open, e.g. before
 * a `toolCall`.
 *
 * @since 0.1.0
 * @category Actions
 */
export const say = (
  text: string,
  options?: { readonly audio?: Uint8Array; readonly turnComplete?: boolean }
): Action => ({
  _tag: "Say",
  text,
  ...(options?.audio === undefined ? {} : { audio: options.audio }),
  turnComplete: options?.turnComplete ?? true
})

/**
 * Sends a server message as it is (see `Send`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const send = (message: unknown): Action => ({ _tag: "Send", message })

/**
 * Sends a raw frame (see `SendFrame`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const sendFrame = (frame: Transport.Frame): Action => ({ _tag: "SendFrame", frame })

/**
 * Closes the connection with `code` and `reason` (see `Close`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const close = (code: number, reason = ""): Action => ({ _tag: "Close", code, reason })

/**
 * Drops the connection without a close frame (see `Drop`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const drop: Action = { _tag: "Drop" }

/**
 * Waits for `duration` (see `Wait`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const wait = (duration: Duration.DurationInput): Action => ({ _tag: "Wait", duration })

/**
 * Waits for `effect` to complete (see `WaitFor`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const waitFor = (effect: Effect.Effect<unknown>): Action => ({ _tag: "WaitFor", effect })

/**
 * The end of a connection at its time limit, as observed on the real service (sokuji#179):
 * `goAway` with `timeLeft` (a proto Duration such as `"50s"`), then, once that time has passed,
 * close 1011 "Deadline expired before operation could complete.". The `timeLeft` is written as
 * proto3 JSON writes a Duration (`"10s"`, `"0.500s"`). `Options.connectionLifetime` does the same on
 * every connection.
 *
 * @since 0.1.0
 * @category Actions
 */
export const goAway = (timeLeft: Duration.DurationInput): ReadonlyArray<Action> => [
  send({ goAway: { timeLeft: protoDuration(Duration.unsafeToNanos(timeLeft)) } }),
  wait(timeLeft),
  close(1011, "Deadline expired before operation could complete.")
]

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * The `setup` message body as the client sent it (field names in lowerCamel or snake_case).
 *
 * @since 0.1.0
 * @category Models
 */
export type SetupMessage = Readonly<Record<string, unknown>>

/**
 * A user turn the emulated model answers.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Turn {
  /** 0 for the first turn of the conversation; a resumed conversation goes on counting. */
  readonly index: number
  /** The text of a text turn (`clientContent` or `realtimeInput.text`); `undefined` for audio. */
  readonly text: string | undefined
  /** The audio of an audio turn, 16 kHz PCM16 LE mono (empty for a text turn). */
  readonly audio: Uint8Array
  /** What the emulator "heard" in an audio turn (`options.transcribe`); `undefined` for text. */
  readonly transcript: string | undefined
  /** The setup of this connection. */
  readonly setup: SetupMessage
  /** Whether this connection resumed a conversation (its setup had a valid `sessionResumption.handle`). */
  readonly resumed: boolean
  /**
   * The texts of the conversation's earlier user turns, oldest first, across resumed connections
   * (an audio turn's is its `transcript`).
   */
  readonly history: ReadonlyArray<string>
  /**
   * The system instruction in force for this turn, as text: the setup's, or the last
   * `contextUpdate`'s (kept across resumed connections unless a resumed setup sets its own).
   */
  readonly systemInstruction: string
  /** The tools in force for this turn, as the client sent them (the setup's, or the last `contextUpdate`'s). */
  readonly tools: ReadonlyArray<unknown>
}

/**
 * What crossed the wire on one connection (a snapshot).
 *
 * @since 0.1.0
 * @category Models
 */
export interface ConnectionRecord {
  /** 0 for the first connection of the emulator. */
  readonly id: number
  readonly transport: "socket" | "memory"
  /** Which backend answered: the Gemini Developer API or Vertex AI (chosen by the request path). */
  readonly backend: "GeminiAPI" | "VertexAI"
  /** The request path, as sent (e.g. `//ws/google.ai...`). */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
  /** The client's messages, parsed, in order (frames that are not JSON are left out). */
  readonly clientMessages: ReadonlyArray<unknown>
  /** The server's messages, in order (`SendFrame` frames are left out). */
  readonly serverMessages: ReadonlyArray<unknown>
  /** Messages not kept, beyond `recordLimits.messagesPerDirection`. */
  readonly droppedMessages: number
  /** The `sessionResumption.handle` this connection resumed with, if its setup resumed a conversation. */
  readonly resumedFrom: string | undefined
  /**
   * The logical conversation, across connections: the `id` of its first connection (this
   * connection's own `id`, unless it resumed a conversation).
   */
  readonly sessionKey: number
  /** How the connection ended, once it has. */
  readonly closed: Transport.CloseInfo | undefined
}

/**
 * How an emulator behaves; every field is optional.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The port of the socket face on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number
  /** Pace replies at speaking speed, which makes barge-in possible. Default: false (as fast as possible). */
  readonly realtime?: boolean
  /** Which API keys are valid (the Gemini API, and Vertex AI in Express mode). Default: any non-empty key. */
  readonly isValidApiKey?: (key: string) => boolean
  /** Which ephemeral tokens are valid (Gemini API). Default: any that starts with `auth_tokens/`. */
  readonly isValidAuthToken?: (token: string) => boolean
  /** Which OAuth2 access tokens (`Authorization: Bearer`) are valid (Vertex AI). Default: any non-empty token. */
  readonly isValidAccessToken?: (token: string) => boolean
  /**
   * Model names (the last segment: without `models/` or `.../publishers/google/models/`) that close
   * 1008 "not found", on both backends. Default: the shut-down `gemini-2.0-flash-exp`,
   * `gemini-live-2.5-flash-preview`, `gemini-2.0-flash-live-001`.
   */
  readonly unknownModels?: ReadonlyArray<string>
  /**
   * What each model accepts, per backend (see the module's "Models"): a session whose model the
   * registry knows is held to its rules; any other model is not checked. Default: `LiveModel.known`.
   */
  readonly models?: LiveModel.Registry
  /**
   * Runs after a valid `setup`, before `setupComplete`: a `Close` or `Drop` here rejects the setup,
   * a long `Wait` (or a `WaitFor` that never completes) withholds `setupComplete`.
   */
  readonly beforeSetupComplete?: (setup: SetupMessage) => ReadonlyArray<Action>
  /**
   * Runs right after `setupComplete`, alongside the conversation (e.g. `goAway(...)` to end the
   * connection later, or a `Say` for a model that speaks first).
   */
  readonly afterSetupComplete?: (setup: SetupMessage) => ReadonlyArray<Action>
  /**
   * The reply to each user turn. Default: a text turn is answered `You said: "<text>"`, an audio
   * turn `I heard 3.0 seconds of audio.`.
   */
  readonly onTurn?: (turn: Turn) => ReadonlyArray<Action>
  /**
   * Sees every client message after `setup` (as sent). Returning actions replaces the emulator's
   * handling of that message (e.g. to answer a `toolResponse`); `undefined` keeps it. By default a
   * `toolResponse` is answered by saying what the functions returned (as their behaviour and
   * scheduling say). A `contextUpdate` applies, and a `toolResponse` answers its calls, either way;
   * a message the model refuses closes the connection before this sees it.
   */
  readonly onMessage?: (message: unknown, setup: SetupMessage) => ReadonlyArray<Action> | undefined
  /** The `inputTranscription` of an audio turn (16 kHz PCM16). Default: `[3.03 s of speech]`. */
  readonly transcribe?: (audio: Uint8Array) => string
  /** How much `connections` keeps. Default: the last 64 connections, 10,000 messages each way. */
  readonly recordLimits?: { readonly connections?: number; readonly messagesPerDirection?: number }
  /**
   * How long a resumption handle stays valid after the last connection of its conversation ended
   * (while one is open, it is valid). Default: 2 hours, as the service documents.
   */
  readonly resumptionHandleLifetime?: Duration.DurationInput
  /**
   * Consulted for each `sessionResumption.handle` the emulator knows and that is still valid: `false`
   * refuses it (close 1007 "Invalid session resumption handle.", as for an unknown or expired one).
   * Default: every such handle is accepted.
   */
  readonly acceptResumptionHandle?: (handle: string) => boolean
  /**
   * How long each connection lasts, from its `setupComplete` (the real service: about 10 minutes):
   * `goAway` goes out `goAwayBefore` before the end, then the connection closes 1011 "Deadline
   * expired before operation could complete.". Default: no limit.
   */
  readonly connectionLifetime?: Duration.DurationInput
  /** How long before the end of a connection `goAway` goes out. Default: 60 seconds (at most the lifetime). */
  readonly goAwayBefore?: Duration.DurationInput
}

/**
 * A running emulator.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** The HTTP base URL of the socket face, e.g. `http://127.0.0.1:39123` (`httpOptions.baseUrl`). */
  readonly url: string
  readonly port: number
  /** The in-memory twin: a `Transport` whose connections this emulator serves. */
  readonly layerTransport: Layer.Layer<Transport.Transport>
  /** What crossed the wire, one record per connection, oldest first. */
  readonly connections: Effect.Effect<ReadonlyArray<ConnectionRecord>>
  /** Waits until connection `id` has closed (`undefined` if no such connection is kept). */
  readonly awaitClosed: (id: number) => Effect.Effect<Transport.CloseInfo | undefined>
}

/**
 * The running emulator, as a service (see `layer`).
 *
 * @since 0.1.0
 * @category Context
 */
export class LiveEmulator extends Context.Tag("effect-gemini-live/testing/LiveEmulator")<LiveEmulator, Service>() {}

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * The models that answered 1008 "not found" after their shutdown (2025-12-09).
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultUnknownModels: ReadonlyArray<string> = [
  "gemini-2.0-flash-exp",
  "gemini-live-2.5-flash-preview",
  "gemini-2.0-flash-live-001"
]

/**
 * How long a resumption handle stays valid after the last connection of its conversation ended, as
 * the service documents it.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultResumptionHandleLifetime: Duration.Duration = Duration.hours(2)

/**
 * How long before the end of a connection the real service sends `goAway` ("about 60 seconds").
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultGoAwayBefore: Duration.Duration = Duration.seconds(60)

const audioSeconds = (audio: Uint8Array): number => audio.length / 2 / inputSampleRate

/**
 * The default reply: echoes a text turn, measures an audio turn.
 *
 * @since 0.1.0
 * @category Scripts
 */
export const defaultTurn = (turn: Turn): ReadonlyArray<Action> => [
  say(
    turn.text === undefined
      ? `I heard ${audioSeconds(turn.audio).toFixed(1)} seconds of audio.`
      : `You said: "${turn.text}"`
  )
]

/**
 * The default transcription: the emulator does no speech recognition, it reports the length.
 *
 * @since 0.1.0
 * @category Scripts
 */
export const defaultTranscribe = (audio: Uint8Array): string => `[${audioSeconds(audio).toFixed(2)} s of speech]`

const finite = (duration: Duration.DurationInput | undefined): Duration.Duration | undefined => {
  if (duration === undefined) return undefined
  const decoded = Duration.decode(duration)
  return Duration.isFinite(decoded) ? decoded : undefined
}

const resolve = (options: Options): SessionConfig => ({
  realtime: options.realtime ?? false,
  auth: {
    isValidApiKey: options.isValidApiKey ?? ((key) => key.length > 0),
    isValidAuthToken: options.isValidAuthToken ?? ((token) => token.startsWith("auth_tokens/")),
    isValidAccessToken: options.isValidAccessToken ?? ((token) => token.length > 0)
  },
  unknownModels: new Set((options.unknownModels ?? defaultUnknownModels).map(LiveModel.nameOf)),
  models: options.models ?? LiveModel.known,
  beforeSetupComplete: options.beforeSetupComplete ?? (() => []),
  afterSetupComplete: options.afterSetupComplete ?? (() => []),
  onTurn: options.onTurn ?? defaultTurn,
  onMessage: options.onMessage ?? (() => undefined),
  transcribe: options.transcribe ?? defaultTranscribe,
  resumption: makeResumptionStore(
    Duration.toMillis(options.resumptionHandleLifetime ?? defaultResumptionHandleLifetime)
  ),
  acceptResumptionHandle: options.acceptResumptionHandle ?? (() => true),
  connectionLifetime: finite(options.connectionLifetime),
  goAwayBefore: Duration.decode(options.goAwayBefore ?? defaultGoAwayBefore)
})

const lowerCaseHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const lower: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) lower[name.toLowerCase()] = typeof value === "string" ? value : value.join(", ")
  }
  return lower
}

const serveRequest = (
  config: SessionConfig,
  recorder: Recorder,
  transport: "socket" | "memory",
  url: string,
  rawHeaders: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  connection: Transport.Connection
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const target = parseRequestTarget(url)
    const route = matchRoute(target.path)
    if (route === undefined) {
      // Unreachable: both faces refuse the upgrade first.
      yield* connection.terminate
      return
    }
    const headers = lowerCaseHeaders(rawHeaders)
    const record = yield* recorder.open({
      transport,
      backend: route.backend,
      path: target.path,
      query: target.query,
      headers
    })
    yield* serve(config, { route, target, headers }, connection, record)
  })

/**
 * Starts an emulator for the life of the scope: the socket server listens on 127.0.0.1 until the
 * scope closes (which closes open connections with 1000).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const config = resolve(options)
    const recorder = makeRecorder({
      connections: options.recordLimits?.connections ?? 64,
      messagesPerDirection: options.recordLimits?.messagesPerDirection ?? 10_000
    })
    const accepts = (url: string) => matchRoute(parseRequestTarget(url).path) !== undefined

    const port = yield* SocketServer.start(options.port ?? 0, {
      accepts,
      serve: (request: Http.IncomingMessage, connection) =>
        serveRequest(config, recorder, "socket", request.url ?? "", request.headers, connection)
    })

    const memoryServer: MemoryTransport.Server = {
      upgrade: (request) => (accepts(request.url) ? undefined : { status: 404, message: "Not Found" }),
      serve: (request, peer) => serveRequest(config, recorder, "memory", request.url, request.headers, peer)
    }

    return {
      url: `http://127.0.0.1:${port}`,
      port,
      layerTransport: MemoryTransport.layer(memoryServer),
      connections: recorder.snapshot,
      awaitClosed: recorder.awaitClosed
    }
  })

/**
 * The emulator as a service, started with the layer and stopped with it.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options = {}): Layer.Layer<LiveEmulator> => Layer.scoped(LiveEmulator, make(options))

/**
 * The in-memory `Transport` of the `LiveEmulator` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTransport: Layer.Layer<Transport.Transport, never, LiveEmulator> = Layer.unwrapEffect(
  Effect.map(LiveEmulator, (emulator) => emulator.layerTransport)
)
