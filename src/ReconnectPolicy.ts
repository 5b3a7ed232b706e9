/**
 * What a session does when its connection ends unasked. The Live API ends connections after about
 * ten minutes (`goAway`, then 1011) and drops some mid-session; with a policy (the default) the
 * session reconnects with its resumption handle and goes on, one `events` stream, no send lost.
 *
 * | close | default policy | why |
 * |---|---|---|
 * | 1000 | end | a normal end, by either side |
 * | 1001, 1005, 1006, 1011, 1012, 1013, 1014 | reconnect with the handle | transient |
 * | 1007 (invalid argument) | end, `ServerClosed` | would be refused again: retrying only loops |
 * | 1008 (model not found, no permission) | end, `ServerClosed` (with a hint) | retrying cannot fix it |
 * | anything else | end, `ServerClosed` | unknown: do not guess |
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { isRetryableCloseCode } from "./LiveError.js"
import type { CloseInfo } from "./Transport.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface ReconnectPolicy {
  /** Whether an unexpected close is worth a new connection. */
  readonly retryable: (close: CloseInfo) => boolean
  /**
   * The waits between consecutive failures (a failed connect, or a connection lost before
   * `stableAfter`); when it ends, the session ends.
   */
  readonly schedule: Schedule.Schedule<unknown, unknown>
  /** A connection that lived this long resets the schedule; its loss is retried at once. */
  readonly stableAfter: Duration.Duration
  /** How long before `goAway`'s deadline the handover must have happened. */
  readonly handoverMargin: Duration.Duration
}

/**
 * The default: retry transient closes (see the table) with exponential backoff from 250 ms,
 * doubling, jittered, capped at 10 s, at most 5 consecutive failures; 60 s of stability resets it.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultPolicy: ReconnectPolicy = {
  retryable: (close) => isRetryableCloseCode(close.code),
  schedule: Schedule.exponential("250 millis", 2).pipe(
    Schedule.union(Schedule.spaced("10 seconds")),
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(5))
  ),
  stableAfter: Duration.seconds(60),
  handoverMargin: Duration.seconds(5)
}

/**
 * The default policy with other pieces.
 *
 * @example
 * ```ts
 * // At most 3 consecutive failures, 2 s apart; a connection that lived 30 s resets the count.
 * ReconnectPolicy.make({
 *   schedule: Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(3))),
 *   stableAfter: "30 seconds"
 * })
 * ```
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: {
  readonly retryable?: ReconnectPolicy["retryable"]
  readonly schedule?: ReconnectPolicy["schedule"]
  readonly stableAfter?: Duration.DurationInput
  readonly handoverMargin?: Duration.DurationInput
}): ReconnectPolicy => ({
  retryable: options.retryable ?? defaultPolicy.retryable,
  schedule: options.schedule ?? defaultPolicy.schedule,
  stableAfter: options.stableAfter === undefined ? defaultPolicy.stableAfter : Duration.decode(options.stableAfter),
  handoverMargin: options.handoverMargin === undefined ? defaultPolicy.handoverMargin : Duration.decode(options.handoverMargin)
})
