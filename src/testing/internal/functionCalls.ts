/**
 * The function calls of a session: which are pending (by id; calls without an id in order), which
 * the server cancelled, and how each response is heard, by its function's behaviour (declared, else
 * the model's default) and its `scheduling`.
 */
import * as Effect from "effect/Effect"
import * as LiveModel from "../../LiveModel.js"
import { normalizeTools, schedulingOf } from "./model.js"
import { startReply, stopReply } from "./reply.js"
import { send } from "./serverMessages.js"
import type { ActiveSession, SessionState } from "./sessionState.js"
import { arrayField, booleanField, field, stringField } from "./wire.js"

/** A function response, matched to its call. */
export interface FunctionResult {
  readonly response: unknown
  /** The call's name (else the response's). */
  readonly name: string | undefined
  readonly behavior: LiveModel.Behavior
  /** It answers a call the server cancelled: the model never hears it. */
  readonly ignored: boolean
}

/** The calls of one session, under its model's rules. */
export interface FunctionCalls {
  /** The tools in force (as the client sent them) changed: each function's behaviour is read again. */
  readonly declare: (tools: ReadonlyArray<unknown>) => void
  /** Notes the calls a server message makes (`toolCall`) or cancels (`toolCallCancellation`). */
  readonly watch: (message: unknown) => void
  /**
   * Matches each function response to its call (by id; one without a known id answers the oldest
   * call). `willContinue: true` keeps the call pending; a response to a cancelled call is ignored.
   */
  readonly answer: (body: unknown) => ReadonlyArray<FunctionResult>
  /** Whether a call is waiting for its response. */
  readonly pending: () => boolean
  /** Cancels the pending BLOCKING calls; returns their ids. */
  readonly cancelBlocking: () => ReadonlyArray<string>
}

/** No calls yet; `rules` are the model's (`undefined`: a model the registry does not know). */
export const makeFunctionCalls = (rules: LiveModel.Rules | undefined): FunctionCalls => {
  /** id -> name (`unnamedCalls`: the names of calls without an id, oldest first). */
  const pendingCalls = new Map<string, string | undefined>()
  const unnamedCalls: Array<string | undefined> = []
  const cancelledCalls = new Set<string>()
  /** The behaviour of each function the tools in force declare, by name. */
  let behaviors: ReadonlyMap<string, LiveModel.Behavior | undefined> = new Map()

  /** As declared in the tools in force, else the model's default (BLOCKING if unknown). */
  const behaviorOf = (name: string | undefined): LiveModel.Behavior =>
    (name === undefined ? undefined : behaviors.get(name)) ?? rules?.defaultBehavior ?? "BLOCKING"

  return {
    declare: (tools) => {
      behaviors = LiveModel.functionBehaviors(rules ?? {}, normalizeTools(tools))
    },
    watch: (message) => {
      for (const call of arrayField(field(message, "toolCall"), "functionCalls")) {
        const id = stringField(call, "id")
        const name = stringField(call, "name")
        if (id === undefined || id === "") unnamedCalls.push(name)
        else pendingCalls.set(id, name)
      }
      for (const id of arrayField(field(message, "toolCallCancellation"), "ids")) {
        if (typeof id === "string" && pendingCalls.delete(id)) cancelledCalls.add(id)
      }
    },
    answer: (body) =>
      arrayField(body, "functionResponses").map((response): FunctionResult => {
        const id = stringField(response, "id")
        const more = booleanField(response, "willContinue")
        let name = stringField(response, "name")
        if (id !== undefined && cancelledCalls.has(id)) return { response, name, behavior: "BLOCKING", ignored: true }
        if (id !== undefined && pendingCalls.has(id)) {
          name = pendingCalls.get(id) ?? name
          if (!more) pendingCalls.delete(id)
        } else if (unnamedCalls.length > 0) {
          name = unnamedCalls[0] ?? name
          if (!more) unnamedCalls.shift()
        } else {
          const oldest = pendingCalls.entries().next()
          if (oldest.done !== true) {
            name ??= oldest.value[1]
            if (!more) pendingCalls.delete(oldest.value[0])
          }
        }
        return { response, name, behavior: behaviorOf(name), ignored: false }
      }),
    pending: () => pendingCalls.size > 0 || unnamedCalls.length > 0,
    cancelBlocking: () => {
      const ids = [...pendingCalls].filter(([, name]) => behaviorOf(name) === "BLOCKING").map(([id]) => id)
      for (const id of ids) {
        pendingCalls.delete(id)
        cancelledCalls.add(id)
      }
      return ids
    }
  }
}

/**
 * Vertex AI 3.8 (`inputCancelsBlockingCalls`): new input while BLOCKING calls are pending
 * cancels them (`toolCallCancellation`); their responses are ignored from then on.
 */
export const cancelBlockingCalls = (s: SessionState, session: ActiveSession) =>
  Effect.suspend(() => {
    if (session.check?.rules.inputCancelsBlockingCalls !== true) return Effect.void
    const ids = session.calls.cancelBlocking()
    if (ids.length === 0) return Effect.void
    return send(s, { toolCallCancellation: { ids } })
  })

/**
 * The model says what the functions returned: as a new reply after the current one (BLOCKING,
 * NON_BLOCKING `WHEN_IDLE`), after stopping the current one (`INTERRUPT`), or not at all
 * (`SILENT`, or a response to a cancelled call).
 */
export const onToolResponse = (s: SessionState, session: ActiveSession, results: ReadonlyArray<FunctionResult>) =>
  Effect.gen(function*() {
    const heard = results.filter((result) =>
      !result.ignored && (result.behavior === "BLOCKING" || schedulingOf(result.response) !== "SILENT")
    )
    if (heard.length === 0) return
    if (heard.some((result) => result.behavior === "NON_BLOCKING" && schedulingOf(result.response) === "INTERRUPT")) {
      yield* stopReply(s, session)
    }
    const said = heard.map((result) =>
      `${stringField(result.response, "name") ?? result.name ?? "the function"} returned ${
        JSON.stringify(field(result.response, "response") ?? {})
      }`
    )
    yield* startReply(s, [{ _tag: "Say", text: `${said.join("; ")}.`, turnComplete: true }])
  })
