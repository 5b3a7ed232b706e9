/**
 * The client: build it from VoxEngine-style parameters (`layer`) or from the environment
 * (`layerConfig`), then open scoped sessions with `connect`.
 *
 * @example
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { GeminiLive, LiveEvent } from "effect-gemini-live"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const session = yield* GeminiLive.connect({ connectConfig: { outputAudioTranscription: {} } })
 *   yield* session.sendRealtimeInput({ text: "Hello" })
 *   yield* session.events.pipe(
 *     Stream.takeUntil(LiveEvent.is("TurnComplete")),
 *     Stream.runForEach((event) => Console.log(event._tag))
 *   )
 * }))
 *
 * program.pipe(Effect.provide(GeminiLive.layerConfig()), Effect.runPromise)
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Auth from "./Auth.js"
import * as Backend from "./Backend.js"
import * as Fs from "node:fs"
import { type AuthError, ConfigError, type LiveError } from "./LiveError.js"
import * as LiveModel from "./LiveModel.js"
import * as LiveSession from "./LiveSession.js"
import * as Parameters from "./Parameters.js"
import type * as Protocol from "./Protocol.js"
import type * as ReconnectPolicy from "./ReconnectPolicy.js"
import * as Statistics from "./Statistics.js"
import type * as Tool from "./Tool.js"
import * as Transport from "./Transport.js"
import * as WireTrace from "./WireTrace.js"

/**
 * What `connect` may change for one session, over the layer's parameters.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ConnectOptions<R = never> {
  /** Another model for this session. */
  readonly model?: string | undefined
  /** Config fields for this session, merged over the layer's `connectConfig` (field by field). */
  readonly connectConfig?: Protocol.LiveConnectConfig | undefined
  /** Another close callback for this session. */
  readonly onWebSocketClose?: ((event: Parameters.WebSocketCloseEvent) => void) | undefined
  /** Events buffered per reader before the socket is paused; default 256. */
  readonly eventBufferSize?: number | undefined
  /**
   * Model audio chunks `session.audio` buffers; default 150 (about 30 s). `0` turns `session.audio`
   * off, for an application that takes the audio from the `AudioDelta` events: no copy is kept.
   */
  readonly audioBufferSize?: number | undefined
  /** Tools declared in the setup and answered automatically; their handlers' needs `R` come from the caller. */
  readonly tools?: Tool.Toolkit<R> | undefined
  /**
   * What to do when a connection ends unasked (see `ReconnectPolicy`); `false` ends the session.
   * Default: reconnect with the session's resumption handle (which adds `sessionResumption: {}` to
   * the setup unless the config sets it).
   */
  readonly reconnect?: ReconnectPolicy.ReconnectPolicy | false | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** The decoded parameters this client was built with. */
  readonly parameters: Parameters.Decoded
  /** Opens a session that lives until the scope closes. */
  readonly connect: <R = never>(
    options?: ConnectOptions<R>
  ) => Effect.Effect<LiveSession.LiveSession, LiveError, Scope.Scope | R>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class GeminiLive extends Context.Tag("effect-gemini-live/GeminiLive")<GeminiLive, Service>() {}

