/**
 * The Auth service: where the credentials of each connection come from. A plugin is a Layer;
 * the Backend decides how the credentials travel (query parameter or header).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { AuthError } from "./LiveError.js"

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
