/**
 * Builds the package (`npm run build`: dist/, what `npm install` gives users) before the tests, so
 * that the examples and the `gemini-live` command, which run it as users do, run the current sources.
 */
import { execFileSync } from "node:child_process"
import * as Path from "node:path"

export default function setup(): void {
  const root = Path.join(import.meta.dirname, "..")
  execFileSync(process.execPath, [Path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit"
  })
}
