/**
 * One emulated Live session, written once against `Connection` and served on both faces of the
 * emulator (a real socket, the in-memory transport), and for both backends: the route decides the
 * credential check (`auth.ts`), the model names (`setup.ts`) and the wording of the server messages
 * (`dialect.ts`); everything else is the same.
 *
 * One fiber reads the client's frames in order and keeps the session state; what the model says runs
 * in a reply fiber, so that a new user turn can interrupt it (barge-in, when pacing at real time).
 * Frames that arrive while the session is busy (before `setupComplete`, or while a reply is awaited)
 * wait in the connection's bounded buffer and are answered in order, as the real service does.
 *
 * Session resumption (`resumption.ts` keeps the state behind the handles): with `sessionResumption`
 * in the setup, every server message goes through `send`, which watches the conversation: the first
 * model output of a turn (or a `toolCall`) is preceded by `{"resumable": false}`, and each
 * `turnComplete` with no function call pending is followed by a new handle. The client messages of a
 * connection are counted from 0 (`setup`); `lastConsumedClientMessageIndex` is the last one whose
 * effect is in the state behind the handle.
 *
 * Models (`model.ts`, `LiveModel`): the session's rules come from the setup's model on the route's
 * backend; what they refuse (the setup, a `clientContent`, a `contextUpdate`'s tools) closes 1007.
 * They also decide each function's behaviour (how its response is heard), whether input cancels
 * pending BLOCKING calls, whether `turnComplete` interrupts, and whether replies report
 * `interactionStatus` (`send` adds it, as it adds the resumption updates).
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as LiveModel from "../../LiveModel.js"
import type * as Protocol from "../../Protocol.js"
import type { Action, Say, SetupMessage, Turn } from "../LiveEmulator.js"
import type { Connection, Frame } from "../../Transport.js"
import { type ActivityDetector, makeActivityDetector } from "./activityDetector.js"
import { type AuthPolicy, authenticate } from "./auth.js"
import { dialectOf } from "./dialect.js"
import { normalizeSetup, normalizeTools, schedulingOf } from "./model.js"
import { audioChunks, textDeltas } from "./modelOutput.js"
import {
  concatSamples,
  decodeBase64Pcm,
  inputSampleRate,
  pcmSampleRate,
  resample,
  toBase64,
  toBytes
} from "./pcm.js"
import type { ConnectionRecorder } from "./recorder.js"
import type { ConversationState, ResumptionStore } from "./resumption.js"
import type { RequestTarget, Route } from "./route.js"
import { contentText, isRejection, parseSetup, type SessionSetup } from "./setup.js"
import { msPerCharacter, synthesizeSpeech } from "./speechSynthesis.js"
import { makeUsageCounter, type UsageCounter } from "./usage.js"
import {
  arrayField,
  booleanField,
  camelCase,
  deadlineExpired,
  encodeServerMessage,
  field,
  invalidArgument,
  invalidJson,
  invalidResumptionHandle,
  isObject,
  type JsonObject,
  parseClientFrame,
  protoDuration,
  type Rejection,
  rejection,
  snakeCase,
  stringField,
  unknownField
} from "./wire.js"

/** The emulator's options, resolved (every hook present). */
export interface SessionConfig {
  readonly realtime: boolean
  readonly auth: AuthPolicy
  readonly unknownModels: ReadonlySet<string>
  /** The rules of each model (`LiveModel.checkFor`); a model it does not know is not checked. */
  readonly models: LiveModel.Registry
  readonly beforeSetupComplete: (setup: SetupMessage) => ReadonlyArray<Action>
  readonly afterSetupComplete: (setup: SetupMessage) => ReadonlyArray<Action>
  readonly onTurn: (turn: Turn) => ReadonlyArray<Action>
  readonly onMessage: (message: unknown, setup: SetupMessage) => ReadonlyArray<Action> | undefined
  readonly transcribe: (audio: Uint8Array) => string
  /** The handles of this emulator, shared by all its connections. */
  readonly resumption: ResumptionStore
  /** Consulted for a handle the emulator knows and that is still valid: false refuses it. */
  readonly acceptResumptionHandle: (handle: string) => boolean
  /** Finite, or `undefined`: no limit. */
  readonly connectionLifetime: Duration.Duration | undefined
  /** How long before the end of the connection `goAway` goes out (capped to the lifetime). */
  readonly goAwayBefore: Duration.Duration
}

