/**
 * The audio toolkit: what a voice app needs between its microphone, phone line or file and the
 * Live API, as pure functions and small stateful converters.
 *
 * - **Formats**: `Format` (`encoding` + `sampleRate`, mono only), the constants `PCM16_16K`,
 *   `MULAW_8K`, ..., `INPUT_FORMAT` (16 kHz PCM16: what the Live API takes) and `OUTPUT_FORMAT`
 *   (24 kHz PCM16: what it gives), `mimeType` / `fromMimeType` and `fromVoxEngineEncoding`.
 * - **Frame math**: `bytesPerSecond`, `durationMillis`, `bytesFor`.
 * - **G.711**: `mulawEncode` / `mulawDecode` / `alawEncode` / `alawDecode`, bit-exact with the ITU-T
 *   G.191 reference implementation of G.711, table-driven.
 * - **Resampling**: `makeResampler(from, to)`, a windowed-sinc (Kaiser) polyphase FIR resampler for
 *   every pair of 8, 16, 24 and 48 kHz. It keeps its state across chunks: any chunking of the input
 *   (odd byte lengths included) gives byte-identical output, and no clicks at chunk boundaries.
 * - **Conversion**: `makeConverter(from, to)` (G.711 decode, resample, G.711 encode) and the
 *   Stream combinator `convert(from, to)`.
 * - **WAV**: `readWav` / `writeWav` (PCM 16-bit, mu-law, A-law; WAVE_FORMAT_EXTENSIBLE too) and
 *   `readWavFile` / `writeWavFile` as Effects.
 *
 * PCM16 is always signed 16-bit little-endian, mono. Every output sample is rounded to nearest
 * (half away from zero) and saturated to the int16 range.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { Audio } from "effect-gemini-live"
 *
 * // a phone line (8 kHz mu-law) into the Live API (16 kHz PCM16)
 * declare const fromCaller: Stream.Stream<Uint8Array>
 * const toModel = fromCaller.pipe(Audio.convert(Audio.MULAW_8K, Audio.INPUT_FORMAT))
 *
 * // and the model's voice (24 kHz PCM16) back to the phone line
 * const phone = Audio.makeConverter(Audio.OUTPUT_FORMAT, Audio.MULAW_8K)
 * declare const modelAudio: Uint8Array
 * const forCaller = phone.push(modelAudio)
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { AudioError } from "./LiveError.js"

// -----------------------------------------------------------------------------
// Formats
// -----------------------------------------------------------------------------

/**
 * The sample rates the toolkit works with, in Hz.
 *
 * @since 0.1.0
 * @category Formats
 */
export type SampleRate = 8000 | 16000 | 24000 | 48000

/**
 * All the `SampleRate`s, ascending.
 *
 * @since 0.1.0
 * @category Formats
 */
export const SAMPLE_RATES: ReadonlyArray<SampleRate> = [8000, 16000, 24000, 48000]

/**
 * Whether a number is one of the supported `SampleRate`s.
 *
 * @since 0.1.0
 * @category Formats
 */
export const isSampleRate = (n: number): n is SampleRate => n === 8000 || n === 16000 || n === 24000 || n === 48000

/**
 * How samples are stored: `pcm16` (signed 16-bit little-endian, 2 bytes a sample), `mulaw` and
 * `alaw` (ITU-T G.711, 1 byte a sample).
 *
 * @since 0.1.0
 * @category Formats
 */
export type Encoding = "pcm16" | "mulaw" | "alaw"

/**
 * A mono audio format.
 *
 * @since 0.1.0
 * @category Formats
 */
export interface Format {
  readonly encoding: Encoding
  readonly sampleRate: SampleRate
}

/**
 * A `Format` from its encoding and sample rate.
 *
 * @since 0.1.0
 * @category Formats
 */
export const make = (encoding: Encoding, sampleRate: SampleRate): Format => ({ encoding, sampleRate })

/**
 * PCM16 at a sample rate.
 *
 * @since 0.1.0
 * @category Formats
 */
export const pcm16 = (sampleRate: SampleRate): Format => make("pcm16", sampleRate)

/**
 * PCM16 at 8 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
export const PCM16_8K: Format = pcm16(8000)

/**
 * PCM16 at 16 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
export const PCM16_16K: Format = pcm16(16000)

/**
 * PCM16 at 24 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
export const PCM16_24K: Format = pcm16(24000)

/**
 * PCM16 at 48 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
export const PCM16_48K: Format = pcm16(48000)

/**
 * G.711 mu-law at 8 kHz (North American and Japanese telephony).
 *
 * @since 0.1.0
 * @category Formats
 */
