/**
 * What one session holds: its parts (options, services, hub, playback), its life-cycle `state`, and
 * the conversation's bookkeeping across connections. The steps that read and change it live beside
 * it: `state` (transitions), `link`, `receive`, `send`, `calls`, `resumption`, `supervisor`, `make`.
 * A class, so that an idle session is its fields and little else (a process may hold thousands).
 */
import type * as FiberHandle from "effect/FiberHandle"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Auth from "../../Auth.js"
import type * as Backend from "../../Backend.js"
import type { ProtocolError } from "../../LiveError.js"
import type * as LiveEvent from "../../LiveEvent.js"
import type * as LiveModel from "../../LiveModel.js"
import type { Options } from "../../LiveSession.js"
import type * as Protocol from "../../Protocol.js"
import type * as ReconnectPolicy from "../../ReconnectPolicy.js"
import type * as Statistics from "../../Statistics.js"
import type * as Transport from "../../Transport.js"
import type * as WireTrace from "../../WireTrace.js"
import type * as ModelAudio from "../audio/modelAudio.js"
import type * as Playback from "../audio/playback.js"
import type * as Framer from "../audio/framer.js"
import type * as EventHub from "../events/hub.js"
import { Signal } from "../kernel/signal.js"
import * as Calls from "./calls.js"
import * as ReplayLog from "./replayLog.js"
import * as Resumption from "./resumption.js"
import * as State from "./state.js"
import type * as ToolDispatcher from "./toolDispatcher.js"

/** What a session is made of: its options, services and parts. */
export interface Parts {
  readonly options: Options<any>
  readonly setup: Protocol.Setup
  readonly model: LiveModel.Check | undefined
  readonly policy: ReconnectPolicy.ReconnectPolicy | undefined
  readonly backend: Backend.Service
  readonly auth: Auth.Service
  readonly transport: Transport.Service
  readonly wireTrace: WireTrace.Service
  readonly statistics: Statistics.SessionStatistics
  /** Statistics are on: bytes are counted. */
  readonly countBytes: boolean
  /** Where connections and the trace live: closes after the session's close finalizer. */
  readonly linksScope: Scope.CloseableScope
  readonly hub: EventHub.EventHub<LiveEvent.LiveEvent>
  readonly playback: Playback.Playback
  readonly modelAudio: ModelAudio.ModelAudio
}

export class Session {
  readonly id = newSessionId()
  readonly options: Options<any>
  /** The setup the session opened with (`LiveSession.setup`). */
  readonly setup: Protocol.Setup
  /** The setup of the next connection: the first, with the context updates sent since. */
  linkSetup: Protocol.Setup
  /** The model's rules on this backend; `undefined` for a model `LiveModel` does not know. */
  readonly model: LiveModel.Check | undefined
  readonly policy: ReconnectPolicy.ReconnectPolicy | undefined
  readonly backend: Backend.Service
  readonly auth: Auth.Service
  readonly quirks: Backend.Quirks
  readonly transport: Transport.Service
  readonly wireTrace: WireTrace.Service
  readonly statistics: Statistics.SessionStatistics
  readonly countBytes: boolean
  readonly linksScope: Scope.CloseableScope
  readonly hub: EventHub.EventHub<LiveEvent.LiveEvent>
  readonly playback: Playback.Playback
  readonly modelAudio: ModelAudio.ModelAudio
  /** Transparent resumption: what the server may not have consumed, to send again on reconnecting. */
  readonly replay: ReplayLog.ReplayLog | undefined
  /** Answers function calls, when the session has a toolkit. */
  dispatcher: ToolDispatcher.Dispatcher | undefined
  trace: WireTrace.SessionTrace | undefined

  /** Where the session is in its life (`State`). */
  state: State.State = State.connecting()
  /** Woken when a link closes and when the session has closed. */
  readonly changed = new Signal()
  /** Runs the reconnection or handover in progress; made at the first (most sessions never need one). */
  supervisor: FiberHandle.FiberHandle<void, never> | undefined
  /** The reconnect policy's schedule, driven across reconnections; made at the first. */
  retries: Schedule.ScheduleDriver<unknown, unknown, never> | undefined
  linksOpened = 0
  /** The server's session id (of the first connection's `setupComplete`). */
  sessionId: string | undefined

  // The conversation, across connections
  /** The latest handle the server said can be resumed, and whether it is newer than any generation. */
  handle: string | undefined
  handleFresh = false
  generating = false
  /** The conversation has started: realtime input was sent, or the model spoke (`LiveModel` clientContent rules). */
  started = false
  /** Function calls in flight, and which of them the server cancels on new input (`Calls`). */
  readonly calls: Calls.Calls
  /** With a toolkit: the functions the application declared itself (it answers them), which the dispatcher leaves alone. */
  readonly manualFunctions: Set<string> | undefined
  /** What `sendAudio` and `audioInput` write through (made on first use). */
  sink: Framer.Sink | undefined
  /** A server message's field of the wrong type was dropped (the rest delivered): counted, kept for the log. */
  readonly onDropped: (error: ProtocolError) => void
  /** Drops of the frame being handled, logged by `receive` in the session's own runtime (its logger). */
  dropped: Array<ProtocolError> | undefined

  constructor(parts: Parts) {
    this.options = parts.options
    this.setup = parts.setup
    this.linkSetup = parts.setup
    this.model = parts.model
    this.policy = parts.policy
    this.backend = parts.backend
    this.auth = parts.auth
    this.quirks = parts.backend.quirks()
    this.transport = parts.transport
    this.wireTrace = parts.wireTrace
    this.statistics = parts.statistics
    this.countBytes = parts.countBytes
    this.linksScope = parts.linksScope
    this.hub = parts.hub
    this.playback = parts.playback
    this.modelAudio = parts.modelAudio
    this.replay = parts.policy !== undefined && Resumption.isTransparent(parts.setup)
      ? ReplayLog.make(Resumption.replayLogBytes)
      : undefined
    this.calls = Calls.make()
    const statistics = parts.statistics
    this.onDropped = (error) => {
      statistics.protocolError()
      ;(this.dropped ??= []).push(error)
    }
    this.manualFunctions = parts.options.tools === undefined
      ? undefined
      : new Set(Calls.functionNames(parts.options.connectConfig.tools))
  }
}

/**
 * A new session id. Node builds `crypto.randomUUID()` as a rope of 20 pieces, which V8 keeps until
 * something flattens it; a copy is one 36-byte string (docs/performance.md).
 */
const newSessionId = (): string => Buffer.from(crypto.randomUUID(), "latin1").toString("latin1")
