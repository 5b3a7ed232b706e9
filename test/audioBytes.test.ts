/**
 * Model audio decoded once (`src/internal/codec/audioBytes.ts`): the lazy blobs are equal to what the
 * server sent, and only canonical base64 is made lazy.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { MessageChannel } from "node:worker_threads"
import { LiveEvent, Protocol } from "../src/index.js"
import * as AudioData from "../src/internal/codec/audioBytes.js"

const audioMessage = (data: string, extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({
    serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data, ...extra } }, { text: "hi" }] } }
  }, null, 2))

describe("AudioData", () => {
  it("canonical: accepts only base64 that encodes back to itself", () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 97 + length) & 255))
      const base64 = bytes.toString("base64")
      expect(AudioData.canonical(base64)).toEqual(bytes)
      // Every one-character change: accepted only if it still encodes back to itself.
      for (const position of [0, base64.length - 1, base64.length - 2, base64.length - 3]) {
        if (position < 0) continue
        for (const char of ["A", "B", "/", "+", "-", "_", "=", " ", "\n", "é"]) {
          const changed = base64.slice(0, position) + char + base64.slice(position + 1)
          const decoded = AudioData.canonical(changed)
          if (decoded !== undefined) expect(decoded.toString("base64")).toBe(changed)
        }
      }
    }
    for (const odd of ["AB==", "AAB=", "AA", "AA=", "AA==AA==", "-_-_", "AA AA==", "QUJD\nREVG"]) {
      expect(AudioData.canonical(odd)).toBeUndefined()
    }
  })

  // The views stay intact as slabs fill.
  it("canonical: bytes are 8-byte aligned views of shared slabs", () => {
    const sources = Array.from({ length: 100 }, (_, n) => Buffer.from(Array.from({ length: 9601 + n }, (_, i) => (i * 31 + n) & 255)))
    const decoded = sources.map((bytes) => AudioData.canonical(bytes.toString("base64"))!)
    decoded.forEach((bytes, n) => {
      expect(bytes.byteOffset % 8).toBe(0)
      expect(Buffer.compare(bytes, sources[n])).toBe(0)
    })
    // Several decodes share a slab, and the 100 needed more than one.
    const slabs = new Set(decoded.map((bytes) => bytes.buffer))
    expect(slabs.size).toBeGreaterThan(1)
    expect(slabs.size).toBeLessThan(decoded.length)
    // A slab is not transferable (posting one view's buffer would empty the others).
    // (Node 20 leaves it out of the transfer list; later versions throw.)
    const { port1, port2 } = new MessageChannel()
    const slab = decoded[0].buffer as ArrayBuffer
    try {
      port1.postMessage(slab, [slab])
    } catch {
      // refused: not transferred either
    }
    port1.close()
    port2.close()
    expect(Buffer.compare(decoded[0], sources[0])).toBe(0)
    expect(Buffer.compare(decoded[1], sources[1])).toBe(0)
    // A large blob gets a buffer of its own.
    const large = Buffer.alloc(100_000, 7)
    expect(Buffer.compare(AudioData.canonical(large.toString("base64"))!, large)).toBe(0)
  })

  // The message stays equal to what was sent, and the events carry the same bytes.
  it("decodeInPlace: the message and events keep what was sent", () => {
    const pcm = Buffer.from(Array.from({ length: 960 }, (_, i) => i & 255))
    const frame = audioMessage(pcm.toString("base64"))
    const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
    AudioData.decodeInPlace(message)
    expect(message).toStrictEqual(JSON.parse(frame.toString()))
    expect(JSON.stringify(message, null, 2)).toBe(frame.toString())
    const events = LiveEvent.fromServerMessage(message)
    const audio = events.find(LiveEvent.is("AudioDelta"))!
    expect(Buffer.from(audio.data)).toEqual(pcm)
    expect(events.find(LiveEvent.is("ServerContent"))!.content.modelTurn!.parts![0].inlineData!.data).toBe(pcm.toString("base64"))
  })

  // 8-byte aligned; the message stays equal to what was sent.
  it("decodeInPlace(frame): audio decoded into the frame's memory", () => {
    const first = Buffer.from(Array.from({ length: 9600 }, (_, i) => (i * 7) & 255))
    const second = Buffer.from(Array.from({ length: 4801 }, (_, i) => (i * 13) & 255))
    const json = JSON.stringify({
      serverContent: {
        modelTurn: {
          parts: [
            { inlineData: { mimeType: "audio/pcm;rate=24000", data: first.toString("base64") } },
            { text: "between" },
            { inlineData: { data: second.toString("base64"), mimeType: "audio/pcm;rate=24000" } }
          ]
        }
      }
    }, null, 2)
    // The frame as a socket read gives it: a view into a larger buffer, at an odd offset.
    const read = Buffer.alloc(json.length + 100)
    const frame = read.subarray(33, 33 + read.write(json, 33))
    const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
    AudioData.decodeInPlace(message, frame)
    expect(JSON.stringify(message, null, 2)).toBe(json)
    const audio = LiveEvent.fromServerMessage(message).filter(LiveEvent.is("AudioDelta"))
    expect(audio.map((event) => Buffer.compare(event.data, [first, second][audio.indexOf(event)]))).toEqual([0, 0])
    for (const event of audio) {
      expect(event.data.buffer).toBe(read.buffer)
      expect(event.data.byteOffset % 8).toBe(0)
    }
    expect(audio[1].data.byteOffset).toBeGreaterThanOrEqual(audio[0].data.byteOffset + first.length)
    // Not transferable: posting it would take the socket's read from under it.
    const { port1, port2 } = new MessageChannel()
    try {
      port1.postMessage(read.buffer, [read.buffer])
    } catch {
      // refused
    }
    port1.close()
    port2.close()
    expect(read.byteLength).toBe(json.length + 100)
  })

  // A frame under 4 KiB may be a slice of Node's shared pool: the audio goes into slabs.
  it("decodeInPlace(frame): small or non-Buffer frame left alone", () => {
    const pcm = Buffer.from(Array.from({ length: 960 }, (_, i) => i & 255))
    const small = audioMessage(pcm.toString("base64"))
    expect(small.byteLength).toBeLessThan(4096)
    const large = Buffer.from(Array.from({ length: 9600 }, (_, i) => i & 255))
    const plain = new Uint8Array(audioMessage(large.toString("base64")))
    for (const frame of [small, plain]) {
      const copy = Buffer.from(frame)
      const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
      AudioData.decodeInPlace(message, frame)
      const audio = LiveEvent.fromServerMessage(message).find(LiveEvent.is("AudioDelta"))!
      expect(audio.data.buffer).not.toBe(frame.buffer)
      expect(Buffer.compare(frame, copy)).toBe(0)
    }
  })

  // Below half of a raised Buffer.poolSize a frame may be the pool: the audio goes into slabs.
  it("decodeInPlace(frame): below half of Buffer.poolSize, slabs", () => {
    const pcm = Buffer.from(Array.from({ length: 9600 }, (_, i) => i & 255))
    const frame = audioMessage(pcm.toString("base64"))
    const poolSize = Buffer.poolSize
    Buffer.poolSize = 64 * 1024
    try {
      const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
      AudioData.decodeInPlace(message, frame)
      const audio = LiveEvent.fromServerMessage(message).find(LiveEvent.is("AudioDelta"))!
      expect(audio.data.buffer).not.toBe(frame.buffer)
      expect(Buffer.compare(audio.data, pcm)).toBe(0)
    } finally {
      Buffer.poolSize = poolSize
    }
  })

  it("decodeInPlace: leaves odd data, other fields, other media", () => {
    const cases = [
      audioMessage("AB=="),
      audioMessage("AQID-_8="),
      audioMessage("AQID", { displayName: "x" }),
      Buffer.from(JSON.stringify({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "image/png", data: "AQID" } }] } } }))
    ]
    for (const frame of cases) {
      const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
      const blob = message.serverContent!.modelTurn!.parts![0].inlineData
      AudioData.decodeInPlace(message)
      expect(message.serverContent!.modelTurn!.parts![0].inlineData).toBe(blob)
      expect(message).toStrictEqual(JSON.parse(frame.toString()))
    }
  })
})
