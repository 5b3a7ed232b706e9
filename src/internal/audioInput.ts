/**
 * `session.audioInput`: audio pushed from callbacks, sent as `realtimeInput.audio` frames.
 *
 *   unsafeOffer(chunk) ─> converter (to 16 kHz PCM16) ─> frames ─> one template-encoded JSON frame
 *                      ─> the socket, in the caller's call       (or, when it cannot take it now:)
 *                      ─> waiting (at most bufferMillis, oldest dropped) ─> a fiber that writes them
 *
 * The source sets the pace (a live source cannot be slowed down), so there is no pacing and no
 * backpressure: a frame is written at once while the connection takes it, with no Effect, fiber or
 * queue on the way. Only when it does not (a full socket buffer, a reconnection) do frames wait,
 * already encoded (the caller's bytes are never kept), for a fiber started then, which writes them
 * in order; frames offered meanwhile queue behind them.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Scope from "effect/Scope"
import * as Audio from "../Audio.js"
import type { ConfigError, SessionClosed } from "../LiveError.js"
import type { AudioInput, AudioInputOptions, SendAudioSummary } from "../LiveSession.js"
import * as Protocol from "../Protocol.js"
import * as ScopedFork from "./scopedFork.js"
import * as SendAudio from "./sendAudio.js"
import * as Signal from "./signal.js"

/** Makes an input on `sink`, stopped with the scope. */
export const make = (
  sink: SendAudio.Sink,
  options: AudioInputOptions = {}
): Effect.Effect<AudioInput, ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { bufferMillis, frameMillis } = yield* SendAudio.frameOptions("audioInput", options)
    const format = options.format ?? Audio.INPUT_FORMAT
    const converter = SendAudio.sameFormat(format, Audio.INPUT_FORMAT) ? undefined : Audio.makeConverter(format, Audio.INPUT_FORMAT)
    const framer = SendAudio.makeFramer(Audio.bytesFor(Audio.INPUT_FORMAT, frameMillis))
    const encode = Protocol.realtimeAudioEncoder(Audio.mimeType(Audio.INPUT_FORMAT))
    const capacity = Math.max(1, Math.floor(bufferMillis / frameMillis))
    const endOfStream = options.audioStreamEnd ?? sink.automaticActivityDetection
    const summary = { framesSent: 0, bytesSent: 0, framesDropped: 0, durationMillis: 0 }
    // The fibers (a writer, `end`) are started from callbacks into a scope of their own, which
    // closes after the input has stopped (its finalizer, added below, runs first): a chunk offered
    // while the scope closes never starts one that would outlive it.
    const scope = yield* Effect.scope
    const runFork = yield* ScopedFork.make(yield* Scope.fork(scope, ExecutionStrategy.sequential))

    /** Encoded frames the connection did not take at once (with their sizes), oldest first. */
    let waiting: Array<{ readonly json: string; readonly bytes: number }> = []
    /** A fiber is writing `waiting` (frames go behind it). */
    let writing = false
    /** Woken when `writing` ends. */
    const written = Signal.make()
    /** No more chunks are taken: `end` was called, or the scope or the session closed. */
    let closed = false
    /** The scope closed: nothing more is written. */
    let stopped = false
    /** Why the writing stopped (the session closed), if it did: what follows is not sent. */
    let failure: SessionClosed | undefined
    /** The run of `end` (one, however many callers wait for it). */
    let ending: Fiber.RuntimeFiber<SendAudioSummary, SessionClosed> | undefined

    const sent = (bytes: number) => {
      summary.framesSent++
      summary.bytesSent += bytes
    }

    /** Writes `waiting`, oldest first, through the session's effectful write (it waits for room, or the next link). */
    const writeWaiting: Effect.Effect<void> = Effect.suspend(() => {
      const next = waiting.shift()
      if (next === undefined) {
        writing = false
        written.wake()
        return Effect.void
      }
      return Effect.zipRight(sink.awaitWritable, sink.write("audioInput", next.json)).pipe(
        Effect.matchEffect({
          onFailure: (error) => {
            failure = error
            closed = true
            waiting = []
            writing = false
            written.wake()
            return Effect.void
          },
          onSuccess: () => {
            sent(next.bytes)
            return writeWaiting
          }
        })
      )
    })

    /** The writer, also when interrupted (the scope closed) leaving `writing` false for whoever waits. */
    const writer = Effect.onInterrupt(writeWaiting, () =>
      Effect.sync(() => {
        writing = false
        written.wake()
      }))

    const send = (frame: Uint8Array) => {
      if (failure !== undefined || stopped) return
      const json = SendAudio.encodeFrame(encode, frame)
      if (!writing && sink.trySend(json)) return sent(frame.byteLength)
      if (waiting.length >= capacity) {
        waiting.shift()
        summary.framesDropped++
        sink.framesDropped(1)
      }
      waiting.push({ json, bytes: frame.byteLength })
      if (!writing) {
        writing = true
        runFork(writer)
      }
    }

    const frames: Array<Uint8Array> = []
    const sendFrames = (pcm: Uint8Array) => {
      framer.push(pcm, frames)
      for (const frame of frames) send(frame)
      frames.length = 0
    }

    const unsafeOffer = (chunk: Uint8Array): boolean => {
      if (closed) return false
      sendFrames(converter === undefined ? chunk : converter.push(chunk))
      return failure === undefined
    }

    const reportDrops = Effect.suspend(() =>
      summary.framesDropped === 0 ? Effect.void : Effect.logWarning(
        `effect-gemini-live: audioInput dropped ${summary.framesDropped} frames: the connection could not take them in time`
      )
    )

    /** The rest (a last, shorter frame), what waits, then `audioStreamEnd`. */
    const finish = (): Effect.Effect<SendAudioSummary, SessionClosed> => Effect.suspend(() => {
      if (!closed) {
        closed = true
        if (converter !== undefined) sendFrames(converter.flush())
        const rest = framer.rest()
        if (rest !== undefined) send(rest)
      }
      return written.awaitUntil(() => !writing)
    }).pipe(
      Effect.zipRight(Effect.suspend(() => {
        if (failure !== undefined) return Effect.fail(failure)
        return endOfStream ? sink.write("audioInput", SendAudio.audioStreamEnd) : Effect.void
      })),
      Effect.zipRight(Effect.suspend(() => {
        summary.durationMillis = Audio.durationMillis(Audio.INPUT_FORMAT, summary.bytesSent)
        return reportDrops
      })),
      Effect.as(summary as SendAudioSummary)
    )

    const end: Effect.Effect<SendAudioSummary, SessionClosed> = Effect.suspend(() => {
      // After the scope closed, nothing more goes out: what was sent.
      if (stopped) return failure === undefined ? Effect.succeed(summary) : Effect.fail(failure)
      ending ??= runFork(finish())
      return Fiber.join(ending)
    })

    // Closing the scope stops the input, then interrupts its fibers (their scope was forked before).
    yield* Scope.addFinalizer(
      scope,
      Effect.suspend(() => {
        if (stopped) return Effect.void
        stopped = true
        closed = true
        // Frames still waiting are not sent: counted as dropped.
        if (waiting.length > 0) {
          summary.framesDropped += waiting.length
          sink.framesDropped(waiting.length)
          waiting = []
        }
        // As an interrupted `sendAudio` does, when the server detects activity (if the connection
        // can take it now, and `end` is not already doing it).
        if (endOfStream && ending === undefined && failure === undefined) sink.trySend(SendAudio.audioStreamEnd)
        return reportDrops
      })
    )

    return {
      unsafeOffer,
      offer: (chunk) => Effect.sync(() => unsafeOffer(chunk)),
      end
    } satisfies AudioInput
  })
