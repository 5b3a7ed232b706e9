/**
 * `session.sendAudio`: a stream of audio in any supported format, sent as `realtimeInput.audio`.
 *
 *   source ─> Audio.convert (to 16 kHz PCM16) ─> frames of `frameMillis` ─> [drop-oldest buffer]
 *          ─> pacing at real time ─> one template-encoded JSON frame each ─> the socket
 *
 * Per frame: one base64 pass over a view of the bytes (no copy when the source's chunks are whole
 * frames), one string build, one socket write. Frames go a chunk at a time, in a plain loop: the
 * frames of a chunk reach the socket in one synchronous run (so they share its system calls) unless
 * pacing or a full socket buffer makes one wait.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Audio from "../../Audio.js"
import { ConfigError, type SessionClosed } from "../../LiveError.js"
import type { SendAudioOptions, SendAudioSummary } from "../../LiveSession.js"
import * as Protocol from "../../Protocol.js"

/** What `sendAudio` needs from its session. */
export interface Sink {
  readonly write: (method: string, frame: string) => Effect.Effect<void, SessionClosed>
  /** Writes a frame at once if the connection can take it now (`true`); else nothing happened: `write`. */
  readonly trySend: (frame: string) => boolean
  readonly awaitWritable: Effect.Effect<void>
  /** Whether the server detects activity itself (then `audioStreamEnd` closes an input stream). */
  readonly automaticActivityDetection: boolean
  readonly framesDropped: (count: number) => void
}

/** The default frame: 40 ms (see the README's "Streaming audio" for the measurement). */
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

/**
 * Cuts PCM into frames of `frameBytes`: whole frames of a chunk are views of it (no copy), the rest
 * waits in a frame-sized buffer for the next chunk; `rest` is the last, shorter frame.
 */
export const makeFramer = (frameBytes: number) => {
  let pending: Uint8Array | undefined
  let filled = 0
  /** Adds the whole frames `chunk` completes to `frames`. */
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
  const rest = (): Uint8Array | undefined => (pending === undefined ? undefined : pending.subarray(0, filled))
  return { push, rest }
}

/** Frames of a chunk of PCM, as one flat array. */
export const framesOf = (framer: ReturnType<typeof makeFramer>, chunk: Chunk.Chunk<Uint8Array>): Array<Uint8Array> => {
  const frames: Array<Uint8Array> = []
  for (const pcm of chunk) framer.push(pcm, frames)
  return frames
}

/** `makeFramer` as a stream operator (state per run of the stream). */
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

/**
 * Runs `onChunk` on each chunk of `stream`, in order, through a pull loop: a live source costs one
 * pull a chunk, without a sink's machinery in between.
 */
const forEachChunk = <A, E, R, E2>(
  stream: Stream.Stream<A, E, R>,
  onChunk: (chunk: Chunk.Chunk<A>) => Effect.Effect<void, E2>
): Effect.Effect<void, E | E2, R> =>
  Effect.scoped(Effect.flatMap(Stream.toPull(stream), (pull) => {
    const loop: Effect.Effect<void, E | E2, R> = Effect.matchEffect(pull, {
      onFailure: Option.match({ onNone: () => Effect.void, onSome: Effect.fail }),
      onSuccess: (chunk) => Effect.zipRight(onChunk(chunk), Effect.suspend(() => loop))
    })
    return loop
  }))

/** A buffer of at most `capacity` frames that drops the oldest when the source outruns the sender. */
const dropOldest = <E, R>(
  frames: Stream.Stream<Uint8Array, E, R>,
  capacity: number,
  onDrop: () => void
): Stream.Stream<Uint8Array, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const buffer = yield* Mailbox.make<Uint8Array, E>({ capacity, strategy: "sliding" })
    yield* frames.pipe(
      // Copied: a live source may reuse its buffers while frames wait here.
      Stream.runForEach((frame) =>
        Effect.sync(() => {
          if (buffer.unsafeSize().pipe((size) => size._tag === "Some" && size.value >= capacity)) onDrop()
          buffer.unsafeOffer(frame.slice())
        })
      ),
      Mailbox.into(buffer),
      Effect.forkScoped
    )
    return Mailbox.toStream(buffer)
  }))

