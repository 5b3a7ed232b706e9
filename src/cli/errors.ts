/**
 * The command line's own errors, and how any failure becomes one line on stderr.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import { isLiveError } from "../LiveError.js"

/**
 * The help topics: the whole tool or one command.
 *
 * @since 0.1.0
 * @category Models
 */
export type Topic = "main" | "talk" | "emulator"

/**
 * The command line was misused (an unknown command or flag, a missing or bad value): exit code 2,
 * with the usage of `topic`.
 *
 * @since 0.1.0
 * @category Errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly message: string
  readonly topic: Topic
}> {}

/**
 * A command failed for a reason of its own (no reply in time, a port in use, ...): exit code 1.
 *
 * @since 0.1.0
 * @category Errors
 */
export class CliError extends Data.TaggedError("CliError")<{
  readonly message: string
}> {}

/**
 * The one-line description of a failure: the message of a `LiveError` (which never carries a
 * secret), a `CliError` or a `UsageError`, else the error's own message.
 *
 * @since 0.1.0
 * @category Errors
 */
export const describe = (error: unknown): string => {
  if (isLiveError(error) || error instanceof CliError || error instanceof UsageError) return oneLine(error.message)
  if (error instanceof Error) return oneLine(error.message)
  return oneLine(String(error))
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()
