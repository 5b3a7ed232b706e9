/**
 * Wire conformance: for the same model, config and calls, the URL and every frame this client
 * sends equal what Google's SDK (`@google/genai` 3.x) sends — both run against the emulator, and
 * the emulator's records are compared (as JSON values: key order aside).
 */
import { GoogleGenAI, type LiveConnectConfig, type Session } from "@google/genai"
import { afterAll, beforeAll, describe, expect, it, vi } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { GeminiLive, type Parameters } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

type Send =
  | { readonly clientContent: Parameters<Session["sendClientContent"]>[0] }
  | { readonly realtimeInput: Parameters<Session["sendRealtimeInput"]>[0] }
  | { readonly toolResponse: Parameters<Session["sendToolResponse"]>[0] }
  | { readonly contextUpdate: Parameters<Session["sendContextUpdate"]>[0] }

interface Case {
  readonly name: string
  readonly model: string
  readonly apiKey?: string
  readonly apiVersion?: string
  readonly config?: LiveConnectConfig
  readonly sends: ReadonlyArray<Send>
}

const pcm = Buffer.alloc(640, 3).toString("base64")
const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString("base64")

const everySend: ReadonlyArray<Send> = [
  { clientContent: { turns: "Hello what should we talk about?" } },
  { clientContent: { turns: [{ role: "user", parts: [{ text: "a" }] }, { role: "model", parts: [{ text: "b" }] }], turnComplete: false } },
  { clientContent: { turns: ["one", { text: "two" }] } },
  { clientContent: {} },
  { realtimeInput: { text: "Are you there Gemini?" } },
  { realtimeInput: { audio: { data: pcm, mimeType: "audio/pcm;rate=16000" } } },
  { realtimeInput: { media: { data: pcm, mimeType: "audio/pcm;rate=16000" } } },
  { realtimeInput: { video: { data: jpeg, mimeType: "image/jpeg" } } },
  { realtimeInput: { audioStreamEnd: true } },
  { toolResponse: { functionResponses: { id: "function-call-1", name: "getStatus", response: { mood: "happy" } } } },
  {
    toolResponse: {
      functionResponses: [
        { id: "a", name: "f", response: { output: 1 } },
        { id: "b", name: "g", response: { error: "nope" }, scheduling: "SILENT" as never, willContinue: false }
      ]
    }
  }
]

const cases: ReadonlyArray<Case> = [
  { name: "no config, every kind of send", model: "gemini-live-2.5-flash", sends: everySend },
  {
    name: "every config field",
    model: "models/gemini-3.1-flash-live-preview",
    config: {
      generationConfig: { candidateCount: 1, frequencyPenalty: 0.1 },
      responseModalities: ["TEXT" as never],
      temperature: 0.5,
      topP: 0.9,
      topK: 3,
      maxOutputTokens: 100,
      seed: 12,
      mediaResolution: "MEDIA_RESOLUTION_LOW" as never,
      speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Aoede" } }, languageCode: "en-US" },
      thinkingConfig: { thinkingBudget: 0 },
      enableAffectiveDialog: true,
      systemInstruction: "You are a helpful assistant.",
      tools: [
        {
          functionDeclarations: [{
            name: "getStatus",
            description: "Gets the status",
            parametersJsonSchema: { type: "object", properties: { id: { type: "string" } }, required: ["id"] }
          }]
        },
        { googleSearch: {} },
        { codeExecution: {} }
      ],
      sessionResumption: {},
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      realtimeInputConfig: {
        automaticActivityDetection: {
          disabled: false,
          startOfSpeechSensitivity: "START_SENSITIVITY_HIGH" as never,
          endOfSpeechSensitivity: "END_SENSITIVITY_LOW" as never,
          prefixPaddingMs: 20,
          silenceDurationMs: 500
        },
        activityHandling: "NO_INTERRUPTION" as never,
        turnCoverage: "TURN_INCLUDES_ALL_INPUT" as never
      },
      contextWindowCompression: { triggerTokens: "1000", slidingWindow: { targetTokens: "10" } },
      proactivity: { proactiveAudio: true },
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT" as never, threshold: "BLOCK_ONLY_HIGH" as never }],
      translationConfig: { targetLanguageCode: "fr" } as never,
      labels: { team: "voice" }
    },
    // 3.1 takes clientContent only as initial history: text goes as realtime input.
    sends: [{ realtimeInput: { text: "Hi" } }]
  },
  {
    // Its config fields, JSON-Schema-style functions, context updates.
    name: "gemini-3.8-live: config, JSON-Schema tools, context update",
    model: "gemini-3.8-live",
    config: {
      responseModalities: ["AUDIO" as never],
      systemInstruction: "You are a helpful assistant.",
      speechConfig: { voiceConfig: { voice: "custom-voice-1" } as never },
      inputAudioTranscription: { mode: "SMART" } as never,
      outputAudioTranscription: {},
      realtimeInputConfig: { interimTranscriptTimestampEnabled: true } as never,
      proactivity: { proactiveAudio: true, proactiveVideo: true } as never,
      labels: { team: "voice", env: "test" },
      tools: [{
        functionDeclarations: [
          {
            name: "book",
            behavior: "BLOCKING" as never,
            parameters: {
              type: "object",
              properties: {
                date: { type: "string" },
                guests: { type: ["integer", "null"] },
                note: { anyOf: [{ type: "string" }, { type: "null" }] },
                tags: { type: "array", items: { type: "string" } }
              },
              required: ["date"],
              additionalProperties: false
            } as never
          },
          { name: "remember", behavior: "NON_BLOCKING" as never, parameters: { type: "object", properties: {} } as never }
        ]
      }]
    },
    sends: [
      { clientContent: { turns: [{ role: "user", parts: [{ text: "a" }] }, { role: "model", parts: [{ text: "b" }] }], turnComplete: false } },
      { contextUpdate: { systemInstruction: "Speak French." } },
      {
        contextUpdate: {
          tools: { tools: [{ functionDeclarations: [{ name: "lookup", parameters: { type: "object", properties: { q: { type: ["string", "null"] } } } as never }] }] }
        }
      },
      { contextUpdate: { systemInstruction: { parts: [{ text: "Be brief." }] }, tools: { tools: [] } } },
      { clientContent: { turns: "Hello", turnComplete: true } },
      { realtimeInput: { text: "Are you there?" } },
      { toolResponse: { functionResponses: { id: "c1", name: "remember", response: { output: "ok" }, scheduling: "WHEN_IDLE" as never } } }
    ]
  },
  {
    name: "system instruction as Content, manual activity detection",
    model: "gemini-live-2.5-flash",
    config: {
      systemInstruction: { parts: [{ text: "Be brief." }] },
      realtimeInputConfig: { automaticActivityDetection: { disabled: true } }
    },
    sends: [
      { realtimeInput: { activityStart: {} } },
      { realtimeInput: { audio: { data: pcm, mimeType: "audio/pcm;rate=16000" } } },
      { realtimeInput: { activityEnd: {} } }
    ]
  },
  {
    name: "system instruction as parts, apiVersion v1beta",
    model: "gemini-live-2.5-flash",
    apiVersion: "v1beta",
    config: { systemInstruction: ["Be brief.", { text: "Be kind." }] },
    sends: [{ realtimeInput: { text: "Hi" } }]
  },
  {
    name: "ephemeral token (v1alpha)",
    model: "gemini-live-2.5-flash",
    apiKey: "auth_tokens/test-access-token",
    apiVersion: "v1alpha",
    sends: [{ realtimeInput: { text: "Hi" } }]
  }
]

