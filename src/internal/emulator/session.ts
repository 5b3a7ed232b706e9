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
 */
import * as Data from "effect/Data"
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
import type { RequestTarget, Route } from "./route.js"
import { contentText, isRejection, parseSetup, type SessionSetup } from "./setup.js"
import { msPerCharacter, synthesizeSpeech } from "./speechSynthesis.js"
import { makeUsageCounter, type UsageCounter } from "./usage.js"
import {
  arrayField,
  booleanField,
  camelCase,
  encodeServerMessage,
  field,
  invalidArgument,
  invalidJson,
  isObject,
  type JsonObject,
  parseClientFrame,
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
    let turnIndex = 0
    /** `clientContent` text not answered yet (`turnComplete: false`). */
    let pendingText: Array<string> = []
    /** Audio of the user's current turn (16 kHz). */
    let segment: Array<Int16Array> = []
    let segmentSamples = 0
    /** Manual activity detection: between `activityStart` and `activityEnd`. */
    let activityOpen = false

    const untilClosed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.raceFirst(effect, Effect.zipRight(connection.closed, Effect.fail(new SessionEnded())))

    const send = (message: unknown): Effect.Effect<void, SessionEnded> =>
      connection.send(encodeServerMessage(message)).pipe(
        Effect.tap(() => record.server(message)),
        Effect.mapError(() => new SessionEnded())
      )

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

    /** Starts a reply once the current one is over (an interrupting turn has already stopped it). */
    const startReply = (actions: ReadonlyArray<Action>, prelude: Effect.Effect<void, SessionEnded> = Effect.void) =>
      Effect.gen(function*() {
        if (reply !== undefined) yield* untilClosed(Fiber.await(reply))
        reply = yield* Effect.forkScoped(
          Effect.catchAll(Effect.zipRight(prelude, runActions(actions)), () => Effect.void)
        )
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
        const audio = samples === undefined ? new Uint8Array(0) : toBytes(samples)
        if (samples !== undefined) usage.addUserAudio(samples.length / inputSampleRate)
        const transcript = samples === undefined ? undefined : yield* hook(() => config.transcribe(audio))
        const turn: Turn = { index: turnIndex++, text, audio, transcript, setup: setup.raw }
        const actions = yield* hook(() => config.onTurn(turn))
        const prelude = setup.inputTranscription && transcript !== undefined
          ? send({ serverContent: { inputTranscription: { text: transcript } } })
          : Effect.void
        yield* startReply(actions, prelude)
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
        active = {
          setup: result,
          usage: makeUsageCounter(result.systemInstruction),
          detector: makeActivityDetector(result.activityDetection)
        }
        yield* untilClosed(runActions(yield* hook(() => config.beforeSetupComplete(result.raw))))
        yield* send({ setupComplete: yield* dialect.setupComplete })
        const after = yield* hook(() => config.afterSetupComplete(result.raw))
        yield* Effect.forkScoped(Effect.catchAll(runActions(after), () => Effect.void))
      })

    const onMessage = (session: ActiveSession, parsed: { readonly value: unknown } | undefined) =>
      Effect.gen(function*() {
        if (parsed === undefined || !isObject(parsed.value)) return yield* end(invalidJson)
        const message = messageKind(parsed.value)
        if ("code" in message) return yield* end(message)
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
        if (firstMessage) {
          firstMessage = false
          return onFirstMessage(parsed)
        }
        return active === undefined ? Effect.void : onMessage(active, parsed)
      })

    yield* connection.frames.pipe(
      Stream.runForEach(receive),
      Effect.catchTag("SessionEnded", () => Effect.void)
    )
    record.close(yield* connection.closed)
  }).pipe(Effect.scoped)
