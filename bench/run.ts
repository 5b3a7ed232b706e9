/**
 * `npm run bench`: compiles the sources (`compiled.ts`) and runs `bench/main.js` on them with plain
 * Node, with the arguments given; removes the tree afterwards.
 *
 *   npm run bench -- --quick        (every option: see main.ts)
 *   npm run bench -- --source       runs main.ts under tsx instead, on the TypeScript sources
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { compileTree, projectRoot } from "./compiled.js"

const args = process.argv.slice(2)
const source = args.includes("--source")
const tree = source ? undefined : compileTree()
const result = spawnSync(
  process.execPath,
  tree === undefined
    ? ["--import", "tsx", Path.join(projectRoot, "bench", "main.ts"), ...args.filter((arg) => arg !== "--source")]
    : [Path.join(tree, "bench", "main.js"), ...args],
  { stdio: "inherit", cwd: projectRoot }
)
if (tree !== undefined) Fs.rmSync(Path.dirname(tree), { recursive: true, force: true })
process.exitCode = result.status ?? 1
