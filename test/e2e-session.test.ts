/**
 * End to end: the client against the emulator over real loopback sockets (and once in memory),
 * asserting on what crossed the wire.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Fiber, Layer, Scope, Stream, Supervisor } from "effect"
import { GeminiLive, LiveEvent, type Parameters, WireTrace } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

type Event = LiveEvent.LiveEvent

/** A client on the emulator's socket face. */
const clientOn = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}) =>
  GeminiLive.GeminiLive.pipe(
    Effect.provide(GeminiLive.layer({
      apiKey: "test-key",
      model: "gemini-live-test",
      ...parameters,
      httpOptions: { baseUrl: emulator.url, timeout: 5_000, ...parameters.httpOptions }
    }))
  )

const oneTurn = (events: Stream.Stream<Event>) =>
  events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

const tags = (events: ReadonlyArray<Event>) => events.map((e) => e._tag)

const textOf = (events: ReadonlyArray<Event>, tag: "TextDelta" | "OutputTranscription" | "InputTranscription") =>
  events.flatMap((e) => (e._tag === tag ? [e.text] : [])).join("")

/** 16 kHz PCM16: `speechMs` of a loud tone, then `silenceMs` of silence. */
const pcm16k = (speechMs: number, silenceMs = 0): Uint8Array => {
  const speech = (16_000 * speechMs) / 1000
  const samples = new Int16Array(speech + (16_000 * silenceMs) / 1000)
  for (let i = 0; i < speech; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / 16_000))
  return new Uint8Array(samples.buffer)
}

