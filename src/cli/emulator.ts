/**
 * `gemini-live emulator`: the emulator of `effect-gemini-live/testing` as a standalone server, for
 * any Live API client (this library, Google's SDK, ...), until the process is interrupted
 * (Ctrl-C / SIGTERM), which closes its connections (1000) and the server.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as LiveEmulator from "../testing/LiveEmulator.js"
import { CliError } from "./errors.js"

/**
 * The options of `emulator`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface EmulatorOptions {
  /** 0: any free port. */
  readonly port: number
  /** Pace replies at speaking speed (barge-in becomes possible). */
  readonly realtime: boolean
}

/**
 * The only address the emulator listens on (`LiveEmulator.make` has no host option).
 *
 * @since 0.1.0
 * @category Constants
 */
export const host = "127.0.0.1"

/** Why the server could not listen, from the defect `LiveEmulator.make` dies with. */
const listenFailure = (port: number, defect: unknown): CliError => {
  const code = (defect as { code?: unknown } | undefined)?.code
  const where = `${host}:${port}`
  return new CliError({
    message: code === "EADDRINUSE"
      ? `cannot listen on ${where}: the port is in use (choose another with --port, or --port 0 for any free one)`
      : code === "EACCES"
      ? `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`
      : `cannot listen on ${where}: ${defect instanceof Error ? defect.message : String(defect)}`
  })
}

/**
 * How to point clients at an emulator at `url`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const instructions = (url: string): ReadonlyArray<string> => [
  `Gemini API and Vertex AI endpoints; any non-empty API key or access token is accepted.`,
  ``,
  `Point a client at it:`,
  `  effect-gemini-live  GeminiLive.layer({ apiKey: "any", httpOptions: { baseUrl: "${url}" } })`,
  `  @google/genai       new GoogleGenAI({ apiKey: "any", httpOptions: { baseUrl: "${url}" } })`,
  `  environment         GOOGLE_GEMINI_BASE_URL=${url} GEMINI_API_KEY=any`,
  `                      (read by GeminiLive.layerConfig, Google's SDK and gemini-live talk)`,
  ``,
  `Ctrl-C stops it.`
]

/**
 * `gemini-live emulator`: starts the emulator, prints its URL and how to use it, and serves until
 * interrupted. A port that cannot be bound fails with a `CliError` (the emulator dies on it: the
 * defect is caught here).
 *
 * @since 0.1.0
 * @category Actions
 */
export const emulator = (options: EmulatorOptions): Effect.Effect<never, CliError> =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* LiveEmulator.make({ port: options.port, realtime: options.realtime }).pipe(
      Effect.catchAllDefect((defect) => Effect.fail(listenFailure(options.port, defect)))
    )
    yield* Console.log(`gemini-live emulator listening on ${server.url}${options.realtime ? " (real-time pacing)" : ""}`)
    for (const line of instructions(server.url)) yield* Console.log(line)
    return yield* Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(server.connections, (connections) => {
          const served = connections.length === 0 ? 0 : connections[connections.length - 1].id + 1
          return Console.log(`stopping: ${served} ${served === 1 ? "connection" : "connections"} served`)
        })
      )
    )
  }))
