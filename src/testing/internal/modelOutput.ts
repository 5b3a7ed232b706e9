/**
 * How one thing the model says is cut into server messages, following the recorded traffic:
 *
 * - TEXT: a short first delta (the first word: "Yes", then ", I can hear you clearly. How can I
 *   help you today?"), then deltas of up to 80 characters that end before a space.
 * - AUDIO: 24 kHz chunks of 200 and 240 ms in turn (9,600 and 11,520 bytes), each followed by the
 *   transcription of the words that its end has reached ("We " after the first 200 ms).
 */
import { outputSampleRate } from "./pcm.js"

const maxDeltaCharacters = 80

/** Splits a text reply into the deltas the model streams. */
export const textDeltas = (text: string): ReadonlyArray<string> => {
  const deltas: Array<string> = []
  const first = /^\s*[\p{L}\p{N}']+/u.exec(text)
  let rest = text
  if (first !== null && first[0].length < text.length) {
    deltas.push(first[0])
    rest = text.slice(first[0].length)
  }
  while (rest.length > maxDeltaCharacters) {
    const space = rest.lastIndexOf(" ", maxDeltaCharacters)
    const end = space > 0 ? space : maxDeltaCharacters
    deltas.push(rest.slice(0, end))
    rest = rest.slice(end)
  }
  if (rest.length > 0) deltas.push(rest)
  return deltas
}

/** Bytes in 200 ms and in 240 ms of 24 kHz PCM16. */
export const audioChunkBytes: readonly [number, number] = [
  (outputSampleRate / 1000) * 200 * 2,
  (outputSampleRate / 1000) * 240 * 2
]

/** One audio message of a reply, and the transcription sent right after it ("" for none). */
export interface AudioChunk {
  readonly start: number
  readonly end: number
  readonly durationMs: number
  readonly transcription: string
}

/**
 * Cuts reply audio into 200/240 ms chunks and `text` into the transcription deltas that go with
 * them: after each chunk, the words whose last character the audio has reached (with the spaces
 * that follow them); the last chunk takes whatever is left.
 */
export const audioChunks = (audio: Uint8Array, text: string): ReadonlyArray<AudioChunk> => {
  const total = audio.length - (audio.length % 2)
  const words = Array.from(text.matchAll(/\s*\S+\s*/g), (match) => ({
    text: match[0],
    spokenAt: match.index + match[0].trimEnd().length
  }))
  const chunks: Array<AudioChunk> = []
  let start = 0
  let word = 0
  while (start < total) {
    const end = Math.min(total, start + audioChunkBytes[chunks.length % 2])
    const spoken = end === total ? Infinity : (end / total) * text.length
    let transcription = ""
    while (word < words.length && words[word].spokenAt <= spoken) transcription += words[word++].text
    chunks.push({ start, end, durationMs: ((end - start) / 2 / outputSampleRate) * 1000, transcription })
    start = end
  }
  return chunks
}
