/**
 * Server frames decoded: the frame's text, then the fast path (`fastPath.ts`) for the common
 * `serverContent` messages, else `JSON.parse` and the `ServerMessage` Schema, lenient: unknown
 * fields kept, an unknown kind an object with no known key.
 */
import { isAscii } from "node:buffer"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ProtocolError } from "../../LiveError.js"
import type { ServerMessage } from "../../Protocol.js"
import type { Frame } from "../../Transport.js"
import { isCommonServerMessage, parseAudioMessage } from "./fastPath.js"

const textDecoder = new TextDecoder()

/** The decoder of server frames for `schema` (`Protocol.ServerMessage`, which imports this module). */
export const serverMessageDecoder = (
  schema: typeof ServerMessage
): (frame: Frame) => Either.Either<ServerMessage, ProtocolError> => {
  const decodeMessage = Schema.decodeUnknownEither(schema, { onExcessProperty: "preserve", errors: "first" })
  return (frame) => {
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
    return Either.mapLeft(
      decodeMessage(json),
      (error) => protocolError(`a server message does not match the protocol: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)
    )
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

const protocolError = (description: string) =>
  new ProtocolError({ module: "Protocol", method: "decodeServerMessage", description })

const preview = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text)
