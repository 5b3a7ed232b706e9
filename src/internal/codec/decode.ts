/**
 * Server frames decoded: the frame's text, then the fast path (`fastPath.ts`) for the common
 * `serverContent` messages, else `JSON.parse` and the `ServerMessage` Schema, lenient: unknown
 * fields kept, an unknown kind an object with no known key, a field of the wrong type dropped
 * (`lenient.ts`) and reported, the rest of the message kept.
 */
import { isAscii } from "node:buffer"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ProtocolError } from "../../LiveError.js"
import type { ServerMessage } from "../../Protocol.js"
import type { Frame } from "../../Transport.js"
import { isCommonServerMessage, parseAudioMessage } from "./fastPath.js"
import { repairMessage } from "./lenient.js"

const textDecoder = new TextDecoder()

/** Called once per field dropped from a message (what it was, in a short `ProtocolError`). */
export type OnDropped = (error: ProtocolError) => void

/** The decoder of server frames for `schema` (`Protocol.ServerMessage`, which imports this module). */
export const serverMessageDecoder = (
  schema: typeof ServerMessage
): (frame: Frame, onDropped?: OnDropped) => Either.Either<ServerMessage, ProtocolError> => {
  const decodeMessage = Schema.decodeUnknownEither(schema, { onExcessProperty: "preserve", errors: "first" })
  /** The Schema refused the message: its bad fields dropped, then decoded again. */
  const decodeLeniently = (json: object, onDropped: OnDropped | undefined): Either.Either<ServerMessage, ProtocolError> => {
    const drops = repairMessage(schema.ast, json)
    const decoded = decodeMessage(json)
    if (Either.isLeft(decoded)) {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
      const at = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.map(String).join(".")}: `
      return Either.left(protocolError(`a server message does not match the protocol: ${at}${issue?.message ?? ""}`))
    }
    if (onDropped !== undefined) for (const drop of drops) onDropped(protocolError(`dropped from a server message: ${drop}`))
    return Either.right(decoded.right)
  }
  return (frame, onDropped) => {
    const text = typeof frame === "string" ? frame : frameText(frame)
    const audio = parseAudioMessage(text)
    if (audio !== undefined) return Either.right(audio)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Either.left(protocolError(`a frame is not JSON: ${preview(text)}`))
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return Either.left(protocolError(`a frame is not a JSON object: ${preview(text)}`))
    }
    if (isCommonServerMessage(json)) return Either.right(json)
    const decoded = decodeMessage(json)
    return Either.isRight(decoded) ? Either.right(decoded.right) : decodeLeniently(json, onDropped)
  }
}

/**
 * The UTF-8 text of a binary frame. An all-ASCII frame (model audio: JSON around base64) is read
 * as Latin-1, which gives the same text for less; `Buffer#toString` where it agrees with
 * `TextDecoder` (no BOM to drop), as it is faster.
 */
const frameText = (frame: Uint8Array): string => {
  if (!Buffer.isBuffer(frame)) return textDecoder.decode(frame)
  if (isAscii(frame)) return frame.toString("latin1")
  return frame[0] !== 0xef ? frame.toString("utf8") : textDecoder.decode(frame)
}

/** A short description: a path and what was expected and got, never the message (a schema dump, audio). */
const protocolError = (description: string) =>
  new ProtocolError({ module: "Protocol", method: "decodeServerMessage", description: preview(description, 300) })

const preview = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text)
