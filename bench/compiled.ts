/**
 * The benchmarks run the code users run: `src/` and `bench/` compiled to plain JavaScript (what
 * `npm run build` emits for the package, file by file), in a temporary tree, under plain Node — not
 * under tsx, whose esbuild transform of every module (TypeScript or not) changes what is measured
 * (an idle session: 54 KiB of heap under tsx, 36 KiB compiled).
 */
import ts from "typescript"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

export const projectRoot = Path.resolve(fileURLToPath(new URL("..", import.meta.url)))

/** `src/` and `bench/` as ES2022 modules in a new temporary directory (same layout; `node_modules` linked); gives the directory. */
export const compileTree = (prefix = "gemini-live-bench-"): string => {
  const out = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix)), "tree")
  const walk = (dir: string): Array<string> =>
    Fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? entry.name.startsWith(".") ? [] : walk(Path.join(dir, entry.name))
        : entry.name.endsWith(".ts") ? [Path.join(dir, entry.name)] : []
    )
  for (const file of [...walk(Path.join(projectRoot, "src")), ...walk(Path.join(projectRoot, "bench"))]) {
    const { outputText } = ts.transpileModule(Fs.readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true }
    })
    const target = Path.join(out, Path.relative(projectRoot, file)).replace(/\.ts$/, ".js")
    Fs.mkdirSync(Path.dirname(target), { recursive: true })
    Fs.writeFileSync(target, outputText)
  }
  Fs.writeFileSync(Path.join(out, "package.json"), JSON.stringify({ type: "module" }))
  Fs.symlinkSync(Path.join(projectRoot, "node_modules"), Path.join(out, "node_modules"))
  return out
}
