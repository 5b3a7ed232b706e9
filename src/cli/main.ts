/**
 * The entry point of the `gemini-live` command (`bin/gemini-live.mjs` imports it): parses
 * `process.argv`, runs the command with `NodeRuntime.runMain` (Ctrl-C and SIGTERM interrupt it,
 * which closes sessions and servers cleanly) and exits with the command's exit code.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Args from "./args.js"
import * as Command from "./command.js"

const parsed = Args.parse(process.argv.slice(2))

NodeRuntime.runMain(Command.run(parsed), {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    onExit(
      Exit.isSuccess(exit)
        ? (exit.value as number)
        : Cause.isInterruptedOnly(exit.cause)
        ? Command.interruptedExitCode(parsed)
        : 1
    )
})
