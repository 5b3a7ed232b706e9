/**
 * Function calls in flight, across connections: which are pending, which the server cancels on new
 * input (`LiveModel.Rules.inputCancelsBlockingCalls`), and which the session cancelled itself (their
 * responses are not sent).
 */
import * as Effect from "effect/Effect"
import * as LiveEvent from "../../LiveEvent.js"
import * as LiveModel from "../../LiveModel.js"
import type * as Protocol from "../../Protocol.js"
import type { Session } from "./session.js"

/** The session's calls; each set is made at its first member. */
export class Calls {
  pending: Set<string> | undefined
  /** BLOCKING calls, on a model whose server cancels them on new input. */
  blocking: Set<string> | undefined
  /** Calls the session cancelled: a lost connection (the resumed conversation never made them) or new input. */
  voided: Set<string> | undefined

  pendingCount(): number {
    return this.pending === undefined ? 0 : this.pending.size
  }

  hasBlocking(): boolean {
    return this.blocking !== undefined && this.blocking.size > 0
  }

  isVoided(id: string | undefined): boolean {
    return id !== undefined && this.voided !== undefined && this.voided.has(id)
  }

  /** A call is over: answered, or cancelled by the server. */
  done(id: string): void {
    this.pending?.delete(id)
    this.blocking?.delete(id)
  }
}

export const make = (): Calls => new Calls()

/** The model's function calls, now in flight. */
export const called = (session: Session, calls: ReadonlyArray<Protocol.FunctionCall>): void => {
  const model = session.model
  for (const call of calls) {
    if (call.id === undefined) continue
    ;(session.calls.pending ??= new Set()).add(call.id)
    if (model?.rules.inputCancelsBlockingCalls === true && behaviorOf(session, model, call.name) === "BLOCKING") {
      ;(session.calls.blocking ??= new Set()).add(call.id)
    }
  }
}

/** Responses were sent: their calls are over (unless more is to come, `willContinue`). */
export const answered = (session: Session, responses: ReadonlyArray<Protocol.FunctionResponse>): void => {
  for (const response of responses) {
    if (response.id !== undefined && response.willContinue !== true) session.calls.done(response.id)
  }
}

/**
 * Calls that will not be answered: their handlers are interrupted, their responses not sent, and
 * readers told (without waiting for room: a send may cancel calls from a reader's own handler).
 */
export const cancel = (session: Session, ids: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (ids.length === 0) return Effect.void
    const calls = session.calls
    for (const id of ids) {
      calls.done(id)
      ;(calls.voided ??= new Set()).add(id)
    }
    session.hub.offer([LiveEvent.ToolCallCancellation({ ids })])
    return session.dispatcher?.onCancellation(ids) ?? Effect.void
  })

/** A lost connection voids the calls in flight: the resumed conversation predates them. */
export const voidPending = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => {
    session.generating = false
    const pending = session.calls.pending
    return pending === undefined ? Effect.void : cancel(session, [...pending])
  })

/** New input cancels the BLOCKING calls in flight, as the server does. */
export const cancelBlocking = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => (session.calls.hasBlocking() ? cancel(session, [...session.calls.blocking!]) : Effect.void))

/** Without the cancellations the session already reported: a call is not cancelled twice. */
export const withoutVoided = (
  session: Session,
  events: ReadonlyArray<LiveEvent.LiveEvent>
): ReadonlyArray<LiveEvent.LiveEvent> => {
  const calls = session.calls
  if (calls.voided === undefined) return events
  return events.flatMap((event): ReadonlyArray<LiveEvent.LiveEvent> => {
    if (event._tag !== "ToolCallCancellation") return [event]
    const ids = event.ids.filter((id) => !calls.isVoided(id))
    return ids.length === 0 ? [] : ids.length === event.ids.length ? [event] : [LiveEvent.ToolCallCancellation({ ids })]
  })
}

/** A function's behaviour: as declared in the setup (or a context update), else the model's default. */
const behaviorOf = (session: Session, model: LiveModel.Check, name: string): LiveModel.Behavior | undefined =>
  LiveModel.functionBehaviors(model.rules, session.linkSetup.tools as ReadonlyArray<unknown> | undefined).get(name) ??
    model.rules.defaultBehavior

/**
 * Whether the server says it detected the user's speech (new input, for `inputCancelsBlockingCalls`).
 * Not a transcription: it may trail the speech that caused the call.
 */
export const userSpeaks = (events: ReadonlyArray<LiveEvent.LiveEvent>): boolean =>
  events.some((event) => event._tag === "VoiceActivity" && (event.type === "ACTIVITY_START" || event.type === "VAD_SIGNAL_TYPE_SOS"))

/** The names of the functions `tools` declare. */
export const functionNames = (tools: ReadonlyArray<Readonly<Record<string, unknown>>> | undefined): ReadonlyArray<string> =>
  (tools ?? []).flatMap((tool) =>
    ((Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : []) as ReadonlyArray<{ readonly name?: unknown }>)
      .flatMap((declaration) => (typeof declaration?.name === "string" ? [declaration.name] : []))
  )
