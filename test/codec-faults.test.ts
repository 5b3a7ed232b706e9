/**
 * The codec against faults (issue 17): a server message with a field of the wrong type keeps the
 * rest (its audio, its TurnComplete, its usage), the field dropped and reported briefly; a send of
 * any value is a `ConfigError` naming the field, never a throw; PCM16 of odd length never makes an
 * odd frame.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { GeminiLive, LiveEvent, type LiveError, Protocol } from "../src/index.js"
import * as AudioInput from "../src/internal/audio/audioInput.js"
import type * as Framer from "../src/internal/audio/framer.js"
import * as SendAudio from "../src/internal/audio/sendAudio.js"
import { base64Bytes } from "../src/internal/codec/check.js"
import { LiveEmulator } from "../src/testing/index.js"

const pcm = (bytes: number) => Uint8Array.from({ length: bytes }, (_, i) => (i * 37 + 11) & 255)
const audioPart = (bytes = 9600) => ({ inlineData: { mimeType: "audio/pcm;rate=24000", data: Buffer.from(pcm(bytes)).toString("base64") } })

/** Decodes `message` as the service would send it (a pretty-printed binary frame): the value and the drops' errors. */
const decode = (message: unknown) => {
  const dropped: Array<LiveError.ProtocolError> = []
  const frame = Buffer.from(JSON.stringify(message, null, 2) + "\n")
  const decoded = Either.getOrThrow(Protocol.decodeServerMessage(frame, (error) => dropped.push(error)))
  return { decoded, dropped: dropped.map((error) => error.description) }
}

