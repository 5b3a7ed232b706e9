/**
 * A decoded server message turned into `LiveEvent`s, in the order `LiveEvent.ts` documents; model
 * audio as the bytes `audioBytes.ts` decoded (or decoded here, once).
 */
import * as Data from "effect/Data"
import type { LiveEvent, Transcribed } from "../../LiveEvent.js"
import type * as Protocol from "../../Protocol.js"
import { bytesOf } from "./audioBytes.js"

// The same constructors as `LiveEvent`'s (they hold no state), without importing its values;
// taken once: each property read of a taggedEnum makes a new constructor.
const {
  AudioDelta,
  GenerationComplete,
  GoAway,
  InputTranscription,
  InteractionStatus,
  Interrupted,
  OutputTranscription,
  ServerContent,
  SessionResumptionUpdate,
  SetupComplete,
  TextDelta,
  ToolCall,
  ToolCallCancellation,
  TurnComplete,
  Unknown,
  UsageMetadata,
  VoiceActivity,
  WaitingForInput
} = Data.taggedEnum<LiveEvent>()

/** A transcription with text or the end mark (Vertex AI opens each turn with an empty one: not an event). */
const isNews = (transcription: Protocol.Transcription | undefined): transcription is Protocol.Transcription =>
  transcription !== undefined && ((transcription.text ?? "") !== "" || transcription.finished === true)

/** A transcription's text, end mark and, when sent, offsets. */
const transcribed = (transcription: Protocol.Transcription): Transcribed => {
  const piece: { -readonly [K in keyof Transcribed]: Transcribed[K] } = {
    text: transcription.text ?? "",
    finished: transcription.finished ?? false
  }
  if (transcription.startOffset !== undefined) piece.startOffset = transcription.startOffset
  if (transcription.endOffset !== undefined) piece.endOffset = transcription.endOffset
  return piece
}

const rateOf = (mimeType: string): number => {
  const match = /rate=(\d+)/.exec(mimeType)
  return match ? Number(match[1]) : 24000
}

export const fromServerMessage = (message: Protocol.ServerMessage): ReadonlyArray<LiveEvent> => {
  const events: Array<LiveEvent> = []
  let known = false
  if (message.setupComplete !== undefined) {
    known = true
    events.push(SetupComplete({ sessionId: message.setupComplete.sessionId }))
  }
  const content = message.serverContent
  if (content !== undefined) {
    known = true
    events.push(ServerContent({ content }))
    if (isNews(content.inputTranscription)) {
      events.push(InputTranscription(transcribed(content.inputTranscription)))
    }
    const parts = content.modelTurn?.parts
    if (parts !== undefined) {
      for (const part of parts) {
        if (part.inlineData !== undefined && part.inlineData.mimeType.startsWith("audio/")) {
          const data = bytesOf(part.inlineData)
          events.push(AudioDelta({ data, mimeType: part.inlineData.mimeType, sampleRate: rateOf(part.inlineData.mimeType) }))
        } else if (part.text !== undefined) {
          events.push(TextDelta({ text: part.text, thought: part.thought ?? false }))
        }
      }
    }
    if (isNews(content.outputTranscription)) {
      events.push(OutputTranscription(transcribed(content.outputTranscription)))
    }
    if (content.interrupted === true) events.push(Interrupted())
    if (content.generationComplete === true) events.push(GenerationComplete())
    if (content.interactionStatus !== undefined) events.push(InteractionStatus({ status: content.interactionStatus }))
    if (content.waitingForInput === true) events.push(WaitingForInput())
  }
  if (message.toolCall !== undefined) {
    known = true
    events.push(ToolCall({ functionCalls: message.toolCall.functionCalls ?? [] }))
  }
  if (message.toolCallCancellation !== undefined) {
    known = true
    events.push(ToolCallCancellation({ ids: message.toolCallCancellation.ids ?? [] }))
  }
  if (message.usageMetadata !== undefined) {
    known = true
    events.push(UsageMetadata({ usage: message.usageMetadata }))
  }
  if (content?.turnComplete === true) events.push(TurnComplete({ reason: content.turnCompleteReason }))
  if (message.goAway !== undefined) {
    known = true
    events.push(GoAway({ timeLeft: message.goAway.timeLeft }))
  }
  if (message.sessionResumptionUpdate !== undefined) {
    known = true
    const update = message.sessionResumptionUpdate
    events.push(SessionResumptionUpdate({
      newHandle: update.newHandle,
      resumable: update.resumable ?? false,
      lastConsumedClientMessageIndex: update.lastConsumedClientMessageIndex
    }))
  }
  if (message.voiceActivity !== undefined) {
    known = true
    events.push(VoiceActivity({
      type: message.voiceActivity.type ?? message.voiceActivity.voiceActivityType,
      audioOffset: message.voiceActivity.audioOffset
    }))
  }
  if (message.voiceActivityDetectionSignal !== undefined) {
    known = true
    events.push(VoiceActivity({ type: message.voiceActivityDetectionSignal.vadSignalType, audioOffset: undefined }))
  }
  if (!known) events.push(Unknown({ message, error: undefined }))
  return events
}
