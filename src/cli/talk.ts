/**
 * `gemini-live talk`: one exchange with the model. A text turn (`--text`) and/or a spoken turn read
 * from a WAV file (`--in`) go to the model; its transcripts are printed as they arrive, and its
 * spoken reply is written to a WAV file (`--out`). The reply is read from the session's `events`
 * (every event once, in order) and a turn ends at its `TurnComplete`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Audio from "../Audio.js"
import type * as Backend from "../Backend.js"
import * as GeminiLive from "../GeminiLive.js"
import type { AudioError, LiveError, ServerClosed, SessionClosed } from "../LiveError.js"
import type { LiveEvent } from "../LiveEvent.js"
import type { LiveSession } from "../LiveSession.js"
import type * as Protocol from "../Protocol.js"
import * as Connection from "./connection.js"
import { CliError } from "./errors.js"

/**
 * The options of `talk`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TalkOptions {
  /** The WAV file of the spoken turn. */
  readonly input: string | undefined
  /** A text turn, sent before the spoken one when both are given. */
  readonly text: string | undefined
  /** Where the reply audio goes; `undefined`: not saved. */
  readonly output: string | undefined
  /** The format of `output` (default: 24 kHz PCM16, what the model speaks). */
  readonly outputFormat: Audio.Format
  readonly backend: Backend.Kind | undefined
  readonly model: string | undefined
  /** Send the audio at real time (and pace the embedded emulator's replies); default: as fast as possible. */
  readonly realtime: boolean
  /** Use the embedded emulator even with credentials in the environment. */
  readonly emulator: boolean
  /** Give up when the server says nothing for this long after the input has been sent. */
  readonly timeout: Duration.Duration
}

/**
 * The session's configuration: spoken replies, both transcriptions.
 *
 * @since 0.1.0
 * @category Constants
 */
export const connectConfig: Protocol.LiveConnectConfig = {
  responseModalities: ["AUDIO"],
  inputAudioTranscription: {},
  outputAudioTranscription: {}
}

/**
 * How a format is said: `16 kHz PCM16`, `8 kHz mu-law`, `8 kHz A-law`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const describeFormat = (format: Audio.Format): string =>
  `${format.sampleRate / 1000} kHz ${
    format.encoding === "pcm16" ? "PCM16" : format.encoding === "mulaw" ? "mu-law" : "A-law"
  }`

const seconds = (millis: number): string => `${(millis / 1000).toFixed(2)} s`

/** The input is handed to `sendAudio` in slices of this length, which the progress line counts. */
const sliceMillis = 100

/** What the whole run has seen so far (one run, one session: plain mutable state). */
interface Tally {
  sentMillis: number
  receivedMillis: number
  readonly audio: Array<{ readonly data: Uint8Array; readonly sampleRate: number }>
  turns: number
  interruptions: number
  promptTokens: number
  responseTokens: number
  totalTokens: number
  /** When the server last said something, or the input last ended (for `--timeout`). */
  lastHeardAt: number
}

/** The reply audio, converted to `format` (24 kHz PCM16 from the Live API: passed through). */
const convertReply = (audio: Tally["audio"], format: Audio.Format): Effect.Effect<Uint8Array, AudioError> =>
  Effect.try({
    try: () => {
      const parts: Array<Uint8Array> = []
      let converter: Audio.Converter | undefined
      for (const chunk of audio) {
        if (converter === undefined || converter.from.sampleRate !== chunk.sampleRate) {
          if (converter !== undefined) parts.push(converter.flush())
          if (!Audio.isSampleRate(chunk.sampleRate)) {
            throw new Error(`the reply audio is at ${chunk.sampleRate} Hz: supported rates are ${Audio.SAMPLE_RATES.join(", ")}`)
          }
          converter = Audio.makeConverter(Audio.pcm16(chunk.sampleRate), format)
        }
        parts.push(converter.push(chunk.data))
      }
      if (converter !== undefined) parts.push(converter.flush())
      return Buffer.concat(parts)
    },
    catch: (error) => Audio.toAudioError("makeConverter", error)
  })

/**
 * Reads the events of one model turn, printing transcripts line by line ("you: ...", "model: ..."):
 * until its `TurnComplete`, or, when the model was interrupted (barge-in), until the `TurnComplete`
 * of the reply that follows. Fails with the server's error if the session ends first.
 */
