/**
 * `session.audioInput`: audio pushed from callbacks, sent as `realtimeInput.audio` frames.
 *
 *   unsafeOffer(chunk) ─> converter (to 16 kHz PCM16) ─> frames ─> one template-encoded JSON frame
 *                      ─> the socket, in the caller's call       (or, when it cannot take it now:)
 *                      ─> waiting (at most bufferMillis, oldest dropped) ─> a fiber that writes them
 *
 * A live source sets the pace, so there is no pacing and no backpressure. Frames wait (encoded, the
 * caller's bytes never kept) only while the connection cannot take them, for a fiber started then;
 * frames offered meanwhile queue behind them. An input never held up holds no fiber.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type { Converter } from "../../Audio.js"
import type { ConfigError, SessionClosed } from "../../LiveError.js"
import type { AudioInput, AudioInputOptions, SendAudioSummary } from "../../LiveSession.js"
import * as Protocol from "../../Protocol.js"
import * as Signal from "../kernel/signal.js"
import { make as makeConverter } from "./converter.js"
import { bytesFor, durationMillis, equals, INPUT_FORMAT, mimeType } from "./format.js"
import { audioStreamEnd, encodeFrame, type Framer, frameOptions, makeFramer, type Sink } from "./framer.js"

/** Makes an input on `sink`, stopped with the scope. */
export const make = (
  sink: Sink,
  options: AudioInputOptions = {}
): Effect.Effect<AudioInput, ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { bufferMillis, frameMillis } = yield* frameOptions("audioInput", options)
    const format = options.format ?? INPUT_FORMAT
    const input = new LiveInput(sink, yield* Effect.runtime<never>(), {
      converter: equals(format, INPUT_FORMAT) ? undefined : makeConverter(format, INPUT_FORMAT),
      framer: makeFramer(bytesFor(INPUT_FORMAT, frameMillis)),
      encode: Protocol.realtimeAudioEncoder(mimeType(INPUT_FORMAT)),
      capacity: Math.max(1, Math.floor(bufferMillis / frameMillis)),
      endOfStream: options.audioStreamEnd ?? sink.automaticActivityDetection
    })
    // Closing the scope stops the input, then interrupts its fibers.
    yield* Scope.addFinalizer(yield* Effect.scope, stopOf(input))
    return input.api()
  })

/** The scope's finalizer, made out here: a closure made in `make` would keep its options. */
const stopOf = (input: LiveInput): Effect.Effect<void> => Effect.suspend(() => input.stop())

interface Settings {
  readonly converter: Converter | undefined
  readonly framer: Framer
  readonly encode: (base64: string) => string
  /** Frames that may wait, at most (`bufferMillis`). */
  readonly capacity: number
  /** `audioStreamEnd` follows the end of the input. */
  readonly endOfStream: boolean
}

/**
 * One input's state and steps (a class: its steps on the prototype). Its fibers (a writer, `end`)
 * run, interruptible, on the runtime of the fiber that made the input, only when needed; the scope's
 * finalizer stops the input first (a chunk offered while the scope closes starts none), then
 * interrupts them.
 */
class LiveInput {
  private readonly summary = { framesSent: 0, bytesSent: 0, framesDropped: 0, durationMillis: 0 }
  /** Encoded frames the connection did not take at once (with their sizes), oldest first. */
  private waiting: Array<{ readonly json: string; readonly bytes: number }> = []
  /** A fiber is writing `waiting` (frames go behind it). */
  private writer: Fiber.RuntimeFiber<void> | undefined
  /** Woken when the writer ends. */
  private readonly written = new Signal.Signal()
  /** No more chunks are taken: `end` was called, or the scope or the session closed. */
  private closed = false
  /** The scope closed: nothing more is written. */
  private stopped = false
  /** Why the writing stopped (the session closed), if it did: what follows is not sent. */
  private failure: SessionClosed | undefined
  /** The run of `end` (one, however many callers wait for it). */
  private ending: Fiber.RuntimeFiber<SendAudioSummary, SessionClosed> | undefined
  /** The frames of the chunk being sent (reused). */
  private readonly frames: Array<Uint8Array> = []

  constructor(
    private readonly sink: Sink,
    private readonly runtime: Runtime.Runtime<never>,
    private readonly settings: Settings
  ) {}

  /** What users hold: plain properties. */
  api(): AudioInput {
    return {
      unsafeOffer: (chunk) => this.unsafeOffer(chunk),
      offer: (chunk) => Effect.sync(() => this.unsafeOffer(chunk)),
      end: Effect.suspend(() => this.end())
    }
  }

  unsafeOffer(chunk: Uint8Array): boolean {
    if (this.closed) return false
    const converter = this.settings.converter
    this.sendFrames(converter === undefined ? chunk : converter.push(chunk))
    return this.failure === undefined
  }

