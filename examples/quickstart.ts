/**
 * The quickstart (`npm start`): one spoken conversation turn, printed as it happens.
 *
 * With GEMINI_API_KEY (or GOOGLE_API_KEY) in the environment it talks to the Gemini API; without,
 * it starts the embedded emulator on loopback and talks to that: the same program either way.
 */
import { Console, Effect, Layer, Stream } from "effect"
import { GeminiLive, LiveEvent } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"

const connectConfig = {
  responseModalities: ["AUDIO"],
  systemInstruction: "You are a friendly assistant. Answer in one or two sentences.",
  inputAudioTranscription: {},
  outputAudioTranscription: {}
}

const conversation = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  yield* Console.log(`connected: session ${session.id} (model ${session.setup.model})`)

  yield* session.sendClientContent({ turns: "Hello! What can you do for me?" })
  yield* Console.log(`you: Hello! What can you do for me?`)

  let audioBytes = 0
  let transcript = ""
  yield* session.events.pipe(
    Stream.takeUntil(LiveEvent.is("TurnComplete")),
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "SetupComplete":
          return Console.log("setup complete")
        case "AudioDelta":
          audioBytes += event.data.byteLength
          return Console.log(`  audio: +${event.data.byteLength} bytes (${event.sampleRate} Hz PCM16), ${audioBytes} so far`)
        case "TextDelta":
          return Console.log(`  text: ${event.text}`)
        case "OutputTranscription":
          return Effect.sync(() => (transcript += event.text))
        case "GenerationComplete":
          return Console.log(`model: ${transcript}`)
        case "UsageMetadata":
          return Console.log(`usage: ${event.usage.promptTokenCount} prompt + ${event.usage.responseTokenCount} response tokens`)
        case "TurnComplete":
          return Console.log(`turn complete: ${(audioBytes / 48_000).toFixed(2)} s of audio`)
        default:
          return Effect.void
      }
    })
  )

  const closed = yield* session.close()
  yield* Console.log(`closed cleanly: code ${closed.code}, wasClean ${closed.wasClean}`)
}).pipe(Effect.scoped)

const hasKey = process.env.GEMINI_API_KEY !== undefined || process.env.GOOGLE_API_KEY !== undefined

/** The real service from the environment, or the embedded emulator on loopback. */
const Live = hasKey
  ? GeminiLive.layerConfig({ connectConfig })
  : Layer.unwrapScoped(Effect.gen(function*() {
    const emulator = yield* LiveEmulator.make({ realtime: true })
    yield* Console.log(`no GEMINI_API_KEY: using the embedded emulator at ${emulator.url}`)
    return GeminiLive.layer({ apiKey: "emulator", connectConfig, httpOptions: { baseUrl: emulator.url } })
  }))

conversation.pipe(
  Effect.provide(Live),
  Effect.tapErrorCause(Effect.logError),
  Effect.runPromise
).catch(() => {
  process.exitCode = 1
})
