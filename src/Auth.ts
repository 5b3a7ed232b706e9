/**
 * The Auth service: where the credentials of each connection come from. A plugin is a Layer;
 * the Backend decides how the credentials travel (query parameter or header).
 *
 * | plugin | for | credentials |
 * |---|---|---|
 * | `apiKey(key)` | Gemini API (or Vertex AI Express mode) | `key=` query / `x-goog-api-key` header |
 * | `ephemeralToken(token)` | Gemini API, from untrusted clients | `access_token=auth_tokens/...` |
 * | `serviceAccount(json)` | Vertex AI | JWT-bearer flow, cached Bearer token |
 * | `authorizedUser(json)` | Vertex AI (gcloud user ADC file) | refresh-token flow, cached Bearer token |
 * | `fromCredentials(content)` | Vertex AI: the seed's `credentials` | one of the two above, by the file's `type` |
 * | `accessToken(effect)` | Vertex AI, any token source (metadata server, google-auth-library...) | cached Bearer token |
 *
 * Tokens are cached and refreshed 5 minutes before they expire; concurrent connects share one refresh.
 * A token request is never retried here and is bounded (`timeout`, default 10 s): a 4xx answer is an
 * `AuthError` with `retryable: false`; 5xx, 408, 429, a network failure or the timeout, `retryable: true`.
 * An endpoint's `error_description` is kept scrubbed of anything secret and at most 200 characters.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as GoogleCredentials from "./internal/auth/googleCredentials.js"
import { AuthError } from "./LiveError.js"

/**
 * What a connection authenticates with:
 * - `ApiKey`: a Gemini API key (`key=` on the Gemini API);
 * - `EphemeralToken`: an `auth_tokens/...` token minted by a trusted backend (the Gemini API's
 *   `BidiGenerateContentConstrained` method, `access_token=`);
 * - `AccessToken`: an OAuth2 bearer token (Vertex AI).
 *
 * @since 0.1.0
 * @category Models
 */
export type Credentials =
  | { readonly _tag: "ApiKey"; readonly key: Redacted.Redacted<string> }
  | { readonly _tag: "EphemeralToken"; readonly token: Redacted.Redacted<string> }
  | { readonly _tag: "AccessToken"; readonly token: Redacted.Redacted<string> }

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** The credentials for the next connection (evaluated on every connect, so tokens can refresh). */
  readonly credentials: Effect.Effect<Credentials, AuthError>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class Auth extends Context.Tag("effect-gemini-live/Auth")<Auth, Service>() {}

const secret = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/**
 * The prefix of ephemeral tokens.
 *
 * @since 0.1.0
 * @category Constants
 */
export const ephemeralTokenPrefix = "auth_tokens/"

/**
 * Credentials from a Gemini API key. A key that is really an ephemeral token (`auth_tokens/...`) is
 * treated as one, as Google's SDKs do.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromApiKey = (key: string | Redacted.Redacted<string>): Credentials => {
  const redacted = secret(key)
  return Redacted.value(redacted).startsWith(ephemeralTokenPrefix)
    ? { _tag: "EphemeralToken", token: redacted }
    : { _tag: "ApiKey", key: redacted }
}

/**
 * Auth with a Gemini API key (or an ephemeral token passed as the key).
 *
 * @since 0.1.0
 * @category Layers
 */
export const apiKey = (key: string | Redacted.Redacted<string>): Layer.Layer<Auth> =>
  Layer.succeed(Auth, Auth.of({ credentials: Effect.succeed(fromApiKey(key)) }))

/**
 * Auth with an ephemeral token (`auth_tokens/...`), for clients that must not hold the API key.
 *
 * @since 0.1.0
 * @category Layers
 */
export const ephemeralToken = (token: string | Redacted.Redacted<string>): Layer.Layer<Auth> =>
  Layer.succeed(Auth, Auth.of({ credentials: Effect.succeed({ _tag: "EphemeralToken", token: secret(token) }) }))

/**
 * Options of the OAuth2 plugins.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TokenOptions {
  /**
   * How long one token request (or one run of an `accessToken` source) may take; past it the connect
   * fails with a retryable `AuthError`. Default `defaultTokenTimeout`.
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * How long a token request may take by default: 10 seconds.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultTokenTimeout: Duration.Duration = Duration.seconds(10)

/**
 * An OAuth2 access token and when it expires (epoch milliseconds).
 *
 * @since 0.1.0
 * @category Models
 */
export interface AccessToken {
  readonly token: Redacted.Redacted<string>
  readonly expiresAt: number
}

