import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { LiveEvent, Protocol } from "../src/index.js"
import { isCommonServerMessage, parseAudioMessage } from "../src/internal/codec/fastPath.js"

const json = (either: Either.Either<string, unknown>) => JSON.parse(Either.getOrThrow(either))
const leftOf = <E>(either: Either.Either<unknown, E>): E => Either.getOrThrow(Either.flip(either))

describe("Protocol.makeSetup", () => {
  it("maps the flat config as @google/genai does", () => {
    const setup = Either.getOrThrow(Protocol.makeSetup("models/m", {
      generationConfig: { temperature: 0.1, candidateCount: 1 },
      responseModalities: ["TEXT"],
      temperature: 0.5,
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Aoede" } } },
      systemInstruction: "Be brief.",
      inputAudioTranscription: {},
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
      contextWindowCompression: { triggerTokens: "1000", slidingWindow: { targetTokens: "10" } },
      historyConfig: { initialHistoryInClientContent: true }
    }))
    expect(setup).toEqual({
      model: "models/m",
      generationConfig: {
        temperature: 0.5,
        candidateCount: 1,
        responseModalities: ["TEXT"],
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Aoede" } } }
      },
      systemInstruction: { role: "user", parts: [{ text: "Be brief." }] },
      inputAudioTranscription: {},
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
      contextWindowCompression: { triggerTokens: "1000", slidingWindow: { targetTokens: "10" } },
      historyConfig: { initialHistoryInClientContent: true }
    })
  })

  it("sends no generationConfig when none is set", () => {
    expect(Protocol.makeSetup("models/m", {})).toEqual(Either.right({ model: "models/m" }))
  })

  // As @google/genai 3.3 rewrites them, so that code ported from it is not refused.
  it("rewrites JSON-Schema parameters into the API's form", () => {
    const parameters = {
      type: "object",
      additionalProperties: false,
      properties: {
        city: { type: "string", description: "The city" },
        when: { type: ["string", "null"] },
        units: { anyOf: [{ type: "string", enum: ["C", "F"] }, { type: "null" }] },
        either: { type: ["string", "integer"] },
        tags: { type: "array", items: { type: "string" } },
        odd: { type: "uuid" },
        anything: true
      },
      required: ["city"]
    }
    const tools = [{ functionDeclarations: [{ name: "f", parameters }] }, { googleSearch: {} }]
    const setup = Either.getOrThrow(Protocol.makeSetup("models/m", { tools }))
    expect(setup.tools).toEqual([
      {
        functionDeclarations: [{
          name: "f",
          parameters: {
            type: "OBJECT",
            properties: {
              city: { type: "STRING", description: "The city" },
              when: { nullable: true, type: "STRING" },
              units: { nullable: true, type: "STRING", enum: ["C", "F"] },
              either: { anyOf: [{ type: "STRING" }, { type: "INTEGER" }] },
              tags: { type: "ARRAY", items: { type: "STRING" } },
              odd: { type: "TYPE_UNSPECIFIED" },
              anything: {}
            },
            required: ["city"]
          }
        }]
      },
      { googleSearch: {} }
    ])
    // The caller's objects are not changed.
    expect(tools[0].functionDeclarations?.[0].parameters.type).toBe("object")
  })

  // parametersJsonSchema given by the caller is kept as it is.
  it("moves parameters with $schema to parametersJsonSchema", () => {
    const withSchema = { $schema: "http://json-schema.org/draft-07/schema#", type: "object" }
    const setup = Either.getOrThrow(Protocol.makeSetup("models/m", {
      tools: [{ functionDeclarations: [{ name: "f", parameters: withSchema }, { name: "g", parametersJsonSchema: { type: "object" } }] }]
    }))
    expect(setup.tools).toEqual([{
      functionDeclarations: [{ name: "f", parametersJsonSchema: withSchema }, { name: "g", parametersJsonSchema: { type: "object" } }]
    }])
  })

  it("refuses a function schema genai refuses, naming the field", () => {
    const refused = (parameters: unknown) =>
      leftOf(Protocol.makeSetup("models/m", { tools: [{ functionDeclarations: [{ name: "f", parameters }] }] }))
    expect(refused({ type: "null" })).toMatchObject({
      _tag: "ConfigError",
      path: "connectConfig.tools[0].functionDeclarations[0].parameters.type",
      description: "type: null can not be the only possible type for the field"
    })
    expect(refused({ type: "object", properties: { a: { type: "string", anyOf: [] } } })).toMatchObject({
      path: "connectConfig.tools[0].functionDeclarations[0].parameters.properties.a"
    })
  })
})

