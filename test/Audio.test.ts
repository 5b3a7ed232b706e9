import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Audio from "../src/Audio.js"

// -----------------------------------------------------------------------------
// helpers
// -----------------------------------------------------------------------------

const pcm = (samples: ArrayLike<number>): Uint8Array => new Uint8Array(Int16Array.from(samples).buffer)
const samplesOf = (bytes: Uint8Array): Int16Array => {
  const copy = bytes.slice()
  return new Int16Array(copy.buffer, 0, copy.length >> 1)
}
const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}
/** The same bytes at an odd byte offset of a larger buffer (no Int16Array view possible). */
const unaligned = (bytes: Uint8Array): Uint8Array => {
  const buffer = new Uint8Array(bytes.length + 1)
  buffer.set(bytes, 1)
  return buffer.subarray(1)
}
const sine = (rate: number, hz: number, seconds: number, amplitude: number): Uint8Array =>
  pcm(Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate))))
const resampleAll = (from: Audio.SampleRate, to: Audio.SampleRate, input: Uint8Array): Int16Array => {
  const resampler = Audio.makeResampler(from, to)
  return samplesOf(concat([resampler.push(input), resampler.flush()]))
}
/** The amplitude of the `hz` component of `x` (Goertzel over the whole of `x`). */
const amplitudeAt = (x: ArrayLike<number>, rate: number, hz: number): number => {
  const w = (2 * Math.PI * hz) / rate
  const coefficient = 2 * Math.cos(w)
  let s1 = 0
  let s2 = 0
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] + coefficient * s1 - s2
    s2 = s1
    s1 = s0
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
  return (2 * Math.sqrt(power)) / x.length
}
const rms = (x: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i]
  return Math.sqrt(sum / x.length)
}
const db = (ratio: number) => 20 * Math.log10(ratio)
/** The middle of a signal, away from the start and end transients. */
const middle = (x: Int16Array, rate: number, seconds: number): Int16Array => {
  const start = Math.floor((x.length - rate * seconds) / 2)
  return x.subarray(start, start + rate * seconds)
}

const RATES = Audio.SAMPLE_RATES
const PAIRS = RATES.flatMap((from) => RATES.map((to) => [from, to] as const))
const FORMATS: ReadonlyArray<Audio.Format> = [
  ...RATES.map(Audio.pcm16),
  ...RATES.map((rate) => Audio.make("mulaw", rate)),
  ...RATES.map((rate) => Audio.make("alaw", rate))
]

/** Random bytes split at random points (odd lengths and empty chunks included). */
const bytesAndCuts = FastCheck.uint8Array({ maxLength: 1200 }).chain((bytes) =>
  FastCheck.tuple(
    FastCheck.constant(bytes),
    FastCheck.uniqueArray(FastCheck.integer({ min: 0, max: bytes.length }), { maxLength: 12 }).map((cuts) =>
      [...cuts].sort((a, b) => a - b)
    )
  )
)
const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  let previous = 0
  for (const cut of [...cuts, bytes.length]) {
    // every other chunk at an odd byte offset, to exercise both input paths
    chunks.push(chunks.length % 2 === 0 ? bytes.subarray(previous, cut) : unaligned(bytes.subarray(previous, cut)))
    previous = cut
  }
  return chunks
}

// -----------------------------------------------------------------------------
// Formats and frame math
// -----------------------------------------------------------------------------

