/**
 * Speeds of the audio toolkit, as multiples of real time on one core: 60 s of audio (a mix of
 * tones and noise) pushed in 20 ms chunks, as a live call would, then flushed.
 *
 *   npx tsx bench/audio.ts
 *
 * `measureAudio` is also the audio scenario of `bench/main.ts` (`npm run bench`).
 */
import { pathToFileURL } from "node:url"
import * as Audio from "../src/Audio.js"

const CHUNK_MILLIS = 20

/** `seconds` of PCM16 LE at `rate`: two tones and some noise, about -6 dBFS. */
const signal = (rate: number, seconds: number): Uint8Array => {
  const samples = new Int16Array(rate * seconds)
  let seed = 12345
  for (let i = 0; i < samples.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const noise = (seed / 0x7fffffff - 0.5) * 2000
    samples[i] = Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / rate) + 6000 * Math.sin((2 * Math.PI * 3100 * i) / rate) + noise)
  }
  return new Uint8Array(samples.buffer)
}

const chunksOf = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return chunks
}

/** Best of `runs` timings of `f`, in seconds. */
const best = (runs: number, f: () => void): number => {
  let min = Infinity
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint()
    f()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    if (seconds < min) min = seconds
  }
  return min
}

export interface AudioRow {
  readonly conversion: string
  readonly "x real time": number
  readonly "µs / 20 ms chunk": number
}

const pairs: ReadonlyArray<readonly [Audio.Format, Audio.Format]> = [
  [Audio.PCM16_16K, Audio.PCM16_24K],
  [Audio.PCM16_24K, Audio.PCM16_16K],
  [Audio.PCM16_24K, Audio.PCM16_8K],
  [Audio.PCM16_8K, Audio.PCM16_16K],
  [Audio.PCM16_48K, Audio.PCM16_16K],
  [Audio.PCM16_16K, Audio.PCM16_48K],
  [Audio.PCM16_48K, Audio.PCM16_24K],
  [Audio.PCM16_48K, Audio.PCM16_8K],
  [Audio.PCM16_8K, Audio.PCM16_48K],
  [Audio.MULAW_8K, Audio.INPUT_FORMAT],
  [Audio.OUTPUT_FORMAT, Audio.MULAW_8K],
  [Audio.ALAW_8K, Audio.INPUT_FORMAT],
  [Audio.OUTPUT_FORMAT, Audio.ALAW_8K]
]

/** Every conversion and the G.711 codecs on `seconds` of audio, best of `runs`. */
export const measureAudio = (options: { readonly seconds: number; readonly runs: number }): Array<AudioRow> => {
  const { runs, seconds: SECONDS } = options
  const rows: Array<AudioRow> = []

  const conversion = (from: Audio.Format, to: Audio.Format) => {
    const pcm = signal(from.sampleRate, SECONDS)
    const input = from.encoding === "mulaw"
      ? Audio.mulawEncode(pcm)
      : from.encoding === "alaw"
      ? Audio.alawEncode(pcm)
      : pcm
    const chunks = chunksOf(input, Audio.bytesFor(from, CHUNK_MILLIS))
    const seconds = best(runs, () => {
      const converter = Audio.makeConverter(from, to)
      for (const chunk of chunks) converter.push(chunk)
      converter.flush()
    })
    rows.push({
      conversion: `${Audio.mimeType(from)} → ${Audio.mimeType(to)}`,
      "x real time": Math.round(SECONDS / seconds),
      "µs / 20 ms chunk": Number(((seconds / chunks.length) * 1e6).toFixed(1))
    })
  }

  const g711 = (name: string, f: (chunk: Uint8Array) => Uint8Array, input: Uint8Array, rate: number, width: number) => {
    const chunks = chunksOf(input, (rate / 1000) * CHUNK_MILLIS * width)
    const seconds = best(runs, () => {
      for (const chunk of chunks) f(chunk)
    })
    rows.push({
      conversion: name,
      "x real time": Math.round(SECONDS / seconds),
      "µs / 20 ms chunk": Number(((seconds / chunks.length) * 1e6).toFixed(2))
    })
  }

  for (const [from, to] of pairs) conversion(from, to)
  const pcm8k = signal(8000, SECONDS)
  g711("G.711 mu-law encode (8 kHz)", Audio.mulawEncode, pcm8k, 8000, 2)
  g711("G.711 mu-law decode (8 kHz)", Audio.mulawDecode, Audio.mulawEncode(pcm8k), 8000, 1)
  g711("G.711 A-law encode (8 kHz)", Audio.alawEncode, pcm8k, 8000, 2)
  g711("G.711 A-law decode (8 kHz)", Audio.alawDecode, Audio.alawEncode(pcm8k), 8000, 1)
  return rows
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = 60
  const rows = measureAudio({ seconds, runs: 5 })
  console.log(`${seconds} s of audio in ${CHUNK_MILLIS} ms chunks, best of 5, one core (node ${process.version})`)
  console.table(rows)
}
