/**
 * The emulated model's voice: deterministic, audible 24 kHz PCM16 for a text, about as long as the
 * text takes to say. Not speech, but not silence either: a voiced buzz (a fundamental and two
 * harmonics) whose pitch moves from syllable to syllable, under a rise-and-fall syllable envelope,
 * so level meters, VADs and players downstream see something that behaves like a voice.
 */
import { outputSampleRate, toBytes } from "./pcm.js"

/** Speaking rate of the synthesized voice. */
export const msPerCharacter = 70

/** The shortest reply audio. */
export const minimumSpeechMs = 400

/** How long the voice takes to say `text`. */
export const speechDurationMs = (text: string): number => Math.max(minimumSpeechMs, text.length * msPerCharacter)

const charactersPerSyllable = 3
const peak = 0.3 * 32767

/** Synthesizes the voice for `text`: 24 kHz PCM16 LE mono. */
export const synthesizeSpeech = (text: string): Uint8Array => {
  const sampleCount = Math.round((speechDurationMs(text) * outputSampleRate) / 1000)
  const samplesPerSyllable = Math.round((charactersPerSyllable * msPerCharacter * outputSampleRate) / 1000)
  const samples = new Int16Array(sampleCount)
  let phase = 0
  for (let n = 0; n < sampleCount; n++) {
    const syllable = Math.floor(n / samplesPerSyllable)
    const code = text.length === 0 ? 0 : text.charCodeAt((syllable * charactersPerSyllable) % text.length)
    const pitch = 110 + (code % 16) * 9
    phase += (2 * Math.PI * pitch) / outputSampleRate
    const envelope = Math.sin((Math.PI * (n % samplesPerSyllable)) / samplesPerSyllable) ** 2
    const voice = Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase)
    samples[n] = Math.round((peak * envelope * voice) / 1.75)
  }
  return toBytes(samples)
}