describe("a session end to end", () => {
  it.scopedLive("text turn: the reply streamed, usage before TurnComplete", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } })
      const session = yield* client.connect()
      yield* session.sendClientContent({ turns: "Hello there" })
      const events = yield* oneTurn(session.events)

      expect(events[0]).toEqual(LiveEvent.SetupComplete({ sessionId: undefined }))
      expect(textOf(events, "TextDelta")).toBe(`You said: "Hello there"`)
      expect(tags(events).slice(-3)).toEqual(["ServerContent", "UsageMetadata", "TurnComplete"])
      expect(tags(events)).toContain("GenerationComplete")

      const [record] = yield* emulator.connections
      expect(record.path).toBe("//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent")
      expect(record.query).toEqual({ key: "test-key" })
      expect(record.headers["x-goog-api-client"]).toMatch(/^effect-gemini-live\//)
      expect(record.clientMessages).toEqual([
        { setup: { model: "models/gemini-live-test", generationConfig: { responseModalities: ["TEXT"] }, sessionResumption: {} } },
        { clientContent: { turns: [{ role: "user", parts: [{ text: "Hello there" }] }], turnComplete: true } }
      ])
    }))

  /** A session's events for one text turn ("Hello there"), then its close. */
  const expectHelloTurn = (seen: ReadonlyArray<Event>) => {
    expect(seen[0]).toEqual(LiveEvent.SetupComplete({ sessionId: undefined }))
    expect(textOf(seen, "TextDelta")).toBe(`You said: "Hello there"`)
    const order = tags(seen)
    expect(order.indexOf("UsageMetadata")).toBeLessThan(order.indexOf("TurnComplete"))
    expect(order.at(-1)).toBe("Closed")
    expect(order.filter((tag) => tag === "Closed")).toHaveLength(1)
  }

  it.scopedLive("runForEach: the stream's events as they arrive, then Closed", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } })
      const session = yield* client.connect()
      const seen: Array<Event> = []
      const turnDone = yield* Deferred.make<void>()
      const reading = yield* Effect.fork(session.runForEach((event) => {
        seen.push(event)
        // Effects given back run in order, before the next event is handed over.
        if (event._tag === "TurnComplete") return Deferred.succeed(turnDone, undefined)
      }))
      yield* session.sendClientContent({ turns: "Hello there" })
      yield* Deferred.await(turnDone)
      yield* session.close()
      yield* Fiber.join(reading)

      expectHelloTurn(seen)
    }))

  it.scopedLive("listen: the same events, no fiber while idle, then Closed", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } })
      const session = yield* client.connect()
      const seen: Array<Event> = []
      const turnDone = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      const supervisor = yield* Supervisor.track
      yield* session.listen((event) => {
        seen.push(event)
        // Effects given back run in order, before the next event is handed over.
        if (event._tag === "TurnComplete") return Deferred.succeed(turnDone, undefined)
        if (event._tag === "Closed") return Deferred.succeed(closed, undefined)
      }).pipe(Effect.supervised(supervisor))
      yield* session.sendClientContent({ turns: "Hello there" })
      yield* Deferred.await(turnDone)
      yield* Effect.sleep("20 millis")
      expect(yield* supervisor.value).toHaveLength(0)
      yield* session.close()
      yield* Deferred.await(closed)

      expectHelloTurn(seen)
    }))

  it.scopedLive("listen: Closed is handed over before close returns", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* clientOn(emulator)).connect()
      const seen: Array<string> = []
      yield* Effect.scoped(Effect.gen(function*() {
        yield* session.listen((event) => void seen.push(event._tag))
        yield* session.close()
        expect(seen.at(-1)).toBe("Closed")
      }))
    }))

  it.scopedLive("audio turn: PCM in, 24 kHz audio and both transcriptions out", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, {
        connectConfig: { inputAudioTranscription: {}, outputAudioTranscription: {} },
        statistics: true
      })
      const session = yield* client.connect()
      const audio = pcm16k(600)
      for (let offset = 0; offset < audio.length; offset += 640) {
        yield* session.sendRealtimeInput({ audio: { data: audio.subarray(offset, offset + 640), mimeType: "audio/pcm;rate=16000" } })
      }
      yield* session.sendRealtimeInput({ audioStreamEnd: true })
      const events = yield* oneTurn(session.events)

      expect(textOf(events, "InputTranscription")).toBe("[0.60 s of speech]")
      expect(textOf(events, "OutputTranscription")).toBe("I heard 0.6 seconds of audio.")
      const chunks = events.flatMap((e) => (e._tag === "AudioDelta" ? [e] : []))
      expect(chunks.length).toBeGreaterThan(1)
      for (const chunk of chunks) {
        expect(chunk.sampleRate).toBe(24_000)
        expect(chunk.mimeType).toBe("audio/pcm;rate=24000")
      }
      expect(chunks.slice(0, -1).every((c) => c.data.byteLength === 9600 || c.data.byteLength === 11520)).toBe(true)

      const [record] = yield* emulator.connections
      const sentAudio = record.clientMessages.slice(1, -1) as ReadonlyArray<{ realtimeInput: { audio: { data: string } } }>
      expect(sentAudio.length).toBe(audio.length / 640)
      expect(Buffer.concat(sentAudio.map((m) => Buffer.from(m.realtimeInput.audio.data, "base64")))).toEqual(Buffer.from(audio))
      expect(record.clientMessages.at(-1)).toEqual({ realtimeInput: { audioStreamEnd: true } })

      const statistics = yield* session.statistics
      expect(statistics.framesSent).toBe(record.clientMessages.length)
      expect(statistics.framesReceived).toBe(record.serverMessages.length)
      expect(statistics.audioBytesReceived).toBe(chunks.reduce((n, c) => n + c.data.byteLength, 0))
      expect(statistics.turns).toBe(1)
    }))

  it.scopedLive("manual activity detection: activityStart, audio, activityEnd", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, {
        connectConfig: { responseModalities: ["TEXT"], realtimeInputConfig: { automaticActivityDetection: { disabled: true } } }
      })
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ activityStart: {} })
      yield* session.sendRealtimeInput({ audio: { data: pcm16k(1000), mimeType: "audio/pcm;rate=16000" } })
      yield* session.sendRealtimeInput({ activityEnd: {} })
      const events = yield* oneTurn(session.events)
      expect(textOf(events, "TextDelta")).toBe("I heard 1.0 seconds of audio.")
    }))

  it.scopedLive("turns read in sequence lose nothing; a subscriber sees all", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } })
      const session = yield* client.connect({ reconnect: false })
      const subscriber = yield* session.subscribe
      const copy = yield* subscriber.pipe(Stream.take(100), Stream.runCollect, Effect.fork)
      // Both turns are answered before anything is read: everything waits in the buffer.
      yield* session.sendRealtimeInput({ text: "one" })
      yield* session.sendRealtimeInput({ text: "two" })
      const first = yield* oneTurn(session.events)
      const second = yield* oneTurn(session.events)
      expect(textOf(first, "TextDelta")).toBe(`You said: "one"`)
      expect(tags(second)[0]).toBe("ServerContent")
      expect(textOf(second, "TextDelta")).toBe(`You said: "two"`)
      yield* session.close()
      const rest = yield* Stream.runCollect(session.events)
      expect(tags(Chunk.toReadonlyArray(rest))).toEqual(["Closed"])
      const copied = Chunk.toReadonlyArray(yield* Fiber.join(copy))
      expect(tags(copied)).toEqual([...tags(first).slice(1), ...tags(second), "Closed"])
    }))

  it.scopedLive("a slow reader pauses the socket, and nothing is lost", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        onTurn: () => Array.from({ length: 400 }, (_, i) => LiveEmulator.say(`part ${i}`, { turnComplete: i === 399 }))
      })
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } })
      const session = yield* client.connect({ eventBufferSize: 8 })
      yield* session.sendRealtimeInput({ text: "go" })
      yield* Effect.sleep("200 millis")
      const events = yield* oneTurn(session.events)
      const text = textOf(events, "TextDelta")
      for (const i of [0, 1, 200, 399]) expect(text).toContain(`part ${i}`)
      expect(events.filter(LiveEvent.is("TextDelta")).length).toBeGreaterThanOrEqual(400)
    }))

  it.scopedLive("an ephemeral token: the Constrained method, v1alpha default", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ isValidAuthToken: (token) => token === "auth_tokens/abc" })
      const client = yield* clientOn(emulator, { apiKey: "auth_tokens/abc" })
      yield* Effect.scoped(client.connect())
      const [record] = yield* emulator.connections
      expect(record.path).toBe("//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained")
      expect(record.query).toEqual({ access_token: "auth_tokens/abc" })
    }))

  // Config fields from connect go over the layer's connectConfig, field by field.
  it.scopedLive("connect options override the model and merge the config", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"], temperature: 0.2 } })
      const session = yield* client.connect({ model: "other-model", connectConfig: { temperature: 0.7, outputAudioTranscription: {} } })
      expect(session.setup).toEqual({
        model: "models/other-model",
        generationConfig: { responseModalities: ["TEXT"], temperature: 0.7 },
        outputAudioTranscription: {},
        sessionResumption: {}
      })
      const error = yield* Effect.flip(Effect.scoped(client.connect({ connectConfig: { topK: "many" as never } })))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "connectConfig.topK" })
    }))

  it.scopedLive("in memory: the same conversation, without a socket", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(
          GeminiLive.layer({ apiKey: "k", model: "gemini-live-test", connectConfig: { responseModalities: ["TEXT"] } }).pipe(
            Layer.provide(emulator.layerTransport)
          )
        )
      )
      const session = yield* client.connect()
      yield* session.sendClientContent({ turns: "memory" })
      const events = yield* oneTurn(session.events)
      expect(textOf(events, "TextDelta")).toBe(`You said: "memory"`)
      const [record] = yield* emulator.connections
      expect(record.transport).toBe("memory")
    }))
})

