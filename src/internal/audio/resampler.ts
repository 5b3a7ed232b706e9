/**
 * The PCM16 resampler: a windowed-sinc (Kaiser) polyphase FIR over the rational ratio
 * `to / from = up / down`, with its state kept across chunks.
 */
import type { Resampler, SampleRate } from "../../Audio.js"
import { int16At, int16View, writeInt16 } from "./pcm16.js"

/** The polyphase filter of one rate pair. */
interface Polyphase {
  /** `to / from = up / down`, in lowest terms. */
  readonly up: number
  readonly down: number
  /** Taps a phase (the input samples one output sample depends on). */
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
/** The width of the transition band (centred on the cutoff), as a fraction of the lower rate. */
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
 * The filter for `from` → `to`, designed once per rate pair: a low-pass prototype at `up * from` Hz,
 * -6 dB at `CUTOFF * min(from, to)`, a Kaiser window sized by Kaiser's formula for `STOPBAND_DB`
 * over a `TRANSITION * min(from, to)` band; every phase normalized to a DC gain of exactly 1.
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

/** The pass-through of `from === to`: only an odd byte needs care. */
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

export const make = (from: SampleRate, to: SampleRate): Resampler => {
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
    // Drop the input no later output needs (never more than `length`: an output step skips at most
    // `ceil(down / up)` input samples, fewer than `taps`).
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
