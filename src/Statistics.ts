/**
 * The Statistics service (the seed's `statistics: true`): per-session figures (`session.statistics`)
 * and process-wide Effect Metrics (`gemini_live_*`). Off (`layerDisabled`), every hook is a no-op.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"

/**
 * The figures of one session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Snapshot {
  readonly enabled: boolean
  /** Frames and bytes written to the socket. */
  readonly framesSent: number
  readonly bytesSent: number
  /** Frames and bytes read from the socket. */
  readonly framesReceived: number
  readonly bytesReceived: number
  /** Decoded audio bytes of the model (`AudioDelta`). */
  readonly audioBytesReceived: number
  /** Completed turns (`turnComplete`). */
  readonly turns: number
  /** Barge-ins (`interrupted`). */
  readonly interruptions: number
  /** Frames that could not be decoded. */
  readonly protocolErrors: number
  /** Input audio frames dropped by `sendAudio` with `overflow: "dropOldest"` (the source outran the socket). */
  readonly inputFramesDropped: number
  /** Model audio bytes dropped because nobody read `session.audio` and its buffer was full. */
  readonly playbackBytesDropped: number
  /** Milliseconds from opening the socket to `setupComplete` (of the latest connection). */
  readonly setupMillis: number | undefined
  /** Connections opened after the first (reconnects and goAway handovers). */
  readonly reconnects: number
}

/**
 * The recorder of one session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SessionStatistics {
  readonly sent: (bytes: number) => void
  readonly received: (bytes: number) => void
  readonly audioReceived: (bytes: number) => void
  readonly turnCompleted: () => void
  readonly interrupted: () => void
  readonly protocolError: () => void
  readonly inputFramesDropped: (count: number) => void
  readonly playbackBytesDropped: (bytes: number) => void
  readonly setupCompleted: (millis: number) => void
  readonly reconnected: () => void
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  readonly enabled: boolean
  /** A recorder for a new session. */
  readonly session: Effect.Effect<SessionStatistics>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class Statistics extends Context.Tag("effect-gemini-live/Statistics")<Statistics, Service>() {}

/**
 * The process-wide metrics fed by every session with statistics on.
 *
 * @since 0.1.0
 * @category Utils
 */
export const metrics = {
  sessions: Metric.counter("gemini_live_sessions", { description: "Live sessions set up" }),
  framesSent: Metric.counter("gemini_live_frames_sent", { description: "WebSocket frames sent" }),
  bytesSent: Metric.counter("gemini_live_bytes_sent", { description: "WebSocket bytes sent" }),
  framesReceived: Metric.counter("gemini_live_frames_received", { description: "WebSocket frames received" }),
  bytesReceived: Metric.counter("gemini_live_bytes_received", { description: "WebSocket bytes received" }),
  turns: Metric.counter("gemini_live_turns", { description: "Completed model turns" }),
  interruptions: Metric.counter("gemini_live_interruptions", { description: "Barge-ins (interrupted turns)" }),
  protocolErrors: Metric.counter("gemini_live_protocol_errors", { description: "Undecodable server frames" }),
  audioDropped: Metric.counter("gemini_live_audio_dropped", {
    description: "Audio dropped by a full buffer (input frames, or playback chunks nobody read)"
  }),
  reconnects: Metric.counter("gemini_live_reconnects", { description: "Connections opened after a session's first" }),
  setupTime: Metric.timerWithBoundaries("gemini_live_setup_time", [50, 100, 250, 500, 1000, 2500, 5000, 10000])
} as const

const disabledSnapshot: Snapshot = {
  enabled: false,
  framesSent: 0,
  bytesSent: 0,
  framesReceived: 0,
  bytesReceived: 0,
  audioBytesReceived: 0,
  turns: 0,
  interruptions: 0,
  protocolErrors: 0,
  inputFramesDropped: 0,
  playbackBytesDropped: 0,
  setupMillis: undefined,
  reconnects: 0
}

const noop = () => {}

const disabledSession: SessionStatistics = {
  sent: noop,
  received: noop,
  audioReceived: noop,
  turnCompleted: noop,
  interrupted: noop,
  protocolError: noop,
  inputFramesDropped: noop,
  playbackBytesDropped: noop,
  setupCompleted: noop,
  reconnected: noop,
  snapshot: Effect.succeed(disabledSnapshot)
}

const noTags: ReadonlyArray<never> = []

// Per frame: plain counters and `unsafeUpdate`, synchronous and allocation-free.
const makeSession = (): SessionStatistics => {
  const s = { ...disabledSnapshot, enabled: true } as { -readonly [K in keyof Snapshot]: Snapshot[K] }
  return {
    sent: (bytes) => {
      s.framesSent++
      s.bytesSent += bytes
      metrics.framesSent.unsafeUpdate(1, noTags)
      metrics.bytesSent.unsafeUpdate(bytes, noTags)
    },
    received: (bytes) => {
      s.framesReceived++
      s.bytesReceived += bytes
      metrics.framesReceived.unsafeUpdate(1, noTags)
      metrics.bytesReceived.unsafeUpdate(bytes, noTags)
    },
    audioReceived: (bytes) => {
      s.audioBytesReceived += bytes
    },
    turnCompleted: () => {
      s.turns++
      metrics.turns.unsafeUpdate(1, noTags)
    },
    interrupted: () => {
      s.interruptions++
      metrics.interruptions.unsafeUpdate(1, noTags)
    },
    protocolError: () => {
      s.protocolErrors++
      metrics.protocolErrors.unsafeUpdate(1, noTags)
    },
    inputFramesDropped: (count) => {
      s.inputFramesDropped += count
      metrics.audioDropped.unsafeUpdate(count, noTags)
    },
    playbackBytesDropped: (bytes) => {
      s.playbackBytesDropped += bytes
      metrics.audioDropped.unsafeUpdate(1, noTags)
    },
    reconnected: () => {
      s.reconnects++
      metrics.reconnects.unsafeUpdate(1, noTags)
    },
    setupCompleted: (millis) => {
      s.setupMillis = millis
      metrics.sessions.unsafeUpdate(1, noTags)
      metrics.setupTime.unsafeUpdate(Duration.millis(millis), noTags)
    },
    snapshot: Effect.sync(() => ({ ...s }))
  }
}

/**
 * Statistics on: per-session figures and the process-wide metrics.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<Statistics> = Layer.succeed(
  Statistics,
  Statistics.of({ enabled: true, session: Effect.sync(makeSession) })
)

/**
 * Statistics off: nothing is counted, `session.statistics` reports `enabled: false`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerDisabled: Layer.Layer<Statistics> = Layer.succeed(
  Statistics,
  Statistics.of({ enabled: false, session: Effect.succeed(disabledSession) })
)
