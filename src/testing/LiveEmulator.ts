/**
 * A fake Gemini Live server that speaks the real protocol (`BidiGenerateContent` over WebSocket),
 * for running clients offline: in tests, in examples, in CI. Two faces share one session logic: a
 * WebSocket server on `127.0.0.1` (`url`: give it to a client as `httpOptions.baseUrl`, Google's
 * own SDK included) and an in-memory twin (`layerTransport`) for tests with no socket at all.
 *
 * The request path chooses the backend (`ConnectionRecord.backend`), with one or two leading
 * slashes (Google's SDK sends two); any other path is answered with HTTP 404:
 * - Gemini API: `/ws/google.ai.generativelanguage.{v1|v1beta|v1alpha}.GenerativeService.BidiGenerateContent`
 *   (an API key: `key=` or `x-goog-api-key`) and `...BidiGenerateContentConstrained` (an ephemeral
 *   token: `access_token=` or `Authorization: Token auth_tokens/...`);
 * - Vertex AI: `/ws/google.cloud.aiplatform.{v1|v1beta1}.LlmBidiService/BidiGenerateContent` (an
 *   OAuth2 access token, `Authorization: Bearer`, checked by `isValidAccessToken`; in Express mode
 *   an API key in `x-goog-api-key`, checked by `isValidApiKey`).
 *
 * It behaves as the recorded service does:
 * - The upgrade always succeeds; the credential is checked at the first message. On the Gemini API
 *   none closes 1008 and a refused key 1007; on Vertex AI a missing or refused token closes 1008
 *   with Google's UNAUTHENTICATED message, a refused Express-mode key 1007.
 * - The first message must be `setup`; another message, an unknown field or a malformed model name
 *   closes 1007. A model in `unknownModels` closes 1008 "not found" in the backend's words (cut to
 *   123 bytes, as the service cuts it). Field names are read in lowerCamel or snake_case.
 * - Vertex AI words messages its own way: `setupComplete.sessionId`, `modelTurn.role: "model"`,
 *   `audio/pcm`, `candidatesTokenCount`, and an empty `outputTranscription` opening each model turn
 *   of an AUDIO session with output transcription.
 * - Every server message is a binary frame of `JSON.stringify(message, null, 2) + "\n"`; messages
 *   sent before `setupComplete` are answered after it.
 * - Each user turn (`clientContent` with `turnComplete: true`, `realtimeInput.text`, or audio ended
 *   by the activity detector, by `audioStreamEnd`, or by `activityEnd` when automatic detection is
 *   disabled) gets a reply: text deltas (TEXT), or 24 kHz audio in 200/240 ms chunks with
 *   `outputTranscription` deltas (AUDIO, the default); then `generationComplete`, then
 *   `turnComplete` with `usageMetadata`.
 * - With `realtime: true`, replies are paced at speaking speed (`Effect.sleep`: the `TestClock`
 *   drives it) and a new user turn interrupts them: `interrupted`, then `turnComplete`.
 *
 * Models: a session is held to its model's rules on its backend (`Options.models`, by default
 * `LiveModel.known`; a model the registry does not know is not checked). A setup
 * `LiveModel.checkSetup` refuses, a `clientContent` `LiveModel.checkClientContent` refuses, or a
 * `contextUpdate` whose tools `LiveModel.checkTools` refuses closes 1007 "Request contains an
 * invalid argument.".
 * - `contextUpdate` replaces the system instruction and tools the next turns see
 *   (`Turn.systemInstruction`, `Turn.tools`; `{"tools": []}` clears them); resumption keeps them.
 * - A function response is heard by its function's `behavior` (else the model's default: NON_BLOCKING
 *   on 3.8, BLOCKING for unknown models). BLOCKING: a new reply after the current one ("<name>
 *   returned <json>."); NON_BLOCKING, by its `scheduling`: `SILENT`, no reply; `WHEN_IDLE` (the
 *   default), after the current reply; `INTERRUPT`, the current reply stops first. `willContinue:
 *   true` keeps the call pending.
 * - Vertex AI 3.8: new input while BLOCKING calls are pending sends `toolCallCancellation` for them;
 *   later responses to them are ignored.
 * - 3.8: a `clientContent` with `turnComplete: true` interrupts the reply in progress, even with
 *   `activityHandling: NO_INTERRUPTION` and without real-time pacing.
 * - Extended thinking: each reply opens with `interactionStatus: "IN_PROGRESS"` and says `"IDLE"`
 *   right before its `turnComplete`.
 *
 * Session resumption, across all the emulator's connections on both faces:
 * - With `sessionResumption` in the setup, a new handle goes out after `setupComplete` and after each
 *   `turnComplete` with no function call pending, and `{"resumable": false}` once when the model
 *   starts generating.
 * - A setup with a handle continues its conversation (`Turn.index` goes on; `Turn.resumed`,
 *   `Turn.history`, `ConnectionRecord.resumedFrom`, `sessionKey`). Handles are not used up and stay
 *   valid while the conversation has a connection open and `resumptionHandleLifetime` after.
 * - An unknown, expired or refused (`acceptResumptionHandle`) handle closes 1007 "Invalid session
 *   resumption handle."; resuming with another model closes 1007.
 * - `transparent: true` adds `lastConsumedClientMessageIndex`: the client's messages counted per
 *   connection from its `setup` (0); a user audio turn still in progress is consumed when it ends.
 * - Gemini API: a handle issued after a model turn covers the conversation up to the user input that
 *   turn answered (after `setupComplete`, up to the setup). What the client sent after that input
 *   (text without `turnComplete`, a `contextUpdate`, ...) is not in the resumed state (`Turn.history`,
 *   the next turn's text, `Turn.systemInstruction`, `Turn.tools`) unless sent again. Vertex AI: all.
 *
 * Faults: `stall`, `drop` (a TCP end with no close frame), `dropMidFrame`, `sendTruncated`/`sendFrame`
 * (not JSON), `schemaDrift`, `sendOversized`, `goAway(timeLeft, then)`; upgrades refused with an HTTP
 * status (`refuseUpgrades`); a token endpoint (`Service.tokenUri`) that fails or hangs on demand.
 *
 * Scripts (`Action`s) decide what the model says and how connections end (`Options.connectionLifetime`
 * ends each one as the service does); `connections` tells what crossed the wire.
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
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as LiveModel from "../LiveModel.js"
import type * as Transport from "../Transport.js"
import * as actions from "./internal/actions.js"
import * as internal from "./internal/emulator.js"

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
 * The server goes silent with the socket open: it handles nothing the client sends (no frame, ping
 * or close frame) and sends nothing more. The bytes are read and discarded (the client's leaving is
 * seen); with `pause`, not read (the client's send buffer fills). In memory the client's sends wait.
 *
 * @since 0.1.0
 * @category Actions
 */
