/**
 * The benchmark suite runs and reports every scenario for every client (the figures are not
 * checked: they depend on the machine).
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as Path from "node:path"

const root = Path.join(import.meta.dirname, "..")
const tsx = Path.join(root, "node_modules", ".bin", "tsx")
const limitMillis = 30_000

const runQuick = () =>
  new Promise<{ code: number | null; stdout: string; stderr: string; millis: number; timedOut: boolean }>((resolve) => {
    const started = Date.now()
    const child = spawn(tsx, ["bench/run.ts", "--quick", "--json"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.on("data", (data: Buffer) => (stdout += data.toString()))
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, limitMillis)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, millis: Date.now() - started, timedOut })
    })
  })

describe("bench", () => {
  // `npm run bench -- --quick --json` must finish within 30 s.
  it("the quick bench exits 0 and reports every scenario", async () => {
    const result = await runQuick()
    expect(result.timedOut, `took over ${limitMillis} ms\n${result.stderr}`).toBe(false)
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as {
      meta: { quick: boolean; clients: Array<string> }
      scenarios: Record<string, any>
      table: Array<{ figure: string }>
      targets: Array<{ target: string }>
      warnings: Array<string>
    }
    expect(report.meta.quick).toBe(true)
    const clients = ["ours", "genai", "floor"]
    expect(report.meta.clients).toEqual(clients)
    for (const scenario of ["uplink", "downlink", "latency", "scale", "audio", "soak"]) {
      expect(report.scenarios[scenario], scenario).toBeDefined()
    }
    for (const client of clients) {
      expect(report.scenarios.uplink.median[client], `uplink ${client}`).toBeDefined()
      expect(report.scenarios.downlink.median[client], `downlink ${client}`).toBeDefined()
      expect(report.scenarios.latency.median[client], `latency ${client}`).toBeDefined()
      expect(report.scenarios.scale.clients[client], `scale ${client}`).toBeDefined()
    }
    expect(report.scenarios.audio.length).toBeGreaterThan(0)
    // The soak's own figures are not the machine's: across its handovers, nothing may be lost.
    expect(report.scenarios.soak).toMatchObject({ framesLost: 0, framesDuplicatedOrReordered: 0, reconnects: 0 })
    expect(report.scenarios.soak.handovers).toBeGreaterThanOrEqual(5)
    expect(report.table.length).toBeGreaterThan(0)
    expect(report.targets.length).toBeGreaterThan(0)
    // e.g. sessions that did not close: the run goes on, but something is wrong
    expect(report.warnings).toEqual([])
  }, limitMillis + 10_000)
})
