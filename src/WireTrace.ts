/**
 * The WireTrace service (the seed's `trace: true`): a plain-text log of every frame, for
 * diagnostics (not `Tracer`, which is Effect's). Lines as in Google's SDK recordings:
 * `{ISO time} >{bytes} {text}` sent, `<{bytes} {text}` received (`{bytes}` delimits text that may
 * span lines), `# {note}` for open and close. URLs are redacted; with `privacy` payloads too.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Frame } from "./Transport.js"

/**
 * The trace of one session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SessionTrace {
  /** Whether anything is recorded (a disabled trace costs one check per frame). */
  readonly enabled: boolean
  readonly sent: (frame: string) => void
  readonly received: (frame: Frame) => void
  readonly note: (text: string) => void
  /** Where the trace is written (a file path), if anywhere a user can open. */
  readonly location: string | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** Starts the trace of a session; it is finished (flushed, closed) with the scope. */
  readonly open: (session: { readonly id: string; readonly url: string }) => Effect.Effect<SessionTrace, never, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class WireTrace extends Context.Tag("effect-gemini-live/WireTrace")<WireTrace, Service>() {}

/**
 * Options of the recording sinks.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Redact payloads: keep only each message's kind and size (the seed's `privacy: true`). */
  readonly privacy?: boolean | undefined
}

const disabled: SessionTrace = { enabled: false, sent: () => {}, received: () => {}, note: () => {}, location: undefined }

/**
 * No trace.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerNone: Layer.Layer<WireTrace> = Layer.succeed(
  WireTrace,
  WireTrace.of({ open: () => Effect.succeed(disabled) })
)

const textDecoder = new TextDecoder()

const messageKind = (text: string): string => /^\s*\{\s*"([A-Za-z_]+)"/.exec(text)?.[1] ?? "unknown"

/** Formats one entry; `direction` is ">" (sent), "<" (received) or "#" (note). */
const entry = (direction: ">" | "<", frame: Frame, privacy: boolean): string => {
  const text = typeof frame === "string" ? frame : textDecoder.decode(frame)
  const bytes = typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength
  const shown = privacy ? `{"${messageKind(text)}":"<redacted ${bytes} bytes>"}` : text
  return `${new Date().toISOString()} ${direction}${Buffer.byteLength(shown)} ${shown}\n`
}

const note = (text: string): string => `${new Date().toISOString()} # ${text}\n`

const makeTrace = (write: (line: string) => void, privacy: boolean, location: string | undefined): SessionTrace => ({
  enabled: true,
  sent: (frame) => write(entry(">", frame, privacy)),
  received: (frame) => write(entry("<", frame, privacy)),
  note: (text) => write(note(text)),
  location
})

/**
 * The default trace directory: `$TMPDIR/effect-gemini-live/traces`.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultDirectory = (): string => Path.join(Os.tmpdir(), "effect-gemini-live", "traces")

/**
 * Writes each session's trace to `{directory}/{session id}.trace`. A trace that cannot be written
 * (e.g. a read-only directory) is logged as a warning and skipped: diagnostics never fail a session.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFile = (options: Options & { readonly directory?: string | undefined } = {}): Layer.Layer<WireTrace> =>
  Layer.succeed(
    WireTrace,
    WireTrace.of({
      open: (session) => {
        const directory = options.directory ?? defaultDirectory()
        const path = Path.join(directory, `${session.id}.trace`)
        return Effect.acquireRelease(
          Effect.try(() => {
            Fs.mkdirSync(directory, { recursive: true })
            return Fs.createWriteStream(path, { flags: "a" })
          }),
          (stream) => Effect.async<void>((resume) => {
            stream.end(() => resume(Effect.void))
          })
        ).pipe(
          Effect.map((stream) => {
            stream.on("error", () => {})
            const trace = makeTrace((line) => stream.write(line), options.privacy === true, path)
            trace.note(`open ${session.url}`)
            return trace
          }),
          Effect.catchAll((error) =>
            Effect.as(Effect.logWarning(`effect-gemini-live: cannot write the wire trace to ${path}`, error), disabled)
          )
        )
      }
    })
  )

/**
 * The lines of an in-memory trace (`layerMemory`).
 *
 * @since 0.1.0
 * @category Context
 */
export class MemoryTrace extends Context.Tag("effect-gemini-live/WireTrace/MemoryTrace")<
  MemoryTrace,
  { readonly lines: Effect.Effect<ReadonlyArray<string>> }
>() {}

/**
 * Keeps every session's trace lines in memory; read them with `MemoryTrace` (for tests).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerMemory = (options: Options = {}): Layer.Layer<WireTrace | MemoryTrace> =>
  Layer.effectContext(Effect.sync(() => {
    const lines: Array<string> = []
    const service = WireTrace.of({
      open: (session) =>
        Effect.sync(() => {
          const trace = makeTrace((line) => lines.push(line), options.privacy === true, undefined)
          trace.note(`open ${session.url}`)
          return trace
        })
    })
    return Context.make(WireTrace, service).pipe(Context.add(MemoryTrace, { lines: Effect.sync(() => [...lines]) }))
  }))
