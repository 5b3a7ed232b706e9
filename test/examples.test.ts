/**
 * The examples run as a user runs them (`npm start` is examples/quickstart.ts), with no API key in
 * the environment: against the embedded emulator.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as Path from "node:path"

const root = Path.join(import.meta.dirname, "..")
const tsx = Path.join(root, "node_modules", ".bin", "tsx")

const run = (example: string) => {
  const env = { ...process.env }
  for (const name of ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_VERTEXAI"]) delete env[name]
  return spawnSync(tsx, [Path.join("examples", example)], { cwd: root, env, encoding: "utf8", timeout: 60_000 })
}

describe("examples", () => {
  // `npm start` runs examples/quickstart.ts.
  it("quickstart talks to the embedded emulator, closes cleanly", () => {
    const result = run("quickstart.ts")
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const out = result.stdout
    expect(out).toContain("using the embedded emulator at http://127.0.0.1:")
    expect(out).toContain("setup complete")
    expect(out).toMatch(/audio: \+9600 bytes \(24000 Hz PCM16\)/)
    expect(out).toContain(`model: You said: "Hello! What can you do for me?"`)
    expect(out).toMatch(/usage: \d+ prompt \+ \d+ response tokens/)
    expect(out).toContain("closed cleanly: code 1000, wasClean true")
  }, 60_000)

  // Auth.accessToken supplies the token.
  it("vertex talks to the emulator's Vertex AI mode", () => {
    const result = run("vertex.ts")
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const out = result.stdout
    expect(out).toContain("using the embedded emulator (Vertex AI mode)")
    expect(out).toMatch(/connected to projects\/example-project\/locations\/us-central1\/publishers\/google\/models\/gemini-3\.8-live \(server session [0-9a-f-]{36}\)/)
    expect(out).toContain(`model: You said: "Hello from Vertex AI!"`)
    expect(out).toMatch(/usage: \d+ response tokens/)
    expect(out).toContain("closed: 1000")
  }, 60_000)

  it("telephony-bridge carries 8 kHz mu-law both ways", () => {
    const result = run("telephony-bridge.ts")
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    const out = result.stdout
    expect(out).toContain("caller: 2000 ms of audio sent in 100 frames")
    expect(out).toMatch(/caller said: \[1\.\d\d s of speech\]/)
    expect(out).toMatch(/model said: I heard 1\.\d seconds of audio\./)
    const spoken = Number(/model stopped speaking after (\d+) ms of audio/.exec(out)?.[1])
    const played = Number(/played to the caller: \d+ bytes of mu-law \(([\d.]+) ms\)/.exec(out)?.[1])
    expect(spoken).toBeGreaterThan(1000)
    // Every millisecond the model said was played to the caller (within the resampler's few ms).
    expect(Math.abs(played - spoken)).toBeLessThan(10)
  }, 60_000)

  it("tools answers the model's function call by itself", () => {
    const result = run("tools.ts")
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("  (tool) getWeather(Paris)")
    expect(result.stdout).toContain(`model calls: getWeather({"city":"Paris"})`)
    expect(result.stdout).toContain(`model: getWeather returned {"output":{"city":"Paris","sky":"clear","celsius":21}}.`)
  }, 60_000)
})