describe("Audio formats", () => {
  it("names the Live API's formats and VoxEngine's encodings", () => {
    expect(Audio.INPUT_FORMAT).toEqual({ encoding: "pcm16", sampleRate: 16000 })
    expect(Audio.OUTPUT_FORMAT).toEqual({ encoding: "pcm16", sampleRate: 24000 })
    expect(Audio.MULAW_8K).toEqual({ encoding: "mulaw", sampleRate: 8000 })
    expect(Audio.ALAW_8K).toEqual({ encoding: "alaw", sampleRate: 8000 })
    expect(Audio.fromVoxEngineEncoding("PCM8")).toEqual(Audio.PCM16_8K)
    expect(Audio.fromVoxEngineEncoding("PCM16")).toEqual(Audio.PCM16_16K)
    expect(Audio.fromVoxEngineEncoding("ULAW")).toEqual(Audio.MULAW_8K)
    expect(Audio.fromVoxEngineEncoding("ALAW")).toEqual(Audio.ALAW_8K)
    expect([7999, 8000, 44100, 48000].map(Audio.isSampleRate)).toEqual([false, true, false, true])
  })

  it("writes and reads MIME types", () => {
    expect(Audio.mimeType(Audio.INPUT_FORMAT)).toBe("audio/pcm;rate=16000")
    expect(Audio.mimeType(Audio.OUTPUT_FORMAT)).toBe("audio/pcm;rate=24000")
    expect(Audio.mimeType(Audio.MULAW_8K)).toBe("audio/PCMU;rate=8000")
    expect(Audio.mimeType(Audio.ALAW_8K)).toBe("audio/PCMA;rate=8000")
    for (const format of FORMATS) expect(Audio.fromMimeType(Audio.mimeType(format))).toEqual(Option.some(format))
    expect(Audio.fromMimeType("Audio/PCM; rate = 24000")).toEqual(Option.some(Audio.OUTPUT_FORMAT))
    expect(Audio.fromMimeType("audio/pcm")).toEqual(Option.none())
    expect(Audio.fromMimeType("audio/pcm;rate=44100")).toEqual(Option.none())
    expect(Audio.fromMimeType("audio/ogg;rate=16000")).toEqual(Option.none())
  })

  it("does the frame math", () => {
    expect(Audio.bytesPerSecond(Audio.INPUT_FORMAT)).toBe(32000)
    expect(Audio.bytesPerSecond(Audio.OUTPUT_FORMAT)).toBe(48000)
    expect(Audio.bytesPerSecond(Audio.MULAW_8K)).toBe(8000)
    expect(Audio.bytesFor(Audio.INPUT_FORMAT, 20)).toBe(640)
    expect(Audio.bytesFor(Audio.OUTPUT_FORMAT, 20)).toBe(960)
    expect(Audio.bytesFor(Audio.MULAW_8K, 20)).toBe(160)
    expect(Audio.bytesFor(Audio.PCM16_8K, 0.3)).toBe(4) // 2.4 samples: 2 whole samples
    expect(Audio.bytesFor(Audio.PCM16_8K, -5)).toBe(0)
    expect(Audio.durationMillis(Audio.INPUT_FORMAT, 640)).toBe(20)
    expect(Audio.durationMillis(Audio.INPUT_FORMAT, 641)).toBe(20)
    expect(Audio.durationMillis(Audio.MULAW_8K, 1)).toBe(0.125)
    expect(Audio.durationMillis(Audio.OUTPUT_FORMAT, 48000)).toBe(1000)
  })
})

// -----------------------------------------------------------------------------
// G.711
// -----------------------------------------------------------------------------

/** ITU-T G.191's ulaw_compress / alaw_compress, sample by sample, without tables. */
const referenceMulaw = (x: number): number => {
  let absno = (x < 0 ? (~x) >> 2 : x >> 2) + 33
  if (absno > 0x1fff) absno = 0x1fff
  let segno = 1
  for (let i = absno >> 6; i !== 0; i >>= 1) segno++
  const code = ((0x8 - segno) << 4) | (0xf - ((absno >> segno) & 0xf))
  return x >= 0 ? code | 0x80 : code
}
const referenceAlaw = (x: number): number => {
  let ix = x < 0 ? (~x) >> 4 : x >> 4
  if (ix > 15) {
    let exponent = 1
    while (ix > 31) {
      ix >>= 1
      exponent++
    }
    ix = ix - 16 + (exponent << 4)
  }
  return (x >= 0 ? ix | 0x80 : ix) ^ 0x55
}

const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768)
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i)