export const MULAW_8K: Format = make("mulaw", 8000)

/**
 * G.711 A-law at 8 kHz (European and international telephony).
 *
 * @since 0.1.0
 * @category Formats
 */
export const ALAW_8K: Format = make("alaw", 8000)

/**
 * What the Live API takes as realtime input: PCM16 at 16 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
export const INPUT_FORMAT: Format = PCM16_16K

/**
 * What the Live API gives as the model's voice: PCM16 at 24 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
export const OUTPUT_FORMAT: Format = PCM16_24K

/**
 * Whether two formats are the same.
 *
 * @since 0.1.0
 * @category Formats
 */
export const equals = (self: Format, that: Format): boolean =>
  self.encoding === that.encoding && self.sampleRate === that.sampleRate

/**
 * The names of VoxEngine's `WebSocketAudioEncoding`.
 *
 * @since 0.1.0
 * @category Formats
 */
export type VoxEngineEncoding = "PCM8" | "PCM16" | "ULAW" | "ALAW"

/**
 * The format of a VoxEngine `WebSocketAudioEncoding`: `PCM8` is PCM16 at 8 kHz (the name is the
 * rate, not the sample width), `PCM16` is PCM16 at 16 kHz, `ULAW` and `ALAW` are G.711 at 8 kHz.
 *
 * @since 0.1.0
 * @category Formats
 */
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

/**
 * The MIME type of a format: `audio/pcm;rate=16000` for PCM16 (the form the Live API takes and
 * gives), `audio/PCMU;rate=8000` for mu-law and `audio/PCMA;rate=8000` for A-law (RFC 4856 names;
 * the Live API itself only takes PCM16).
 *
 * @since 0.1.0
 * @category Formats
 */
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

/**
 * The format of a MIME type written by `mimeType` (case and spaces do not matter), e.g. the
 * `mimeType` of an `AudioDelta` event. `None` for anything else, a missing rate included.
 *
 * @since 0.1.0
 * @category Formats
 */
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

// -----------------------------------------------------------------------------
// Frame math
// -----------------------------------------------------------------------------

/**
 * Bytes of one sample: 2 for PCM16, 1 for G.711.
 *
 * @since 0.1.0
 * @category Frame math
 */
export const bytesPerSample = (format: Format): 1 | 2 => format.encoding === "pcm16" ? 2 : 1

/**
 * Bytes of one second of audio (e.g. 32000 for 16 kHz PCM16, 8000 for mu-law).
 *
 * @since 0.1.0
 * @category Frame math
 */
export const bytesPerSecond = (format: Format): number => format.sampleRate * bytesPerSample(format)

/**
 * The duration, in milliseconds, of the whole samples in `byteLength` bytes (a trailing partial
 * sample does not count). It can be fractional: one sample at 8 kHz is 0.125 ms.
 *
 * @since 0.1.0
 * @category Frame math
 */
export const durationMillis = (format: Format, byteLength: number): number =>
  Math.floor(Math.max(0, byteLength) / bytesPerSample(format)) * 1000 / format.sampleRate

/**
 * The bytes of `millis` milliseconds of audio, rounded to the nearest whole sample (e.g. 640 for
 * 20 ms of 16 kHz PCM16, 160 for 20 ms of mu-law). 0 for a negative or non-finite duration.
 *
 * @since 0.1.0
 * @category Frame math
 */
export const bytesFor = (format: Format, millis: number): number =>
  Number.isFinite(millis) && millis > 0 ? Math.round(millis * format.sampleRate / 1000) * bytesPerSample(format) : 0

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/**
 * An `AudioError` of module `Audio` for something thrown by `method` (an `AudioError` is kept as
 * it is): for `Effect.try` around converters fed by user code.
 *
 * @since 0.1.0
 * @category Errors
 */
export const toAudioError = (method: string, cause: unknown): AudioError =>
  cause instanceof AudioError ? cause : new AudioError({ module: "Audio", method, description: describe(cause) })

// -----------------------------------------------------------------------------
// PCM16 helpers
// -----------------------------------------------------------------------------

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The int16 at `offset` of little-endian bytes. */
const int16At = (bytes: Uint8Array, offset: number): number => ((bytes[offset] | (bytes[offset + 1] << 8)) << 16) >> 16

/** A signed 16-bit view of little-endian PCM16 bytes when the platform allows one, else `undefined`. */
const int16View = (bytes: Uint8Array, samples: number): Int16Array | undefined =>
  LITTLE_ENDIAN && (bytes.byteOffset & 1) === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, samples) : undefined

