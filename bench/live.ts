/**
 * Real-time sessions, for the latency and scale scenarios: many sessions of one client, each fed
 * 20 ms frames by a microphone-like ticker (phases spread over the frame, as independent calls
 * are), each frame stamped when it is handed to the client; model audio from the server carries
 * the server's send stamp, read when the client's code has the decoded chunk.
 */
import type { BenchClient, BenchSession } from "./clients.js"
import { now, pcmSignal, readStamp, writeStamp } from "./stats.js"

/** 16 kHz PCM16: 32 bytes a millisecond. */
export const bytesPerMilli = 32

/** Opens `count` sessions, `concurrency` at a time. */
export const connectMany = async (
  client: BenchClient,
  count: number,
  onAudio: (pcm: Uint8Array) => void,
  concurrency = 50
): Promise<Array<BenchSession>> => {
  const sessions: Array<BenchSession> = []
  let next = 0
  let failure: unknown
  const worker = async () => {
    while (next < count && failure === undefined) {
      next++
      try {
        sessions.push(await client.connect(onAudio))
      } catch (error) {
        failure = error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  if (failure !== undefined) {
    await closeMany(sessions)
    throw failure
  }
  return sessions
}

/** Closes every session, `concurrency` at a time; gives how many closes failed or timed out. */
export const closeMany = async (sessions: ReadonlyArray<BenchSession>, concurrency = 100): Promise<number> => {
  let next = 0
  let failed = 0
  const worker = async () => {
    while (next < sessions.length) {
      const session = sessions[next++]
      await session.close().catch(() => {
        failed++
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, sessions.length) }, worker))
  return failed
}

/**
 * Feeds each input a stamped frame of `frameMillis` every `frameMillis` (phase i/n of the frame for
 * input i), checked every 2 ms; a late tick catches up (a microphone's frames do not vanish when the
 * process is busy).
 */
export const startTicker = (inputs: ReadonlyArray<(frame: Uint8Array) => void>, frameMillis: number) => {
  const template = pcmSignal(frameMillis * bytesPerMilli, 3)
  const start = now()
  const next = inputs.map((_, i) => start + (i * frameMillis) / inputs.length)
  let framesSent = 0
  const timer = setInterval(() => {
    const at = now()
    for (let i = 0; i < inputs.length; i++) {
      while (next[i] <= at) {
        next[i] += frameMillis
        const frame = template.slice()
        writeStamp(frame, now())
        inputs[i](frame)
        framesSent++
      }
    }
  }, 2)
  return {
    stop: () => clearInterval(timer),
    framesSent: () => framesSent
  }
}

/** Collects the latency of stamped model audio (ms) once `measureFrom` is set. */
export const makeLatencyProbe = () => {
  const samples: Array<number> = []
  let from = Infinity
  let chunks = 0
  return {
    onAudio: (pcm: Uint8Array) => {
      chunks++
      const stamp = readStamp(pcm)
      if (stamp >= from) samples.push(now() - stamp)
    },
    measureFrom: (at: number) => {
      from = at
    },
    samples,
    chunks: () => chunks
  }
}
