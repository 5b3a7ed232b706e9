/**
 * The house rules on the module tree (DESIGN.md): no value imports in a circle, no source file over
 * 600 lines, and the client never reaching into the test kit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import ts from "typescript"

const src = Path.join(import.meta.dirname, "..", "src")
const files = (Fs.readdirSync(src, { recursive: true }) as Array<string>)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => Path.join(src, file))

/** The modules `file` imports for their values (not `import type`, not `type` specifiers only). */
const valueImports = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, Fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const imports: Array<string> = []
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue
    const specifier = statement.moduleSpecifier
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.isTypeOnly) continue
      const bindings = clause?.namedBindings
      const onlyTypes = clause !== undefined && clause.name === undefined && bindings !== undefined &&
        ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)
      if (onlyTypes) continue
    } else if (statement.isTypeOnly) {
      continue
    }
    imports.push(Path.resolve(Path.dirname(file), specifier.text.replace(/\.js$/, ".ts")))
  }
  return imports
}

describe("the module tree", () => {
  it("has no value imports in a circle", () => {
    const graph = new Map(files.map((file) => [file, valueImports(file)]))
    const cycles: Array<string> = []
    const state = new Map<string, "visiting" | "done">()
    const visit = (file: string, path: ReadonlyArray<string>) => {
      if (state.get(file) === "done") return
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => Path.relative(src, f)).join(" -> "))
        return
      }
      state.set(file, "visiting")
      for (const next of graph.get(file) ?? []) visit(next, [...path, file])
      state.set(file, "done")
    }
    for (const file of files) visit(file, [])
    expect(cycles).toEqual([])
  })

  it("has no source file over 600 lines", () => {
    const long = files
      .map((file) => [Path.relative(src, file), Fs.readFileSync(file, "utf8").split("\n").length] as const)
      .filter(([, lines]) => lines > 600)
    expect(long).toEqual([])
  })

  it("keeps the client out of the test kit", () => {
    const client = files.filter((file) => !Path.relative(src, file).startsWith("testing") && !Path.relative(src, file).startsWith("cli"))
    const reaching = client.filter((file) => valueImports(file).some((target) => Path.relative(src, target).startsWith("testing")))
    expect(reaching.map((file) => Path.relative(src, file))).toEqual([])
  })
})