/** A fresh PCM16 buffer of `samples` samples, written through `write`. */
const writeInt16 = (samples: number, write: (out: Int16Array) => void): Uint8Array => {
  const out = new Int16Array(samples)
  write(out)
  if (!LITTLE_ENDIAN) {
    const bytes = new Uint8Array(out.buffer)
    for (let i = 0; i < bytes.length; i += 2) {
      const b = bytes[i]
      bytes[i] = bytes[i + 1]
      bytes[i + 1] = b
    }
  }
  return new Uint8Array(out.buffer)
}

// -----------------------------------------------------------------------------
// G.711
// -----------------------------------------------------------------------------

// The encoders follow ITU-T G.191 (the reference software of G.711) bit for bit: negative samples
// are taken in one's complement, so mu-law only depends on `x >> 2` (14 bits) and A-law only on
// `x >> 4` (12 bits). That makes the encoding tables 16 KiB and 4 KiB.

const mulawEncodeTable = /* @__PURE__ */ (() => {
  const table = new Uint8Array(1 << 14)
  for (let index = 0; index < 1 << 14; index++) {
    const x = (index << 18) >> 16 // a sample whose `>> 2` is the signed 14-bit index
    let absno = (x < 0 ? (~x) >> 2 : x >> 2) + 33
    if (absno > 0x1fff) absno = 0x1fff
    let segno = 1
    for (let i = absno >> 6; i !== 0; i >>= 1) segno++
    const high = 0x8 - segno
    const low = 0xf - ((absno >> segno) & 0xf)
    table[index] = ((high << 4) | low) | (x >= 0 ? 0x80 : 0)
  }
  return table
})()

const mulawDecodeTable = /* @__PURE__ */ (() => {
  const table = new Int16Array(256)
  for (let code = 0; code < 256; code++) {
    const sign = code < 0x80 ? -1 : 1
    const complement = ~code
    const exponent = (complement >> 4) & 0x7
    const mantissa = complement & 0xf
    const step = 4 << (exponent + 1)
    table[code] = sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)
  }
  return table
})()

const alawEncodeTable = /* @__PURE__ */ (() => {
  const table = new Uint8Array(1 << 12)
  for (let index = 0; index < 1 << 12; index++) {
    const x = (index << 20) >> 16 // a sample whose `>> 4` is the signed 12-bit index
    let ix = x < 0 ? (~x) >> 4 : x >> 4
    if (ix > 15) {
      let exponent = 1
      while (ix > 16 + 15) {
        ix >>= 1
        exponent++
      }
      ix -= 16
      ix += exponent << 4
    }
    if (x >= 0) ix |= 0x80
    table[index] = ix ^ 0x55
  }
  return table
})()

const alawDecodeTable = /* @__PURE__ */ (() => {
  const table = new Int16Array(256)
  for (let code = 0; code < 256; code++) {
    const ix = (code ^ 0x55) & 0x7f
    const exponent = ix >> 4
    let mantissa = ix & 0xf
    if (exponent > 0) mantissa += 16
    mantissa = (mantissa << 4) + 0x8
    if (exponent > 1) mantissa <<= exponent - 1
    table[code] = code > 127 ? mantissa : -mantissa
  }
  return table
})()

const g711Encode = (pcm16le: Uint8Array, table: Uint8Array, shift: number, mask: number): Uint8Array => {
  const samples = pcm16le.length >> 1
  const out = new Uint8Array(samples)
  const view = int16View(pcm16le, samples)
  if (view !== undefined) {
    for (let i = 0; i < samples; i++) out[i] = table[(view[i] >> shift) & mask]
  } else {
    for (let i = 0; i < samples; i++) out[i] = table[(int16At(pcm16le, 2 * i) >> shift) & mask]
  }
  return out
}

const g711Decode = (codes: Uint8Array, table: Int16Array): Uint8Array =>
  writeInt16(codes.length, (out) => {
    for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]]
  })

/**
 * G.711 mu-law encoding of PCM16 LE samples, one byte a sample, bit-exact with ITU-T G.191
 * (0 → 0xFF, 32767 → 0x80, -32768 → 0x00). A trailing odd byte is ignored: use a `Converter` for
 * chunks that may split a sample.
 *
 * @since 0.1.0
 * @category G.711
 */
export const mulawEncode = (pcm16le: Uint8Array): Uint8Array => g711Encode(pcm16le, mulawEncodeTable, 2, 0x3fff)

/**
 * G.711 mu-law decoding to PCM16 LE (two bytes a code), bit-exact with ITU-T G.191: the
 * 256 codes decode to the centres of their quantization intervals, ±32124 at most. 0x7F and 0xFF
 * both decode to 0 (mu-law has two zeros; `mulawEncode` gives 0xFF).
 *
 * @since 0.1.0
 * @category G.711
 */
