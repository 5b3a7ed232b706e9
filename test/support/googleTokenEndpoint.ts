/**
 * Test support: Google credential files made from keys generated here, and a local OAuth2 token
 * endpoint that verifies what Google's verifies (the JWT-bearer assertion's claims and RS256
 * signature, the refresh-token form).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as Http from "node:http"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

const rsaKeyPair = () =>
  crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" }
  })

/** The key the token endpoint trusts. */
export const trusted = rsaKeyPair()
/** A key it does not know: its signatures do not verify. */
export const stranger = rsaKeyPair()

export const clientEmail = "live-test@my-project.iam.gserviceaccount.com"
export const clientSecret = "SECRET-client-secret-7f3a9"
export const refreshToken = "SECRET-refresh-token-1//0e4b"

export const serviceAccountJson = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    type: "service_account",
    project_id: "my-project",
    private_key_id: "test-key-id",
    private_key: trusted.privateKey,
    client_email: clientEmail,
    client_id: "1234567890",
    ...fields
  })

export const authorizedUserJson = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    type: "authorized_user",
    client_id: "client-123.apps.googleusercontent.com",
    client_secret: clientSecret,
    refresh_token: refreshToken,
    ...fields
  })

// -----------------------------------------------------------------------------
// A local token endpoint
// -----------------------------------------------------------------------------

const decodeSegment = (segment: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segment, "base64url").toString("utf8"))

type Refusal = { readonly error: string; readonly description: string }

/** Checks a JWT-bearer request as Google does; `undefined` when everything holds. */
const checkAssertion = (form: URLSearchParams, tokenUri: string): Refusal | undefined => {
  const invalid = (description: string) => ({ error: "invalid_request", description })
  if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return invalid("grant_type")
  const parts = (form.get("assertion") ?? "").split(".")
  if (parts.length !== 3) return invalid("assertion is not a JWT")
  const [h, c, s] = parts as [string, string, string]
  const header = decodeSegment(h)
  const claims = decodeSegment(c)
  if (header.alg !== "RS256" || header.typ !== "JWT" || header.kid !== "test-key-id") {
    return invalid(`header ${JSON.stringify(header)}`)
  }
  if (claims.iss !== clientEmail) return invalid("iss")
  if (claims.aud !== tokenUri) return invalid(`aud ${String(claims.aud)} is not ${tokenUri}`)
  if (claims.scope !== "https://www.googleapis.com/auth/cloud-platform") return invalid("scope")
  if (typeof claims.iat !== "number" || typeof claims.exp !== "number") return invalid("iat/exp")
  if (claims.exp - claims.iat !== 3600) return invalid("exp - iat is not 3600")
  if (Math.abs(claims.iat - Date.now() / 1000) > 60) return invalid("iat is not now")
  const verified = crypto.verify("RSA-SHA256", Buffer.from(`${h}.${c}`), trusted.publicKey, Buffer.from(s, "base64url"))
  return verified ? undefined : { error: "invalid_grant", description: "Invalid JWT Signature." }
}

const tokenEndpoint = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const form = new URLSearchParams(yield* request.text)
  const tokenUri = `http://${request.headers["host"]}${request.url}`
  const granted = (token: string) =>
    HttpServerResponse.unsafeJson({ access_token: token, expires_in: 3599, token_type: "Bearer" })
  switch (request.url) {
    case "/token": {
      const failure = checkAssertion(form, tokenUri)
      return failure === undefined
        ? granted("ya29.service-account-token")
        : HttpServerResponse.unsafeJson(
          { error: failure.error, error_description: failure.description },
          { status: 400 }
        )
    }
    case "/user": {
      const ok = form.get("grant_type") === "refresh_token" &&
        form.get("client_id") === "client-123.apps.googleusercontent.com" &&
        form.get("client_secret") === clientSecret &&
        form.get("refresh_token") === refreshToken
      return ok
        ? granted("ya29.user-token")
        : HttpServerResponse.unsafeJson({ error: "invalid_grant", error_description: "Bad Request" }, { status: 400 })
    }
    case "/unavailable":
      return HttpServerResponse.unsafeJson(
        { error: { code: 503, message: "The service is currently unavailable.", status: "UNAVAILABLE" } },
        { status: 503 }
      )
    case "/throttled":
      return HttpServerResponse.unsafeJson({ error: "rate_limited" }, { status: 429 })
    case "/echo":
      // A misbehaving endpoint that echoes the request (secrets included) in a non-JSON body.
      return HttpServerResponse.text(`<html>bad request: ${form.toString()}</html>`, { status: 400 })
    case "/no-token":
      return HttpServerResponse.unsafeJson({ token_type: "Bearer", expires_in: 3599 })
    case "/slow":
      return yield* Effect.as(Effect.sleep("3 seconds"), granted("ya29.too-late"))
    default:
      return HttpServerResponse.empty({ status: 404 })
  }
})

export const TokenServer = Layer.mergeAll(
  HttpServer.serve()(tokenEndpoint).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
  ),
  FetchHttpClient.layer
)

export const endpoint = (path: string) =>
  HttpServer.addressWith((address) =>
    Effect.succeed(address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}${path}` : "")
  )

