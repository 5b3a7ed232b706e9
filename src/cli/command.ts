/**
 * Dispatch: runs the parsed command and turns every outcome into an exit code, with failures said
 * in one line on stderr (`gemini-live: ...`). Interruption (Ctrl-C) is left to the runtime.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Args from "./args.js"
import { emulator } from "./emulator.js"
import { describe, type UsageError } from "./errors.js"
import { talk } from "./talk.js"

/**
 * The exit codes: success, failure, misuse of the command line.
 *
 * @since 0.1.0
 * @category Models
 */
export type ExitCode = 0 | 1 | 2

/** The main usage in full (it is short); a command's synopsis and where its options are. */
const misuse = (error: UsageError): Effect.Effect<ExitCode> =>
  Console.error(
    `gemini-live: ${error.message}\n\n${
      error.topic === "main"
        ? Args.usage("main")
        : `${Args.usage(error.topic).split("\n")[0]}\nRun 'gemini-live help ${error.topic}' for the options.`
    }`
  ).pipe(Effect.as(2 as const))

/**
 * Runs a parsed command line: help goes to stdout (exit 0), misuse to stderr with the usage
 * (exit 2), a failed command's error to stderr (exit 1).
 *
 * @since 0.1.0
 * @category Actions
 */
export const run = (parsed: Either.Either<Args.Command, UsageError>): Effect.Effect<ExitCode> => {
  if (Either.isLeft(parsed)) return misuse(parsed.left)
  const command = parsed.right
  const effect: Effect.Effect<void, unknown> = command._tag === "Help"
    ? Console.log(Args.usage(command.topic))
    : command._tag === "Talk"
    ? talk(command.options)
    : emulator(command.options)
  return effect.pipe(
    Effect.as<ExitCode>(0),
    Effect.catchAll((error) => Console.error(`gemini-live: ${describe(error)}`).pipe(Effect.as<ExitCode>(1))),
    Effect.catchAllDefect((defect) =>
      Console.error(`gemini-live: unexpected error: ${describe(defect)}`).pipe(Effect.as<ExitCode>(1))
    )
  )
}

/**
 * The exit code when the command is interrupted (Ctrl-C, SIGTERM): 0 for the emulator, whose
 * normal end it is; 130 (128 + SIGINT) for the others.
 *
 * @since 0.1.0
 * @category Utils
 */
export const interruptedExitCode = (parsed: Either.Either<Args.Command, UsageError>): number =>
  Either.isRight(parsed) && parsed.right._tag === "Emulator" ? 0 : 130