export const mulawDecode = (mulaw: Uint8Array): Uint8Array => g711Decode(mulaw, mulawDecodeTable)

/**
 * G.711 A-law encoding of PCM16 LE samples, one byte a sample, bit-exact with ITU-T G.191
 * (0 → 0xD5, -1 → 0x55). A trailing odd byte is ignored: use a `Converter` for chunks that may
 * split a sample.
 *
 * @since 0.1.0
 * @category G.711
 */
export const alawEncode = (pcm16le: Uint8Array): Uint8Array => g711Encode(pcm16le, alawEncodeTable, 4, 0xfff)

/**
 * G.711 A-law decoding to PCM16 LE (two bytes a code), bit-exact with ITU-T G.191: the 256
 * codes decode to 256 distinct values, ±8 to ±32256.
 *
 * @since 0.1.0
 * @category G.711
 */
export const alawDecode = (alaw: Uint8Array): Uint8Array => g711Decode(alaw, alawDecodeTable)

// -----------------------------------------------------------------------------
// Resampling
// -----------------------------------------------------------------------------

/**
 * A stateful PCM16 LE resampler (see `makeResampler`).
 *
 * @since 0.1.0
 * @category Resampling
 */
export interface Resampler {
  readonly from: SampleRate
  readonly to: SampleRate
  /**
   * The input samples the resampler holds back (half its filter): after `N` input samples, the
   * pushes have returned `max(0, ceil((N - lookahead) * to / from))` samples, and `lookahead / from`
   * seconds is the latency. 0 when `from === to`.
   */
  readonly lookahead: number
  /**
   * Takes the next chunk of PCM16 LE input (any length, odd ones included: the odd byte waits for
   * the next chunk) and returns the output that can be computed so far.
   */
  push(pcm16le: Uint8Array): Uint8Array
  /**
   * Ends the input: returns the rest of the output (the input is continued with silence) and
   * resets the resampler, ready for a new stream. A dangling odd byte is dropped.
   */
  flush(): Uint8Array
}

/** The polyphase filter of one rate pair. */
interface Polyphase {
  /** Upsampling and downsampling factors: `to / from = up / down`, in lowest terms. */
  readonly up: number
  readonly down: number
  /** Taps a phase (input samples an output sample depends on). */
  readonly taps: number
  /** The input index of the first tap, relative to `floor(n * down / up)` for output `n` (<= 0). */
  readonly first: number
  /** `up` phases of `taps` coefficients; phase `r` serves outputs with `n * down % up === r`. */
  readonly coefficients: Float64Array
}

/** Stopband attenuation of the Kaiser design, in dB. */
const STOPBAND_DB = 80
/** The -6 dB point of the filter, as a fraction of the lower rate. */
const CUTOFF = 0.45
/** The width of the transition band (centered on the cutoff), as a fraction of the lower rate. */
const TRANSITION = 0.1

const gcd = (a: number, b: number): number => {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

/** The modified Bessel function of the first kind, order 0 (power series). */
const besselI0 = (x: number): number => {
  let sum = 1
  let term = 1
  const q = (x * x) / 4
  for (let k = 1; k < 100; k++) {
    term *= q / (k * k)
    sum += term
    if (term < sum * 1e-17) break
  }
  return sum
}

const designs = new Map<number, Polyphase>()

/**
 * The windowed-sinc polyphase filter for `from` → `to`, designed once per rate pair. The prototype
 * low-pass runs at `up * from` Hz, has its -6 dB point at `CUTOFF * min(from, to)` and a Kaiser
 * window sized by Kaiser's formula for `STOPBAND_DB` over a `TRANSITION * min(from, to)` band.
 * Every phase is normalized to a DC gain of exactly 1.
 */
const design = (from: number, to: number): Polyphase => {
  const key = from * 1_000_000 + to
  const cached = designs.get(key)
  if (cached !== undefined) return cached
  const divisor = gcd(from, to)
  const up = to / divisor
  const down = from / divisor
  const lower = Math.min(from, to)
  const rate = up * from
  const cutoff = (CUTOFF * lower) / rate // cycles per sample of the prototype
  const transition = (TRANSITION * lower) / rate
  const beta = 0.1102 * (STOPBAND_DB - 8.7)
  const half = Math.ceil((STOPBAND_DB - 7.95) / (14.36 * transition) / 2)
  const first = -Math.floor(half / up)
  const taps = Math.floor((up - 1 + half) / up) - first + 1
  const coefficients = new Float64Array(up * taps)
  const i0beta = besselI0(beta)
  for (let phase = 0; phase < up; phase++) {
    let sum = 0
    for (let t = 0; t < taps; t++) {
      const d = phase - (first + t) * up // distance, in prototype samples, from the output instant
      if (Math.abs(d) > half) continue
      const x = 2 * cutoff * d
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)
      const ratio = d / half
      const window = besselI0(beta * Math.sqrt(1 - ratio * ratio)) / i0beta
      const h = 2 * cutoff * sinc * window
      coefficients[phase * taps + t] = h
      sum += h
    }
    for (let t = 0; t < taps; t++) coefficients[phase * taps + t] /= sum
  }
  const polyphase: Polyphase = { up, down, taps, first, coefficients }
  designs.set(key, polyphase)
  return polyphase
}

