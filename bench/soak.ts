/**
 * The soak scenario: one session for 30 simulated minutes, audio in and out, across the connection
 * cap, against the `LiveEmulator` (in memory, on a simulated clock: minutes of conversation take
 * seconds).
 *
 *   npx tsx bench/soak.ts            (also the soak scenario of `npm run bench`)
 *
 * The emulator closes each connection after `capMinutes` (4: shorter than the service's ten minutes,
 * for more handovers), with a `goAway` `goAwaySeconds` before. The client streams 16 kHz audio in
 * 40 ms frames, paced at real time (on the simulated clock): silence, with two seconds of "speech"
 * (a tone) opening every `turnEverySeconds`; each spoken turn is answered with one second of 24 kHz audio,
 * read from `session.audio`. Every frame carries its number (in the low bytes of its first samples,
 * too quiet to be heard as speech), and the emulator checks what arrives: each frame exactly once,
 * in order, whatever connection it came on.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scheduler from "effect/Scheduler"
import * as Stream from "effect/Stream"
import { pathToFileURL } from "node:url"
import * as GeminiLive from "../src/GeminiLive.js"
import * as LiveEmulator from "../src/testing/LiveEmulator.js"

export interface SoakInput {
  readonly minutes: number
  readonly capMinutes: number
  readonly goAwaySeconds: number
  readonly turnEverySeconds: number
}

/** What `npm run bench` runs: 30 minutes, seven or more handovers. */
export const fullSoak: SoakInput = { minutes: 30, capMinutes: 4, goAwaySeconds: 60, turnEverySeconds: 20 }

/** The smoke run's: 3 minutes, five or more handovers. */
export const quickSoak: SoakInput = { minutes: 3, capMinutes: 0.5, goAwaySeconds: 10, turnEverySeconds: 20 }

export interface SoakResult {
  readonly simulatedMinutes: number
  readonly wallSeconds: number
  readonly connections: number
  /** goAway handovers (`Reconnected` after `Reconnecting { reason: "GoAway" }`). */
  readonly handovers: number
  /** Reconnections after an unexpected close (none expected). */
  readonly reconnects: number
  readonly framesSent: number
  readonly framesReceived: number
  /** Frames the emulator never saw. */
  readonly framesLost: number
  /** Frames the emulator saw more than once, or out of order. */
  readonly framesDuplicatedOrReordered: number
  readonly turnsSpoken: number
  readonly turnsAnswered: number
  readonly modelAudioSentBytes: number
  readonly modelAudioReceivedBytes: number
}

const frameMillis = 40
const frameSamples = (16_000 * frameMillis) / 1000
const speechMillis = 2_000
/** One second of 24 kHz PCM16: the model's answer to each turn. */
const answer = new Uint8Array(48_000).fill(1)

/** Frame `n`: silence or a tone, numbered in the low bytes of its first three samples. */
const frame = (n: number, turnEveryMillis: number): Uint8Array => {
  const samples = new Int16Array(frameSamples)
  const at = (n * frameMillis) % turnEveryMillis
  if (at < speechMillis) {
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * frameSamples + i)) / 16_000))
  }
  samples[0] = n & 0xff
  samples[1] = (n >> 8) & 0xff
  samples[2] = (n >> 16) & 0xff
  return new Uint8Array(samples.buffer)
}

const frameNumber = (message: unknown): number | undefined => {
  const data = (message as { realtimeInput?: { audio?: { data?: string } } }).realtimeInput?.audio?.data
  if (data === undefined) return undefined
  const bytes = Buffer.from(data, "base64")
  return bytes[0] | (bytes[2] << 8) | (bytes[4] << 16)
}

/**
 * A simulated clock: `sleep` waits for simulated time, which jumps to the next sleeper's deadline
 * whenever everything that can run has run (see `simulate`). (The `TestClock` would do, but it gives each woken
 * sleeper a timer turn of the event loop: a millisecond a frame, minutes for 30 minutes of audio.)
 */
const makeVirtualClock = () => {
  let now = 0
  const sleepers: Array<{ readonly at: number; readonly wake: () => void }> = []
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const sleeper = { at: now + Duration.toMillis(duration), wake: () => resume(Effect.void) }
        // Sorted by deadline, first come first served for equal ones.
        let i = sleepers.length
        while (i > 0 && sleepers[i - 1].at > sleeper.at) i--
        sleepers.splice(i, 0, sleeper)
        return Effect.sync(() => {
          const index = sleepers.indexOf(sleeper)
          if (index >= 0) sleepers.splice(index, 1)
        })
      })
  }
  /** Wakes the sleepers of the next deadline; false if there are none. */
  const advance = (): boolean => {
    const next = sleepers[0]
    if (next === undefined) return false
    now = next.at
    while (sleepers.length > 0 && sleepers[0].at === now) sleepers.shift()!.wake()
    return true
  }
  return { clock, advance }
}

