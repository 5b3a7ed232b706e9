/**
 * The audio toolkit: what a voice app needs between its microphone, phone line or file and the
 * Live API, as pure functions and small stateful converters.
 *
 * - **Formats**: `Format` (`encoding` + `sampleRate`, mono only), the constants `PCM16_16K`,
 *   `MULAW_8K`, ..., `INPUT_FORMAT` (16 kHz PCM16: what the Live API takes) and `OUTPUT_FORMAT`
 *   (24 kHz PCM16: what it gives), `mimeType` / `fromMimeType` and `fromVoxEngineEncoding`.
 * - **Frame math**: `bytesPerSecond`, `durationMillis`, `bytesFor`.
 * - **G.711**: `mulawEncode` / `mulawDecode` / `alawEncode` / `alawDecode`, bit-exact with the ITU-T
 *   G.191 reference implementation of G.711.
 * - **Resampling**: `makeResampler(from, to)` for every pair of 8, 16, 24 and 48 kHz. It keeps its
 *   state across chunks: any chunking of the input (odd byte lengths included) gives byte-identical
 *   output, and no clicks at chunk boundaries.
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
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as converter from "./internal/audio/converter.js"
import * as formats from "./internal/audio/format.js"
import * as g711 from "./internal/audio/g711.js"
import * as resampler from "./internal/audio/resampler.js"
import * as wav from "./internal/audio/wav.js"
import * as wavFile from "./internal/audio/wavFile.js"
import { AudioError } from "./LiveError.js"

// -----------------------------------------------------------------------------
// Formats
// -----------------------------------------------------------------------------

/**
 * The sample rates the toolkit works with, in Hz.
 *
 * @since 0.1.0
 * @category Models
 */
export type SampleRate = 8000 | 16000 | 24000 | 48000

/**
 * All the `SampleRate`s, ascending.
 *
 * @since 0.1.0
 * @category Constants
 */
export const SAMPLE_RATES: ReadonlyArray<SampleRate> = formats.SAMPLE_RATES

/**
 * Whether a number is one of the supported `SampleRate`s.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isSampleRate: (n: number) => n is SampleRate = formats.isSampleRate

/**
 * How samples are stored: `pcm16` (signed 16-bit little-endian, 2 bytes a sample), `mulaw` and
 * `alaw` (ITU-T G.711, 1 byte a sample).
 *
 * @since 0.1.0
 * @category Models
 */
export type Encoding = "pcm16" | "mulaw" | "alaw"

/**
 * A mono audio format.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Format {
  readonly encoding: Encoding
  readonly sampleRate: SampleRate
}

/**
 * A `Format` from its encoding and sample rate.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: (encoding: Encoding, sampleRate: SampleRate) => Format = formats.make

/**
 * PCM16 at a sample rate.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const pcm16: (sampleRate: SampleRate) => Format = formats.pcm16

/**
 * PCM16 at 8 kHz.
 *
 * @since 0.1.0
 * @category Constants
 */
export const PCM16_8K: Format = formats.PCM16_8K

/**
 * PCM16 at 16 kHz.
 *
 * @since 0.1.0
 * @category Constants
 */
export const PCM16_16K: Format = formats.PCM16_16K

/**
 * PCM16 at 24 kHz.
 *
 * @since 0.1.0
 * @category Constants
 */
export const PCM16_24K: Format = formats.PCM16_24K

/**
 * PCM16 at 48 kHz.
 *
 * @since 0.1.0
 * @category Constants
 */
export const PCM16_48K: Format = formats.PCM16_48K

/**
 * G.711 mu-law at 8 kHz (North American and Japanese telephony).
 *
 * @since 0.1.0
 * @category Constants
 */
export const MULAW_8K: Format = formats.MULAW_8K

/**
 * G.711 A-law at 8 kHz (European and international telephony).
 *
 * @since 0.1.0
 * @category Constants
 */
export const ALAW_8K: Format = formats.ALAW_8K

/**
 * What the Live API takes as realtime input: PCM16 at 16 kHz.
 *
 * @since 0.1.0
 * @category Constants
 */
export const INPUT_FORMAT: Format = formats.INPUT_FORMAT