/** Rounds to nearest (half away from zero) and saturates to int16. */
const toInt16 = (x: number): number =>
  x >= 32767 ? 32767 : x <= -32768 ? -32768 : x >= 0 ? (x + 0.5) | 0 : -((0.5 - x) | 0)

/** The pass-through resampler of `from === to`: only the odd byte needs care. */
const makeIdentity = (rate: SampleRate): Resampler => {
  let carry = -1
  return {
    from: rate,
    to: rate,
    lookahead: 0,
    push(pcm16le) {
      if (carry < 0) {
        if ((pcm16le.length & 1) === 0) return pcm16le
        carry = pcm16le[pcm16le.length - 1]
        return pcm16le.subarray(0, pcm16le.length - 1)
      }
      if (pcm16le.length === 0) return pcm16le
      const total = pcm16le.length + 1
      const out = new Uint8Array(total & ~1)
      out[0] = carry
      out.set(pcm16le.subarray(0, out.length - 1), 1)
      carry = (total & 1) === 1 ? pcm16le[pcm16le.length - 1] : -1
      return out
    },
    flush() {
      carry = -1
      return new Uint8Array(0)
    }
  }
}

/**
 * A resampler of PCM16 LE mono from one rate to another: a windowed-sinc polyphase FIR over the
 * rational ratio `to / from = up / down` (2, 3, 3/2, 6 and their inverses for the supported
 * rates). The prototype low-pass has a Kaiser window (β = 7.86, 80 dB stopband) sized by Kaiser's
 * formula: its -6 dB point is at 0.45 × the lower rate, the passband is flat to 0.4 × and the
 * stopband starts at 0.5 × the lower rate (the lower Nyquist). That is 52 taps an output sample
 * when upsampling, 103 / 153 / 303 when downsampling by 2 / 3 / 6 (77 for 24 → 16 kHz). The filter
 * is linear-phase and centred, so the output is time-aligned with the input (output sample `n` is
 * the input at time `n / to`), and each phase has a DC gain of exactly 1 (no DC offset).
 *
 * State is kept across chunks: any chunking of the input, odd byte lengths included, gives
 * byte-identical output to one big push. Pushes return what can be computed so far (the resampler
 * looks `lookahead` input samples ahead); `flush` returns the rest. Over a whole stream of `N`
 * input samples, push + flush return exactly `ceil(N * to / from)` samples: one for every output
 * instant `n / to` within the input's duration `N / from`.
 *
 * `from === to` gives a pass-through that returns its input (a view of it when an odd byte is held
 * back; a new buffer only when a held-back byte is joined to the next chunk).
 *
 * @since 0.1.0
 * @category Resampling
 */