describe("Protocol.encodeContextUpdate", () => {
  // The frame as @google/genai 3.3 sends it.
  it("wraps tools; a string instruction becomes a Content", () => {
    const update = Either.getOrThrow(Protocol.encodeContextUpdate({
      systemInstruction: "Speak French.",
      tools: [{ functionDeclarations: [{ name: "f", parameters: { type: "object" } }] }]
    }))
    expect(JSON.parse(update.frame)).toEqual({
      contextUpdate: {
        systemInstruction: { role: "user", parts: [{ text: "Speak French." }] },
        tools: { tools: [{ functionDeclarations: [{ name: "f", parameters: { type: "OBJECT" } }] }] }
      }
    })
    expect(update.systemInstruction).toEqual({ role: "user", parts: [{ text: "Speak French." }] })
  })

  // tools: [] clears every tool; no tools leaves them as they are.
  it("tells tools: [] from no tools", () => {
    expect(JSON.parse(Either.getOrThrow(Protocol.encodeContextUpdate({ tools: [] })).frame)).toEqual({ contextUpdate: { tools: { tools: [] } } })
    expect(JSON.parse(Either.getOrThrow(Protocol.encodeContextUpdate({ systemInstruction: "x" })).frame).contextUpdate.tools).toBeUndefined()
  })

  it("refuses an empty update and tools that are not a list", () => {
    expect(leftOf(Protocol.encodeContextUpdate({}))).toMatchObject({ _tag: "ConfigError", method: "sendContextUpdate" })
    expect(leftOf(Protocol.encodeContextUpdate({ tools: {} as never }))).toMatchObject({ path: "tools" })
  })
})

describe("Protocol encoders", () => {
  it("clientContent: a string is one user turn; turnComplete true", () => {
    expect(json(Protocol.encodeClientContent({ turns: "Hi" }))).toEqual({
      clientContent: { turns: [{ role: "user", parts: [{ text: "Hi" }] }], turnComplete: true }
    })
    expect(json(Protocol.encodeClientContent({}))).toEqual({ clientContent: { turnComplete: true } })
    expect(json(Protocol.encodeClientContent({ turns: ["a", { text: "b" }], turnComplete: false }))).toEqual({
      clientContent: { turns: [{ role: "user", parts: [{ text: "a" }, { text: "b" }] }], turnComplete: false }
    })
  })

  it("clientContent: refuses mixed turns and bare function parts", () => {
    const mixed = Protocol.encodeClientContent({ turns: [{ role: "user", parts: [] }, "x"] as never })
    expect(Either.isLeft(mixed) && mixed.left.path).toBe("turns")
    const bare = Protocol.encodeClientContent({ turns: { functionCall: { name: "f" } } })
    expect(Either.isLeft(bare)).toBe(true)
  })

  it("realtimeInput: bytes go as base64; MIME types are checked", () => {
    const bytes = new Uint8Array([1, 2, 3, 250])
    expect(json(Protocol.encodeRealtimeInput({ audio: { data: bytes, mimeType: "audio/pcm;rate=16000" } }))).toEqual({
      realtimeInput: { audio: { data: "AQID+g==", mimeType: "audio/pcm;rate=16000" } }
    })
    const badAudio = Protocol.encodeRealtimeInput({ audio: { data: "", mimeType: "image/png" } })
    expect(Either.isLeft(badAudio) && badAudio.left.path).toBe("audio.mimeType")
    const badVideo = Protocol.encodeRealtimeInput({ video: { data: "", mimeType: "audio/pcm" } })
    expect(Either.isLeft(badVideo) && badVideo.left.path).toBe("video.mimeType")
    expect(json(Protocol.encodeRealtimeInput({ media: { data: "AAA=", mimeType: "audio/pcm" } }))).toEqual({
      realtimeInput: { mediaChunks: [{ data: "AAA=", mimeType: "audio/pcm" }] }
    })
  })

  it("realtimeInput: the audio encoder equals the generic one", () => {
    const data = Buffer.from("hello audio!").toString("base64")
    expect(JSON.parse(Protocol.encodeRealtimeAudio(data, "audio/pcm;rate=16000"))).toEqual(
      json(Protocol.encodeRealtimeInput({ audio: { data, mimeType: "audio/pcm;rate=16000" } }))
    )
  })

  // The id is required on the Gemini API.
  it("toolResponse: wraps one; requires name, response and id", () => {
    const options = { requireId: true, backend: "GeminiAPI" }
    expect(json(Protocol.encodeToolResponse({ functionResponses: { id: "1", name: "f", response: { ok: true } } }, options)))
      .toEqual({ toolResponse: { functionResponses: [{ id: "1", name: "f", response: { ok: true } }] } })
    const noId = Protocol.encodeToolResponse({ functionResponses: [{ name: "f", response: {} }] }, options)
    expect(Either.isLeft(noId) && noId.left.path).toBe("functionResponses[0].id")
    expect(Either.isLeft(noId) && noId.left.message).toContain("GeminiAPI")
    const empty = Protocol.encodeToolResponse({ functionResponses: [] }, options)
    expect(Either.isLeft(empty)).toBe(true)
  })

  // Google's SDK refuses willContinue on Vertex AI.
  it("toolResponse: willContinue refused where not taken", () => {
    const partial = { functionResponses: { name: "f", response: { step: 1 }, willContinue: true } }
    expect(leftOf(Protocol.encodeToolResponse(partial, { requireId: false, backend: "VertexAI", acceptsWillContinue: false })))
      .toMatchObject({ path: "functionResponses[0].willContinue", description: "is not supported on the VertexAI backend" })
    expect(Either.isRight(Protocol.encodeToolResponse(partial, { requireId: false, backend: "GeminiAPI", acceptsWillContinue: true }))).toBe(true)
  })
})

