/**
 * Routes the model's audio as events arrive: into the playback buffer (`session.audio`), numbered
 * by model turn, framed by `MediaStarted` / `MediaEnded` (VoxEngine's rule: media ends after 1 s
 * without model audio), and cleared on barge-in (`Interrupted`).
 *
 * Routing is synchronous: only a full playback buffer that is being read gives the session
 * something to wait on (`pending`). The media timer is a `setTimeout` on the live clock (no fiber
 * while the model speaks), a fiber on any other clock (a `TestClock`).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as LiveEvent from "../../LiveEvent.js"
import type { AudioChunk } from "../../LiveSession.js"
import { durationMillis, OUTPUT_FORMAT } from "./format.js"
import type { Playback } from "./playback.js"

/** `effect` after `pending`. */
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

/** The clock of the default services: time that a `setTimeout` keeps. */
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

export interface Options {
  readonly playback: Playback
  /** Where `MediaEnded` goes (it is timed, so it goes out on its own: `offer`, any wait not waited for). */
  readonly hub: { offer(events: ReadonlyArray<LiveEvent.LiveEvent>): unknown }
  /** The session's scope: the media timer (or, on another clock, its fiber) ends with it. */
  readonly scope: Scope.Scope
  /** The session's clock (the media timer's too). */
  readonly clock: Clock.Clock
  readonly playbackBytesDropped: (bytes: number) => void
}

/** Makes the routing of a session; its media timer stops with `scope`. */
export const make = (options: Options): Effect.Effect<ModelAudio> =>
  Effect.suspend(() => {
    const audio = new ModelAudio(options)
    return Effect.as(Scope.addFinalizer(options.scope, Effect.sync(() => audio.stop())), audio)
  })

/** A timer's callback: one function for every session (the session is the timer's argument). */
const onTimeout = (audio: ModelAudio) => audio.onTimeout()

/** The routing of one session (a class: its methods on the prototype, not in closures per session). */
export class ModelAudio {
  private turn = 0
  private media: { readonly turn: number; bytes: number; lastAt: number } | undefined
  private reportedDrops = 0
  /** The media timer, on the live clock, while a stretch lasts. */
  private timeout: ReturnType<typeof setTimeout> | undefined
  private stopped = false

  constructor(private readonly options: Options) {}

  /** Routes one server message's events now, up to the first one that has to wait (see `Routed`). */
  route(events: ReadonlyArray<LiveEvent.LiveEvent>): Routed {
    const { clock, playback } = this.options
    /** Media events, before the message's own. */
    let mediaEvents: Array<LiveEvent.LiveEvent> | undefined
    let pending: Effect.Effect<void> | undefined
    /** Once a push has to wait, what follows it in the playback buffer waits behind it. */
    let blocked = false
    for (const event of events) {
      if (event._tag === "AudioDelta") {
        const now = clock.unsafeCurrentTimeMillis()
        if (this.media !== undefined && now - this.media.lastAt > mediaEndMillis) {
          // The stretch should have ended and its timer did not say so (its fork was lost with an
          // interrupted reader, or the loop was too busy): end it here, then start anew.
          mediaEvents = [this.endMedia()]
        }
        let media = this.media
        if (media === undefined) {
          media = this.media = { turn: this.turn, bytes: 0, lastAt: now }
          mediaEvents = [...(mediaEvents ?? []), LiveEvent.MediaStarted({ turn: this.turn })]
          const starting = this.startMediaTimer()
          if (starting !== undefined) pending = andThen(pending, starting)
        }
        media.bytes += event.data.byteLength
        media.lastAt = now
        const chunk: AudioChunk = { data: event.data, sampleRate: event.sampleRate, turn: this.turn }
        if (blocked || !playback.offer(chunk)) {
          blocked = true
          pending = andThen(pending, playback.push(chunk))
        }
      } else if (event._tag === "Interrupted") {
        if (blocked) pending = andThen(pending, Effect.asVoid(playback.clear))
        else playback.clearNow()
      } else if (event._tag === "TurnComplete") {
        this.turn++
      }
    }
    if (blocked) pending = andThen(pending, Effect.sync(() => this.reportDrops()))
    else this.reportDrops()
    return { events: mediaEvents === undefined ? events : [...mediaEvents, ...events], pending }
  }

  /** Stops the media timer for good (the session's scope closes). */
  stop(): void {
    this.stopped = true
    if (this.timeout !== undefined) clearTimeout(this.timeout)
    this.timeout = undefined
  }

  /** The live clock's timer fired: the stretch ends, or the timer waits for what is left. */
  onTimeout(): void {
    this.timeout = undefined
    const wait = this.checkMediaEnd()
    if (wait !== undefined) this.startTimeout(wait)
  }

  /** Ends the current stretch of audio: its `MediaEnded`. */
  private endMedia(): LiveEvent.LiveEvent {
    const ended = this.media!
    this.media = undefined
    return LiveEvent.MediaEnded({ turn: ended.turn, durationMillis: durationMillis(OUTPUT_FORMAT, ended.bytes) })
  }

  /** Ends the stretch if it has been `mediaEndMillis` without audio; otherwise how long is left. */
  private checkMediaEnd(): number | undefined {
    if (this.media === undefined || this.stopped) return undefined
    const wait = this.media.lastAt + mediaEndMillis - this.options.clock.unsafeCurrentTimeMillis()
    if (wait > 0) return wait
    this.options.hub.offer([this.endMedia()])
    return undefined
  }

  private startTimeout(millis: number): void {
    this.timeout = setTimeout(onTimeout, millis, this)
    // A media timer alone does not keep the process alive.
    this.timeout.unref()
  }

  /** The media timer of any other clock: a fiber, sleeping on that clock. */
  private mediaEndOnClock(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const wait = this.checkMediaEnd()
      return wait === undefined ? Effect.void : Effect.zipRight(this.options.clock.sleep(Duration.millis(wait)), this.mediaEndOnClock())
    })
  }

  /** Starts the media timer of a new stretch: at once on the live clock, or what `pending` must run. */
  private startMediaTimer(): Effect.Effect<void> | undefined {
    if (this.stopped) return undefined
    if (this.options.clock !== liveClock) return Effect.asVoid(Effect.forkIn(this.mediaEndOnClock(), this.options.scope))
    if (this.timeout === undefined) this.startTimeout(mediaEndMillis)
    return undefined
  }

  private reportDrops(): void {
    const dropped = this.options.playback.droppedBytes()
    if (dropped > this.reportedDrops) {
      this.options.playbackBytesDropped(dropped - this.reportedDrops)
      this.reportedDrops = dropped
    }
  }
}