export interface Stall {
  readonly _tag: "Stall"
  readonly pause: boolean
}

/**
 * The TCP socket is destroyed halfway through `message`'s frame: no close frame (1006). In memory: a `Drop`.
 *
 * @since 0.1.0
 * @category Actions
 */
export interface DropMidFrame {
  readonly _tag: "DropMidFrame"
  readonly message: unknown
}

/**
 * One step of what the emulated server does; scripts are lists of actions, run in order.
 *
 * @since 0.1.0
 * @category Actions
 */
export type Action = Say | Send | SendFrame | Close | Drop | Wait | WaitFor | Stall | DropMidFrame

/**
 * The model says `text` (see `Say`); `turnComplete: false` leaves the model turn open, e.g. before
 * a `toolCall`.
 *
 * @since 0.1.0
 * @category Actions
 */
export const say: (
  text: string,
  options?: { readonly audio?: Uint8Array; readonly turnComplete?: boolean }
) => Action = actions.say

/**
 * Sends a server message as it is (see `Send`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const send: (message: unknown) => Action = actions.send

/**
 * Sends a raw frame (see `SendFrame`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const sendFrame: (frame: Transport.Frame) => Action = actions.sendFrame

/**
 * Closes the connection with `code` and `reason` (see `Close`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const close: (code: number, reason?: string) => Action = actions.close

/**
 * Drops the connection without a close frame (see `Drop`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const drop: Action = actions.drop

/**
 * Waits for `duration` (see `Wait`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const wait: (duration: Duration.DurationInput) => Action = actions.wait

/**
 * Waits for `effect` to complete (see `WaitFor`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const waitFor: (effect: Effect.Effect<unknown>) => Action = actions.waitFor

/**
 * The end of a connection at its time limit, as the real service does it: `goAway` with `timeLeft`
 * (a proto3 JSON Duration: `"50s"`, `"0.500s"`), then, once that time has passed, close 1011
 * "Deadline expired before operation could complete.". `Options.connectionLifetime` does it on
 * every connection. `then` ends it another way (e.g. `close(1000)`, `drop`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const goAway: (timeLeft: Duration.DurationInput, then?: Action) => ReadonlyArray<Action> = actions.goAway

/**
 * Stalls the connection (see `Stall`); `pause: true` stops reading the socket itself.
 *
 * @since 0.1.0
 * @category Actions
 */