export const makeResampler = (from: SampleRate, to: SampleRate): Resampler => {
  if (from === to) return makeIdentity(from)
  const { coefficients, down, first, taps, up } = design(from, to)
  const downWhole = Math.floor(down / up)
  const downRest = down % up

  // `history[0 .. length)` holds the input samples from absolute index `start` on (`start` < 0: the
  // silence before the stream). `next` is the next output; `received` counts the input samples.
  let history = new Float32Array(taps + 1024)
  let start = 0
  let length = 0
  let next = 0
  let received = 0
  let carry = -1

  const reset = () => {
    history.fill(0, 0, -first)
    start = first
    length = -first
    next = 0
    received = 0
    carry = -1
  }
  reset()

  const reserve = (samples: number) => {
    if (length + samples <= history.length) return
    const grown = new Float32Array(Math.max(length + samples, history.length * 2))
    grown.set(history.subarray(0, length))
    history = grown
  }

  const append = (pcm16le: Uint8Array) => {
    let offset = 0
    if (carry >= 0 && pcm16le.length > 0) {
      reserve(1)
      history[length++] = ((carry | (pcm16le[0] << 8)) << 16) >> 16
      received++
      carry = -1
      offset = 1
    }
    const samples = (pcm16le.length - offset) >> 1
    reserve(samples)
    const view = offset === 0 ? int16View(pcm16le, samples) : undefined
    if (view !== undefined) {
      history.set(view, length)
    } else {
      for (let i = 0; i < samples; i++) history[length + i] = int16At(pcm16le, offset + 2 * i)
    }
    length += samples
    received += samples
    if (offset + 2 * samples < pcm16le.length) carry = pcm16le[pcm16le.length - 1]
  }

  /** Computes the outputs `next .. end)`, whose windows must all be in `history`. */
  const run = (end: number): Uint8Array => {
    const count = Math.max(0, end - next)
    const out = writeInt16(count, (out) => {
      let q = Math.floor((next * down) / up)
      let phase = (next * down) % up
      const h = history
      const c = coefficients
      for (let o = 0; o < count; o++) {
        const base = q + first - start
        const offset = phase * taps
        let acc0 = 0
        let acc1 = 0
        let acc2 = 0
        let acc3 = 0
        let t = 0
        for (; t + 3 < taps; t += 4) {
          acc0 += c[offset + t] * h[base + t]
          acc1 += c[offset + t + 1] * h[base + t + 1]
          acc2 += c[offset + t + 2] * h[base + t + 2]
          acc3 += c[offset + t + 3] * h[base + t + 3]
        }
        for (; t < taps; t++) acc0 += c[offset + t] * h[base + t]
        out[o] = toInt16((acc0 + acc1) + (acc2 + acc3))
        q += downWhole
        phase += downRest
        if (phase >= up) {
          phase -= up
          q++
        }
      }
    })
    next += count
    // Drop the input no later output needs. (It never exceeds `length`: an output step skips at
    // most `ceil(down / up)` input samples, fewer than `taps`.)
    const drop = Math.min(length, Math.floor((next * down) / up) + first - start)
    if (drop > 0) {
      history.copyWithin(0, drop, length)
      length -= drop
      start += drop
    }
    return out
  }

  return {
    from,
    to,
    lookahead: taps + first - 1,
    push(pcm16le) {
      append(pcm16le)
      // Output n needs input up to floor(n * down / up) + first + taps - 1 < start + length.
      const lastQ = start + length - taps - first
      return run(lastQ < 0 ? 0 : Math.floor(((lastQ + 1) * up - 1) / down) + 1)
    },
    flush() {
      const end = Math.floor((received * up + down - 1) / down)
      if (end > next) {
        const needed = Math.floor(((end - 1) * down) / up) + first + taps - start
        if (needed > length) {
          reserve(needed - length)
          history.fill(0, length, needed)
          length = needed
        }
      }
      const out = run(end)
      reset()
      return out
    }
  }
}

// -----------------------------------------------------------------------------
// Conversion
// -----------------------------------------------------------------------------

/**
 * A stateful converter between two formats (see `makeConverter`).
 *
 * @since 0.1.0
 * @category Conversion
 */
export interface Converter {
  readonly from: Format
  readonly to: Format
  /** Takes the next chunk (any length) and returns the output that can be computed so far. */
  push(chunk: Uint8Array): Uint8Array
  /** Ends the input: returns the rest of the output and resets the converter. */
  flush(): Uint8Array
}

const decoder = (encoding: Encoding): ((bytes: Uint8Array) => Uint8Array) | undefined =>
  encoding === "mulaw" ? mulawDecode : encoding === "alaw" ? alawDecode : undefined

const encoder = (encoding: Encoding): ((bytes: Uint8Array) => Uint8Array) | undefined =>
  encoding === "mulaw" ? mulawEncode : encoding === "alaw" ? alawEncode : undefined

/**
 * A converter from one format to another: G.711 decoding, resampling (`makeResampler`), G.711
 * encoding, as needed. Like the resampler, it keeps its state across chunks (any chunking gives
 * the same output) and `flush` ends the stream. Its output is whole samples only: over a stream of
 * `N` input samples, `ceil(N * to.sampleRate / from.sampleRate)` samples. Equal formats pass chunks
 * through as they are (for PCM16, an odd byte waits for the next chunk, as in `makeResampler`).
 *
 * @since 0.1.0
 * @category Conversion
 */
