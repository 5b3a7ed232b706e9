/**
 * How each backend words the same server messages (Vertex AI as js-genai recorded it):
 *
 * |                       | Gemini API                                     | Vertex AI                                           |
 * |-----------------------|------------------------------------------------|-----------------------------------------------------|
 * | `setupComplete`       | `{}`                                           | `{ "sessionId": "<uuid>" }`, fresh per connection   |
 * | `modelTurn`           | `{ "parts": ... }`                             | `{ "role": "model", "parts": ... }`                 |
 * | audio `mimeType`      | `audio/pcm;rate=24000`                         | `audio/pcm` (still 24 kHz)                          |
 * | `usageMetadata`       | `responseTokenCount`, `responseTokensDetails`  | `candidatesTokenCount`, `candidatesTokensDetails`   |
 * | `outputTranscription` | the deltas                                     | an empty `{}` when the model turn opens, then the deltas |
 */
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import type { Backend } from "./route.js"
import type { TurnUsage } from "./usage.js"
import type { JsonObject } from "./wire.js"

/** The wording of one backend. */
export interface Dialect {
  readonly backend: Backend
  /** The body of `setupComplete`. */
  readonly setupComplete: Effect.Effect<JsonObject>
  /** The `modelTurn` content of some parts. */
  readonly modelTurn: (parts: ReadonlyArray<unknown>) => JsonObject
  /** The `mimeType` of the model's 24 kHz PCM16 audio. */
  readonly audioMimeType: string
  /** The `usageMetadata` of a turn. */
  readonly usageMetadata: (usage: TurnUsage) => JsonObject
  /** Whether an AUDIO model turn starts with an empty `outputTranscription` (when transcription is on). */
  readonly opensOutputTranscription: boolean
}

const geminiApi: Dialect = {
  backend: "GeminiAPI",
  setupComplete: Effect.succeed({}),
  modelTurn: (parts) => ({ parts }),
  audioMimeType: "audio/pcm;rate=24000",
  usageMetadata: (usage) => ({ ...usage }),
  opensOutputTranscription: false
}

const vertexAi: Dialect = {
  backend: "VertexAI",
  setupComplete: Effect.sync(() => ({ sessionId: randomUUID() })),
  modelTurn: (parts) => ({ role: "model", parts }),
  audioMimeType: "audio/pcm",
  usageMetadata: (usage) => ({
    promptTokenCount: usage.promptTokenCount,
    candidatesTokenCount: usage.responseTokenCount,
    totalTokenCount: usage.totalTokenCount,
    promptTokensDetails: usage.promptTokensDetails,
    candidatesTokensDetails: usage.responseTokensDetails
  }),
  opensOutputTranscription: true
}

/** The dialect of a backend. */
export const dialectOf = (backend: Backend): Dialect => (backend === "VertexAI" ? vertexAi : geminiApi)
