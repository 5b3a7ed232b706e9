// The ts blocks of docs/models.md, type-checked, not run (test/readme.test.ts finds each block here).
import { Layer } from "effect"
import { GeminiLive, LiveModel } from "effect-gemini-live"

export const withModel = (apiKey: string) => {
  const Live = GeminiLive.layer({ apiKey, model: "gemini-3.9-live" }).pipe(
    Layer.provide(LiveModel.layer([
      { name: "gemini-3.9-live", GeminiAPI: { clientContent: "session", defaultBehavior: "NON_BLOCKING", thinking: false } }
    ]))
  )
  return Live
}
