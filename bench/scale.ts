/**
 * The scale scenario for ONE client, in a fresh process (started by `bench/main.ts` with
 * `--expose-gc`), so that its heap and RSS hold nothing but this client's sessions:
 *
 * 1. `sessions` idle sessions (connected, a reader waiting): heap and RSS per session, after a full GC,
 *    over a baseline taken after a warm-up batch of sessions (connected, then closed); RSS once the
 *    process has settled (`settleSeconds`);
 * 2. the same sessions active in real time (`frameMillis` frames in, 24 kHz model audio out in
 *    `chunkMillis` chunks) for `activeSeconds`: event-loop delay (p99), CPU, memory, latency.
 *
 * Argument: the JSON of `ScaleInput`. Reports `{ type: "measureFrom", key, at }` (for the server) and
 * `{ type: "result", ... }` over IPC, then exits.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import { type ClientName, makeClient, setCloseTimeout } from "./clients.js"
import { closeMany, connectMany, makeLatencyProbe, startTicker } from "./live.js"
import { cpuSince, gc, gcAvailable, now, sleep, summarize } from "./stats.js"

export interface ScaleInput {
  readonly client: ClientName
  readonly baseUrl: string
  readonly key: string
  readonly sessions: number
  /**
   * How long the process sits before RSS is read (the baseline's, then the idle sessions'): right
   * after a burst of connects, RSS holds pages V8 gives back within seconds (its memory reducer), for
   * every client.
   */
  readonly settleSeconds: number
  readonly warmSeconds: number
  readonly activeSeconds: number
  /** The input frame length. */
  readonly frameMillis: number
  /** The model audio chunk length the server sends (the key's `rt.<ms>`). */
  readonly chunkMillis: number
  readonly closeTimeoutMillis: number
}

export interface ScaleResult {
  readonly type: "result"
  readonly client: ClientName
  readonly sessions: number
  readonly gc: boolean
  readonly connectMillisPerSession: number
  readonly connectCpuMicrosPerSession: number
  readonly idle: {
    readonly heapBytesPerSession: number
    /** After `settleSeconds`. */
    readonly rssBytesPerSession: number
    readonly externalBytesPerSession: number
  }
  readonly active: {
    readonly seconds: number
    readonly eventLoopDelayP99Millis: number
    readonly eventLoopDelayMaxMillis: number
    readonly cpuPercent: number
    readonly heapBytesPerSession: number
    readonly rssBytesPerSession: number
    readonly framesHandedOver: number
    readonly framesExpected: number
    readonly audioChunksReceived: number
    readonly audioChunksExpected: number
    readonly downlinkLatency: ReturnType<typeof summarize>
  }
}

/** Sessions connected and closed before the baseline. */
const warmupSessions = 200

const send = (message: unknown): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) return resolve()
    process.send(message, undefined, {}, () => resolve())
  })

const memory = () => {
  gc()
  gc()
  return process.memoryUsage()
}

const run = async (input: ScaleInput) => {
  setCloseTimeout(input.closeTimeoutMillis)
  const client = makeClient(input.client, input.baseUrl, input.key)
  const probe = makeLatencyProbe()
  // Warm up on a first batch of sessions, then close them: the baseline holds what a process pays
  // once (the loaded and optimized code, the young generation's pages a burst of connects touches),
  // so that the figures per session are what each further session adds.
  await closeMany(await connectMany(client, Math.min(warmupSessions, input.sessions), () => {}))
  await sleep(100)
  const base = memory()
  await sleep(input.settleSeconds * 1000)
  const settledBase = memory()

  const connectStart = now()
  const connectCpu = process.cpuUsage()
  const sessions = await connectMany(client, input.sessions, probe.onAudio)
  const connectCpuMicros = cpuSince(connectCpu)
  const connectMillis = now() - connectStart
  await sleep(500)
  const idle = memory()
  await sleep(input.settleSeconds * 1000)
  const settled = memory()

  const inputs = sessions.map((session) => session.startLive(input.frameMillis))
  const ticker = startTicker(inputs, input.frameMillis)
  for (const session of sessions) session.go()
  await sleep(input.warmSeconds * 1000)
  const measureFrom = now()
  probe.measureFrom(measureFrom)
  void send({ type: "measureFrom", key: input.key, at: measureFrom })
  const framesBefore = ticker.framesSent()
  const chunksBefore = probe.chunks()
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const cpu = process.cpuUsage()
  await sleep(input.activeSeconds * 1000)
  const cpuMicros = cpuSince(cpu)
  const elapsed = now() - measureFrom
  delay.disable()
  const framesHandedOver = ticker.framesSent() - framesBefore
  const audioChunksReceived = probe.chunks() - chunksBefore
  const active = process.memoryUsage()
  ticker.stop()
  // The sessions are not closed one by one: the process exits after its report, and the OS closes
  // the sockets (a saturated client could take minutes to close 1,000 sessions cleanly).

  const perSession = (after: number, before: number) => Math.round((after - before) / input.sessions)
  const result: ScaleResult = {
    type: "result",
    client: input.client,
    sessions: input.sessions,
    gc: gcAvailable,
    connectMillisPerSession: connectMillis / input.sessions,
    connectCpuMicrosPerSession: connectCpuMicros / input.sessions,
    idle: {
      heapBytesPerSession: perSession(idle.heapUsed, base.heapUsed),
      rssBytesPerSession: perSession(settled.rss, settledBase.rss),
      externalBytesPerSession: perSession(idle.external, base.external)
    },
    active: {
      seconds: elapsed / 1000,
      eventLoopDelayP99Millis: delay.percentile(99) / 1e6,
      eventLoopDelayMaxMillis: delay.max / 1e6,
      cpuPercent: (cpuMicros / 1000 / elapsed) * 100,
      heapBytesPerSession: perSession(active.heapUsed, base.heapUsed),
      rssBytesPerSession: perSession(active.rss, base.rss),
      framesHandedOver,
      framesExpected: Math.round((input.sessions * elapsed) / input.frameMillis),
      audioChunksReceived,
      audioChunksExpected: Math.round((input.sessions * elapsed) / input.chunkMillis),
      downlinkLatency: summarize(probe.samples)
    }
  }
  await send(result)
}

const input = JSON.parse(process.argv[2] ?? "{}") as ScaleInput
setTimeout(() => {
  void send({ type: "error", message: "scale worker: timed out" }).then(() => process.exit(2))
}, 180_000).unref()
process.on("disconnect", () => process.exit(3))
run(input).then(
  () => process.exit(0),
  (error: unknown) =>
    send({ type: "error", message: String(error instanceof Error ? error.stack ?? error.message : error) }).then(() =>
      process.exit(1)
    )
)