describe("decodeServerMessage: one bad field costs only itself", () => {
  // [message, what decodes, the path of each drop]
  const cases: ReadonlyArray<readonly [unknown, unknown, ReadonlyArray<string>]> = [
    [
      { setupComplete: { sessionId: 5, voiceConsentSignature: {} } },
      { setupComplete: { voiceConsentSignature: {} } },
      ["setupComplete.sessionId"]
    ],
    [
      { serverContent: { modelTurn: { role: 7, parts: [{ text: "hi" }] }, turnComplete: true } },
      { serverContent: { modelTurn: { parts: [{ text: "hi" }] }, turnComplete: true } },
      ["serverContent.modelTurn.role"]
    ],
    [
      { serverContent: { modelTurn: { parts: [{ text: 1 }, null, { text: "b" }] }, generationComplete: "yes", interrupted: true } },
      { serverContent: { modelTurn: { parts: [{}, { text: "b" }] }, interrupted: true } },
      ["serverContent.modelTurn.parts[0].text", "serverContent.modelTurn.parts[1]", "serverContent.generationComplete"]
    ],
    [
      { serverContent: { outputTranscription: { text: "hello", finished: "no" }, inputTranscription: 3 } },
      { serverContent: { outputTranscription: { text: "hello" } } },
      ["serverContent.inputTranscription", "serverContent.outputTranscription.finished"]
    ],
    [
      { toolCall: { functionCalls: [{ id: "1", name: 5 }, { id: 2, name: "f", args: { a: 1 } }, { name: "g", args: [] }] } },
      { toolCall: { functionCalls: [{ name: "f", args: { a: 1 } }, { name: "g" }] } },
      ["toolCall.functionCalls[0]", "toolCall.functionCalls[1].id", "toolCall.functionCalls[2].args"]
    ],
    [
      { toolCallCancellation: { ids: ["a", 5, "b"] } },
      { toolCallCancellation: { ids: ["a", "b"] } },
      ["toolCallCancellation.ids[1]"]
    ],
    [
      { usageMetadata: { promptTokenCount: "12", totalTokenCount: 20, responseTokensDetails: [{ modality: "AUDIO", tokenCount: "8" }] } },
      { usageMetadata: { totalTokenCount: 20, responseTokensDetails: [{ modality: "AUDIO" }] } },
      ["usageMetadata.promptTokenCount", "usageMetadata.responseTokensDetails[0].tokenCount"]
    ],
    [{ goAway: { timeLeft: 50 } }, { goAway: {} }, ["goAway.timeLeft"]],
    [
      { sessionResumptionUpdate: { newHandle: "h1", resumable: "true" } },
      { sessionResumptionUpdate: { newHandle: "h1" } },
      ["sessionResumptionUpdate.resumable"]
    ],
    [
      { voiceActivity: { voiceActivityType: "ACTIVITY_START", audioOffset: 1.5 } },
      { voiceActivity: { voiceActivityType: "ACTIVITY_START" } },
      ["voiceActivity.audioOffset"]
    ],
    [{ voiceActivityDetectionSignal: { vadSignalType: [] } }, { voiceActivityDetectionSignal: {} }, ["voiceActivityDetectionSignal.vadSignalType"]],
    [{ serverContent: null, usageMetadata: { totalTokenCount: 1 } }, { usageMetadata: { totalTokenCount: 1 } }, ["serverContent"]]
  ]

  it("each message kind keeps everything but the bad field", () => {
    for (const [message, expected, paths] of cases) {
      const { decoded, dropped } = decode(message)
      expect(decoded).toStrictEqual(expected)
      expect(dropped.length).toBe(paths.length)
      dropped.forEach((description, i) => expect(description).toContain(`: ${paths[i]}`))
    }
  })

  // A required field of the wrong type: its smallest droppable container goes (a part's inlineData).
  it("a bad required field drops the smallest optional around it", () => {
    const { decoded, dropped } = decode({
      serverContent: { modelTurn: { parts: [{ inlineData: { data: 5, mimeType: "audio/pcm" }, text: "kept" }, audioPart(4)] } }
    })
    expect(decoded).toStrictEqual({ serverContent: { modelTurn: { parts: [{ text: "kept" }, audioPart(4)] } } })
    expect(dropped).toEqual([
      "dropped from a server message: serverContent.modelTurn.parts[0].inlineData " +
      "(serverContent.modelTurn.parts[0].inlineData.data: expected a string, got number 5)"
    ])
  })

  it("the turn's audio, usage and TurnComplete survive", () => {
    const audio = audioPart(9600)
    const { decoded, dropped } = decode({
      serverContent: { modelTurn: { role: 7, parts: [audio] }, turnComplete: true },
      usageMetadata: { promptTokenCount: "12", totalTokenCount: 40 }
    })
    const events = LiveEvent.fromServerMessage(decoded)
    expect(events.map((event) => event._tag)).toEqual(["ServerContent", "AudioDelta", "UsageMetadata", "TurnComplete"])
    const delta = events[1] as Extract<LiveEvent.LiveEvent, { _tag: "AudioDelta" }>
    expect(Buffer.from(delta.data).equals(Buffer.from(pcm(9600)))).toBe(true)
    expect((events[2] as Extract<LiveEvent.LiveEvent, { _tag: "UsageMetadata" }>).usage.totalTokenCount).toBe(40)
    expect(dropped).toEqual([
      "dropped from a server message: serverContent.modelTurn.role: expected a string, got number 7",
      "dropped from a server message: usageMetadata.promptTokenCount: expected a number, got a string \"12\""
    ])
  })

  // Not the schema dump or the audio: a path, what was expected, what came.
  it("errors are short, whatever the message or frame holds", () => {
    const long = "x".repeat(5000)
    const { dropped } = decode({
      serverContent: { modelTurn: { parts: [audioPart(20_000), { text: { long } }] }, [long]: { [long]: 1 } },
      usageMetadata: { [long]: 1, promptTokenCount: long }
    })
    expect(dropped.length).toBe(2)
    for (const description of dropped) expect(description.length).toBeLessThanOrEqual(300)
    for (const frame of [long, `{"serverContent":{${long}`, "[1]", JSON.stringify(long), new Uint8Array([0xff, 0xfe, 1, 2])]) {
      const result = Protocol.decodeServerMessage(frame)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(result.left.description.length).toBeLessThanOrEqual(300)
    }
  })

  it.scopedLive("a drifted message through a session: TurnComplete arrives", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make({
        onTurn: () => [
          LiveEmulator.send({
            serverContent: { modelTurn: { role: 7, parts: [audioPart(4800)] }, turnComplete: true },
            usageMetadata: { promptTokenCount: "12", totalTokenCount: 9 }
          })
        ]
      })
      const client = yield* GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
        apiKey: "test-key",
        model: "gemini-live-test",
        httpOptions: { baseUrl: emulator.url, timeout: 5_000 }
      })))
      const session = yield* client.connect()
      yield* session.sendRealtimeInput({ text: "hi" })
      const events = yield* session.events.pipe(
        Stream.takeUntil(LiveEvent.is("TurnComplete")),
        Stream.runCollect,
        Effect.timeout("5 seconds"),
        Effect.map(Chunk.toReadonlyArray)
      )
      const turn = events.slice(events.findIndex((event) => event._tag === "AudioDelta"))
      expect(turn.filter((event) => event._tag !== "ServerContent").map((event) => event._tag))
        .toEqual(["AudioDelta", "UsageMetadata", "TurnComplete"])
      expect(events.some((event) => event._tag === "Unknown")).toBe(false)
    }))
})