/**
 * The default model (see docs/models.md).
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultModel: string = Parameters.defaultModel

/**
 * Builds the client from decoded parameters, on the services in context (see `Parameters.layer`)
 * and the `LiveModel.Models` registry sessions are checked against.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (parameters: Parameters.Decoded): Effect.Effect<Service, never, Parameters.Services> =>
  Effect.gen(function*() {
    // The five services only: the context where a layer is built also holds that layer's Scope.
    const services = Context.pick(Auth.Auth, Backend.Backend, Transport.Transport, Statistics.Statistics, WireTrace.WireTrace)(
      yield* Effect.context<Parameters.Services>()
    )
    const models = yield* LiveModel.Models
    const connect = <R = never>(options: ConnectOptions<R> = {}) =>
      Effect.gen(function*() {
        const overrides = options.connectConfig === undefined
          ? {}
          : yield* Parameters.decodeConnectConfig(options.connectConfig)
        return yield* LiveSession.make({
          model: options.model ?? parameters.model ?? Parameters.defaultModel,
          connectConfig: { ...parameters.connectConfig, ...overrides },
          timeout: parameters.httpOptions?.timeout ?? Parameters.defaultTimeoutMillis,
          onWebSocketClose: options.onWebSocketClose ?? parameters.onWebSocketClose,
          eventBufferSize: options.eventBufferSize,
          audioBufferSize: options.audioBufferSize,
          tools: options.tools,
          reconnect: options.reconnect
        })
      }).pipe(Effect.provide(services), Effect.provideService(LiveModel.Models, models))
    return GeminiLive.of({ parameters, connect })
  })

/**
 * The client on services you provide (Auth, Backend, Transport, Statistics, WireTrace): the
 * parameters give the model, `connectConfig`, timeout and close callback.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { GeminiLive, Parameters } from "effect-gemini-live"
 *
 * const parameters = { apiKey: "...", statistics: true }
 * const Live = GeminiLive.layerWithoutDependencies(parameters).pipe(Layer.provide(Parameters.layer(parameters)))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerWithoutDependencies = (
  parameters: Parameters.Input = {}
): Layer.Layer<GeminiLive, ConfigError, Parameters.Services> =>
  Layer.effect(GeminiLive, Effect.flatMap(Parameters.decode(parameters), make))

/**
 * The client from VoxEngine-style parameters: `layerWithoutDependencies` with `Parameters.layer`.
 * Bad parameters fail the layer with a `ConfigError` naming the field (a bad credential file: an
 * `AuthError`). A service provided to this layer replaces the one the parameters imply, e.g. the
 * emulator's transport: `GeminiLive.layer(p).pipe(Layer.provide(emulator.layerTransport))`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (parameters: Parameters.Input): Layer.Layer<GeminiLive, ConfigError | AuthError> =>
  Layer.provide(layerWithoutDependencies(parameters), Parameters.layer(parameters))

const firstOf = (...names: ReadonlyArray<string>) =>
  Config.all(names.map((name) => Config.option(Config.redacted(name)))).pipe(
    Config.map((values) => Option.getOrUndefined(Option.firstSomeOf(values)))
  )

/**
 * The parameters found in the environment, with the names `@google/genai` reads:
 * `GOOGLE_API_KEY` / `GEMINI_API_KEY` (the first wins), `GOOGLE_GENAI_USE_VERTEXAI`,
 * `GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION`, `GOOGLE_GEMINI_BASE_URL` (and
 * `GOOGLE_GENAI_API_VERSION`, read by every layer). `GOOGLE_APPLICATION_CREDENTIALS` (a credential
 * file's path) is read by `layerConfig`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const parametersFromConfig: Config.Config<Parameters.Input> = Config.all({
  apiKey: firstOf("GOOGLE_API_KEY", "GEMINI_API_KEY"),
  vertex: Config.option(Config.string("GOOGLE_GENAI_USE_VERTEXAI")),
  project: Config.option(Config.string("GOOGLE_CLOUD_PROJECT")),
  location: Config.option(Config.string("GOOGLE_CLOUD_LOCATION")),
  baseUrl: Config.option(Config.string("GOOGLE_GEMINI_BASE_URL"))
}).pipe(Config.map(({ apiKey, baseUrl, location, project, vertex }) => {
  const parameters: { -readonly [K in keyof Parameters.Input]: Parameters.Input[K] } = {}
  if (apiKey !== undefined) parameters.apiKey = apiKey as Redacted.Redacted<string>
  if (Option.isSome(vertex) && ["true", "1"].includes(vertex.value.toLowerCase())) parameters.backend = Backend.VERTEX_AI
  if (Option.isSome(project)) parameters.project = project.value
  if (Option.isSome(location)) parameters.location = location.value
  if (Option.isSome(baseUrl)) parameters.httpOptions = { baseUrl: baseUrl.value }
  return parameters
}))

/** The content of the file GOOGLE_APPLICATION_CREDENTIALS names, for Vertex AI without `credentials`. */
const credentialsFromFile = (parameters: Parameters.Input): Effect.Effect<Parameters.Input, ConfigError> =>
  parameters.backend !== Backend.VERTEX_AI || parameters.credentials !== undefined || parameters.apiKey !== undefined
    ? Effect.succeed(parameters)
    : Config.option(Config.string("GOOGLE_APPLICATION_CREDENTIALS")).pipe(
      Effect.orElseSucceed(() => Option.none<string>()),
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeed(parameters),
        onSome: (path) =>
          Effect.try({
            try: () => ({ ...parameters, credentials: Redacted.make(Fs.readFileSync(path, "utf8")) }),
            catch: (error) =>
              new ConfigError({
                module: "GeminiLive",
                method: "layerConfig",
                path: "GOOGLE_APPLICATION_CREDENTIALS",
                description: `cannot read the credential file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`
              })
          })
      }))
    )

/**
 * The client from the environment (see `parametersFromConfig`); `parameters` override what the
 * environment says (e.g. the model or the `connectConfig`). On Vertex AI without `credentials`,
 * the file `GOOGLE_APPLICATION_CREDENTIALS` names is read.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (parameters: Parameters.Input = {}): Layer.Layer<GeminiLive, ConfigError | AuthError> =>
  Layer.unwrapEffect(
    parametersFromConfig.pipe(
      Effect.orElseSucceed((): Parameters.Input => ({})),
      Effect.map((fromEnv) => ({
        ...fromEnv,
        ...parameters,
        httpOptions: { ...fromEnv.httpOptions, ...parameters.httpOptions }
      })),
      Effect.flatMap(credentialsFromFile),
      Effect.map(layer)
    )
  )

/**
 * Opens a session with the `GeminiLive` client in context.
 *
 * @since 0.1.0
 * @category Actions
 */
export const connect = <R = never>(
  options?: ConnectOptions<R>
): Effect.Effect<LiveSession.LiveSession, LiveError, GeminiLive | Scope.Scope | R> =>
  Effect.flatMap(GeminiLive, (client) => client.connect(options))