describe("G.711", () => {
  it("encodes and decodes known values", () => {
    expect([...Audio.mulawEncode(pcm([0, -1, 32767, -32768, 1000, -1000]))]).toEqual([0xff, 0x7f, 0x80, 0x00, 0xce, 0x4e])
    expect([...Audio.alawEncode(pcm([0, -1, 32767, -32768, 1000, -1000]))]).toEqual([0xd5, 0x55, 0xaa, 0x2a, 0xfa, 0x7a])
    expect([...samplesOf(Audio.mulawDecode(Uint8Array.of(0xff, 0x7f, 0x80, 0x00, 0xce, 0x4e)))])
      .toEqual([0, 0, 32124, -32124, 988, -988])
    expect([...samplesOf(Audio.alawDecode(Uint8Array.of(0xd5, 0x55, 0xaa, 0x2a, 0xfa, 0x7a)))])
      .toEqual([8, -8, 32256, -32256, 1008, -1008])
  })

  it("encodes every int16 exactly as ITU-T G.191, aligned or not", () => {
    const bytes = new Uint8Array(ALL_SAMPLES.buffer)
    const mulaw = Audio.mulawEncode(bytes)
    const alaw = Audio.alawEncode(bytes)
    expect(Audio.mulawEncode(unaligned(bytes))).toEqual(mulaw)
    expect(Audio.alawEncode(unaligned(bytes))).toEqual(alaw)
    expect(mulaw).toEqual(ALL_SAMPLES.map(referenceMulaw).reduce((out, c, i) => ((out[i] = c), out), new Uint8Array(65536)))
    expect(alaw).toEqual(ALL_SAMPLES.map(referenceAlaw).reduce((out, c, i) => ((out[i] = c), out), new Uint8Array(65536)))
  })

  it("ignores a trailing odd byte", () => {
    expect(Audio.mulawEncode(Uint8Array.of(0, 0, 7))).toEqual(Uint8Array.of(0xff))
    expect(Audio.alawEncode(Uint8Array.of(1))).toEqual(new Uint8Array(0))
  })

  // mu-law has two zeros: 0x7F decodes to 0, which encodes to 0xFF.
  it("encode ∘ decode keeps every code but mu-law's 0x7F", () => {
    const mulaw = Audio.mulawEncode(Audio.mulawDecode(ALL_CODES))
    expect([...mulaw].flatMap((c, i) => (c === i ? [] : [[i, c]]))).toEqual([[0x7f, 0xff]])
    expect(Audio.alawEncode(Audio.alawDecode(ALL_CODES))).toEqual(ALL_CODES)
    expect(new Set(samplesOf(Audio.alawDecode(ALL_CODES))).size).toBe(256)
  })

  it("decode ∘ encode stays within |x| / 32 + 8 of every int16", () => {
    const bytes = new Uint8Array(ALL_SAMPLES.buffer)
    for (const [encode, decode] of [[Audio.mulawEncode, Audio.mulawDecode], [Audio.alawEncode, Audio.alawDecode]]) {
      const back = samplesOf(decode(encode(bytes)))
      const worst = ALL_SAMPLES.reduce((w, x, i) => Math.max(w, Math.abs(back[i] - x) - Math.abs(x) / 32), -Infinity)
      expect(worst).toBeLessThanOrEqual(8)
    }
  })

  it.prop("decode ∘ encode error is bounded on random audio", [FastCheck.array(FastCheck.integer({ min: -32768, max: 32767 }), { maxLength: 300 })], ([xs]) => {
    const mulaw = samplesOf(Audio.mulawDecode(Audio.mulawEncode(pcm(xs))))
    const alaw = samplesOf(Audio.alawDecode(Audio.alawEncode(pcm(xs))))
    xs.forEach((x, i) => {
      expect(Math.abs(mulaw[i] - x)).toBeLessThanOrEqual(Math.abs(x) / 32 + 8)
      expect(Math.abs(alaw[i] - x)).toBeLessThanOrEqual(Math.abs(x) / 32 + 8)
    })
  })
})

// -----------------------------------------------------------------------------
// Resampling
// -----------------------------------------------------------------------------