const readTurn = (session: LiveSession, tally: Tally): Effect.Effect<void, ServerClosed | CliError> =>
  Effect.suspend(() => {
    let you = ""
    let model = ""
    let interrupted = false
    let turnUsage: Protocol.UsageMetadata | undefined
    let closed: Extract<LiveEvent, { _tag: "Closed" }> | undefined
    let complete = false

    const sayYou = Effect.suspend(() => {
      const line = you.trim()
      you = ""
      return line === "" ? Effect.void : Console.log(`you: ${line}`)
    })
    const sayModel = (mark?: string) =>
      Effect.suspend(() => {
        const line = [model.trim(), mark].filter((part) => part !== undefined && part !== "").join(" ")
        model = ""
        return line === "" ? Effect.void : Console.log(`model: ${line}`)
      })

    const onEvent = (event: LiveEvent): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        if (event._tag !== "Closed") tally.lastHeardAt = yield* Clock.currentTimeMillis
        switch (event._tag) {
          case "InputTranscription":
            yield* sayModel()
            you += event.text
            if (event.finished) yield* sayYou
            return true
          case "OutputTranscription":
            yield* sayYou
            model += event.text
            return true
          case "TextDelta":
            if (!event.thought) {
              yield* sayYou
              model += event.text
            }
            return true
          case "AudioDelta":
            yield* sayYou
            tally.audio.push({ data: event.data, sampleRate: event.sampleRate })
            tally.receivedMillis += Math.floor(event.data.byteLength / 2) * 1000 / event.sampleRate
            return true
          case "Interrupted":
            interrupted = true
            tally.interruptions++
            yield* sayYou
            yield* sayModel("[interrupted]")
            return true
          case "GenerationComplete":
            yield* sayModel()
            return true
          case "UsageMetadata":
            turnUsage = event.usage
            return true
          case "GoAway":
            yield* Console.log(`the server will close the connection in ${event.timeLeft ?? "a moment"}`)
            return true
          case "TurnComplete": {
            yield* sayYou
            yield* sayModel()
            tally.turns++
            tally.promptTokens += turnUsage?.promptTokenCount ?? 0
            tally.responseTokens += turnUsage?.responseTokenCount ?? 0
            tally.totalTokens += turnUsage?.totalTokenCount ?? 0
            turnUsage = undefined
            // After a barge-in, the reply to the interrupting input follows.
            if (interrupted) {
              interrupted = false
              return true
            }
            complete = true
            return false
          }
          case "Closed":
            closed = event
            return false
          default:
            return true
        }
      })

    return session.events.pipe(
      Stream.runForEachWhile(onEvent),
      Effect.zipRight(Effect.suspend((): Effect.Effect<void, ServerClosed | CliError> => {
        if (complete) return Effect.void
        if (closed?.error !== undefined) return Effect.fail(closed.error)
        const info = closed?.info
        return Effect.fail(
          new CliError({
            message: `the session closed before the model's turn completed${
              info === undefined ? "" : ` (code ${info.code}${info.reason === "" ? "" : `: ${info.reason}`})`
            }`
          })
        )
      }))
    )
  })

/** Fails when the server has said nothing for `timeout` (counted from `tally.lastHeardAt`). */
const watchdog = (tally: Tally, timeout: Duration.Duration): Effect.Effect<never, CliError> =>
  Effect.gen(function*() {
    const limit = Duration.toMillis(timeout)
    while (true) {
      const wait = tally.lastHeardAt + limit - (yield* Clock.currentTimeMillis)
      if (wait <= 0) {
        return yield* new CliError({
          message: `no reply: the server said nothing for ${Duration.format(timeout)} after the input (is there speech in it? see --timeout)`
        })
      }
      yield* Effect.sleep(wait)
    }
  })

/**
 * One exchange: reads the turn's events while `send` sends (so the reply can stream in while the
 * input is still going out), then waits for the turn's end, at most `timeout` of silence after the
 * input. If the send fails because the session closed, the reader's error (the server's close
 * code and reason) is the one reported.
 */
const exchange = <A, E>(
  session: LiveSession,
  tally: Tally,
  timeout: Duration.Duration,
  send: Effect.Effect<A, E | SessionClosed>
): Effect.Effect<A, E | SessionClosed | ServerClosed | CliError> =>
  Effect.gen(function*() {
    const reader = yield* Effect.fork(readTurn(session, tally))
    const result = yield* send.pipe(
      Effect.catchIf(
        (error): error is SessionClosed => (error as { _tag?: unknown })._tag === "SessionClosed",
        (error) => Effect.zipRight(Fiber.join(reader), Effect.fail(error))
      ),
      Effect.onError(() => Fiber.interrupt(reader))
    )
    tally.lastHeardAt = yield* Clock.currentTimeMillis
    yield* Effect.raceFirst(Fiber.join(reader), watchdog(tally, timeout))
    return result
  })

/** Prints `sent ... / received ...` every second while it changes. */
const progress = (tally: Tally) =>
  Effect.suspend(() => {
    let last = ""
    return Effect.repeat(
      Effect.suspend(() => {
        const line = `progress: sent ${seconds(tally.sentMillis)}, received ${seconds(tally.receivedMillis)}`
        if (line === last || tally.sentMillis + tally.receivedMillis === 0) return Effect.void
        last = line
        return Console.log(line)
      }),
      Schedule.spaced("1 second")
    )
  })

/**
 * The conversation itself, with the `GeminiLive` client in context: connect, the text turn, the
 * spoken turn, close, write the reply, print the summary.
 *
 * @since 0.1.0
 * @category Actions
 */