export const makeConverter = (from: Format, to: Format): Converter => {
  if (equals(from, to) && from.encoding !== "pcm16") {
    return { from, to, push: (chunk) => chunk, flush: () => new Uint8Array(0) }
  }
  const decode = decoder(from.encoding)
  const encode = encoder(to.encoding)
  const resampler = makeResampler(from.sampleRate, to.sampleRate)
  const output = (pcm: Uint8Array) => encode === undefined ? pcm : encode(pcm)
  return {
    from,
    to,
    push: (chunk) => output(resampler.push(decode === undefined ? chunk : decode(chunk))),
    flush: () => output(resampler.flush())
  }
}

/**
 * Converts a stream of audio chunks from one format to another (see `makeConverter`), flushing
 * the converter when the stream ends. Every run of the stream gets its own converter. Empty
 * chunks are not emitted.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { Audio } from "effect-gemini-live"
 *
 * declare const phoneLine: Stream.Stream<Uint8Array>
 * const forTheModel = phoneLine.pipe(Audio.convert(Audio.MULAW_8K, Audio.INPUT_FORMAT))
 * ```
 *
 * @since 0.1.0
 * @category Conversion
 */
export const convert: {
  (from: Format, to: Format): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, from: Format, to: Format): Stream.Stream<Uint8Array, E, R>
} = dual(
  3,
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, from: Format, to: Format): Stream.Stream<Uint8Array, E, R> =>
    Stream.suspend(() => {
      const converter = makeConverter(from, to)
      return self.pipe(
        Stream.map((chunk) => converter.push(chunk)),
        Stream.concat(Stream.sync(() => converter.flush())),
        Stream.filter((chunk) => chunk.length > 0)
      )
    })
)

// -----------------------------------------------------------------------------
// WAV
// -----------------------------------------------------------------------------

/**
 * The audio of a WAV file: its format and its samples.
 *
 * @since 0.1.0
 * @category WAV
 */
export interface Wav {
  readonly format: Format
  /** The samples (a view into the file's bytes, whole samples only). */
  readonly data: Uint8Array
}

const WAVE_FORMAT_PCM = 1
const WAVE_FORMAT_IEEE_FLOAT = 3
const WAVE_FORMAT_ALAW = 6
const WAVE_FORMAT_MULAW = 7
const WAVE_FORMAT_EXTENSIBLE = 0xfffe
/** The bytes 2 .. 16 of every KSDATAFORMAT_SUBTYPE GUID of a WAVE format code. */
const SUBTYPE_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]
const SUPPORTED = "only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported"

const wavError = (method: string, description: string) => new AudioError({ module: "Audio", method, description })

const fourcc = (bytes: Uint8Array, offset: number): string =>
  String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3])

/** The format of a `fmt ` chunk's payload, or what is wrong with it. */
const parseFmt = (view: DataView, offset: number, size: number): Either.Either<Format, string> => {
  if (size < 16) return Either.left(`fmt chunk of ${size} bytes: expected at least 16`)
  let code = view.getUint16(offset, true)
  const channels = view.getUint16(offset + 2, true)
  const rate = view.getUint32(offset + 4, true)
  const bits = view.getUint16(offset + 14, true)
  if (code === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40) return Either.left(`WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes: expected at least 40`)
    code = view.getUint16(offset + 24, true)
    for (let i = 0; i < SUBTYPE_GUID_TAIL.length; i++) {
      if (view.getUint8(offset + 26 + i) !== SUBTYPE_GUID_TAIL[i]) {
        return Either.left(`unknown WAVE_FORMAT_EXTENSIBLE subformat: ${SUPPORTED}`)
      }
    }
  }
  if (channels !== 1) return Either.left(`${channels} channels: only mono is supported`)
  let encoding: Encoding
  switch (code) {
    case WAVE_FORMAT_PCM:
      if (bits !== 16) return Either.left(`${bits}-bit PCM: ${SUPPORTED}`)
      encoding = "pcm16"
      break
    case WAVE_FORMAT_IEEE_FLOAT:
      return Either.left(`${bits}-bit float: ${SUPPORTED}`)
    case WAVE_FORMAT_ALAW:
      if (bits !== 8) return Either.left(`${bits}-bit A-law: ${SUPPORTED}`)
      encoding = "alaw"
      break
    case WAVE_FORMAT_MULAW:
      if (bits !== 8) return Either.left(`${bits}-bit mu-law: ${SUPPORTED}`)
      encoding = "mulaw"
      break
    default:
      return Either.left(`WAV format ${code}: ${SUPPORTED}`)
  }
  if (!isSampleRate(rate)) return Either.left(`${rate} Hz: supported rates are ${SAMPLE_RATES.join(", ")}`)
  return Either.right(make(encoding, rate))
}