describe("Resampler", () => {
  it.prop("any chunking gives one big push's output, every rate pair", [
    FastCheck.constantFrom(...PAIRS),
    bytesAndCuts
  ], ([[from, to], [bytes, cuts]]) => {
    const resampler = Audio.makeResampler(from, to)
    const whole = concat([resampler.push(bytes), resampler.flush()])
    // the same resampler, after flush, starts a new stream
    const chunked = concat([...split(bytes, cuts).map((chunk) => resampler.push(chunk)), resampler.flush()])
    expect(chunked).toEqual(whole)
  }, { fastCheck: { numRuns: 150 } })

  // N: the input samples.
  it.prop("push + flush give ceil(N × to / from) samples", [
    FastCheck.constantFrom(...PAIRS),
    FastCheck.nat({ max: 2000 }),
    FastCheck.nat({ max: 2000 })
  ], ([[from, to], n, cut]) => {
    const resampler = Audio.makeResampler(from, to)
    const input = new Uint8Array(2 * n)
    const first = Math.min(cut, input.length)
    const out = concat([resampler.push(input.subarray(0, first)), resampler.push(input.subarray(first)), resampler.flush()])
    expect(out.length).toBe(2 * Math.ceil((n * to) / from))
    // within one sample of the rational expectation
    expect(Math.abs(out.length / 2 - (n * to) / from)).toBeLessThan(1)
  })

  it("has a short look-ahead", () => {
    for (const [from, to] of PAIRS) {
      const { lookahead } = Audio.makeResampler(from, to)
      expect(from === to ? lookahead === 0 : lookahead > 0).toBe(true)
      expect(lookahead / from).toBeLessThan(0.004) // under 4 ms of latency
    }
    expect(Audio.makeResampler(16000, 24000).lookahead / 16000).toBeLessThan(0.002)
  })

  // N: the input samples pushed so far; the rest comes with flush.
  it.prop("pushes give ceil((N - lookahead) × to / from) so far", [
    FastCheck.constantFrom(...PAIRS),
    FastCheck.array(FastCheck.nat({ max: 700 }), { maxLength: 6 })
  ], ([[from, to], sizes]) => {
    const resampler = Audio.makeResampler(from, to)
    let pushed = 0
    let out = 0
    for (const size of sizes) {
      out += resampler.push(new Uint8Array(size)).length
      pushed += size
      const n = Math.floor(pushed / 2)
      expect(out).toBe(2 * Math.max(0, Math.ceil(((n - resampler.lookahead) * to) / from)))
    }
    expect(out + resampler.flush().length).toBe(2 * Math.ceil((Math.floor(pushed / 2) * to) / from))
  })

  it("is the identity, without copies, when from === to", () => {
    const resampler = Audio.makeResampler(16000, 16000)
    const chunk = pcm([1, 2, 3])
    expect(resampler.push(chunk)).toBe(chunk)
    expect(resampler.push(chunk.subarray(0, 3))).toEqual(chunk.subarray(0, 2))
    expect(resampler.push(chunk.subarray(3))).toEqual(chunk.subarray(2, 6))
    expect(resampler.push(Uint8Array.of(9))).toEqual(new Uint8Array(0))
    expect(resampler.flush()).toEqual(new Uint8Array(0)) // the dangling byte is dropped
  })

  it.each([[16000, 24000], [24000, 16000], [8000, 16000], [48000, 16000]] as const)(
    "keeps a 1 kHz sine's frequency and amplitude, %i → %i Hz",
    (from, to) => {
      const out = middle(resampleAll(from, to, sine(from, 1000, 1.2, 10000)), to, 1)
      expect(Math.abs(db(amplitudeAt(out, to, 1000) / 10000))).toBeLessThan(1)
      expect(amplitudeAt(out, to, 1000)).toBeGreaterThan(9900) // in fact within 0.1 dB
      // the energy is at 1 kHz, not next to it
      expect(amplitudeAt(out, to, 1050)).toBeLessThan(100)
      expect(amplitudeAt(out, to, 950)).toBeLessThan(100)
      let crossings = 0
      for (let i = 1; i < out.length; i++) if ((out[i - 1] < 0) !== (out[i] < 0)) crossings++
      expect(Math.abs(crossings - 2000)).toBeLessThanOrEqual(2)
    }
  )

  it("attenuates a 7 kHz tone by ≥ 40 dB from 24 kHz to 8 kHz", () => {
    const input = sine(24000, 7000, 1.2, 16000)
    const out = middle(resampleAll(24000, 8000, input), 8000, 1)
    expect(db(rms(out) / rms(samplesOf(input)))).toBeLessThan(-40)
    expect(db(amplitudeAt(out, 8000, 1000) / 16000)).toBeLessThan(-40) // where 7 kHz would alias
  })

  it.each(PAIRS.filter(([from, to]) => to < from))("rejects what is above the new Nyquist, %i → %i Hz", (from, to) => {
    const input = sine(from, 0.56 * to, 0.6, 16000)
    const out = middle(resampleAll(from, to, input), to, 0.5)
    expect(db(rms(out) / rms(samplesOf(input)))).toBeLessThan(-60)
  })

  it("introduces no DC offset and keeps silence silent", () => {
    for (const [from, to] of PAIRS) {
      const silence = resampleAll(from, to, new Uint8Array(2 * from / 10))
      expect(silence.every((x) => x === 0)).toBe(true)
      // a constant stays exactly that constant once the start transient is over
      const constant = middle(resampleAll(from, to, pcm(new Array(from / 10).fill(-12345))), to, 0.05)
      expect(constant.every((x) => x === -12345)).toBe(true)
      const tone = middle(resampleAll(from, to, sine(from, 440, 0.5, 20000)), to, 0.25)
      expect(Math.abs(tone.reduce((s, x) => s + x, 0) / tone.length)).toBeLessThan(1)
    }
  })

  it("is time-aligned: an impulse at t comes out at t", () => {
    for (const [from, to] of PAIRS) {
      const input = new Int16Array(from / 50)
      input[from / 100] = 20000 // at 10 ms
      const out = resampleAll(from, to, new Uint8Array(input.buffer))
      const peak = out.reduce((best, x, i) => (Math.abs(x) > Math.abs(out[best]) ? i : best), 0)
      expect(peak).toBe(to / 100)
    }
  })

  it("saturates the filter's overshoot (no int16 wrap-around)", () => {
    const level = (i: number) => (Math.floor(i / 24) % 2 === 0 ? 32767 : -32768)
    const input = Array.from({ length: 4800 }, (_, i) => level(i))
    for (const [from, to] of [[24000, 16000], [24000, 48000], [24000, 8000]] as const) {
      const out = resampleAll(from, to, pcm(input))
      expect(Math.max(...out)).toBe(32767)
      expect(Math.min(...out)).toBe(-32768)
      // where the input is flat around an output instant, the output keeps its sign (a wrap flips it)
      let checked = 0
      for (let i = 0; i < out.length; i++) {
        const t = Math.floor((i * from) / to)
        if (t < 2 || t + 2 >= input.length) continue
        if (input[t - 1] !== input[t] || input[t + 1] !== input[t] || input[t + 2] !== input[t]) continue
        expect(Math.sign(out[i])).toBe(Math.sign(input[t]))
        checked++
      }
      expect(checked).toBeGreaterThan(out.length / 2)
    }
  })

  it("runs 16 → 24 kHz at over 50 × real time in 20 ms chunks", () => {
    const input = sine(16000, 440, 10, 10000)
    const run = () => {
      const resampler = Audio.makeResampler(16000, 24000)
      for (let i = 0; i < input.length; i += 640) resampler.push(input.subarray(i, i + 640))
      resampler.flush()
    }
    run() // warm up
    const start = performance.now()
    run()
    const seconds = (performance.now() - start) / 1000
    expect(10 / seconds).toBeGreaterThan(50)
  })
})

