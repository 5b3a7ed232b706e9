/**
 * The Backend service: which Google API a session talks to, and everything that differs between
 * them — the URL, how credentials travel, the model name's form, setup fields a backend refuses,
 * and the server's quirks — so that the same program runs on either by swapping this layer.
 *
 * | | `GEMINI_API` | `VERTEX_AI` |
 * |---|---|---|
 * | URL | `…/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent` | `…/ws/google.cloud.aiplatform.{v}.LlmBidiService/BidiGenerateContent` |
 * | default API version | `v1` (`v1alpha` with an ephemeral token) | `v1beta1` |
 * | credentials | `key=` / `access_token=` in the query | `Authorization: Bearer` (or `x-goog-api-key` in Express mode) |
 * | model | `models/{m}` | `projects/{p}/locations/{l}/publishers/google/models/{m}` |
 * | `responseModalities` unset | server default (AUDIO) | `["AUDIO"]` sent |
 * | refused fields | `sessionResumption.transparent`, `explicitVadSignal`, Vertex-only tools, `safetySettings[].method` | `tools[].fileSearch`, voice-consent fields |
 * | function response `id` | required | optional |
 * | function response `willContinue` | accepted | refused (as Google's SDK refuses it) |
 * | normalised | — | `candidatesTokenCount`/`candidatesTokensDetails` → `responseTokenCount`/`responseTokensDetails`; missing tool-call ids minted (and not sent back) |
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { Credentials } from "./Auth.js"
import { clientLabel } from "./internal/version.js"
import { ConfigError } from "./LiveError.js"
import * as Protocol from "./Protocol.js"

/**
 * The Gemini Developer API (generativelanguage.googleapis.com), as VoxEngine's `Backend.GEMINI_API`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const GEMINI_API = "GeminiAPI" as const

/**
 * Vertex AI (aiplatform.googleapis.com), as VoxEngine's `Backend.VERTEX_AI`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const VERTEX_AI = "VertexAI" as const

/**
 * Which backend: `GEMINI_API` or `VERTEX_AI`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Kind = typeof GEMINI_API | typeof VERTEX_AI

/**
 * Where and how to open a connection. `url` holds the credentials on the Gemini API, so it stays
 * `Redacted`; `display` is the same URL with secrets replaced, for logs and traces.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Endpoint {
  readonly url: Redacted.Redacted<string>
  readonly headers: Readonly<Record<string, string>>
  readonly display: string
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly kind: Kind
  readonly apiVersion: string
  /** The `setup` message for `model` and `config`, or the first field this backend refuses. */
  readonly setup: (model: string, config: Protocol.LiveConnectConfig) => Either.Either<Protocol.Setup, ConfigError>
  /** The URL and headers of a connection made with `credentials`. */
  readonly endpoint: (credentials: Credentials) => Either.Either<Endpoint, ConfigError>
  /** Whether a function response must carry the call's `id`. */
  readonly requiresFunctionResponseId: boolean
  /** Whether a function response may say `willContinue` (a generator function's partial result). */
  readonly acceptsWillContinue: boolean
  /** The quirks of one session (state: ids minted for one session are known to it only). */
  readonly quirks: () => Quirks
}

/**
 * What a backend rewrites so that users see one shape.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Quirks {
  /** Rewrites a server message before it becomes events. */
  readonly incoming: (message: Protocol.ServerMessage) => Protocol.ServerMessage
  /** Rewrites function responses before they are sent. */
  readonly outgoing: (responses: ReadonlyArray<Protocol.FunctionResponse>) => ReadonlyArray<Protocol.FunctionResponse>
}

const noQuirks: Quirks = { incoming: (message) => message, outgoing: (responses) => responses }

/**
 * @since 0.1.0
 * @category Context
 */
export class Backend extends Context.Tag("effect-gemini-live/Backend")<Backend, Service>() {}

/**
 * The API version Google's SDK (`@google/genai` 3.x) uses on the Gemini API.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultGeminiApiVersion = "v1"

/**
 * The API version for ephemeral tokens (only `v1alpha` accepts them), unless one was chosen.
 *
 * @since 0.1.0
 * @category Constants
 */
export const ephemeralTokenApiVersion = "v1alpha"

/**
 * The Gemini API's base URL.
 *
 * @since 0.1.0
 * @category Constants
 */
export const geminiApiBaseUrl = "https://generativelanguage.googleapis.com/"