/**
 * Reads a WAV file's bytes: RIFF/WAVE (or RF64), chunks walked in order (`LIST`, `fact` and others
 * are skipped), a `fmt ` chunk of format 1 (PCM 16-bit), 6 (A-law 8-bit), 7 (mu-law 8-bit) or
 * WAVE_FORMAT_EXTENSIBLE with one of those subformats, mono, at 8, 16, 24 or 48 kHz. The `data`
 * returned is a view into `bytes`, not a copy. A data chunk that claims more bytes than the file
 * has (streamed WAVs often say 0xFFFFFFFF) gives what is there; a trailing partial sample is left
 * out.
 *
 * Fails with an `AudioError` whose description says what is wrong, e.g. `2 channels: only mono is
 * supported` or `44100 Hz: supported rates are 8000, 16000, 24000, 48000`.
 *
 * @since 0.1.0
 * @category WAV
 */
export const readWav = (bytes: Uint8Array): Either.Either<Wav, AudioError> => {
  const fail = (description: string) => Either.left(wavError("readWav", description))
  if (bytes.length < 12 || (fourcc(bytes, 0) !== "RIFF" && fourcc(bytes, 0) !== "RF64") || fourcc(bytes, 8) !== "WAVE") {
    return fail("not a WAV file: no RIFF/WAVE header")
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let format: Format | undefined
  let data: Uint8Array | undefined
  let offset = 12
  while (offset + 8 <= bytes.length && (format === undefined || data === undefined)) {
    const id = fourcc(bytes, offset)
    const declared = view.getUint32(offset + 4, true)
    const body = offset + 8
    const size = Math.min(declared, bytes.length - body)
    if (id === "fmt " && format === undefined) {
      const parsed = parseFmt(view, body, size)
      if (Either.isLeft(parsed)) return fail(parsed.left)
      format = parsed.right
    } else if (id === "data" && data === undefined) {
      data = bytes.subarray(body, body + size)
    }
    offset = body + declared + (declared & 1)
  }
  if (format === undefined) return fail("no fmt chunk")
  if (data === undefined) return fail("no data chunk")
  return Either.right({ format, data: data.subarray(0, data.length - (data.length % bytesPerSample(format))) })
}

/**
 * A WAV file of `data` in `format`: a 44-byte header (RIFF, a 16-byte `fmt ` chunk of format 1 for
 * PCM16, 7 for mu-law, 6 for A-law, and the `data` chunk) followed by the data (whole samples
 * only), plus a pad byte when the data length is odd, as RIFF requires.
 *
 * @since 0.1.0
 * @category WAV
 */
export const writeWav = (format: Format, data: Uint8Array): Uint8Array => {
  const width = bytesPerSample(format)
  const size = data.length - (data.length % width)
  const pad = size & 1
  const out = new Uint8Array(44 + size + pad)
  const view = new DataView(out.buffer)
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i)
  }
  ascii(0, "RIFF")
  view.setUint32(4, 36 + size + pad, true)
  ascii(8, "WAVE")
  ascii(12, "fmt ")
  view.setUint32(16, 16, true)
  view.setUint16(
    20,
    format.encoding === "pcm16" ? WAVE_FORMAT_PCM : format.encoding === "mulaw" ? WAVE_FORMAT_MULAW : WAVE_FORMAT_ALAW,
    true
  )
  view.setUint16(22, 1, true)
  view.setUint32(24, format.sampleRate, true)
  view.setUint32(28, format.sampleRate * width, true)
  view.setUint16(32, width, true)
  view.setUint16(34, width * 8, true)
  ascii(36, "data")
  view.setUint32(40, size, true)
  out.set(size === data.length ? data : data.subarray(0, size), 44)
  return out
}


/**
 * Reads and parses a WAV file (see `readWav`).
 *
 * @since 0.1.0
 * @category WAV
 */
export const readWavFile = (path: string): Effect.Effect<Wav, AudioError> =>
  Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.readFile(path)),
    catch: (cause) => wavError("readWavFile", `cannot read ${path}: ${describe(cause)}`)
  }).pipe(
    Effect.flatMap((buffer) =>
      Either.mapLeft(
        readWav(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)),
        (error) => wavError("readWavFile", `${path}: ${error.description}`)
      )
    )
  )

/**
 * Writes `data` in `format` as a WAV file (see `writeWav`).
 *
 * @since 0.1.0
 * @category WAV
 */
export const writeWavFile = (path: string, format: Format, data: Uint8Array): Effect.Effect<void, AudioError> =>
  Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.writeFile(path, writeWav(format, data))),
    catch: (cause) => wavError("writeWavFile", `cannot write ${path}: ${describe(cause)}`)
  })
