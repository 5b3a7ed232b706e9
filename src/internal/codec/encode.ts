/**
 * The client messages encoded into frames: `clientContent`, `realtimeInput` (with the audio hot
 * path), `toolResponse` and `contextUpdate`, each checked as the service or `@google/genai` would
 * (`check.ts`): whatever a caller passes, a `ConfigError` naming the field, never a throw.
 */
import * as Either from "effect/Either"
import { ConfigError } from "../../LiveError.js"
import type {
  Blob,
  ClientContentInput,
  ContextUpdate,
  ContextUpdateInput,
  FunctionResponse,
  MediaInput,
  RealtimeInput,
  ToolResponseInput
} from "../../Protocol.js"
import { toApiTools } from "./apiSchema.js"
import { checkContentInput, checkMedia, type Fault, isObject, kindOf } from "./check.js"
import { toContent, toTurns } from "./content.js"

const inputError = (method: string, path: string, description: string) =>
  new ConfigError({ module: "Protocol", method, path, description })

const faultError = (method: string, fault: Fault) => Either.left(inputError(method, fault.path, fault.description))

const toBlob = (media: MediaInput): Blob =>
  typeof media.data === "string"
    ? (media as Blob)
    : { data: Buffer.from(media.data.buffer, media.data.byteOffset, media.data.byteLength).toString("base64"), mimeType: media.mimeType }

export const encodeClientContent = (input: ClientContentInput): Either.Either<string, ConfigError> => {
  if (!isObject(input as unknown)) return Either.left(inputError("sendClientContent", "", `the input must be an object, not ${kindOf(input)}`))
  const turnComplete = input.turnComplete ?? true
  if (typeof turnComplete !== "boolean") {
    return Either.left(inputError("sendClientContent", "turnComplete", `must be a boolean, not ${kindOf(turnComplete)}`))
  }
  if (input.turns === undefined || input.turns === null) {
    return Either.right(JSON.stringify({ clientContent: { turnComplete } }))
  }
  const bad = checkContentInput(input.turns, "turns", true)
  if (bad !== undefined) return faultError("sendClientContent", bad)
  return Either.match(toTurns(input.turns), {
    onLeft: (description) => Either.left(inputError("sendClientContent", "turns", description)),
    onRight: (turns) => Either.right(JSON.stringify({ clientContent: { turns, turnComplete } }))
  })
}

export const encodeContextUpdate = (input: ContextUpdateInput): Either.Either<ContextUpdate, ConfigError> => {
  if (typeof input !== "object" || input === null) {
    return Either.left(inputError("sendContextUpdate", "", "a context update must be an object"))
  }
  if (input.systemInstruction == null && input.tools == null) {
    return Either.left(inputError("sendContextUpdate", "", "a context update needs systemInstruction or tools"))
  }
  if (input.tools != null && !Array.isArray(input.tools)) {
    return Either.left(inputError("sendContextUpdate", "tools", "must be a list of tools"))
  }
  if (input.systemInstruction != null) {
    const bad = checkContentInput(input.systemInstruction, "systemInstruction", false)
    if (bad !== undefined) return faultError("sendContextUpdate", bad)
  }
  const body: Record<string, unknown> = {}
  const systemInstruction = input.systemInstruction == null ? undefined : toContent(input.systemInstruction)
  if (systemInstruction !== undefined) body.systemInstruction = systemInstruction
  let tools: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined
  if (input.tools != null) {
    const converted = toApiTools(input.tools, "tools")
    if (Either.isLeft(converted)) return Either.left(inputError("sendContextUpdate", converted.left.path, converted.left.description))
    tools = converted.right
    body.tools = { tools }
  }
  return Either.right({ frame: JSON.stringify({ contextUpdate: body }), systemInstruction, tools })
}

/** The fields of a `realtimeInput`; one at least must be set. */
const realtimeFields = "audio, video, text, media, activityStart, activityEnd or audioStreamEnd"