describe("setup failures", () => {
  const connectError = (options: LiveEmulator.Options, parameters: Parameters.Input = {}) =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make(options)
      const client = yield* clientOn(emulator, parameters)
      const error = yield* Effect.flip(Effect.scoped(client.connect()))
      return { error, connections: yield* emulator.connections }
    })

  it.scopedLive("an unknown model: SetupRejected 1008 with the reason", () =>
    Effect.gen(function*() {
      const { error } = yield* connectError({}, { model: "gemini-2.0-flash-exp" })
      expect(error._tag).toBe("SetupRejected")
      if (error._tag !== "SetupRejected") return
      expect(error.code).toBe(1008)
      expect(error.reason).toContain("models/gemini-2.0-flash-exp is not found")
      expect(error.retryable).toBe(false)
      expect(error.message).toContain("model")
    }))

  it.scopedLive("a bad key: SetupRejected 1007, and the key appears nowhere", () =>
    Effect.gen(function*() {
      const { error } = yield* connectError({ isValidApiKey: (key) => key === "good" }, { apiKey: "bad-secret-key" })
      expect(error).toMatchObject({ _tag: "SetupRejected", code: 1007, reason: "API key not valid. Please pass a valid API key." })
      expect(JSON.stringify(error) + error.message).not.toContain("bad-secret-key")
    }))

  it.scopedLive("a drop before setupComplete: SetupRejected 1006", () =>
    Effect.gen(function*() {
      const { error } = yield* connectError({ beforeSetupComplete: () => [LiveEmulator.drop] })
      expect(error).toMatchObject({ _tag: "SetupRejected", code: 1006 })
      expect(error.retryable).toBe(true)
    }))

  // Never a hang.
  it.scopedLive("no setupComplete in time: ConnectError Timeout", () =>
    Effect.gen(function*() {
      const { error } = yield* connectError(
        { beforeSetupComplete: () => [LiveEmulator.wait("10 seconds")] },
        { httpOptions: { timeout: 300 } }
      )
      expect(error).toMatchObject({ _tag: "ConnectError", reason: "Timeout" })
    }))

  it.scopedLive("nothing listening: ConnectError Open", () =>
    Effect.gen(function*() {
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layer({ apiKey: "k", httpOptions: { baseUrl: "http://127.0.0.1:1", timeout: 2000 } }))
      )
      const error = yield* Effect.flip(Effect.scoped(client.connect()))
      expect(error).toMatchObject({ _tag: "ConnectError", reason: "Open" })
    }))

  it.scopedLive("an HTTP answer to the upgrade: ConnectError HttpStatus", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layer({ apiKey: "k", httpOptions: { baseUrl: `${emulator.url}/wrong/prefix` } }))
      )
      const error = yield* Effect.flip(Effect.scoped(client.connect()))
      expect(error).toMatchObject({ _tag: "ConnectError", reason: "HttpStatus", status: 404 })
      expect(error.retryable).toBe(false)
    }))

  it.scopedLive("a field the backend refuses fails before anything is sent", () =>
    Effect.gen(function*() {
      const { connections, error } = yield* connectError({}, { connectConfig: { explicitVadSignal: true } })
      expect(error).toMatchObject({ _tag: "ConfigError", path: "connectConfig.explicitVadSignal" })
      expect(error.message).toContain("VertexAI")
      expect(connections).toEqual([])
    }))
})