describe("Protocol.decodeServerMessage", () => {
  it("decodes pretty-printed binary frames, unknown fields kept", () => {
    const frame = Buffer.from(JSON.stringify({ serverContent: { turnComplete: true, futureField: 1 } }, null, 2) + "\n")
    const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
    expect(message).toEqual({ serverContent: { turnComplete: true, futureField: 1 } })
  })

  // ASCII only, other characters, a BOM, a plain Uint8Array (not a Buffer).
  it("reads a binary frame as UTF-8 whatever it holds", () => {
    const message = { serverContent: { outputTranscription: { text: "héllo, 日本, \u{1F600}" }, futureField: "ascii" } }
    const text = JSON.stringify(message, null, 2)
    const frames: ReadonlyArray<Uint8Array> = [
      Buffer.from(JSON.stringify({ serverContent: { turnComplete: true, note: "only ASCII" } })),
      Buffer.from(text),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
      new Uint8Array(Buffer.from(text))
    ]
    for (const frame of frames) {
      expect(Either.getOrThrow(Protocol.decodeServerMessage(frame))).toEqual(JSON.parse(new TextDecoder().decode(frame)))
    }
  })

  it("reports frames that are not JSON objects", () => {
    for (const frame of ["not json", "[1]", "null"]) {
      const result = Protocol.decodeServerMessage(frame)
      expect(Either.isLeft(result) && result.left._tag).toBe("ProtocolError")
    }
  })
})

