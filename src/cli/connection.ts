/**
 * Which Live API the command line talks to: the real service when the environment holds
 * credentials for the chosen backend, else an emulator embedded in the process (on 127.0.0.1, no
 * network). Credentials are only ever tested for presence here, and never printed.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Auth from "../Auth.js"
import * as Backend from "../Backend.js"
import * as GeminiLive from "../GeminiLive.js"
import type { AuthError, ConfigError } from "../LiveError.js"
import type * as Protocol from "../Protocol.js"
import * as LiveEmulator from "../testing/LiveEmulator.js"

/**
 * What the command asks for.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ConnectionOptions {
  /** `undefined`: Vertex AI if `GOOGLE_GENAI_USE_VERTEXAI` is true, else the Gemini API. */
  readonly backend: Backend.Kind | undefined
  readonly model: string | undefined
  /** Use the embedded emulator even with credentials in the environment. */
  readonly emulator: boolean
  /** The embedded emulator paces its replies at speaking speed. */
  readonly realtime: boolean
  readonly connectConfig: Protocol.LiveConnectConfig
}

/**
 * What the environment says, as far as choosing goes (presence only: no secret is kept).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Environment {
  /** The name of the variable the API key comes from (`GOOGLE_API_KEY` wins, as in Google's SDK). */
  readonly apiKeyVariable: "GOOGLE_API_KEY" | "GEMINI_API_KEY" | undefined
  readonly useVertexAI: boolean
  readonly project: string | undefined
  readonly location: string | undefined
  readonly credentialsFile: boolean
  readonly baseUrl: string | undefined
}

/**
 * The choice: the real service (with a description of it) or the embedded emulator (with why).
 *
 * @since 0.1.0
 * @category Models
 */
export type Choice =
  | { readonly _tag: "Service"; readonly backend: Backend.Kind; readonly description: string }
  | { readonly _tag: "Emulator"; readonly backend: Backend.Kind; readonly reason: string }

const present = (name: string): Config.Config<string | undefined> =>
  Config.option(Config.string(name)).pipe(
    Config.map(Option.filter((value) => value.trim() !== "")),
    Config.map(Option.getOrUndefined)
  )

/**
 * Reads the environment through the `ConfigProvider` (the process environment by default).
 *
 * @since 0.1.0
 * @category Actions
 */
export const environment: Effect.Effect<Environment> = Config.all({
  googleApiKey: present("GOOGLE_API_KEY"),
  geminiApiKey: present("GEMINI_API_KEY"),
  useVertexAI: present("GOOGLE_GENAI_USE_VERTEXAI"),
  project: present("GOOGLE_CLOUD_PROJECT"),
  location: present("GOOGLE_CLOUD_LOCATION"),
  credentials: present("GOOGLE_APPLICATION_CREDENTIALS"),
  baseUrl: present("GOOGLE_GEMINI_BASE_URL")
}).pipe(
  Effect.map((env): Environment => ({
    apiKeyVariable: env.googleApiKey !== undefined
      ? "GOOGLE_API_KEY"
      : env.geminiApiKey !== undefined
      ? "GEMINI_API_KEY"
      : undefined,
    useVertexAI: env.useVertexAI !== undefined && ["true", "1"].includes(env.useVertexAI.toLowerCase()),
    project: env.project,
    location: env.location,
    credentialsFile: env.credentials !== undefined,
    baseUrl: env.baseUrl
  })),
  Effect.orDie
)

/**
 * Chooses the real service or the emulator: the Gemini API needs `GEMINI_API_KEY` or
 * `GOOGLE_API_KEY`; Vertex AI needs `GOOGLE_CLOUD_PROJECT` and `GOOGLE_APPLICATION_CREDENTIALS`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const choose = (options: Pick<ConnectionOptions, "backend" | "emulator">, env: Environment): Choice => {
  const backend = options.backend ?? (env.useVertexAI ? Backend.VERTEX_AI : Backend.GEMINI_API)
  if (options.emulator) return { _tag: "Emulator", backend, reason: "--emulator" }
  if (backend === Backend.GEMINI_API) {
    if (env.apiKeyVariable === undefined) {
      return { _tag: "Emulator", backend, reason: "no GEMINI_API_KEY or GOOGLE_API_KEY in the environment" }
    }
    const at = env.baseUrl === undefined ? "" : ` at ${env.baseUrl}`
    return { _tag: "Service", backend, description: `the Gemini API${at} (key from ${env.apiKeyVariable})` }
  }
  if (env.project === undefined || !env.credentialsFile) {
    return {
      _tag: "Emulator",
      backend,
      reason: "Vertex AI mode: no GOOGLE_CLOUD_PROJECT and GOOGLE_APPLICATION_CREDENTIALS in the environment"
    }
  }
  return {
    _tag: "Service",
    backend,
    description: `Vertex AI (project ${env.project}, location ${env.location ?? "global"}, credentials from GOOGLE_APPLICATION_CREDENTIALS)`
  }
}

/** The stand-in credentials of the embedded emulator (it accepts any non-empty one). */
const emulatorKey = "emulator"

/**
 * The `GeminiLive` client the command uses, chosen by `choose` (and said on stdout). The embedded
 * emulator lives as long as the layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: ConnectionOptions): Layer.Layer<GeminiLive.GeminiLive, ConfigError | AuthError> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const choice = choose(options, yield* environment)
    const model = options.model === undefined ? {} : { model: options.model }
    const common = { backend: choice.backend, connectConfig: options.connectConfig, ...model }
    if (choice._tag === "Service") {
      yield* Console.log(`using ${choice.description}`)
      // On Vertex AI the credential file wins over an API key that may also be in the environment.
      return GeminiLive.layerConfig(choice.backend === Backend.VERTEX_AI ? { ...common, apiKey: undefined } : common)
    }
    const emulator = yield* LiveEmulator.make({ realtime: options.realtime })
    yield* Console.log(`using the embedded emulator at ${emulator.url} (${choice.reason})`)
    const httpOptions = { baseUrl: emulator.url }
    if (choice.backend === Backend.GEMINI_API) return GeminiLive.layer({ ...common, apiKey: emulatorKey, httpOptions })
    return GeminiLive.layer({ ...common, project: "emulator-project", location: "us-central1", httpOptions }).pipe(
      Layer.provide(Auth.accessToken(Effect.sync(() => Redacted.make(emulatorKey))))
    )
  }))
