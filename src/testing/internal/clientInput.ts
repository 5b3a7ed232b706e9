/**
 * The client's messages: which kind each is (exactly one known field, whose own fields are known),
 * and what the ones after `setup` do. A message the model refuses closes the connection; otherwise
 * the script's `onMessage` may replace the emulator's own handling.
 */
import * as Effect from "effect/Effect"
import { cancelBlockingCalls, onToolResponse } from "./functionCalls.js"
import { refusal } from "./model.js"
import { onRealtimeInput } from "./realtimeInput.js"
import { answerTurn, bargeIn, startReply, stopReply } from "./reply.js"
import { end, hook } from "./serverMessages.js"
import type { ActiveSession, SessionState } from "./sessionState.js"
import { contentText } from "./setup.js"
import {
  arrayField,
  booleanField,
  camelCase,
  field,
  invalidArgument,
  invalidJson,
  isObject,
  type JsonObject,
  type Rejection,
  snakeCase,
  stringField,
  unknownField
} from "./wire.js"

/**
 * The client message kinds (`BidiGenerateContentClientMessage.message_type`) and their fields.
 * `setup` is checked by `parseSetup`.
 */
const messageFields: ReadonlyMap<string, ReadonlySet<string> | undefined> = new Map([
  ["setup", undefined],
  ["clientContent", new Set(["turns", "turnComplete"])],
  [
    "realtimeInput",
    new Set(["mediaChunks", "audio", "video", "text", "activityStart", "activityEnd", "audioStreamEnd"])
  ],
  ["toolResponse", new Set(["functionResponses"])],
  ["contextUpdate", new Set(["systemInstruction", "tools"])]
])

/** Reads which message a client object is, or the close its fields call for. */
export const messageKind = (message: JsonObject): { readonly kind: string; readonly body: unknown } | Rejection => {
  const names = Object.keys(message)
  for (const name of names) {
    if (!messageFields.has(camelCase(name))) return unknownField(name)
  }
  if (names.length !== 1) return invalidArgument
  const kind = camelCase(names[0])
  const body = message[names[0]]
  const fields = messageFields.get(kind)
  if (fields !== undefined) {
    if (!isObject(body)) return invalidArgument
    for (const name of Object.keys(body)) {
      if (!fields.has(camelCase(name))) return unknownField(name, snakeCase(kind))
    }
  }
  return { kind, body }
}

/** The tools in force change: the next turns see them, and they declare the functions' behaviours. */
export const setTools = (s: SessionState, session: ActiveSession, tools: ReadonlyArray<unknown>) => {
  s.tools = tools
  session.calls.declare(tools)
}

const onClientContent = (s: SessionState, session: ActiveSession, body: unknown) =>
  Effect.gen(function*() {
    yield* cancelBlockingCalls(s, session)
    // "A clientContent message will interrupt any current model generation."; on 3.8
    // (`turnCompleteInterrupts`) one with `turnComplete: true` does, unconditionally.
    if (session.check?.rules.turnCompleteInterrupts === true && booleanField(body, "turnComplete")) {
      yield* stopReply(s, session)
    } else {
      yield* bargeIn(s, session)
    }
    for (const content of arrayField(body, "turns")) {
      const text = contentText(content)
      session.usage.addUserText(text)
      if (stringField(content, "role") !== "model") s.pendingText.push(text)
    }
    if (booleanField(body, "turnComplete")) {
      const text = s.pendingText.join("\n")
      s.pendingText = []
      yield* answerTurn(s, session, text, undefined)
    }
  })

/** A `contextUpdate` replaces the system instruction and/or the tools the next turns see. */
const onContextUpdate = (s: SessionState, session: ActiveSession, body: unknown) => {
  const instruction = field(body, "systemInstruction")
  if (instruction !== undefined) {
    s.systemInstruction = contentText(instruction)
    session.usage.setSystemInstruction(s.systemInstruction)
  }
  const wrapper = field(body, "tools")
  if (wrapper !== undefined) setTools(s, session, arrayField(wrapper, "tools"))
}

/** Handles a client message after `setup` (`undefined`: a frame that is not JSON). */
export const onMessage = (s: SessionState, session: ActiveSession, parsed: { readonly value: unknown } | undefined) =>
  Effect.gen(function*() {
    if (parsed === undefined || !isObject(parsed.value)) return yield* end(s, invalidJson)
    const message = messageKind(parsed.value)
    if ("code" in message) return yield* end(s, message)
    const refused = refusal(session.check, session.checked, message.kind, message.body, s.started)
    if (refused !== undefined) return yield* end(s, refused)
    if (message.kind === "realtimeInput") s.started = true
    // State changes the script does not replace: calls answered, the context updated.
    const results = message.kind === "toolResponse" ? session.calls.answer(message.body) : []
    if (message.kind === "contextUpdate") onContextUpdate(s, session, message.body)
    const scripted = yield* hook(s, () => s.config.onMessage(parsed.value, session.setup.raw))
    if (scripted !== undefined) return yield* startReply(s, scripted)
    switch (message.kind) {
      case "clientContent":
        return yield* onClientContent(s, session, message.body)
      case "realtimeInput":
        return yield* onRealtimeInput(s, session, message.body)
      case "toolResponse":
        return yield* onToolResponse(s, session, results)
      case "contextUpdate":
        return
      default:
        // A second `setup`.
        return yield* end(s, invalidArgument)
    }
  })
