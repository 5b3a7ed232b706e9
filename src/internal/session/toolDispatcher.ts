/**
 * Answers the model's function calls with a toolkit: one fiber per call in a FiberMap keyed by the
 * call's id (children of the session's scope), each ending in exactly one `functionResponse` —
 * unless a `toolCallCancellation` interrupts it first, in which case none is sent.
 *
 * Responses go out as each call finishes (not batched): a slow call never holds back a fast one,
 * and a NON_BLOCKING result reaches the model as soon as it exists.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as ParseResult from "effect/ParseResult"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { SessionClosed } from "../../LiveError.js"
import type * as Protocol from "../../Protocol.js"
import type * as Tool from "../../Tool.js"

export interface Dispatcher {
  /** Starts answering these calls (returns at once). */
  readonly onToolCall: (calls: ReadonlyArray<Protocol.FunctionCall>) => Effect.Effect<void>
  /** Interrupts these calls; none of them will be answered. */
  readonly onCancellation: (ids: ReadonlyArray<string>) => Effect.Effect<void>
}

export interface Options<R> {
  readonly toolkit: Tool.Toolkit<R>
  /** Functions the application declared itself (in `connectConfig.tools`): it answers those. */
  readonly manual: ReadonlySet<string>
  readonly context: Context.Context<R>
  readonly respond: (response: Protocol.FunctionResponse) => Effect.Effect<void, SessionClosed>
}

class TimedOut {
  readonly _tag = "TimedOut"
}

/** What the model reads when a call fails. */
const failureMessage = (error: unknown): string => {
  if (error instanceof TimedOut) return "the function timed out"
  if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "InvalidArguments") {
    return `invalid arguments: ${ParseResult.TreeFormatter.formatErrorSync((error as Tool.InvalidArguments).error)}`
  }
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

export const make = <R>(options: Options<R>): Effect.Effect<Dispatcher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const running = yield* FiberMap.make<string>()

    const answer = (call: Protocol.FunctionCall, id: string): Effect.Effect<void> => {
      const tool = options.toolkit.tools.get(call.name)
      const respond = (response: Record<string, unknown>, willContinue?: boolean) =>
        options.respond({
          id,
          name: call.name,
          response,
          ...(tool?.scheduling === undefined ? {} : { scheduling: tool.scheduling }),
          ...(willContinue === undefined ? {} : { willContinue })
        }).pipe(Effect.catchAll((error) => Effect.logDebug(`effect-gemini-live: a function response was not sent: ${error.message}`)))
      const respondFailure = (cause: Cause.Cause<unknown>, willContinue?: boolean) => {
        const failure = Cause.failureOption(cause)
        if (failure._tag === "Some") return respond({ error: failureMessage(failure.value) }, willContinue)
        return Effect.zipRight(
          Effect.logError(`effect-gemini-live: the function "${call.name}" died`, cause),
          respond({ error: "the function failed unexpectedly" }, willContinue)
        )
      }
      if (tool === undefined) return respond({ error: `unknown function "${call.name}"` })
      const limit = <A, E>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(
          Effect.provide(options.context),
          Effect.timeoutFail({ duration: tool.timeout ?? options.toolkit.timeout, onTimeout: () => new TimedOut() }),
          Effect.exit
        )
      if (tool.stream !== undefined) {
        // Each result is sent once the next exists (so the last can say willContinue: false).
        let held: { readonly output: unknown } | undefined
        const results = Stream.runForEach(tool.stream(call.args ?? {}, call), (output) => {
          const previous = held
          held = { output }
          return previous === undefined ? Effect.void : respond({ output: previous.output }, true)
        })
        return Effect.flatMap(limit(results), Exit.match({
          onSuccess: () => respond({ output: held?.output ?? null }, false),
          onFailure: (cause) => respondFailure(cause, false)
        }))
      }
      return Effect.flatMap(limit(tool.call(call.args ?? {}, call)), Exit.match({
        onSuccess: (output) => respond({ output }),
        onFailure: (cause) => respondFailure(cause)
      }))
    }

    return {
      onToolCall: (calls) =>
        Effect.forEach(calls, (call) => {
          if (options.manual.has(call.name) && !options.toolkit.tools.has(call.name)) return Effect.void
          const id = call.id ?? crypto.randomUUID()
          return FiberMap.run(running, id, answer(call, id), { onlyIfMissing: true })
        }, { discard: true }),
      onCancellation: (ids) => Effect.forEach(ids, (id) => FiberMap.remove(running, id), { discard: true })
    }
  })