export const encodeRealtimeInput = (input: RealtimeInput): Either.Either<string, ConfigError> => {
  const method = "sendRealtimeInput"
  if (!isObject(input as unknown)) return Either.left(inputError(method, "", `the input must be an object, not ${kindOf(input)}`))
  const body: Record<string, unknown> = {}
  if (input.media != null) {
    const media: ReadonlyArray<unknown> = Array.isArray(input.media) ? input.media : [input.media]
    for (let i = 0; i < media.length; i++) {
      const bad = checkMedia(media[i], Array.isArray(input.media) ? `media[${i}]` : "media")
      if (bad !== undefined) return faultError(method, bad)
    }
    if (media.length > 0) body.mediaChunks = (media as ReadonlyArray<MediaInput>).map(toBlob)
  }
  if (input.audio != null) {
    const bad = checkMedia(input.audio, "audio", "audio/", "audio")
    if (bad !== undefined) return faultError(method, bad)
    body.audio = toBlob(input.audio)
  }
  if (input.audioStreamEnd != null) {
    if (typeof input.audioStreamEnd !== "boolean") {
      return Either.left(inputError(method, "audioStreamEnd", `must be a boolean, not ${kindOf(input.audioStreamEnd)}`))
    }
    body.audioStreamEnd = input.audioStreamEnd
  }
  if (input.video != null) {
    const bad = checkMedia(input.video, "video", "image/", "video")
    if (bad !== undefined) return faultError(method, bad)
    body.video = toBlob(input.video)
  }
  if (input.text != null) {
    if (typeof input.text !== "string") return Either.left(inputError(method, "text", `must be a string, not ${kindOf(input.text)}`))
    body.text = input.text
  }
  for (const key of ["activityStart", "activityEnd"] as const) {
    const signal = input[key]
    if (signal == null) continue
    if (!isObject(signal)) return Either.left(inputError(method, key, `must be an object ({}), not ${kindOf(signal)}`))
    body[key] = signal
  }
  for (const _ in body) return Either.right(JSON.stringify({ realtimeInput: body }))
  return Either.left(inputError(method, "", `an empty realtime input: set one of ${realtimeFields}`))
}

/**
 * The envelope is built once; base64 needs no JSON escaping, so a frame is one string build. The
 * data is not checked: this is the path of the frames the library cuts and encodes itself.
 */
export const realtimeAudioEncoder = (mimeType: string): (base64: string) => string => {
  const tail = `","mimeType":${JSON.stringify(mimeType)}}}}`
  return (base64) => `{"realtimeInput":{"audio":{"data":"${base64}${tail}`
}

export const encodeRealtimeAudio = (base64: string, mimeType: string): string => realtimeAudioEncoder(mimeType)(base64)

/** The responses as a list; none when the input has none (or is not an object): `encodeToolResponse` says what is wrong. */
export const functionResponsesOf = (input: ToolResponseInput): ReadonlyArray<FunctionResponse> =>
  !isObject(input as unknown) || input.functionResponses == null
    ? []
    : Array.isArray(input.functionResponses)
    ? input.functionResponses as ReadonlyArray<FunctionResponse>
    : [input.functionResponses as FunctionResponse]

export const encodeToolResponse = (
  input: ToolResponseInput,
  options: { readonly requireId: boolean; readonly backend: string; readonly acceptsWillContinue?: boolean | undefined }
): Either.Either<string, ConfigError> => {
  if (!isObject(input as unknown)) return Either.left(inputError("sendToolResponse", "", `the input must be an object, not ${kindOf(input)}`))
  const functionResponses = functionResponsesOf(input)
  if (functionResponses.length === 0) {
    return Either.left(inputError("sendToolResponse", "functionResponses", "at least one function response is required"))
  }
  for (let i = 0; i < functionResponses.length; i++) {
    const response = functionResponses[i]
    const path = `functionResponses[${i}]`
    if (typeof response !== "object" || response === null || typeof response.name !== "string") {
      return Either.left(inputError("sendToolResponse", `${path}.name`, "a function response needs the function's name"))
    }
    if (!isObject(response.response)) {
      return Either.left(inputError("sendToolResponse", `${path}.response`, "a function response needs a response object"))
    }
    if (response.id !== undefined && typeof response.id !== "string") {
      return Either.left(inputError("sendToolResponse", `${path}.id`, `must be a string, not ${kindOf(response.id)}`))
    }
    if (response.scheduling !== undefined && typeof response.scheduling !== "string") {
      return Either.left(inputError("sendToolResponse", `${path}.scheduling`, `must be a string, not ${kindOf(response.scheduling)}`))
    }
    if (response.willContinue !== undefined && typeof response.willContinue !== "boolean") {
      return Either.left(inputError("sendToolResponse", `${path}.willContinue`, `must be a boolean, not ${kindOf(response.willContinue)}`))
    }
    if (options.acceptsWillContinue === false && response.willContinue !== undefined) {
      return Either.left(inputError("sendToolResponse", `${path}.willContinue`, `is not supported on the ${options.backend} backend`))
    }
    if (options.requireId && typeof response.id !== "string") {
      return Either.left(
        inputError("sendToolResponse", `${path}.id`, `the ${options.backend} backend requires the id of the function call`)
      )
    }
  }
  return Either.right(JSON.stringify({ toolResponse: { functionResponses } }))
}
