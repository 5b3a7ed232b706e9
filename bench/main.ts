/**
 * The benchmark suite: our client against `@google/genai` and a bare `ws` floor, on loopback.
 *
 *   npm run bench                   full run (< 5 minutes on 2 cores)
 *   npm run bench -- --quick        smoke run (< 30 s)
 *   npm run bench -- --json         machine-readable result on stdout (progress on stderr)
 *   npm run bench -- --only uplink,downlink --clients ours,floor --reps 3
 *   npm run bench -- --only downlink --clients ours --cpu-profile ours.cpuprofile   (see bench/profile.ts)
 *
 * The server (`bench/server.ts`) runs in a child process, so `process.cpuUsage()` here is the
 * client's alone. Each figure is measured for the clients in this one process, interleaved (the
 * order rotates every repetition), and the median over the repetitions is reported:
 *
 * 1. uplink     N audio frames of 20 ms (640 bytes) as fast as possible, until the server has them all
 * 2. downlink   N model audio messages (200 ms, binary pretty-printed JSON) as fast as the server
 *               sends them, until the client's code holds each decoded chunk
 * 3. latency    50 sessions in real time (20 ms frames in, 200 ms chunks of 24 kHz audio out):
 *               server send -> client handler, and client hand-over -> server receipt
 * 4. scale      1,000 idle sessions (memory), then active in real time (40 ms frames in, the
 *               library's default frame, and 200 ms chunks out: event-loop delay, CPU); each client
 *               in a fresh process (`bench/scale.ts`). `--scale-frame-ms 20` for telephony frames
 *               (50,000 sends a second: more than one core does on loopback, whatever the client).
 * 5. audio      the audio toolkit's speed (`bench/audio.ts`)
 * 6. soak       ours alone: one session for 30 simulated minutes, audio in and out, across ten
 *               goAway handovers, against the LiveEmulator; every frame must arrive once, in order
 *               (`bench/soak.ts`)
 */
import { type ChildProcess, fork } from "node:child_process"
import * as Fs from "node:fs"
import * as Inspector from "node:inspector/promises"
import { createRequire } from "node:module"
import * as Os from "node:os"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { type AudioRow, measureAudio } from "./audio.js"
import { type BenchSession, type ClientName, clientNames, makeClient, setCloseTimeout } from "./clients.js"
import { closeMany, connectMany, makeLatencyProbe, startTicker } from "./live.js"
import type { ScaleInput, ScaleResult } from "./scale.js"
import type { Command, Report } from "./server.js"
import { fullSoak, measureSoak, quickSoak, type SoakResult } from "./soak.js"
import { cpuSince, gc, gcAvailable, median, now, pcmSignal, round, sleep, summarize, within } from "./stats.js"

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

const scenarioNames = ["uplink", "downlink", "latency", "scale", "audio", "soak"] as const
type ScenarioName = (typeof scenarioNames)[number]

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const value = (name: string): string | undefined => {
  const index = argv.indexOf(`--${name}`)
  return index >= 0 ? argv[index + 1] : undefined
}

const quick = flag("quick")
/** Write a CPU profile of the measured repetitions (not the warm-up, not the server) to this file. */
const profileFile = value("cpu-profile")
const json = flag("json")
const only = new Set<ScenarioName>((value("only")?.split(",") as Array<ScenarioName> | undefined) ?? scenarioNames)
const clients = (value("clients")?.split(",") as Array<ClientName> | undefined) ?? [...clientNames]
for (const name of only) if (!scenarioNames.includes(name)) throw new Error(`unknown scenario ${name}`)

