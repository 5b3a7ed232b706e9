/**
 * The settings of a `ws` connection, resolved once per transport: how its liveness is watched (one
 * interval timer a connection, counting ticks), how long a close may take, the largest frame, and
 * the close each of them reports.
 */
import * as Duration from "effect/Duration"
import type { Options } from "../../NodeTransport.js"
import type { CloseInfo } from "../../Transport.js"

/** A connection's liveness, in ticks of one timer: a frame, ping or pong resets the silent ticks. */
export interface Plan {
  readonly tickMillis: number
  /** Silent ticks between pings (the first after this many ticks without a frame); `Infinity`: no ping. */
  readonly pingTicks: number
  /** Ticks of silence (or of a send buffer not draining) that make the connection dead. */
  readonly deadTicks: number
  readonly silent: CloseInfo
  readonly stuck: CloseInfo
}

export interface Settings {
  /** Undefined: liveness is not watched (the emulator's server side). */
  readonly liveness: Plan | undefined
  /** Passed to `ws` as `maxPayload` (0: no limit). */
  readonly maxFrameBytes: number
  readonly closeTimeoutMillis: number
  /** The close reported when the close handshake timed out. */
  readonly closeTimedOut: CloseInfo
  /** The close reported for a frame over `maxFrameBytes`. */
  readonly oversized: CloseInfo
}

export const defaultPingInterval = "15 seconds"
export const defaultLivenessTimeout = "45 seconds"
export const defaultMaxFrameBytes = 16 * 1024 * 1024
export const defaultCloseTimeout = "3 seconds"

/** A duration in milliseconds; 0, negative, infinite or beyond a timer's range: off (`Infinity`). */
const millisOf = (input: Duration.DurationInput): number => {
  const millis = Duration.toMillis(Duration.decode(input))
  return millis > 0 && millis < 2 ** 31 ? millis : Infinity
}

const millisText = (millis: number): string =>
  millis >= 1000 && millis % 1000 === 0 ? `${millis / 1000} s` : `${Math.round(millis)} ms`

const bytesText = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`

/**
 * One tick every third of the shorter of the two durations. A count of n ticks spans between n-1
 * and n ticks of time, so dead takes `deadTicks - 1` ticks ≥ the timeout: no alarm before it, and
 * at most a tick after (45–50 s with the defaults).
 */
export const plan = (pingMillis: number, timeoutMillis: number): Plan | undefined => {
  if (timeoutMillis === Infinity) return undefined
  const tickMillis = Math.min(pingMillis, timeoutMillis) / 3
  const lost = millisText(timeoutMillis)
  return {
    tickMillis,
    pingTicks: pingMillis === Infinity ? Infinity : Math.max(1, Math.round(pingMillis / tickMillis)),
    deadTicks: Math.ceil(timeoutMillis / tickMillis) + 1,
    silent: { code: 1006, reason: `no data from the server for ${lost}`, wasClean: false },
    stuck: { code: 1006, reason: `the send buffer did not drain for ${lost}`, wasClean: false }
  }
}

/** Resolves `options` over the defaults. */
export const settings = (options: Options = {}): Settings => {
  const closeTimeoutMillis = millisOf(options.closeTimeout ?? defaultCloseTimeout)
  const limit = options.maxFrameBytes ?? defaultMaxFrameBytes
  // `ws` reads `maxPayload | 0`: above 2^31 - 1 it would wrap.
  const maxFrameBytes = limit > 0 && Number.isFinite(limit) ? Math.min(Math.floor(limit), 2 ** 31 - 1) : 0
  return {
    liveness: plan(millisOf(options.pingInterval ?? defaultPingInterval), millisOf(options.livenessTimeout ?? defaultLivenessTimeout)),
    maxFrameBytes,
    closeTimeoutMillis,
    closeTimedOut: { code: 1006, reason: `no close frame from the server within ${millisText(closeTimeoutMillis)}`, wasClean: false },
    oversized: { code: 1009, reason: `a frame from the server over the ${bytesText(maxFrameBytes)} limit`, wasClean: false }
  }
}

/** The emulator's server side: no liveness watch, the defaults (its `maxPayload` is 16 MiB too). */
export const serverSettings: Settings = { ...settings(), liveness: undefined }
