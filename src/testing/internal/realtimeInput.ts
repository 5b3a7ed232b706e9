/**
 * `realtimeInput`: audio is kept per user turn, which ends when the activity detector hears the
 * speech end, at `audioStreamEnd`, or at `activityEnd` when automatic detection is disabled;
 * realtime text is a turn of its own. New input cancels and interrupts as the model's rules say.
 */
import * as Effect from "effect/Effect"
import { cancelBlockingCalls } from "./functionCalls.js"
import { concatSamples, decodeBase64Pcm, inputSampleRate, pcmSampleRate, resample } from "./pcm.js"
import { answerTurn, bargeIn } from "./reply.js"
import type { ActiveSession, SessionState } from "./sessionState.js"
import { arrayField, booleanField, field, stringField } from "./wire.js"

/** Audio kept before speech starts (more would only be leading silence). */
const retainedLeadMs = 1000
/** The most audio one user turn keeps (the oldest is dropped beyond it). */
const maxTurnSamples = 10 * 60 * inputSampleRate

const appendAudio = (s: SessionState, samples: Int16Array, keepSamples: number) => {
  if (samples.length === 0) return
  s.segment.push(samples)
  s.segmentSamples += samples.length
  while (s.segment.length > 1 && s.segmentSamples - s.segment[0].length >= keepSamples) {
    s.segmentSamples -= s.segment.shift()!.length
  }
}

/** The audio of the turn so far; the next turn starts empty. */
const takeSegment = (s: SessionState): Int16Array => {
  const samples = concatSamples(s.segment, s.segmentSamples)
  s.segment = []
  s.segmentSamples = 0
  s.audioTurnStart = undefined
  return samples
}

const endAudioTurn = (s: SessionState, session: ActiveSession) => answerTurn(s, session, undefined, takeSegment(s))

const onAudio = (s: SessionState, session: ActiveSession, samples: Int16Array) =>
  Effect.gen(function*() {
    const detection = session.setup.activityDetection
    const vad = session.detector
    if (detection.disabled) {
      if (s.activityOpen) appendAudio(s, samples, maxTurnSamples)
      return
    }
    let from = 0
    for (const change of vad.feed(samples)) {
      if (change.kind === "SpeechStarted") {
        s.audioTurnStart ??= s.messageIndex
        yield* cancelBlockingCalls(s, session)
        yield* bargeIn(s, session)
      } else {
        appendAudio(s, samples.subarray(from, change.offset), maxTurnSamples)
        from = change.offset
        yield* endAudioTurn(s, session)
      }
    }
    const lead = (Math.max(retainedLeadMs, detection.prefixPaddingMs + 200) * inputSampleRate) / 1000
    appendAudio(s, samples.subarray(from), vad.speaking() ? maxTurnSamples : lead)
  })

/** Handles a `realtimeInput` message. */
export const onRealtimeInput = (s: SessionState, session: ActiveSession, body: unknown) =>
  Effect.gen(function*() {
    const manual = session.setup.activityDetection.disabled
    if (manual && field(body, "activityStart") !== undefined) {
      yield* cancelBlockingCalls(s, session)
      yield* bargeIn(s, session)
      s.activityOpen = true
      takeSegment(s)
      s.audioTurnStart = s.messageIndex
    }
    for (const blob of [field(body, "audio"), ...arrayField(body, "mediaChunks")]) {
      const rate = pcmSampleRate(stringField(blob, "mimeType") ?? "")
      const data = stringField(blob, "data")
      if (rate === undefined || data === undefined) continue
      yield* onAudio(s, session, resample(decodeBase64Pcm(data), rate, inputSampleRate))
    }
    const text = stringField(body, "text")
    if (text !== undefined) {
      yield* cancelBlockingCalls(s, session)
      yield* bargeIn(s, session)
      session.usage.addUserText(text)
      yield* answerTurn(s, session, text, undefined)
    }
    if (manual && s.activityOpen && field(body, "activityEnd") !== undefined) {
      s.activityOpen = false
      yield* endAudioTurn(s, session)
    }
    if (!manual && booleanField(body, "audioStreamEnd")) {
      // The stream pauses: a turn in progress ends now; silence alone is no turn.
      const speaking = session.detector.speaking()
      session.detector.reset()
      if (speaking) yield* endAudioTurn(s, session)
      else takeSegment(s)
    }
  })