// -----------------------------------------------------------------------------
// Conversion
// -----------------------------------------------------------------------------

describe("Converter", () => {
  it("decodes, resamples and encodes", () => {
    const tone = sine(24000, 500, 0.1, 8000)
    const expected = Audio.mulawEncode(concat((() => {
      const resampler = Audio.makeResampler(24000, 8000)
      return [resampler.push(tone), resampler.flush()]
    })()))
    const converter = Audio.makeConverter(Audio.OUTPUT_FORMAT, Audio.MULAW_8K)
    expect(concat([converter.push(tone), converter.flush()])).toEqual(expected)

    const phone = Audio.alawEncode(sine(8000, 500, 0.1, 8000))
    const up = Audio.makeConverter(Audio.ALAW_8K, Audio.INPUT_FORMAT)
    expect(concat([up.push(phone), up.flush()])).toEqual(concat((() => {
      const resampler = Audio.makeResampler(8000, 16000)
      return [resampler.push(Audio.alawDecode(phone)), resampler.flush()]
    })()))

    const transcode = Audio.makeConverter(Audio.MULAW_8K, Audio.ALAW_8K)
    expect(transcode.push(Uint8Array.of(0xff, 0x80))).toEqual(Audio.alawEncode(Audio.mulawDecode(Uint8Array.of(0xff, 0x80))))
  })

  it("passes chunks through when the formats are equal", () => {
    const chunk = Uint8Array.of(1, 2, 3)
    expect(Audio.makeConverter(Audio.MULAW_8K, Audio.MULAW_8K).push(chunk)).toBe(chunk)
    const pcm16 = Audio.makeConverter(Audio.INPUT_FORMAT, Audio.INPUT_FORMAT)
    const even = Uint8Array.of(1, 2, 3, 4)
    expect(pcm16.push(even)).toBe(even)
    expect(pcm16.push(chunk)).toEqual(Uint8Array.of(1, 2)) // whole samples only
    expect(pcm16.push(chunk)).toEqual(Uint8Array.of(3, 1, 2, 3))
  })

  it.prop("any chunking gives the same output, every pair of formats", [
    FastCheck.constantFrom(...FORMATS),
    FastCheck.constantFrom(...FORMATS),
    bytesAndCuts
  ], ([from, to, [bytes, cuts]]) => {
    const converter = Audio.makeConverter(from, to)
    const whole = concat([converter.push(bytes), converter.flush()])
    const chunked = concat([...split(bytes, cuts).map((chunk) => converter.push(chunk)), converter.flush()])
    expect(chunked).toEqual(whole)
    const samples = Math.floor(bytes.length / Audio.bytesPerSample(from))
    expect(whole.length).toBe(Math.ceil((samples * to.sampleRate) / from.sampleRate) * Audio.bytesPerSample(to))
  }, { fastCheck: { numRuns: 150 } })

  it.effect("convert: a Stream operator, flushed at the end, re-runnable", () =>
    Effect.gen(function*() {
      const tone = Audio.mulawEncode(sine(8000, 300, 0.2, 6000))
      const converter = Audio.makeConverter(Audio.MULAW_8K, Audio.INPUT_FORMAT)
      const expected = concat([converter.push(tone), converter.flush()])
      const chunks = Array.from({ length: Math.ceil(tone.length / 160) }, (_, i) => tone.subarray(i * 160, i * 160 + 160))
      const stream = Stream.fromIterable(chunks).pipe(Audio.convert(Audio.MULAW_8K, Audio.INPUT_FORMAT))
      const first = yield* Stream.runCollect(stream)
      const second = yield* Stream.runCollect(stream)
      expect(concat(Chunk.toArray(first))).toEqual(expected)
      expect(concat(Chunk.toArray(second))).toEqual(expected)
      expect(Chunk.toArray(first).every((chunk) => chunk.length > 0)).toBe(true)
      // data-first too; errors go through
      const failed = yield* Effect.flip(
        Stream.runDrain(Audio.convert(Stream.concat(Stream.make(tone), Stream.fail("boom")), Audio.MULAW_8K, Audio.PCM16_24K))
      )
      expect(failed).toBe("boom")
    }))
})

