/**
 * The client messages encoded into frames: `clientContent`, `realtimeInput` (with the audio hot
 * path), `toolResponse` and `contextUpdate`, each checked as the service or `@google/genai` would.
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
import { toContent, toTurns } from "./content.js"

const inputError = (method: string, path: string, description: string) =>
  new ConfigError({ module: "Protocol", method, path, description })

const toBlob = (media: MediaInput): Blob =>
  typeof media.data === "string"
    ? (media as Blob)
    : { data: Buffer.from(media.data.buffer, media.data.byteOffset, media.data.byteLength).toString("base64"), mimeType: media.mimeType }

export const encodeClientContent = (input: ClientContentInput): Either.Either<string, ConfigError> => {
  const turnComplete = input.turnComplete ?? true
  if (input.turns === undefined || input.turns === null) {
    return Either.right(JSON.stringify({ clientContent: { turnComplete } }))
  }
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

export const encodeRealtimeInput = (input: RealtimeInput): Either.Either<string, ConfigError> => {
  const body: Record<string, unknown> = {}
  if (input.media != null) {
    body.mediaChunks = (Array.isArray(input.media) ? input.media : [input.media as MediaInput]).map(toBlob)
  }
  if (input.audio != null) {
    if (!input.audio.mimeType?.startsWith("audio/")) {
      return Either.left(inputError("sendRealtimeInput", "audio.mimeType", `unsupported MIME type for audio: ${input.audio.mimeType}`))
    }
    body.audio = toBlob(input.audio)
  }
  if (input.audioStreamEnd != null) body.audioStreamEnd = input.audioStreamEnd
  if (input.video != null) {
    if (!input.video.mimeType?.startsWith("image/")) {
      return Either.left(inputError("sendRealtimeInput", "video.mimeType", `unsupported MIME type for video: ${input.video.mimeType}`))
    }
    body.video = toBlob(input.video)
  }
  if (input.text != null) body.text = input.text
  if (input.activityStart != null) body.activityStart = input.activityStart
  if (input.activityEnd != null) body.activityEnd = input.activityEnd
  return Either.right(JSON.stringify({ realtimeInput: body }))
}

/** The envelope is built once; base64 needs no JSON escaping, so a frame is one string build. */
export const realtimeAudioEncoder = (mimeType: string): (base64: string) => string => {
  const tail = `","mimeType":${JSON.stringify(mimeType)}}}}`
  return (base64) => `{"realtimeInput":{"audio":{"data":"${base64}${tail}`
}

export const encodeRealtimeAudio = (base64: string, mimeType: string): string => realtimeAudioEncoder(mimeType)(base64)

export const functionResponsesOf = (input: ToolResponseInput): ReadonlyArray<FunctionResponse> =>
  Array.isArray(input.functionResponses)
    ? input.functionResponses as ReadonlyArray<FunctionResponse>
    : [input.functionResponses as FunctionResponse]

export const encodeToolResponse = (
  input: ToolResponseInput,
  options: { readonly requireId: boolean; readonly backend: string; readonly acceptsWillContinue?: boolean | undefined }
): Either.Either<string, ConfigError> => {
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
    if (typeof response.response !== "object" || response.response === null) {
      return Either.left(inputError("sendToolResponse", `${path}.response`, "a function response needs a response object"))
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
