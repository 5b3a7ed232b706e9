/**
 * Where an upgrade request goes: the one place that knows the emulator's URL paths. A request target
 * (a raw `path?query`, or a full URL) is split into its path and query, and the path is matched
 * against the Live API endpoints of both backends: the Gemini Developer API and Vertex AI.
 */

/** Which service an endpoint belongs to (the strings of `ConnectionRecord.backend`). */
export type Backend = "GeminiAPI" | "VertexAI"

/** The Live API methods of the Gemini Developer API. */
export type GeminiApiMethod = "BidiGenerateContent" | "BidiGenerateContentConstrained"

/** A matched Live API endpoint of the Gemini Developer API. */
export interface GeminiApiRoute {
  readonly backend: "GeminiAPI"
  /** `v1`, `v1beta` or `v1alpha`. */
  readonly version: string
  readonly method: GeminiApiMethod
}

/** A matched Live API endpoint of Vertex AI (`LlmBidiService`). */
export interface VertexAiRoute {
  readonly backend: "VertexAI"
  /** `v1` or `v1beta1`. */
  readonly version: string
  readonly method: "BidiGenerateContent"
}

/** A matched Live API endpoint. */
export type Route = GeminiApiRoute | VertexAiRoute

/** The path and query of an upgrade request. */
export interface RequestTarget {
  readonly path: string
  readonly query: Readonly<Record<string, string>>
}

/**
 * One or two leading slashes: the documented endpoints have one, `@google/genai` sends two (it appends
 * `/ws/...` to a base URL that ends with `/`).
 */
const geminiApiPath =
  /^\/\/?ws\/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$/

/** Vertex AI names the method with a slash, not a dot: `LlmBidiService/BidiGenerateContent`. */
const vertexAiPath = /^\/\/?ws\/google\.cloud\.aiplatform\.(v1|v1beta1)\.LlmBidiService\/BidiGenerateContent$/

/** Matches a request path to a Live API endpoint, or `undefined` (answered with HTTP 404). */
export const matchRoute = (path: string): Route | undefined => {
  const gemini = geminiApiPath.exec(path)
  if (gemini !== null) {
    return { backend: "GeminiAPI", version: gemini[1], method: gemini[2] as GeminiApiMethod }
  }
  const vertex = vertexAiPath.exec(path)
  if (vertex !== null) {
    return { backend: "VertexAI", version: vertex[1], method: "BidiGenerateContent" }
  }
  return undefined
}

/**
 * Splits a request target. A raw target (`//ws/...?key=k`, as an HTTP server sees it) is not given to
 * `URL`, which would read `//ws` as a host name; a full URL (as the in-memory transport gets it) is.
 */
export const parseRequestTarget = (target: string): RequestTarget => {
  let pathAndQuery = target
  if (!target.startsWith("/")) {
    try {
      const url = new URL(target)
      pathAndQuery = url.pathname + url.search
    } catch {
      return { path: target, query: {} }
    }
  }
  const mark = pathAndQuery.indexOf("?")
  const path = mark === -1 ? pathAndQuery : pathAndQuery.slice(0, mark)
  const query: Record<string, string> = {}
  if (mark !== -1) {
    for (const [key, value] of new URLSearchParams(pathAndQuery.slice(mark + 1))) {
      if (!Object.hasOwn(query, key)) query[key] = value
    }
  }
  return { path, query }
}
