/**
 * Google credential files and OAuth2 access tokens (for Vertex AI): parsing a service-account or
 * authorized-user JSON, the token requests of both (RFC 7523 JWT bearer, refresh token), and a
 * caching token source that shares one refresh between concurrent callers.
 *
 * Secrets (`private_key`, `client_secret`, `refresh_token`, tokens) are `Redacted` and never reach
 * an error message: failures name the field or the endpoint's `error` code, never a value.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as SynchronizedRef from "effect/SynchronizedRef"
import * as crypto from "node:crypto"
import { AuthError } from "../../LiveError.js"

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/** Google's OAuth2 token endpoint, the default `token_uri`. */
export const defaultTokenUri = "https://oauth2.googleapis.com/token"

/** The scope requested by default: everything Vertex AI needs. */
export const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

/** A service account key file (`"type": "service_account"`). */
export interface ServiceAccount {
  readonly _tag: "ServiceAccount"
  readonly clientEmail: string
  readonly privateKey: Redacted.Redacted<string>
  readonly privateKeyId?: string
  readonly tokenUri: string
  readonly projectId?: string
}

/** A gcloud application-default-credentials user file (`"type": "authorized_user"`). */
export interface AuthorizedUser {
  readonly _tag: "AuthorizedUser"
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
  readonly tokenUri: string
  readonly quotaProjectId?: string
}

/** The credentials a credential file can hold. */
export type GoogleCredentials = ServiceAccount | AuthorizedUser

/** Why a credential file was refused; `description` never contains a secret. */
export interface CredentialsError {
  readonly _tag: "CredentialsError"
  readonly description: string
}

/** An access token and when it expires (epoch milliseconds). */
export interface AccessToken {
  readonly token: Redacted.Redacted<string>
  readonly expiresAt: number
}

/** Options of the token requests. */
export interface TokenRequestOptions {
  /** How long one token request may take (default 10 seconds); a timeout is retryable. */
  readonly timeout?: Duration.DurationInput
  /** The OAuth2 scopes of a service-account token (default `cloud-platform`). */
  readonly scopes?: ReadonlyArray<string>
}

// -----------------------------------------------------------------------------
// Parsing
// -----------------------------------------------------------------------------

const credentialsError = (description: string): CredentialsError => ({ _tag: "CredentialsError", description })

type Fields = Readonly<Record<string, unknown>>

const requiredString = (json: Fields, field: string): Either.Either<string, CredentialsError> => {
  const value = json[field]
  if (value === undefined || value === null) return Either.left(credentialsError(`missing field ${field}`))
  if (typeof value !== "string") return Either.left(credentialsError(`field ${field} is not a string`))
  if (value.trim() === "") return Either.left(credentialsError(`field ${field} is empty`))
  return Either.right(value)
}

const optionalString = (json: Fields, field: string): Either.Either<string | undefined, CredentialsError> => {
  const value = json[field]
  if (value === undefined || value === null || value === "") return Either.right(undefined)
  if (typeof value !== "string") return Either.left(credentialsError(`field ${field} is not a string`))
  return Either.right(value)
}

const tokenUriOf = (json: Fields): Either.Either<string, CredentialsError> =>
  Either.flatMap(optionalString(json, "token_uri"), (uri) => {
    if (uri === undefined) return Either.right(defaultTokenUri)
    const url = URL.canParse(uri) ? new URL(uri) : undefined
    return url !== undefined && (url.protocol === "https:" || url.protocol === "http:")
      ? Either.right(uri)
      : Either.left(credentialsError("token_uri is not an http(s) URL"))
  })

const isRsaPrivateKey = (pem: string): boolean => {
  try {
    return crypto.createPrivateKey(pem).asymmetricKeyType === "rsa"
  } catch {
    return false
  }
}

/** The PEM as given, or with literal `\n` sequences unescaped (a key that went through an env var twice). */
const privateKeyOf = (pem: string): Either.Either<Redacted.Redacted<string>, CredentialsError> => {
  if (isRsaPrivateKey(pem)) return Either.right(Redacted.make(pem))
  const unescaped = pem.replace(/\\n/g, "\n")
  if (unescaped !== pem && isRsaPrivateKey(unescaped)) return Either.right(Redacted.make(unescaped))
  return Either.left(credentialsError("private_key is not a valid PEM private key (an RSA key is expected)"))
}

