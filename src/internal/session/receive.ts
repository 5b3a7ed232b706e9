/**
 * Receiving: each link's frames, as they arrive (in the socket's callback), decoded into events
 * into the session's one hub; what must wait (a full buffer, a tool call, a handover) is given back.
 *
 *   frame ─> Protocol.decodeServerMessage ─> Backend quirks ─> LiveEvent.fromServerMessage ─> hub
 *                                                               └─ AudioDelta ─> playback (session.audio)
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as LiveEvent from "../../LiveEvent.js"
import * as Protocol from "../../Protocol.js"
import type * as Statistics from "../../Statistics.js"
import type * as Transport from "../../Transport.js"
import * as AudioBytes from "../codec/audioBytes.js"
import * as Calls from "./calls.js"
import type { Link } from "./link.js"
import * as Resumption from "./resumption.js"
import type { Session } from "./session.js"

/** What the supervisor does on a `goAway` of the current link. */
export type OnGoAway = (session: Session, link: Link, timeLeft: Duration.Duration) => Effect.Effect<void>

/**
 * Handles one frame synchronously, up to the first thing that has to wait; gives back that wait, in
 * order, or `undefined` (usually): the next frame can be handled at once.
 */
export const handleFrame = (
  session: Session,
  link: Link,
  frame: Transport.Frame,
  onGoAway: OnGoAway
): Effect.Effect<void> | undefined => {
  const { hub, statistics, trace } = session
  if (session.countBytes) statistics.received(typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength)
  if (trace?.enabled) trace.received(frame)
  const decoded = Protocol.decodeServerMessage(frame, session.onDropped)
  const dropped = session.dropped
  session.dropped = undefined
  if (Either.isLeft(decoded)) {
    statistics.protocolError()
    return hub.offer([LiveEvent.Unknown({ message: frameText(frame), error: decoded.left })])
  }
  // The frame's memory takes the audio when nothing else will read it (a custom trace might keep it).
  AudioBytes.decodeInPlace(decoded.right, link.ownsFrames && trace?.enabled !== true && typeof frame !== "string" ? frame : undefined)
  const message = session.quirks.incoming(decoded.right)
  let events = LiveEvent.fromServerMessage(message)
  observe(session, link, message, events)
  // A reconnection's setupComplete: users see Reconnected instead.
  if (message.setupComplete !== undefined && link.index > 0) events = events.filter((event) => event._tag !== "SetupComplete")
  if (message.toolCallCancellation !== undefined) events = Calls.withoutVoided(session, events)
  if (session.countBytes) record(statistics, events)
  let effect: Effect.Effect<void> | undefined = dropped === undefined
    ? undefined
    : Effect.forEach(dropped, (error) => Effect.logWarning(`effect-gemini-live: ${error.description}`), { discard: true })
  let delivered: Effect.Effect<void> | undefined
  if (message.serverContent === undefined) {
    delivered = hub.offer(events)
  } else {
    const routed = session.modelAudio.route(events)
    delivered = routed.pending === undefined ? hub.offer(routed.events) : Effect.zipRight(routed.pending, hub.publish(routed.events))
  }
  effect = effect === undefined ? delivered : delivered === undefined ? effect : Effect.zipRight(effect, delivered)
  if (message.goAway !== undefined && isCurrent(session, link) && session.policy !== undefined) {
    effect = Effect.zipRight(effect ?? Effect.void, onGoAway(session, link, parseDuration(message.goAway.timeLeft)))
  }
  if (session.calls.hasBlocking() && Calls.userSpeaks(events)) {
    effect = Effect.zipRight(effect ?? Effect.void, Calls.cancelBlocking(session))
  }
  const dispatcher = session.dispatcher
  if (dispatcher !== undefined && (message.toolCall !== undefined || message.toolCallCancellation !== undefined)) {
    const calls = message.toolCall?.functionCalls
    const cancelled = message.toolCallCancellation?.ids
    effect = (effect ?? Effect.void).pipe(
      Effect.zipRight(calls === undefined ? Effect.void : dispatcher.onToolCall(calls)),
      Effect.zipRight(cancelled === undefined ? Effect.void : dispatcher.onCancellation(cancelled))
    )
  }
  return effect
}

const isCurrent = (session: Session, link: Link): boolean => session.state._tag === "Active" && session.state.link === link

/** What a message tells the session: setup done, a handle, generation, function calls. */
const observe = (
  session: Session,
  link: Link,
  message: Protocol.ServerMessage,
  events: ReadonlyArray<LiveEvent.LiveEvent>
): void => {
  if (message.setupComplete !== undefined && link.setupDone !== undefined) {
    Deferred.unsafeDone(link.setupDone, Exit.succeed(message.setupComplete.sessionId))
  }
  const update = message.sessionResumptionUpdate
  if (update !== undefined) {
    if (isCurrent(session, link)) Resumption.applyUpdate(session, link, update)
    else link.heldUpdates.push(update)
  }
  for (const event of events) {
    switch (event._tag) {
      case "AudioDelta":
      case "TextDelta":
        session.generating = true
        session.started = true
        session.handleFresh = false
        outputWhileSwitching(session, link)
        break
      case "TurnComplete":
      case "Interrupted":
        session.generating = false
        break
      case "ToolCall":
        session.started = true
        Calls.called(session, event.functionCalls)
        outputWhileSwitching(session, link)
        break
      case "ToolCallCancellation":
        for (const id of event.ids) session.calls.done(id)
        break
    }
  }
}

/** The model spoke on the link a handover is leaving: the conversation moved past the handle. */
const outputWhileSwitching = (session: Session, link: Link): void => {
  const state = session.state
  if (state._tag === "Switching" && state.from === link) state.outputSeen = true
}

/** A proto Duration such as "50s" or "0.5s"; unknown forms count as 60 s (what the service announces). */
const parseDuration = (value: string | undefined): Duration.Duration => {
  const match = value === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(value)
  return match === null ? Duration.seconds(60) : Duration.millis(Math.round(Number(match[1]) * 1000))
}

const record = (statistics: Statistics.SessionStatistics, events: ReadonlyArray<LiveEvent.LiveEvent>) => {
  for (const event of events) {
    if (event._tag === "AudioDelta") statistics.audioReceived(event.data.byteLength)
    else if (event._tag === "TurnComplete") statistics.turnCompleted()
    else if (event._tag === "Interrupted") statistics.interrupted()
  }
}

const textDecoder = new TextDecoder()
const frameText = (frame: Transport.Frame): string => (typeof frame === "string" ? frame : textDecoder.decode(frame))
