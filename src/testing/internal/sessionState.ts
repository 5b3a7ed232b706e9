/**
 * The state of one emulated session (one connection), shared by the modules that serve it: what the
 * connection was opened with, and where the conversation, the reply and the resumption counters are.
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as LiveModel from "../../LiveModel.js"
import type * as Protocol from "../../Protocol.js"
import type { Connection } from "../../Transport.js"
import type { Action, SetupMessage, Turn } from "../LiveEmulator.js"
import type { ActivityDetector } from "./activityDetector.js"
import type { AuthPolicy } from "./auth.js"
import { type Dialect, dialectOf } from "./dialect.js"
import type { ConnectionFaults } from "./faults.js"
import type { FunctionCalls } from "./functionCalls.js"
import type { ConnectionRecorder } from "./recorder.js"
import type { ResumptionStore } from "./resumption.js"
import type { RequestTarget, Route } from "./route.js"
import type { SessionSetup } from "./setup.js"
import type { UsageCounter } from "./usage.js"

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

/** A session whose `setup` was accepted. */
export interface ActiveSession {
  readonly setup: SessionSetup
  /** The setup as the model checks read it (`normalizeSetup`). */
  readonly checked: Protocol.Setup
  /** The model's rules on this backend; `undefined`: a model the registry does not know. */
  readonly check: LiveModel.Check | undefined
  readonly usage: UsageCounter
  readonly detector: ActivityDetector
  readonly calls: FunctionCalls
}

/** The session is over (closed by either side, or dropped): stop whatever was going on. */
export class SessionEnded extends Data.TaggedError("SessionEnded") {}

/** One connection's session; the fields below the first group change as it goes. */
export interface SessionState {
  readonly config: SessionConfig
  readonly request: SessionRequest
  readonly connection: Connection
  readonly record: ConnectionRecorder
  readonly dialect: Dialect
  /** What the scripts' faults do below the WebSocket protocol. */
  readonly faults: ConnectionFaults
  /** A `Stall` ran: nothing is read or sent any more. */
  stalled: boolean

  /** Set once a valid `setup` arrived (before `setupComplete` goes out). */
  active: ActiveSession | undefined

  // The reply.
  /** What the model is saying now, if anything. */
  reply: Fiber.RuntimeFiber<void> | undefined
  /** A model turn has content out and no `turnComplete` yet. */
  modelTurnOpen: boolean
  /** Replies about to start (see `forkReply`): no handle is issued meanwhile. */
  repliesStarting: number
  /** A reply said `interactionStatus: IN_PROGRESS` and not yet `IDLE` (extended thinking). */
  interactionOpen: boolean

  // The conversation (what a handle keeps).
  /** The texts of the conversation's user turns so far (across resumed connections). */
  history: Array<string>
  /** `clientContent` text not answered yet (`turnComplete: false`). */
  pendingText: Array<string>
  /** The system instruction (as text) and tools in force: the setup's, or a later `contextUpdate`'s. */
  systemInstruction: string
  tools: ReadonlyArray<unknown>
  /** Realtime input received, or model output sent: 3.1 takes no more initial history then. */
  started: boolean
  /**
   * The Gemini API's handle model: the conversation as of the input the latest reply answers (or
   * the setup), which is what its handle covers; later input is not in it.
   */
  covered: Covered

  // The user's audio turn.
  /** Audio of the user's current turn (16 kHz). */
  segment: Array<Int16Array>
  segmentSamples: number
  /** Manual activity detection: between `activityStart` and `activityEnd`. */
  activityOpen: boolean

  // Resumption: which conversation this is, and how far the client's messages are consumed.
  /** The id of the conversation's first connection. */
  sessionKey: number
  /** This connection continues a conversation (its setup had a valid handle). */
  resumed: boolean
  /** Client messages the conversation consumed on earlier connections (`setup` messages aside). */
  consumedBefore: number
  /** The index of the client message being handled (the connection's first message, `setup`, is 0). */
  messageIndex: number
  /** The last message whose handling is over (or whose reply has started). */
  handledIndex: number
  /** The first message of a user audio turn in progress: that turn is not in any state yet. */
  audioTurnStart: number | undefined
  /** A `{"resumable": false}` went out since the last handle. */
  notResumableSent: boolean
  /** Tells the resumption store that this connection of the conversation has ended. */
  connectionEnded: Effect.Effect<void>
}

/** The user's side of the conversation at one point (what a Gemini API handle covers). */
export interface Covered {
  readonly history: ReadonlyArray<string>
  readonly pendingText: ReadonlyArray<string>
  readonly systemInstruction: string
  readonly tools: ReadonlyArray<unknown>
}

/** The user's side of the conversation as it is now. */
export const coveredNow = (s: SessionState): Covered => ({
  history: s.history.slice(),
  pendingText: s.pendingText.slice(),
  systemInstruction: s.systemInstruction,
  tools: s.tools
})

/** The state of a connection that has just been accepted. */
export const makeSessionState = (
  config: SessionConfig,
  request: SessionRequest,
  connection: Connection,
  record: ConnectionRecorder,
  faults: ConnectionFaults
): SessionState => ({
  config,
  request,
  connection,
  record,
  dialect: dialectOf(request.route.backend),
  faults,
  stalled: false,
  active: undefined,
  reply: undefined,
  modelTurnOpen: false,
  repliesStarting: 0,
  interactionOpen: false,
  history: [],
  pendingText: [],
  systemInstruction: "",
  tools: [],
  started: false,
  covered: { history: [], pendingText: [], systemInstruction: "", tools: [] },
  segment: [],
  segmentSamples: 0,
  activityOpen: false,
  sessionKey: record.id,
  resumed: false,
  consumedBefore: 0,
  messageIndex: -1,
  handledIndex: -1,
  audioTurnStart: undefined,
  notResumableSent: false,
  connectionEnded: Effect.void
})
