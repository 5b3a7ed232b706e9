/**
 * The fast path of `Protocol.decodeServerMessage`: a hand-written check of the messages that make
 * up nearly all of a conversation's traffic (`serverContent` alone: audio and text parts,
 * transcriptions, the turn's flags). A parsed value that passes is already what the Schema would
 * produce (only known fields, all of the right type), so it is used as it is; anything else goes
 * through the Schema. `test/Protocol.test.ts` checks the two agree.
 *
 * `parseAudioMessage` also spares `JSON.parse` the audio itself (most of the text): the string is
 * cut out, the rest parsed, and the string put back.
 */
import type { ServerMessage } from "../../Protocol.js"

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const isBlob = (value: unknown): boolean => {
  if (!isObject(value)) return false
  for (const key in value) {
    switch (key) {
      case "data":
      case "mimeType":
      case "displayName":
        if (typeof value[key] !== "string") return false
        break
      default:
        return false
    }
  }
  return typeof value.data === "string" && typeof value.mimeType === "string"
}

const isPart = (value: unknown): boolean => {
  if (!isObject(value)) return false
  for (const key in value) {
    switch (key) {
      case "text":
        if (typeof value.text !== "string") return false
        break
      case "thought":
        if (typeof value.thought !== "boolean") return false
        break
      case "inlineData":
        if (!isBlob(value.inlineData)) return false
        break
      default:
        return false
    }
  }
  return true
}

const isContent = (value: unknown): boolean => {
  if (!isObject(value)) return false
  for (const key in value) {
    switch (key) {
      case "role":
        if (typeof value.role !== "string") return false
        break
      case "parts": {
        const parts = value.parts
        if (!Array.isArray(parts)) return false
        for (let i = 0; i < parts.length; i++) if (!isPart(parts[i])) return false
        break
      }
      default:
        return false
    }
  }
  return true
}

const isTranscription = (value: unknown): boolean => {
  if (!isObject(value)) return false
  for (const key in value) {
    switch (key) {
      case "text":
      case "languageCode":
        if (typeof value[key] !== "string") return false
        break
      case "finished":
        if (typeof value.finished !== "boolean") return false
        break
      default:
        return false
    }
  }
  return true
}

const isServerContent = (value: unknown): boolean => {
  if (!isObject(value)) return false
  for (const key in value) {
    switch (key) {
      case "modelTurn":
        if (!isContent(value.modelTurn)) return false
        break
      case "turnComplete":
      case "interrupted":
      case "generationComplete":
      case "waitingForInput":
        if (typeof value[key] !== "boolean") return false
        break
      case "inputTranscription":
      case "outputTranscription":
        if (!isTranscription(value[key])) return false
        break
      case "turnCompleteReason":
        if (typeof value.turnCompleteReason !== "string") return false
        break
      default:
        return false
    }
  }
  return true
}

/** Whether a parsed JSON object is a common `serverContent` message that needs no Schema decoding. */
export const isCommonServerMessage = (json: object): json is ServerMessage => {
  let content = false
  for (const key in json) {
    if (key !== "serverContent") return false
    content = true
  }
  return content && isServerContent((json as Json).serverContent)
}

/** Where the value of a `"data":` key starts (after its opening quote), from `from` on; -1 if none. */
const dataValueStart = (text: string, from: number): number => {
  for (let at = text.indexOf('"data"', from); at >= 0; at = text.indexOf('"data"', at + 6)) {
    let i = at + 6
    while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13 || text.charCodeAt(i) === 9) i++
    if (text.charCodeAt(i) !== 58) continue // ":"
    i++
    while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13 || text.charCodeAt(i) === 9) i++
    if (text.charCodeAt(i) === 34) return i + 1 // the opening quote
  }
  return -1
}

/**
 * Parses a common message with one inline blob (model audio) without running `JSON.parse` over the
 * blob's data: the text between the quotes of its `"data":` value is cut out, the rest parsed, and
 * the data put back. Gives what `JSON.parse` gives for well-formed JSON without duplicate keys (raw
 * control characters in the cut are not rejected, as `JSON.parse` would), or `undefined` (then use
 * `JSON.parse`) unless the result is a common message with exactly one blob whose data was the cut
 * (so the cut was that value, not text that looked like it), and the cut held no escape.
 */
export const parseAudioMessage = (text: string): ServerMessage | undefined => {
  const start = dataValueStart(text, 0)
  if (start < 0) return undefined
  const end = text.indexOf('"', start)
  if (end < 0) return undefined
  const escape = text.indexOf("\\", start)
  if (escape >= 0 && escape < end) return undefined
  let json: unknown
  try {
    json = JSON.parse(text.slice(0, start) + text.slice(end))
  } catch {
    return undefined
  }
  if (typeof json !== "object" || json === null || Array.isArray(json) || !isCommonServerMessage(json)) return undefined
  const parts = json.serverContent?.modelTurn?.parts
  if (parts === undefined) return undefined
  let blob: { data: string } | undefined
  for (const part of parts) {
    if (part.inlineData === undefined) continue
    if (blob !== undefined) return undefined
    blob = part.inlineData as { data: string }
  }
  if (blob === undefined || blob.data !== "") return undefined
  blob.data = text.slice(start, end)
  return json
}
