// The ts blocks of docs/long-sessions.md, type-checked, not run (test/readme.test.ts finds each block here).
import { Effect, Schedule } from "effect"
import { GeminiLive, ReconnectPolicy } from "effect-gemini-live"

export const withPolicy = Effect.gen(function*() {
  const client = yield* GeminiLive.GeminiLive
  const session = yield* client.connect({
    reconnect: ReconnectPolicy.make({
      schedule: Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(3))),
      stableAfter: "30 seconds"
    })
  })
  return session
})
