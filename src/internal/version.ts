/** The library's version, sent in the `x-goog-api-client` header. Keep in step with package.json. */
export const version = "0.1.0"

/** The client label of every connection, as Google's SDKs label theirs. */
export const clientLabel = `effect-gemini-live/${version} gl-node/${typeof process === "undefined" ? "unknown" : process.version}`
