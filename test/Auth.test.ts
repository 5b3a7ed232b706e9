import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Redacted, Ref, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Auth } from "../src/index.js"
import { authorizedUserJson, endpoint, serviceAccountJson, TokenServer } from "./support/googleTokenEndpoint.js"

const credentialsOf = <E>(layer: Layer.Layer<Auth.Auth, E>) =>
  Effect.flatMap(Auth.Auth, (auth) => auth.credentials).pipe(Effect.provide(layer))

describe("Auth", () => {
  it.effect("apiKey detects ephemeral tokens by their prefix", () =>
    Effect.gen(function*() {
      expect((yield* credentialsOf(Auth.apiKey("AIza-key")))._tag).toBe("ApiKey")
      expect((yield* credentialsOf(Auth.apiKey("auth_tokens/t")))._tag).toBe("EphemeralToken")
      expect((yield* credentialsOf(Auth.ephemeralToken("auth_tokens/t")))._tag).toBe("EphemeralToken")
    }))

  it.effect("accessToken caches the token and shares it between connects", () =>
    Effect.gen(function*() {
      const fetches = yield* Ref.make(0)
      const layer = Auth.accessToken(
        Effect.as(Ref.update(fetches, (n) => n + 1), { token: Redacted.make("ya29.mine"), expiresAt: Date.now() + 3_600_000 })
      )
      const auth = yield* Effect.provide(Auth.Auth, layer)
      const [a, b] = yield* Effect.all([auth.credentials, auth.credentials], { concurrency: "unbounded" })
      expect(a).toEqual({ _tag: "AccessToken", token: Redacted.make("ya29.mine") })
      expect(a._tag === "AccessToken" && Redacted.value(a.token)).toBe("ya29.mine")
      expect(b).toEqual(a)
      expect(yield* Ref.get(fetches)).toBe(1)
    }))

  it.effect("accessToken: a bare token is asked for at every connect", () =>
    Effect.gen(function*() {
      const fetches = yield* Ref.make(0)
      const layer = Auth.accessToken(Effect.as(Ref.update(fetches, (n) => n + 1), Redacted.make("ya29.bare")))
      const auth = yield* Effect.provide(Auth.Auth, layer)
      const first = yield* auth.credentials
      yield* auth.credentials
      expect(first._tag === "AccessToken" && Redacted.value(first.token)).toBe("ya29.bare")
      expect(yield* Ref.get(fetches)).toBe(2)
    }))

  // Against the token endpoint, for a service_account file.
  it.live("fromCredentials runs the service-account flow", () =>
    Effect.gen(function*() {
      const tokenUri = yield* endpoint("/token")
      const credentials = yield* credentialsOf(Auth.fromCredentials(serviceAccountJson({ token_uri: tokenUri })))
      expect(credentials._tag).toBe("AccessToken")
      expect(credentials._tag === "AccessToken" && Redacted.value(credentials.token)).toBe("ya29.service-account-token")
    }).pipe(Effect.provide(TokenServer)))

  it.effect.each([
    ["not json", "credentials are not JSON"],
    [JSON.stringify({ type: "external_account" }), `unknown credential type "external_account"`],
    [JSON.stringify({ type: "service_account", client_email: "a@b", private_key: "SECRET-KEY-XYZ" }), "private_key is not a valid PEM private key"]
  ])("fromCredentials refuses %s with an AuthError naming why", ([content, problem]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(credentialsOf(Auth.fromCredentials(content)))
      expect(error._tag).toBe("AuthError")
      expect(error.message).toContain(problem)
      expect(error.retryable).toBe(false)
      expect(JSON.stringify(error) + error.message).not.toContain("SECRET-KEY-XYZ")
    }))

  it.effect("serviceAccount refuses another type of file", () =>
    Effect.gen(function*() {
      const user = JSON.stringify({ type: "authorized_user", client_id: "c", client_secret: "s", refresh_token: "r" })
      const error = yield* Effect.flip(credentialsOf(Auth.serviceAccount(user)))
      expect(error.message).toContain("expected a service_account credential file")
    }))

  it.effect("accessToken: a token with CR/LF is refused, final", () =>
    Effect.gen(function*() {
      const layer = Auth.accessToken(Effect.succeed(Redacted.make("ya29.x\r\nx-evil: 1")))
      const error = yield* Effect.flip(credentialsOf(layer))
      expect(error).toMatchObject({ _tag: "AuthError", retryable: false })
      expect(error.message).not.toContain("ya29")
    }))

  // Otherwise a connect would wait for ever.
  it.effect("accessToken: a hanging source fails at 10 s", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(credentialsOf(Auth.accessToken(Effect.never)))
      yield* TestClock.adjust("9999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "AuthError", retryable: true })
      expect(error.message).toBe("the token source did not answer within 10s")
    }))
})

