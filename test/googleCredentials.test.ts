import { assert, describe, expect, it } from "@effect/vitest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as crypto from "node:crypto"
import * as GoogleCredentials from "../src/internal/auth/googleCredentials.js"
import {
  authorizedUserJson,
  clientEmail,
  clientSecret,
  endpoint,
  refreshToken,
  serviceAccountJson,
  stranger,
  TokenServer,
  trusted
} from "./support/googleTokenEndpoint.js"
import type { AuthError } from "../src/LiveError.js"

const parse = (content: string) => Either.getOrThrow(GoogleCredentials.parseCredentials(content))

const parseError = (content: string): string => {
  const result = GoogleCredentials.parseCredentials(content)
  assert(Either.isLeft(result), "expected a parse failure")
  return result.left.description
}

const asServiceAccount = (credentials: GoogleCredentials.GoogleCredentials): GoogleCredentials.ServiceAccount => {
  assert(credentials._tag === "ServiceAccount")
  return credentials
}

const asAuthorizedUser = (credentials: GoogleCredentials.GoogleCredentials): GoogleCredentials.AuthorizedUser => {
  assert(credentials._tag === "AuthorizedUser")
  return credentials
}

const authError = <A, R>(effect: Effect.Effect<A, AuthError, R>) => Effect.flip(effect)

// -----------------------------------------------------------------------------
// Parsing
// -----------------------------------------------------------------------------

describe("parseCredentials", () => {
  it("parses a service account key file", () => {
    const sa = asServiceAccount(parse(serviceAccountJson({})))
    expect(sa.clientEmail).toBe(clientEmail)
    expect(sa.tokenUri).toBe("https://oauth2.googleapis.com/token")
    expect(sa.projectId).toBe("my-project")
    expect(sa.privateKeyId).toBe("test-key-id")
    expect(Redacted.value(sa.privateKey)).toBe(trusted.privateKey)
    // The key stays redacted when the value is printed or serialized.
    expect(JSON.stringify(sa)).not.toContain("PRIVATE KEY")
    expect(String(sa.privateKey)).not.toContain("PRIVATE KEY")
  })

  // A key whose newlines were escaped twice (an env var set from JSON, say).
  it("keeps an explicit token_uri; unescapes a twice-escaped key", () => {
    const sa = asServiceAccount(parse(serviceAccountJson({
      token_uri: "http://127.0.0.1:1234/token",
      private_key: trusted.privateKey.replace(/\n/g, "\\n")
    })))
    expect(sa.tokenUri).toBe("http://127.0.0.1:1234/token")
    expect(Redacted.value(sa.privateKey)).toBe(trusted.privateKey)
  })

  it("parses an authorized user file", () => {
    const user = asAuthorizedUser(parse(authorizedUserJson({ quota_project_id: "quota" })))
    expect(user.clientId).toBe("client-123.apps.googleusercontent.com")
    expect(Redacted.value(user.clientSecret)).toBe(clientSecret)
    expect(Redacted.value(user.refreshToken)).toBe(refreshToken)
    expect(user.tokenUri).toBe("https://oauth2.googleapis.com/token")
    expect(user.quotaProjectId).toBe("quota")
    expect(JSON.stringify(user)).not.toContain("SECRET")
  })

  it("refuses content that is not JSON, without echoing it", () => {
    const content = `{ "type": "service_account", private_key: "SECRET-pem-body" `
    const description = parseError(content)
    expect(description).toBe("credentials are not JSON")
    expect(description).not.toContain("SECRET")
    expect(parseError("/home/me/.config/gcloud/application_default_credentials.json")).toContain("file path")
    expect(parseError("[1, 2]")).toBe("credentials are not a JSON object")
    expect(parseError("null")).toBe("credentials are not a JSON object")
  })

  it("names an unknown or missing credential type", () => {
    expect(parseError(JSON.stringify({ type: "external_account", secret: "SECRET-x" }))).toBe(
      "unknown credential type \"external_account\" (expected service_account or authorized_user)"
    )
    expect(parseError(JSON.stringify({ type: "SECRET value with spaces" }))).not.toContain("SECRET")
    expect(parseError(JSON.stringify({ client_email: clientEmail }))).toBe(
      "missing field type (expected service_account or authorized_user)"
    )
  })

  it("names the missing or mistyped field", () => {
    expect(parseError(serviceAccountJson({ private_key: undefined }))).toBe("missing field private_key")
    expect(parseError(serviceAccountJson({ client_email: undefined }))).toBe("missing field client_email")
    expect(parseError(serviceAccountJson({ client_email: 42 }))).toBe("field client_email is not a string")
    expect(parseError(serviceAccountJson({ token_uri: "not a url" }))).toBe("token_uri is not an http(s) URL")
    const description = parseError(authorizedUserJson({ refresh_token: undefined }))
    expect(description).toBe("missing field refresh_token")
    expect(description).not.toContain("SECRET")
    expect(parseError(authorizedUserJson({ client_secret: "" }))).toBe("field client_secret is empty")
  })

  it("refuses a private_key that is not PEM, without echoing it", () => {
    const bad = "-----BEGIN PRIVATE KEY-----\nSECRET-not-really-a-key\n-----END PRIVATE KEY-----\n"
    const description = parseError(serviceAccountJson({ private_key: bad }))
    expect(description).toContain("private_key is not a valid PEM private key")
    expect(description).not.toContain("SECRET")
    expect(description).not.toContain("BEGIN")
    const ec = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "pkcs8",
      format: "pem"
    })
    expect(parseError(serviceAccountJson({ private_key: ec }))).toContain("private_key is not a valid PEM private key")
  })
})