const config = quick
  ? {
    uplink: { frames: 2_000, reps: 1, warmup: false },
    downlink: { messages: 1_000, reps: 1, warmup: false },
    latency: { sessions: 10, warmSeconds: 0.2, seconds: 0.6, reps: 1, frameMillis: 20, chunkMillis: 200 },
    scale: { sessions: 20, settleSeconds: 0.2, warmSeconds: 0.2, activeSeconds: 0.5, frameMillis: 40, chunkMillis: 200 },
    audio: { seconds: 1, runs: 1 },
    soak: quickSoak
  }
  : {
    uplink: { frames: 20_000, reps: 5, warmup: true },
    downlink: { messages: 20_000, reps: 5, warmup: true },
    latency: { sessions: 50, warmSeconds: 1, seconds: 6, reps: 3, frameMillis: 20, chunkMillis: 200 },
    scale: { sessions: 1_000, settleSeconds: 10, warmSeconds: 1, activeSeconds: 4, frameMillis: 40, chunkMillis: 200 },
    audio: { seconds: 60, runs: 5 },
    soak: fullSoak
  }
const scaleFrameMillis = value("scale-frame-ms")
if (scaleFrameMillis !== undefined) config.scale.frameMillis = Number(scaleFrameMillis)
const scaleSessions = value("scale-sessions")
if (scaleSessions !== undefined) config.scale.sessions = Number(scaleSessions)
const closeTimeout = quick ? 2_000 : 5_000
setCloseTimeout(closeTimeout)
const repsOverride = value("reps")
if (repsOverride !== undefined) {
  config.uplink.reps = config.downlink.reps = config.latency.reps = Number(repsOverride)
}

const log = (message: string) => process.stderr.write(`${message}\n`)

// -----------------------------------------------------------------------------
// The server process
// -----------------------------------------------------------------------------

/** Compiled (`bench/run.ts`, `bench/profile.ts`): sibling scripts are `.js`, run by plain Node; else `.ts`, under tsx. */
const compiled = import.meta.url.endsWith(".js")
const loader = compiled ? [] : ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href]
const here = (file: string) => fileURLToPath(new URL(compiled ? file.replace(/\.ts$/, ".js") : file, import.meta.url))

interface Server {
  readonly baseUrl: string
  readonly waitFor: <R extends Report>(match: (report: Report) => report is R, millis: number, what: string) => Promise<R>
  readonly tell: (command: Command) => void
  readonly stats: (key: string) => Promise<Extract<Report, { type: "stats" }>>
  readonly stop: () => Promise<void>
}

