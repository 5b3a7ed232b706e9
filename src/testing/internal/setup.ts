/**
 * The `setup` message: validated as the service validates it (unknown fields, the model name, models
 * that are gone) and read into the settings that shape the emulated session. The model name is
 * `models/{name}` or `tunedModels/{name}` on the Gemini API; on Vertex AI
 * `projects/{p}/locations/{l}/publishers/google/models/{name}`, `publishers/google/models/{name}` or
 * `models/{name}` (another publisher: 1008). Both backends take the same fields.
 */
import type { Route } from "./route.js"
import {
  arrayField,
  booleanField,
  camelCase,
  field,
  invalidArgument,
  isObject,
  type JsonObject,
  numberField,
  objectField,
  type Rejection,
  rejection,
  stringField,
  unknownField
} from "./wire.js"

/** The fields of `BidiGenerateContentSetup`, in lowerCamel (their snake_case forms are accepted too). */
const setupFields: ReadonlySet<string> = new Set([
  "model",
  "generationConfig",
  "systemInstruction",
  "tools",
  "realtimeInputConfig",
  "sessionResumption",
  "contextWindowCompression",
  "inputAudioTranscription",
  "outputAudioTranscription",
  "proactivity",
  "historyConfig",
  "explicitVadSignal",
  "avatarConfig",
  "safetySettings",
  "labels"
])

/** How automatic activity detection is tuned (`realtimeInputConfig.automaticActivityDetection`). */
export interface ActivityDetection {
  /** `disabled: true`: turns are delimited by the client's `activityStart` / `activityEnd`. */
  readonly disabled: boolean
  /** Speech needed before the start of speech is committed. */
  readonly prefixPaddingMs: number
  /** Silence that ends the user's turn, in the audio's own timeline. */
  readonly silenceDurationMs: number
  /** Frame RMS (of a 16-bit sample) above which a frame counts as speech. */
  readonly speechThreshold: number
}

/** What the session needs to know from `setup`. */
export interface SessionSetup {
  /** The message as the client sent it. */
  readonly raw: JsonObject
  /** The model name as sent (`models/...`, `tunedModels/...`, or a Vertex AI resource name). */
  readonly model: string
  /** The server default is AUDIO; TEXT when `responseModalities` asks for it. */
  readonly responseModality: "TEXT" | "AUDIO"
  readonly inputTranscription: boolean
  readonly outputTranscription: boolean
  readonly activityDetection: ActivityDetection
  /** `activityHandling: NO_INTERRUPTION` turns barge-in off. */
  readonly interruptible: boolean
  /** The text of `systemInstruction` (counted in the prompt tokens). */
  readonly systemInstruction: string
  /** `sessionResumption`, when the setup has it (`{}` asks for handles; `handle` resumes). */
  readonly resumption: SessionResumption | undefined
}

/** What `sessionResumption` asks for. */
export interface SessionResumption {
  /** The handle of the conversation to continue; `undefined` (or empty, proto3's default) starts one. */
  readonly handle: string | undefined
  /** `transparent: true` (Vertex AI): every update also says `lastConsumedClientMessageIndex`. */
  readonly transparent: boolean
}

/** Defaults of the emulated activity detector (the service documents none). */
const defaultPrefixPaddingMs = 60
const defaultSilenceDurationMs = 500
const speechThreshold = { low: 400, high: 200 }

/** The reason the service gives for a model it does not serve (cut to 123 bytes when sent). */
export const modelNotFound = (model: string, version: string): Rejection =>
  rejection(
    1008,
    `${model} is not found for API version ${version}, or is not supported for bidiGenerateContent. Call ListModels to see the list of available models and their supported methods.`
  )

/**
 * Vertex AI's reason for a model it does not serve (its NOT_FOUND message, cut to 123 bytes when
 * sent): "Publisher Model `projects/.../models/X` was not found or your project does not have access
 * to it. ..." (adk-python#1984).
 */
export const publisherModelNotFound = (model: string): Rejection =>
  rejection(
    1008,
    `Publisher Model \`${model}\` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions`
  )

const geminiApiModel = /^(?:models|tunedModels)\/([^/]+)$/
const vertexAiModel = /^(?:(?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/([^/]+)\/)?models\/([^/]+)$/

/** Checks the model name of a setup: `undefined` if the backend serves it, else the close to answer. */
const checkModel = (model: string, route: Route, unknownModels: ReadonlySet<string>): Rejection | undefined => {
  if (route.backend === "GeminiAPI") {
    const match = geminiApiModel.exec(model)
    if (match === null) return invalidArgument
    return unknownModels.has(match[1]) ? modelNotFound(model, route.version) : undefined
  }
  const match = vertexAiModel.exec(model)
  if (match === null) return invalidArgument
  // `models/X`, without a publisher, is Google's.
  const publisher = match[1] ?? "google"
  return publisher !== "google" || unknownModels.has(match[2]) ? publisherModelNotFound(model) : undefined
}

/** Concatenates the text parts of a `Content`. */
export const contentText = (content: unknown): string =>
  arrayField(content, "parts")
    .map((part) => stringField(part, "text") ?? "")
    .join("")

const wantsText = (modalities: ReadonlyArray<unknown>): boolean =>
  modalities.some((modality) => modality === "TEXT" || modality === 1)

const parseResumption = (value: unknown): SessionResumption | undefined => {
  if (!isObject(value)) return undefined
  const handle = stringField(value, "handle")
  return { handle: handle === "" ? undefined : handle, transparent: booleanField(value, "transparent") }
}

/**
 * Reads a `setup` body. Fails with the close the real service answers: 1007 for an unknown field
 * or a malformed model name, 1008 for a model that does not exist (any name in `unknownModels`).
 */
export const parseSetup = (
  body: unknown,
  route: Route,
  unknownModels: ReadonlySet<string>
): SessionSetup | Rejection => {
  if (!isObject(body)) return invalidArgument
  for (const name of Object.keys(body)) {
    if (!setupFields.has(camelCase(name))) return unknownField(name, "setup")
  }
  const model = stringField(body, "model")
  if (model === undefined) return invalidArgument
  const refused = checkModel(model, route, unknownModels)
  if (refused !== undefined) return refused

  const generationConfig = objectField(body, "generationConfig")
  const realtimeInputConfig = objectField(body, "realtimeInputConfig")
  const detection = objectField(realtimeInputConfig, "automaticActivityDetection")
  return {
    raw: body,
    model,
    responseModality: wantsText(arrayField(generationConfig, "responseModalities")) ? "TEXT" : "AUDIO",
    inputTranscription: field(body, "inputAudioTranscription") !== undefined,
    outputTranscription: field(body, "outputAudioTranscription") !== undefined,
    activityDetection: {
      disabled: booleanField(detection, "disabled"),
      prefixPaddingMs: numberField(detection, "prefixPaddingMs") ?? defaultPrefixPaddingMs,
      silenceDurationMs: numberField(detection, "silenceDurationMs") ?? defaultSilenceDurationMs,
      speechThreshold: field(detection, "startOfSpeechSensitivity") === "START_SENSITIVITY_HIGH"
        ? speechThreshold.high
        : speechThreshold.low
    },
    interruptible: field(realtimeInputConfig, "activityHandling") !== "NO_INTERRUPTION",
    systemInstruction: contentText(field(body, "systemInstruction")),
    resumption: parseResumption(field(body, "sessionResumption"))
  }
}

/** Whether `parseSetup` refused the setup. */
export const isRejection = (result: SessionSetup | Rejection): result is Rejection => "code" in result
