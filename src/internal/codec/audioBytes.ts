/**
 * Model audio decoded once, and its base64 text not kept.
 *
 * The `ServerContent` event keeps the content as the server sent it (~13 KB of base64 an audio
 * message) while the event is buffered, and a string held that long is costly to collect. So, in a
 * message the session has just decoded (its own object), each audio blob is decoded to bytes once
 * and replaced by an equal blob whose `data` is a getter that encodes the bytes again if read; only
 * when that gives back the very same text (canonical base64). `LiveEvent.fromServerMessage` takes
 * the bytes from here.
 *
 * Every such blob shares one getter descriptor, hence one object shape: a getter per message would
 * cost more than the decoding saves.
 */
import { markAsUntransferable } from "node:worker_threads"
import type * as Protocol from "../../Protocol.js"

/** The bytes of the blobs made here. */
const decoded = new WeakMap<object, Uint8Array>()

/** Their base64 text, once read. */
const texts = new WeakMap<object, string>()

const base64Of = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/** The bytes of an inline blob's base64 `data`. */
export const bytesOf = (blob: Protocol.Blob): Uint8Array => decoded.get(blob) ?? Buffer.from(blob.data, "base64")

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/**
 * Decodes `base64` if encoding the bytes again gives it back exactly; `undefined` otherwise. The
 * bytes go into `into` from `at` on when they fit there, else into a slab.
 */
export const canonical = (base64: string, into?: Buffer, at = 0): Buffer | undefined => {
  const length = base64.length
  // Standard base64 only: `-` and `_` (the URL-safe alphabet) decode as well, but would not encode back.
  if (length % 4 !== 0 || base64.includes("-") || base64.includes("_")) return undefined
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0
  // The bits the padding leaves unused in the last character must be zero.
  if (padding === 1 && (alphabet.indexOf(base64[length - 2]) & 0b11) !== 0) return undefined
  if (padding === 2 && (alphabet.indexOf(base64[length - 3]) & 0b1111) !== 0) return undefined
  const expected = (length / 4) * 3 - padding
  const bytes = into !== undefined && at + expected <= into.byteLength
    ? into.subarray(at, at + into.write(base64, at, expected, "base64"))
    : decodeInto(base64, expected)
  // Any character outside the alphabet (a space, a misplaced "=") leaves fewer bytes than this.
  return bytes.byteLength === expected ? bytes : undefined
}

/**
 * Decoded audio goes into shared 256 KiB slabs, as Node pools small buffers: one allocation per
 * slab, not per message. Views start on 8-byte boundaries (an `Int16Array` over one needs only its
 * `byteOffset`). A slab lives as long as any of its views: what keeps audio for long copies it.
 */
const slabSize = 256 * 1024
let slab: Buffer | undefined
let slabUsed = 0

/** The bytes of `base64`, which decodes to at most `byteLength` bytes. */
const decodeInto = (base64: string, byteLength: number): Buffer => {
  if (byteLength > slabSize / 4) return Buffer.from(base64, "base64")
  if (slab === undefined || slab.byteLength - slabUsed < byteLength) {
    // Zeroed (a view's `.buffer` shows nothing but audio), and not transferable: posting one
    // view's buffer to a worker would empty every other view of the slab.
    slab = Buffer.alloc(slabSize)
    markAsUntransferable(slab.buffer)
    slabUsed = 0
  }
  const written = slab.write(base64, slabUsed, byteLength, "base64")
  const bytes = slab.subarray(slabUsed, slabUsed + written)
  slabUsed += (written + 7) & ~7
  return bytes
}

/**
 * The smallest frame whose memory the audio is decoded into: a smaller `Buffer` may be a slice of
 * Node's shared pool (below half of `Buffer.poolSize`), which holds other data of the process.
 */
const smallestFrameReused = () => Math.max(4096, Buffer.poolSize >>> 1)

/**
 * Replaces, in a message freshly decoded by the session (no one else holds it), each audio part's
 * `inlineData` of the usual shape (`data` and `mimeType` only) by a lazy equal (see the module's doc).
 *
 * `frame`: the binary frame the message was decoded from, when nothing reads or writes it any more
 * (the transport gave it to the session alone, and no trace keeps it). The audio is then decoded
 * into the frame's own memory, from its start (its text was already read; the bytes are 3/4 of the
 * base64 that was in it): no allocation and no new external memory. The frame's `ArrayBuffer` (a
 * socket read, shared with the frames around it) is made untransferable, as slabs are.
 */
export const decodeInPlace = (message: Protocol.ServerMessage, frame?: Uint8Array): void => {
  const parts = message.serverContent?.modelTurn?.parts
  if (parts === undefined) return
  const into = frame !== undefined && frame.byteLength >= smallestFrameReused() && Buffer.isBuffer(frame) ? frame : undefined
  /** Where the next part's bytes go in `into`: 8-byte aligned in its `ArrayBuffer`, as in slabs. */
  let at = into === undefined ? 0 : (8 - (into.byteOffset & 7)) & 7
  for (const part of parts) {
    const blob = part.inlineData
    if (blob === undefined || !blob.mimeType.startsWith("audio/")) continue
    const order = keyOrder(blob)
    if (order === undefined) continue
    const bytes = canonical(blob.data, into, at)
    if (bytes === undefined) continue
    if (into !== undefined && bytes.buffer === into.buffer) {
      markAsUntransferable(into.buffer)
      at += (bytes.byteLength + 7) & ~7
    }
    // The keys in the order they came in (JSON.stringify of the content stays byte for byte the same).
    const lazy = {} as { mimeType: string; data: string }
    if (order === "mimeType") lazy.mimeType = blob.mimeType
    Object.defineProperty(lazy, "data", lazyData)
    if (order === "data") lazy.mimeType = blob.mimeType
    decoded.set(lazy, bytes)
    ;(part as { inlineData: Protocol.Blob }).inlineData = lazy
  }
}

/** The `data` of a lazy blob: the base64 of its bytes, encoded on the first read. */
const lazyData: PropertyDescriptor = {
  get(this: object) {
    let text = texts.get(this)
    if (text === undefined) {
      text = base64Of(decoded.get(this)!)
      texts.set(this, text)
    }
    return text
  },
  enumerable: true,
  configurable: true
}

/** For a blob of `data` and `mimeType` only (the usual shape), which comes first. */
const keyOrder = (blob: object): "data" | "mimeType" | undefined => {
  let first: "data" | "mimeType" | undefined
  let count = 0
  for (const key in blob) {
    if (key !== "data" && key !== "mimeType") return undefined
    first ??= key
    count++
  }
  return count === 2 ? first : undefined
}
