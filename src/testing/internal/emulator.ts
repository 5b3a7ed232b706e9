/**
 * A running emulator: its options resolved, both faces (the socket server and the in-memory
 * transport) serving the same sessions, and the recorder behind `connections`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as LiveModel from "../../LiveModel.js"
import type * as Transport from "../../Transport.js"
import type { Action, Options, Service, Turn } from "../LiveEmulator.js"
import * as MemoryTransport from "../MemoryTransport.js"
import { say } from "./actions.js"
import { type ConnectionFaults, memoryFaults } from "./faults.js"
import { inputSampleRate } from "./pcm.js"
import { makeRecorder, type Recorder } from "./recorder.js"
import { makeResumptionStore } from "./resumption.js"
import { matchRoute, parseRequestTarget } from "./route.js"
import { serve } from "./session.js"
import type { SessionConfig } from "./sessionState.js"
import * as SocketServer from "./socketServer.js"
import { makeTokenEndpoint, tokenPath, type TokenEndpoint } from "./tokenEndpoint.js"

export const defaultUnknownModels: ReadonlyArray<string> = [
  "gemini-2.0-flash-exp",
  "gemini-live-2.5-flash-preview",
  "gemini-2.0-flash-live-001"
]

export const defaultResumptionHandleLifetime: Duration.Duration = Duration.hours(2)

export const defaultGoAwayBefore: Duration.Duration = Duration.seconds(60)

const audioSeconds = (audio: Uint8Array): number => audio.length / 2 / inputSampleRate

export const defaultTurn = (turn: Turn): ReadonlyArray<Action> => [
  say(
    turn.text === undefined
      ? `I heard ${audioSeconds(turn.audio).toFixed(1)} seconds of audio.`
      : `You said: "${turn.text}"`
  )
]

export const defaultTranscribe = (audio: Uint8Array): string => `[${audioSeconds(audio).toFixed(2)} s of speech]`

const finite = (duration: Duration.DurationInput | undefined): Duration.Duration | undefined => {
  if (duration === undefined) return undefined
  const decoded = Duration.decode(duration)
  return Duration.isFinite(decoded) ? decoded : undefined
}

const resolve = (options: Options, tokens: TokenEndpoint): SessionConfig => ({
  realtime: options.realtime ?? false,
  auth: {
    isValidApiKey: options.isValidApiKey ?? ((key) => key.length > 0),
    isValidAuthToken: options.isValidAuthToken ?? ((token) => token.startsWith("auth_tokens/")),
    isValidAccessToken: (token) =>
      tokens.issued(token) || (options.isValidAccessToken ?? ((token) => token.length > 0))(token)
  },
  unknownModels: new Set((options.unknownModels ?? defaultUnknownModels).map(LiveModel.nameOf)),
  models: options.models ?? LiveModel.known,
  beforeSetupComplete: options.beforeSetupComplete ?? (() => []),
  afterSetupComplete: options.afterSetupComplete ?? (() => []),
  onTurn: options.onTurn ?? defaultTurn,
  onMessage: options.onMessage ?? (() => undefined),
  transcribe: options.transcribe ?? defaultTranscribe,
  resumption: makeResumptionStore(
    Duration.toMillis(options.resumptionHandleLifetime ?? defaultResumptionHandleLifetime)
  ),
  acceptResumptionHandle: options.acceptResumptionHandle ?? (() => true),
  connectionLifetime: finite(options.connectionLifetime),
  goAwayBefore: Duration.decode(options.goAwayBefore ?? defaultGoAwayBefore)
})

const lowerCaseHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const lower: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) lower[name.toLowerCase()] = typeof value === "string" ? value : value.join(", ")
  }
  return lower
}

const serveRequest = (
  config: SessionConfig,
  recorder: Recorder,
  transport: "socket" | "memory",
  url: string,
  rawHeaders: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  connection: Transport.Connection,
  faults: ConnectionFaults
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const target = parseRequestTarget(url)
    const route = matchRoute(target.path)
    if (route === undefined) {
      // Unreachable: both faces refuse the upgrade first.
      yield* connection.terminate
      return
    }
    const headers = lowerCaseHeaders(rawHeaders)
    const record = yield* recorder.open({
      transport,
      backend: route.backend,
      path: target.path,
      query: target.query,
      headers
    })
    yield* serve(config, { route, target, headers }, connection, record, faults)
  })

export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const tokens = makeTokenEndpoint()
    const config = resolve(options, tokens)
    const recorder = makeRecorder({
      connections: options.recordLimits?.connections ?? 64,
      messagesPerDirection: options.recordLimits?.messagesPerDirection ?? 10_000
    })
    const accepts = (url: string) => matchRoute(parseRequestTarget(url).path) !== undefined
    // Upgrades to refuse, and with which status, on either face.
    const refusals: Array<number> = []
    const refuse = (count: number, status: number) => {
      for (let i = 0; i < count; i++) refusals.push(status)
    }
    if (options.refuseUpgrades !== undefined) refuse(options.refuseUpgrades.count, options.refuseUpgrades.status)

    const port = yield* SocketServer.start(options.port ?? 0, {
      accepts,
      refuses: () => refusals.shift(),
      http: tokens.handle,
      serve: (request: Http.IncomingMessage, connection, faults) =>
        serveRequest(config, recorder, "socket", request.url ?? "", request.headers, connection, faults)
    })

    const memoryServer: MemoryTransport.Server = {
      upgrade: (request) => {
        if (!accepts(request.url)) return { status: 404, message: "Not Found" }
        const status = refusals.shift()
        return status === undefined ? undefined : { status, message: Http.STATUS_CODES[status] ?? "Error" }
      },
      serve: (request, peer) =>
        serveRequest(config, recorder, "memory", request.url, request.headers, peer, memoryFaults(peer))
    }

    return {
      url: `http://127.0.0.1:${port}`,
      port,
      layerTransport: MemoryTransport.layer(memoryServer),
      connections: recorder.snapshot,
      awaitClosed: recorder.awaitClosed,
      refuseUpgrades: (count, status) => Effect.sync(() => refuse(count, status)),
      tokenUri: `http://127.0.0.1:${port}${tokenPath}`,
      failTokenRequests: (count, failure) => Effect.sync(() => tokens.fail(count, failure)),
      tokenRequests: Effect.sync(() => tokens.requests())
    }
  })