/** An accepted upgrade request. */
export interface SessionRequest {
  readonly route: Route
  readonly target: RequestTarget
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>
}

/** The state of a session whose `setup` was accepted. */
interface ActiveSession {
  readonly setup: SessionSetup
  /** The setup as the model checks read it (`normalizeSetup`). */
  readonly checked: Protocol.Setup
  /** The model's rules on this backend; `undefined`: a model the registry does not know. */
  readonly check: LiveModel.Check | undefined
  readonly usage: UsageCounter
  readonly detector: ActivityDetector
}

/** A function response, matched to its call. */
interface FunctionResult {
  readonly response: unknown
  /** The call's name (else the response's). */
  readonly name: string | undefined
  readonly behavior: LiveModel.Behavior
  /** It answers a call the server cancelled: the model never hears it. */
  readonly ignored: boolean
}

/** The session is over (closed by either side, or dropped): stop whatever was going on. */
class SessionEnded extends Data.TaggedError("SessionEnded") {}

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

/** Reads which message a client object is: exactly one known field, whose own fields are known. */
const messageKind = (message: JsonObject): { readonly kind: string; readonly body: unknown } | Rejection => {
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

/** What a hook that throws makes the session answer (the service's own internal error). */
const internalError = rejection(1011, "Internal error encountered.")

/** Close codes a WebSocket peer may send (`ws` throws on the others; 1005/1006 are never sent). */
const isSendableCloseCode = (code: number): boolean =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)

/** Audio kept before speech starts (more would only be leading silence). */
const retainedLeadMs = 1000
/** The most audio one user turn keeps (the oldest is dropped beyond it). */
const maxTurnSamples = 10 * 60 * inputSampleRate

/**
 * Serves one accepted connection until it closes. Never fails: bad input ends the session with the
 * close the real service would send.
 */
