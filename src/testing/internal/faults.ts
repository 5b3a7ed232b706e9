/**
 * Faults below the WebSocket: what a session does to its TCP socket (stop reading it, cut a frame
 * in half), and the frames of the faulty messages (oversized, truncated, schema-drifted). The
 * in-memory face has no bytes: there a stall only stops reading, and a drop mid-frame is a drop.
 */
import * as Effect from "effect/Effect"
import type { Duplex } from "node:stream"
import type { Connection } from "../../Transport.js"
import { synthesizeSpeech } from "./speechSynthesis.js"
import { encodeServerMessage } from "./wire.js"

/** What a session may do to its connection below the WebSocket protocol. */
export interface ConnectionFaults {
  /**
   * Stops reading: nothing the peer sends is handled (no frame, no ping, no close frame). With
   * `pause`, the socket is not read at all (the peer's send buffer fills); otherwise the bytes are
   * read and discarded (the emulator still notices the peer going away).
   */
  readonly stopReading: (pause: boolean) => Effect.Effect<void>
  /** Writes the first half of a binary frame holding `payload`, then destroys the socket. */
  readonly dropMidFrame: (payload: Uint8Array) => Effect.Effect<void>
}

/** The faults of a connection with no socket beneath: a drop mid-frame is a drop. */
export const memoryFaults = (connection: Connection): ConnectionFaults => ({
  stopReading: () => Effect.void,
  dropMidFrame: () => connection.terminate
})

/** The header of an unmasked, final binary frame (RFC 6455 5.2) of `length` bytes. */
const frameHeader = (length: number): Buffer => {
  if (length < 126) return Buffer.from([0x82, length])
  if (length < 65536) {
    const header = Buffer.from([0x82, 126, 0, 0])
    header.writeUInt16BE(length, 2)
    return header
  }
  const header = Buffer.alloc(10)
  header[0] = 0x82
  header[1] = 127
  header.writeBigUInt64BE(BigInt(length), 2)
  return header
}

/**
 * The faults of a socket the `ws` server serves. `stalled()` says whether it stopped reading (its
 * session's end then destroys the socket: no close handshake can complete).
 */
export const socketFaults = (socket: Duplex): ConnectionFaults & { readonly stalled: () => boolean } => {
  let stalled = false
  return {
    stalled: () => stalled,
    stopReading: (pause) =>
      Effect.sync(() => {
        stalled = true
        // `ws` reads the socket through its 'data' listener: without it, no frame or ping is parsed.
        socket.removeAllListeners("data")
        if (pause) socket.pause()
        else socket.resume()
      }),
    dropMidFrame: (payload) =>
      Effect.async<void>((resume) => {
        const cut = Buffer.concat([frameHeader(payload.length), payload.subarray(0, payload.length >> 1)])
        // Destroyed once the half frame is in the kernel's hands: no close frame follows.
        socket.write(cut, () => {
          socket.destroy()
          resume(Effect.void)
        })
      })
  }
}

const encoder = new TextEncoder()

/** A binary frame of exactly `bytes` bytes (at least 64) holding a model text message. */
export const oversizedFrame = (bytes: number): Uint8Array => {
  const open = "{\"serverContent\":{\"modelTurn\":{\"parts\":[{\"text\":\""
  const close = "\"}]}}}"
  const frame = new Uint8Array(Math.max(bytes, open.length + close.length))
  encoder.encodeInto(open, frame)
  frame.fill(0x61, open.length, frame.length - close.length)
  encoder.encodeInto(close, frame.subarray(frame.length - close.length))
  return frame
}

/** The server's frame of `message`, cut in half: JSON that ends in the middle. */
export const truncatedFrame = (message: unknown): Uint8Array => {
  const frame = encodeServerMessage(message)
  return frame.slice(0, frame.length >> 1)
}

/**
 * A known message with one field of the wrong type: a model turn's audio, `turnComplete` and
 * `usageMetadata` whose `promptTokenCount` is the string `"12"`.
 */
export const schemaDriftMessage = (audio: Uint8Array = synthesizeSpeech("Drift.")) => ({
  serverContent: {
    modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data: Buffer.from(audio).toString("base64") } }] },
    turnComplete: true
  },
  usageMetadata: { promptTokenCount: "12", responseTokenCount: 5, totalTokenCount: 17 }
})
