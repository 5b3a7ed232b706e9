// The README's "In 20 lines" example, type-checked (test/readme.test.ts keeps the two equal).
import { Console, Effect, Stream } from "effect"
import { GeminiLive, LiveEvent } from "effect-gemini-live"

const program = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()          // open, send setup, await setupComplete
  yield* session.sendClientContent({ turns: "Hello! Who are you?" })
  yield* session.events.pipe(
    Stream.takeUntil(LiveEvent.is("TurnComplete")),    // one turn; read again for the next
    Stream.runForEach((event) =>
      event._tag === "OutputTranscription" ? Console.log(`model: ${event.text}`)
      : event._tag === "AudioDelta" ? Console.log(`audio: ${event.data.byteLength} bytes`)
      : Effect.void)
  )
})

const Live = GeminiLive.layer({
  apiKey: process.env.GEMINI_API_KEY!,
  connectConfig: { responseModalities: ["AUDIO"], outputAudioTranscription: {} }
})
program.pipe(Effect.scoped, Effect.provide(Live), Effect.runPromise) // scope end: close 1000
