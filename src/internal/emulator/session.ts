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
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Action, Say, SetupMessage, Turn } from "../../testing/LiveEmulator.js"
import type { Connection, Frame } from "../../Transport.js"
import { type ActivityDetector, makeActivityDetector } from "./activityDetector.js"
import { type AuthPolicy, authenticate } from "./auth.js"
import { dialectOf } from "./dialect.js"
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
import { contentText, isRejection, modelName, parseSetup, type SessionSetup } from "./setup.js"
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
  readonly usage: UsageCounter
  readonly detector: ActivityDetector
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
  ["toolResponse", new Set(["functionResponses"])]
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
    /** Function calls sent and not answered yet (by id; `unnamedCalls` counts calls without one). */
    const pendingCalls = new Set<string>()
    let unnamedCalls = 0
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
      model: modelName(setup.model),
      history: history.slice(),
      pendingText: pendingText.slice(),
      usage: usage.context(),
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
        if (id === undefined || id === "") unnamedCalls++
        else pendingCalls.add(id)
      }
      for (const id of arrayField(field(message, "toolCallCancellation"), "ids")) {
        if (typeof id === "string") pendingCalls.delete(id)
      }
    }

    /** A function response answers its call (by id; one without a known id answers the oldest call). */
    const answerFunctionCalls = (body: unknown) => {
      for (const response of arrayField(body, "functionResponses")) {
        const id = stringField(response, "id")
        if (id !== undefined && pendingCalls.delete(id)) continue
        if (unnamedCalls > 0) {
          unnamedCalls--
          continue
        }
        const oldest = pendingCalls.values().next()
        if (oldest.done !== true) pendingCalls.delete(oldest.value)
      }
    }

    /**
     * Sends a server message; with `sessionResumption`, also says when the session stops being
     * resumable (the turn starts generating) and issues a handle after each completed turn.
     */
    const send = (message: unknown): Effect.Effect<void, SessionEnded> =>
      Effect.suspend(() => {
        const session = active
        if (session?.setup.resumption === undefined) return sendRaw(message)
        return Effect.gen(function*() {
          if (!notResumableSent && generates(message)) {
            notResumableSent = true
            yield* sendRaw(resumptionUpdate(session, { resumable: false }))
          }
          yield* sendRaw(message)
          watchFunctionCalls(message)
          const turnComplete = booleanField(field(message, "serverContent"), "turnComplete")
          if (turnComplete && pendingCalls.size === 0 && unnamedCalls === 0 && repliesStarting === 0) {
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
     * Barge-in: a new user turn stops a reply that is still streaming, which the client learns from
     * `interrupted` then `turnComplete`. Only at real-time pacing (otherwise a reply is out before the
     * next message is read), and not with `activityHandling: NO_INTERRUPTION`.
     */
    const bargeIn = ({ setup, usage }: ActiveSession) =>
      Effect.suspend(() => {
        const current = reply
        if (!config.realtime || !setup.interruptible || current === undefined) return Effect.void
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
        const turn: Turn = { index: previous.length, text, audio, transcript, setup: setup.raw, resumed, history: previous }
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
        // "A clientContent message will interrupt any current model generation."
        yield* bargeIn(session)
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

    const onToolResponse = (body: unknown) => {
      const results = arrayField(body, "functionResponses").map((response) =>
        `${stringField(response, "name") ?? "the function"} returned ${JSON.stringify(field(response, "response") ?? {})}`
      )
      return startReply([{ _tag: "Say", text: `${results.join("; ")}.`, turnComplete: true }])
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
          if (state.model !== modelName(result.model)) return yield* end(invalidArgument)
          sessionKey = state.sessionKey
          resumed = true
          history = state.history.slice()
          pendingText = state.pendingText.slice()
          consumedBefore = state.consumedClientMessages
          record.resumed(handle, sessionKey)
        }
        const session: ActiveSession = {
          setup: result,
          usage: makeUsageCounter(result.systemInstruction, state?.usage),
          detector: makeActivityDetector(result.activityDetection)
        }
        active = session
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
        if (message.kind === "toolResponse") answerFunctionCalls(message.body)
        const scripted = yield* hook(() => config.onMessage(parsed.value, session.setup.raw))
        if (scripted !== undefined) return yield* startReply(scripted)
        switch (message.kind) {
          case "clientContent":
            return yield* onClientContent(session, message.body)
          case "realtimeInput":
            return yield* onRealtimeInput(session, message.body)
          case "toolResponse":
            return yield* onToolResponse(message.body)
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
