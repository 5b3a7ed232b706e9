/**
 * Helpers shared by the benchmark's processes: a clock both processes read alike, time stamps
 * carried inside the audio bytes, percentiles and medians, `gc`.
 */
import * as V8 from "node:v8"
import * as Vm from "node:vm"

/**
 * Milliseconds on the machine's monotonic clock (`CLOCK_MONOTONIC`, what `process.hrtime` reads):
 * the same clock in every process of the machine, so the server's stamp and the client's reading
 * can be subtracted.
 */
export const now = (): number => {
  const [seconds, nanos] = process.hrtime()
  return seconds * 1e3 + nanos / 1e6
}

/** Writes `stamp` (ms, `now()`) into the first 8 bytes of a PCM buffer (little-endian float64). */
export const writeStamp = (bytes: Uint8Array, stamp: number): void => {
  new DataView(bytes.buffer, bytes.byteOffset, 8).setFloat64(0, stamp, true)
}

/** Reads the stamp `writeStamp` wrote. */
export const readStamp = (bytes: Uint8Array): number =>
  new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true)

/** The stamp carried by base64 audio: its first 12 characters are the first 9 bytes. */
export const readStampBase64 = (base64Head: string): number => readStamp(Buffer.from(base64Head.slice(0, 12), "base64"))

/** `p` (0–100) percentile of `sorted` (ascending), nearest rank. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]
}

export interface Summary {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

export const summarize = (samples: ReadonlyArray<number>): Summary => {
  const sorted = [...samples].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
    mean: sorted.length === 0 ? NaN : sum / sorted.length
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return NaN
  const mid = finite.length >> 1
  return finite.length % 2 === 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2
}

/** Rounds for display and JSON: 3 significant digits, at most 2 decimals above 10. */
export const round = (value: number): number => {
  if (!Number.isFinite(value)) return value
  const magnitude = Math.abs(value)
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
  return Number(value.toFixed(digits))
}

const findGc = (): (() => void) | undefined => {
  if (process.env.BENCH_NO_GC === "1") return undefined
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === "function") return exposed
  try {
    V8.setFlagsFromString("--expose-gc")
    const fromContext = Vm.runInNewContext("gc") as unknown
    if (typeof fromContext === "function") return fromContext as () => void
  } catch {
    // no gc: measurements are noisier, nothing breaks
  }
  return undefined
}

const collector = findGc()

/** Whether `gc` really collects. */
export const gcAvailable: boolean = collector !== undefined

/**
 * A full garbage collection: `global.gc` when node runs with `--expose-gc`, otherwise the flag is
 * set at run time and `gc` fetched from a fresh context (works on Node 20); a no-op if neither works.
 */
export const gc = (): void => {
  collector?.()
}

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis))

/** Rejects after `millis` with `what` timed out; the timer does not keep the process alive. */
export const within = <A>(millis: number, what: string, promise: Promise<A>): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${millis} ms`)), millis)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Client CPU (user + system) in microseconds since `from` (a `process.cpuUsage()`). */
export const cpuSince = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from)
  return used.user + used.system
}

/** A PCM16 signal (tones + noise), `bytes` long, deterministic. */
export const pcmSignal = (bytes: number, seed = 12345): Uint8Array => {
  const samples = new Int16Array(bytes >> 1)
  let state = seed
  for (let i = 0; i < samples.length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000) + ((state / 0x7fffffff) - 0.5) * 2000)
  }
  return new Uint8Array(samples.buffer)
}