export const stall: (options?: { readonly pause?: boolean }) => Action = actions.stall

/**
 * Drops the connection halfway through a frame (see `DropMidFrame`); by default a model text message's.
 *
 * @since 0.1.0
 * @category Actions
 */
export const dropMidFrame: (message?: unknown) => Action = actions.dropMidFrame

/**
 * Sends a binary frame of exactly `bytes` bytes (a model text message, at least 64), for a frame size limit.
 *
 * @since 0.1.0
 * @category Actions
 */
export const sendOversized: (bytes: number) => Action = actions.sendOversized

/**
 * Sends the first half of `message`'s frame (default `{"serverContent": {"turnComplete": true}}`) as a
 * whole binary frame: JSON that ends in the middle. Any other garbage: `sendFrame`.
 *
 * @since 0.1.0
 * @category Actions
 */
export const sendTruncated: (message?: unknown) => Action = actions.sendTruncated

/**
 * Sends a known message with one field of the wrong type: `serverContent` with a model turn of
 * `audio` (24 kHz PCM16; by default synthesized speech) and `turnComplete: true`, and
 * `usageMetadata` whose `promptTokenCount` is the string `"12"`.
 *
 * @since 0.1.0
 * @category Actions
 */
export const schemaDrift: (audio?: Uint8Array) => Action = actions.schemaDrift

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
  /** The texts of the conversation's earlier user turns, oldest first, across connections (audio: its `transcript`). */
  readonly history: ReadonlyArray<string>
  /** The system instruction in force, as text: the last a setup or a `contextUpdate` set, across connections. */
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
  /** The conversation, across connections: the `id` of its first connection (its own `id` unless resumed). */
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
  /** The first `count` upgrades to an endpoint are answered with HTTP `status` (e.g. 401, 429, 503). */
  readonly refuseUpgrades?: { readonly count: number; readonly status: number }
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
  /** The next `count` upgrades to an endpoint (either face) are answered with HTTP `status`. */
  readonly refuseUpgrades: (count: number, status: number) => Effect.Effect<void>
  /**
   * An OAuth2 token endpoint (`url/token`) for a credential's `token_uri`: a JWT-bearer assertion or a
   * refresh token (not verified) gets a token Vertex AI accepts (whatever `isValidAccessToken` says).
   */
  readonly tokenUri: string
  /** The next `count` token requests are answered with HTTP `status` and an OAuth error, or never (`"hang"`). */
  readonly failTokenRequests: (count: number, failure: number | "hang") => Effect.Effect<void>
  /** How many requests the token endpoint has had. */
  readonly tokenRequests: Effect.Effect<number>
}

/**
 * The running emulator, as a service (see `layer`).
 *
 * @since 0.1.0
 * @category Context
 */
export class LiveEmulator extends Context.Tag("effect-gemini-live/testing/LiveEmulator")<LiveEmulator, Service>() {}

// -----------------------------------------------------------------------------
// Defaults
// -----------------------------------------------------------------------------

/**
 * The models that answered 1008 "not found" after their shutdown (2025-12-09).
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultUnknownModels: ReadonlyArray<string> = internal.defaultUnknownModels

/**
 * How long a resumption handle stays valid after the last connection of its conversation ended, as
 * the service documents it.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultResumptionHandleLifetime: Duration.Duration = internal.defaultResumptionHandleLifetime

/**
 * How long before the end of a connection the real service sends `goAway` ("about 60 seconds").
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultGoAwayBefore: Duration.Duration = internal.defaultGoAwayBefore

/**
 * The default reply: echoes a text turn, measures an audio turn.
 *
 * @since 0.1.0
 * @category Actions
 */
export const defaultTurn: (turn: Turn) => ReadonlyArray<Action> = internal.defaultTurn

/**
 * The default transcription: the emulator does no speech recognition, it reports the length.
 *
 * @since 0.1.0
 * @category Actions
 */
export const defaultTranscribe: (audio: Uint8Array) => string = internal.defaultTranscribe

// -----------------------------------------------------------------------------
// Constructors
// -----------------------------------------------------------------------------

/**
 * Starts an emulator for the life of the scope: the socket server listens on 127.0.0.1 until the
 * scope closes (which closes open connections with 1000).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, never, Scope.Scope> = internal.make

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