const startServer = async (): Promise<Server> => {
  const child = fork(here("./server.ts"), [], { execArgv: loader, stdio: ["ignore", "inherit", "inherit", "ipc"] })
  const waiting = new Set<(report: Report) => boolean>()
  child.on("message", (report: Report) => {
    for (const waiter of waiting) if (waiter(report)) waiting.delete(waiter)
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const waitFor = <R extends Report>(match: (report: Report) => report is R, millis: number, what: string) => {
    let waiter: ((report: Report) => boolean) | undefined
    return within(
      millis,
      what,
      new Promise<R>((resolve, reject) => {
        waiter = (report) => (match(report) ? (resolve(report), true) : false)
        waiting.add(waiter)
        void exited.then(() => reject(new Error(`${what}: the server exited`)))
      })
    ).finally(() => {
      if (waiter !== undefined) waiting.delete(waiter)
    })
  }
  const ready = await waitFor((r): r is Extract<Report, { type: "ready" }> => r.type === "ready", 30_000, "server start")
  const tell = (command: Command) => {
    if (child.connected) child.send(command)
  }
  return {
    baseUrl: `http://127.0.0.1:${ready.port}`,
    waitFor,
    tell,
    stats: (key) => {
      const answer = waitFor((r): r is Extract<Report, { type: "stats" }> => r.type === "stats" && r.key === key, 10_000, `stats ${key}`)
      tell({ type: "stats", key })
      return answer
    },
    stop: async () => {
      tell({ type: "shutdown" })
      await within(5_000, "server stop", exited).catch(() => child.kill("SIGKILL"))
    }
  }
}

// -----------------------------------------------------------------------------
// Scenarios
// -----------------------------------------------------------------------------

/** Problems that did not stop the run (e.g. sessions that did not close in time), reported with the figures. */
const warnings: Array<string> = []
const warn = (message: string) => {
  warnings.push(message)
  log(`  warning: ${message}`)
}

let runId = 0
const keyFor = (mode: string, param: number, client: ClientName) => `${mode}.${param}.${process.pid}-${++runId}-${client}`

/** The clients in a rotated order for repetition `rep`. */
const rotated = (rep: number) => clients.map((_, i) => clients[(i + rep) % clients.length])

const closeOne = (client: ClientName, session: BenchSession) =>
  session.close().catch((error: unknown) => warn(`${client}: ${error instanceof Error ? error.message : String(error)}`))

const failIfErrors = (stats: Extract<Report, { type: "stats" }>) => {
  if (stats.errors.length > 0) throw new Error(`server saw bad frames on ${stats.key}: ${stats.errors.join("; ")}`)
}

interface ThroughputRun {
  readonly perSecond: number
  readonly cpuMicrosPerMessage: number
  readonly wallMillis: number
}

const uplinkFrames = (count: number): Array<Uint8Array> => {
  const audio = pcmSignal(count * 640, 21)
  return Array.from({ length: count }, (_, i) => audio.subarray(i * 640, (i + 1) * 640))
}

const uplinkOnce = async (server: Server, client: ClientName, frames: ReadonlyArray<Uint8Array>): Promise<ThroughputRun> => {
  const key = keyFor("up", frames.length, client)
  const bench = makeClient(client, server.baseUrl, key)
  const session = await bench.connect(() => {})
  try {
    await sleep(20)
    gc()
    const done = server.waitFor(
      (r): r is Extract<Report, { type: "up" }> => r.type === "up" && r.key === key,
      120_000,
      `uplink ${client}`
    )
    const start = now()
    const cpu = process.cpuUsage()
    await session.sendAll(frames)
    const report = await done
    const cpuMicros = cpuSince(cpu)
    const wallMillis = report.at - start
    failIfErrors(await server.stats(key))
    return { perSecond: frames.length / (wallMillis / 1000), cpuMicrosPerMessage: cpuMicros / frames.length, wallMillis }
  } finally {
    await closeOne(client, session)
    await bench.dispose()
  }
}

const downlinkOnce = async (server: Server, client: ClientName, messages: number): Promise<ThroughputRun> => {
  const key = keyFor("down", messages, client)
  const bench = makeClient(client, server.baseUrl, key)
  let received = 0
  let wrongSize = 0
  let all: () => void = () => {}
  const allReceived = new Promise<void>((resolve) => (all = resolve))
  const session = await bench.connect((pcm) => {
    if (pcm.byteLength !== 9600) wrongSize++
    if (++received === messages) all()
  })
  try {
    await sleep(20)
    gc()
    const start = now()
    const cpu = process.cpuUsage()
    session.go()
    await within(120_000, `downlink ${client} (${received} of ${messages})`, allReceived)
    const cpuMicros = cpuSince(cpu)
    const wallMillis = now() - start
    if (wrongSize > 0) throw new Error(`downlink ${client}: ${wrongSize} chunks of the wrong size`)
    return { perSecond: messages / (wallMillis / 1000), cpuMicrosPerMessage: cpuMicros / messages, wallMillis }
  } finally {
    await closeOne(client, session)
    await bench.dispose()
  }
}

type PerClient<A> = Partial<Record<ClientName, A>>

interface ThroughputResult {
  readonly count: number
  readonly reps: number
  readonly median: PerClient<ThroughputRun>
  readonly runs: PerClient<Array<ThroughputRun>>
}

const throughput = async (
  name: string,
  count: number,
  reps: number,
  warmup: boolean,
  once: (client: ClientName, count: number) => Promise<ThroughputRun>
): Promise<ThroughputResult> => {
  if (warmup) {
    for (const client of clients) await once(client, Math.max(1, Math.floor(count / 4)))
  }
  const runs: PerClient<Array<ThroughputRun>> = {}
  const profiler = await startProfiler()
  for (let rep = 0; rep < reps; rep++) {
    for (const client of rotated(rep)) {
      const run = await once(client, count)
      ;(runs[client] ??= []).push(run)
      log(`  ${name} ${client} #${rep + 1}: ${round(run.cpuMicrosPerMessage)} µs CPU each, ${Math.round(run.perSecond)}/s`)
    }
  }
  await profiler.stop()
  const medianOf = (list: Array<ThroughputRun>): ThroughputRun => ({
    perSecond: median(list.map((r) => r.perSecond)),
    cpuMicrosPerMessage: median(list.map((r) => r.cpuMicrosPerMessage)),
    wallMillis: median(list.map((r) => r.wallMillis))
  })
  const medians: PerClient<ThroughputRun> = {}
  for (const client of clients) medians[client] = medianOf(runs[client] ?? [])
  return { count, reps, median: medians, runs }
}

/**
 * With `--cpu-profile file`: the in-process V8 profiler (100 µs sampling) around the measured
 * repetitions (for latency, the last repetition's measured window).
 */
const startProfiler = async (): Promise<{ readonly stop: () => Promise<void> }> => {
  if (profileFile === undefined) return { stop: async () => {} }
  const session = new Inspector.Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 100 })
  await session.post("Profiler.start")
  return {
    stop: async () => {
      const { profile } = await session.post("Profiler.stop")
      Fs.writeFileSync(profileFile, JSON.stringify(profile))
      session.disconnect()
      log(`  CPU profile: ${profileFile}`)
    }
  }
}

