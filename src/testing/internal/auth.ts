/**
 * Who is calling: the credential of an upgrade request, checked as each backend checks it when the
 * stream starts (the first message), so a refusal is a close, never an HTTP status.
 *
 * - Gemini API: `BidiGenerateContent` takes an API key (`key=`, or `x-goog-api-key`);
 *   `BidiGenerateContentConstrained` an ephemeral token (`access_token=`, or `Authorization: Token`
 *   or `Bearer`). No credential for the method closes 1008, a refused key 1007, a refused token 1008.
 * - Vertex AI: an OAuth2 access token (`Authorization: Bearer`, or `access_token=`), else in Express
 *   mode an API key (`x-goog-api-key` or `key=`). No credential, a refused token or a non-Bearer
 *   `Authorization` is UNAUTHENTICATED (1008); a refused key closes 1007.
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
