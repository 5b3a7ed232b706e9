/**
 * Checks of what callers pass to the encoders, before anything is built: any value (`null`, a
 * number, an object of the wrong shape) gives a description and the path of the field at fault,
 * never a throw. Content and media as the protocol takes them; base64 checked in one pass.
 */

/** What is wrong, and where (a path such as `audio.data`, `turns[1].parts[0].text`; `""` for the whole input). */
export interface Fault {
  readonly path: string
  readonly description: string
}

const fault = (path: string, description: string): Fault => ({ path, description })

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array

/** A JSON object (not null, a list, or bytes). */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !isBytes(value)

/** What a value is, in a word or two (never the value: it may be large, or private). */
export const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "a list" : isBytes(value) ? "bytes" : typeof value

const at = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)

// -----------------------------------------------------------------------------
// base64
// -----------------------------------------------------------------------------

/** Base64, standard and URL-safe (proto3 JSON takes both), padded or not: a regex is twice as fast as a loop. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/** The number of bytes `data` holds if it is base64, else -1 (no decoding). */
export const base64Bytes = (data: string): number => {
  if (!BASE64.test(data)) return -1
  let length = data.length
  while (length > 0 && data.charCodeAt(length - 1) === 61) length-- // "="
  if (length % 4 === 1 || (length < data.length && data.length % 4 !== 0)) return -1
  return Math.floor((length * 3) / 4)
}

// -----------------------------------------------------------------------------
// Media
// -----------------------------------------------------------------------------

/** Raw PCM16 (`audio/pcm`, any rate): whole samples only. */
const isPcm16 = (mimeType: string): boolean => /^audio\/pcm\s*(;|$)/i.test(mimeType)

/**
 * A `MediaInput` at `path`: an object with a string `mimeType` (starting with `prefix`, when given)
 * and `data` as base64 or bytes; PCM16 of whole samples.
 */
export const checkMedia = (media: unknown, path: string, prefix?: string, kind?: string): Fault | undefined => {
  if (!isObject(media)) return fault(path, `must be an object with data and mimeType, not ${kindOf(media)}`)
  const mimeType = media.mimeType
  if (typeof mimeType !== "string") return fault(at(path, "mimeType"), `must be a string, not ${kindOf(mimeType)}`)
  if (prefix !== undefined && !mimeType.startsWith(prefix)) {
    return fault(at(path, "mimeType"), `unsupported MIME type for ${kind}: ${mimeType.slice(0, 60)}`)
  }
  const data = media.data
  let bytes: number
  if (typeof data === "string") {
    bytes = base64Bytes(data)
    if (bytes < 0) return fault(at(path, "data"), "must be base64 (or bytes)")
  } else if (isBytes(data)) {
    bytes = data.byteLength
  } else {
    return fault(at(path, "data"), `must be base64 or bytes, not ${kindOf(data)}`)
  }
  if ((bytes & 1) === 1 && isPcm16(mimeType)) {
    return fault(at(path, "data"), "PCM16 audio must be whole samples (an even number of bytes)")
  }
  return undefined
}

// -----------------------------------------------------------------------------
// Content
// -----------------------------------------------------------------------------

const checkObjectField = (value: unknown, path: string): Fault | undefined =>
  value === undefined || isObject(value) ? undefined : fault(path, `must be an object, not ${kindOf(value)}`)

const checkTyped = (value: unknown, type: "string" | "boolean", path: string): Fault | undefined =>
  value === undefined || typeof value === type ? undefined : fault(path, `must be a ${type}, not ${kindOf(value)}`)

/** A `Part` at `path`: its known fields of the protocol's types (unknown fields are the server's to judge). */
export const checkPart = (part: unknown, path: string): Fault | undefined => {
  if (!isObject(part)) return fault(path, `must be a string, a part or a Content, not ${kindOf(part)}`)
  if ("parts" in part) {
    return Array.isArray(part.parts)
      ? fault(path, "a Content cannot be a part: pass one Content, or a list of Contents as turns")
      : fault(at(path, "parts"), "must be a list of parts")
  }
  if ("role" in part) return fault(at(path, "parts"), "a Content needs a list of parts")
  const bad = checkTyped(part.text, "string", at(path, "text")) ??
    checkTyped(part.thought, "boolean", at(path, "thought")) ??
    (part.inlineData === undefined ? undefined : checkInlineData(part.inlineData, at(path, "inlineData"))) ??
    checkObjectField(part.functionCall, at(path, "functionCall")) ??
    checkObjectField(part.functionResponse, at(path, "functionResponse")) ??
    checkObjectField(part.executableCode, at(path, "executableCode")) ??
    checkObjectField(part.codeExecutionResult, at(path, "codeExecutionResult")) ??
    checkObjectField(part.fileData, at(path, "fileData"))
  if (bad !== undefined) return bad
  const call = part.functionCall as Record<string, unknown> | undefined
  if (call !== undefined && typeof call.name !== "string") return fault(at(path, "functionCall.name"), "must be a string")
  const response = part.functionResponse as Record<string, unknown> | undefined
  if (response !== undefined && typeof response.name !== "string") return fault(at(path, "functionResponse.name"), "must be a string")
  return undefined
}

/** A part's `inlineData`: a `Blob` (base64 `data`, as on the wire). */
const checkInlineData = (blob: unknown, path: string): Fault | undefined => {
  if (isObject(blob) && typeof blob.data !== "string") return fault(at(path, "data"), `must be base64, not ${kindOf(blob.data)}`)
  return checkMedia(blob, path)
}

/** A `Content` at `path`: an optional string `role` and a list of parts. */
const checkContent = (content: Record<string, unknown>, path: string): Fault | undefined => {
  const bad = checkTyped(content.role, "string", at(path, "role"))
  if (bad !== undefined) return bad
  const parts = content.parts as ReadonlyArray<unknown>
  for (let i = 0; i < parts.length; i++) {
    const wrong = checkPart(parts[i], `${at(path, "parts")}[${i}]`)
    if (wrong !== undefined) return wrong
  }
  return undefined
}

const isContent = (value: unknown): value is Record<string, unknown> => isObject(value) && Array.isArray(value.parts)

/**
 * A `ContentInput` (or `TurnsInput`, with `contents`: a list may hold Contents) at `path`: a string,
 * a part, a Content, or a list of them.
 */
export const checkContentInput = (input: unknown, path: string, contents: boolean): Fault | undefined => {
  if (typeof input === "string") return undefined
  if (isContent(input)) return checkContent(input, path)
  if (isObject(input)) return checkPart(input, path)
  if (!Array.isArray(input)) return fault(path, `must be a string, a part, a Content or a list of them, not ${kindOf(input)}`)
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i]
    const itemPath = `${path}[${i}]`
    const bad = typeof item === "string"
      ? undefined
      : contents && isContent(item)
      ? checkContent(item, itemPath)
      : checkPart(item, itemPath)
    if (bad !== undefined) return bad
  }
  return undefined
}
