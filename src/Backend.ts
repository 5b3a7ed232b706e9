/**
 * The Backend service: which Google API a session talks to, and everything that differs between
 * them — the URL, how credentials travel, the model name's form, setup fields a backend refuses,
 * and the server's quirks. `GEMINI_API` (the Gemini Developer API) ships here; Vertex AI plugs in
 * behind the same interface.
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
 * @category Backends
 */
export const GEMINI_API = "GeminiAPI" as const

/**
 * Vertex AI (aiplatform.googleapis.com), as VoxEngine's `Backend.VERTEX_AI`.
 *
 * @since 0.1.0
 * @category Backends
 */
export const VERTEX_AI = "VertexAI" as const

/**
 * @since 0.1.0
 * @category Backends
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
  /** Rewrites a server message into the one shape users see (backend quirks). */
  readonly normalize: (message: Protocol.ServerMessage) => Protocol.ServerMessage
}

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
 * Ephemeral tokens are only accepted by the `v1alpha` API: it is the default when the credentials
 * are an ephemeral token and no version was chosen.
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
  /** Extra headers on the upgrade request. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * Replaces the credentials in a URL's query (`key`, `access_token`) with `<redacted>`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const redactUrl = (url: string): string => url.replace(/([?&](?:key|access_token)=)[^&#]*/g, "$1<redacted>")

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
 * The Gemini Developer API backend.
 *
 * URL: `{wss base}/ws/google.ai.generativelanguage.{apiVersion}.GenerativeService.BidiGenerateContent?key=…`,
 * or `…BidiGenerateContentConstrained?access_token=auth_tokens/…` with an ephemeral token — the same
 * URL `@google/genai` builds (including its double slash after the host, which the service accepts).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const geminiApi = (options: GeminiApiOptions = {}): Service => {
  const base = webSocketBase(options.baseUrl ?? geminiApiBaseUrl)
  const headers = { "user-agent": clientLabel, "x-goog-api-client": clientLabel, ...options.headers }
  return {
    kind: GEMINI_API,
    apiVersion: options.apiVersion ?? defaultGeminiApiVersion,
    setup: (model, config) =>
      Either.flatMap(geminiApiModelName(model), (name) => {
        const rejection = geminiApiRejection(config)
        return rejection === undefined ? Either.right(Protocol.makeSetup(name, config)) : Either.left(rejection)
      }),
    endpoint: (credentials) => {
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
    normalize: (message) => message
  }
}

/**
 * @since 0.1.0
 * @category Layers
 */
export const layerGeminiApi = (options: GeminiApiOptions = {}): Layer.Layer<Backend> =>
  Layer.succeed(Backend, geminiApi(options))