const idle = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Runs `effect` on a simulated clock and a scheduler of its own: every fiber's work is a task in one
 * queue, so "nothing can run" is exact (the queue is empty), and only then does the clock move.
 */
const simulate = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const { advance, clock } = makeVirtualClock()
  let tasks: Array<Scheduler.Task> = []
  const scheduler = Scheduler.make((task) => {
    tasks.push(task)
  }, Scheduler.defaultShouldYield)
  const fiber = Effect.runFork(effect.pipe(Effect.withClock(clock), Effect.withScheduler(scheduler)))
  let stuck = 0
  while (true) {
    while (tasks.length > 0) {
      const batch = tasks
      tasks = []
      for (const task of batch) task()
    }
    const exit = fiber.unsafePoll()
    if (exit !== null) return Effect.runPromise(exit)
    if (advance()) {
      stuck = 0
    } else {
      // Nothing queued, nobody sleeping: the fiber's start, or work outside Effect; give it a turn.
      if (++stuck > 1_000) throw new Error("soak: nothing to run and nobody sleeping")
      await idle()
    }
  }
}

export const measureSoak = (input: SoakInput): Promise<SoakResult> => {
  const started = performance.now()
  const turnEveryMillis = input.turnEverySeconds * 1000
  const frames = Math.round((input.minutes * 60_000) / frameMillis)
  let expected = 0
  let framesReceived = 0
  let disorder = 0
  let turnsAnswered = 0
  return Effect.gen(function*() {
    const emulator = yield* LiveEmulator.make({
      connectionLifetime: `${input.capMinutes * 60} seconds`,
      goAwayBefore: `${input.goAwaySeconds} seconds`,
      recordLimits: { messagesPerDirection: 100 },
      onMessage: (message) => {
        const n = frameNumber(message)
        if (n !== undefined) {
          framesReceived++
          if (n === expected) expected++
          else disorder++
        }
        return undefined
      },
      onTurn: () => {
        turnsAnswered++
        return [LiveEmulator.say("Mm-hmm.", { audio: answer })]
      }
    })
    const client = yield* GeminiLive.GeminiLive.pipe(
      Effect.provide(GeminiLive.layer({ apiKey: "soak" }).pipe(Layer.provide(emulator.layerTransport)))
    )
    const session = yield* client.connect()
    let handovers = 0
    let reconnects = 0
    let goingAway = false
    let audioReceived = 0
    yield* session.events.pipe(
      Stream.runForEach((event) =>
        Effect.sync(() => {
          if (event._tag === "Reconnecting") goingAway = event.reason === "GoAway"
          if (event._tag !== "Reconnected") return
          if (goingAway) handovers++
          else reconnects++
        })
      ),
      Effect.forkScoped
    )
    yield* session.audio.pipe(Stream.runForEach((chunk) => Effect.sync(() => (audioReceived += chunk.data.byteLength))), Effect.forkScoped)
    const audio = Stream.range(0, frames - 1).pipe(Stream.map((n) => frame(n, turnEveryMillis)))
    const summary = yield* session.sendAudio(audio, { frameMillis, audioStreamEnd: false })
    // The last turn's answer.
    yield* Effect.sleep("5 seconds")
    yield* session.close()
    return {
      simulatedMinutes: input.minutes,
      wallSeconds: Math.round(performance.now() - started) / 1000,
      connections: (yield* emulator.connections).length,
      handovers,
      reconnects,
      framesSent: summary.framesSent,
      framesReceived,
      framesLost: frames - expected,
      framesDuplicatedOrReordered: disorder,
      turnsSpoken: Math.ceil((frames * frameMillis) / turnEveryMillis),
      turnsAnswered,
      modelAudioSentBytes: turnsAnswered * answer.byteLength,
      modelAudioReceivedBytes: audioReceived
    } satisfies SoakResult
  }).pipe(Effect.scoped, simulate)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick")
  measureSoak(quick ? quickSoak : fullSoak).then(
    (result) => console.table(result),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
