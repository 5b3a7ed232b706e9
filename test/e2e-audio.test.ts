/**
 * Streaming audio end to end: sendAudio (formats, framing, pacing, overflow, interruption),
 * session.audio (playback buffer, barge-in, clearAudio, conversion), media events.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Scope, Exit, Stream, Supervisor, TestClock } from "effect"
import { Audio, GeminiLive, LiveEvent, type LiveSession, NodeTransport, type Parameters, Transport, WireTrace } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

type Event = LiveEvent.LiveEvent

/** A 16 kHz PCM16 tone of `millis` (loud enough for the emulator's activity detector). */
const tone = (millis: number, rate = 16_000): Uint8Array => {
  const samples = new Int16Array((rate * millis) / 1000)
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate))
  return new Uint8Array(samples.buffer)
}

/** `bytes` cut into chunks of `size` (the way a source would deliver them). */
const chunks = (bytes: Uint8Array, size: number) =>
  Stream.fromIterable(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)))

const socketClient = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}) =>
  GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
    apiKey: "k",
    ...parameters,
    httpOptions: { baseUrl: emulator.url, timeout: 5000 }
  })))

const memoryClient = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}) =>
  GeminiLive.GeminiLive.pipe(
    Effect.provide(GeminiLive.layer({ apiKey: "k", ...parameters }).pipe(Layer.provide(emulator.layerTransport)))
  )

const untilTurnComplete = (session: LiveSession.LiveSession) =>
  session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

const audioMessages = (messages: ReadonlyArray<unknown>) =>
  messages.flatMap((m) => {
    const audio = (m as { realtimeInput?: { audio?: { data: string; mimeType: string } } }).realtimeInput?.audio
    return audio === undefined ? [] : [audio]
  })

/**
 * What reached the server: 16 kHz PCM in frames of 40 ms (1280 bytes; the last may be shorter) that
 * join into `audio` byte for byte, then `audioStreamEnd`.
 */
const expectFramedOnWire = (clientMessages: ReadonlyArray<unknown>, audio: Uint8Array) => {
  const frames = audioMessages(clientMessages)
  expect(frames.every((f) => f.mimeType === "audio/pcm;rate=16000")).toBe(true)
  const sizes = frames.map((f) => Buffer.from(f.data, "base64").length)
  expect(sizes.slice(0, -1).every((size) => size === 1280)).toBe(true)
  expect(sizes.at(-1)).toBe(audio.length % 1280 || 1280)
  expect(Buffer.concat(frames.map((f) => Buffer.from(f.data, "base64")))).toEqual(Buffer.from(audio))
  expect(clientMessages.at(-1)).toEqual({ realtimeInput: { audioStreamEnd: true } })
}

/** The model echoes the user's audio back, at 24 kHz. */
const echo = (turn: LiveEmulator.Turn) => {
  const resampler = Audio.makeResampler(16_000, 24_000)
  const audio = Buffer.concat([resampler.push(turn.audio), resampler.flush()])
  return [LiveEmulator.say("echo", { audio })]
}

