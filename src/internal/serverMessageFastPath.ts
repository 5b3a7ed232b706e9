/**
 * The fast path of `Protocol.decodeServerMessage`: a hand-written check of the messages that make
 * up nearly all of a conversation's traffic (`serverContent` alone: audio and text parts,
 * transcriptions, the turn's flags). A parsed JSON value that passes is already what the Schema
 * decoder would produce (only known fields, all of the right type), so it is used as it is; anything
 * else (another message kind, an unknown field anywhere, a `null`, a wrong type) goes through the
 * Schema, which keeps unknown fields and reports errors. `test/Protocol.test.ts` checks the two agree.
 */
import type { ServerMessage } from "../Protocol.js"

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