// -----------------------------------------------------------------------------
// Token requests
// -----------------------------------------------------------------------------

// A server per test (a few ms): @effect/vitest's `layer(..., { excludeTestServices: true })` would
// also swap the TestClock out of every `it.effect` defined after it in this file.
describe("token requests", () => {
  // The RS256 JWT bearer assertion (RFC 7523).
  it.live("service account: the endpoint checks the JWT, grants a token", () =>
    Effect.gen(function*() {
      const sa = asServiceAccount(parse(serviceAccountJson({ token_uri: yield* endpoint("/token") })))
      const before = Date.now()
      const token = yield* GoogleCredentials.serviceAccountToken(sa)
      expect(Redacted.value(token.token)).toBe("ya29.service-account-token")
      expect(token.expiresAt).toBeGreaterThanOrEqual(before + 3599_000 - 1000)
      expect(token.expiresAt).toBeLessThanOrEqual(Date.now() + 3599_000)
    }).pipe(Effect.provide(TokenServer)))

  it.live("service account: a bad signature is refused, not retryable", () =>
    Effect.gen(function*() {
      const sa = asServiceAccount(parse(serviceAccountJson({
        token_uri: yield* endpoint("/token"),
        private_key: stranger.privateKey
      })))
      const error = yield* authError(GoogleCredentials.serviceAccountToken(sa))
      expect(error._tag).toBe("AuthError")
      expect(error.retryable).toBe(false)
      expect(error.message).toBe("token endpoint answered 400: invalid_grant: Invalid JWT Signature.")
      expect(error.message).not.toContain("eyJ")
    }).pipe(Effect.provide(TokenServer)))

  it.live("authorized user: the endpoint checks the refresh-token form", () =>
    Effect.gen(function*() {
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: yield* endpoint("/user") })))
      const token = yield* GoogleCredentials.fetchToken(user)
      expect(Redacted.value(token.token)).toBe("ya29.user-token")

      const wrong = asAuthorizedUser(parse(authorizedUserJson({
        token_uri: yield* endpoint("/user"),
        refresh_token: "SECRET-revoked"
      })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(wrong))
      expect(error.retryable).toBe(false)
      expect(error.message).toBe("token endpoint answered 400: invalid_grant: Bad Request")
    }).pipe(Effect.provide(TokenServer)))

  it.live("5xx and 429 are retryable, with the endpoint's error", () =>
    Effect.gen(function*() {
      const sa = asServiceAccount(parse(serviceAccountJson({ token_uri: yield* endpoint("/unavailable") })))
      const error = yield* authError(GoogleCredentials.serviceAccountToken(sa))
      expect(error.retryable).toBe(true)
      expect(error.message).toBe("token endpoint answered 503: UNAVAILABLE: The service is currently unavailable.")

      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: yield* endpoint("/throttled") })))
      const throttled = yield* authError(GoogleCredentials.authorizedUserToken(user))
      expect(throttled.retryable).toBe(true)
      expect(throttled.message).toBe("token endpoint answered 429: rate_limited")
    }).pipe(Effect.provide(TokenServer)))

  // The body may echo the request, which holds a secret.
  it.live("a non-JSON error body is not echoed", () =>
    Effect.gen(function*() {
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: yield* endpoint("/echo") })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(user))
      expect(error.retryable).toBe(false)
      expect(error.message).toBe("token endpoint answered 400")
      expect(JSON.stringify(error)).not.toContain("SECRET")
    }).pipe(Effect.provide(TokenServer)))

  it.live("a 200 without access_token is an error, not retryable", () =>
    Effect.gen(function*() {
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: yield* endpoint("/no-token") })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(user))
      expect(error.retryable).toBe(false)
      expect(error.message).toBe("token endpoint answered 200 without an access_token")
    }).pipe(Effect.provide(TokenServer)))

  it.live("a slow endpoint times out, retryable", () =>
    Effect.gen(function*() {
      const sa = asServiceAccount(parse(serviceAccountJson({ token_uri: yield* endpoint("/slow") })))
      const started = Date.now()
      const error = yield* authError(GoogleCredentials.serviceAccountToken(sa, { timeout: "200 millis" }))
      expect(Date.now() - started).toBeLessThan(1500)
      expect(error.retryable).toBe(true)
      expect(error.message).toBe("token request timed out after 200ms")
    }).pipe(Effect.provide(TokenServer)))

  it.live("a refused connection is retryable", () =>
    Effect.gen(function*() {
      // Port 1 on loopback: nothing listens there.
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: "http://127.0.0.1:1/token" })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(user))
      expect(error.retryable).toBe(true)
      expect(error.message).toMatch(/^token request failed: /)
      expect(error.message).not.toContain("SECRET")
    }).pipe(Effect.provide(TokenServer)))
})

