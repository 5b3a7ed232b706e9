/**
 * Long sessions: goAway handover, reconnect after a drop with the resumption handle, the close-code
 * policy, and sends issued while reconnecting delivered once, in order.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { GeminiLive, LiveEvent, type Parameters } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

type Event = LiveEvent.LiveEvent

const client = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}) =>
  GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
    apiKey: "k",
    connectConfig: { responseModalities: ["TEXT"] },
    ...parameters,
    httpOptions: { baseUrl: emulator.url, timeout: 5000 }
  })))

/** The model says which turn of the conversation this is, and whether the connection was resumed. */
const counting = (turn: LiveEmulator.Turn) =>
  turn.text === "drop"
    ? [LiveEmulator.drop]
    : turn.text === "refuse"
    ? [LiveEmulator.close(1007, "Request contains an invalid argument.")]
    : [LiveEmulator.say(`turn ${turn.index} ${turn.resumed ? "resumed" : "fresh"}: ${turn.text}`)]

const untilTurn = (events: Stream.Stream<Event>) =>
  events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

const text = (events: ReadonlyArray<Event>) => events.flatMap((e) => (e._tag === "TextDelta" ? [e.text] : [])).join("")

const texts = (messages: ReadonlyArray<unknown>) =>
  messages.flatMap((m) => {
    const t = (m as { realtimeInput?: { text?: string } }).realtimeInput?.text
    return t === undefined ? [] : [t]
  })

describe("long sessions", () => {
  it.scopedLive("goAway: a handover at a safe point, resumed, one uninterrupted events stream", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting, connectionLifetime: "1500 millis", goAwayBefore: "1 second" })
      const closes: Array<number> = []
      const session = yield* (yield* client(emulator, { onWebSocketClose: (e) => closes.push(e.code) })).connect()
      yield* session.sendRealtimeInput({ text: "one" })
      expect(text(yield* untilTurn(session.events))).toBe("turn 0 fresh: one")
      const handover = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      const tags = handover.map((e) => e._tag).filter((t) => t !== "SessionResumptionUpdate")
      expect(tags).toEqual(["GoAway", "Reconnecting", "Reconnected"])
      expect(handover.at(-1)).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 1 }))
      yield* session.sendRealtimeInput({ text: "two" })
      expect(text(yield* untilTurn(session.events))).toBe("turn 1 resumed: two")
      const records = yield* emulator.connections
      expect(records.length).toBe(2)
      expect(records[1].resumedFrom).toBeDefined()
      expect(yield* emulator.awaitClosed(0)).toMatchObject({ code: 1000 })
      expect(texts(records[0].clientMessages)).toEqual(["one"])
      expect(texts(records[1].clientMessages)).toEqual(["two"])
      yield* Effect.repeat(Effect.sleep("10 millis"), { until: () => closes.length > 0, times: 100 })
      expect(closes).toEqual([1000])
    }))

  it.scopedLive("an abrupt drop: reconnect with the handle; a send issued meanwhile arrives once", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting })
      const closes: Array<number> = []
      const session = yield* (yield* client(emulator, { onWebSocketClose: (e) => closes.push(e.code), statistics: true })).connect()
      yield* session.sendRealtimeInput({ text: "one" })
      yield* untilTurn(session.events)
      yield* session.sendRealtimeInput({ text: "drop" })
      const reconnecting = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnecting")), Stream.runCollect)
      expect(Chunk.toReadonlyArray(reconnecting).at(-1)).toMatchObject({ _tag: "Reconnecting", reason: "Closed", close: { code: 1006 } })
      // Issued while there is no connection: it waits and goes out on the next one.
      yield* session.sendRealtimeInput({ text: "after" })
      const after = yield* untilTurn(session.events)
      expect(after.find(LiveEvent.is("Reconnected"))).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 1 }))
      // The dropped turn was never answered: the resumed conversation goes on from turn 1.
      expect(text(after)).toBe("turn 1 resumed: after")
      const records = yield* emulator.connections
      expect(records.flatMap((r) => texts(r.clientMessages))).toEqual(["one", "drop", "after"])
      expect(closes).toEqual([1006])
      expect((yield* session.statistics).reconnects).toBe(1)
    }))

  it.scopedLive("1007 ends the session (no retry storm): Closed with a ServerClosed, one connection", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting })
      const session = yield* (yield* client(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "refuse" })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(session.events))
      const closed = events.at(-1)
      expect(closed?._tag).toBe("Closed")
      if (closed?._tag !== "Closed") return
      expect(closed.error).toMatchObject({ _tag: "ServerClosed", code: 1007 })
      expect(closed.error?.retryable).toBe(false)
      expect(events.some(LiveEvent.is("Reconnecting"))).toBe(false)
      expect((yield* emulator.connections).length).toBe(1)
      expect(yield* Effect.flip(session.sendRealtimeInput({ text: "x" }))).toMatchObject({ _tag: "SessionClosed", code: 1007 })
    }))

  it.scopedLive("a refused handle: the session starts afresh rather than fail", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting, acceptResumptionHandle: () => false })
      const session = yield* (yield* client(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "drop" })
      yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnecting")), Stream.runDrain)
      yield* session.sendRealtimeInput({ text: "again" })
      const after = yield* untilTurn(session.events)
      expect(after.find(LiveEvent.is("Reconnected"))).toEqual(LiveEvent.Reconnected({ resumed: false, attempts: 2 }))
      expect(text(after)).toBe("turn 0 fresh: again")
    }))

  it.scopedLive("with reconnect: false a drop ends the session", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting })
      const session = yield* (yield* client(emulator)).connect({ reconnect: false })
      expect(session.setup.sessionResumption).toBeUndefined()
      yield* session.sendRealtimeInput({ text: "drop" })
      expect(yield* session.closed).toMatchObject({ code: 1006 })
      expect((yield* emulator.connections).length).toBe(1)
    }))

  it.scopedLive("soak: audio streamed across 5+ handovers arrives whole: no frame lost or duplicated", () =>
    Effect.gen(function*() {
      // A 10-minute cap scaled down to 450 ms: 3 s of paced audio cross five or more handovers.
      const emulator = yield* LiveEmulator.make({ onTurn: () => [], connectionLifetime: "450 millis", goAwayBefore: "300 millis" })
      const session = yield* (yield* client(emulator, { statistics: true })).connect()
      const frames = Array.from({ length: 75 }, (_, i) => {
        const frame = new Uint8Array(1280)
        frame[0] = i // silence, numbered
        return frame
      })
      const summary = yield* session.sendAudio(Stream.fromIterable(frames), { audioStreamEnd: false })
      expect(summary.framesSent).toBe(75)
      yield* Effect.sleep("100 millis")
      const records = yield* emulator.connections
      const received = records.flatMap((r) =>
        r.clientMessages.flatMap((m) => {
          const data = (m as { realtimeInput?: { audio?: { data: string } } }).realtimeInput?.audio?.data
          return data === undefined ? [] : [Buffer.from(data, "base64")[0]]
        })
      )
      expect(records.length).toBeGreaterThanOrEqual(6)
      expect(received).toEqual(frames.map((_, i) => i))
      expect((yield* session.statistics).reconnects).toBe(records.length - 1)
    }), 20_000)
})
