/**
 * The client's parameters: VoxEngine's `LiveAPIClientParameters` (plus `privacy`), their Schema,
 * and how they become services.
 *
 * `decode` checks every field and fails with a `ConfigError` naming the field and why; `layer`
 * turns the parameters into the Auth, Backend, Transport, Statistics and WireTrace services, except
 * those already provided from outside, which win (a test's in-memory transport, an app's own Auth).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Auth from "./Auth.js"
import * as Backend from "./Backend.js"
import { type AuthError, ConfigError } from "./LiveError.js"
import * as LiveModel from "./LiveModel.js"
import * as NodeTransport from "./NodeTransport.js"
import * as Protocol from "./Protocol.js"
import * as Statistics from "./Statistics.js"
import * as Transport from "./Transport.js"
import * as WireTrace from "./WireTrace.js"

/**
 * The default model, on both backends: `gemini-3.8-live` (`LiveModel.defaultModel`). (VoxEngine's
 * default, `gemini-2.0-flash-exp`, has been shut down.)
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultModel: string = LiveModel.defaultModel

/**
 * How long opening the socket and getting `setupComplete` may take, when `httpOptions.timeout` is not set.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultTimeoutMillis = 15_000

/**
 * What `onWebSocketClose` receives, once per socket close (VoxEngine's `WebSocketEvents.CLOSE`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface WebSocketCloseEvent {
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

const CloseCallback = Schema.declare(
  (u: unknown): u is (event: WebSocketCloseEvent) => void => typeof u === "function",
  { identifier: "Function", message: () => "must be a function" }
)

const Secret = Schema.Union(Schema.RedactedFromSelf(Schema.String), Schema.Redacted(Schema.String))

const BaseUrl = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      return ["http:", "https:", "ws:", "wss:"].includes(new URL(s).protocol)
    } catch {
      return false
    }
  }, { message: () => "must be an http(s) or ws(s) URL" })
)

/**
 * The seed's `httpOptions`. Unlike VoxEngine, `baseUrl` IS honoured (point it at the emulator or a proxy).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const HttpOptions = Schema.Struct({
  /** Extra headers on the WebSocket upgrade request. */
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  /** API version (`v1`, `v1beta`, `v1alpha`, ...). */
  apiVersion: Schema.optional(Schema.NonEmptyTrimmedString),
  /** Milliseconds allowed for opening the socket and getting `setupComplete`. */
  timeout: Schema.optional(Schema.Number.pipe(Schema.nonNegative({ message: () => "must not be negative" }))),
  /** Base URL of the service. */
  baseUrl: Schema.optional(BaseUrl)
})

/**
 * The parameters, as VoxEngine's `Gemini.createLiveAPIClient` takes them (plus `privacy`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Parameters = Schema.Struct({
  /** Gemini API key (or an `auth_tokens/...` ephemeral token). Required on the Gemini API. */
  apiKey: Schema.optional(Secret),
  /** `Backend.GEMINI_API` (default) or `Backend.VERTEX_AI`. */
  backend: Schema.optional(Schema.Literal(Backend.GEMINI_API, Backend.VERTEX_AI)),
  /** The session config (`LiveConnectConfig`), mapped into the `setup` message. */
  connectConfig: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  /** A Google credential file's content (Vertex AI). */
  credentials: Schema.optional(Secret),
  httpOptions: Schema.optional(HttpOptions),
  /** Google Cloud location (Vertex AI). */
  location: Schema.optional(Schema.NonEmptyTrimmedString),
  /** The model; default `defaultModel`. */
  model: Schema.optional(Schema.NonEmptyTrimmedString),
  /** Called once for every WebSocket close, with its code, reason and `wasClean`. */
  onWebSocketClose: Schema.optional(CloseCallback),
  /** Google Cloud project (Vertex AI). */
  project: Schema.optional(Schema.NonEmptyTrimmedString),
  /** Per-session statistics and Effect metrics; default off. */
  statistics: Schema.optional(Schema.Boolean),
  /** Write a wire trace of every frame; default off. */
  trace: Schema.optional(Schema.Boolean),
  /** Redact payloads from the wire trace; default off. */
  privacy: Schema.optional(Schema.Boolean)
})

/**
 * The parameters as a user writes them.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Input extends Omit<Schema.Schema.Encoded<typeof Parameters>, "apiKey" | "credentials" | "connectConfig"> {
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly credentials?: string | Redacted.Redacted<string> | undefined
  readonly connectConfig?: Protocol.LiveConnectConfig | Readonly<Record<string, unknown>> | undefined
}

/**
 * Decoded parameters: secrets are `Redacted`, `connectConfig` is a checked `LiveConnectConfig`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Decoded extends Omit<Schema.Schema.Type<typeof Parameters>, "connectConfig"> {
  readonly connectConfig: Protocol.LiveConnectConfig
}

const configError = (path: string, description: string) =>
  new ConfigError({ module: "Parameters", method: "decode", path, description })

const fromParseError = (prefix: string, error: ParseResult.ParseError): ConfigError => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const path = [prefix, ...(first?.path ?? []).map(String)].filter((p) => p !== "").join(".")
  return configError(path, first?.message ?? "is invalid")
}

const decodeParameters = Schema.decodeUnknownEither(Parameters, { onExcessProperty: "error", errors: "first" })
const decodeConnectConfigSchema = Schema.decodeUnknownEither(Protocol.LiveConnectConfig, {
  onExcessProperty: "preserve",
  errors: "first"
})

/**
 * Checks a `connectConfig` (unknown fields are kept and sent as `setup` fields).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const decodeConnectConfig = (input: unknown): Either.Either<Protocol.LiveConnectConfig, ConfigError> =>
  Either.flatMap(
    Either.mapLeft(decodeConnectConfigSchema(input), (e) => fromParseError("connectConfig", e)),
    (config) =>
      "httpOptions" in config
        ? Either.left(configError("connectConfig.httpOptions", "is not supported: use the httpOptions parameter"))
        : Either.right(config)
  )

/**
 * Checks the parameters. Fails with a `ConfigError` naming the first bad field: an unknown
 * parameter, an unknown backend, Vertex AI without a project, a non-function `onWebSocketClose`,
 * a negative timeout, an empty `apiKey`, a header with CR/LF or a bad name, a bad `connectConfig` field...
 *
 * @since 0.1.0
 * @category Codecs
 */