// -----------------------------------------------------------------------------
// WAV
// -----------------------------------------------------------------------------

/** A WAV file from its parts: `fmt` fields, extra chunks, the declared data size. */
const wavBytes = (options: {
  readonly code?: number
  readonly channels?: number
  readonly rate?: number
  readonly bits?: number
  readonly extensible?: number
  readonly before?: ReadonlyArray<readonly [string, Uint8Array]>
  readonly data?: Uint8Array
  readonly dataSize?: number
  readonly noFmt?: boolean
  readonly noData?: boolean
}): Uint8Array => {
  const chunk = (id: string, body: Uint8Array, size = body.length) => {
    const out = new Uint8Array(8 + body.length + (body.length & 1))
    for (let i = 0; i < 4; i++) out[i] = id.charCodeAt(i)
    new DataView(out.buffer).setUint32(4, size, true)
    out.set(body, 8)
    return out
  }
  const fmt = new Uint8Array(options.extensible === undefined ? 16 : 40)
  const view = new DataView(fmt.buffer)
  const channels = options.channels ?? 1
  const rate = options.rate ?? 16000
  const bits = options.bits ?? 16
  view.setUint16(0, options.extensible === undefined ? options.code ?? 1 : 0xfffe, true)
  view.setUint16(2, channels, true)
  view.setUint32(4, rate, true)
  view.setUint32(8, (rate * channels * bits) / 8, true)
  view.setUint16(12, (channels * bits) / 8, true)
  view.setUint16(14, bits, true)
  if (options.extensible !== undefined) {
    view.setUint16(16, 22, true)
    view.setUint16(18, bits, true)
    view.setUint32(20, 4, true)
    fmt.set([options.extensible & 0xff, options.extensible >> 8, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71], 24)
  }
  const data = options.data ?? pcm([1, -1, 2, -2])
  const body = concat([
    new TextEncoder().encode("WAVE"),
    ...(options.before ?? []).map(([id, b]) => chunk(id, b)),
    ...(options.noFmt ? [] : [chunk("fmt ", fmt)]),
    ...(options.noData ? [] : [chunk("data", data, options.dataSize ?? data.length)])
  ])
  return chunk("RIFF", body)
}

