/**
 * Where a client's CPU goes: runs one scenario of `bench/main.ts` for one client with
 * `--cpu-profile` (V8's sampling profiler, in process, around the measured repetitions only; the
 * server is another process), then prints the functions with the most self time, the share of
 * each package and the heaviest call paths, idle time left out.
 *
 * It runs on the compiled tree, as `npm run bench` does (`compiled.ts`); under tsx every function of
 * ours would also show as "(anonymous) file:1" (esbuild's minified whitespace).
 *
 *   npx tsx bench/profile.ts uplink ours            # or downlink / latency; genai / floor / ours-audio
 *   npx tsx bench/profile.ts --summarize file.cpuprofile [tree]
 *
 * Forced collections between runs are switched off (BENCH_NO_GC=1), so the GC share is the client's own.
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { compileTree, projectRoot } from "./compiled.js"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}


/** Where a function lives: our src, a package, node itself, or V8's pseudo-frames. */
const packageOf = (root: string, frame: CallFrame): string => {
  const url = frame.url
  if (url === "") return frame.functionName.startsWith("(") ? frame.functionName : "(native)"
  if (url.startsWith("node:")) return "node"
  const modules = url.lastIndexOf("/node_modules/")
  if (modules >= 0) {
    const rest = url.slice(modules + "/node_modules/".length).split("/")
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const path = url.startsWith("file://") ? fileURLToPath(url) : url
  if (path.startsWith(Path.join(root, "src"))) return "effect-gemini-live (src)"
  if (path.startsWith(Path.join(root, "bench"))) return "bench"
  return path
}

const nameOf = (root: string, frame: CallFrame): string => {
  const url = frame.url
  if (url.startsWith("node:")) return `${frame.functionName || "(anonymous)"} ${url}:${frame.lineNumber + 1}`
  const path = url.startsWith("file://") ? fileURLToPath(url) : url
  const modules = path.lastIndexOf("/node_modules/")
  const short = modules >= 0 ? path.slice(modules + "/node_modules/".length) : Path.relative(root, path) || path
  return `${frame.functionName || "(anonymous)"}${url === "" ? "" : ` ${short}:${frame.lineNumber + 1}`}`
}

/** The profile's figures; `root` is the tree the profiled code ran from (paths are shown relative to it). */
export const summarize = (file: string, root = projectRoot, top = 40): string => {
  const profile = JSON.parse(Fs.readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const self = new Map<string, number>()
  /** Each sample charged to the innermost frame of our src (what it called included), or to its package. */
  const charged = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const packages = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    const delta = profile.timeDeltas[i] ?? 0
    if (node === undefined || node.callFrame.functionName === "(idle)") continue
    total += delta
    const key = nameOf(root, node.callFrame)
    self.set(key, (self.get(key) ?? 0) + delta)
    const pkg = packageOf(root, node.callFrame)
    packages.set(pkg, (packages.get(pkg) ?? 0) + delta)
    let owner: string | undefined
    for (let id: number | undefined = node.id; id !== undefined && owner === undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame
      if (packageOf(root, frame) === "effect-gemini-live (src)") owner = nameOf(root, frame)
    }
    owner ??= `(outside src) ${pkg}`
    charged.set(owner, (charged.get(owner) ?? 0) + delta)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame
      const name = nameOf(root, frame)
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + delta)
    }
  }
  const percent = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)}%`
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1])
  const lines = [`${(total / 1000).toFixed(0)} ms of CPU sampled (idle left out)`, "", "by package (self time):"]
  for (const [pkg, micros] of sorted(packages)) lines.push(`  ${percent(micros)}  ${pkg}`)
  lines.push("", `top ${top} functions by self time:`)
  for (const [name, micros] of sorted(self).slice(0, top)) lines.push(`  ${percent(micros)}  ${name}`)
  lines.push("", "charged to the innermost function of src/ on the stack (with what it calls), else to the package running:")
  for (const [name, micros] of sorted(charged).slice(0, top)) lines.push(`  ${percent(micros)}  ${name}`)
  lines.push("", `top ${top} functions by inclusive time (ours and the libraries):`)
  const interesting = sorted(inclusive).filter(([name]) => !name.startsWith("(") && !name.includes("processTicksAndRejections"))
  for (const [name, micros] of interesting.slice(0, top)) lines.push(`  ${percent(micros)}  ${name}`)
  return lines.join("\n")
}

const main = () => {
  const args = process.argv.slice(2)
  if (args[0] === "--summarize") {
    console.log(summarize(args[1], args[2] ?? projectRoot))
    return
  }
  const [scenario = "uplink", client = "ours", reps = "3"] = args
  const out = compileTree("gemini-live-profile-")
  const path = Path.join(Path.dirname(out), `${scenario}-${client}.cpuprofile`)
  const result = spawnSync(
    process.execPath,
    [
      Path.join(out, "bench", "main.js"),
      "--only",
      scenario,
      "--clients",
      client,
      "--reps",
      reps,
      "--cpu-profile",
      path
    ],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, BENCH_NO_GC: "1" }, timeout: 240_000 }
  )
  if (result.status !== 0) throw new Error(`the profiled run failed (${result.status ?? result.signal})`)
  console.log(`\nprofile: ${path} (code in ${out})\n`)
  console.log(summarize(path, out))
}

main()
