/**
 * The emulator's side of the wire format: how server messages are written, how client frames are
 * read (proto3 JSON: every field by its lowerCamel or its snake_case name), and the close reasons
 * the real service uses.
 */
import type { Frame } from "../../Transport.js"

/** A close the session ends with: a WebSocket close code and its reason. */
export interface Rejection {
  readonly code: number
  readonly reason: string
}

/** RFC 6455 limits a close reason to 123 bytes; the real service cuts longer reasons there. */
const maxCloseReasonBytes = 123

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * Cuts a close reason to 123 UTF-8 bytes without splitting a character (`ws` refuses longer reasons).
 */
export const truncateCloseReason = (reason: string): string => {
  if (encoder.encode(reason).length <= maxCloseReasonBytes) return reason
  let bytes = 0
  let end = 0
  for (const char of reason) {
    const size = encoder.encode(char).length
    if (bytes + size > maxCloseReasonBytes) break
    bytes += size
    end += char.length
  }
  return reason.slice(0, end)
}

/** A close with the reason cut to the RFC 6455 limit. */
export const rejection = (code: number, reason: string): Rejection => ({ code, reason: truncateCloseReason(reason) })

/** 1007: a well-formed message the service cannot accept. */
export const invalidArgument: Rejection = rejection(1007, "Request contains an invalid argument.")

/** 1007: a frame that is not a JSON object. */
export const invalidJson: Rejection = rejection(1007, "Invalid JSON payload received. Unexpected token.")

/** 1007: a field the message type does not have (`at` is the proto path of the enclosing message). */
export const unknownField = (name: string, at?: string): Rejection =>
  rejection(
    1007,
    at === undefined
      ? `Invalid JSON payload received. Unknown name "${name}": Cannot find field.`
      : `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`
  )

/**
 * 1007: a `sessionResumption.handle` the emulator did not issue, that has expired, or that the
 * emulator's `acceptResumptionHandle` refused (INVALID_ARGUMENT: a client must not retry with it).
 */
export const invalidResumptionHandle: Rejection = rejection(1007, "Invalid session resumption handle.")

/** 1011: the connection reached its time limit (after `goAway`), as observed on the real service. */
export const deadlineExpired: Rejection = rejection(1011, "Deadline expired before operation could complete.")

/**
 * A duration in proto3 JSON (`google.protobuf.Duration`): seconds with 0, 3, 6 or 9 fractional
 * digits and a final `s`, e.g. `"50s"`, `"0.500s"`, `"1.000250s"`. The duration must be finite.
 */
export const protoDuration = (nanos: bigint): string => {
  const seconds = nanos / 1_000_000_000n
  const fraction = nanos % 1_000_000_000n
  if (fraction === 0n) return `${seconds}s`
  const digits = fraction.toString().padStart(9, "0")
  const kept = fraction % 1_000_000n === 0n ? 3 : fraction % 1_000n === 0n ? 6 : 9
  return `${seconds}.${digits.slice(0, kept)}s`
}

/**
 * Every server message is a BINARY frame holding the message as JSON pretty-printed with two spaces,
 * plus a final newline (byte-exact with the recorded traffic, e.g. `{\n  "setupComplete": {}\n}\n`).
 */
export const encodeServerMessage = (message: unknown): Uint8Array =>
  encoder.encode(JSON.stringify(message, null, 2) + "\n")

/** Parses a client frame (text, or UTF-8 JSON in a binary frame); `undefined` if it is not JSON. */
export const parseClientFrame = (frame: Frame): { readonly value: unknown } | undefined => {
  try {
    const text = typeof frame === "string" ? frame : decoder.decode(frame)
    return { value: JSON.parse(text) as unknown }
  } catch {
    return undefined
  }
}

/** A JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>

/** Whether a JSON value is an object (not an array, not null). */
export const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `generationConfig` -> `generation_config`. */
export const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())

/** `generation_config` -> `generationConfig`. */
export const camelCase = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/**
 * Reads a message field by its lowerCamel name or its snake_case name, as a proto3 JSON parser does.
 * A `null` reads as absent. (Only message fields: the keys inside a `Struct` or a map are data and
 * are read as they are.)
 */
export const field = (value: unknown, name: string): unknown => {
  if (!isObject(value)) return undefined
  const camel = value[name]
  const found = camel !== undefined && camel !== null ? camel : value[snakeCase(name)]
  return found === null ? undefined : found
}

/** A field that must be an object, or `undefined`. */
export const objectField = (value: unknown, name: string): JsonObject | undefined => {
  const found = field(value, name)
  return isObject(found) ? found : undefined
}

/** A field that must be a string, or `undefined`. */
export const stringField = (value: unknown, name: string): string | undefined => {
  const found = field(value, name)
  return typeof found === "string" ? found : undefined
}

/** A field that must be an array, or `[]`. */
export const arrayField = (value: unknown, name: string): ReadonlyArray<unknown> => {
  const found = field(value, name)
  return Array.isArray(found) ? found : []
}

/** A boolean field; proto3 JSON also accepts the strings "true" and "false". */
export const booleanField = (value: unknown, name: string): boolean => {
  const found = field(value, name)
  return found === true || found === "true"
}

/** A numeric field; proto3 JSON also accepts numbers written as strings (int64). */
export const numberField = (value: unknown, name: string): number | undefined => {
  const found = field(value, name)
  const parsed = typeof found === "string" && found.trim() !== "" ? Number(found) : found
  return typeof parsed === "number" && Number.isFinite(parsed) ? parsed : undefined
}
