// The ts blocks of docs/tools.md and the README's "Tools", type-checked, not run
// (test/readme.test.ts finds each block here).
import { Effect, Schema } from "effect"
import { GeminiLive, Tool } from "effect-gemini-live"

/** The application's weather service. */
declare const Weather: { readonly lookup: (city: string) => Effect.Effect<{ readonly sky: string; readonly celsius: number }> }

export const connectWithTools = Effect.gen(function*() {
  const getWeather = Tool.make("getWeather", {
    description: "Gets the current weather of a city",
    parameters: Schema.Struct({ city: Schema.String }),
    handler: ({ city }) => Weather.lookup(city)          // an Effect; its services come from connect's caller
  })
  const session = yield* GeminiLive.connect({ tools: Tool.toolkit(getWeather) })
  return session
})