// The hand-written fast path and the Schema decode a message to the same value.
describe("Protocol.decodeServerMessage: fast path and Schema", () => {
  const schemaDecode = Schema.decodeUnknownEither(Protocol.ServerMessage, { onExcessProperty: "preserve" })
  const audio = { inlineData: { mimeType: "audio/pcm;rate=24000", data: Buffer.from([1, 0, 2, 0]).toString("base64") } }

  /** Messages as the service sends them: all take the fast path. */
  const common: ReadonlyArray<unknown> = [
    { serverContent: { modelTurn: { parts: [audio] } } },
    { serverContent: { modelTurn: { role: "model", parts: [audio, { text: "hi" }, { text: "hmm", thought: true }] } } },
    { serverContent: { modelTurn: { parts: [{ inlineData: { ...audio.inlineData, displayName: "x" } }] } } },
    { serverContent: { modelTurn: { parts: [] } } },
    { serverContent: { modelTurn: {} } },
    { serverContent: { outputTranscription: { text: "Hello" } } },
    { serverContent: { inputTranscription: { text: "hi", finished: true, languageCode: "en" } } },
    { serverContent: { outputTranscription: {} } },
    { serverContent: { interrupted: true } },
    { serverContent: { generationComplete: true } },
    { serverContent: { turnComplete: true, turnCompleteReason: "MALFORMED_FUNCTION_CALL", waitingForInput: false } },
    { serverContent: {} }
  ]

  /** Odd shapes: other kinds, unknown fields at every level, nulls, wrong types. None takes the fast path. */
  const odd: ReadonlyArray<unknown> = [
    {},
    { setupComplete: {} },
    { serverContent: { turnComplete: true }, usageMetadata: { totalTokenCount: 3 } },
    { serverContent: { modelTurn: { parts: [audio] } }, somethingNew: 1 },
    { somethingNew: { a: 1 } },
    { serverContent: { groundingMetadata: { a: 1 } } },
    { serverContent: { newFlag: true } },
    { serverContent: { modelTurn: { parts: [audio], extra: [1] } } },
    { serverContent: { modelTurn: { parts: [{ ...audio, videoMetadata: {} }] } } },
    { serverContent: { modelTurn: { parts: [{ inlineData: { ...audio.inlineData, extra: "x" } }] } } },
    { serverContent: { modelTurn: { parts: [{ functionCall: { name: "f" } }] } } },
    { serverContent: { outputTranscription: { text: "a", confidence: 1 } } },
    { serverContent: null },
    { serverContent: [] },
    { serverContent: { turnComplete: null } },
    { serverContent: { turnComplete: "yes" } },
    { serverContent: { turnCompleteReason: 1 } },
    { serverContent: { modelTurn: null } },
    { serverContent: { modelTurn: { parts: null } } },
    { serverContent: { modelTurn: { parts: {} } } },
    { serverContent: { modelTurn: { parts: [null] } } },
    { serverContent: { modelTurn: { parts: [[]] } } },
    { serverContent: { modelTurn: { role: 1, parts: [] } } },
    { serverContent: { modelTurn: { parts: [{ text: null }] } } },
    { serverContent: { modelTurn: { parts: [{ thought: "yes" }] } } },
    { serverContent: { modelTurn: { parts: [{ inlineData: { data: "AA==" } }] } } },
    { serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm" } }] } } },
    { serverContent: { modelTurn: { parts: [{ inlineData: { data: 1, mimeType: "audio/pcm" } }] } } },
    { serverContent: { modelTurn: { parts: [{ inlineData: null }] } } },
    { serverContent: { inputTranscription: { finished: "no" } } },
    { serverContent: { inputTranscription: null } },
    JSON.parse(`{"serverContent":{"__proto__":{"turnComplete":true}}}`),
    JSON.parse(`{"__proto__":{},"serverContent":{}}`)
  ]

  /** The Schema's value; where the Schema refuses, a value it takes (the bad fields dropped, each reported). */
  const agree = (message: unknown) => {
    const frame = Buffer.from(JSON.stringify(message, null, 2) + "\n")
    let dropped = 0
    const decoded = Either.getOrThrow(Protocol.decodeServerMessage(frame, () => dropped++))
    const expected = schemaDecode(JSON.parse(frame.toString()))
    if (Either.isRight(expected)) {
      expect(decoded).toStrictEqual(expected.right)
      expect(dropped).toBe(0)
    } else {
      expect(schemaDecode(decoded)).toStrictEqual(Either.right(decoded))
      expect(dropped).toBeGreaterThan(0)
    }
  }

  it("takes the fast path for common messages, same result", () => {
    for (const message of common) {
      expect(isCommonServerMessage(structuredClone(message) as object)).toBe(true)
      agree(message)
    }
  })

  // Unknown fields kept, fields of the wrong type dropped and reported.
  it("leaves every other shape to the Schema", () => {
    for (const message of odd) {
      expect(isCommonServerMessage(message as object)).toBe(false)
      agree(message)
    }
    const kept = Either.getOrThrow(Protocol.decodeServerMessage(JSON.stringify(odd[7])))
    expect(kept).toStrictEqual(odd[7])
  })
})

// The audio data is cut out before JSON.parse, then put back.
describe("parseAudioMessage", () => {
  const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 255)).toString("base64")
  const blob = { mimeType: "audio/pcm;rate=24000", data }
  const texts: ReadonlyArray<string> = [
    ...[
      { serverContent: { modelTurn: { parts: [{ inlineData: blob }] } } },
      { serverContent: { modelTurn: { role: "model", parts: [{ text: "a \"data\": \"x" }, { inlineData: { data, mimeType: "audio/pcm" } }] } } },
      { serverContent: { modelTurn: { parts: [{ inlineData: { ...blob, data: "" } }] }, turnComplete: true } },
      { serverContent: { modelTurn: { parts: [{ inlineData: blob }, { inlineData: blob }] } } },
      { serverContent: { modelTurn: { parts: [{ inlineData: blob }] }, outputTranscription: { text: "héllo \"data\":" } } },
      { serverContent: { modelTurn: { parts: [{ inlineData: { ...blob, unknown: 1 } }] } } },
      { serverContent: { modelTurn: { parts: [{ inlineData: blob }] } }, usageMetadata: { totalTokenCount: 1 } },
      { "\"data": "x", serverContent: {} },
      { serverContent: { outputTranscription: { text: "no audio" } } }
    ].flatMap((message) => [JSON.stringify(message), JSON.stringify(message, null, 2)]),
    `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","data" :\n "${data}"}}]}}}`,
    `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","data":"AB\\/C"}}]}}}`,
    `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","data":"AAAA","data":"BBBB"}}]}}}`,
    `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","d\\u0061ta":"AAAA"}}]}}}`,
    `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm","data":"AAAA}}]}}}`
  ]

  it("gives what JSON.parse gives, or leaves the message to it", () => {
    let taken = 0
    for (const text of texts) {
      let expected: unknown
      try {
        expected = JSON.parse(text)
      } catch {
        expect(parseAudioMessage(text)).toBeUndefined()
        continue
      }
      const parsed = parseAudioMessage(text)
      if (parsed === undefined) continue
      taken++
      expect(parsed).toStrictEqual(expected)
      expect(JSON.stringify(parsed)).toBe(JSON.stringify(expected))
    }
    expect(taken).toBe(9)
  })
})

