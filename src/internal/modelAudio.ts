/**
 * Routes the model's audio as events arrive: into the playback buffer (`session.audio`), numbered
 * by model turn, framed by `MediaStarted` / `MediaEnded` (VoxEngine's rule: media ends after 1 s
 * without model audio), and cleared on barge-in (`Interrupted`).
 *
 * Routing is synchronous (it runs for every audio message): only a full playback buffer that is
 * being read gives the session something to wait on, and, on a clock other than the live one, the
 * start of the media timer.
 *
 * The media timer is a plain `setTimeout` on the live clock: a session speaking holds no fiber for
 * it. On any other clock (a `TestClock`) it is a fiber sleeping on that clock, started through the
 * routing's `pending`. `MediaEnded` is handed to the readers when the timer fires; a full reader
 * buffer does not hold it back (one event per stretch of speech).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Audio from "../Audio.js"
import * as LiveEvent from "../LiveEvent.js"
import type { AudioChunk } from "../LiveSession.js"
import type { Playback } from "./playback.js"

/**
 * `effect` after `pending`. (A module-level function, not a closure per message: under tsx each
 * named closure costs a `defineProperty` for its name.)
 */
const andThen = (pending: Effect.Effect<void> | undefined, effect: Effect.Effect<void>) =>
  pending === undefined ? effect : Effect.zipRight(pending, effect)

/** How long without model audio ends a stretch of speech. */
export const mediaEndMillis = 1000

/** One message's events, routed. */
export interface Routed {
  /** The events to publish: the message's, with `MediaStarted` in front when speech starts. */
  readonly events: ReadonlyArray<LiveEvent.LiveEvent>
  /** What must complete before they are published, in order (`undefined`, usually: nothing). */
  readonly pending: Effect.Effect<void> | undefined
}

export interface ModelAudio {
  /** Routes one server message's events now, up to the first one that has to wait (see `Routed`). */
  readonly route: (events: ReadonlyArray<LiveEvent.LiveEvent>) => Routed
}

/** The clock of the default services: time that a `setTimeout` keeps. */
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

export interface Options {
  readonly playback: Playback
  /** Hands `MediaEnded` to the readers (it is timed, so it goes out on its own; any wait is not waited for). */
  readonly offer: (events: ReadonlyArray<LiveEvent.LiveEvent>) => unknown
  /** The session's scope: the media timer (or, on another clock, its fiber) ends with it. */
  readonly scope: Scope.Scope
  /** The session's clock (the media timer's too). */
  readonly clock: Clock.Clock
  readonly playbackBytesDropped: (bytes: number) => void
}

/** Makes the routing of a session; its media timer stops with `scope`. */
export const make = (options: Options): Effect.Effect<ModelAudio> =>
  Effect.suspend(() => {
    const audio = makeRouting(options)
    return Effect.as(Scope.addFinalizer(options.scope, Effect.sync(audio.stop)), audio)
  })

const makeRouting = (options: Options): ModelAudio & { readonly stop: () => void } => {
  const { clock, playback } = options
  let turn = 0
  let media: { readonly turn: number; bytes: number; lastAt: number } | undefined
  let reportedDrops = 0
  /** The media timer, on the live clock, while a stretch lasts. */
  let timeout: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  /** Ends the current stretch of audio: its `MediaEnded`. */
  const endMedia = (): LiveEvent.LiveEvent => {
    const ended = media!
    media = undefined
    return LiveEvent.MediaEnded({ turn: ended.turn, durationMillis: Audio.durationMillis(Audio.OUTPUT_FORMAT, ended.bytes) })
  }

  /** Ends the stretch if it has been `mediaEndMillis` without audio; otherwise how long is left. */
  const checkMediaEnd = (): number | undefined => {
    if (media === undefined || stopped) return undefined
    const wait = media.lastAt + mediaEndMillis - clock.unsafeCurrentTimeMillis()
    if (wait > 0) return wait
    options.offer([endMedia()])
    return undefined
  }

  const onTimeout = () => {
    timeout = undefined
    const wait = checkMediaEnd()
    if (wait !== undefined) startTimeout(wait)
  }
  const startTimeout = (millis: number) => {
    timeout = setTimeout(onTimeout, millis)
    // A media timer alone does not keep the process alive.
    timeout.unref()
  }

  /** The media timer of any other clock: a fiber, sleeping on that clock. */
  const mediaEndOnClock: Effect.Effect<void> = Effect.suspend(() => {
    const wait = checkMediaEnd()
    return wait === undefined ? Effect.void : Effect.zipRight(clock.sleep(Duration.millis(wait)), mediaEndOnClock)
  })

  /** Starts the media timer of a new stretch: at once on the live clock, or what `pending` must run. */
  const startMediaTimer = (): Effect.Effect<void> | undefined => {
    if (stopped) return undefined
    if (clock !== liveClock) return Effect.asVoid(Effect.forkIn(mediaEndOnClock, options.scope))
    if (timeout === undefined) startTimeout(mediaEndMillis)
    return undefined
  }

  const stop = () => {
    stopped = true
    if (timeout !== undefined) clearTimeout(timeout)
    timeout = undefined
  }

  const reportDrops = () => {
    const dropped = playback.droppedBytes()
    if (dropped > reportedDrops) {
      options.playbackBytesDropped(dropped - reportedDrops)
      reportedDrops = dropped
    }
  }

  const route = (events: ReadonlyArray<LiveEvent.LiveEvent>): Routed => {
    /** Media events, before the message's own. */
    let mediaEvents: Array<LiveEvent.LiveEvent> | undefined
    let pending: Effect.Effect<void> | undefined
    /** Once a push has to wait, what follows it in the playback buffer waits behind it. */
    let blocked = false
    for (const event of events) {
      if (event._tag === "AudioDelta") {
        const now = clock.unsafeCurrentTimeMillis()
        if (media !== undefined && now - media.lastAt > mediaEndMillis) {
          // The stretch should have ended and its timer did not say so (its fork was lost with an
          // interrupted reader, or the loop was too busy): end it here, then start anew.
          mediaEvents = [endMedia()]
        }
        if (media === undefined) {
          media = { turn, bytes: 0, lastAt: now }
          mediaEvents = [...(mediaEvents ?? []), LiveEvent.MediaStarted({ turn })]
          const starting = startMediaTimer()
          if (starting !== undefined) pending = andThen(pending, starting)
        }
        media.bytes += event.data.byteLength
        media.lastAt = now
        const chunk: AudioChunk = { data: event.data, sampleRate: event.sampleRate, turn }
        if (blocked || !playback.offer(chunk)) {
          blocked = true
          pending = andThen(pending, playback.push(chunk))
        }
      } else if (event._tag === "Interrupted") {
        if (blocked) pending = andThen(pending, Effect.asVoid(playback.clear))
        else playback.clearNow()
      } else if (event._tag === "TurnComplete") {
        turn++
      }
    }
    if (blocked) pending = andThen(pending, Effect.sync(reportDrops))
    else reportDrops()
    return { events: mediaEvents === undefined ? events : [...mediaEvents, ...events], pending }
  }

  return { route, stop }
}
