/**
 * Who is calling: the credential of an upgrade request, checked as each backend checks it. Both
 * backends sit behind the same Google front end, which lets the WebSocket upgrade through and checks
 * the credential when the stream starts (the first message): a refusal is a close, never an HTTP
 * status.
 *
 * Gemini Developer API:
 * - `BidiGenerateContent` takes an API key, from the query (`key=`, as `@google/genai` sends it) or
 *   the `x-goog-api-key` header (as the Python SDK sends it).
 * - `BidiGenerateContentConstrained` takes an ephemeral token `auth_tokens/...`, from the query
 *   (`access_token=`) or the header `Authorization: Token auth_tokens/...` (`Bearer` is accepted too).
 * - A request without a credential for its method has no identity (1008); a key the emulator does not
 *   accept is invalid (1007, the INVALID_ARGUMENT of the real service).
 *
 * Vertex AI:
 * - An OAuth2 access token in `Authorization: Bearer <token>` (as both SDKs send it; `access_token=`
 *   in the query is read too, as Google's front end reads it), or, in Express mode, an API key in
 *   `x-goog-api-key` (or `key=`). A Bearer token wins over a key.
 * - No credential, or a token the emulator does not accept, is UNAUTHENTICATED: close 1008 with
 *   Google's message for it ("Request is missing required authentication credential. ..." /
 *   "Request had invalid authentication credentials. ..."); an `Authorization` header that is not
 *   `Bearer` is an invalid credential too. A key the emulator does not accept closes 1007, as on the
 *   Gemini API.
 */
import type { Route } from "./route.js"
import { type Rejection, rejection } from "./wire.js"

/** Which credentials the emulator accepts. */
export interface AuthPolicy {
  readonly isValidApiKey: (key: string) => boolean
  readonly isValidAuthToken: (token: string) => boolean
  readonly isValidAccessToken: (token: string) => boolean
}

/** Seen in cookbook#821 when a token was sent to the method that wants a key. */
export const unregisteredCaller: Rejection = rejection(
  1008,
  "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."
)

/** Seen in js-genai#600. */
export const invalidApiKey: Rejection = rejection(1007, "API key not valid. Please pass a valid API key.")

/** Google's UNAUTHENTICATED message (the close code for it is inferred: 1008, a policy violation). */
export const invalidAuthToken: Rejection = rejection(
  1008,
  "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."
)

/** Google's UNAUTHENTICATED message for a request without any credential (CREDENTIALS_MISSING). */
export const missingCredential: Rejection = rejection(
  1008,
  "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential."
)

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value === "" ? undefined : value

const tokenFromAuthorization = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^(?:Token|Bearer)\s+(\S+)$/i.exec(header.trim())
  return match === null ? undefined : match[1]
}

const bearerToken = (header: string): string | undefined => {
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim())
  return match === null ? undefined : match[1]
}

const authenticateVertexAi = (
  query: Readonly<Record<string, string>>,
  headers: Readonly<Record<string, string>>,
  policy: AuthPolicy
): Rejection | undefined => {
  const authorization = nonEmpty(headers.authorization)
  if (authorization !== undefined) {
    const token = bearerToken(authorization)
    return token !== undefined && policy.isValidAccessToken(token) ? undefined : invalidAuthToken
  }
  const queryToken = nonEmpty(query.access_token)
  if (queryToken !== undefined) return policy.isValidAccessToken(queryToken) ? undefined : invalidAuthToken
  const key = nonEmpty(headers["x-goog-api-key"]) ?? nonEmpty(query.key)
  if (key === undefined) return missingCredential
  return policy.isValidApiKey(key) ? undefined : invalidApiKey
}

/** Checks the request's credential: `undefined` when the caller may go on, else the close to answer with. */
export const authenticate = (
  route: Route,
  query: Readonly<Record<string, string>>,
  headers: Readonly<Record<string, string>>,
  policy: AuthPolicy
): Rejection | undefined => {
  if (route.backend === "VertexAI") return authenticateVertexAi(query, headers, policy)
  if (route.method === "BidiGenerateContent") {
    const key = nonEmpty(query.key) ?? nonEmpty(headers["x-goog-api-key"])
    if (key === undefined) return unregisteredCaller
    return policy.isValidApiKey(key) ? undefined : invalidApiKey
  }
  const token = nonEmpty(query.access_token) ?? tokenFromAuthorization(headers.authorization)
  if (token === undefined) return unregisteredCaller
  return policy.isValidAuthToken(token) ? undefined : invalidAuthToken
}
