/**
 * One emulated Live session, written once against `Connection` and served on both faces of the
 * emulator (a real socket, the in-memory transport) and for both backends: the route decides the
 * credential check (`auth.ts`), the model names (`setup.ts`) and the wording (`dialect.ts`).
 *
 * One fiber reads the client's frames in order and keeps the session state (`sessionState.ts`);
 * what the model says runs in a reply fiber (`reply.ts`). Frames that arrive while the session is
 * busy (before `setupComplete`, or while a reply is awaited) wait in the connection's bounded
 * buffer and are answered in order, as the real service does.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as LiveModel from "../../LiveModel.js"
import type { Connection, Frame } from "../../Transport.js"
import { makeActivityDetector } from "./activityDetector.js"
import { authenticate } from "./auth.js"
import { messageKind, onMessage, setTools } from "./clientInput.js"
import type { ConnectionFaults } from "./faults.js"
import { makeFunctionCalls } from "./functionCalls.js"
import { normalizeSetup } from "./model.js"
import type { ConnectionRecorder } from "./recorder.js"
import { runActions } from "./reply.js"
import type { ConversationState } from "./resumption.js"
import { end, hook, issueHandle, send, untilClosed, whileStalled } from "./serverMessages.js"
import {
  type ActiveSession,
  coveredNow,
  makeSessionState,
  type SessionConfig,
  type SessionEnded,
  type SessionRequest,
  type SessionState
} from "./sessionState.js"
import { isRejection, parseSetup } from "./setup.js"
import { makeUsageCounter } from "./usage.js"
import {
  arrayField,
  deadlineExpired,
  field,
  invalidArgument,
  invalidJson,
  invalidResumptionHandle,
  isObject,
  parseClientFrame,
  protoDuration
} from "./wire.js"

/**
 * The connection's time limit, counted from `setupComplete`: `goAway` with the time left, then
 * close 1011 when it is up. A reply still going stops with the connection.
 */
const deadline = (s: SessionState, lifetime: Duration.Duration) =>
  Effect.gen(function*() {
    const notice = Duration.min(s.config.goAwayBefore, lifetime)
    yield* Effect.sleep(Duration.subtract(lifetime, notice))
    yield* send(s, { goAway: { timeLeft: protoDuration(Duration.unsafeToNanos(notice)) } })
    yield* Effect.sleep(notice)
    yield* end(s, deadlineExpired)
  })

/**
 * The first message: the credential is checked here, then it must be a valid `setup`, which may
 * resume a conversation with its handle.
 */
const onFirstMessage = (s: SessionState, parsed: { readonly value: unknown } | undefined) =>
  Effect.gen(function*() {
    const { config, request } = s
    const denied = authenticate(request.route, request.target.query, request.headers, config.auth)
    if (denied !== undefined) return yield* end(s, denied)
    if (parsed === undefined || !isObject(parsed.value)) return yield* end(s, invalidJson)
    const message = messageKind(parsed.value)
    if ("code" in message) return yield* end(s, message)
    if (message.kind !== "setup") return yield* end(s, invalidArgument)
    const result = parseSetup(message.body, request.route, config.unknownModels)
    if (isRejection(result)) return yield* end(s, result)
    // The model's rules: a setup it does not take is INVALID_ARGUMENT.
    const check = LiveModel.checkFor(config.models, result.model, request.route.backend)
    const checked = normalizeSetup(result.raw)
    if (check !== undefined && LiveModel.checkSetup(check, checked) !== undefined) return yield* end(s, invalidArgument)
    const handle = result.resumption?.handle
    let state: ConversationState | undefined
    if (handle !== undefined) {
      state = yield* config.resumption.lookup(handle)
      if (
        state === undefined || state.backend !== request.route.backend ||
        !(yield* hook(s, () => config.acceptResumptionHandle(handle)))
      ) {
        return yield* end(s, invalidResumptionHandle)
      }
      // "You can change config, but not the model, when resuming."
      if (state.model !== LiveModel.nameOf(result.model)) return yield* end(s, invalidArgument)
      s.sessionKey = state.sessionKey
      s.resumed = true
      s.history = state.history.slice()
      s.pendingText = state.pendingText.slice()
      s.consumedBefore = state.consumedClientMessages
      s.started = state.started
      s.record.resumed(handle, s.sessionKey)
    }
    // A resumed conversation keeps its system instruction and tools unless this setup sets them.
    const setsInstruction = field(result.raw, "systemInstruction") !== undefined
    s.systemInstruction = setsInstruction ? result.systemInstruction : state?.systemInstruction ?? ""
    const session: ActiveSession = {
      setup: result,
      checked,
      check,
      usage: makeUsageCounter(s.systemInstruction, state?.usage),
      detector: makeActivityDetector(result.activityDetection),
      calls: makeFunctionCalls(check?.rules)
    }
    s.active = session
    setTools(s, session, field(result.raw, "tools") !== undefined ? arrayField(result.raw, "tools") : state?.tools ?? [])
    s.handledIndex = 0
    s.covered = coveredNow(s)
    if (result.resumption !== undefined) {
      s.connectionEnded = yield* config.resumption.connect(s.sessionKey)
      yield* Effect.addFinalizer(() => s.connectionEnded)
    }
    yield* untilClosed(s, runActions(s, yield* hook(s, () => config.beforeSetupComplete(result.raw))))
    yield* send(s, { setupComplete: yield* s.dialect.setupComplete })
    if (result.resumption !== undefined) yield* issueHandle(s, session)
    if (config.connectionLifetime !== undefined) {
      yield* Effect.forkScoped(Effect.catchAll(deadline(s, config.connectionLifetime), () => Effect.void))
    }
    const after = yield* hook(s, () => config.afterSetupComplete(result.raw))
    yield* Effect.forkScoped(Effect.catchAll(runActions(s, after), () => Effect.void))
  })

/**
 * Serves one accepted connection until it closes. Never fails: bad input ends the session with the
 * close the real service would send.
 */
export const serve = (
  config: SessionConfig,
  request: SessionRequest,
  connection: Connection,
  record: ConnectionRecorder,
  faults: ConnectionFaults
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const s = makeSessionState(config, request, connection, record, faults)
    let firstMessage = true
    const receive = (frame: Frame): Effect.Effect<void, SessionEnded, Scope.Scope> =>
      Effect.suspend(() => {
        // A stalled session reads nothing more (in memory, the client's sends fill the buffer).
        if (s.stalled) return whileStalled(s)
        const parsed = parseClientFrame(frame)
        if (parsed !== undefined) record.client(parsed.value)
        const index = ++s.messageIndex
        const handled = firstMessage
          ? onFirstMessage(s, parsed)
          : s.active === undefined
          ? Effect.void
          : onMessage(s, s.active, parsed)
        firstMessage = false
        return Effect.tap(handled, () => {
          s.handledIndex = Math.max(s.handledIndex, index)
        })
      })

    yield* connection.frames.pipe(
      Stream.runForEach(receive),
      Effect.catchTag("SessionEnded", () => Effect.void)
    )
    const closed = yield* connection.closed
    // Before the record says closed: the handles' lifetime runs from now.
    yield* s.connectionEnded
    record.close(closed)
  }).pipe(Effect.scoped)