/**
 * Options of the Gemini API backend (the seed's `httpOptions`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface GeminiApiOptions {
  /** API version; default `v1` (`v1alpha` with an ephemeral token). */
  readonly apiVersion?: string | undefined
  /** Base URL, e.g. an emulator or a proxy; default `https://generativelanguage.googleapis.com/`. */
  readonly baseUrl?: string | undefined
  /** Extra headers on the upgrade request; a bad one (`checkHeaders`) fails the connect before any socket. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * Replaces the credentials in a URL's query (`key`, `access_token`) with `<redacted>`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const redactUrl = (url: string): string => url.replace(/([?&](?:key|access_token)=)[^&#]*/g, "$1<redacted>")

/** An HTTP field name (RFC 7230 `token`). */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** What a field value cannot carry (Node's rule): CR, LF, NUL and the other control characters. */
const notHeaderValue = /[^\t\x20-\x7e\x80-\xff]/

/**
 * The first extra header that cannot go on the upgrade request — a name that is not an RFC 7230
 * token, a value with CR, LF or another control character — as a `ConfigError` with the path
 * `httpOptions.headers.<name>`; `undefined` when all can.
 *
 * @since 0.1.0
 * @category Utils
 */
export const checkHeaders = (headers: Readonly<Record<string, string>> | undefined): ConfigError | undefined => {
  if (headers === undefined) return undefined
  for (const name of Object.keys(headers)) {
    const value: unknown = headers[name]
    const description = !headerName.test(name)
      ? "is not a valid header name (RFC 7230 token characters only)"
      : typeof value !== "string"
      ? "must be a string"
      : notHeaderValue.test(value)
      ? "must not contain CR, LF or other control characters"
      : undefined
    if (description !== undefined) {
      return new ConfigError({ module: "Backend", method: "endpoint", path: `httpOptions.headers.${name}`, description })
    }
  }
  return undefined
}

/** The WebSocket base of an HTTP base URL: the scheme becomes ws/wss; like Google's SDK, it keeps the trailing slash. */
const webSocketBase = (baseUrl: string): string => {
  const url = new URL(baseUrl)
  url.protocol = url.protocol === "http:" ? "ws" : "wss"
  return url.toString()
}

/**
 * The model name as the Gemini API wants it: `models/{name}` unless already `models/...` or `tunedModels/...`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const geminiApiModelName = (model: string): Either.Either<string, ConfigError> => {
  if (model.includes("..") || model.includes("?") || model.includes("&")) {
    return Either.left(configError("model", `"${model}" is not a valid model name`))
  }
  return Either.right(model.startsWith("models/") || model.startsWith("tunedModels/") ? model : `models/${model}`)
}

const configError = (path: string, description: string) =>
  new ConfigError({ module: "Backend", method: "setup", path, description })

const onlyOn = (path: string, backend: Kind) =>
  configError(`connectConfig.${path}`, `is only supported on the ${backend} backend`)

/** The first config field the Gemini API refuses (as Google's SDK refuses them before sending). */
const geminiApiRejection = (config: Protocol.LiveConnectConfig): ConfigError | undefined => {
  if (config.sessionResumption?.transparent !== undefined) return onlyOn("sessionResumption.transparent", VERTEX_AI)
  if (config.explicitVadSignal !== undefined) return onlyOn("explicitVadSignal", VERTEX_AI)
  const tools = config.tools ?? []
  for (let i = 0; i < tools.length; i++) {
    for (const field of ["retrieval", "enterpriseWebSearch", "exaAiSearch", "parallelAiSearch"]) {
      if (tools[i][field] !== undefined) return onlyOn(`tools[${i}].${field}`, VERTEX_AI)
    }
  }
  const safetySettings = config.safetySettings ?? []
  for (let i = 0; i < safetySettings.length; i++) {
    if (safetySettings[i].method !== undefined) return onlyOn(`safetySettings[${i}].method`, VERTEX_AI)
  }
  return liveApiRejection(config)
}

/** Fields no Live API backend accepts. */
const liveApiRejection = (config: Protocol.LiveConnectConfig): ConfigError | undefined =>
  config.speechConfig?.multiSpeakerVoiceConfig !== undefined
    ? configError("connectConfig.speechConfig.multiSpeakerVoiceConfig", "is not supported by the Live API")
    : undefined

/**
 * The Gemini Developer API backend. Its URL is the one `@google/genai` builds (double slash after
 * the host included): `…/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent?key=…`,
 * or `…BidiGenerateContentConstrained?access_token=auth_tokens/…` with an ephemeral token.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const geminiApi = (options: GeminiApiOptions = {}): Service => {
  const base = webSocketBase(options.baseUrl ?? geminiApiBaseUrl)
  const headers = { "user-agent": clientLabel, "x-goog-api-client": clientLabel, ...options.headers }
  const badHeader = checkHeaders(options.headers)
  return {
    kind: GEMINI_API,
    apiVersion: options.apiVersion ?? defaultGeminiApiVersion,
    setup: (model, config) =>
      Either.flatMap(geminiApiModelName(model), (name) => {
        const rejection = geminiApiRejection(config)
        return rejection === undefined ? Protocol.makeSetup(name, config) : Either.left(rejection)
      }),
    endpoint: (credentials) => {
      if (badHeader !== undefined) return Either.left(badHeader)
      if (credentials._tag === "AccessToken") {
        return Either.left(
          new ConfigError({
            module: "Backend",
            method: "endpoint",
            path: "apiKey",
            description: "the GeminiAPI backend needs an API key or an ephemeral token, not an OAuth2 access token"
          })
        )
      }
      const ephemeral = credentials._tag === "EphemeralToken"
      const version = options.apiVersion ?? (ephemeral ? ephemeralTokenApiVersion : defaultGeminiApiVersion)
      const method = ephemeral ? "BidiGenerateContentConstrained" : "BidiGenerateContent"
      const query = ephemeral ? "access_token" : "key"
      const secret = Redacted.value(ephemeral ? credentials.token : credentials.key)
      const url = `${base}/ws/google.ai.generativelanguage.${version}.GenerativeService.${method}?${query}=${secret}`
      return Either.right({ url: Redacted.make(url), headers, display: redactUrl(url) })
    },
    requiresFunctionResponseId: true,
    acceptsWillContinue: true,
    quirks: () => noQuirks
  }
}

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerGeminiApi = (options: GeminiApiOptions = {}): Layer.Layer<Backend> =>
  Layer.succeed(Backend, geminiApi(options))

/**
 * The API version Google's SDK uses on Vertex AI.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultVertexAiApiVersion = "v1beta1"

/**
 * Options of the Vertex AI backend.
 *
 * @since 0.1.0
 * @category Models
 */
export interface VertexAiOptions {
  /** Google Cloud project; without one (and with an API key) the backend is in Express mode. */
  readonly project?: string | undefined
  /** Region, `global`, `us` or `eu`; default `global`. */
  readonly location?: string | undefined
  /** API version; default `v1beta1`. */
  readonly apiVersion?: string | undefined
  /** Base URL (an emulator, a proxy); default by location. */
  readonly baseUrl?: string | undefined
  /** Extra headers on the upgrade request; a bad one (`checkHeaders`) fails the connect before any socket. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * Vertex AI's base URL for a location: `global` → `aiplatform.googleapis.com`, the multi-regions
 * `us`/`eu` → `aiplatform.{loc}.rep.googleapis.com`, a region → `{loc}-aiplatform.googleapis.com`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const vertexAiBaseUrl = (location: string): string =>
  location === "global"
    ? "https://aiplatform.googleapis.com/"
    : location === "us" || location === "eu"
    ? `https://aiplatform.${location}.rep.googleapis.com/`
    : `https://${location}-aiplatform.googleapis.com/`

/**
 * The model name as Vertex AI wants it, as Google's SDK expands it: `publishers/...`, `projects/...`
 * and `models/...` are kept; `a/b` becomes `publishers/a/models/b`; `m` becomes
 * `publishers/google/models/m`; then `publishers/...` gets `projects/{p}/locations/{l}/` in front
 * when both are known (not in Express mode).
 *
 * @since 0.1.0
 * @category Utils
 */
export const vertexAiModelName = (
  model: string,
  project: string | undefined,
  location: string | undefined
): Either.Either<string, ConfigError> => {
  if (model.includes("..") || model.includes("?") || model.includes("&")) {
    return Either.left(configError("model", `"${model}" is not a valid model name`))
  }
  const [publisher, name] = model.split("/", 2)
  const full = model.startsWith("publishers/") || model.startsWith("projects/") || model.startsWith("models/")
    ? model
    : name !== undefined
    ? `publishers/${publisher}/models/${name}`
    : `publishers/google/models/${model}`
  return Either.right(
    full.startsWith("publishers/") && project !== undefined && location !== undefined
      ? `projects/${project}/locations/${location}/${full}`
      : full
  )
}

/** The first config field Vertex AI refuses (as Google's SDK refuses them before sending). */
const vertexAiRejection = (config: Protocol.LiveConnectConfig): ConfigError | undefined => {
  const tools = config.tools ?? []
  for (let i = 0; i < tools.length; i++) {
    if (tools[i].fileSearch !== undefined) return onlyOn(`tools[${i}].fileSearch`, GEMINI_API)
  }
  const replicated = (config.speechConfig?.voiceConfig as { replicatedVoiceConfig?: Record<string, unknown> } | undefined)
    ?.replicatedVoiceConfig
  for (const field of ["consentAudio", "voiceConsentSignature"]) {
    if (replicated?.[field] !== undefined) {
      return onlyOn(`speechConfig.voiceConfig.replicatedVoiceConfig.${field}`, GEMINI_API)
    }
  }
  return liveApiRejection(config)
}

/** Vertex's usage names, renamed to the Gemini API's. */
const renamedUsage = (usage: Protocol.UsageMetadata): Protocol.UsageMetadata => {
  const { candidatesTokenCount, candidatesTokensDetails, ...rest } = usage as Protocol.UsageMetadata & {
    readonly candidatesTokenCount?: number
    readonly candidatesTokensDetails?: Protocol.UsageMetadata["responseTokensDetails"]
  }
  return {
    ...rest,
    ...(candidatesTokenCount === undefined ? {} : { responseTokenCount: candidatesTokenCount }),
    ...(candidatesTokensDetails === undefined ? {} : { responseTokensDetails: candidatesTokensDetails })
  }
}

/** Vertex AI's quirks: usage names, and tool calls without ids (ids are minted, and left out of the answers). */
const vertexAiQuirks = (): Quirks => {
  const minted = new Set<string>()
  return {
    incoming: (message) => {
      let result = message
      if (message.usageMetadata !== undefined && ("candidatesTokenCount" in message.usageMetadata || "candidatesTokensDetails" in message.usageMetadata)) {
        result = { ...result, usageMetadata: renamedUsage(message.usageMetadata) }
      }
      const calls = message.toolCall?.functionCalls
      if (calls !== undefined && calls.some((call) => call.id === undefined)) {
        const functionCalls = calls.map((call) => {
          if (call.id !== undefined) return call
          const id = `minted-${crypto.randomUUID()}`
          minted.add(id)
          return { ...call, id }
        })
        result = { ...result, toolCall: { ...message.toolCall, functionCalls } }
      }
      return result
    },
    outgoing: (responses) =>
      minted.size === 0 ? responses : responses.map((response) => {
        if (response.id === undefined || !minted.delete(response.id)) return response
        const { id: _, ...withoutId } = response
        return withoutId
      })
  }
}

/**
 * The Vertex AI backend. Credentials: an OAuth2 access token (`Authorization: Bearer`), or an API
 * key in Express mode (no project; `x-goog-api-key`). `responseModalities` defaults to AUDIO, as
 * Google's SDK sends it.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const vertexAi = (options: VertexAiOptions = {}): Service => {
  const apiVersion = options.apiVersion ?? defaultVertexAiApiVersion
  const headers = { "user-agent": clientLabel, "x-goog-api-client": clientLabel, ...options.headers }
  const badHeader = checkHeaders(options.headers)
  const expressBase = options.baseUrl ?? "https://aiplatform.googleapis.com/"
  return {
    kind: VERTEX_AI,
    apiVersion,
    setup: (model, config) => {
      const express = options.project === undefined
      const location = express ? options.location : options.location ?? "global"
      return Either.flatMap(vertexAiModelName(model, options.project, location), (name) => {
        const rejection = vertexAiRejection(config)
        if (rejection !== undefined) return Either.left(rejection)
        const withModality = config.responseModalities === undefined ? { ...config, responseModalities: ["AUDIO"] } : config
        return Protocol.makeSetup(name, withModality)
      })
    },
    endpoint: (credentials) => {
      if (badHeader !== undefined) return Either.left(badHeader)
      if (credentials._tag === "EphemeralToken") {
        return Either.left(
          new ConfigError({
            module: "Backend",
            method: "endpoint",
            path: "apiKey",
            description: "ephemeral tokens (auth_tokens/...) are only accepted by the GeminiAPI backend"
          })
        )
      }
      const express = credentials._tag === "ApiKey"
      if (express && notHeaderValue.test(Redacted.value(credentials.key))) {
        return Either.left(
          new ConfigError({
            module: "Backend",
            method: "endpoint",
            path: "apiKey",
            description: "must not contain CR, LF or other control characters (it goes in the x-goog-api-key header)"
          })
        )
      }
      const base = webSocketBase(
        express && options.project === undefined ? expressBase : options.baseUrl ?? vertexAiBaseUrl(options.location ?? "global")
      )
      const url = `${base}/ws/google.cloud.aiplatform.${apiVersion}.LlmBidiService/BidiGenerateContent`
      const auth = express
        ? { "x-goog-api-key": Redacted.value(credentials.key) }
        : { authorization: `Bearer ${Redacted.value(credentials.token)}` }
      return Either.right({ url: Redacted.make(url), headers: { ...headers, ...auth }, display: url })
    },
    requiresFunctionResponseId: false,
    acceptsWillContinue: false,
    quirks: vertexAiQuirks
  }
}

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerVertexAi = (options: VertexAiOptions = {}): Layer.Layer<Backend> =>
  Layer.succeed(Backend, vertexAi(options))