/**
 * What the Live API gives as the model's voice: PCM16 at 24 kHz.
 *
 * @since 0.1.0
 * @category Constants
 */
export const OUTPUT_FORMAT: Format = formats.OUTPUT_FORMAT

/**
 * Whether two formats are the same.
 *
 * @since 0.1.0
 * @category Utils
 */
export const equals: (self: Format, that: Format) => boolean = formats.equals

/**
 * The names of VoxEngine's `WebSocketAudioEncoding`.
 *
 * @since 0.1.0
 * @category Models
 */
export type VoxEngineEncoding = "PCM8" | "PCM16" | "ULAW" | "ALAW"

/**
 * The format of a VoxEngine `WebSocketAudioEncoding`: `PCM8` is PCM16 at 8 kHz (the name is the
 * rate, not the sample width), `PCM16` is PCM16 at 16 kHz, `ULAW` and `ALAW` are G.711 at 8 kHz.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromVoxEngineEncoding: (encoding: VoxEngineEncoding) => Format = formats.fromVoxEngineEncoding

/**
 * The MIME type of a format: `audio/pcm;rate=16000` for PCM16 (the form the Live API takes and
 * gives), `audio/PCMU;rate=8000` for mu-law and `audio/PCMA;rate=8000` for A-law (RFC 4856 names;
 * the Live API itself only takes PCM16).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const mimeType: (format: Format) => string = formats.mimeType

/**
 * The format of a MIME type written by `mimeType` (case and spaces do not matter), e.g. the
 * `mimeType` of an `AudioDelta` event. `None` for anything else, a missing rate included.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const fromMimeType: (mime: string) => Option.Option<Format> = formats.fromMimeType

// -----------------------------------------------------------------------------
// Frame math
// -----------------------------------------------------------------------------

/**
 * Bytes of one sample: 2 for PCM16, 1 for G.711.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const bytesPerSample: (format: Format) => 1 | 2 = formats.bytesPerSample

/**
 * Bytes of one second of audio (e.g. 32000 for 16 kHz PCM16, 8000 for mu-law).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const bytesPerSecond: (format: Format) => number = formats.bytesPerSecond

/**
 * The duration, in milliseconds, of the whole samples in `byteLength` bytes (a trailing partial
 * sample does not count). It can be fractional: one sample at 8 kHz is 0.125 ms.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const durationMillis: (format: Format, byteLength: number) => number = formats.durationMillis

/**
 * The bytes of `millis` milliseconds of audio, rounded to the nearest whole sample (e.g. 640 for
 * 20 ms of 16 kHz PCM16, 160 for 20 ms of mu-law). 0 for a negative or non-finite duration.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const bytesFor: (format: Format, millis: number) => number = formats.bytesFor

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * An `AudioError` of module `Audio` for something thrown by `method` (an `AudioError` is kept as
 * it is): for `Effect.try` around converters fed by user code.
 *
 * @since 0.1.0
 * @category Errors
 */
export const toAudioError = (method: string, cause: unknown): AudioError =>
  cause instanceof AudioError
    ? cause
    : new AudioError({ module: "Audio", method, description: cause instanceof Error ? cause.message : String(cause) })

// -----------------------------------------------------------------------------
// G.711
// -----------------------------------------------------------------------------