describe("audioInput", () => {
  // Chunks pushed from a callback; `end` sends the rest, then audioStreamEnd.
  it.scopedLive("pushed chunks go out framed, byte-exact; end sends the rest", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const session = yield* (yield* socketClient(emulator)).connect()
      const input = yield* session.audioInput()
      const audio = Buffer.concat([tone(1000), new Uint8Array(16_000 * 2 * 0.3)])
      // The caller's buffer is reused between chunks, as a device's would be.
      const reused = new Uint8Array(3000)
      for (let offset = 0; offset < audio.length; offset += reused.length) {
        const piece = audio.subarray(offset, offset + reused.length)
        reused.set(piece)
        expect(input.unsafeOffer(reused.subarray(0, piece.length))).toBe(true)
      }
      const summary = yield* input.end
      expect(summary).toEqual({ framesSent: Math.ceil(audio.length / 1280), bytesSent: audio.length, framesDropped: 0, durationMillis: 1300 })
      expect(input.unsafeOffer(reused)).toBe(false)
      yield* session.close()

      const [record] = yield* emulator.connections
      expectFramedOnWire(record.clientMessages, audio)
    }))

  // 8 kHz mu-law pushed in 20 ms packets arrives as 16 kHz PCM of the same duration.
  it.scopedLive("telephony: 20 ms mu-law packets arrive as 16 kHz PCM", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const session = yield* (yield* socketClient(emulator)).connect()
      const input = yield* session.audioInput({ format: Audio.MULAW_8K, frameMillis: 20, audioStreamEnd: false })
      const mulaw = Audio.mulawEncode(tone(500, 8000))
      for (let offset = 0; offset < mulaw.length; offset += 160) yield* input.offer(mulaw.subarray(offset, offset + 160))
      const summary = yield* input.end
      expect(summary).toMatchObject({ framesSent: 25, bytesSent: 16_000, durationMillis: 500 })
      yield* session.close()
      const [record] = yield* emulator.connections
      expect(audioMessages(record.clientMessages).length).toBe(25)
      expect(record.clientMessages).not.toContainEqual({ realtimeInput: { audioStreamEnd: true } })
    }))

  // audioStreamEnd is sent when its scope closes.
  it.scopedLive("closing its scope stops the input; the session goes on", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const session = yield* (yield* socketClient(emulator)).connect()
      const scope = yield* Scope.make()
      const input = yield* Scope.extend(session.audioInput({ audioStreamEnd: true }), scope)
      expect(input.unsafeOffer(tone(200))).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(input.unsafeOffer(tone(200))).toBe(false)
      yield* session.sendRealtimeInput({ text: "still there" })
      yield* session.close()
      const [record] = yield* emulator.connections
      expect(audioMessages(record.clientMessages).length).toBe(5)
      expect(record.clientMessages.slice(-2)).toEqual([{ realtimeInput: { audioStreamEnd: true } }, { realtimeInput: { text: "still there" } }])
    }))

  it.scoped("refuses a bad frame duration", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* memoryClient(emulator)).connect()
      const error = yield* Effect.flip(session.audioInput({ frameMillis: 5 }))
      expect(error).toMatchObject({ _tag: "ConfigError", module: "LiveSession", method: "audioInput", path: "frameMillis" })
    }))
})