const parseServiceAccount = (json: Fields): Either.Either<ServiceAccount, CredentialsError> =>
  Either.gen(function*() {
    const clientEmail = yield* requiredString(json, "client_email")
    const privateKey = yield* Either.flatMap(requiredString(json, "private_key"), privateKeyOf)
    const tokenUri = yield* tokenUriOf(json)
    const privateKeyId = yield* optionalString(json, "private_key_id")
    const projectId = yield* optionalString(json, "project_id")
    return {
      _tag: "ServiceAccount",
      clientEmail,
      privateKey,
      tokenUri,
      ...(privateKeyId === undefined ? {} : { privateKeyId }),
      ...(projectId === undefined ? {} : { projectId })
    } satisfies ServiceAccount
  })

const parseAuthorizedUser = (json: Fields): Either.Either<AuthorizedUser, CredentialsError> =>
  Either.gen(function*() {
    const clientId = yield* requiredString(json, "client_id")
    const clientSecret = yield* requiredString(json, "client_secret")
    const refreshToken = yield* requiredString(json, "refresh_token")
    const tokenUri = yield* tokenUriOf(json)
    const quotaProjectId = yield* optionalString(json, "quota_project_id")
    return {
      _tag: "AuthorizedUser",
      clientId,
      clientSecret: Redacted.make(clientSecret),
      refreshToken: Redacted.make(refreshToken),
      tokenUri,
      ...(quotaProjectId === undefined ? {} : { quotaProjectId })
    } satisfies AuthorizedUser
  })

const expectedTypes = "(expected service_account or authorized_user)"

/** Parses the content of a credential file (service account or authorized user). */
export const parseCredentials = (content: string): Either.Either<GoogleCredentials, CredentialsError> => {
  let json: unknown
  try {
    // A BOM is what a Windows editor leaves at the start of a saved file.
    json = JSON.parse(content.replace(/^\uFEFF/, ""))
  } catch {
    const trimmed = content.trim()
    const looksLikePath = trimmed !== "" && !/[\s{}]/.test(trimmed) && /^([./~]|[A-Za-z]:\\)|\.json$/.test(trimmed)
    return Either.left(credentialsError(
      looksLikePath
        ? "credentials are not JSON (a file path? pass the content of the file, not its path)"
        : "credentials are not JSON"
    ))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Either.left(credentialsError("credentials are not a JSON object"))
  }
  const fields = json as Fields
  const type = fields["type"]
  if (type === "service_account") return parseServiceAccount(fields)
  if (type === "authorized_user") return parseAuthorizedUser(fields)
  if (type === undefined) return Either.left(credentialsError(`missing field type ${expectedTypes}`))
  const shown = typeof type === "string" && type.length <= 64 && /^[\w.-]*$/.test(type)
    ? `"${type}"`
    : typeof type === "string" ? "(a string)" : `(a ${type === null ? "null" : typeof type})`
  return Either.left(credentialsError(`unknown credential type ${shown} ${expectedTypes}`))
}

// -----------------------------------------------------------------------------
// Token requests
// -----------------------------------------------------------------------------

const defaultTimeout = Duration.seconds(10)
const assertionLifetimeSeconds = 3600
const moduleName = "Auth"

const base64url = (value: string | Buffer): string => Buffer.from(value).toString("base64url")

