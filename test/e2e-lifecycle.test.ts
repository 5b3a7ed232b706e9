/**
 * Long sessions: goAway handover, reconnect after a drop with the resumption handle, the close-code
 * policy, and sends issued while reconnecting delivered once, in order.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Deferred, Effect, Fiber, Layer, Schedule, Schema, Stream, TestClock } from "effect"
import { Backend, GeminiLive, LiveEvent, type LiveSession, NodeTransport, type Parameters, ReconnectPolicy, Tool, Transport } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

type Event = LiveEvent.LiveEvent

const client = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}) =>
  GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
    apiKey: "k",
    // A model LiveModel does not know (unchecked): gemini-3.8-live answers in audio only.
    model: "gemini-live-test",
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

/** The first byte of each audio frame of these client messages (the tests number their frames). */
const frameNumbers = (messages: ReadonlyArray<unknown>) =>
  messages.flatMap((m) => {
    const data = (m as { realtimeInput?: { audio?: { data: string } } }).realtimeInput?.audio?.data
    return data === undefined ? [] : [Buffer.from(data, "base64")[0]]
  })

/** `count` frames of 40 ms of 16 kHz silence, numbered by their first byte. */
const numberedFrames = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => {
    const frame = new Uint8Array(1280)
    frame[0] = from + i
    return frame
  })

const texts = (messages: ReadonlyArray<unknown>) =>
  messages.flatMap((m) => {
    const t = (m as { realtimeInput?: { text?: string } }).realtimeInput?.text
    return t === undefined ? [] : [t]
  })