interface LatencyRun {
  readonly downlink: ReturnType<typeof summarize>
  readonly uplink: ReturnType<typeof summarize>
  readonly cpuPercent: number
  readonly eventLoopDelayP99Millis: number
}

/** One latency run; `profile`: with `--cpu-profile`, around its measured window (steady state only). */
const latencyOnce = async (server: Server, client: ClientName, profile: boolean): Promise<LatencyRun> => {
  const { chunkMillis, seconds, sessions: count, warmSeconds } = config.latency
  const key = keyFor("rt", chunkMillis, client)
  const bench = makeClient(client, server.baseUrl, key)
  const probe = makeLatencyProbe()
  const sessions = await connectMany(bench, count, probe.onAudio)
  try {
    const ticker = startTicker(sessions.map((session) => session.startLive(config.latency.frameMillis)), config.latency.frameMillis)
    for (const session of sessions) session.go()
    await sleep(warmSeconds * 1000)
    gc()
    const measureFrom = now()
    probe.measureFrom(measureFrom)
    server.tell({ type: "measureFrom", key, at: measureFrom })
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    const profiler = profile ? await startProfiler() : undefined
    const cpu = process.cpuUsage()
    await sleep(seconds * 1000)
    const cpuMicros = cpuSince(cpu)
    await profiler?.stop()
    const elapsed = now() - measureFrom
    delay.disable()
    ticker.stop()
    await sleep(100)
    const stats = await server.stats(key)
    failIfErrors(stats)
    return {
      downlink: summarize(probe.samples),
      uplink: stats.uplinkLatency,
      cpuPercent: (cpuMicros / 1000 / elapsed) * 100,
      eventLoopDelayP99Millis: delay.percentile(99) / 1e6
    }
  } finally {
    const failed = await closeMany(sessions)
    if (failed > 0) warn(`latency ${client}: ${failed} of ${sessions.length} sessions did not close in time`)
    await bench.dispose()
  }
}

interface LatencyResult {
  readonly sessions: number
  readonly seconds: number
  readonly reps: number
  readonly median: PerClient<{
    readonly downlinkP50Millis: number
    readonly downlinkP99Millis: number
    readonly uplinkP50Millis: number
    readonly uplinkP99Millis: number
    readonly cpuPercent: number
    readonly eventLoopDelayP99Millis: number
  }>
  readonly runs: PerClient<Array<LatencyRun>>
}

