/**
 * WAV files on disk, through `node:fs` (loaded on first use). The only part of the audio toolkit
 * that needs Node: a browser build replaces this module.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Format, Wav } from "../../Audio.js"
import type { AudioError } from "../../LiveError.js"
import * as WavBytes from "./wav.js"

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

export const read = (path: string): Effect.Effect<Wav, AudioError> =>
  Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.readFile(path)),
    catch: (cause) => WavBytes.wavError("readWavFile", `cannot read ${path}: ${describe(cause)}`)
  }).pipe(
    Effect.flatMap((buffer) =>
      Either.mapLeft(
        WavBytes.read(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)),
        (error) => WavBytes.wavError("readWavFile", `${path}: ${error.description}`)
      )
    )
  )

export const write = (path: string, format: Format, data: Uint8Array): Effect.Effect<void, AudioError> =>
  Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.writeFile(path, WavBytes.write(format, data))),
    catch: (cause) => WavBytes.wavError("writeWavFile", `cannot write ${path}: ${describe(cause)}`)
  })
