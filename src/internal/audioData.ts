/**
 * Model audio decoded once, and its base64 text not kept.
 *
 * A `serverContent` audio message carries ~13 KB of base64 that the `ServerContent` event keeps (the
 * content as the server sent it) for as long as the event is buffered. Holding that string makes it
 * outlive the young generation, and the garbage collector copies it once or twice before it dies:
 * most of a message's cost. So, in a message the session has just decoded from a frame (its own
 * object), each audio blob is decoded to bytes once and replaced by an equal blob whose `data` is an
 * enumerable getter that encodes the bytes again when (and only if) it is read. This is only done
 * when that gives back the very same text (canonical base64), so the content stays exactly what the
 * server sent. `LiveEvent.fromServerMessage` takes the bytes from here instead of decoding again.
 *
 * Every such blob shares one getter (defined with the same descriptor), so they all share one
 * hidden class: a getter written in an object literal would be a new closure, and a new hidden
 * class, per message, which cost more than the decoding saves (8 µs a message in `npm run bench`).
 */
import { markAsUntransferable } from "node:worker_threads"
import type * as Protocol from "../Protocol.js"

/** The bytes of the blobs made here. */
const decoded = new WeakMap<object, Uint8Array>()

/** Their base64 text, once read. */
const texts = new WeakMap<object, string>()

const base64Of = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

/** The bytes of an inline blob's base64 `data`. */
export const bytesOf = (blob: Protocol.Blob): Uint8Array => decoded.get(blob) ?? Buffer.from(blob.data, "base64")

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Decodes `base64` if encoding the bytes again gives it back exactly; `undefined` otherwise. */
export const canonical = (base64: string): Buffer | undefined => {
  const length = base64.length
  // Standard base64 only: `-` and `_` (the URL-safe alphabet) decode as well, but would not encode back.
  if (length % 4 !== 0 || base64.includes("-") || base64.includes("_")) return undefined
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0
  // The bits the padding leaves unused in the last character must be zero.
  if (padding === 1 && (alphabet.indexOf(base64[length - 2]) & 0b11) !== 0) return undefined
  if (padding === 2 && (alphabet.indexOf(base64[length - 3]) & 0b1111) !== 0) return undefined
  const expected = (length / 4) * 3 - padding
  const bytes = decodeInto(base64, expected)
  // Any character outside the alphabet (a space, a misplaced "=") leaves fewer bytes than this.
  return bytes.byteLength === expected ? bytes : undefined
}

/**
 * Decoded audio is written into shared slabs, as Node's own pool does for small buffers: one
 * allocation (and one external-memory report to the garbage collector) per 256 KiB, not per
 * message, which costs less than the decoding itself. Views start on 8-byte boundaries (an
 * `Int16Array` over one needs only its `byteOffset`). A slab lives as long as any of its views, so
 * what keeps audio for long copies it (`session.audio`'s buffer does).
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
 * Replaces, in a message freshly decoded by the session (no one else holds it), each audio part's
 * `inlineData` of the usual shape (`data` and `mimeType` only) by a lazy equal (see the module's doc).
 */
export const decodeInPlace = (message: Protocol.ServerMessage): void => {
  const parts = message.serverContent?.modelTurn?.parts
  if (parts === undefined) return
  for (const part of parts) {
    const blob = part.inlineData
    if (blob === undefined || !blob.mimeType.startsWith("audio/")) continue
    const order = keyOrder(blob)
    if (order === undefined) continue
    const bytes = canonical(blob.data)
    if (bytes === undefined) continue
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