const latency = async (server: Server): Promise<LatencyResult> => {
  const runs: PerClient<Array<LatencyRun>> = {}
  for (let rep = 0; rep < config.latency.reps; rep++) {
    for (const client of rotated(rep)) {
      const run = await latencyOnce(server, client, rep === config.latency.reps - 1)
      ;(runs[client] ??= []).push(run)
      log(
        `  latency ${client} #${rep + 1}: down p50 ${round(run.downlink.p50)} p99 ${round(run.downlink.p99)} ms (${run.downlink.count}), ` +
          `up p50 ${round(run.uplink.p50)} p99 ${round(run.uplink.p99)} ms (${run.uplink.count}), CPU ${round(run.cpuPercent)}%`
      )
    }
  }
  const medians: LatencyResult["median"] = {}
  for (const client of clients) {
    const list = runs[client] ?? []
    medians[client] = {
      downlinkP50Millis: median(list.map((r) => r.downlink.p50)),
      downlinkP99Millis: median(list.map((r) => r.downlink.p99)),
      uplinkP50Millis: median(list.map((r) => r.uplink.p50)),
      uplinkP99Millis: median(list.map((r) => r.uplink.p99)),
      cpuPercent: median(list.map((r) => r.cpuPercent)),
      eventLoopDelayP99Millis: median(list.map((r) => r.eventLoopDelayP99Millis))
    }
  }
  return { sessions: config.latency.sessions, seconds: config.latency.seconds, reps: config.latency.reps, median: medians, runs }
}

type ScaleClientResult = ScaleResult & { readonly uplinkLatency: ReturnType<typeof summarize>; readonly framesReceived: number }