describe("encoders: any input is a ConfigError naming the field", () => {
  const odd = Buffer.from(pcm(641)).toString("base64")
  const pcmMime = "audio/pcm;rate=16000"
  const refused: ReadonlyArray<readonly [string, () => Either.Either<unknown, LiveError.ConfigError>, string]> = [
    ["realtimeInput null", () => Protocol.encodeRealtimeInput(null as never), ""],
    ["realtimeInput {}", () => Protocol.encodeRealtimeInput({}), ""],
    ["realtimeInput undefined fields", () => Protocol.encodeRealtimeInput({ text: undefined, audio: undefined }), ""],
    ["text: 5", () => Protocol.encodeRealtimeInput({ text: 5 as never }), "text"],
    ["audio: 5", () => Protocol.encodeRealtimeInput({ audio: 5 as never }), "audio"],
    ["audio.data: 5", () => Protocol.encodeRealtimeInput({ audio: { data: 5 as never, mimeType: pcmMime } }), "audio.data"],
    ["audio.data: not base64", () => Protocol.encodeRealtimeInput({ audio: { data: "AAA*", mimeType: pcmMime } }), "audio.data"],
    ["audio.data: bad padding", () => Protocol.encodeRealtimeInput({ audio: { data: "AAAAA=", mimeType: pcmMime } }), "audio.data"],
    ["audio.data: odd PCM16 (base64)", () => Protocol.encodeRealtimeInput({ audio: { data: odd, mimeType: pcmMime } }), "audio.data"],
    ["audio.data: odd PCM16 (bytes)", () => Protocol.encodeRealtimeInput({ audio: { data: pcm(3), mimeType: pcmMime } }), "audio.data"],
    ["audio.mimeType: 5", () => Protocol.encodeRealtimeInput({ audio: { data: "", mimeType: 5 as never } }), "audio.mimeType"],
    ["video.data: {}", () => Protocol.encodeRealtimeInput({ video: { data: {} as never, mimeType: "image/jpeg" } }), "video.data"],
    ["media[1]", () => Protocol.encodeRealtimeInput({ media: [{ data: "", mimeType: "image/png" }, null as never] }), "media[1]"],
    ["audioStreamEnd: 1", () => Protocol.encodeRealtimeInput({ audioStreamEnd: 1 as never }), "audioStreamEnd"],
    ["activityStart: true", () => Protocol.encodeRealtimeInput({ activityStart: true as never }), "activityStart"],
    ["clientContent null", () => Protocol.encodeClientContent(null as never), ""],
    ["turns: 5", () => Protocol.encodeClientContent({ turns: 5 as never }), "turns"],
    ["turns: [5]", () => Protocol.encodeClientContent({ turns: [5] as never }), "turns[0]"],
    ["turns: text 5", () => Protocol.encodeClientContent({ turns: { text: 5 } as never }), "turns.text"],
    [
      "turns: a Content's part",
      () => Protocol.encodeClientContent({ turns: [{ role: "user", parts: [{ text: "a" }, { inlineData: { data: 1 } }] }] as never }),
      "turns[0].parts[1].inlineData.data"
    ],
    ["turns: role 7", () => Protocol.encodeClientContent({ turns: [{ role: 7, parts: [] }] as never }), "turns[0].role"],
    ["turns: parts 5", () => Protocol.encodeClientContent({ turns: { role: "user", parts: 5 } as never }), "turns.parts"],
    ["turnComplete: yes", () => Protocol.encodeClientContent({ turnComplete: "yes" as never }), "turnComplete"],
    ["toolResponse null", () => Protocol.encodeToolResponse(null as never, { requireId: false, backend: "VertexAI" }), ""],
    [
      "functionResponses: [null]",
      () => Protocol.encodeToolResponse({ functionResponses: [null as never] }, { requireId: false, backend: "VertexAI" }),
      "functionResponses[0].name"
    ],
    [
      "response: []",
      () => Protocol.encodeToolResponse({ functionResponses: { name: "f", response: [] as never } }, { requireId: false, backend: "VertexAI" }),
      "functionResponses[0].response"
    ],
    [
      "id: 5",
      () => Protocol.encodeToolResponse({ functionResponses: { id: 5 as never, name: "f", response: {} } }, { requireId: false, backend: "VertexAI" }),
      "functionResponses[0].id"
    ],
    ["contextUpdate: systemInstruction 5", () => Protocol.encodeContextUpdate({ systemInstruction: 5 as never }), "systemInstruction"]
  ]

  it("each bad input: ConfigError with the field's path", () => {
    for (const [name, encode, path] of refused) {
      const result = encode()
      expect({ name, left: Either.isLeft(result) }).toEqual({ name, left: true })
      if (Either.isLeft(result)) expect({ name, tag: result.left._tag, path: result.left.path }).toEqual({ name, tag: "ConfigError", path })
    }
  })

  it("valid inputs still encode as before", () => {
    const data = Buffer.from(pcm(640)).toString("base64")
    expect(JSON.parse(Either.getOrThrow(Protocol.encodeRealtimeInput({ audio: { data, mimeType: pcmMime } }))))
      .toEqual({ realtimeInput: { audio: { data, mimeType: pcmMime } } })
    expect(Either.getOrThrow(Protocol.encodeRealtimeInput({ audio: { data: "", mimeType: "audio/pcm" } })))
      .toBe(`{"realtimeInput":{"audio":{"data":"","mimeType":"audio/pcm"}}}`)
    // G.711 is a byte a sample: odd lengths are whole samples.
    expect(Either.isRight(Protocol.encodeRealtimeInput({ audio: { data: pcm(3), mimeType: "audio/PCMU;rate=8000" } }))).toBe(true)
    expect(Either.getOrThrow(Protocol.encodeRealtimeInput({ activityStart: {} }))).toBe(`{"realtimeInput":{"activityStart":{}}}`)
    expect(Either.getOrThrow(Protocol.encodeRealtimeInput({ audioStreamEnd: false }))).toBe(`{"realtimeInput":{"audioStreamEnd":false}}`)
    expect(Either.getOrThrow(Protocol.encodeClientContent({ turns: [{ role: "user", parts: [{ text: "a", thoughtSignature: "x" }] }] as never })))
      .toBe(`{"clientContent":{"turns":[{"role":"user","parts":[{"text":"a","thoughtSignature":"x"}]}],"turnComplete":true}}`)
  })

  // Every field of every encoder, given every kind of value: a result, never a throw.
  it("never throws, whatever it is given", () => {
    const values: ReadonlyArray<unknown> = [
      null, undefined, 0, 5, NaN, "", "x", true, [], [null], [5], {}, { data: 5 }, { parts: 5 }, { role: 1 },
      pcm(3), Symbol("s"), () => 1, new Date(0), Object.create(null)
    ]
    const shapes = (value: unknown): ReadonlyArray<unknown> => [
      value,
      { text: value }, { audio: value }, { audio: { data: value, mimeType: "audio/pcm" } },
      { audio: { data: "AAAA", mimeType: value } }, { video: value }, { media: value }, { media: [value] },
      { audioStreamEnd: value }, { activityStart: value }, { activityEnd: value },
      { turns: value }, { turns: [value] }, { turns: [{ role: "user", parts: [value] }] }, { turnComplete: value },
      { systemInstruction: value }, { tools: value }, { tools: [value] },
      { functionResponses: value }, { functionResponses: [value] }, { functionResponses: { name: "f", response: value } }
    ]
    const options = { requireId: true, backend: "GeminiAPI", acceptsWillContinue: false }
    for (const value of values) {
      for (const input of shapes(value)) {
        for (const encode of [
          () => Protocol.encodeRealtimeInput(input as never),
          () => Protocol.encodeClientContent(input as never),
          () => Protocol.encodeContextUpdate(input as never),
          () => Protocol.encodeToolResponse(input as never, options),
          () => Protocol.functionResponsesOf(input as never)
        ]) {
          expect(encode).not.toThrow()
        }
      }
    }
  })

  it("base64: both alphabets, padded or not; nothing else", () => {
    expect(["", "AA==", "AAA=", "AAAA", "AA", "AAA", "-_-_", "+/+/"].map(base64Bytes)).toEqual([0, 1, 2, 3, 1, 2, 3, 3])
    expect(["A", "AAAAA", "A===", "AA=", "AA=A", "AA AA", "AAA\n", "AAAé", "AA==AAAA"].map(base64Bytes)).toEqual(Array(9).fill(-1))
  })

  it.scopedLive("a bad send fails typed; nothing reaches the wire", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
        apiKey: "test-key",
        model: "gemini-live-test",
        httpOptions: { baseUrl: emulator.url, timeout: 5_000 }
      })))
      const session = yield* client.connect()
      const errors = yield* Effect.all([
        session.sendRealtimeInput(null as never),
        session.sendRealtimeInput({ audio: { data: 5 as never, mimeType: "audio/pcm;rate=16000" } }),
        session.sendRealtimeInput({}),
        session.sendRealtimeInput({ text: 5 as never }),
        session.sendClientContent({ turns: 5 as never })
      ].map(Effect.flip))
      expect(errors.map((error) => [error._tag, "path" in error ? error.path : undefined])).toEqual([
        ["ConfigError", ""], ["ConfigError", "audio.data"], ["ConfigError", ""], ["ConfigError", "text"], ["ConfigError", "turns"]
      ])
      yield* session.sendRealtimeInput({ text: "after" })
      yield* Effect.sleep("100 millis")
      const [connection] = yield* emulator.connections
      expect(connection.clientMessages.map((message) => Object.keys(message as object)[0])).toEqual(["setup", "realtimeInput"])
      expect(connection.clientMessages[1]).toEqual({ realtimeInput: { text: "after" } })
    }))
})

