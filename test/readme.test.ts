import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.join(import.meta.dirname, "..")

describe("README", () => {
  it("its 20-line example is examples/readme.ts, which the type check compiles", () => {
    const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
    const block = /## In 20 lines\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1]
    const example = Fs.readFileSync(Path.join(root, "examples", "readme.ts"), "utf8")
    expect(block).toBeDefined()
    expect(block!.split("\n").length).toBeLessThanOrEqual(21)
    expect(example.slice(example.indexOf("\n") + 1)).toBe(block)
  })

  it("shows the commands CI runs", () => {
    const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
    const ci = Fs.readFileSync(Path.join(root, ".ci", "run"), "utf8")
    for (const command of ["npm test", "npm run check"]) {
      expect(readme).toContain(command)
      expect(ci).toContain(command)
    }
  })
})