describe("model audio", () => {
  /** One second of 24 kHz audio the model says (the emulator sends it in 200 ms chunks). */
  const spoken = Buffer.from(Array.from({ length: 48_000 }, (_, i) => (i * 31 + (i >> 8)) & 255))
  const speak = () => [LiveEmulator.say("here it is", { audio: spoken })]
  /** The model audio in binary frames kept as received (each must still be the JSON that came). */
  const audioInFrames = (frames: ReadonlyArray<Uint8Array>) =>
    frames.map((frame) => JSON.parse(Buffer.from(frame).toString()) as Record<string, any>).flatMap((message) =>
      (message.serverContent?.modelTurn?.parts ?? []).map((part: any) => Buffer.from(part.inlineData.data, "base64"))
    )
  /** With `layer` (a service that keeps frames into `kept`), a spoken turn arrives whole, and so do the kept frames. */
  const expectKeptIntact = <S>(layer: Layer.Layer<S>, kept: ReadonlyArray<Uint8Array>) =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: speak })
      const client = yield* GeminiLive.GeminiLive.pipe(Effect.provide(
        GeminiLive.layer({ apiKey: "k", httpOptions: { baseUrl: emulator.url, timeout: 5000 } }).pipe(Layer.provide(layer))
      ))
      const session = yield* client.connect()
      yield* session.sendClientContent({ turns: "say it" })
      const reply = yield* untilTurnComplete(session)
      expect(Buffer.concat(reply.filter(LiveEvent.is("AudioDelta")).map((event) => event.data))).toEqual(spoken)
      expect(Buffer.concat(audioInFrames(kept))).toEqual(spoken)
    })
  const blobsOf = (events: ReadonlyArray<Event>) =>
    events.filter(LiveEvent.is("ServerContent")).flatMap((event) => event.content.modelTurn?.parts ?? [])
      .flatMap((part) => part.inlineData === undefined ? [] : [Buffer.from(part.inlineData.data, "base64")])

  // Decoded into the memory of the frame it came in (no copy into a shared slab).
  it.scopedLive("over a socket: byte-exact, decoded in place, 8-byte aligned", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: speak })
      const session = yield* (yield* socketClient(emulator)).connect()
      yield* session.sendClientContent({ turns: "say it" })
      const reply = yield* untilTurnComplete(session)
      const audio = reply.filter(LiveEvent.is("AudioDelta"))
      expect(audio.length).toBe(5)
      expect(Buffer.concat(audio.map((event) => event.data))).toEqual(spoken)
      for (const event of audio) {
        expect(event.data.buffer.byteLength).not.toBe(256 * 1024)
        expect(event.data.byteOffset % 8).toBe(0)
      }
      // The content as the server sent it: its blobs give the same bytes.
      expect(Buffer.concat(blobsOf(reply))).toEqual(spoken)
    }))

  // The decoded audio goes to memory of its own, not into the frames a trace kept.
  it.scopedLive("a trace keeping frames finds them as they arrived", () =>
    Effect.gen(function*() {
      const kept: Array<Uint8Array> = []
      const keeping = Layer.succeed(WireTrace.WireTrace, WireTrace.WireTrace.of({
        open: () =>
          Effect.succeed({
            enabled: true,
            sent: () => {},
            received: (frame) => {
              if (typeof frame !== "string") kept.push(frame)
            },
            note: () => {},
            location: undefined
          })
      }))
      yield* expectKeptIntact(keeping, kept)
    }))

  // A transport wrapping the WebSocket one is not marked as handing its frames over.
  it.scopedLive("a wrapping transport keeps its frames as they arrived", () =>
    Effect.gen(function*() {
      const kept: Array<Uint8Array> = []
      const recording = Layer.succeed(Transport.Transport, Transport.Transport.of({
        open: (request) =>
          Effect.map(NodeTransport.webSocket.open(request), (connection) => ({
            ...connection,
            listen: (listener) =>
              connection.listen!({
                ...listener,
                frame: (frame) => {
                  if (typeof frame !== "string") kept.push(frame)
                  return listener.frame(frame)
                }
              })
          }))
      }))
      yield* expectKeptIntact(recording, kept)
    }))
})