describe("closing", () => {
  it.scopedLive("closing the scope: 1000, one onWebSocketClose, events end", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const closes: Array<unknown> = []
      const client = yield* clientOn(emulator, { onWebSocketClose: (event) => closes.push(event) })
      const scope = yield* Scope.make()
      const session = yield* Scope.extend(client.connect(), scope)
      const reader = yield* Effect.fork(Stream.runCollect(session.events))
      yield* Scope.close(scope, Exit.void)

      const events = Chunk.toReadonlyArray(yield* Fiber.join(reader))
      expect(events.at(-1)).toEqual(
        LiveEvent.Closed({ info: { code: 1000, reason: "", wasClean: true }, initiator: "client", error: undefined })
      )
      expect(closes).toEqual([{ code: 1000, reason: "", wasClean: true }])
      expect(yield* emulator.awaitClosed(0)).toMatchObject({ code: 1000 })
      const error = yield* Effect.flip(session.sendRealtimeInput({ text: "late" }))
      expect(error).toMatchObject({ _tag: "SessionClosed", method: "sendRealtimeInput", code: 1000 })
    }))

  it.scopedLive("close(code, reason) reaches the server; sends after it fail", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator)
      const session = yield* client.connect()
      const info = yield* session.close(4000, "bye")
      expect(info).toEqual({ code: 4000, reason: "bye", wasClean: true })
      expect(yield* session.closed).toEqual(info)
      expect(yield* emulator.awaitClosed(0)).toMatchObject({ code: 4000, reason: "bye" })
      const error = yield* Effect.flip(session.sendClientContent({ turns: "x" }))
      expect(error).toMatchObject({ _tag: "SessionClosed", code: 4000, reason: "bye" })
    }))

  // Later sends fail with SessionClosed.
  it.scopedLive("a server close: Closed has a retryable ServerClosed", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        onTurn: () => [LiveEmulator.close(1011, "Internal error encountered.")]
      })
      const closes: Array<unknown> = []
      const client = yield* clientOn(emulator, { onWebSocketClose: (event) => closes.push(event) })
      const session = yield* client.connect({ reconnect: false })
      yield* session.sendRealtimeInput({ text: "hi" })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(session.events))
      const closed = events.at(-1)
      expect(closed?._tag).toBe("Closed")
      if (closed?._tag !== "Closed") return
      expect(closed.initiator).toBe("server")
      expect(closed.info).toEqual({ code: 1011, reason: "Internal error encountered.", wasClean: true })
      expect(closed.error).toMatchObject({ _tag: "ServerClosed", code: 1011 })
      expect(closed.error?.retryable).toBe(true)
      expect(closes).toEqual([{ code: 1011, reason: "Internal error encountered.", wasClean: true }])
      const error = yield* Effect.flip(session.sendRealtimeInput({ text: "again" }))
      expect(error).toMatchObject({ _tag: "SessionClosed", code: 1011 })
    }))

  it.scopedLive("an abrupt drop is reported as 1006, not clean", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [LiveEmulator.drop] })
      const client = yield* clientOn(emulator)
      const session = yield* client.connect({ reconnect: false })
      yield* session.sendRealtimeInput({ text: "hi" })
      const info = yield* session.closed
      expect(info).toEqual({ code: 1006, reason: "", wasClean: false })
    }))

  it.scopedLive("a throwing onWebSocketClose does not break the close", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, {
        onWebSocketClose: () => {
          throw new Error("user bug")
        }
      })
      const session = yield* client.connect()
      expect(yield* session.close()).toMatchObject({ code: 1000 })
    }))
})