describe("LiveEvent.fromServerMessage", () => {
  it("orders a combined message's events with TurnComplete last", () => {
    const pcm = Buffer.from([1, 0, 2, 0])
    const events = LiveEvent.fromServerMessage({
      serverContent: {
        modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data: pcm.toString("base64") } }, { text: "t" }] },
        outputTranscription: { text: "hi" },
        generationComplete: true,
        turnComplete: true
      },
      usageMetadata: { totalTokenCount: 3 }
    })
    expect(events.map((e) => e._tag)).toEqual([
      "ServerContent", "AudioDelta", "TextDelta", "OutputTranscription", "GenerationComplete", "UsageMetadata", "TurnComplete"
    ])
    const audio = events[1] as Extract<LiveEvent.LiveEvent, { _tag: "AudioDelta" }>
    expect(Array.from(audio.data)).toEqual([1, 0, 2, 0])
    expect(audio.sampleRate).toBe(24000)
  })

  // Vertex AI opens each turn with an empty one.
  it("an empty transcription is no event; a finished one is", () => {
    expect(LiveEvent.fromServerMessage({ serverContent: { outputTranscription: {} } }).map((e) => e._tag)).toEqual(["ServerContent"])
    expect(LiveEvent.fromServerMessage({ serverContent: { inputTranscription: { finished: true } } }).map((e) => e._tag))
      .toEqual(["ServerContent", "InputTranscription"])
  })

  it("turns a message of an unknown kind into Unknown", () => {
    const events = LiveEvent.fromServerMessage({ somethingNew: {} } as never)
    expect(events.map((e) => e._tag)).toEqual(["Unknown"])
  })
})