  /** The scope closed: frames still waiting are dropped (counted), and the fibers are interrupted. */
  stop(): Effect.Effect<void> {
    if (this.stopped) return Effect.void
    this.stopped = true
    this.closed = true
    const { summary, sink } = this
    if (this.waiting.length > 0) {
      summary.framesDropped += this.waiting.length
      sink.framesDropped(this.waiting.length)
      this.waiting = []
    }
    // As an interrupted `sendAudio` does, when the server detects activity (if the connection can
    // take it now, and `end` is not already doing it).
    if (this.settings.endOfStream && this.ending === undefined && this.failure === undefined) sink.trySend(audioStreamEnd)
    const fibers = [this.writer, this.ending].filter((fiber) => fiber !== undefined)
    return Effect.zipRight(this.reportDrops(), fibers.length === 0 ? Effect.void : Fiber.interruptAll(fibers))
  }

  private fork<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    return Runtime.runFork(this.runtime, Effect.interruptible(effect))
  }

  private sent(bytes: number): void {
    this.summary.framesSent++
    this.summary.bytesSent += bytes
  }

  private send(frame: Uint8Array): void {
    if (this.failure !== undefined || this.stopped) return
    const json = encodeFrame(this.settings.encode, frame)
    if (this.writer === undefined && this.sink.trySend(json)) return this.sent(frame.byteLength)
    if (this.waiting.length >= this.settings.capacity) {
      this.waiting.shift()
      this.summary.framesDropped++
      this.sink.framesDropped(1)
    }
    this.waiting.push({ json, bytes: frame.byteLength })
    if (this.writer === undefined) {
      const writer = this.fork(this.writeWaiting())
      // Ended at once (nothing to wait for): not writing any more.
      if (writer.unsafePoll() === null) this.writer = writer
    }
  }

  private sendFrames(pcm: Uint8Array): void {
    const frames = this.frames
    this.settings.framer.push(pcm, frames)
    for (const frame of frames) this.send(frame)
    frames.length = 0
  }

  /** The writer is done (or interrupted): whoever waits for it looks again. */
  private writerDone(): void {
    this.writer = undefined
    this.written.wake()
  }

  /** Writes `waiting`, oldest first, through the session's effectful write (it waits for room, or the next link). */
  private writeWaiting(): Effect.Effect<void> {
    return Effect.onInterrupt(
      Effect.suspend(() => this.writeNext()),
      () => Effect.sync(() => this.writerDone())
    )
  }

  private writeNext(): Effect.Effect<void> {
    const next = this.waiting.shift()
    if (next === undefined) {
      this.writerDone()
      return Effect.void
    }
    return Effect.zipRight(this.sink.awaitWritable, this.sink.write("audioInput", next.json)).pipe(
      Effect.matchEffect({
        onFailure: (error) => {
          this.failure = error
          this.closed = true
          this.waiting = []
          this.writerDone()
          return Effect.void
        },
        onSuccess: () => {
          this.sent(next.bytes)
          return Effect.suspend(() => this.writeNext())
        }
      })
    )
  }

  private reportDrops(): Effect.Effect<void> {
    const dropped = this.summary.framesDropped
    return dropped === 0 ? Effect.void : Effect.logWarning(
      `effect-gemini-live: audioInput dropped ${dropped} frames: the connection could not take them in time`
    )
  }

  /** The rest (a last, shorter frame), what waits, then `audioStreamEnd`. */
  private finish(): Effect.Effect<SendAudioSummary, SessionClosed> {
    return Effect.suspend(() => {
      if (!this.closed) {
        this.closed = true
        const { converter, framer } = this.settings
        if (converter !== undefined) this.sendFrames(converter.flush())
        const rest = framer.rest()
        if (rest !== undefined) this.send(rest)
      }
      return this.written.awaitUntil(() => this.writer === undefined)
    }).pipe(
      Effect.zipRight(Effect.suspend(() => {
        if (this.failure !== undefined) return Effect.fail(this.failure)
        return this.settings.endOfStream ? this.sink.write("audioInput", audioStreamEnd) : Effect.void
      })),
      Effect.zipRight(Effect.suspend(() => {
        this.summary.durationMillis = durationMillis(INPUT_FORMAT, this.summary.bytesSent)
        return this.reportDrops()
      })),
      Effect.as(this.summary as SendAudioSummary)
    )
  }

  private end(): Effect.Effect<SendAudioSummary, SessionClosed> {
    // After the scope closed, nothing more goes out: what was sent.
    if (this.stopped) return this.failure === undefined ? Effect.succeed(this.summary) : Effect.fail(this.failure)
    this.ending ??= this.fork(this.finish())
    return Fiber.join(this.ending)
  }
}
