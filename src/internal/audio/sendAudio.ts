/**
 * `session.sendAudio`: a stream of audio in any supported format, sent as `realtimeInput.audio`.
 *
 *   source ─> convert (to 16 kHz PCM16) ─> frames of `frameMillis` ─> [drop-oldest buffer]
 *          ─> pacing at real time ─> one template-encoded JSON frame each ─> the socket
 *
 * The frames of a chunk go out in one synchronous loop (one base64 pass and one write each) unless
 * pacing or a full socket buffer makes one wait.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ConfigError, SessionClosed } from "../../LiveError.js"
import type { SendAudioOptions, SendAudioSummary } from "../../LiveSession.js"
import * as Protocol from "../../Protocol.js"
import { convert } from "./converter.js"
import { bytesFor, bytesPerSecond, durationMillis, equals, INPUT_FORMAT, mimeType } from "./format.js"
import { audioStreamEnd, encodeFrame, frameOptions, framesOf, makeFramer, type Sink, toFrames } from "./framer.js"


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
    const format = options.format ?? INPUT_FORMAT
    const { bufferMillis, frameMillis } = yield* frameOptions("sendAudio", options)
    const frameBytes = bytesFor(INPUT_FORMAT, frameMillis)
    const encode = Protocol.realtimeAudioEncoder(mimeType(INPUT_FORMAT))
    const bytesPerMilli = bytesPerSecond(INPUT_FORMAT) / 1000
    const realtime = (options.pacing ?? "realtime") === "realtime"
    const summary = { framesSent: 0, bytesSent: 0, framesDropped: 0, durationMillis: 0 }

    const pcm = equals(format, INPUT_FORMAT) ? audio : audio.pipe(convert(format, INPUT_FORMAT))

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
    summary.durationMillis = durationMillis(INPUT_FORMAT, summary.bytesSent)
    if (summary.framesDropped > 0) {
      yield* Effect.logWarning(
        `effect-gemini-live: sendAudio dropped ${summary.framesDropped} frames: the source outran the connection`
      )
    }
    return summary as SendAudioSummary
  })