/** Builds the RS256-signed JWT assertion of a service account (RFC 7523), issued at `nowMillis`. */
export const makeAssertion = (
  sa: ServiceAccount,
  nowMillis: number,
  scopes: ReadonlyArray<string> = [cloudPlatformScope]
): string => {
  const iat = Math.floor(nowMillis / 1000)
  const header = { alg: "RS256", typ: "JWT", ...(sa.privateKeyId === undefined ? {} : { kid: sa.privateKeyId }) }
  const claims = {
    iss: sa.clientEmail,
    scope: scopes.join(" "),
    aud: sa.tokenUri,
    iat,
    exp: iat + assertionLifetimeSeconds
  }
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`
  const signature = crypto.sign("RSA-SHA256", Buffer.from(input), Redacted.value(sa.privateKey))
  return `${input}.${base64url(signature)}`
}

/** At most `max` characters (the ellipsis included) of a server-provided string, on one line. */
const clip = (text: string, max = 200): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

const redacted = "<redacted>"

// What a credential looks like in text an endpoint sends back: a PEM block, a JWT (an assertion,
// an id token), Google's access and refresh tokens, `name=value` of a secret field, or a long opaque run.
const secretShapes: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN[^-]*-----[\s\S]*?(?:-----END[^-]*-----|$)/g, redacted],
  [/\beyJ[\w-]*(?:\.[\w-]*){0,2}/g, redacted],
  [/\bya29\.[\w.~+/-]+/g, redacted],
  [/\b1\/\/[\w.~+/-]+/g, redacted],
  [
    /\b(assertion|client_secret|refresh_token|access_token|id_token|private_key|password|secret|token|key)(["']?\s*[=:]\s*["']?)[^\s&"',;]+/gi,
    `$1$2${redacted}`
  ]
]

/** A run of 24 or more base64 characters mixing upper case, lower case and digits: a key or a token. */
const opaqueRun = /[\w~+/=-]{24,}/g
const opaque = (run: string): string => /[A-Z]/.test(run) && /[a-z]/.test(run) && /\d/.test(run) ? redacted : run

/**
 * A server-provided text made safe to show: the request's `secrets` (as sent, or URL-encoded as a
 * form echoes them) and anything shaped like a credential are replaced by `<redacted>`, then the
 * text is clipped to `max` characters (after scrubbing, so a clip never keeps a secret's head).
 */
export const scrub = (text: string, secrets: ReadonlyArray<string>, max = 200): string => {
  let safe = text
  for (const secret of secrets) {
    if (secret === "") continue
    for (const form of new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)])) {
      // A short secret is replaced where it stands alone, so its letters inside words survive.
      safe = form.length >= 8
        ? safe.split(form).join(redacted)
        : safe.replace(new RegExp(`(?<!\\w)${form.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?!\\w)`, "g"), redacted)
    }
  }
  for (const [shape, replacement] of secretShapes) safe = safe.replace(shape, replacement)
  return clip(safe.replace(opaqueRun, opaque), max)
}

/**
 * `error: error_description` of an OAuth2 error body (or Google's `{error: {status, message}}`), if
 * any: the `error` code and a scrubbed description, never the body as it came.
 */
const oauthErrorOf = (body: string, secrets: ReadonlyArray<string>): string | undefined => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof json !== "object" || json === null) return undefined
  const { error, error_description } = json as Fields
  if (typeof error === "string") {
    const code = scrub(error, secrets, 80)
    return typeof error_description === "string" && error_description !== ""
      ? `${code}: ${scrub(error_description, secrets)}`
      : code
  }
  if (typeof error === "object" && error !== null) {
    const { message, status } = error as Fields
    const parts = [status, message].filter((part): part is string => typeof part === "string" && part !== "")
    return parts.length === 0 ? undefined : scrub(parts.join(": "), secrets)
  }
  return undefined
}

const transportDescription = (error: HttpClientError.HttpClientError, secrets: ReadonlyArray<string>): string => {
  const cause: unknown = error.cause
  if (cause instanceof Error) {
    const inner: unknown = cause.cause
    const code = typeof inner === "object" && inner !== null && "code" in inner && typeof inner.code === "string"
      ? ` (${inner.code})`
      : ""
    return `${scrub(cause.message, secrets)}${code}`
  }
  return error.reason
}

const positiveSeconds = (value: unknown): number | undefined => {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined
}

/** The form fields that hold a secret: never in a message, scrubbed from what the endpoint echoes. */
const secretFields = ["assertion", "client_secret", "refresh_token"]

/** What a header value cannot carry (Node's rule): a token with one would fail every connect. */
export const notHeaderSafe = /[^\t\x20-\x7e\x80-\xff]/

/**
 * POSTs a form to a token endpoint and reads `{ access_token, expires_in }`. The request body (which
 * holds the secret) never reaches a message; only the status and the endpoint's `error` code with a
 * scrubbed, bounded description do. Nothing is retried here: 4xx is final (`retryable: false`);
 * 5xx, 408, 429, a network failure and `timeout` are `retryable: true`, for the caller to decide.
 */
const requestToken = (
  method: string,
  tokenUri: string,
  form: Record<string, string>,
  timeout: Duration.DurationInput
): Effect.Effect<AccessToken, AuthError, HttpClient.HttpClient> => {
  const secrets = secretFields.flatMap((field) => form[field] === undefined ? [] : [form[field]])
  const fail = (description: string, retryable: boolean) =>
    Effect.fail(new AuthError({ module: moduleName, method, description, retryable }))
  return Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const startedAt = yield* Clock.currentTimeMillis
    const request = HttpClientRequest.post(tokenUri).pipe(
      HttpClientRequest.acceptJson,
      HttpClientRequest.bodyUrlParams(form)
    )
    // Disconnected: an HttpClient that ignores interruption still gives the connect back at the timeout.
    const response = yield* Effect.disconnect(client.execute(request)).pipe(
      Effect.catchAll((error) => fail(`token request failed: ${transportDescription(error, secrets)}`, true))
    )
    const body = yield* response.text.pipe(
      Effect.catchAll((error) => fail(`token response could not be read: ${transportDescription(error, secrets)}`, true))
    )
    const status = response.status
    if (status < 200 || status >= 300) {
      const detail = oauthErrorOf(body, secrets)
      return yield* fail(
        `token endpoint answered ${status}${detail === undefined ? "" : `: ${detail}`}`,
        status >= 500 || status === 429 || status === 408
      )
    }
    let json: unknown
    try {
      json = JSON.parse(body)
    } catch {
      return yield* fail(`token endpoint answered ${status} with a body that is not JSON`, false)
    }
    const fields: Fields = typeof json === "object" && json !== null ? json as Fields : {}
    const accessToken = fields["access_token"]
    if (typeof accessToken !== "string" || accessToken === "") {
      return yield* fail(`token endpoint answered ${status} without an access_token`, false)
    }
    if (notHeaderSafe.test(accessToken)) {
      return yield* fail(`token endpoint answered ${status} with an access_token that cannot go in a header`, false)
    }
    const expiresIn = positiveSeconds(fields["expires_in"]) ?? assertionLifetimeSeconds
    return { token: Redacted.make(accessToken), expiresAt: startedAt + expiresIn * 1000 }
  }).pipe(
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new AuthError({
          module: moduleName,
          method,
          description: `token request timed out after ${Duration.format(Duration.decode(timeout))}`,
          retryable: true
        })
    })
  )
}

/** An access token for a service account (JWT bearer grant, RFC 7523). */
export const serviceAccountToken = (
  sa: ServiceAccount,
  options?: TokenRequestOptions
): Effect.Effect<AccessToken, AuthError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const assertion = yield* Effect.try({
      try: () => makeAssertion(sa, now, options?.scopes),
      catch: () =>
        new AuthError({
          module: moduleName,
          method: "serviceAccount",
          description: "the JWT assertion could not be signed: private_key is not a valid RSA private key",
          retryable: false
        })
    })
    return yield* requestToken(
      "serviceAccount",
      sa.tokenUri,
      { grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion },
      options?.timeout ?? defaultTimeout
    )
  })

/** An access token for an authorized user (refresh token grant). */
export const authorizedUserToken = (
  user: AuthorizedUser,
  options?: TokenRequestOptions
): Effect.Effect<AccessToken, AuthError, HttpClient.HttpClient> =>
  Effect.suspend(() =>
    requestToken(
      "authorizedUser",
      user.tokenUri,
      {
        grant_type: "refresh_token",
        client_id: user.clientId,
        client_secret: Redacted.value(user.clientSecret),
        refresh_token: Redacted.value(user.refreshToken)
      },
      options?.timeout ?? defaultTimeout
    )
  )

/** An access token for either kind of credentials. */
export const fetchToken = (
  credentials: GoogleCredentials,
  options?: TokenRequestOptions
): Effect.Effect<AccessToken, AuthError, HttpClient.HttpClient> =>
  credentials._tag === "ServiceAccount"
    ? serviceAccountToken(credentials, options)
    : authorizedUserToken(credentials, options)

// -----------------------------------------------------------------------------
// Caching
// -----------------------------------------------------------------------------

/** Options of `makeTokenSource`. */
export interface TokenSourceOptions {
  /** How long before expiry a token is refreshed (default 5 minutes, at most half its lifetime). */
  readonly refreshMargin?: Duration.DurationInput
}

type State<E> =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Cached"; readonly token: Redacted.Redacted<string>; readonly refreshAt: number }
  | { readonly _tag: "Refreshing"; readonly done: Deferred.Deferred<AccessToken, E> }

type Step<E> =
  | { readonly _tag: "Hit"; readonly token: Redacted.Redacted<string> }
  | { readonly _tag: "Wait"; readonly done: Deferred.Deferred<AccessToken, E> }
  | { readonly _tag: "Own"; readonly done: Deferred.Deferred<AccessToken, E> }

const empty: State<never> = { _tag: "Empty" }

/**
 * A token source over `fetch`: the token is reused until `refreshMargin` before it expires, callers
 * arriving during a refresh share it, and a failed refresh is not cached. The outer effect
 * allocates the cache; the inner one is what each connection calls.
 */
export const makeTokenSource = <E, R>(
  fetch: Effect.Effect<AccessToken, E, R>,
  options?: TokenSourceOptions
): Effect.Effect<Effect.Effect<Redacted.Redacted<string>, E, R>> =>
  Effect.gen(function*() {
    const margin = Duration.toMillis(options?.refreshMargin ?? Duration.minutes(5))
    const state = yield* SynchronizedRef.make<State<E>>(empty)

    // The caller that finds no usable token owns the request; callers arriving meanwhile wait for
    // it. Only the request and the waiting are interruptible, so an owner interrupted at any point
    // still settles the state. If the owner is interrupted, its waiters see an interrupted exit and
    // start over (one of them becomes the new owner).
    const get: Effect.Effect<Redacted.Redacted<string>, E, R> = Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        SynchronizedRef.modifyEffect(state, (current) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            if (current._tag === "Cached" && now < current.refreshAt) {
              return [{ _tag: "Hit", token: current.token } as Step<E>, current] as const
            }
            if (current._tag === "Refreshing") {
              return [{ _tag: "Wait", done: current.done } as Step<E>, current] as const
            }
            const done = yield* Deferred.make<AccessToken, E>()
            return [{ _tag: "Own", done } as Step<E>, { _tag: "Refreshing", done } as State<E>] as const
          })),
        (step): Effect.Effect<Redacted.Redacted<string>, E, R> => {
          switch (step._tag) {
            case "Hit":
              return Effect.succeed(step.token)
            case "Wait":
              return Effect.flatMap(restore(Effect.exit(Deferred.await(step.done))), (exit) =>
                Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
                  ? restore(get)
                  : Effect.map(exit, (token) => token.token))
            case "Own":
              return Effect.gen(function*() {
                const fetchedAt = yield* Clock.currentTimeMillis
                const exit = yield* Effect.exit(restore(fetch))
                yield* SynchronizedRef.set(
                  state,
                  Exit.isSuccess(exit)
                    ? {
                      _tag: "Cached",
                      token: exit.value.token,
                      refreshAt: exit.value.expiresAt -
                        Math.min(margin, Math.max(0, (exit.value.expiresAt - fetchedAt) / 2))
                    }
                    : empty
                )
                yield* Deferred.done(step.done, exit)
                return (yield* exit).token
              })
          }
        }
      )
    )
    return get
  })