describe("sendAudio", () => {
  // The frames on the wire are byte-exact.
  it.scopedLive("round trip: 16 kHz in, 40 ms frames, the echo at 24 kHz", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: echo })
      const session = yield* (yield* socketClient(emulator)).connect()
      const input = Buffer.concat([tone(1000), new Uint8Array(16_000 * 2 * 0.3)])
      const summary = yield* session.sendAudio(chunks(input, 3000), { pacing: "none" })
      expect(summary).toEqual({ framesSent: Math.ceil(input.length / 1280), bytesSent: input.length, framesDropped: 0, durationMillis: 1300 })

      const reply = yield* untilTurnComplete(session)
      const echoed = reply.filter(LiveEvent.is("AudioDelta"))
      expect(echoed.every((e) => e.sampleRate === 24_000)).toBe(true)
      // The echo is the input at 24 kHz: 1.5 times the bytes (within the resampler's rounding).
      expect(Math.abs(echoed.reduce((n, e) => n + e.data.byteLength, 0) - input.length * 1.5)).toBeLessThanOrEqual(4)
      const played = yield* session.audio.pipe(Stream.take(echoed.length), Stream.runCollect)
      expect(Chunk.toReadonlyArray(played).map((c) => c.data)).toEqual(echoed.map((e) => e.data))

      const [record] = yield* emulator.connections
      expectFramedOnWire(record.clientMessages, input)
    }))

  // The PCM lasts as long as the mu-law that went in.
  it.scopedLive("telephony: 8 kHz mu-law in arrives as 16 kHz PCM", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const session = yield* (yield* socketClient(emulator)).connect()
      const mulaw = Audio.mulawEncode(tone(500, 8000))
      const summary = yield* session.sendAudio(chunks(mulaw, 160), { format: Audio.MULAW_8K, pacing: "none", frameMillis: 20 })
      expect(summary.durationMillis).toBe(500)
      expect(summary.bytesSent).toBe(16_000)
      yield* session.close()
      const [record] = yield* emulator.connections
      expect(audioMessages(record.clientMessages).length).toBe(25)
    }))

  it.scoped("realtime pacing holds real time on the TestClock", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const session = yield* (yield* memoryClient(emulator)).connect()
      const sending = yield* Effect.fork(session.sendAudio(chunks(tone(1000), 32_000), { frameMillis: 40 }))
      const received = () => Effect.map(emulator.connections, ([r]) => audioMessages(r.clientMessages).length)
      yield* Effect.yieldNow()
      for (const [millis, frames] of [[0, 1], [20, 1], [40, 2], [500, 13], [960, 25]] as const) {
        yield* TestClock.setTime(millis)
        yield* Effect.yieldNow()
        expect(yield* received()).toBe(frames)
      }
      const summary = yield* Fiber.join(sending)
      expect(summary.framesSent).toBe(25)
    }))

  it.scoped("dropOldest: an outrunning source loses its oldest, counted", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const session = yield* (yield* memoryClient(emulator, { statistics: true })).connect()
      const sending = yield* Effect.fork(
        session.sendAudio(chunks(tone(2000), 640), { frameMillis: 20, overflow: "dropOldest", bufferMillis: 200 })
      )
      yield* TestClock.adjust("3 seconds")
      const summary = yield* Fiber.join(sending)
      expect(summary.framesDropped).toBeGreaterThan(0)
      expect(summary.framesSent + summary.framesDropped).toBe(100)
      expect((yield* session.statistics).inputFramesDropped).toBe(summary.framesDropped)
    }))

  // The input stops; the session stays usable.
  it.scopedLive("interrupting sendAudio sends audioStreamEnd; session usable", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: (turn) => turn.text === undefined ? [] : LiveEmulator.defaultTurn(turn) })
      const session = yield* (yield* socketClient(emulator, { model: "gemini-live-test", connectConfig: { responseModalities: ["TEXT"] } })).connect()
      const sending = yield* Effect.fork(session.sendAudio(chunks(tone(10_000), 1280)))
      yield* Effect.sleep("150 millis")
      yield* Fiber.interrupt(sending)
      const [record] = yield* emulator.connections
      const sent = audioMessages(record.clientMessages).length
      expect(sent).toBeGreaterThan(1)
      expect(sent).toBeLessThan(20)
      yield* session.sendRealtimeInput({ text: "still there?" })
      const events = yield* untilTurnComplete(session)
      expect(events.some((e) => e._tag === "TextDelta" && e.text.includes("still"))).toBe(true)
      const after = (yield* emulator.connections)[0].clientMessages
      expect(after).toContainEqual({ realtimeInput: { audioStreamEnd: true } })
      expect(audioMessages(after).length).toBe(sent)
    }))

  it.scopedLive("closing the session's scope ends a running sendAudio", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
      const client = yield* socketClient(emulator)
      const scope = yield* Scope.make()
      const session = yield* Scope.extend(client.connect(), scope)
      const sending = yield* Effect.forkIn(session.sendAudio(chunks(tone(10_000), 1280)), scope)
      const reading = yield* Effect.forkIn(Stream.runDrain(session.audio), scope)
      yield* Effect.sleep("100 millis")
      yield* Scope.close(scope, Exit.void)
      // Both fibers are over (interrupted with the scope): nothing is left running.
      expect(sending.unsafePoll()).not.toBeNull()
      expect(reading.unsafePoll()).not.toBeNull()
      const [record] = yield* emulator.connections
      expect(record.closed).toMatchObject({ code: 1000 })
    }))

  it.effect("refuses a bad frame duration", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* memoryClient(emulator)).connect()
      const error = yield* Effect.flip(session.sendAudio(Stream.empty, { frameMillis: 3 }))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "frameMillis" })
    }).pipe(Effect.scoped))
})