const waitForMessages = (emulator: LiveEmulator.Service, id: number, count: number) =>
  emulator.connections.pipe(
    Effect.map((records) => records.find((r) => r.id === id)),
    Effect.filterOrFail((record) => record !== undefined && record.clientMessages.length >= count),
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.orDie
  )

/** Google's SDK: connect, send, wait until the emulator has every frame, close. */
const runGoogle = (emulator: LiveEmulator.Service, c: Case) =>
  Effect.gen(function*() {
    const ai = new GoogleGenAI({
      apiKey: c.apiKey ?? "test-key",
      httpOptions: { baseUrl: emulator.url, ...(c.apiVersion ? { apiVersion: c.apiVersion } : {}) }
    })
    const before = (yield* emulator.connections).length
    const session = yield* Effect.promise(() =>
      ai.live.connect({ model: c.model, config: structuredClone(c.config ?? {}), callbacks: { onmessage: () => {} } })
    )
    for (const send of c.sends) {
      if ("clientContent" in send) session.sendClientContent(structuredClone(send.clientContent))
      else if ("realtimeInput" in send) session.sendRealtimeInput(structuredClone(send.realtimeInput))
      else if ("contextUpdate" in send) session.sendContextUpdate(structuredClone(send.contextUpdate))
      else session.sendToolResponse(structuredClone(send.toolResponse))
    }
    const record = yield* waitForMessages(emulator, before, 1 + c.sends.length)
    session.close()
    return record
  })

/** This client, with the same inputs. */
const runOurs = (emulator: LiveEmulator.Service, c: Case) =>
  Effect.gen(function*() {
    const client = yield* GeminiLive.GeminiLive.pipe(
      Effect.provide(GeminiLive.layer({
        apiKey: c.apiKey ?? "test-key",
        model: c.model,
        connectConfig: structuredClone(c.config ?? {}) as Parameters.Input["connectConfig"],
        httpOptions: { baseUrl: emulator.url, ...(c.apiVersion ? { apiVersion: c.apiVersion } : {}) }
      }))
    )
    const before = (yield* emulator.connections).length
    // Automatic reconnection adds `sessionResumption: {}` to the setup (the one difference, tested
    // in e2e-lifecycle); without it, the frames are Google's.
    const session = yield* client.connect({ reconnect: false })
    for (const send of c.sends) {
      if ("clientContent" in send) yield* session.sendClientContent(send.clientContent as never)
      else if ("realtimeInput" in send) yield* session.sendRealtimeInput(send.realtimeInput as never)
      else if ("contextUpdate" in send) {
        // Ours takes the tools as a list (genai wraps them: `{ tools: { tools } }`).
        const { systemInstruction, tools } = send.contextUpdate
        yield* session.sendContextUpdate({
          ...(systemInstruction === undefined ? {} : { systemInstruction: systemInstruction as never }),
          ...(tools === undefined ? {} : { tools: tools.tools as never })
        })
      } else yield* session.sendToolResponse(send.toolResponse as never)
    }
    const record = yield* waitForMessages(emulator, before, 1 + c.sends.length)
    yield* session.close()
    return record
  }).pipe(Effect.scoped)

describe("wire conformance with @google/genai 3.x", () => {
  beforeAll(() => {
    vi.spyOn(console, "warn").mockImplementation(() => {})
  })
  afterAll(() => {
    vi.restoreAllMocks()
  })

  for (const c of cases) {
    it.scopedLive(c.name, () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ onTurn: () => [] })
        const google = (yield* runGoogle(emulator, c))!
        const ours = (yield* runOurs(emulator, c))!
        expect(ours.path).toBe(google.path)
        expect(ours.query).toEqual(google.query)
        expect(ours.clientMessages.length).toBe(1 + c.sends.length)
        expect(ours.clientMessages).toEqual(google.clientMessages)
      }))
  }
})