export const serve = (
  config: SessionConfig,
  request: SessionRequest,
  connection: Connection,
  record: ConnectionRecorder
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const dialect = dialectOf(request.route.backend)
    /** Set once a valid `setup` arrived (before `setupComplete` goes out). */
    let active: ActiveSession | undefined
    /** What the model is saying now, if anything. */
    let reply: Fiber.RuntimeFiber<void> | undefined
    /** A model turn has content out and no `turnComplete` yet. */
    let modelTurnOpen = false
    /** The texts of the conversation's user turns so far (across resumed connections). */
    let history: Array<string> = []
    /** `clientContent` text not answered yet (`turnComplete: false`). */
    let pendingText: Array<string> = []
    /** Audio of the user's current turn (16 kHz). */
    let segment: Array<Int16Array> = []
    let segmentSamples = 0
    /** Manual activity detection: between `activityStart` and `activityEnd`. */
    let activityOpen = false
    /** The system instruction (as text) and tools in force: the setup's, or a later `contextUpdate`'s. */
    let systemInstruction = ""
    let tools: ReadonlyArray<unknown> = []
    /** The behaviour of each function `tools` declare, by name. */
    let behaviors: ReadonlyMap<string, LiveModel.Behavior | undefined> = new Map()
    /** Realtime input received, or model output sent: 3.1 takes no more initial history then. */
    let started = false
    /** A reply said `interactionStatus: IN_PROGRESS` and not yet `IDLE` (extended thinking). */
    let interactionOpen = false

    // Resumption: which conversation this is, and how far the client's messages are consumed.
    /** The id of the conversation's first connection. */
    let sessionKey = record.id
    /** This connection continues a conversation (its setup had a valid handle). */
    let resumed = false
    /** Client messages the conversation consumed on earlier connections (`setup` messages aside). */
    let consumedBefore = 0
    /** The index of the client message being handled (the connection's first message, `setup`, is 0). */
    let messageIndex = -1
    /** The last message whose handling is over (or whose reply has started). */
    let handledIndex = -1
    /** The first message of a user audio turn in progress: that turn is not in any state yet. */
    let audioTurnStart: number | undefined
    /** A `{"resumable": false}` went out since the last handle. */
    let notResumableSent = false
    /** Replies about to start (see `forkReply`). */
    let repliesStarting = 0
    /** Function calls sent and not answered yet: id -> name (`unnamedCalls`: the names of calls without an id). */
    const pendingCalls = new Map<string, string | undefined>()
    const unnamedCalls: Array<string | undefined> = []
    /** Calls the server cancelled: a response to one is ignored. */
    const cancelledCalls = new Set<string>()
    /** Tells the resumption store that this connection of the conversation has ended. */
    let connectionEnded: Effect.Effect<void> = Effect.void

    const untilClosed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.raceFirst(effect, Effect.zipRight(connection.closed, Effect.fail(new SessionEnded())))

    const sendRaw = (message: unknown): Effect.Effect<void, SessionEnded> =>
      connection.send(encodeServerMessage(message)).pipe(
        Effect.tap(() => record.server(message)),
        Effect.mapError(() => new SessionEnded())
      )

    // ---------------------------------------------------------------------------------------------
    // Session resumption
    // ---------------------------------------------------------------------------------------------

    /** The last client message of this connection whose effect is in the conversation state. */
    const consumedIndex = () => audioTurnStart === undefined ? handledIndex : Math.min(handledIndex, audioTurnStart - 1)

    const snapshot = ({ setup, usage }: ActiveSession): ConversationState => ({
      sessionKey,
      backend: request.route.backend,
      model: LiveModel.nameOf(setup.model),
      history: history.slice(),
      pendingText: pendingText.slice(),
      usage: usage.context(),
      systemInstruction,
      tools,
      started,
      consumedClientMessages: consumedBefore + Math.max(0, consumedIndex())
    })

    const resumptionUpdate = (session: ActiveSession, update: Record<string, unknown>) => ({
      sessionResumptionUpdate: session.setup.resumption?.transparent
        ? { ...update, lastConsumedClientMessageIndex: String(consumedIndex()) }
        : update
    })

    /** A safe point: a new handle for the conversation as it is now. */
    const issueHandle = (session: ActiveSession) =>
      Effect.gen(function*() {
        const handle = yield* config.resumption.issue(snapshot(session))
        notResumableSent = false
        yield* sendRaw(resumptionUpdate(session, { newHandle: handle, resumable: true }))
      })

    /** Whether a server message is the model generating: model output, or a function call. */
    const generates = (message: unknown): boolean => {
      if (field(message, "toolCall") !== undefined) return true
      const content = field(message, "serverContent")
      return field(content, "modelTurn") !== undefined || field(content, "outputTranscription") !== undefined ||
        booleanField(content, "generationComplete")
    }

    const watchFunctionCalls = (message: unknown) => {
      for (const call of arrayField(field(message, "toolCall"), "functionCalls")) {
        const id = stringField(call, "id")
        const name = stringField(call, "name")
        if (id === undefined || id === "") unnamedCalls.push(name)
        else pendingCalls.set(id, name)
      }
      for (const id of arrayField(field(message, "toolCallCancellation"), "ids")) {
        if (typeof id === "string" && pendingCalls.delete(id)) cancelledCalls.add(id)
      }
    }

    const defaultBehavior = (): LiveModel.Behavior => active?.check?.rules.defaultBehavior ?? "BLOCKING"

    /** A function's behaviour: as declared in the tools in force, else the model's default (BLOCKING if unknown). */
    const behaviorOf = (name: string | undefined): LiveModel.Behavior =>
      (name === undefined ? undefined : behaviors.get(name)) ?? defaultBehavior()

    const setTools = (value: ReadonlyArray<unknown>) => {
      tools = value
      behaviors = LiveModel.functionBehaviors(active?.check?.rules ?? {}, normalizeTools(value))
    }

    /**
     * Matches each function response to its call (by id; one without a known id answers the oldest
     * call). `willContinue: true` keeps the call pending; a response to a cancelled call is ignored.
     */
    const answerFunctionCalls = (body: unknown): ReadonlyArray<FunctionResult> =>
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
      })

    /**
     * Vertex AI 3.8 (`inputCancelsBlockingCalls`): new input while BLOCKING calls are pending
     * cancels them (`toolCallCancellation`); their responses are ignored from then on.
     */
    const cancelBlockingCalls = (session: ActiveSession) =>
      Effect.suspend(() => {
        if (session.check?.rules.inputCancelsBlockingCalls !== true) return Effect.void
        const ids = [...pendingCalls].filter(([, name]) => behaviorOf(name) === "BLOCKING").map(([id]) => id)
        if (ids.length === 0) return Effect.void
        for (const id of ids) {
          pendingCalls.delete(id)
          cancelledCalls.add(id)
        }
        return send({ toolCallCancellation: { ids } })
      })

    /**
     * Sends a server message; with `sessionResumption`, also says when the session stops being
     * resumable (the turn starts generating) and issues a handle after each completed turn.
     */
    const send = (message: unknown): Effect.Effect<void, SessionEnded> =>
      Effect.suspend(() => {
        const session = active
        if (session === undefined) return sendRaw(message)
        return Effect.gen(function*() {
          const generating = generates(message)
          const turnComplete = booleanField(field(message, "serverContent"), "turnComplete")
          const resumption = session.setup.resumption !== undefined
          if (resumption && !notResumableSent && generating) {
            notResumableSent = true
            yield* sendRaw(resumptionUpdate(session, { resumable: false }))
          }
          // Extended thinking: each reply opens IN_PROGRESS and is IDLE again before its turnComplete.
          if (session.check?.rules.reportsInteractionStatus === true) {
            if (generating && !interactionOpen) {
              interactionOpen = true
              yield* sendRaw({ serverContent: { interactionStatus: "IN_PROGRESS" } })
            }
            if (turnComplete && interactionOpen) {
              interactionOpen = false
              yield* sendRaw({ serverContent: { interactionStatus: "IDLE" } })
            }
          }
          yield* sendRaw(message)
          if (generating) started = true
          watchFunctionCalls(message)
          if (
            resumption && turnComplete && pendingCalls.size === 0 && unnamedCalls.length === 0 &&
            repliesStarting === 0
          ) {
            yield* issueHandle(session)
          }
        })
      })

    /** Ends the session with a close frame (or a drop, for a code no peer may send). */
    const end = (close: Rejection): Effect.Effect<never, SessionEnded> =>
      Effect.zipRight(
        isSendableCloseCode(close.code)
          ? connection.close(close.code, rejection(close.code, close.reason).reason)
          : connection.terminate,
        Effect.fail(new SessionEnded())
      )

    /** Calls a user hook; a hook that throws ends the session like a server fault. */
    const hook = <A>(call: () => A): Effect.Effect<A, SessionEnded> =>
      Effect.catchAll(Effect.try(call), () => end(internalError))

    // ---------------------------------------------------------------------------------------------
    // What the model says
    // ---------------------------------------------------------------------------------------------

    const pace = (ms: number) => (config.realtime ? Effect.sleep(ms) : Effect.void)

    const completeTurn = (counter: UsageCounter) =>
      Effect.uninterruptible(
        Effect.zipRight(
          send({ serverContent: { generationComplete: true } }),
          Effect.suspend(() => {
            modelTurnOpen = false
            return send({ serverContent: { turnComplete: true }, usageMetadata: dialect.usageMetadata(counter.completeTurn()) })
          })
        )
      )

    const speak = ({ setup, usage }: ActiveSession, say: Say): Effect.Effect<void, SessionEnded> =>
      Effect.gen(function*() {
        const opening = !modelTurnOpen
        modelTurnOpen = true
        usage.addModelText(say.text)
        if (setup.responseModality === "TEXT") {
          for (const delta of textDeltas(say.text)) {
            yield* send({ serverContent: { modelTurn: dialect.modelTurn([{ text: delta }]) } })
            yield* pace(delta.length * msPerCharacter)
          }
        } else {
          if (opening && setup.outputTranscription && dialect.opensOutputTranscription) {
            yield* send({ serverContent: { outputTranscription: {} } })
          }
          const audio = say.audio ?? synthesizeSpeech(say.text)
          for (const chunk of audioChunks(audio, say.text)) {
            const data = toBase64(audio, chunk.start, chunk.end)
            const part = { inlineData: { mimeType: dialect.audioMimeType, data } }
            yield* send({ serverContent: { modelTurn: dialect.modelTurn([part]) } })
            if (setup.outputTranscription && chunk.transcription !== "") {
              yield* send({ serverContent: { outputTranscription: { text: chunk.transcription } } })
            }
            yield* pace(chunk.durationMs)
          }
        }
        if (say.turnComplete) yield* completeTurn(usage)
      })

    const perform = (action: Action): Effect.Effect<void, SessionEnded> => {
      switch (action._tag) {
        case "Say":
          return active === undefined ? Effect.void : speak(active, action)
        case "Send":
          return send(action.message)
        case "SendFrame":
          return Effect.mapError(connection.send(action.frame), () => new SessionEnded())
        case "Close":
          return end({ code: action.code, reason: action.reason })
        case "Drop":
          return Effect.zipRight(connection.terminate, Effect.fail(new SessionEnded()))
        case "Wait":
          return Effect.sleep(action.duration)
        case "WaitFor":
          return Effect.asVoid(action.effect)
      }
    }

    const runActions = (actions: ReadonlyArray<Action>) => Effect.forEach(actions, perform, { discard: true })

    /**
     * Forks a reply once the current one is over (an interrupting turn has already stopped it). The
     * caller counted it in `repliesStarting` (no handle is issued while a reply waits to start: the
     * state would hold a turn that is not answered); the message that asks for it is consumed.
     */
    const forkReply = (actions: ReadonlyArray<Action>, prelude: Effect.Effect<void, SessionEnded>) =>
      Effect.gen(function*() {
        handledIndex = messageIndex
        if (reply !== undefined) yield* untilClosed(Fiber.await(reply))
        repliesStarting--
        reply = yield* Effect.forkScoped(
          Effect.catchAll(Effect.zipRight(prelude, runActions(actions)), () => Effect.void)
        )
      })

    /** Starts a reply once the current one is over. */
    const startReply = (actions: ReadonlyArray<Action>, prelude: Effect.Effect<void, SessionEnded> = Effect.void) =>
      Effect.suspend(() => {
        repliesStarting++
        return forkReply(actions, prelude)
      })

    /**
     * Stops the reply in progress, if any: the client learns it from `interrupted` then `turnComplete`
     * (only if the model turn has output).
     */
    const stopReply = ({ usage }: ActiveSession) =>
      Effect.suspend(() => {
        const current = reply
        if (current === undefined) return Effect.void
        return Effect.gen(function*() {
          yield* Fiber.interrupt(current)
          reply = undefined
          if (modelTurnOpen) {
            modelTurnOpen = false
            yield* send({ serverContent: { interrupted: true } })
            yield* send({ serverContent: { turnComplete: true }, usageMetadata: dialect.usageMetadata(usage.completeTurn()) })
          }
        })
      })

    /**
     * Barge-in: a new user turn stops a reply that is still streaming. Only at real-time pacing
     * (otherwise a reply is out before the next message is read), and not with `activityHandling:
     * NO_INTERRUPTION`.
     */
    const bargeIn = (session: ActiveSession) =>
      !config.realtime || !session.setup.interruptible ? Effect.void : stopReply(session)

    // ---------------------------------------------------------------------------------------------
    // User turns
    // ---------------------------------------------------------------------------------------------

    const userTurn = ({ setup, usage }: ActiveSession, text: string | undefined, samples: Int16Array | undefined) =>
      Effect.gen(function*() {
        repliesStarting++
        const audio = samples === undefined ? new Uint8Array(0) : toBytes(samples)
        if (samples !== undefined) usage.addUserAudio(samples.length / inputSampleRate)
        const transcript = samples === undefined ? undefined : yield* hook(() => config.transcribe(audio))
        const previous = history.slice()
        const turn: Turn = {
          index: previous.length,
          text,
          audio,
          transcript,
          setup: setup.raw,
          resumed,
          history: previous,
          systemInstruction,
          tools
        }
        history.push(text ?? transcript ?? "")
        const actions = yield* hook(() => config.onTurn(turn))
        const prelude = setup.inputTranscription && transcript !== undefined
          ? send({ serverContent: { inputTranscription: { text: transcript } } })
          : Effect.void
        yield* forkReply(actions, prelude)
      })

    const appendAudio = (samples: Int16Array, keepSamples: number) => {
      if (samples.length === 0) return
      segment.push(samples)
      segmentSamples += samples.length
      while (segment.length > 1 && segmentSamples - segment[0].length >= keepSamples) {
        segmentSamples -= segment.shift()!.length
      }
    }

    const takeSegment = (): Int16Array => {
      const samples = concatSamples(segment, segmentSamples)
      segment = []
      segmentSamples = 0
      audioTurnStart = undefined
      return samples
    }

    const endAudioTurn = (session: ActiveSession) => userTurn(session, undefined, takeSegment())

    const onAudio = (session: ActiveSession, samples: Int16Array) =>
      Effect.gen(function*() {
        const detection = session.setup.activityDetection
        const vad = session.detector
        if (detection.disabled) {
          if (activityOpen) appendAudio(samples, maxTurnSamples)
          return
        }
        let from = 0
        for (const change of vad.feed(samples)) {
          if (change.kind === "SpeechStarted") {
            audioTurnStart ??= messageIndex
            yield* cancelBlockingCalls(session)
            yield* bargeIn(session)
          } else {
            appendAudio(samples.subarray(from, change.offset), maxTurnSamples)
            from = change.offset
            yield* endAudioTurn(session)
          }
        }
        const lead = (Math.max(retainedLeadMs, detection.prefixPaddingMs + 200) * inputSampleRate) / 1000
        appendAudio(samples.subarray(from), vad.speaking() ? maxTurnSamples : lead)
      })

    const onClientContent = (session: ActiveSession, body: unknown) =>
      Effect.gen(function*() {
        yield* cancelBlockingCalls(session)
        // "A clientContent message will interrupt any current model generation."; on 3.8
        // (`turnCompleteInterrupts`) one with `turnComplete: true` does, unconditionally.
        if (session.check?.rules.turnCompleteInterrupts === true && booleanField(body, "turnComplete")) {
          yield* stopReply(session)
        } else {
          yield* bargeIn(session)
        }
        for (const content of arrayField(body, "turns")) {
          const text = contentText(content)
          session.usage.addUserText(text)
          if (stringField(content, "role") !== "model") pendingText.push(text)
        }
        if (booleanField(body, "turnComplete")) {
          const text = pendingText.join("\n")
          pendingText = []
          yield* userTurn(session, text, undefined)
        }
      })

    const onRealtimeInput = (session: ActiveSession, body: unknown) =>
      Effect.gen(function*() {
        const manual = session.setup.activityDetection.disabled
        if (manual && field(body, "activityStart") !== undefined) {
          yield* cancelBlockingCalls(session)
          yield* bargeIn(session)
          activityOpen = true
          takeSegment()
          audioTurnStart = messageIndex
        }
        for (const blob of [field(body, "audio"), ...arrayField(body, "mediaChunks")]) {
          const rate = pcmSampleRate(stringField(blob, "mimeType") ?? "")
          const data = stringField(blob, "data")
          if (rate === undefined || data === undefined) continue
          yield* onAudio(session, resample(decodeBase64Pcm(data), rate, inputSampleRate))
        }
        const text = stringField(body, "text")
        if (text !== undefined) {
          yield* cancelBlockingCalls(session)
          yield* bargeIn(session)
          session.usage.addUserText(text)
          yield* userTurn(session, text, undefined)
        }
        if (manual && activityOpen && field(body, "activityEnd") !== undefined) {
          activityOpen = false
          yield* endAudioTurn(session)
        }
        if (!manual && booleanField(body, "audioStreamEnd")) {
          // The stream pauses: a turn in progress ends now; silence alone is no turn.
          const speaking = session.detector.speaking()
          session.detector.reset()
          if (speaking) yield* endAudioTurn(session)
          else takeSegment()
        }
      })

    /**
     * The model says what the functions returned: as a new reply after the current one (BLOCKING,
     * NON_BLOCKING `WHEN_IDLE`), after stopping the current one (`INTERRUPT`), or not at all
     * (`SILENT`, or a response to a cancelled call).
     */
    const onToolResponse = (session: ActiveSession, results: ReadonlyArray<FunctionResult>) =>
      Effect.gen(function*() {
        const heard = results.filter((result) =>
          !result.ignored && (result.behavior === "BLOCKING" || schedulingOf(result.response) !== "SILENT")
        )
        if (heard.length === 0) return
        if (heard.some((result) => result.behavior === "NON_BLOCKING" && schedulingOf(result.response) === "INTERRUPT")) {
          yield* stopReply(session)
        }
        const said = heard.map((result) =>
          `${stringField(result.response, "name") ?? result.name ?? "the function"} returned ${
            JSON.stringify(field(result.response, "response") ?? {})
          }`
        )
        yield* startReply([{ _tag: "Say", text: `${said.join("; ")}.`, turnComplete: true }])
      })

    /** A `contextUpdate` replaces the system instruction and/or the tools the next turns see. */
    const onContextUpdate = (session: ActiveSession, body: unknown) => {
      const instruction = field(body, "systemInstruction")
      if (instruction !== undefined) {
        systemInstruction = contentText(instruction)
        session.usage.setSystemInstruction(systemInstruction)
      }
      const wrapper = field(body, "tools")
      if (wrapper !== undefined) setTools(arrayField(wrapper, "tools"))
    }

    /**
     * What the model refuses of a message (the connection closes 1007, as the service's
     * INVALID_ARGUMENT): `clientContent` against the model's rules, a `contextUpdate` that is
     * malformed or declares behaviours the model does not take.
     */
    const refusal = (session: ActiveSession, kind: string, body: unknown): Rejection | undefined => {
      const { check } = session
      if (kind === "clientContent") {
        const turns = arrayField(body, "turns") as ReadonlyArray<Protocol.Content>
        const broken = check === undefined ? undefined : LiveModel.checkClientContent(check, session.checked, turns, { started })
        return broken === undefined ? undefined : invalidArgument
      }
      if (kind === "contextUpdate") {
        const instruction = field(body, "systemInstruction")
        if (instruction !== undefined && !isObject(instruction)) return invalidArgument
        const wrapper = field(body, "tools")
        if (wrapper === undefined) return undefined
        if (!isObject(wrapper)) return invalidArgument
        for (const name of Object.keys(wrapper)) {
          if (camelCase(name) !== "tools") return unknownField(name, "context_update.tools")
        }
        const broken = check === undefined
          ? undefined
          : LiveModel.checkTools(check, normalizeTools(arrayField(wrapper, "tools")), "sendContextUpdate", "tools.tools")
        return broken === undefined ? undefined : invalidArgument
      }
      return undefined
    }

    // ---------------------------------------------------------------------------------------------
    // The reader
    // ---------------------------------------------------------------------------------------------

    /**
     * The connection's time limit, counted from `setupComplete`: `goAway` with the time left, then
     * close 1011 when it is up. A reply still going stops with the connection.
     */
    const deadline = (lifetime: Duration.Duration) =>
      Effect.gen(function*() {
        const notice = Duration.min(config.goAwayBefore, lifetime)
        yield* Effect.sleep(Duration.subtract(lifetime, notice))
        yield* send({ goAway: { timeLeft: protoDuration(Duration.unsafeToNanos(notice)) } })
        yield* Effect.sleep(notice)
        yield* end(deadlineExpired)
      })

    /** The first message: the credential is checked here, then it must be a valid `setup`. */
    const onFirstMessage = (parsed: { readonly value: unknown } | undefined) =>
      Effect.gen(function*() {
        const denied = authenticate(request.route, request.target.query, request.headers, config.auth)
        if (denied !== undefined) return yield* end(denied)
        if (parsed === undefined || !isObject(parsed.value)) return yield* end(invalidJson)
        const message = messageKind(parsed.value)
        if ("code" in message) return yield* end(message)
        if (message.kind !== "setup") return yield* end(invalidArgument)
        const result = parseSetup(message.body, request.route, config.unknownModels)
        if (isRejection(result)) return yield* end(result)
        // The model's rules: a setup it does not take is INVALID_ARGUMENT.
        const check = LiveModel.checkFor(config.models, result.model, request.route.backend)
        const checked = normalizeSetup(result.raw)
        if (check !== undefined && LiveModel.checkSetup(check, checked) !== undefined) return yield* end(invalidArgument)
        const handle = result.resumption?.handle
        let state: ConversationState | undefined
        if (handle !== undefined) {
          state = yield* config.resumption.lookup(handle)
          if (
            state === undefined || state.backend !== request.route.backend ||
            !(yield* hook(() => config.acceptResumptionHandle(handle)))
          ) {
            return yield* end(invalidResumptionHandle)
          }
          // "You can change config, but not the model, when resuming."
          if (state.model !== LiveModel.nameOf(result.model)) return yield* end(invalidArgument)
          sessionKey = state.sessionKey
          resumed = true
          history = state.history.slice()
          pendingText = state.pendingText.slice()
          consumedBefore = state.consumedClientMessages
          started = state.started
          record.resumed(handle, sessionKey)
        }
        // A resumed conversation keeps its system instruction and tools unless this setup sets them.
        const setsInstruction = field(result.raw, "systemInstruction") !== undefined
        systemInstruction = setsInstruction ? result.systemInstruction : state?.systemInstruction ?? ""
        const session: ActiveSession = {
          setup: result,
          checked,
          check,
          usage: makeUsageCounter(systemInstruction, state?.usage),
          detector: makeActivityDetector(result.activityDetection)
        }
        active = session
        setTools(field(result.raw, "tools") !== undefined ? arrayField(result.raw, "tools") : state?.tools ?? [])
        handledIndex = 0
        if (result.resumption !== undefined) {
          connectionEnded = yield* config.resumption.connect(sessionKey)
          yield* Effect.addFinalizer(() => connectionEnded)
        }
        yield* untilClosed(runActions(yield* hook(() => config.beforeSetupComplete(result.raw))))
        yield* send({ setupComplete: yield* dialect.setupComplete })
        if (result.resumption !== undefined) yield* issueHandle(session)
        if (config.connectionLifetime !== undefined) {
          yield* Effect.forkScoped(Effect.catchAll(deadline(config.connectionLifetime), () => Effect.void))
        }
        const after = yield* hook(() => config.afterSetupComplete(result.raw))
        yield* Effect.forkScoped(Effect.catchAll(runActions(after), () => Effect.void))
      })

    const onMessage = (session: ActiveSession, parsed: { readonly value: unknown } | undefined) =>
      Effect.gen(function*() {
        if (parsed === undefined || !isObject(parsed.value)) return yield* end(invalidJson)
        const message = messageKind(parsed.value)
        if ("code" in message) return yield* end(message)
        const refused = refusal(session, message.kind, message.body)
        if (refused !== undefined) return yield* end(refused)
        if (message.kind === "realtimeInput") started = true
        // State changes the script does not replace: calls answered, the context updated.
        const results = message.kind === "toolResponse" ? answerFunctionCalls(message.body) : []
        if (message.kind === "contextUpdate") onContextUpdate(session, message.body)
        const scripted = yield* hook(() => config.onMessage(parsed.value, session.setup.raw))
        if (scripted !== undefined) return yield* startReply(scripted)
        switch (message.kind) {
          case "clientContent":
            return yield* onClientContent(session, message.body)
          case "realtimeInput":
            return yield* onRealtimeInput(session, message.body)
          case "toolResponse":
            return yield* onToolResponse(session, results)
          case "contextUpdate":
            return
          default:
            // A second `setup`.
            return yield* end(invalidArgument)
        }
      })

    let firstMessage = true
    const receive = (frame: Frame): Effect.Effect<void, SessionEnded, Scope.Scope> =>
      Effect.suspend(() => {
        const parsed = parseClientFrame(frame)
        if (parsed !== undefined) record.client(parsed.value)
        const index = ++messageIndex
        const handled = firstMessage
          ? onFirstMessage(parsed)
          : active === undefined
          ? Effect.void
          : onMessage(active, parsed)
        firstMessage = false
        return Effect.tap(handled, () => {
          handledIndex = Math.max(handledIndex, index)
        })
      })

    yield* connection.frames.pipe(
      Stream.runForEach(receive),
      Effect.catchTag("SessionEnded", () => Effect.void)
    )
    const closed = yield* connection.closed
    // Before the record says closed: the handles' lifetime runs from now.
    yield* connectionEnded
    record.close(closed)
  }).pipe(Effect.scoped)