const readError = (bytes: Uint8Array): string =>
  Either.match(Audio.readWav(bytes), { onLeft: (e) => `${e._tag} ${e.module}.${e.method}: ${e.description}`, onRight: () => "read" })

describe("WAV", () => {
  it.prop("writeWav → readWav round-trips every format", [
    FastCheck.constantFrom(...FORMATS),
    FastCheck.uint8Array({ maxLength: 500 })
  ], ([format, data]) => {
    const file = Audio.writeWav(format, data)
    const whole = data.subarray(0, data.length - (data.length % Audio.bytesPerSample(format)))
    expect(file.length).toBe(44 + whole.length + (whole.length & 1))
    const read = Audio.readWav(file)
    expect(read).toEqual(Either.right({ format, data: whole }))
    if (Either.isRight(read)) expect(read.right.data.buffer).toBe(file.buffer) // a view
  })

  it("writes the canonical 44-byte header", () => {
    const file = Audio.writeWav(Audio.MULAW_8K, Uint8Array.of(1, 2, 3))
    const view = new DataView(file.buffer)
    expect(new TextDecoder().decode(file.subarray(0, 16))).toBe("RIFF\u0028\u0000\u0000\u0000WAVEfmt ")
    expect([view.getUint32(16, true), view.getUint16(20, true), view.getUint16(22, true), view.getUint32(24, true)])
      .toEqual([16, 7, 1, 8000])
    expect([view.getUint32(28, true), view.getUint16(32, true), view.getUint16(34, true), view.getUint32(40, true)])
      .toEqual([8000, 1, 8, 3])
    expect(new DataView(Audio.writeWav(Audio.ALAW_8K, new Uint8Array(2)).buffer).getUint16(20, true)).toBe(6)
    expect(new DataView(Audio.writeWav(Audio.OUTPUT_FORMAT, new Uint8Array(2)).buffer).getUint16(20, true)).toBe(1)
  })

  it("walks the chunks and reads WAVE_FORMAT_EXTENSIBLE", () => {
    const data = pcm([5, 6, 7])
    const listed = wavBytes({ before: [["LIST", Uint8Array.of(1, 2, 3)], ["fact", new Uint8Array(4)]], data, rate: 24000 })
    expect(Audio.readWav(listed)).toEqual(Either.right({ format: Audio.PCM16_24K, data }))
    expect(Audio.readWav(wavBytes({ extensible: 7, bits: 8, rate: 8000, data: Uint8Array.of(1, 2, 3) })))
      .toEqual(Either.right({ format: Audio.MULAW_8K, data: Uint8Array.of(1, 2, 3) }))
    expect(Audio.readWav(wavBytes({ extensible: 1, rate: 48000, data }))).toEqual(Either.right({ format: Audio.PCM16_48K, data }))
  })

  it("reads a streamed WAV whose data size is 0xFFFFFFFF", () => {
    const data = pcm([1, 2, 3, 4, 5])
    expect(Audio.readWav(wavBytes({ data, dataSize: 0xffffffff }))).toEqual(Either.right({ format: Audio.PCM16_16K, data }))
    // and one cut in the middle of a sample
    const cut = wavBytes({ data, dataSize: 0xffffffff }).subarray(0, 44 + 7)
    expect(Audio.readWav(cut)).toEqual(Either.right({ format: Audio.PCM16_16K, data: data.subarray(0, 6) }))
  })

  it("rejects what it cannot read, saying why", () => {
    const prefix = "AudioError Audio.readWav: "
    expect(readError(new TextEncoder().encode("OggS and so on"))).toBe(`${prefix}not a WAV file: no RIFF/WAVE header`)
    expect(readError(new Uint8Array(0))).toBe(`${prefix}not a WAV file: no RIFF/WAVE header`)
    expect(readError(wavBytes({ noFmt: true }))).toBe(`${prefix}no fmt chunk`)
    expect(readError(wavBytes({ noData: true }))).toBe(`${prefix}no data chunk`)
    expect(readError(wavBytes({ channels: 2 }))).toBe(`${prefix}2 channels: only mono is supported`)
    expect(readError(wavBytes({ bits: 24 })))
      .toBe(`${prefix}24-bit PCM: only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported`)
    expect(readError(wavBytes({ code: 3, bits: 32 })))
      .toBe(`${prefix}32-bit float: only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported`)
    expect(readError(wavBytes({ extensible: 3, bits: 32 })))
      .toBe(`${prefix}32-bit float: only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported`)
    expect(readError(wavBytes({ code: 2 })))
      .toBe(`${prefix}WAV format 2: only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported`)
    expect(readError(wavBytes({ code: 7, bits: 16 })))
      .toBe(`${prefix}16-bit mu-law: only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported`)
    expect(readError(wavBytes({ rate: 44100 }))).toBe(`${prefix}44100 Hz: supported rates are 8000, 16000, 24000, 48000`)
  })

  it.effect("writeWavFile and readWavFile", () =>
    Effect.gen(function*() {
      const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "audio-test-"))
      try {
        const path = Path.join(directory, "tone.wav")
        const data = sine(24000, 440, 0.05, 5000)
        yield* Audio.writeWavFile(path, Audio.OUTPUT_FORMAT, data)
        const wav = yield* Audio.readWavFile(path)
        expect(wav.format).toEqual(Audio.OUTPUT_FORMAT)
        expect(wav.data).toEqual(data)
        const missing = yield* Effect.flip(Audio.readWavFile(Path.join(directory, "missing.wav")))
        expect(missing._tag).toBe("AudioError")
        expect(missing.method).toBe("readWavFile")
        expect(missing.description).toContain("cannot read")
        Fs.writeFileSync(path, wavBytes({ channels: 2 }))
        const stereo = yield* Effect.flip(Audio.readWavFile(path))
        expect(stereo.description).toBe(`${path}: 2 channels: only mono is supported`)
        const unwritable = yield* Effect.flip(Audio.writeWavFile(Path.join(directory, "no", "such.wav"), Audio.MULAW_8K, data))
        expect(unwritable.description).toContain("cannot write")
      } finally {
        Fs.rmSync(directory, { recursive: true, force: true })
      }
    }))
})