describe("robustness and diagnostics", () => {
  it.scopedLive("an undecodable frame becomes Unknown; the session goes on", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        onTurn: (turn) => [LiveEmulator.sendFrame("this is not json"), LiveEmulator.send({ brandNewKind: { x: 1 } }), ...LiveEmulator.defaultTurn(turn)]
      })
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] }, statistics: true })
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ text: "hi" })
      const events = yield* oneTurn(session.events)
      const unknown = events.filter(LiveEvent.is("Unknown"))
      expect(unknown.length).toBe(2)
      expect(unknown[0].error?._tag).toBe("ProtocolError")
      expect(unknown[0].message).toBe("this is not json")
      expect(unknown[1]).toEqual(LiveEvent.Unknown({ message: { brandNewKind: { x: 1 } }, error: undefined }))
      expect(textOf(events, "TextDelta")).toBe(`You said: "hi"`)
      expect((yield* session.statistics).protocolErrors).toBe(1)
    }))

  it.scopedLive("the wire trace records every frame, with the key redacted", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const layer = GeminiLive.layer({
        apiKey: "secret-key-123",
        model: "gemini-live-test",
        connectConfig: { responseModalities: ["TEXT"] },
        httpOptions: { baseUrl: emulator.url }
      }).pipe(Layer.provideMerge(WireTrace.layerMemory()))
      const { client, memory } = yield* Effect.all({ client: GeminiLive.GeminiLive, memory: WireTrace.MemoryTrace }).pipe(
        Effect.provide(layer)
      )
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ text: "traced" })
      yield* oneTurn(session.events)
      yield* session.close()
      const lines = yield* memory.lines
      const text = lines.join("")
      expect(text).not.toContain("secret-key-123")
      expect(lines[0]).toMatch(/# open ws:\/\/127\.0\.0\.1:\d+\/\/ws\/.*\?key=<redacted>/)
      expect(lines.filter((l) => / >\d+ /.test(l)).length).toBe(2)
      expect(text).toContain(`{"realtimeInput":{"text":"traced"}}`)
      expect(text).toMatch(/ <\d+ \{\n {2}"setupComplete": \{\}\n\}\n/)
      expect(lines.at(-1)).toMatch(/# close 1000/)
    }))

  it.scopedLive("privacy redacts the payloads of the trace", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const layer = GeminiLive.layer({ apiKey: "k", httpOptions: { baseUrl: emulator.url } }).pipe(
        Layer.provideMerge(WireTrace.layerMemory({ privacy: true }))
      )
      const { client, memory } = yield* Effect.all({ client: GeminiLive.GeminiLive, memory: WireTrace.MemoryTrace }).pipe(
        Effect.provide(layer)
      )
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ text: "private words" })
      yield* oneTurn(session.events)
      const text = (yield* memory.lines).join("")
      expect(text).not.toContain("private words")
      expect(text).toMatch(/ >\d+ \{"realtimeInput":"<redacted \d+ bytes>"\}/)
    }))

  it.scopedLive("statistics off: zero figures, enabled false", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator)
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ text: "hi" })
      yield* oneTurn(session.events)
      expect(yield* session.statistics).toMatchObject({ enabled: false, framesSent: 0, framesReceived: 0, turns: 0 })
    }))

  // The primary buffer exists from the session's start.
  it.scopedLive("events published before the first read are kept", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        afterSetupComplete: () => [LiveEmulator.say("I speak first", { turnComplete: true })]
      })
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } })
      const session = yield* client.connect()
      yield* Effect.sleep("100 millis")
      const events = yield* oneTurn(session.events)
      expect(tags(events)[0]).toBe("SetupComplete")
      expect(textOf(events, "TextDelta")).toBe("I speak first")
    }))
})