// -----------------------------------------------------------------------------
// Token endpoint failures: final (4xx) or retryable (5xx, timeout), never retried here
// -----------------------------------------------------------------------------

/** A token endpoint of the test's own: answers `reply()` (never, when undefined) and counts requests. */
const stubEndpoint = (reply: (request: number) => readonly [status: number, body: unknown] | undefined) =>
  Effect.gen(function*() {
    const received = yield* Deferred.make<void>()
    let requests = 0
    const server = Http.createServer((request, response) => {
      const answer = reply(++requests)
      Deferred.unsafeDone(received, Exit.void)
      request.resume().on("end", () => {
        if (answer !== undefined) {
          response.writeHead(answer[0], { "content-type": "application/json" }).end(JSON.stringify(answer[1]))
        }
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)).closeAllConnections())
    )
    const { port } = server.address() as AddressInfo
    return { tokenUri: `http://127.0.0.1:${port}/token`, requests: () => requests, received: Deferred.await(received) }
  })

const authOf = (layer: Layer.Layer<Auth.Auth, unknown>) => Effect.provide(Auth.Auth, layer)

describe("Auth token endpoint failures", () => {
  // Concurrent connects share the one request and its failure.
  it.scopedLive("a 401 is final: one request, retryable false", () =>
    Effect.gen(function*() {
      const stub = yield* stubEndpoint(() => [401, { error: "unauthorized_client", error_description: "Unauthorized" }])
      const auth = yield* authOf(Auth.fromCredentials(serviceAccountJson({ token_uri: stub.tokenUri })))
      const errors = yield* Effect.all(Array.from({ length: 3 }, () => Effect.flip(auth.credentials)), {
        concurrency: "unbounded"
      })
      for (const error of errors) {
        expect(error).toMatchObject({ _tag: "AuthError", retryable: false })
        expect(error.message).toBe("token endpoint answered 401: unauthorized_client: Unauthorized")
      }
      expect(stub.requests()).toBe(1)
    }))

  it.scopedLive("a 400 invalid_grant is final: one request", () =>
    Effect.gen(function*() {
      const stub = yield* stubEndpoint(() => [400, { error: "invalid_grant", error_description: "Token has been expired or revoked." }])
      const auth = yield* authOf(Auth.authorizedUser(authorizedUserJson({ token_uri: stub.tokenUri })))
      const error = yield* Effect.flip(auth.credentials)
      expect(error.retryable).toBe(false)
      expect(error.message).toBe("token endpoint answered 400: invalid_grant: Token has been expired or revoked.")
      expect(stub.requests()).toBe(1)
    }))

  // Not cached: the caller's next try asks again.
  it.scopedLive("a 500 is retryable; the next connect asks again", () =>
    Effect.gen(function*() {
      const stub = yield* stubEndpoint((n) =>
        n === 1 ? [500, { error: "internal_failure" }] : [200, { access_token: "ya29.second", expires_in: 3599 }]
      )
      const auth = yield* authOf(Auth.authorizedUser(authorizedUserJson({ token_uri: stub.tokenUri })))
      const error = yield* Effect.flip(auth.credentials)
      expect(error).toMatchObject({ _tag: "AuthError", retryable: true })
      expect(error.message).toBe("token endpoint answered 500: internal_failure")
      expect(stub.requests()).toBe(1)
      const credentials = yield* auth.credentials
      expect(credentials._tag === "AccessToken" && Redacted.value(credentials.token)).toBe("ya29.second")
      expect(stub.requests()).toBe(2)
    }))

  it.scopedLive("a hanging endpoint fails at the timeout option", () =>
    Effect.gen(function*() {
      const stub = yield* stubEndpoint(() => undefined)
      const auth = yield* authOf(Auth.fromCredentials(serviceAccountJson({ token_uri: stub.tokenUri }), { timeout: "300 millis" }))
      const started = Date.now()
      const error = yield* Effect.flip(auth.credentials)
      expect(Date.now() - started).toBeLessThan(2000)
      expect(error).toMatchObject({ _tag: "AuthError", retryable: true })
      expect(error.message).toBe("token request timed out after 300ms")
      expect(stub.requests()).toBe(1)
    }))

  it.scoped("a hanging endpoint fails at 10 s by default", () =>
    Effect.gen(function*() {
      const stub = yield* stubEndpoint(() => undefined)
      const auth = yield* authOf(Auth.authorizedUser(authorizedUserJson({ token_uri: stub.tokenUri })))
      const fiber = yield* Effect.fork(auth.credentials)
      yield* stub.received
      yield* TestClock.adjust("9999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "AuthError", retryable: true })
      expect(error.message).toBe("token request timed out after 10s")
    }))
})