const scaleOnce = async (server: Server, client: ClientName): Promise<ScaleClientResult> => {
  const { activeSeconds, chunkMillis, frameMillis, sessions, settleSeconds, warmSeconds } = config.scale
  const key = keyFor("rt", chunkMillis, client)
  const input: ScaleInput = {
    client,
    baseUrl: server.baseUrl,
    key,
    sessions,
    settleSeconds,
    warmSeconds,
    activeSeconds,
    frameMillis,
    chunkMillis,
    closeTimeoutMillis: closeTimeout
  }
  const worker: ChildProcess = fork(here("./scale.ts"), [JSON.stringify(input)], {
    execArgv: ["--expose-gc", ...loader],
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  try {
    const result = await within(
      150_000,
      `scale ${client}`,
      new Promise<ScaleResult>((resolve, reject) => {
        worker.on("message", (message: { type: string; key?: string; at?: number; message?: string }) => {
          if (message.type === "measureFrom") server.tell({ type: "measureFrom", key, at: message.at ?? 0 })
          else if (message.type === "result") resolve(message as unknown as ScaleResult)
          else if (message.type === "error") reject(new Error(`scale ${client}: ${message.message}`))
        })
        worker.once("exit", (code) => reject(new Error(`scale ${client}: the worker exited (${code})`)))
      })
    )
    const stats = await server.stats(key)
    failIfErrors(stats)
    return { ...result, uplinkLatency: stats.uplinkLatency, framesReceived: stats.framesReceived }
  } finally {
    if (worker.exitCode === null) worker.kill()
  }
}

const scale = async (server: Server) => {
  const results: PerClient<ScaleClientResult> = {}
  for (const client of clients) {
    const result = await scaleOnce(server, client)
    results[client] = result
    log(
      `  scale ${client}: idle ${round(result.idle.heapBytesPerSession / 1024)} KiB heap, ${round(result.idle.rssBytesPerSession / 1024)} KiB RSS a session; ` +
        `active: event loop p99 ${round(result.active.eventLoopDelayP99Millis)} ms, CPU ${round(result.active.cpuPercent)}%, ` +
        `audio ${result.active.audioChunksReceived}/${result.active.audioChunksExpected}, down p99 ${round(result.active.downlinkLatency.p99)} ms, ` +
        `up p99 ${round(result.uplinkLatency.p99)} ms`
    )
  }
  return {
    sessions: config.scale.sessions,
    activeSeconds: config.scale.activeSeconds,
    frameMillis: config.scale.frameMillis,
    chunkMillis: config.scale.chunkMillis,
    clients: results
  }
}

// -----------------------------------------------------------------------------
// Report
// -----------------------------------------------------------------------------

interface Row {
  readonly figure: string
  readonly values: PerClient<number>
  /** Which way is better. */
  readonly lowerIsBetter: boolean
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? undefined : a / b

interface Target {
  readonly target: string
  readonly value: number | undefined
  readonly limit: number
  readonly met: boolean | undefined
}

const targetsOf = (results: Results): Array<Target> => {
  const targets: Array<Target> = []
  const check = (target: string, value: number | undefined, limit: number) =>
    targets.push({ target, value, limit, met: value === undefined || !Number.isFinite(value) ? undefined : value <= limit })
  if (results.uplink !== undefined) {
    const m = results.uplink.median
    check("uplink CPU per frame, ours/genai <= 1.0", ratio(m.ours?.cpuMicrosPerMessage, m.genai?.cpuMicrosPerMessage), 1.0)
    check("uplink CPU per frame, ours/floor <= 1.15", ratio(m.ours?.cpuMicrosPerMessage, m.floor?.cpuMicrosPerMessage), 1.15)
  }
  if (results.downlink !== undefined) {
    const m = results.downlink.median
    check("downlink CPU per message, ours/genai <= 1.0", ratio(m.ours?.cpuMicrosPerMessage, m.genai?.cpuMicrosPerMessage), 1.0)
    check("downlink CPU per message, ours/floor <= 1.15", ratio(m.ours?.cpuMicrosPerMessage, m.floor?.cpuMicrosPerMessage), 1.15)
  }
  if (results.latency !== undefined) {
    const m = results.latency.median
    check(`latency p99 (server send -> handler) < 2 ms at ${results.latency.sessions} sessions`, m.ours?.downlinkP99Millis, 2)
    check(`latency p99 added over the floor < 2 ms at ${results.latency.sessions} sessions`, diff(m.ours?.downlinkP99Millis, m.floor?.downlinkP99Millis), 2)
  }
  if (results.scale !== undefined) {
    const c = results.scale.clients
    check(`event-loop delay p99 < 20 ms, ${results.scale.sessions} active sessions (ms)`, c.ours?.active.eventLoopDelayP99Millis, 20)
    check("idle heap per session, ours/genai <= 1.0", ratio(c.ours?.idle.heapBytesPerSession, c.genai?.idle.heapBytesPerSession), 1.0)
    check("idle RSS per session (settled), ours/genai <= 1.0", ratio(c.ours?.idle.rssBytesPerSession, c.genai?.idle.rssBytesPerSession), 1.0)
  }
  return targets
}

const diff = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b)

const rowsOf = (results: Results): Array<Row> => {
  const rows: Array<Row> = []
  const add = (figure: string, lowerIsBetter: boolean, pick: (client: ClientName) => number | undefined) => {
    const values: PerClient<number> = {}
    for (const client of clients) {
      const v = pick(client)
      if (v !== undefined) values[client] = v
    }
    rows.push({ figure, values, lowerIsBetter })
  }
  if (results.uplink !== undefined) {
    const m = results.uplink.median
    add(`uplink: CPU µs per frame (${results.uplink.count} × 20 ms)`, true, (c) => m[c]?.cpuMicrosPerMessage)
    add("uplink: frames per second", false, (c) => m[c]?.perSecond)
  }
  if (results.downlink !== undefined) {
    const m = results.downlink.median
    add(`downlink: CPU µs per message (${results.downlink.count} × 200 ms)`, true, (c) => m[c]?.cpuMicrosPerMessage)
    add("downlink: messages per second", false, (c) => m[c]?.perSecond)
  }
  if (results.latency !== undefined) {
    const m = results.latency.median
    const n = results.latency.sessions
    add(`latency (${n} sessions): server -> handler p50 ms`, true, (c) => m[c]?.downlinkP50Millis)
    add(`latency (${n} sessions): server -> handler p99 ms`, true, (c) => m[c]?.downlinkP99Millis)
    add(`latency (${n} sessions): hand-over -> server p50 ms`, true, (c) => m[c]?.uplinkP50Millis)
    add(`latency (${n} sessions): hand-over -> server p99 ms`, true, (c) => m[c]?.uplinkP99Millis)
    add(`latency (${n} sessions): client CPU %`, true, (c) => m[c]?.cpuPercent)
  }
  if (results.scale !== undefined) {
    const s = results.scale.clients
    const n = results.scale.sessions
    const a = `${n} active, ${results.scale.frameMillis} ms frames`
    add(`scale (${n}): connect, CPU ms per session`, true, (c) => s[c] && s[c].connectCpuMicrosPerSession / 1000)
    add(`scale (${n} idle): heap KiB per session`, true, (c) => s[c] && s[c].idle.heapBytesPerSession / 1024)
    add(`scale (${n} idle): RSS KiB per session, settled`, true, (c) => s[c] && s[c].idle.rssBytesPerSession / 1024)
    add(`scale (${a}): event-loop delay p99 ms`, true, (c) => s[c]?.active.eventLoopDelayP99Millis)
    add(`scale (${a}): client CPU %`, true, (c) => s[c]?.active.cpuPercent)
    add(`scale (${a}): CPU ms per session-second`, true, (c) => s[c] && (s[c].active.cpuPercent * 10) / s[c].sessions)
    add(`scale (${a}): heap KiB per session`, true, (c) => s[c] && s[c].active.heapBytesPerSession / 1024)
    add(`scale (${a}): RSS KiB per session`, true, (c) => s[c] && s[c].active.rssBytesPerSession / 1024)
    add(`scale (${a}): server -> handler p99 ms`, true, (c) => s[c]?.active.downlinkLatency.p99)
    add(`scale (${a}): hand-over -> server p99 ms`, true, (c) => s[c]?.uplinkLatency.p99)
    add(`scale (${a}): model audio delivered %`, false, (c) =>
      s[c] && (100 * s[c].active.audioChunksReceived) / s[c].active.audioChunksExpected)
    add(`scale (${a}): frames handed over %`, false, (c) =>
      s[c] && (100 * s[c].active.framesHandedOver) / s[c].active.framesExpected)
  }
  return rows
}

const formatNumber = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : String(round(v)))

const printTable = (rows: ReadonlyArray<Row>) => {
  const header = ["figure", ...clients, "ours/genai", "ours/floor"]
  const lines = rows.map((row) => [
    row.figure,
    ...clients.map((c) => formatNumber(row.values[c])),
    formatNumber(ratio(row.values.ours, row.values.genai)),
    formatNumber(ratio(row.values.ours, row.values.floor))
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i].length)))
  const format = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")
  console.log(format(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const line of lines) console.log(format(line))
}