// -----------------------------------------------------------------------------
// What an endpoint says back
// -----------------------------------------------------------------------------

/** A token endpoint of the test's own, answering `reply(form)` as JSON. */
const replyingEndpoint = (reply: (form: URLSearchParams) => readonly [status: number, body: unknown]) =>
  Effect.gen(function*() {
    const server = Http.createServer((request, response) => {
      let body = ""
      request.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => {
        const [status, json] = reply(new URLSearchParams(body))
        response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json))
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)).closeAllConnections())
    )
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`
  })

/** Everything an error carries, as text. */
const shown = (error: AuthError) => `${error.message} ${JSON.stringify(error)} ${String(error)}`

describe("error_description", () => {
  // The form as sent, URL-encoded, and the secrets by name, verbatim.
  it.scopedLive("an echoed refresh-token request is scrubbed", () =>
    Effect.gen(function*() {
      const tokenUri = yield* replyingEndpoint((form) => [400, {
        error: "invalid_request",
        error_description: `Bad request ${form.toString()}; client_secret: ${form.get("client_secret")}, ${form.get("refresh_token")}`
      }])
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: tokenUri })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(user))
      expect(error.retryable).toBe(false)
      expect(error.message).toMatch(/^token endpoint answered 400: invalid_request: Bad request grant_type=refresh_token/)
      expect(error.message).toContain("<redacted>")
      expect(shown(error)).not.toContain("SECRET")
      expect(shown(error)).not.toContain("7f3a9")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("an echoed assertion is scrubbed", () =>
    Effect.gen(function*() {
      const tokenUri = yield* replyingEndpoint((form) => [400, {
        error: { status: "INVALID_ARGUMENT", message: `Invalid assertion ${form.get("assertion")}` }
      }])
      const sa = asServiceAccount(parse(serviceAccountJson({ token_uri: tokenUri })))
      const error = yield* authError(GoogleCredentials.serviceAccountToken(sa))
      expect(error.message).toBe("token endpoint answered 400: INVALID_ARGUMENT: Invalid assertion <redacted>")
      expect(shown(error)).not.toContain("eyJ")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  // Scrubbed before it is clipped: a cut never leaves a secret's head.
  it.scopedLive("a long description: 200 characters, no secret's head", () =>
    Effect.gen(function*() {
      const tokenUri = yield* replyingEndpoint((form) => [400, {
        error: "invalid_grant",
        error_description: `${"word ".repeat(38)}${form.get("refresh_token")} ${"tail ".repeat(100)}`
      }])
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: tokenUri })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(user))
      const description = error.message.replace("token endpoint answered 400: invalid_grant: ", "")
      expect(description.length).toBeLessThanOrEqual(200)
      expect(description.endsWith("…")).toBe(true)
      expect(shown(error)).not.toContain("SECRET")
      expect(shown(error)).not.toContain("SECR")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scopedLive("an access_token with CR/LF is refused, final", () =>
    Effect.gen(function*() {
      const tokenUri = yield* replyingEndpoint(() => [200, { access_token: "ya29.a\r\nx-evil: 1", expires_in: 3599 }])
      const user = asAuthorizedUser(parse(authorizedUserJson({ token_uri: tokenUri })))
      const error = yield* authError(GoogleCredentials.authorizedUserToken(user))
      expect(error.retryable).toBe(false)
      expect(error.message).toBe("token endpoint answered 200 with an access_token that cannot go in a header")
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  // Secrets the request did not hold, by their shape; the words around them stay.
  it("scrub removes token-shaped text, keeps the words", () => {
    const text = "Token has been expired or revoked. Got ya29.a0AfH6SMBx-1 and 1//0gXyZ-refresh, " +
      "key=AIzaSyD4x, jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln, blob Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MA, " +
      "for live-test@my-project.iam.gserviceaccount.com"
    expect(GoogleCredentials.scrub(text, [])).toBe(
      "Token has been expired or revoked. Got <redacted> and <redacted>, key=<redacted>, jwt <redacted>, " +
        "blob <redacted>, for live-test@my-project.iam.gserviceaccount.com"
    )
    expect(GoogleCredentials.scrub("client s is wrong: s", ["s"])).toBe("client <redacted> is wrong: <redacted>")
    expect(GoogleCredentials.scrub("x".repeat(300), []).length).toBe(200)
  })
})

// -----------------------------------------------------------------------------
// Caching
// -----------------------------------------------------------------------------

const hour = 3_600_000

/** A fake token fetch: counts its calls, takes `latency`, and lives `lifetime` ms. */
const fakeFetch = (options: { latency?: Duration.DurationInput; lifetime?: number; failFirst?: boolean } = {}) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make(0)
    const fetch = Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(calls, (k) => k + 1)
      if (options.latency !== undefined) yield* Effect.sleep(options.latency)
      if (options.failFirst === true && n === 1) {
        return yield* Effect.fail("refused" as const)
      }
      const now = yield* Clock.currentTimeMillis
      return { token: Redacted.make(`token-${n}`), expiresAt: now + (options.lifetime ?? hour) }
    })
    return { calls: Ref.get(calls), fetch }
  })

const value = <E, R>(token: Effect.Effect<Redacted.Redacted<string>, E, R>) => Effect.map(token, Redacted.value)

describe("makeTokenSource", () => {
  it.effect("reuses the token until refreshMargin before expiry", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* fakeFetch()
      const token = value(yield* GoogleCredentials.makeTokenSource(fetch))
      expect(yield* calls).toBe(0)
      expect(yield* token).toBe("token-1")
      expect(yield* token).toBe("token-1")
      expect(yield* calls).toBe(1)

      yield* TestClock.adjust("54 minutes")
      yield* TestClock.adjust("59 seconds")
      expect(yield* token).toBe("token-1")
      expect(yield* calls).toBe(1)

      yield* TestClock.adjust("1 second") // 55 minutes: expiresAt - 5 minutes
      expect(yield* token).toBe("token-2")
      expect(yield* token).toBe("token-2")
      expect(yield* calls).toBe(2)
    }))

  it.effect("honours refreshMargin, at most half a short token's lifetime", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* fakeFetch()
      const token = value(yield* GoogleCredentials.makeTokenSource(fetch, { refreshMargin: "1 minute" }))
      yield* token
      yield* TestClock.adjust("58 minutes")
      yield* token
      expect(yield* calls).toBe(1)
      yield* TestClock.adjust("1 minute")
      expect(yield* token).toBe("token-2")

      const short = yield* fakeFetch({ lifetime: 60_000 })
      const shortToken = value(yield* GoogleCredentials.makeTokenSource(short.fetch))
      yield* shortToken
      yield* TestClock.adjust("29 seconds")
      yield* shortToken
      expect(yield* short.calls).toBe(1)
      yield* TestClock.adjust("1 second")
      expect(yield* shortToken).toBe("token-2")
    }))

  // Both on first use and on refresh.
  it.effect("10 concurrent callers share one request", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* fakeFetch({ latency: "1 second" })
      const token = value(yield* GoogleCredentials.makeTokenSource(fetch))
      const tenCallers = Effect.all(Array.from({ length: 10 }, () => token), { concurrency: "unbounded" })

      const first = yield* Effect.fork(tenCallers)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(first)).toEqual(Array.from({ length: 10 }, () => "token-1"))
      expect(yield* calls).toBe(1)

      yield* TestClock.adjust("56 minutes")
      const second = yield* Effect.fork(tenCallers)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(second)).toEqual(Array.from({ length: 10 }, () => "token-2"))
      expect(yield* calls).toBe(2)
    }))

  // The call after it starts a new request.
  it.effect("a failed refresh is not cached; every waiter sees it", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* fakeFetch({ latency: "1 second", failFirst: true })
      const token = value(yield* GoogleCredentials.makeTokenSource(fetch))
      const waiters = yield* Effect.fork(
        Effect.all(Array.from({ length: 3 }, () => Effect.either(token)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(waiters)).toEqual(Array.from({ length: 3 }, () => Either.left("refused")))
      expect(yield* calls).toBe(1)

      const retry = yield* Effect.fork(token)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(retry)).toBe("token-2")
      expect(yield* calls).toBe(2)
    }))

  // One of the waiters becomes the new owner and starts a request.
  it.effect("a waiter whose refresh owner is interrupted asks again", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* fakeFetch({ latency: "1 second" })
      const token = value(yield* GoogleCredentials.makeTokenSource(fetch))
      const owner = yield* Effect.fork(token)
      yield* TestClock.adjust("100 millis")
      const waiter = yield* Effect.fork(token)
      yield* TestClock.adjust("100 millis")
      yield* Fiber.interrupt(owner)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(waiter)).toBe("token-2")
      expect(yield* calls).toBe(2)
    }))
})
