/**
 * Sending: each message is encoded once, counted, traced, written down for transparent resumption,
 * and written straight to the `Active` link; while there is none, it waits for the next (`State`).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type ConfigError, SessionClosed } from "../../LiveError.js"
import * as LiveModel from "../../LiveModel.js"
import * as Protocol from "../../Protocol.js"
import type * as Framer from "../audio/framer.js"
import * as Calls from "./calls.js"
import type { Link } from "./link.js"
import type { Session } from "./session.js"
import * as State from "./state.js"

/**
 * Writes one client message to `link`. With transparent resumption it is also written down in the
 * replay log, unless `replayable` is false: `setup` (each link sends its own), a resend (already
 * there), and function responses (they answer calls a resumed conversation never made).
 */
export const sendOn = (
  session: Session,
  link: Link,
  method: string,
  frame: string,
  replayable: boolean
): Effect.Effect<void, SessionClosed> =>
  Effect.suspend(() => {
    const index = written(session, link, frame, replayable)
    const sent = Effect.mapError(
      link.connection.send(frame),
      (error) => new SessionClosed({ module: "LiveSession", method, code: error.close.code, reason: error.close.reason })
    )
    // Taken back from the replay log if it did not go out.
    const replay = session.replay
    return replay === undefined || !replayable ? sent : Effect.tapError(sent, () => Effect.sync(() => replay.retract(link.index, index)))
  })

/** Counts, traces, numbers (in wire order) and writes down a message going out on `link`; its index. */
const written = (session: Session, link: Link, frame: string, replayable: boolean): number => {
  if (session.countBytes) session.statistics.sent(Buffer.byteLength(frame))
  if (session.trace?.enabled) session.trace.sent(frame)
  const index = link.sent++
  if (session.replay !== undefined && replayable) session.replay.sent(link.index, index, frame)
  return index
}

/**
 * The synchronous path of `write`, for audio frames: written now if the `Active` link takes it at
 * once (`Connection.trySend`); `false` otherwise, and nothing happened (use `write`).
 */
const trySend = (session: Session, frame: string): boolean => {
  const state = session.state
  if (state._tag !== "Active" || state.link.connection.trySend?.(frame) !== true) return false
  session.started = true
  written(session, state.link, frame, true)
  return true
}

/** Sends when run (not when built: a send effect can be retried or repeated). */
export const write = (session: Session, method: string, frame: string): Effect.Effect<void, SessionClosed> =>
  Effect.suspend(() => {
    if (method !== "sendClientContent" && method !== "sendContextUpdate") session.started = true
    const state = session.state
    switch (state._tag) {
      case "Closing":
      case "Closed":
        return Effect.fail(State.closedError(method, state.info))
      case "Active":
        return sendOrWait(session, state.link, method, frame)
      default:
        return Effect.flatMap(
          Effect.mapError(
            State.awaitLink(session),
            (error) => new SessionClosed({ module: "LiveSession", method, code: error.code, reason: error.reason })
          ),
          () => write(session, method, frame)
        )
    }
  })

/** A send found its link closing: with a policy, it waits for the next link instead of failing. */
const sendOrWait = (session: Session, link: Link, method: string, frame: string): Effect.Effect<void, SessionClosed> =>
  Effect.catchAll(sendOn(session, link, method, frame, method !== "sendToolResponse"), (error) => {
    if (session.policy === undefined || State.isOver(session.state)) return Effect.fail(error)
    if (State.currentLink(session.state) === link) State.toReconnecting(session)
    return write(session, method, frame)
  })

const sendEncoded = (
  session: Session,
  method: string,
  encoded: Either.Either<string, ConfigError>
): Effect.Effect<void, ConfigError | SessionClosed> =>
  Either.isLeft(encoded) ? Effect.fail(encoded.left) : write(session, method, encoded.right)

/** `clientContent`, checked against the model's rules when it is sent (they depend on whether the conversation started). */
export const sendClientContent = (
  session: Session,
  input: Protocol.ClientContentInput
): Effect.Effect<void, ConfigError | SessionClosed> => {
  const encoded = Protocol.encodeClientContent(input)
  if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
  return Effect.suspend((): Effect.Effect<void, ConfigError | SessionClosed> => {
    const model = session.model
    if (model !== undefined) {
      const turns = input.turns == null ? undefined : Either.getOrUndefined(Protocol.toTurns(input.turns))
      const broken = LiveModel.checkClientContent(model, session.setup, turns, { started: session.started })
      if (broken !== undefined) return Effect.fail(broken)
    }
    return Effect.zipRight(newInput(session), write(session, "sendClientContent", encoded.right))
  })
}

