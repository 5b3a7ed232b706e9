/**
 * The package as users get it: the build's dist/ (JavaScript and declarations), imported by name
 * from plain Node, holds a conversation.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.join(import.meta.dirname, "..")

interface Export {
  readonly "effect-gemini-live:source": string
  readonly types: string
  readonly default: string
}

const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as {
  readonly exports: Record<string, Export>
  readonly dependencies: Record<string, string>
  readonly peerDependencies: Record<string, string>
  readonly devDependencies: Record<string, string>
}
const exportsMap = manifest.exports

/** A conversation in plain JavaScript, with the package imported by name (ESM, no loader). */
const program = `
import { Effect, Stream } from "effect"
import { GeminiLive, LiveEvent } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"

const turn = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  yield* session.sendClientContent({ turns: "Hello from plain Node" })
  let transcript = ""
  yield* session.events.pipe(
    Stream.takeUntil(LiveEvent.is("TurnComplete")),
    Stream.runForEach((event) => Effect.sync(() => {
      if (event._tag === "OutputTranscription") transcript += event.text
    }))
  )
  return transcript
}).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const emulator = yield* LiveEmulator.make()
  const layer = GeminiLive.layer({
    apiKey: "emulator",
    connectConfig: { responseModalities: ["AUDIO"], outputAudioTranscription: {} },
    httpOptions: { baseUrl: emulator.url }
  })
  console.log(import.meta.resolve("effect-gemini-live"))
  console.log(yield* Effect.provide(turn, layer))
}).pipe(Effect.scoped)

await Effect.runPromise(program)
`

describe("package", () => {
  // effect and @effect/platform are peers, with dev copies here.
  it("takes Effect from the application (peer dependencies)", () => {
    // A dependency would let npm put a second Effect under this package in an Effect 4 project.
    for (const name of ["effect", "@effect/platform"]) {
      expect(manifest.dependencies[name]).toBeUndefined()
      expect(manifest.peerDependencies[name]).toBe(manifest.devDependencies[name])
    }
  })

  // Each also names its source in src/ (the effect-gemini-live:source condition).
  it("each export has JavaScript and declarations in dist/", () => {
    expect(Object.keys(exportsMap)).toEqual([".", "./testing"])
    for (const entry of Object.values(exportsMap)) {
      expect(entry.default).toMatch(/^\.\/dist\/.*\.js$/)
      expect(entry.types).toBe(entry.default.replace(/\.js$/, ".d.ts"))
      expect(entry["effect-gemini-live:source"]).toBe(entry.default.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts"))
      for (const file of [entry["effect-gemini-live:source"], entry.types, entry.default]) expect(Fs.existsSync(Path.join(root, file)), file).toBe(true)
    }
  })

  // Vitest resolves the name through the effect-gemini-live:source condition.
  it("in tests, the package's name resolves to its sources", async () => {
    const byName = await import("effect-gemini-live")
    const bySource = await import("../src/index.js")
    expect(byName.GeminiLive).toBe(bySource.GeminiLive)
  })

  it("plain Node imports it by name and holds a conversation", () => {
    const result = spawnSync(process.execPath, ["--input-type=module", "--eval", program], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000
    })
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const [resolved, transcript] = result.stdout.trim().split("\n")
    expect(resolved).toBe(`file://${Path.join(root, "dist", "index.js")}`)
    expect(transcript).toBe(`You said: "Hello from plain Node"`)
  }, 30_000)
})