export const conversation = (
  options: TalkOptions,
  input: Audio.Wav | undefined
): Effect.Effect<void, LiveError | CliError, GeminiLive.GeminiLive> =>
  Effect.scoped(Effect.gen(function*() {
    const tally: Tally = {
      sentMillis: 0,
      receivedMillis: 0,
      audio: [],
      turns: 0,
      interruptions: 0,
      promptTokens: 0,
      responseTokens: 0,
      totalTokens: 0,
      lastHeardAt: 0
    }
    const session = yield* GeminiLive.connect()
    // Closed with 1000 however the conversation ends (a failure, Ctrl-C), before the scope ends.
    yield* Effect.addFinalizer(() => session.close())
    yield* Console.log(`connected: ${session.setup.model}`)
    const ticker = yield* Effect.forkScoped(Effect.delay(progress(tally), "1 second"))

    if (options.text !== undefined) {
      const text = options.text
      yield* Console.log(`you: ${text}`)
      // Realtime text: every Live model takes it (3.1 takes clientContent only as initial history).
      yield* exchange(session, tally, options.timeout, session.sendRealtimeInput({ text }))
    }

    if (input !== undefined) {
      const slice = Math.max(Audio.bytesFor(input.format, sliceMillis), 2)
      const slices = Stream.fromIterable(
        Array.from({ length: Math.ceil(input.data.length / slice) }, (_, i) => input.data.subarray(i * slice, (i + 1) * slice))
      ).pipe(
        Stream.tap((chunk) => Effect.sync(() => (tally.sentMillis += Audio.durationMillis(input.format, chunk.length))))
      )
      const sent = yield* exchange(
        session,
        tally,
        options.timeout,
        session.sendAudio(slices, { format: input.format, pacing: options.realtime ? "realtime" : "none" }).pipe(
          Effect.tap((summary) =>
            Console.log(`sent ${seconds(summary.durationMillis)} of audio (${summary.framesSent} frames, then audioStreamEnd)`)
          )
        )
      )
      tally.sentMillis = sent.durationMillis
    }

    yield* Fiber.interrupt(ticker)
    const closed = yield* session.close()

    const reply = yield* convertReply(tally.audio, options.outputFormat)
    const replyMillis = Audio.durationMillis(options.outputFormat, reply.length)
    yield* Console.log(
      `received ${seconds(tally.receivedMillis)} of audio in ${tally.turns} ${tally.turns === 1 ? "turn" : "turns"}${
        tally.interruptions > 0 ? ` (${tally.interruptions} interrupted)` : ""
      }`
    )
    if (options.output !== undefined) {
      yield* Audio.writeWavFile(options.output, options.outputFormat, reply)
      yield* Console.log(`wrote ${options.output}: ${seconds(replyMillis)} of ${describeFormat(options.outputFormat)}`)
    } else {
      yield* Console.log("reply audio not saved (no --out)")
    }
    yield* Console.log(
      `usage: ${tally.promptTokens} prompt + ${tally.responseTokens} response = ${tally.totalTokens} tokens`
    )
    yield* Console.log(`closed: ${closed.code}${closed.reason === "" ? "" : ` ${closed.reason}`}${closed.wasClean ? "" : " (not clean)"}`)
  }))

/** Fails early (before anything is spent on the service) when `path` cannot be written. */
const checkWritable = (path: string): Effect.Effect<void, CliError> =>
  Effect.tryPromise({
    try: async () => {
      const directory = Path.dirname(path)
      const stat = await Fs.stat(directory).catch(() => undefined)
      if (stat === undefined || !stat.isDirectory()) return `the directory ${directory} does not exist`
      if (await Fs.stat(path).then((file) => file.isDirectory(), () => false)) return "it is a directory"
      return Fs.access(directory, Fs.constants.W_OK).then(() => undefined, () => `the directory ${directory} is not writable`)
    },
    catch: (error) => new CliError({ message: `cannot write ${path}: ${String(error)}` })
  }).pipe(
    Effect.flatMap((problem) =>
      problem === undefined ? Effect.void : Effect.fail(new CliError({ message: `cannot write ${path}: ${problem}` }))
    )
  )

/**
 * `gemini-live talk`: checks that the output can be written and reads the input WAV first (an
 * unsupported one fails before anything connects), then holds the conversation with the real
 * service or the embedded emulator.
 *
 * @since 0.1.0
 * @category Actions
 */
export const talk = (options: TalkOptions): Effect.Effect<void, LiveError | CliError> =>
  Effect.gen(function*() {
    if (options.output !== undefined) yield* checkWritable(options.output)
    const input = options.input === undefined ? undefined : yield* Audio.readWavFile(options.input)
    if (input !== undefined && options.input !== undefined) {
      const millis = Audio.durationMillis(input.format, input.data.length)
      yield* Console.log(`read ${options.input}: ${seconds(millis)} of ${describeFormat(input.format)}`)
    }
    yield* conversation(options, input).pipe(
      Effect.provide(Connection.layer({
        backend: options.backend,
        model: options.model,
        emulator: options.emulator,
        realtime: options.realtime,
        connectConfig
      }))
    )
  })