export const sendRealtimeInput = (
  session: Session,
  input: Protocol.RealtimeInput
): Effect.Effect<void, ConfigError | SessionClosed> => {
  const encoded = Protocol.encodeRealtimeInput(input)
  if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
  const sent = write(session, "sendRealtimeInput", encoded.right)
  return input.text != null || input.activityStart != null ? Effect.zipRight(newInput(session), sent) : sent
}

/** Input that starts a user turn: on a model whose server cancels BLOCKING calls then, they are cancelled here too. */
const newInput = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => (session.calls.hasBlocking() ? Calls.cancelBlocking(session) : Effect.void))

/**
 * `contextUpdate`: checked against the model's rules, sent in order with the rest, and kept for the
 * setup of the next connections. Functions it declares are the application's to answer.
 */
export const sendContextUpdate = (
  session: Session,
  input: Protocol.ContextUpdateInput
): Effect.Effect<void, ConfigError | SessionClosed> => {
  const encoded = Protocol.encodeContextUpdate(input)
  if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
  const update = encoded.right
  const broken = session.model === undefined
    ? undefined
    : LiveModel.checkTools(session.model, update.tools, "sendContextUpdate", "tools")
  if (broken !== undefined) return Effect.fail(broken)
  return Effect.tap(write(session, "sendContextUpdate", update.frame), () => {
    const setup: Record<string, unknown> = { ...session.linkSetup }
    if (update.systemInstruction !== undefined) setup.systemInstruction = update.systemInstruction
    if (update.tools !== undefined) {
      setup.tools = update.tools
      for (const name of Calls.functionNames(update.tools)) session.manualFunctions?.add(name)
    }
    session.linkSetup = setup as Protocol.Setup
  })
}

/** Resolves once there is a link to send on (or the session is over: the send will say so). */
const linkReady = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => {
    const state = session.state
    return state._tag === "Active" || State.isOver(state) ? Effect.void : Effect.ignore(State.awaitLink(session))
  })

/** Function responses, but not to calls the session cancelled (checked once a link is there). */
export const sendToolResponse = (
  session: Session,
  input: Protocol.ToolResponseInput
): Effect.Effect<void, ConfigError | SessionClosed> =>
  Effect.zipRight(
    linkReady(session),
    Effect.suspend(() => {
      const calls = session.calls
      const all = Protocol.functionResponsesOf(input)
      // Bad responses are refused by the encoder, before anything reads them.
      if (!all.every(isObject)) return sendToolResponses(session, all)
      if (calls.voided === undefined) return sendToolResponses(session, all)
      const responses = all.filter((response) => !calls.isVoided(response.id))
      if (responses.length === all.length) return sendToolResponses(session, responses)
      const stale = all.flatMap((response) => (calls.isVoided(response.id) ? [response.id!] : []))
      return Effect.zipRight(
        Effect.logWarning(`effect-gemini-live: not sent: responses to cancelled calls (a lost connection, or new input) (${stale.join(", ")})`),
        responses.length === 0 ? Effect.void : sendToolResponses(session, responses)
      )
    })
  )

const sendToolResponses = (
  session: Session,
  responses: ReadonlyArray<Protocol.FunctionResponse>
): Effect.Effect<void, ConfigError | SessionClosed> => {
  const backend = session.backend
  return sendEncoded(
    session,
    "sendToolResponse",
    Protocol.encodeToolResponse(
      { functionResponses: responses.every(isObject) ? session.quirks.outgoing(responses) : responses },
      { requireId: backend.requiresFunctionResponseId, backend: backend.kind, acceptsWillContinue: backend.acceptsWillContinue }
    )
  ).pipe(Effect.tap(() => Calls.answered(session, responses)))
}

/** What `sendAudio` and `audioInput` write through (made on first use). */
export const audioSink = (session: Session): Framer.Sink =>
  session.sink ??= {
    write: (method, frame) => write(session, method, frame),
    trySend: (frame) => trySend(session, frame),
    awaitWritable: Effect.suspend(() => State.currentLink(session.state)?.connection.awaitWritable ?? Effect.void),
    automaticActivityDetection: automaticActivityDetection(session.setup),
    framesDropped: session.statistics.inputFramesDropped
  }

/** Whether the server detects voice activity itself (unless `automaticActivityDetection.disabled`). */
const automaticActivityDetection = (setup: Protocol.Setup): boolean => {
  const config = setup.realtimeInputConfig as { automaticActivityDetection?: { disabled?: boolean } } | undefined
  return config?.automaticActivityDetection?.disabled !== true
}

const isObject = (value: unknown): boolean => typeof value === "object" && value !== null