describe("session.audio", () => {
  const talkative = LiveEmulator.make({
    onTurn: (turn) =>
      turn.text === "first"
        ? [
          LiveEmulator.say("this answer will be interrupted before it is played", { turnComplete: false }),
          LiveEmulator.send({ serverContent: { interrupted: true } }),
          LiveEmulator.send({ serverContent: { turnComplete: true } })
        ]
        : [LiveEmulator.say("second answer")]
  })

  it.scopedLive("barge-in drops unplayed audio; the next turn's is kept", () =>
    Effect.gen(function*() {
      const emulator = yield* talkative
      const session = yield* (yield* socketClient(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "first" })
      const first = yield* untilTurnComplete(session)
      expect(first.some(LiveEvent.is("Interrupted"))).toBe(true)
      yield* session.sendRealtimeInput({ text: "second" })
      const second = yield* untilTurnComplete(session)
      const secondBytes = second.filter(LiveEvent.is("AudioDelta")).reduce((n, e) => n + e.data.byteLength, 0)
      expect(secondBytes).toBeGreaterThan(0)

      const played = yield* session.audio.pipe(Stream.timeout("300 millis"), Stream.runCollect)
      const chunks = Chunk.toReadonlyArray(played)
      expect(chunks.every((c) => c.turn === 1)).toBe(true)
      expect(chunks.reduce((n, c) => n + c.data.byteLength, 0)).toBe(secondBytes)
    }))

  it.scopedLive("clearAudio drops on demand and says how much", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* socketClient(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "hello" })
      const events = yield* untilTurnComplete(session)
      const bytes = events.filter(LiveEvent.is("AudioDelta")).reduce((n, e) => n + e.data.byteLength, 0)
      expect(yield* session.clearAudio).toBe(bytes)
      expect(yield* session.clearAudio).toBe(0)
    }))

  // mu-law is one byte per sample.
  it.scopedLive("audioAs converts to 8 kHz mu-law for a phone line", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* socketClient(emulator)).connect()
      yield* session.sendRealtimeInput({ text: "hello" })
      const events = yield* untilTurnComplete(session)
      const pcmBytes = events.filter(LiveEvent.is("AudioDelta")).reduce((n, e) => n + e.data.byteLength, 0)
      const phone = yield* session.audioAs(Audio.MULAW_8K).pipe(Stream.timeout("300 millis"), Stream.runCollect)
      const mulawBytes = Chunk.toReadonlyArray(phone).reduce((n, c) => n + c.byteLength, 0)
      // 24 kHz PCM16 (2 bytes) -> 8 kHz mu-law (1 byte): a sixth, within the filter's latency.
      expect(Math.abs(mulawBytes - pcmBytes / 6)).toBeLessThanOrEqual(64)
    }))

  it.scoped("unread audio never stalls events: oldest dropped, counted", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* memoryClient(emulator, { statistics: true })).connect({ audioBufferSize: 2 })
      yield* session.sendRealtimeInput({ text: "a fairly long sentence so that there are many chunks of audio" })
      const events = yield* untilTurnComplete(session)
      const chunks = events.filter(LiveEvent.is("AudioDelta"))
      expect(chunks.length).toBeGreaterThan(4)
      const dropped = (yield* session.statistics).playbackBytesDropped
      const kept = chunks.slice(-2).reduce((n, e) => n + e.data.byteLength, 0)
      expect(dropped).toBe(chunks.reduce((n, e) => n + e.data.byteLength, 0) - kept)
      expect(yield* session.clearAudio).toBe(kept)
    }))

  // The audio is in the events only; nothing is kept or dropped.
  it.scoped("audioBufferSize: 0 turns session.audio off", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* memoryClient(emulator, { statistics: true })).connect({ audioBufferSize: 0 })
      yield* session.sendRealtimeInput({ text: "a fairly long sentence so that there are many chunks of audio" })
      const events = yield* untilTurnComplete(session)
      expect(events.filter(LiveEvent.is("AudioDelta")).length).toBeGreaterThan(4)
      expect((yield* session.statistics).playbackBytesDropped).toBe(0)
      expect(yield* session.clearAudio).toBe(0)
      const exit = yield* Effect.exit(Stream.runDrain(session.audio))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("audioBufferSize: 0")
    }))

  it.scoped("buffer sizes are checked at connect", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* memoryClient(emulator)
      expect(yield* Effect.flip(client.connect({ eventBufferSize: 0 }))).toMatchObject({ _tag: "ConfigError", path: "eventBufferSize" })
      expect(yield* Effect.flip(client.connect({ audioBufferSize: 1.5 }))).toMatchObject({ _tag: "ConfigError", path: "audioBufferSize" })
      expect((yield* emulator.connections).length).toBe(0)
    }))

  // MediaEnded carries the duration of the stretch of speech.
  it.scoped("MediaStarted before audio, MediaEnded 1 s after it", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const session = yield* (yield* memoryClient(emulator)).connect({ reconnect: false })
      yield* session.sendRealtimeInput({ text: "hi" })
      const turn = yield* untilTurnComplete(session)
      const tags = turn.map((e) => e._tag)
      expect(tags.slice(0, tags.indexOf("AudioDelta"))).toEqual(["SetupComplete", "MediaStarted", "ServerContent"])
      expect(turn.find(LiveEvent.is("MediaStarted"))).toEqual(LiveEvent.MediaStarted({ turn: 0 }))
      const millis = turn.filter(LiveEvent.is("AudioDelta")).reduce((n, e) => n + e.data.byteLength, 0) / 48
      const next = yield* session.events.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      yield* TestClock.adjust("999 millis")
      expect(next.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const [ended] = Chunk.toReadonlyArray(yield* Fiber.join(next)) as ReadonlyArray<Event>
      expect(ended).toEqual(LiveEvent.MediaEnded({ turn: 0, durationMillis: millis }))
    }))

  // MediaEnded comes 1 s after the last audio, on a plain timer rather than a fiber.
  it.scopedLive("live clock: MediaEnded 1 s after, no fiber while it speaks", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      // Every fiber the session starts reports to it (the test's own reads are not the session's).
      const supervisor = yield* Supervisor.track
      const session = yield* (yield* socketClient(emulator)).connect({ reconnect: false }).pipe(Effect.supervised(supervisor))
      yield* session.sendRealtimeInput({ text: "hi" })
      const turn = yield* untilTurnComplete(session)
      const lastAudioAt = Date.now()
      expect(turn.filter(LiveEvent.is("MediaStarted")).length).toBe(1)
      // The stretch of speech is timed by a plain timer, not a fiber.
      expect((yield* supervisor.value).length).toBe(0)
      const [ended] = Chunk.toReadonlyArray(yield* session.events.pipe(Stream.take(1), Stream.runCollect))
      const after = Date.now() - lastAudioAt
      expect(ended?._tag).toBe("MediaEnded")
      expect(after).toBeGreaterThan(900)
      expect(after).toBeLessThan(1500)
    }), 10_000)
})