describe("long sessions", () => {
  // The new connection resumes with the handle.
  it.scopedLive("goAway: handover at a safe point, one unbroken events stream", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting, connectionLifetime: "1500 millis", goAwayBefore: "1 second" })
      const closes: Array<number> = []
      const session = yield* (yield* client(emulator, { onWebSocketClose: (e) => closes.push(e.code) })).connect()
      yield* session.sendRealtimeInput({ text: "one" })
      expect(text(yield* untilTurn(session.events))).toBe("turn 0 fresh: one")
      const handover = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      const tags = handover.map((e) => e._tag).filter((t) => t !== "SessionResumptionUpdate")
      expect(tags).toEqual(["GoAway", "Reconnecting", "Reconnected"])
      expect(handover.at(-1)).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 1, resent: 0, lost: 0 }))
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

  // A connection replaced by a handover or a drop is let go then, not when the session ends.
  it.scopedLive("a replaced connection's scope closes at its own close", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting, connectionLifetime: "1500 millis", goAwayBefore: "1 second" })
      // A transport that notes when each connection's scope closes.
      const released: Array<number> = []
      let opened = 0
      const noting = Layer.succeed(Transport.Transport, Transport.Transport.of({
        open: (request) =>
          Effect.gen(function*() {
            const index = opened++
            yield* Effect.addFinalizer(() => Effect.sync(() => released.push(index)))
            return yield* NodeTransport.webSocket.open(request)
          })
      }))
      const session = yield* (yield* client(emulator).pipe(Effect.provide(noting))).connect()
      yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runDrain)
      yield* session.sendRealtimeInput({ text: "drop" })
      yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runDrain)
      yield* Effect.repeat(Effect.sleep("10 millis"), { until: () => released.length >= 2, times: 100 })
      // (The handover's old connection may finish its closing handshake after the drop.)
      expect({ opened, released: [...released].sort() }).toEqual({ opened: 3, released: [0, 1] })
      yield* session.close()
      expect(released.length).toBe(3)
    }))

  it.scopedLive("a drop: reconnect with the handle; a pending send goes once", () =>
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
      expect(after.find(LiveEvent.is("Reconnected"))).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 1, resent: 0, lost: 0 }))
      // The dropped turn was never answered: the resumed conversation goes on from turn 1.
      expect(text(after)).toBe("turn 1 resumed: after")
      const records = yield* emulator.connections
      expect(records.flatMap((r) => texts(r.clientMessages))).toEqual(["one", "drop", "after"])
      expect(closes).toEqual([1006])
      expect((yield* session.statistics).reconnects).toBe(1)
    }))

  // Frames wait for the next connection; beyond bufferMillis the oldest are dropped and counted.
  it.scopedLive("audioInput across a drop: frames wait, oldest dropped", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting })
      const session = yield* (yield* client(emulator, { statistics: true })).connect()
      const input = yield* session.audioInput({ frameMillis: 20, bufferMillis: 200, audioStreamEnd: false })
      const frames = Array.from({ length: 100 }, (_, i) => new Uint8Array(640).fill(i))
      const pushed = yield* Deferred.make<void>()
      const reading = yield* Effect.fork(session.runForEach((event) => {
        if (event._tag !== "Reconnecting") return
        // Pushed from the callback that sees the connection gone: none of them can be written now.
        for (const frame of frames) input.unsafeOffer(frame)
        return Deferred.succeed(pushed, undefined)
      }))
      yield* session.sendRealtimeInput({ text: "drop" })
      yield* Deferred.await(pushed)
      const summary = yield* input.end
      // The first waits for the next connection; of the 99 queued behind it, the newest 10 are kept.
      expect(summary).toMatchObject({ framesSent: 11, framesDropped: 89 })
      expect((yield* session.statistics).inputFramesDropped).toBe(89)
      yield* session.close()
      yield* Fiber.join(reading)
      const records = yield* emulator.connections
      expect(records.map((record) => frameNumbers(record.clientMessages))).toEqual([[], [0, ...Array.from({ length: 10 }, (_, i) => 90 + i)]])
    }))

  // The events come in that order, and the next turn goes on.
  it.scopedLive("a drop mid-turn: partial answer, Reconnecting, Reconnected", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        onTurn: (turn) => turn.text === "long" ? [LiveEmulator.say("The first half", { turnComplete: false }), LiveEmulator.drop] : counting(turn)
      })
      const session = yield* (yield* client(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "long" })
      const cut = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      const tags = cut.map((e) => e._tag).filter((t) => t === "TextDelta" || t === "Reconnecting" || t === "Reconnected")
      expect(tags.filter((t, i) => t !== tags[i - 1])).toEqual(["TextDelta", "Reconnecting", "Reconnected"])
      expect(text(cut)).toBe("The first half")
      yield* session.sendRealtimeInput({ text: "next" })
      // The cut turn never completed: no handle covers it, so the resumed conversation has not had it.
      expect(text(yield* untilTurn(session.events))).toBe("turn 0 resumed: next")
    }))

  // No retry storm: the same setup would be refused again.
  it.scopedLive("1007 ends the session: a ServerClosed, one connection", () =>
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
      expect(after.find(LiveEvent.is("Reconnected"))).toEqual(LiveEvent.Reconnected({ resumed: false, attempts: 2, resent: 0, lost: 0 }))
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

  // No frame is lost or duplicated.
  it.scopedLive("soak: audio across 5+ handovers arrives whole", () =>
    Effect.gen(function*() {
      // A 10-minute cap scaled down to 450 ms: 3 s of paced audio cross five or more handovers.
      const emulator = yield* LiveEmulator.make({ onTurn: () => [], connectionLifetime: "450 millis", goAwayBefore: "300 millis" })
      const session = yield* (yield* client(emulator, { statistics: true })).connect()
      const frames = numberedFrames(75)
      const summary = yield* session.sendAudio(Stream.fromIterable(frames), { audioStreamEnd: false })
      expect(summary.framesSent).toBe(75)
      yield* Effect.sleep("100 millis")
      const records = yield* emulator.connections
      const received = records.flatMap((r) => frameNumbers(r.clientMessages))
      expect(records.length).toBeGreaterThanOrEqual(6)
      expect(received).toEqual(frames.map((_, i) => i))
      expect((yield* session.statistics).reconnects).toBe(records.length - 1)
    }), 20_000)

  it.scopedLive("a send effect sends each time it runs, not when built", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: counting })
      const session = yield* (yield* client(emulator)).connect()
      const send = session.sendRealtimeInput({ text: "again" })
      yield* Effect.sleep("50 millis")
      expect(texts((yield* emulator.connections)[0].clientMessages)).toEqual([])
      yield* Effect.repeatN(send, 1)
      yield* Effect.sleep("50 millis")
      expect(texts((yield* emulator.connections)[0].clientMessages)).toEqual(["again", "again"])
    }))

  // No reconnect: retrying cannot fix it.
  it.scopedLive("1008 mid-session ends it with a model/backend hint", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        onTurn: (turn) => turn.text === "policy" ? [LiveEmulator.close(1008, "models/gone is not found for API version v1beta")] : counting(turn)
      })
      const session = yield* (yield* client(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "policy" })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(session.events))
      const closed = events.at(-1)
      if (closed?._tag !== "Closed") return expect.fail("the stream ends with Closed")
      expect(closed.error).toMatchObject({ _tag: "ServerClosed", code: 1008, retryable: false })
      expect(closed.error?.message).toContain("is the model available on this backend")
      expect(events.some(LiveEvent.is("Reconnecting"))).toBe(false)
      expect((yield* emulator.connections).length).toBe(1)
    }))

  // The server reports lastConsumedClientMessageIndex.
  describe("transparent resumption (Vertex AI)", () => {
    const vertex = (emulator: LiveEmulator.Service) =>
      client(emulator, {
        backend: Backend.VERTEX_AI,
        connectConfig: { responseModalities: ["TEXT"], sessionResumption: { transparent: true } }
      })

    /**
     * Drops the connection the first time a client message says one of `texts` (not when it is sent
     * again: a message that always dropped its connection would be replayed until the retries ran out).
     */
    const dropOnce = (...texts: ReadonlyArray<string>) => {
      const pending = new Set(texts)
      return (message: unknown) => {
        const text = (message as { realtimeInput?: { text?: string } }).realtimeInput?.text
        return text !== undefined && pending.delete(text) ? [LiveEmulator.drop] : undefined
      }
    }

    it.scopedLive("a drop resends what was not consumed, in order, once", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ onTurn: counting, onMessage: dropOnce("then drop", "drop again") })
        const session = yield* (yield* vertex(emulator)).connect()
        yield* session.sendRealtimeInput({ text: "one" })
        expect(text(yield* untilTurn(session.events))).toBe("turn 0 fresh: one")
        // Ten frames of silence (consumed, but no handle after them: no turn completes), then a turn.
        yield* session.sendAudio(Stream.fromIterable(numberedFrames(10)), { pacing: "none", audioStreamEnd: false })
        yield* session.sendRealtimeInput({ text: "then drop" })
        const after = yield* untilTurn(session.events)
        expect(after.find(LiveEvent.is("Reconnected"))).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 1, resent: 11, lost: 0 }))
        expect(text(after)).toBe("turn 1 resumed: then drop")
        const [first, second] = yield* emulator.connections
        expect(frameNumbers(first.clientMessages)).toEqual([...Array(10).keys()])
        expect(texts(first.clientMessages)).toEqual(["one", "then drop"])
        // The handle said "1" (setup, "one"): everything after it is sent again, and nothing else.
        expect(second.clientMessages.length).toBe(1 + 11)
        expect(frameNumbers(second.clientMessages)).toEqual([...Array(10).keys()])
        expect(texts(second.clientMessages)).toEqual(["then drop"])
        // A new handle covers the resent messages: a second drop resends only what follows it.
        yield* session.sendRealtimeInput({ text: "drop again" })
        const third = yield* untilTurn(session.events)
        expect(third.find(LiveEvent.is("Reconnected"))).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 1, resent: 1, lost: 0 }))
        expect(text(third)).toBe("turn 2 resumed: drop again")
      }))

    // The voided call is interrupted and never answered; the replayed turn's new call is.
    it.scopedLive("1011 mid-call voids the call; the replayed call is answered", () =>
      Effect.gen(function*() {
        let calls = 0
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            if (turn.text !== "weather?") return counting(turn)
            calls++
            const call = LiveEmulator.send({ toolCall: { functionCalls: [{ id: `call-${calls}`, name: "getWeather", args: { city: "Paris" } }] } })
            return calls === 1 ? [call, LiveEmulator.wait("50 millis"), LiveEmulator.close(1011, "Internal error encountered.")] : [call]
          },
          onMessage: (message) =>
            typeof message === "object" && message !== null && "toolResponse" in message ? [LiveEmulator.say("It is sunny.")] : undefined
        })
        const interrupted: Array<string> = []
        const getWeather = Tool.make("getWeather", {
          description: "The weather in a city",
          parameters: Schema.Struct({ city: Schema.String }),
          handler: (_, call) =>
            call.id === "call-1"
              ? Effect.onInterrupt(Effect.never, () => Effect.sync(() => interrupted.push(call.id!)))
              : Effect.succeed("sunny")
        })
        const session = yield* (yield* vertex(emulator)).connect({ tools: Tool.toolkit(getWeather) })
        yield* session.sendRealtimeInput({ text: "weather?" })
        const events = yield* untilTurn(session.events)
        const tags = events.map((e) => e._tag).filter((t) => t !== "SessionResumptionUpdate" && t !== "SetupComplete")
        expect(tags.slice(0, 5)).toEqual(["ToolCall", "ToolCallCancellation", "Reconnecting", "Reconnected", "ToolCall"])
        expect(events.find(LiveEvent.is("ToolCallCancellation"))).toEqual(LiveEvent.ToolCallCancellation({ ids: ["call-1"] }))
        expect(events.find(LiveEvent.is("Reconnected"))).toMatchObject({ resumed: true, resent: 1 })
        expect(text(events)).toBe("It is sunny.")
        expect(interrupted).toEqual(["call-1"])
        const responses = (yield* emulator.connections).flatMap((r) =>
          r.clientMessages.flatMap((m) => (m as { toolResponse?: { functionResponses: Array<{ id: string }> } }).toolResponse?.functionResponses ?? [])
        )
        expect(responses.map((r) => r.id)).toEqual(["call-2"])
      }))
  })

  describe("races around a lost connection", () => {
    /** Closes the connection (1011) when the emulator reads audio frame `at`, the first time. */
    const closeAtFrame = (at: number) => {
      let closed = false
      return (message: unknown) => {
        if (closed || frameNumbers([message])[0] !== at) return undefined
        closed = true
        return [LiveEmulator.close(1011, "Internal error encountered.")]
      }
    }

    // Sends that fail before the reader sees the close still go out on the next connection.
    it.scopedLive("an audio burst across 1011: sends that failed early go out", () =>
      Effect.gen(function*() {
        // The server's close frame fails the sends at once, before the close event reaches the reader.
        const emulator = yield* LiveEmulator.make({ onTurn: () => [], onMessage: closeAtFrame(100) })
        const session = yield* (yield* client(emulator)).connect()
        const frames = numberedFrames(250)
        const summary = yield* session.sendAudio(Stream.fromIterable(frames), { pacing: "none", audioStreamEnd: false }).pipe(
          Effect.timeout("8 seconds")
        )
        expect(summary.framesSent).toBe(250)
        yield* Effect.sleep("100 millis")
        const received = (yield* emulator.connections).flatMap((r) => frameNumbers(r.clientMessages))
        // Without transparent resumption, frames written to the dying socket and never read are gone;
        // the rest arrive once, in order, up to the last.
        expect(received.every((n, i) => i === 0 || n > received[i - 1])).toBe(true)
        expect(received.at(-1)).toBe(249)
      }))

    it.scopedLive("with transparent resumption: all unconsumed frames resent", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ onTurn: () => [], onMessage: closeAtFrame(100) })
        const session = yield* (yield* client(emulator, {
          backend: Backend.VERTEX_AI,
          connectConfig: { responseModalities: ["TEXT"], sessionResumption: { transparent: true } }
        })).connect()
        yield* session.sendAudio(Stream.fromIterable(numberedFrames(250)), { pacing: "none", audioStreamEnd: false }).pipe(Effect.timeout("8 seconds"))
        yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runDrain, Effect.timeout("4 seconds"))
        yield* Effect.sleep("100 millis")
        const [, resumed] = yield* emulator.connections
        // Silence completes no turn: the only handle is the one after setup, so all of it is owed.
        expect(frameNumbers(resumed.clientMessages)).toEqual([...Array(250).keys()])
      }))

    // The old connection dies during a goAway handover; a send issued meanwhile still goes out.
    it.scopedLive("old connection dies mid-handover: a pending send goes out", () =>
      Effect.gen(function*() {
        let connections = 0
        const emulator = yield* LiveEmulator.make({
          onTurn: counting,
          connectionLifetime: "1000 millis",
          goAwayBefore: "200 millis",
          // The second connection's setup is slow: the first one's deadline passes meanwhile.
          beforeSetupComplete: () => (++connections === 2 ? [LiveEmulator.wait("600 millis")] : [])
        })
        const session = yield* (yield* client(emulator)).connect()
        yield* Effect.sleep("900 millis")
        yield* session.sendRealtimeInput({ text: "during" }).pipe(Effect.timeout("4 seconds"))
        expect(text(yield* untilTurn(session.events))).toContain("resumed: during")
      }))

    // The handover goes back to the old connection while it answers, and switches after the turn.
    it.scopedLive("transparent handover: the old one answers, switch after turn", () =>
      Effect.gen(function*() {
        let connections = 0
        let hellos = 0
        const emulator = yield* LiveEmulator.make({
          onTurn: counting,
          beforeSetupComplete: () => (++connections === 2 ? [LiveEmulator.wait("400 millis")] : []),
          onMessage: (message) => {
            if ((message as { realtimeInput?: { text?: string } }).realtimeInput?.text !== "hello") return undefined
            return ++hellos === 1
              ? [LiveEmulator.send({ goAway: { timeLeft: "5s" } }), LiveEmulator.wait("200 millis"), LiveEmulator.say("Hi (old connection).")]
              : [LiveEmulator.say("Hi (new connection).")]
          }
        })
        const session = yield* (yield* client(emulator, {
          backend: Backend.VERTEX_AI,
          connectConfig: { responseModalities: ["TEXT"], sessionResumption: { transparent: true } }
        })).connect()
        yield* session.sendRealtimeInput({ text: "hello" })
        const events = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
        expect(text(events)).toBe("Hi (old connection).")
        expect(events.filter(LiveEvent.is("Reconnecting")).map((e) => e.attempt)).toEqual([1, 2])
        // The second try resumes from the handle after the answer: "hello" is not owed any more.
        expect(events.at(-1)).toEqual(LiveEvent.Reconnected({ resumed: true, attempts: 2, resent: 0, lost: 0 }))
        expect(hellos).toBe(1)
      }))

    it.scopedLive("a handover reaching its deadline voids the call in flight", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({
          onTurn: () => [
            LiveEmulator.send({ toolCall: { functionCalls: [{ id: "call-1", name: "slow", args: {} }] } }),
            LiveEmulator.send({ goAway: { timeLeft: "1s" } })
          ]
        })
        const slow = Tool.make("slow", { description: "slow", parameters: Schema.Struct({}), handler: () => Effect.as(Effect.sleep("2 seconds"), "ok") })
        const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(slow) })
        yield* session.sendRealtimeInput({ text: "go" })
        const events = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
        expect(events.find(LiveEvent.is("ToolCallCancellation"))).toEqual(LiveEvent.ToolCallCancellation({ ids: ["call-1"] }))
        yield* Effect.sleep("2200 millis")
        const responses = (yield* emulator.connections).flatMap((r) => r.clientMessages.filter((m) => typeof m === "object" && m !== null && "toolResponse" in m))
        expect(responses).toEqual([])
      }), 10_000)

    // Not even one the application issued before the drop was seen.
    it.scopedLive("manual mode: a response to a voided call is not sent", () =>
      Effect.gen(function*() {
        let calls = 0
        const emulator = yield* LiveEmulator.make({
          onTurn: () => {
            calls++
            const call = LiveEmulator.send({ toolCall: { functionCalls: [{ id: `call-${calls}`, name: "getWeather", args: {} }] } })
            return calls === 1 ? [call, LiveEmulator.wait("30 millis"), LiveEmulator.close(1011, "Internal error encountered.")] : [call]
          }
        })
        const session = yield* (yield* client(emulator, {
          connectConfig: { responseModalities: ["TEXT"], tools: [{ functionDeclarations: [{ name: "getWeather" }] }] }
        })).connect()
        // The application answers 100 ms later: by then the connection is gone, the next not there yet.
        const answered = yield* session.events.pipe(
          Stream.filter(LiveEvent.is("ToolCall")),
          Stream.take(1),
          Stream.runForEach(() =>
            Effect.zipRight(
              Effect.sleep("100 millis"),
              session.sendToolResponse({ functionResponses: [{ id: "call-1", name: "getWeather", response: { output: "stale" } }] })
            )
          ),
          Effect.fork
        )
        yield* session.sendRealtimeInput({ text: "weather?" })
        yield* Fiber.join(answered).pipe(Effect.timeout("4 seconds"))
        yield* Effect.sleep("100 millis")
        const responses = (yield* emulator.connections).flatMap((r) => r.clientMessages.filter((m) => typeof m === "object" && m !== null && "toolResponse" in m))
        expect(responses).toEqual([])
      }))
  })

  describe("reconnect timing (TestClock, in-memory transport)", () => {
    const memoryClient = (emulator: LiveEmulator.Service) =>
      GeminiLive.GeminiLive.pipe(Effect.provide(
        GeminiLive.layer({ apiKey: "k", model: "gemini-live-test", connectConfig: { responseModalities: ["TEXT"] } }).pipe(
          Layer.provide(emulator.layerTransport)
        )
      ))

    /** Runs `effect`, moving the TestClock in 100 ms steps until it is done. */
    const whileTimePasses = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(effect)
        for (let step = 0; step < 10_000; step++) {
          // Whatever can happen without time passing happens first.
          for (let turn = 0; turn < 5; turn++) {
            const exit = yield* Fiber.poll(fiber)
            if (exit._tag === "Some") return yield* exit.value
            yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          }
          yield* TestClock.adjust("100 millis")
        }
        return yield* Effect.dieMessage("still running after 1,000 simulated seconds")
      })

    /** The session's events of these kinds (a reader of its own), each with the (simulated) time it was seen. */
    const timeline = (session: LiveSession.LiveSession, tags: ReadonlyArray<Event["_tag"]>) => {
      const seen: Array<readonly [Event["_tag"], number]> = []
      return Effect.as(
        Stream.unwrapScoped(session.subscribe).pipe(
          Stream.filter((e) => tags.includes(e._tag)),
          Stream.runForEach((e) => Effect.map(Clock.currentTimeMillis, (t) => seen.push([e._tag, t]))),
          Effect.forkScoped
        ),
        seen
      )
    }

    // The session ends when the schedule runs out.
    it.scoped("a connection dying young waits on the schedule until it ends", () =>
      Effect.gen(function*() {
        let connections = 0
        const emulator = yield* LiveEmulator.make({
          onTurn: counting,
          // Only the first connection gets through its setup.
          beforeSetupComplete: () => (++connections === 1 ? [] : [LiveEmulator.drop])
        })
        const policy = ReconnectPolicy.make({ schedule: Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(3))) })
        const session = yield* (yield* memoryClient(emulator)).connect({ reconnect: policy })
        const seen = yield* timeline(session, ["Reconnecting", "Reconnected", "Closed"])
        yield* session.sendRealtimeInput({ text: "drop" })
        const closed = yield* whileTimePasses(session.closed)
        expect(seen).toEqual([["Reconnecting", 2000], ["Reconnecting", 4000], ["Reconnecting", 6000], ["Closed", 6000]])
        expect(closed.code).toBe(1006)
        expect(connections).toBe(4)
      }))

    it.scoped("a connection that lived stableAfter resets the failure count", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ onTurn: counting })
        const policy = ReconnectPolicy.make({
          schedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2))),
          stableAfter: "10 seconds"
        })
        const session = yield* (yield* memoryClient(emulator)).connect({ reconnect: policy })
        const seen = yield* timeline(session, ["Reconnected", "Closed"])
        const dropAndWait = Effect.zipRight(
          session.sendRealtimeInput({ text: "drop" }),
          whileTimePasses(session.events.pipe(Stream.takeUntil((e) => e._tag === "Reconnected" || e._tag === "Closed"), Stream.runDrain))
        )
        yield* dropAndWait // at 0, young: waits 1 s (1 of 2)
        yield* dropAndWait // at 1 s, young: waits 1 s (2 of 2)
        yield* TestClock.adjust("10 seconds")
        yield* dropAndWait // at 12 s, after 10 s of life: the count starts again, no wait
        yield* dropAndWait // young: 1 of 2
        yield* dropAndWait // young: 2 of 2
        yield* dropAndWait // young, and the schedule is spent: the end
        expect(seen).toEqual([
          ["Reconnected", 1000],
          ["Reconnected", 2000],
          ["Reconnected", 12000],
          ["Reconnected", 13000],
          ["Reconnected", 14000],
          ["Closed", 14000]
        ])
        expect((yield* emulator.connections).length).toBe(6)
      }))
  })
})