interface Results {
  uplink?: ThroughputResult
  downlink?: ThroughputResult
  latency?: LatencyResult
  scale?: Awaited<ReturnType<typeof scale>>
  audio?: Array<AudioRow>
  soak?: SoakResult
}

// -----------------------------------------------------------------------------
// Main
// -----------------------------------------------------------------------------

const main = async () => {
  const started = now()
  const results: Results = {}
  // First, in a quiet process: no server, no sockets, no session garbage yet.
  if (only.has("audio")) {
    log(`audio: ${config.audio.seconds} s of audio, best of ${config.audio.runs}`)
    results.audio = measureAudio(config.audio)
  }
  if (only.has("soak")) {
    const { capMinutes, minutes } = config.soak
    log(`soak: ${minutes} simulated minutes, connections capped at ${capMinutes} minutes`)
    const soak = results.soak = await measureSoak(config.soak)
    if (soak.framesLost > 0 || soak.framesDuplicatedOrReordered > 0 || soak.modelAudioReceivedBytes !== soak.modelAudioSentBytes) {
      warn(`soak: frames lost ${soak.framesLost}, duplicated or reordered ${soak.framesDuplicatedOrReordered}, model audio ${soak.modelAudioReceivedBytes} of ${soak.modelAudioSentBytes} bytes`)
    }
    if (soak.handovers < 5) warn(`soak: only ${soak.handovers} handovers`)
    if (soak.turnsAnswered !== soak.turnsSpoken) warn(`soak: ${soak.turnsAnswered} of ${soak.turnsSpoken} spoken turns answered`)
  }
  const needsServer = [...only].some((name) => name !== "audio" && name !== "soak")
  const server = needsServer ? await startServer() : undefined
  try {
    if (server !== undefined && only.has("uplink")) {
      log(`uplink: ${config.uplink.frames} frames of 20 ms, ${config.uplink.reps} repetitions`)
      const frames = uplinkFrames(config.uplink.frames)
      results.uplink = await throughput("uplink", config.uplink.frames, config.uplink.reps, config.uplink.warmup, (client, count) =>
        uplinkOnce(server, client, count === frames.length ? frames : frames.slice(0, count)))
    }
    if (server !== undefined && only.has("downlink")) {
      log(`downlink: ${config.downlink.messages} messages of 200 ms, ${config.downlink.reps} repetitions`)
      results.downlink = await throughput(
        "downlink",
        config.downlink.messages,
        config.downlink.reps,
        config.downlink.warmup,
        (client, count) => downlinkOnce(server, client, count)
      )
    }
    if (server !== undefined && only.has("latency")) {
      log(`latency: ${config.latency.sessions} sessions in real time, ${config.latency.seconds} s, ${config.latency.reps} repetitions`)
      results.latency = await latency(server)
    }
    if (server !== undefined && only.has("scale")) {
      log(
        `scale: ${config.scale.sessions} sessions, idle then ${config.scale.activeSeconds} s active ` +
          `(${config.scale.frameMillis} ms frames in, ${config.scale.chunkMillis} ms chunks out), one process per client`
      )
      results.scale = await scale(server)
    }
  } finally {
    await server?.stop()
  }

  const rows = rowsOf(results)
  const targets = targetsOf(results)
  const meta = {
    node: process.version,
    platform: `${Os.type()} ${Os.release()} ${Os.arch()}`,
    cpus: `${Os.cpus().length} × ${Os.cpus()[0]?.model ?? "?"}`,
    quick,
    gc: gcAvailable,
    clients,
    config,
    seconds: round((now() - started) / 1000)
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ meta, scenarios: results, table: rows, targets, warnings }, null, 2)}\n`)
    return
  }
  console.log(`\neffect-gemini-live benchmarks — node ${meta.node}, ${meta.cpus}, ${meta.seconds} s${quick ? " (quick)" : ""}\n`)
  if (rows.length > 0) printTable(rows)
  if (targets.length > 0) {
    console.log("\ntargets")
    for (const t of targets) {
      console.log(`  ${t.met === undefined ? "n/a " : t.met ? "MET " : "MISS"}  ${t.target}: ${formatNumber(t.value)}`)
    }
  }
  if (warnings.length > 0) {
    console.log("\nwarnings")
    for (const warning of warnings) console.log(`  ${warning}`)
  }
  if (results.soak !== undefined) {
    const soak = results.soak
    console.log(
      `\nsoak: ${soak.simulatedMinutes} simulated minutes in ${soak.wallSeconds} s, ${soak.connections} connections ` +
        `(${soak.handovers} goAway handovers, ${soak.reconnects} reconnects): ${soak.framesReceived} of ${soak.framesSent} frames ` +
        `received (${soak.framesLost} lost, ${soak.framesDuplicatedOrReordered} duplicated or reordered), ` +
        `${soak.turnsAnswered} of ${soak.turnsSpoken} spoken turns answered, ${soak.modelAudioReceivedBytes} of ` +
        `${soak.modelAudioSentBytes} bytes of model audio received`
    )
  }
  if (results.audio !== undefined) {
    console.log(`\naudio toolkit: ${config.audio.seconds} s of audio in 20 ms chunks, best of ${config.audio.runs}, one core`)
    console.table(results.audio)
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exit(1)
  }
)
