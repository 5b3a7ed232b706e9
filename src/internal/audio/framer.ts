/**
 * What `sendAudio` and `audioInput` share: the sink they write to, their frame options, the framer
 * that cuts PCM into frames, and a frame's `realtimeInput.audio` JSON.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ConfigError, type SessionClosed } from "../../LiveError.js"
import type { SendAudioOptions } from "../../LiveSession.js"

/** What sending audio needs from its session. */
export interface Sink {
  readonly write: (method: string, frame: string) => Effect.Effect<void, SessionClosed>
  /** Writes a frame at once if the connection can take it now (`true`); else nothing happened: `write`. */
  readonly trySend: (frame: string) => boolean
  readonly awaitWritable: Effect.Effect<void>
  /** Whether the server detects activity itself (then `audioStreamEnd` closes an input stream). */
  readonly automaticActivityDetection: boolean
  readonly framesDropped: (count: number) => void
}

/** The default frame: 40 ms (why: docs/performance.md). */
export const defaultFrameMillis = 40

/** How much a drop-oldest buffer keeps by default. */
export const defaultBufferMillis = 1000

export const audioStreamEnd = JSON.stringify({ realtimeInput: { audioStreamEnd: true } })

/** One frame's `realtimeInput.audio` JSON: one base64 pass over a view of its bytes (no copy), into the template. */
export const encodeFrame = (encode: (base64: string) => string, frame: Uint8Array): string =>
  encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("base64"))

/** The frame and buffer durations of `options`, checked. */
export const frameOptions = (
  method: string,
  options: Pick<SendAudioOptions, "frameMillis" | "bufferMillis">
): Effect.Effect<{ readonly frameMillis: number; readonly bufferMillis: number }, ConfigError> => {
  const optionError = (path: string, description: string) =>
    Effect.fail(new ConfigError({ module: "LiveSession", method, path, description }))
  const frameMillis = options.frameMillis ?? defaultFrameMillis
  if (!Number.isInteger(frameMillis) || frameMillis < 10 || frameMillis > 1000) {
    return optionError("frameMillis", "must be a whole number of milliseconds from 10 to 1000")
  }
  const bufferMillis = options.bufferMillis ?? defaultBufferMillis
  if (!(bufferMillis >= frameMillis)) {
    return optionError("bufferMillis", `must be at least one frame (${frameMillis} ms)`)
  }
  return Effect.succeed({ frameMillis, bufferMillis })
}

/** Cuts PCM into frames of a fixed size. */
export interface Framer {
  /** Adds the whole frames `chunk` completes to `frames`. */
  readonly push: (chunk: Uint8Array, frames: Array<Uint8Array>) => void
  /** The last, shorter frame, if any: whole samples (an odd last byte, half a PCM16 sample, is not sent). */
  readonly rest: () => Uint8Array | undefined
}

/**
 * A framer of `frameBytes` (even: PCM16): whole frames of a chunk are views of it (no copy), the
 * rest (an odd byte too) waits in a frame-sized buffer for the next chunk, so no frame is odd.
 */
export const makeFramer = (frameBytes: number): Framer => {
  let pending: Uint8Array | undefined
  let filled = 0
  const push = (chunk: Uint8Array, frames: Array<Uint8Array>): void => {
    let offset = 0
    if (pending !== undefined) {
      const take = Math.min(frameBytes - filled, chunk.byteLength)
      pending.set(chunk.subarray(0, take), filled)
      filled += take
      offset = take
      if (filled < frameBytes) return
      frames.push(pending)
      pending = undefined
      filled = 0
    }
    while (chunk.byteLength - offset >= frameBytes) {
      frames.push(chunk.subarray(offset, offset + frameBytes))
      offset += frameBytes
    }
    if (offset < chunk.byteLength) {
      pending = new Uint8Array(frameBytes)
      pending.set(chunk.subarray(offset), 0)
      filled = chunk.byteLength - offset
    }
  }
  const rest = (): Uint8Array | undefined => (pending === undefined || filled < 2 ? undefined : pending.subarray(0, filled & ~1))
  return { push, rest }
}

/** The frames of a chunk of PCM, as one flat array. */
export const framesOf = (framer: Framer, chunk: Chunk.Chunk<Uint8Array>): Array<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  for (const pcm of chunk) framer.push(pcm, frames)
  return frames
}

/** `makeFramer` as a stream operator (a framer per run of the stream). */
export const toFrames = (frameBytes: number) => <E, R>(pcm: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E, R> =>
  Stream.suspend(() => {
    const framer = makeFramer(frameBytes)
    return pcm.pipe(
      Stream.mapChunks((chunk) => Chunk.unsafeFromArray(framesOf(framer, chunk))),
      Stream.concat(Stream.suspend(() => {
        const rest = framer.rest()
        return rest === undefined ? Stream.empty : Stream.make(rest)
      }))
    )
  })
