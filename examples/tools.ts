/**
 * Typed tools: the model calls a function, the session answers it by itself.
 *
 * `getWeather` is declared from its Schema (the model sees a JSON Schema of its parameters) and
 * answered automatically: its arguments decoded, its handler run in a fiber of its own, its result
 * sent back with the call's id and name. With GEMINI_API_KEY set the real model decides when to call
 * it; without, the embedded emulator plays a model that calls it when asked about the weather.
 */
import { Console, Effect, Layer, Schema, Stream } from "effect"
import { GeminiLive, LiveEvent, Tool } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"

const getWeather = Tool.make("getWeather", {
  description: "Gets the current weather of a city",
  parameters: Schema.Struct({
    city: Schema.String.annotations({ description: "The city, e.g. Paris" })
  }),
  handler: ({ city }) =>
    Effect.gen(function*() {
      yield* Console.log(`  (tool) getWeather(${city})`)
      return { city, sky: "clear", celsius: 21 }
    })
})

const conversation = Effect.gen(function*() {
  const session = yield* GeminiLive.connect({ tools: Tool.toolkit(getWeather) })
  yield* session.sendClientContent({ turns: "What's the weather like in Paris?" })
  yield* Console.log("you: What's the weather like in Paris?")
  let answer = ""
  yield* session.events.pipe(
    Stream.takeUntil(LiveEvent.is("TurnComplete")),
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "ToolCall":
          return Console.log(`model calls: ${event.functionCalls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join(", ")}`)
        case "OutputTranscription":
          return Effect.sync(() => (answer += event.text))
        case "GenerationComplete":
          return Console.log(`model: ${answer}`)
        default:
          return Effect.void
      }
    })
  )
}).pipe(Effect.scoped)

// gemini-3.8-live (the default) answers in audio: its transcript is the text.
const connectConfig = { responseModalities: ["AUDIO"], outputAudioTranscription: {} }

const Live = process.env.GEMINI_API_KEY !== undefined || process.env.GOOGLE_API_KEY !== undefined
  ? GeminiLive.layerConfig({ connectConfig })
  : Layer.unwrapScoped(Effect.gen(function*() {
    const emulator = yield* LiveEmulator.make({
      // The emulated model: asked about the weather, it calls getWeather; given the result, it says it.
      onTurn: (turn) =>
        turn.text?.includes("weather")
          ? [LiveEmulator.send({ toolCall: { functionCalls: [{ id: "call-1", name: "getWeather", args: { city: "Paris" } }] } })]
          : LiveEmulator.defaultTurn(turn)
    })
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
