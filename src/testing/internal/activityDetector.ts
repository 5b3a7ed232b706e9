/**
 * Automatic activity detection: an energy VAD over 20 ms frames of 16 kHz audio, on the audio's own
 * timeline (never the wall clock), so a client streaming faster or slower than real time gets the
 * same turns. Speech starts after `prefixPaddingMs` of loud frames, ends after `silenceDurationMs`
 * of quiet ones.
 */
import type { ActivityDetection } from "./setup.js"
import { inputSampleRate } from "./pcm.js"

const frameMs = 20
const frameSamples = (inputSampleRate / 1000) * frameMs

/** A change of activity, at a sample offset in the chunk just fed (the end of the deciding frame). */
export interface ActivityChange {
  readonly kind: "SpeechStarted" | "SpeechEnded"
  readonly offset: number
}

/** A stateful detector: feed it every chunk of a stream, in order. */
export interface ActivityDetector {
  /** Whether speech has started and not yet ended. */
  readonly speaking: () => boolean
  /** Processes a chunk; returns the changes it contains, in order. */
  readonly feed: (samples: Int16Array) => ReadonlyArray<ActivityChange>
  /** Forgets everything (after `audioStreamEnd`). */
  readonly reset: () => void
}

/** Makes a detector with the session's settings. */
export const makeActivityDetector = (settings: ActivityDetection): ActivityDetector => {
  const framesToStart = Math.max(1, Math.ceil(settings.prefixPaddingMs / frameMs))
  const framesToEnd = Math.max(1, Math.ceil(settings.silenceDurationMs / frameMs))
  const threshold = settings.speechThreshold ** 2 * frameSamples
  let speaking = false
  let run = 0
  let energy = 0
  let filled = 0

  const reset = () => {
    speaking = false
    run = 0
    energy = 0
    filled = 0
  }

  const feed = (samples: Int16Array): ReadonlyArray<ActivityChange> => {
    const changes: Array<ActivityChange> = []
    for (let i = 0; i < samples.length; i++) {
      energy += samples[i] * samples[i]
      if (++filled < frameSamples) continue
      const loud = energy > threshold
      energy = 0
      filled = 0
      // `run` counts the frames that argue for a change: loud ones while quiet, quiet ones while speaking.
      run = loud !== speaking ? run + 1 : 0
      if (run >= (speaking ? framesToEnd : framesToStart)) {
        speaking = !speaking
        run = 0
        changes.push({ kind: speaking ? "SpeechStarted" : "SpeechEnded", offset: i + 1 })
      }
    }
    return changes
  }

  return { speaking: () => speaking, feed, reset }
}