describe("odd-length PCM16: the odd byte waits, no odd frame", () => {
  const sizes = [1, 1279, 3, 1281, 7, 640, 2] // 3213 bytes: 2 frames of 1280, then 652 (the last byte, half a sample, not sent)
  const input = pcm(sizes.reduce((a, b) => a + b, 0))
  const chunks = (() => {
    const out: Array<Uint8Array> = []
    let offset = 0
    for (const size of sizes) {
      out.push(input.slice(offset, offset + size))
      offset += size
    }
    return out
  })()
  const recorder = () => {
    const frames: Array<Buffer> = []
    const take = (json: string) => {
      const message = JSON.parse(json) as { realtimeInput: { audio?: { data: string } } }
      if (message.realtimeInput.audio !== undefined) frames.push(Buffer.from(message.realtimeInput.audio.data, "base64"))
    }
    const sink: Framer.Sink = {
      write: (_method, json) => Effect.sync(() => take(json)),
      trySend: (json) => {
        take(json)
        return true
      },
      awaitWritable: Effect.void,
      automaticActivityDetection: false,
      framesDropped: () => {}
    }
    return { frames, sink }
  }
  const expectEven = (frames: ReadonlyArray<Buffer>) => {
    expect(frames.map((frame) => frame.byteLength)).toEqual([1280, 1280, 652])
    expect(Buffer.concat(frames).equals(Buffer.from(input.subarray(0, 3212)))).toBe(true)
  }

  it.effect("sendAudio: whole samples in every frame, in order", () =>
    Effect.gen(function*() {
      for (const overflow of ["backpressure", "dropOldest"] as const) {
        const { frames, sink } = recorder()
        const summary = yield* SendAudio.sendAudio(sink, Stream.fromIterable(chunks), { pacing: "none", overflow })
        expectEven(frames)
        expect(summary.bytesSent).toBe(3212)
      }
      // An odd last byte alone is no frame.
      const { frames, sink } = recorder()
      yield* SendAudio.sendAudio(sink, Stream.make(pcm(1)), { pacing: "none" })
      expect(frames).toEqual([])
    }))

  it.effect("audioInput: whole samples in every frame, in order", () =>
    Effect.gen(function*() {
      const { frames, sink } = recorder()
      const audio = yield* AudioInput.make(sink)
      for (const chunk of chunks) audio.unsafeOffer(chunk)
      const summary = yield* audio.end
      expectEven(frames)
      expect(summary.bytesSent).toBe(3212)
    }).pipe(Effect.scoped))
})
