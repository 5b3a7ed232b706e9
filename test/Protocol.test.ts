import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { LiveEvent, Protocol } from "../src/index.js"

const json = (either: Either.Either<string, unknown>) => JSON.parse(Either.getOrThrow(either))

describe("Protocol.makeSetup", () => {
  it("maps the flat config as @google/genai does", () => {
    const setup = Protocol.makeSetup("models/m", {
      generationConfig: { temperature: 0.1, candidateCount: 1 },
      responseModalities: ["TEXT"],
      temperature: 0.5,
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Aoede" } } },
      systemInstruction: "Be brief.",
      inputAudioTranscription: {},
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } },
      contextWindowCompression: { triggerTokens: "1000", slidingWindow: { targetTokens: "10" } },
      historyConfig: { initialHistoryInClientContent: true }
    })
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
    expect(Protocol.makeSetup("models/m", {})).toEqual({ model: "models/m" })
  })
})

describe("Protocol encoders", () => {
  it("clientContent: a string becomes one user turn; turnComplete defaults to true", () => {
    expect(json(Protocol.encodeClientContent({ turns: "Hi" }))).toEqual({
      clientContent: { turns: [{ role: "user", parts: [{ text: "Hi" }] }], turnComplete: true }
    })
    expect(json(Protocol.encodeClientContent({}))).toEqual({ clientContent: { turnComplete: true } })
    expect(json(Protocol.encodeClientContent({ turns: ["a", { text: "b" }], turnComplete: false }))).toEqual({
      clientContent: { turns: [{ role: "user", parts: [{ text: "a" }, { text: "b" }] }], turnComplete: false }
    })
  })

  it("clientContent: refuses mixed contents and bare function parts", () => {
    const mixed = Protocol.encodeClientContent({ turns: [{ role: "user", parts: [] }, "x"] as never })
    expect(Either.isLeft(mixed) && mixed.left.path).toBe("turns")
    const bare = Protocol.encodeClientContent({ turns: { functionCall: { name: "f" } } })
    expect(Either.isLeft(bare)).toBe(true)
  })

  it("realtimeInput: bytes are base64-encoded; MIME types are checked", () => {
    const bytes = new Uint8Array([1, 2, 3, 250])
    expect(json(Protocol.encodeRealtimeInput({ audio: { data: bytes, mimeType: "audio/pcm;rate=16000" } }))).toEqual({
      realtimeInput: { audio: { data: "AQID+g==", mimeType: "audio/pcm;rate=16000" } }
    })
    const badAudio = Protocol.encodeRealtimeInput({ audio: { data: "", mimeType: "image/png" } })
    expect(Either.isLeft(badAudio) && badAudio.left.path).toBe("audio.mimeType")
    const badVideo = Protocol.encodeRealtimeInput({ video: { data: "", mimeType: "audio/pcm" } })
    expect(Either.isLeft(badVideo) && badVideo.left.path).toBe("video.mimeType")
    expect(json(Protocol.encodeRealtimeInput({ media: { data: "AA==", mimeType: "audio/pcm" } }))).toEqual({
      realtimeInput: { mediaChunks: [{ data: "AA==", mimeType: "audio/pcm" }] }
    })
  })

  it("realtimeInput: the audio fast path equals the generic encoder", () => {
    const data = Buffer.from("hello audio").toString("base64")
    expect(JSON.parse(Protocol.encodeRealtimeAudio(data, "audio/pcm;rate=16000"))).toEqual(
      json(Protocol.encodeRealtimeInput({ audio: { data, mimeType: "audio/pcm;rate=16000" } }))
    )
  })

  it("toolResponse: wraps one response, requires name, response and (Gemini API) id", () => {
    const options = { requireId: true, backend: "GeminiAPI" }
    expect(json(Protocol.encodeToolResponse({ functionResponses: { id: "1", name: "f", response: { ok: true } } }, options)))
      .toEqual({ toolResponse: { functionResponses: [{ id: "1", name: "f", response: { ok: true } }] } })
    const noId = Protocol.encodeToolResponse({ functionResponses: [{ name: "f", response: {} }] }, options)
    expect(Either.isLeft(noId) && noId.left.path).toBe("functionResponses[0].id")
    expect(Either.isLeft(noId) && noId.left.message).toContain("GeminiAPI")
    const empty = Protocol.encodeToolResponse({ functionResponses: [] }, options)
    expect(Either.isLeft(empty)).toBe(true)
  })
})

describe("Protocol.decodeServerMessage", () => {
  it("decodes binary pretty-printed frames and keeps unknown fields", () => {
    const frame = Buffer.from(JSON.stringify({ serverContent: { turnComplete: true, futureField: 1 } }, null, 2) + "\n")
    const message = Either.getOrThrow(Protocol.decodeServerMessage(frame))
    expect(message).toEqual({ serverContent: { turnComplete: true, futureField: 1 } })
  })

  it("reports frames that are not JSON objects", () => {
    for (const frame of ["not json", "[1]", "null", JSON.stringify({ serverContent: { turnComplete: "yes" } })]) {
      const result = Protocol.decodeServerMessage(frame)
      expect(Either.isLeft(result) && result.left._tag).toBe("ProtocolError")
    }
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

  it("an empty transcription (Vertex AI opens turns with one) is not an event; a finished one is", () => {
    expect(LiveEvent.fromServerMessage({ serverContent: { outputTranscription: {} } }).map((e) => e._tag)).toEqual(["ServerContent"])
    expect(LiveEvent.fromServerMessage({ serverContent: { inputTranscription: { finished: true } } }).map((e) => e._tag))
      .toEqual(["ServerContent", "InputTranscription"])
  })

  it("turns a message of an unknown kind into Unknown", () => {
    const events = LiveEvent.fromServerMessage({ somethingNew: {} } as never)
    expect(events.map((e) => e._tag)).toEqual(["Unknown"])
  })
})
