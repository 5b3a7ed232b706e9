/** Formats: the supported rates and encodings, MIME types and frame math. */
import * as Option from "effect/Option"
import type { Encoding, Format, SampleRate, VoxEngineEncoding } from "../../Audio.js"

export const SAMPLE_RATES: ReadonlyArray<SampleRate> = [8000, 16000, 24000, 48000]

export const isSampleRate = (n: number): n is SampleRate => n === 8000 || n === 16000 || n === 24000 || n === 48000

export const make = (encoding: Encoding, sampleRate: SampleRate): Format => ({ encoding, sampleRate })

export const pcm16 = (sampleRate: SampleRate): Format => make("pcm16", sampleRate)

export const PCM16_8K: Format = pcm16(8000)
export const PCM16_16K: Format = pcm16(16000)
export const PCM16_24K: Format = pcm16(24000)
export const PCM16_48K: Format = pcm16(48000)
export const MULAW_8K: Format = make("mulaw", 8000)
export const ALAW_8K: Format = make("alaw", 8000)
export const INPUT_FORMAT: Format = PCM16_16K
export const OUTPUT_FORMAT: Format = PCM16_24K

export const equals = (self: Format, that: Format): boolean =>
  self.encoding === that.encoding && self.sampleRate === that.sampleRate

export const fromVoxEngineEncoding = (encoding: VoxEngineEncoding): Format => {
  switch (encoding) {
    case "PCM8":
      return PCM16_8K
    case "PCM16":
      return PCM16_16K
    case "ULAW":
      return MULAW_8K
    case "ALAW":
      return ALAW_8K
  }
}

export const mimeType = (format: Format): string => {
  switch (format.encoding) {
    case "pcm16":
      return `audio/pcm;rate=${format.sampleRate}`
    case "mulaw":
      return `audio/PCMU;rate=${format.sampleRate}`
    case "alaw":
      return `audio/PCMA;rate=${format.sampleRate}`
  }
}

export const fromMimeType = (mime: string): Option.Option<Format> => {
  const [type, ...parameters] = mime.toLowerCase().split(";").map((part) => part.trim())
  const encoding: Encoding | undefined = type === "audio/pcm"
    ? "pcm16"
    : type === "audio/pcmu"
    ? "mulaw"
    : type === "audio/pcma"
    ? "alaw"
    : undefined
  if (encoding === undefined) return Option.none()
  for (const parameter of parameters) {
    const match = /^rate\s*=\s*(\d+)$/.exec(parameter)
    if (match !== null) {
      const rate = Number(match[1])
      return isSampleRate(rate) ? Option.some(make(encoding, rate)) : Option.none()
    }
  }
  return Option.none()
}

export const bytesPerSample = (format: Format): 1 | 2 => format.encoding === "pcm16" ? 2 : 1

export const bytesPerSecond = (format: Format): number => format.sampleRate * bytesPerSample(format)

export const durationMillis = (format: Format, byteLength: number): number =>
  Math.floor(Math.max(0, byteLength) / bytesPerSample(format)) * 1000 / format.sampleRate

export const bytesFor = (format: Format, millis: number): number =>
  Number.isFinite(millis) && millis > 0 ? Math.round(millis * format.sampleRate / 1000) * bytesPerSample(format) : 0
