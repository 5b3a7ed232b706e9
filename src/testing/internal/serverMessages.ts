/**
 * Every server message of a session goes out here. With `sessionResumption`, `send` says
 * `{"resumable": false}` before the first model output of a turn (or a `toolCall`) and issues a new
 * handle after each `turnComplete` with no function call pending; with extended thinking it adds
 * `interactionStatus`. `end` closes the connection as the service would.
 */
import * as Effect from "effect/Effect"
import * as LiveModel from "../../LiveModel.js"
import type { ConversationState } from "./resumption.js"
import { type ActiveSession, coveredNow, SessionEnded, type SessionState } from "./sessionState.js"
import { booleanField, encodeServerMessage, field, type Rejection, rejection } from "./wire.js"

/** What a hook that throws makes the session answer (the service's own internal error). */
const internalError = rejection(1011, "Internal error encountered.")

/** Close codes a WebSocket peer may send (`ws` throws on the others; 1005/1006 are never sent). */
const isSendableCloseCode = (code: number): boolean =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)

/** Runs `effect` until the connection closes (then fails with `SessionEnded`). */
export const untilClosed = <A, E, R>(s: SessionState, effect: Effect.Effect<A, E, R>) =>
  Effect.raceFirst(effect, Effect.zipRight(s.connection.closed, Effect.fail(new SessionEnded())))

/** A stalled session sends nothing more: whatever would, waits until the connection closes. */
export const whileStalled = (s: SessionState) => untilClosed(s, Effect.never)

/** Sends a server message as it is, and records it. */
export const sendRaw = (s: SessionState, message: unknown): Effect.Effect<void, SessionEnded> =>
  s.stalled ? whileStalled(s) : s.connection.send(encodeServerMessage(message)).pipe(
    Effect.tap(() => s.record.server(message)),
    Effect.mapError(() => new SessionEnded())
  )

/** The last client message of this connection whose effect is in the conversation state. */
const consumedIndex = (s: SessionState) =>
  s.audioTurnStart === undefined ? s.handledIndex : Math.min(s.handledIndex, s.audioTurnStart - 1)

/**
 * The state a handle names. On the Gemini API it covers the user's side up to the input the latest
 * reply answered (`s.covered`): what the client sent after that is not in it. Vertex AI's covers all.
 */
const snapshot = (s: SessionState, { setup, usage }: ActiveSession): ConversationState => ({
  sessionKey: s.sessionKey,
  backend: s.request.route.backend,
  model: LiveModel.nameOf(setup.model),
  ...(s.request.route.backend === "GeminiAPI" ? s.covered : coveredNow(s)),
  usage: usage.context(),
  started: s.started,
  consumedClientMessages: s.consumedBefore + Math.max(0, consumedIndex(s))
})

const resumptionUpdate = (s: SessionState, session: ActiveSession, update: Record<string, unknown>) => ({
  sessionResumptionUpdate: session.setup.resumption?.transparent
    ? { ...update, lastConsumedClientMessageIndex: String(consumedIndex(s)) }
    : update
})

/** A safe point: a new handle for the conversation as it is now. */
export const issueHandle = (s: SessionState, session: ActiveSession) =>
  Effect.gen(function*() {
    const handle = yield* s.config.resumption.issue(snapshot(s, session))
    s.notResumableSent = false
    yield* sendRaw(s, resumptionUpdate(s, session, { newHandle: handle, resumable: true }))
  })

/** Whether a server message is the model generating: model output, or a function call. */
const generates = (message: unknown): boolean => {
  if (field(message, "toolCall") !== undefined) return true
  const content = field(message, "serverContent")
  return field(content, "modelTurn") !== undefined || field(content, "outputTranscription") !== undefined ||
    booleanField(content, "generationComplete")
}

/** Sends a server message, with the resumption updates and `interactionStatus` it calls for. */
export const send = (s: SessionState, message: unknown): Effect.Effect<void, SessionEnded> =>
  Effect.suspend(() => {
    const session = s.active
    if (session === undefined) return sendRaw(s, message)
    return Effect.gen(function*() {
      const generating = generates(message)
      const turnComplete = booleanField(field(message, "serverContent"), "turnComplete")
      const resumption = session.setup.resumption !== undefined
      if (resumption && !s.notResumableSent && generating) {
        s.notResumableSent = true
        yield* sendRaw(s, resumptionUpdate(s, session, { resumable: false }))
      }
      // Extended thinking: each reply opens IN_PROGRESS and is IDLE again before its turnComplete.
      if (session.check?.rules.reportsInteractionStatus === true) {
        if (generating && !s.interactionOpen) {
          s.interactionOpen = true
          yield* sendRaw(s, { serverContent: { interactionStatus: "IN_PROGRESS" } })
        }
        if (turnComplete && s.interactionOpen) {
          s.interactionOpen = false
          yield* sendRaw(s, { serverContent: { interactionStatus: "IDLE" } })
        }
      }
      yield* sendRaw(s, message)
      if (generating) s.started = true
      session.calls.watch(message)
      if (resumption && turnComplete && !session.calls.pending() && s.repliesStarting === 0) {
        yield* issueHandle(s, session)
      }
    })
  })

/** Ends the session with a close frame (or a drop, for a code no peer may send). */
export const end = (s: SessionState, close: Rejection): Effect.Effect<never, SessionEnded> =>
  s.stalled ? whileStalled(s) : Effect.zipRight(
    isSendableCloseCode(close.code)
      ? s.connection.close(close.code, rejection(close.code, close.reason).reason)
      : s.connection.terminate,
    Effect.fail(new SessionEnded())
  )

/** Calls a user hook; a hook that throws ends the session like a server fault. */
export const hook = <A>(s: SessionState, call: () => A): Effect.Effect<A, SessionEnded> =>
  Effect.catchAll(Effect.try(call), () => end(s, internalError))