/**
 * G.711 mu-law encoding of PCM16 LE samples, one byte a sample, bit-exact with ITU-T G.191
 * (0 → 0xFF, 32767 → 0x80, -32768 → 0x00). A trailing odd byte is ignored: use a `Converter` for
 * chunks that may split a sample.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const mulawEncode: (pcm16le: Uint8Array) => Uint8Array = g711.mulawEncode

/**
 * G.711 mu-law decoding to PCM16 LE (two bytes a code), bit-exact with ITU-T G.191: the
 * 256 codes decode to the centres of their quantization intervals, ±32124 at most. 0x7F and 0xFF
 * both decode to 0 (mu-law has two zeros; `mulawEncode` gives 0xFF).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const mulawDecode: (mulaw: Uint8Array) => Uint8Array = g711.mulawDecode

/**
 * G.711 A-law encoding of PCM16 LE samples, one byte a sample, bit-exact with ITU-T G.191
 * (0 → 0xD5, -1 → 0x55). A trailing odd byte is ignored: use a `Converter` for chunks that may
 * split a sample.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const alawEncode: (pcm16le: Uint8Array) => Uint8Array = g711.alawEncode

/**
 * G.711 A-law decoding to PCM16 LE (two bytes a code), bit-exact with ITU-T G.191: the 256
 * codes decode to 256 distinct values, ±8 to ±32256.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const alawDecode: (alaw: Uint8Array) => Uint8Array = g711.alawDecode

// -----------------------------------------------------------------------------
// Resampling
// -----------------------------------------------------------------------------

/**
 * A stateful PCM16 LE resampler (see `makeResampler`).
 *
 * @since 0.1.0
 * @category Models
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

/**
 * A resampler of PCM16 LE mono from one rate to another: a windowed-sinc polyphase FIR with a
 * Kaiser window (80 dB stopband). Its passband is flat to 0.4 × the lower rate and its stopband
 * starts at the lower Nyquist. The output is time-aligned with the input (output sample `n` is the
 * input at time `n / to`), with no DC offset.
 *
 * State is kept across chunks: any chunking of the input, odd byte lengths included, gives
 * byte-identical output to one big push. Pushes return what can be computed so far (the resampler
 * looks `lookahead` input samples ahead); `flush` returns the rest. Over a whole stream of `N`
 * input samples, push + flush return exactly `ceil(N * to / from)` samples.
 *
 * `from === to` gives a pass-through that returns its input (a view of it when an odd byte is held
 * back; a new buffer only when a held-back byte is joined to the next chunk).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const makeResampler: (from: SampleRate, to: SampleRate) => Resampler = resampler.make

// -----------------------------------------------------------------------------
// Conversion
// -----------------------------------------------------------------------------

/**
 * A stateful converter between two formats (see `makeConverter`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Converter {
  readonly from: Format
  readonly to: Format
  /** Takes the next chunk (any length) and returns the output that can be computed so far. */
  push(chunk: Uint8Array): Uint8Array
  /** Ends the input: returns the rest of the output and resets the converter. */
  flush(): Uint8Array
}

/**
 * A converter from one format to another: G.711 decoding, resampling (`makeResampler`), G.711
 * encoding, as needed. Like the resampler, it keeps its state across chunks (any chunking gives
 * the same output) and `flush` ends the stream. Its output is whole samples only: over a stream of
 * `N` input samples, `ceil(N * to.sampleRate / from.sampleRate)` samples. Equal formats pass chunks
 * through as they are (for PCM16, an odd byte waits for the next chunk, as in `makeResampler`).
 *
 * @since 0.1.0
 * @category Codecs
 */
export const makeConverter: (from: Format, to: Format) => Converter = converter.make

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
 * @category Codecs
 */
export const convert: {
  (from: Format, to: Format): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, from: Format, to: Format): Stream.Stream<Uint8Array, E, R>
} = converter.convert

// -----------------------------------------------------------------------------
// WAV
// -----------------------------------------------------------------------------

/**
 * The audio of a WAV file: its format and its samples.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Wav {
  readonly format: Format
  /** The samples (a view into the file's bytes, whole samples only). */
  readonly data: Uint8Array
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
 * @category Codecs
 */
export const readWav: (bytes: Uint8Array) => Either.Either<Wav, AudioError> = wav.read

/**
 * A WAV file of `data` in `format`: a 44-byte header (RIFF, a 16-byte `fmt ` chunk of format 1 for
 * PCM16, 7 for mu-law, 6 for A-law, and the `data` chunk) followed by the data (whole samples
 * only), plus a pad byte when the data length is odd, as RIFF requires.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const writeWav: (format: Format, data: Uint8Array) => Uint8Array = wav.write

/**
 * Reads and parses a WAV file (see `readWav`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const readWavFile: (path: string) => Effect.Effect<Wav, AudioError> = wavFile.read

/**
 * Writes `data` in `format` as a WAV file (see `writeWav`).
 *
 * @since 0.1.0
 * @category Actions
 */
export const writeWavFile: (path: string, format: Format, data: Uint8Array) => Effect.Effect<void, AudioError> =
  wavFile.write
