/**
 * `session.audioInput` against a scripted sink: what happens when the connection cannot take
 * frames, when the session or the input's scope closes, and when `end` is called twice.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { SessionClosed } from "../src/LiveError.js"
import * as AudioInput from "../src/internal/audio/audioInput.js"
import type * as Framer from "../src/internal/audio/framer.js"

const frame = new Uint8Array(1280) // 40 ms of 16 kHz PCM16
const closedError = new SessionClosed({ module: "LiveSession", method: "audioInput", code: 1000, reason: "" })

const sinkOf = (overrides: Partial<Framer.Sink>): Framer.Sink => ({
  write: () => Effect.void,
  trySend: () => true,
  awaitWritable: Effect.void,
  automaticActivityDetection: true,
  framesDropped: () => {},
  ...overrides
})

describe("audioInput", () => {
  // Frames wait while the connection cannot take them (a reconnection); they count as dropped.
  it.live("scope closing drops the waiting frames; end returns at once", () =>
    Effect.gen(function*() {
      let dropped = 0
      const sink = sinkOf({ trySend: () => false, write: () => Effect.never, framesDropped: (n) => void (dropped += n) })
      const scope = yield* Scope.make()
      const input = yield* Scope.extend(AudioInput.make(sink), scope)
      expect(input.unsafeOffer(new Uint8Array(1280 * 3))).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(input.unsafeOffer(frame)).toBe(false)
      const summary = yield* Effect.timeoutFail(input.end, { duration: "1 second", onTimeout: () => "end hung" })
      // The first frame was being written when the scope closed; the two behind it were dropped.
      expect(summary).toMatchObject({ framesSent: 0, framesDropped: 2 })
      expect(dropped).toBe(2)
    }))

  // Offered by a finalizer that runs before the input's own has stopped it.
  it.live("a chunk offered as the scope closes is not written after", () =>
    Effect.gen(function*() {
      let written = 0
      const sink = sinkOf({ trySend: () => false, write: () => Effect.delay(Effect.sync(() => void written++), "10 millis") })
      const scope = yield* Scope.make()
      const input = yield* Scope.extend(AudioInput.make(sink), scope)
      // Something released before the input (added after it), whose callback still delivers audio.
      yield* Scope.addFinalizer(scope, Effect.sync(() => input.unsafeOffer(frame)))
      yield* Scope.close(scope, Exit.void)
      const atClose = written
      yield* Effect.sleep("60 millis")
      expect({ atClose, later: written }).toEqual({ atClose: 0, later: 0 })
    }))

  // The session closed: one write fails, later chunks are refused, end fails with SessionClosed.
  it.effect("closed session: refused after one failed write, end fails", () =>
    Effect.gen(function*() {
      let writes = 0
      const sink = sinkOf({
        trySend: () => false,
        write: () =>
          Effect.suspend(() => {
            writes++
            return Effect.fail(closedError)
          })
      })
      const input = yield* AudioInput.make(sink)
      expect(input.unsafeOffer(new Uint8Array(1280 * 5))).toBe(false)
      expect(writes).toBe(1)
      expect(input.unsafeOffer(frame)).toBe(false)
      expect(yield* Effect.exit(input.end)).toEqual(Exit.fail(closedError))
    }).pipe(Effect.scoped))

  // Both calls return once audioStreamEnd is written, and it is written once.
  it.effect("end twice: both wait for one audioStreamEnd", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const wire: Array<string> = []
      const sink = sinkOf({
        trySend: () => (wire.push("frame"), true),
        write: (_method, json) =>
          Effect.zipRight(Deferred.await(gate), Effect.sync(() => wire.push(json.includes("audioStreamEnd") ? "end" : "frame")))
      })
      const input = yield* AudioInput.make(sink)
      input.unsafeOffer(new Uint8Array(100))
      const first = yield* Effect.fork(input.end)
      const second = yield* Effect.fork(input.end)
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(first.unsafePoll()).toBeNull()
      expect(second.unsafePoll()).toBeNull()
      yield* Deferred.succeed(gate, undefined)
      const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
      expect(a).toBe(b)
      expect(wire).toEqual(["frame", "end"])
    }).pipe(Effect.scoped))
})