/**
 * Auth with OAuth2 access tokens from any source (Vertex AI). An `AccessToken` is cached until 5
 * minutes before `expiresAt` (one shared refresh); a bare `Redacted` token is asked for at every
 * connect. A failed fetch is never cached, and never retried here. A run of `source` longer than
 * `options.timeout` (default 10 s) fails with a retryable `AuthError`; a token with a character a
 * header cannot carry (CR, LF...) fails with a non-retryable one.
 *
 * @example
 * ```ts
 * import { GoogleAuth } from "google-auth-library"
 *
 * const google = new GoogleAuth({ scopes: "https://www.googleapis.com/auth/cloud-platform" })
 * const MetadataServer = Auth.accessToken(Effect.tryPromise({
 *   try: async () => Redacted.make((await google.getAccessToken())!),
 *   catch: (e) => new AuthError({ module: "app", method: "token", description: String(e), retryable: true })
 * }))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const accessToken = <R>(
  source: Effect.Effect<AccessToken | Redacted.Redacted<string>, AuthError, R>,
  options?: TokenOptions
): Layer.Layer<Auth, never, R> =>
  Layer.effect(
    Auth,
    Effect.gen(function*() {
      const context = yield* Effect.context<R>()
      const timeout = Duration.decode(options?.timeout ?? defaultTokenTimeout)
      // Disconnected: a source that ignores interruption still gives the connect back at the timeout.
      const withExpiry = Effect.flatMap(Effect.disconnect(Effect.provide(source, context)), (result) =>
        Redacted.isRedacted(result)
          ? Effect.map(Clock.currentTimeMillis, (now) => ({ token: result as Redacted.Redacted<string>, expiresAt: now }))
          : Effect.succeed(result as AccessToken)).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new AuthError({
                module: "Auth",
                method: "accessToken",
                description: `the token source did not answer within ${Duration.format(timeout)}`,
                retryable: true
              })
          }),
          Effect.filterOrFail(
            (token) => !GoogleCredentials.notHeaderSafe.test(Redacted.value(token.token)),
            () =>
              new AuthError({
                module: "Auth",
                method: "accessToken",
                description: "the token source gave a token that cannot go in a header (a line break?)",
                retryable: false
              })
          )
        )
      const token = yield* GoogleCredentials.makeTokenSource(withExpiry)
      return Auth.of({ credentials: Effect.map(token, (token) => ({ _tag: "AccessToken", token }) as const) })
    })
  )

/** The HttpClient in context, or `fetch`. */
const httpClient = Effect.flatMap(
  Effect.serviceOption(HttpClient.HttpClient),
  Option.match({ onNone: () => Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer), onSome: Effect.succeed })
)

const credentialFile = (
  method: string,
  content: string | Redacted.Redacted<string> | object,
  options: TokenOptions | undefined,
  expected?: GoogleCredentials.GoogleCredentials["_tag"]
): Effect.Effect<Service, AuthError> =>
    Effect.gen(function*() {
      const text = typeof content === "string"
        ? content
        : Redacted.isRedacted(content)
        ? Redacted.value(content as Redacted.Redacted<string>)
        : JSON.stringify(content)
      const credentials = yield* Either.mapLeft(
        GoogleCredentials.parseCredentials(text),
        (error) => new AuthError({ module: "Auth", method, description: error.description, retryable: false })
      )
      if (expected !== undefined && credentials._tag !== expected) {
        return yield* new AuthError({
          module: "Auth",
          method,
          description: `expected a ${expected === "ServiceAccount" ? "service_account" : "authorized_user"} credential file`,
          retryable: false
        })
      }
      const client = yield* httpClient
      const token = yield* GoogleCredentials.makeTokenSource(
        Effect.provideService(GoogleCredentials.fetchToken(credentials, { timeout: options?.timeout ?? defaultTokenTimeout }), HttpClient.HttpClient, client)
      )
      return Auth.of({ credentials: Effect.map(token, (token) => ({ _tag: "AccessToken", token }) as const) })
    })

/**
 * The Auth service of a credential file's content (see `fromCredentials`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeFromCredentials = (
  content: string | Redacted.Redacted<string> | object,
  options?: TokenOptions
): Effect.Effect<Service, AuthError> => credentialFile("fromCredentials", content, options)

/**
 * Auth with a credential file's content (the seed's `credentials`), by its `type`: `service_account`
 * or `authorized_user`. A bad file fails the layer with an `AuthError` naming what is wrong (never a
 * secret). Token requests use the `HttpClient` in context, or `fetch`, and take at most
 * `options.timeout` (default 10 s).
 *
 * @since 0.1.0
 * @category Layers
 */
export const fromCredentials = (
  content: string | Redacted.Redacted<string> | object,
  options?: TokenOptions
): Layer.Layer<Auth, AuthError> => Layer.effect(Auth, makeFromCredentials(content, options))

/**
 * Auth with a service account key file (its content, as a string or the parsed object).
 *
 * @since 0.1.0
 * @category Layers
 */
export const serviceAccount = (
  content: string | Redacted.Redacted<string> | object,
  options?: TokenOptions
): Layer.Layer<Auth, AuthError> => Layer.effect(Auth, credentialFile("serviceAccount", content, options, "ServiceAccount"))

/**
 * Auth with a gcloud application-default-credentials user file (`gcloud auth application-default login`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const authorizedUser = (
  content: string | Redacted.Redacted<string> | object,
  options?: TokenOptions
): Layer.Layer<Auth, AuthError> => Layer.effect(Auth, credentialFile("authorizedUser", content, options, "AuthorizedUser"))
