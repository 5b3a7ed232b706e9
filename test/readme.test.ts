/**
 * The README and docs/ as users read them: their code compiles, their commands are CI's, their
 * links lead somewhere.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.join(import.meta.dirname, "..")
const read = (file: string) => Fs.readFileSync(Path.join(root, file), "utf8")

const filesUnder = (dir: string, ext: string): ReadonlyArray<string> =>
  Fs.readdirSync(Path.join(root, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(ext))
    .map((f) => Path.join(dir, f))
    .sort()

/** The README and every page of docs/, as paths from the root. */
const pages = ["README.md", ...filesUnder("docs", ".md")]

/** The fenced code blocks of a page, with their language. */
const codeBlocks = (markdown: string): ReadonlyArray<{ readonly lang: string; readonly code: string }> =>
  Array.from(markdown.matchAll(/^ *```(\w*)\n([\s\S]*?)^ *```$/gm), (m) => ({ lang: m[1], code: m[2] }))

/** A page without its code blocks (their `#` lines are not headings, their brackets not links). */
const prose = (markdown: string) => markdown.replace(/^ *```\w*\n[\s\S]*?^ *```$/gm, "")

/** Lines with their indentation and trailing blanks cut, so a snippet matches at any depth. */
const trimmedLines = (text: string) => text.replace(/\n$/, "").split("\n").map((line) => line.trim())

const contains = (haystack: ReadonlyArray<string>, needle: ReadonlyArray<string>) =>
  haystack.some((_, i) => needle.every((line, j) => haystack[i + j] === line))

/** GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as hyphens. */
const anchorsOf = (markdown: string): ReadonlySet<string> => {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, title] of prose(markdown).matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const slug = title.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-")
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

describe("README and docs", () => {
  // examples/readme.ts is compiled by the type check, so the README's example is too.
  it("the 20-line example equals examples/readme.ts", () => {
    const block = /## In 20 lines\n\n```ts\n([\s\S]*?)```/.exec(read("README.md"))?.[1]
    const example = read(Path.join("examples", "readme.ts"))
    expect(block).toBeDefined()
    expect(block!.split("\n").length).toBeLessThanOrEqual(21)
    expect(example.slice(example.indexOf("\n") + 1)).toBe(block)
  })

  it("shows the commands CI runs", () => {
    const readme = read("README.md")
    const ci = read(Path.join(".ci", "run"))
    for (const command of ["npm test", "npm run check"]) {
      expect(readme).toContain(command)
      expect(ci).toContain(command)
    }
  })

  // Snippets live, with the declarations they assume, in examples/ (docs/ snippets in
  // examples/docs/{page}.ts), which the type check compiles: a snippet that no longer compiles, or
  // that was edited on one side only, fails.
  it("every ts block is in a type-checked file under examples/", () => {
    const examples = filesUnder("examples", ".ts").map((file) => trimmedLines(read(file)))
    const missing = pages.flatMap((page) =>
      codeBlocks(read(page))
        .filter((block) => block.lang === "ts")
        .filter((block) => !examples.some((example) => contains(example, trimmedLines(block.code))))
        .map((block) => `${page}: ${block.code.split("\n")[0]}`)
    )
    expect(pages.length).toBeGreaterThan(5)
    expect(missing).toEqual([])
  })

  it("every relative link points to a file and heading", () => {
    const broken: Array<string> = []
    for (const page of pages) {
      for (const [, target] of prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue
        const [file, anchor] = target.split("#")
        const path = file === "" ? page : Path.join(Path.dirname(page), file)
        if (!Fs.existsSync(Path.join(root, path))) broken.push(`${page}: ${target} (no such file)`)
        else if (anchor !== undefined && !anchorsOf(read(path)).has(anchor)) broken.push(`${page}: ${target} (no such heading)`)
      }
    }
    expect(broken).toEqual([])
  })
})