export const decode = (input: unknown): Either.Either<Decoded, ConfigError> =>
  Either.gen(function*() {
    const parameters = yield* Either.mapLeft(decodeParameters(input), (e) => fromParseError("", e))
    if (parameters.apiKey !== undefined && Redacted.value(parameters.apiKey).trim() === "") {
      return yield* Either.left(configError("apiKey", "must not be empty"))
    }
    const badHeader = Backend.checkHeaders(parameters.httpOptions?.headers)
    if (badHeader !== undefined) return yield* Either.left(configError(badHeader.path, badHeader.description))
    const connectConfig = yield* decodeConnectConfig(parameters.connectConfig ?? {})
    if (parameters.backend === Backend.VERTEX_AI && parameters.project === undefined && parameters.apiKey === undefined) {
      return yield* Either.left(configError("project", "is required for the VertexAI backend (unless an apiKey selects Express mode)"))
    }
    return { ...parameters, connectConfig }
  })

/**
 * The services the parameters imply, each built only if not already provided from outside.
 *
 * @since 0.1.0
 * @category Models
 */
export type Services = Auth.Auth | Backend.Backend | Transport.Transport | Statistics.Statistics | WireTrace.WireTrace

const provided = <I, S, E>(tag: Context.Tag<I, S>, make: () => Effect.Effect<S, E>) =>
  Effect.flatMap(Effect.serviceOption(tag), Option.match({ onNone: make, onSome: Effect.succeed }))

/**
 * Auth from the parameters: `credentials` (a credential file's content) on Vertex AI, else the
 * `apiKey` (on Vertex AI, Express mode).
 */
const authFrom = (parameters: Decoded): Effect.Effect<Auth.Service, ConfigError | AuthError> => {
  const backend = parameters.backend ?? Backend.GEMINI_API
  if (backend === Backend.VERTEX_AI && parameters.credentials !== undefined) {
    return Auth.makeFromCredentials(parameters.credentials)
  }
  if (parameters.apiKey !== undefined) {
    return Effect.succeed(Auth.Auth.of({ credentials: Effect.succeed(Auth.fromApiKey(parameters.apiKey)) }))
  }
  return Effect.fail(
    backend === Backend.VERTEX_AI
      ? configError("credentials", "is required for the VertexAI backend (a credential file's content), unless an apiKey selects Express mode or an Auth layer is provided")
      : configError("apiKey", "is required for the GeminiAPI backend")
  )
}

/** `GOOGLE_GENAI_API_VERSION`, as `@google/genai` reads it (`beta` selects v1beta / v1beta1). */
const apiVersionFromEnv = (vertex: boolean) =>
  Config.option(Config.string("GOOGLE_GENAI_API_VERSION")).pipe(
    Effect.map(Option.map((version) => (version === "beta" ? (vertex ? "v1beta1" : "v1beta") : version))),
    Effect.map(Option.getOrUndefined),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * Builds the services from decoded parameters: Auth from `apiKey`, the Backend from `backend` and
 * `httpOptions`, the WebSocket Transport, Statistics from `statistics`, WireTrace from `trace` and
 * `privacy`. A service found in the context is used as it is.
 *
 * @since 0.1.0
 * @category Layers
 */
export const services = (parameters: Decoded): Effect.Effect<Context.Context<Services>, ConfigError | AuthError> =>
  Effect.gen(function*() {
    const vertex = parameters.backend === Backend.VERTEX_AI
    const auth = yield* provided(Auth.Auth, () => authFrom(parameters))
    const backend = yield* provided(Backend.Backend, () =>
      Effect.gen(function*() {
        const apiVersion = parameters.httpOptions?.apiVersion ?? (yield* apiVersionFromEnv(vertex))
        const options = { apiVersion, baseUrl: parameters.httpOptions?.baseUrl, headers: parameters.httpOptions?.headers }
        return vertex
          ? Backend.vertexAi({ ...options, project: parameters.project, location: parameters.location })
          : Backend.geminiApi(options)
      }))
    const transport = yield* provided(Transport.Transport, () => Effect.succeed(NodeTransport.webSocket))
    const statistics = yield* provided(
      Statistics.Statistics,
      () => Statistics.Statistics.pipe(Effect.provide(parameters.statistics ? Statistics.layer : Statistics.layerDisabled))
    )
    const wireTrace = yield* provided(
      WireTrace.WireTrace,
      () =>
        WireTrace.WireTrace.pipe(
          Effect.provide(parameters.trace ? WireTrace.layerFile({ privacy: parameters.privacy }) : WireTrace.layerNone)
        )
    )
    return Context.make(Auth.Auth, auth).pipe(
      Context.add(Backend.Backend, backend),
      Context.add(Transport.Transport, transport),
      Context.add(Statistics.Statistics, statistics),
      Context.add(WireTrace.WireTrace, wireTrace)
    )
  })

/**
 * The five services from the parameters (see `services`): what `GeminiLive.layerWithoutDependencies`
 * needs. A service already provided to this layer is used as it is.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (parameters: Input): Layer.Layer<Services, ConfigError | AuthError> =>
  Layer.effectContext(Effect.flatMap(decode(parameters), services))
