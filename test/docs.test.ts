/**
 * The house rule "every exported name has a doc comment with @since and one @category of the
 * eleven", checked on the public modules (src/*.ts and src/testing/*.ts; src/internal is not public).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import ts from "typescript"

const root = Path.join(import.meta.dirname, "..", "src")
const publicModules = [
  ...Fs.readdirSync(root).filter((f) => f.endsWith(".ts")).map((f) => Path.join(root, f)),
  ...Fs.readdirSync(Path.join(root, "testing")).filter((f) => f.endsWith(".ts")).map((f) => Path.join(root, "testing", f))
]

const categories = new Set([
  "Models",
  "Constructors",
  "Layers",
  "Context",
  "Schemas",
  "Errors",
  "Constants",
  "Actions",
  "Codecs",
  "Guards",
  "Utils"
])

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

const tagsOf = (node: ts.Node): ReadonlyArray<string> =>
  ts.getJSDocTags(node).map((tag) => tag.tagName.text)

const categoriesOf = (node: ts.Node): ReadonlyArray<string> =>
  ts.getJSDocTags(node)
    .filter((tag) => tag.tagName.text === "category")
    .map((tag) => (ts.getTextOfJSDocComment(tag.comment) ?? "").trim())

const undocumented = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, Fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  const problems: Array<string> = []
  const header = source.statements[0]
  if (header === undefined || !ts.getJSDocTags(header).some((t) => t.tagName.text === "since")) {
    problems.push("module header without @since")
  }
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (!tagsOf(statement).includes("since")) problems.push(`re-export ${statement.getText().slice(0, 60)} without @since`)
      continue
    }
    if (!isExported(statement)) continue
    const node = ts.isVariableStatement(statement) ? statement.declarationList.declarations[0] : statement
    const name = (node as { name?: ts.Node }).name?.getText() ?? "?"
    const tags = ts.isVariableStatement(statement) ? tagsOf(statement).concat(tagsOf(node)) : tagsOf(node)
    if (!tags.includes("since")) problems.push(`${name} without @since`)
    if (!tags.includes("category")) problems.push(`${name} without @category`)
    // A variable's declaration carries its statement's doc comment too.
    const found = categoriesOf(node)
    if (found.length > 1) problems.push(`${name} with ${found.length} @category tags`)
    for (const category of found) {
      if (!categories.has(category)) problems.push(`${name} with @category ${category}, not one of the eleven`)
    }
  }
  return problems.map((p) => `${Path.relative(root, file)}: ${p}`)
}

describe("documentation", () => {
  it("every public export has @since and a house @category", () => {
    expect(publicModules.length).toBeGreaterThan(10)
    expect(publicModules.flatMap(undocumented)).toEqual([])
  })
})
