import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Ref } from "effect"
import { Auth } from "../src/index.js"
import { endpoint, serviceAccountJson, TokenServer } from "./support/googleTokenEndpoint.js"

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
})
