/**
 * What a session does when its connection ends without being asked to: a value you can replace.
 *
 * The Live API closes every connection after about ten minutes (a `goAway` first, then close 1011
 * "Deadline expired…"), and drops connections mid-session (1011 "Internal error", 1006). A session
 * with a policy (the default) survives both: it opens a new connection with the latest session
 * resumption handle and goes on — one `events` stream, no send lost. A close the policy does not
 * retry ends the session.
 *
 * | close | default policy | why |
 * |---|---|---|
 * | 1000 by this client | end | the application closed the session |
 * | 1000 by the server | end | a normal end |
 * | 1001, 1005, 1006 (dropped), 1011 (internal error, deadline), 1012, 1013, 1014 | reconnect with the handle | transient: a new connection usually works |
 * | 1007 (invalid argument) | end, `ServerClosed` | the same setup and context would be refused again: retrying only loops (LiveKit's 1007 storm) |
 * | 1008 (policy: model not found, no permission) | end, `ServerClosed` (with a model/backend hint) | retrying cannot fix it |
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
   * The waits between consecutive failures: a failed connect, or a connection that died before
   * `stableAfter` (the next attempt waits: no storm against a server that accepts and drops). When
   * the schedule ends, the session ends.
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
 * @category Policies
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