/** Sends `audio` through `sink` as `realtimeInput.audio` frames. */
export const sendAudio = <E, R>(
  sink: Sink,
  audio: Stream.Stream<Uint8Array, E, R>,
  options: SendAudioOptions = {}
): Effect.Effect<SendAudioSummary, E | SessionClosed | ConfigError, R> =>
  Effect.gen(function*() {
    const format = options.format ?? Audio.INPUT_FORMAT
    const { bufferMillis, frameMillis } = yield* frameOptions("sendAudio", options)
    const frameBytes = Audio.bytesFor(Audio.INPUT_FORMAT, frameMillis)
    const encode = Protocol.realtimeAudioEncoder(Audio.mimeType(Audio.INPUT_FORMAT))
    const bytesPerMilli = Audio.bytesPerSecond(Audio.INPUT_FORMAT) / 1000
    const realtime = (options.pacing ?? "realtime") === "realtime"
    const summary = { framesSent: 0, bytesSent: 0, framesDropped: 0, durationMillis: 0 }

    const pcm = sameFormat(format, Audio.INPUT_FORMAT) ? audio : audio.pipe(Audio.convert(format, Audio.INPUT_FORMAT))

    const clock = yield* Effect.clock
    const start = clock.unsafeCurrentTimeMillis()
    const sent = (frame: Uint8Array) => {
      summary.framesSent++
      summary.bytesSent += frame.byteLength
    }
    /**
     * Sends `frames` from `index` on, in order, in a plain loop: each frame is written synchronously
     * while the connection takes it at once (`trySend`, the usual case); an effect only where pacing
     * asks for a wait, or the connection does not take the frame now (a full socket buffer, between
     * links): then `write`, which waits for it, and the loop goes on after.
     */
    const sendFrom = (frames: ReadonlyArray<Uint8Array>, from: number): Effect.Effect<void, SessionClosed> => {
      for (let index = from; index < frames.length; index++) {
        const frame = frames[index]
        if (realtime) {
          const wait = start + summary.bytesSent / bytesPerMilli - clock.unsafeCurrentTimeMillis()
          if (wait > 0) return Effect.zipRight(Effect.sleep(wait), Effect.suspend(() => sendFrom(frames, index)))
        }
        const json = encodeFrame(encode, frame)
        if (!sink.trySend(json)) return writeThen(frames, index, json)
        sent(frame)
      }
      return Effect.void
    }
    /** The effectful write of frame `index` (waiting for room, or for the next link), then the rest. */
    const writeThen = (frames: ReadonlyArray<Uint8Array>, index: number, json: string): Effect.Effect<void, SessionClosed> =>
      Effect.zipRight(realtime ? Effect.void : sink.awaitWritable, sink.write("sendAudio", json)).pipe(
        Effect.flatMap(() => {
          sent(frames[index])
          return sendFrom(frames, index + 1)
        })
      )

    const endOfStream = options.audioStreamEnd ?? sink.automaticActivityDetection
    const sending = options.overflow === "dropOldest"
      ? forEachChunk(
        dropOldest(pcm.pipe(toFrames(frameBytes)), Math.max(1, Math.floor(bufferMillis / frameMillis)), () => {
          summary.framesDropped++
          sink.framesDropped(1)
        }),
        (chunk) => sendFrom(Chunk.toReadonlyArray(chunk), 0)
      )
      : Effect.suspend(() => {
        // Framed here, in the loop: no stream stage between the source and the socket.
        const framer = makeFramer(frameBytes)
        return forEachChunk(pcm, (chunk) => sendFrom(framesOf(framer, chunk), 0)).pipe(
          Effect.zipRight(Effect.suspend(() => {
            const rest = framer.rest()
            return rest === undefined ? Effect.void : sendFrom([rest], 0)
          }))
        )
      })
    yield* sending.pipe(
      Effect.onInterrupt(() => endOfStream ? Effect.ignore(sink.write("sendAudio", audioStreamEnd)) : Effect.void)
    )
    if (endOfStream) yield* sink.write("sendAudio", audioStreamEnd)
    summary.durationMillis = Audio.durationMillis(Audio.INPUT_FORMAT, summary.bytesSent)
    if (summary.framesDropped > 0) {
      yield* Effect.logWarning(
        `effect-gemini-live: sendAudio dropped ${summary.framesDropped} frames: the source outran the connection`
      )
    }
    return summary as SendAudioSummary
  })

export const sameFormat = (a: Audio.Format, b: Audio.Format) => a.encoding === b.encoding && a.sampleRate === b.sampleRate
