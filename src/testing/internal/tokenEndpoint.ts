/**
 * The emulator's OAuth2 token endpoint (`POST /token`, as `token_uri` of service-account and
 * authorized-user credentials): a JWT-bearer `assertion` or a `refresh_token` gets an access token
 * the emulator's Vertex AI endpoints accept. Signatures are not checked. Tests make it fail: the
 * next requests answered with an HTTP status, or never answered.
 */
import type * as Http from "node:http"
import { randomBytes } from "node:crypto"

/** The path of the endpoint on the emulator's HTTP server. */
export const tokenPath = "/token"

/** How the next token requests fail: an HTTP status, or no answer at all. */
export type TokenFailure = number | "hang"

/** The token endpoint of one emulator. */
export interface TokenEndpoint {
  /** Answers `request` if it is for the endpoint (`true`), else leaves it (`false`). */
  readonly handle: (request: Http.IncomingMessage, response: Http.ServerResponse) => boolean
  /** Whether the endpoint issued `token`. */
  readonly issued: (token: string) => boolean
  /** The next `count` requests fail with `failure`. */
  readonly fail: (count: number, failure: TokenFailure) => void
  /** How many token requests arrived. */
  readonly requests: () => number
}

/** The OAuth error code of a refusal with `status` (RFC 6749 5.2). */
const oauthError = (status: number): string =>
  status === 400 ? "invalid_grant" : status === 401 ? "invalid_client" : status < 500 ? "access_denied" : "server_error"

const json = (response: Http.ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body))
}

const grants = (form: URLSearchParams): boolean => {
  const grant = form.get("grant_type")
  if (grant === "refresh_token") return (form.get("refresh_token") ?? "") !== ""
  return grant === "urn:ietf:params:oauth:grant-type:jwt-bearer" && (form.get("assertion") ?? "").split(".").length === 3
}

/** Makes the endpoint; its tokens live `expiresIn` seconds as far as the client is told. */
export const makeTokenEndpoint = (expiresIn = 3599): TokenEndpoint => {
  const tokens = new Set<string>()
  const failures: Array<TokenFailure> = []
  let requests = 0

  const answer = (request: Http.IncomingMessage, response: Http.ServerResponse, body: string) => {
    const failure = failures.shift()
    // A hang: the request stays open until the client gives up or the emulator stops.
    if (failure === "hang") return
    if (failure !== undefined) {
      return json(response, failure, { error: oauthError(failure), error_description: `HTTP ${failure}` })
    }
    if (request.method !== "POST") return json(response, 405, { error: "invalid_request" })
    if (!grants(new URLSearchParams(body))) {
      return json(response, 400, { error: "invalid_grant", error_description: "Bad Request" })
    }
    const token = `ya29.emulator-${randomBytes(12).toString("base64url")}`
    tokens.add(token)
    json(response, 200, { access_token: token, expires_in: expiresIn, token_type: "Bearer" })
  }

  return {
    handle: (request, response) => {
      if ((request.url ?? "").split("?")[0] !== tokenPath) return false
      requests++
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => answer(request, response, Buffer.concat(chunks).toString("utf8")))
      return true
    },
    issued: (token) => tokens.has(token),
    fail: (count, failure) => {
      for (let i = 0; i < count; i++) failures.push(failure)
    },
    requests: () => requests
  }
}
