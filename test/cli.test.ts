/**
 * The `gemini-live` command, run as a user runs it (`node bin/gemini-live.mjs ...`), with no
 * credentials in the environment: `talk` uses the embedded emulator, `emulator` serves this
 * library over a real socket.
 */
import { afterAll, describe, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { Audio, GeminiLive, LiveEvent } from "effect-gemini-live"

const root = Path.join(import.meta.dirname, "..")
const bin = Path.join(root, "bin", "gemini-live.mjs")
const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "gemini-live-cli-"))
afterAll(() => Fs.rmSync(tmp, { recursive: true, force: true }))

const env = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  for (
    const name of [
      "GEMINI_API_KEY",
      "GOOGLE_API_KEY",
      "GOOGLE_CLOUD_PROJECT",
      "GOOGLE_GENAI_USE_VERTEXAI",
      "GOOGLE_APPLICATION_CREDENTIALS",
      "GOOGLE_GEMINI_BASE_URL"
    ]
  ) delete env[name]
  return env
}

const start = (args: ReadonlyArray<string>): ChildProcess =>
  spawn(process.execPath, [bin, ...args], { cwd: root, env: env(), timeout: 15_000 })

interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Collects a child's output until it exits. */
const finished = (child: ChildProcess): Promise<Result> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text))
    child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text))
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

const run = (...args: ReadonlyArray<string>): Promise<Result> => finished(start(args))

/** `seconds` of 16-bit samples at `rate`: a 440 Hz tone for `toneSeconds`, then silence. */
const tone = (rate: number, seconds: number, toneSeconds: number): Uint8Array => {
  const samples = Math.round(rate * seconds)
  const pcm = Buffer.alloc(samples * 2)
  for (let i = 0; i < Math.round(rate * toneSeconds); i++) {
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2)
  }
  return pcm
}

const writeFile = (name: string, bytes: Uint8Array): string => {
  const path = Path.join(tmp, name)
  Fs.writeFileSync(path, bytes)
  return path
}

const readWav = (path: string): Audio.Wav => {
  const wav = Audio.readWav(new Uint8Array(Fs.readFileSync(path)))
  if (Either.isLeft(wav)) throw new Error(`${path}: ${wav.left.description}`)
  return wav.right
}

/** What the emulator's speech lasts: 70 ms a character of what the model says (400 ms at least). */
const expectedSpeechMillis = (stdout: string): number =>
  [...stdout.matchAll(/^model: (.*)$/gm)].reduce((sum, [, text]) => sum + Math.max(400, text.length * 70), 0)

describe.concurrent("gemini-live (the command line)", () => {
  // The reply is saved as a WAV at the model's own 24 kHz PCM16.
  it("talk: a 16 kHz PCM16 question, a 24 kHz PCM16 reply", async ({ expect }) => {
    const question = writeFile("q16.wav", Audio.writeWav(Audio.PCM16_16K, tone(16000, 1.6, 1)))
    const answer = Path.join(tmp, "a16.wav")
    const result = await run("talk", "--in", question, "--out", answer)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    const out = result.stdout
    expect(out).toContain("read ")
    expect(out).toContain("1.60 s of 16 kHz PCM16")
    expect(out).toMatch(/^using the embedded emulator at http:\/\/127\.0\.0\.1:\d+ \(no GEMINI_API_KEY or GOOGLE_API_KEY/m)
    expect(out).toContain("connected: models/gemini-3.8-live")
    expect(out).toMatch(/^sent 1\.60 s of audio \(40 frames, then audioStreamEnd\)$/m)
    expect(out).toMatch(/^you: \[1\.\d\d s of speech\]$/m)
    expect(out).toMatch(/^model: I heard 1\.\d seconds of audio\.$/m)
    expect(out).toMatch(/^received \d+\.\d\d s of audio in 1 turn$/m)
    expect(out).toMatch(/^usage: \d+ prompt \+ \d+ response = \d+ tokens$/m)
    expect(out).toMatch(/^closed: 1000$/m)
    // the transcripts come before the summary
    expect(out.indexOf("model: I heard")).toBeLessThan(out.indexOf("received "))

    const wav = readWav(answer)
    expect(wav.format).toEqual(Audio.PCM16_24K)
    const millis = Audio.durationMillis(wav.format, wav.data.length)
    const expected = expectedSpeechMillis(out)
    expect(expected).toBeGreaterThan(1500)
    expect(millis).toBeGreaterThan(expected * 0.9)
    expect(millis).toBeLessThan(expected * 1.1)
    expect(out).toContain(`wrote ${answer}: ${(millis / 1000).toFixed(2)} s of 24 kHz PCM16`)
    expect(out).toContain(`received ${(millis / 1000).toFixed(2)} s of audio`)
    // not silence: the emulator's speech
    expect(wav.data.some((byte) => byte !== 0)).toBe(true)
  })

  // 8 kHz mu-law both ways, as telephony sends it; the text turn goes first.
  it("talk: a mu-law question and a text turn, a mu-law reply", async ({ expect }) => {
    const phone = Audio.makeConverter(Audio.PCM16_8K, Audio.MULAW_8K)
    const pcm = tone(8000, 1.6, 1)
    const question = writeFile("q8.wav", Audio.writeWav(Audio.MULAW_8K, Buffer.concat([phone.push(pcm), phone.flush()])))
    const answer = Path.join(tmp, "a8.wav")
    const result = await run("talk", "--text", "Hello there", "--in", question, "--out", answer, "--out-format", "mulaw")
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    const out = result.stdout
    expect(out).toContain("1.60 s of 8 kHz mu-law")
    expect(out).toMatch(/^you: Hello there$/m)
    expect(out).toMatch(/^model: You said: "Hello there"$/m)
    expect(out).toMatch(/^you: \[1\.\d\d s of speech\]$/m)
    expect(out).toMatch(/^model: I heard 1\.\d seconds of audio\.$/m)
    expect(out.indexOf("You said")).toBeLessThan(out.indexOf("I heard"))
    expect(out).toMatch(/^received \d+\.\d\d s of audio in 2 turns$/m)

    const wav = readWav(answer)
    expect(wav.format).toEqual(Audio.MULAW_8K)
    const millis = Audio.durationMillis(wav.format, wav.data.length)
    const expected = expectedSpeechMillis(out)
    expect(millis).toBeGreaterThan(expected * 0.9)
    expect(millis).toBeLessThan(expected * 1.1)
  })

  // A stereo file: the error says why, and nothing connects first.
  it("talk: an unsupported WAV fails with exit code 1", async ({ expect }) => {
    const wav = Audio.writeWav(Audio.PCM16_16K, tone(16000, 0.5, 0.5))
    const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength)
    view.setUint16(22, 2, true) // channels
    view.setUint16(32, 4, true) // block align
    const stereo = writeFile("stereo.wav", wav)
    const result = await run("talk", "--in", stereo, "--out", Path.join(tmp, "never.wav"))
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`gemini-live: ${stereo}: 2 channels: only mono is supported\n`)
    expect(result.stdout).not.toContain("connected")
    expect(Fs.existsSync(Path.join(tmp, "never.wav"))).toBe(false)
  })

  // Exit codes: 0 for help, 2 for misuse of the command line.
  it("--help prints the usage; misuse says what is wrong", async ({ expect }) => {
    const [help, helpTalk, unknownFlag, missingValue, unknownCommand, nothing] = await Promise.all([
      run("--help"),
      run("help", "talk"),
      run("talk", "--in", "q.wav", "--bogus"),
      run("talk", "--in"),
      run("chat"),
      run()
    ])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("Usage:")
    expect(help.stdout).toContain("gemini-live talk --in question.wav --out answer.wav")
    expect(help.stdout).toContain("gemini-live emulator")
    expect(help.stderr).toBe("")
    expect(helpTalk.code).toBe(0)
    expect(helpTalk.stdout).toContain("--out-format FORMAT")
    expect(helpTalk.stdout).toContain("GEMINI_API_KEY")

    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr).toContain("gemini-live: unknown option --bogus")
    expect(unknownFlag.stderr).toContain("gemini-live help talk")
    expect(unknownFlag.stdout).toBe("")
    expect(missingValue.code).toBe(2)
    expect(missingValue.stderr).toContain("gemini-live: --in needs a value")
    expect(unknownCommand.code).toBe(2)
    expect(unknownCommand.stderr).toContain("gemini-live: unknown command chat")
    expect(unknownCommand.stderr).toContain("Usage:")
    expect(nothing.code).toBe(2)
  })

  it("emulator: serves this library until SIGINT, then exits 0", async ({ expect }) => {
    const child = start(["emulator", "--port", "0"])
    const exited = finished(child)
    const url = await new Promise<string>((resolve, reject) => {
      let seen = ""
      child.stdout!.on("data", (text: string) => {
        seen += text
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen)
        if (match !== null) resolve(match[1])
      })
      child.on("close", () => reject(new Error(`the emulator exited: ${seen}`)))
    })

    const reply = await Effect.gen(function*() {
      const session = yield* GeminiLive.connect()
      yield* session.sendClientContent({ turns: "ping" })
      let text = ""
      yield* session.events.pipe(
        Stream.takeUntil(LiveEvent.is("TurnComplete")),
        Stream.runForEach((event) => Effect.sync(() => event._tag === "TextDelta" && (text += event.text)))
      )
      yield* session.close()
      return text
    }).pipe(
      Effect.scoped,
      Effect.provide(GeminiLive.layer({
        apiKey: "k",
        model: "gemini-live-test",
        httpOptions: { baseUrl: url },
        connectConfig: { responseModalities: ["TEXT"] }
      })),
      Effect.runPromise
    )
    expect(reply).toBe(`You said: "ping"`)

    child.kill("SIGINT")
    const result = await exited
    expect(result.stderr).toBe("")
    expect(result.signal).toBe(null)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`new GoogleGenAI({ apiKey: "any", httpOptions: { baseUrl: "${url}" } })`)
    expect(result.stdout).toContain(`GeminiLive.layer({ apiKey: "any", httpOptions: { baseUrl: "${url}" } })`)
    expect(result.stdout).toContain("stopping: 1 connection served")
  })

  // The message says the port is in use and how to choose another.
  it("emulator: a port in use fails with exit code 1", async ({ expect }) => {
    const server = Net.createServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const port = (server.address() as Net.AddressInfo).port
      const result = await run("emulator", "--port", String(port))
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(
        `gemini-live: cannot listen on 127.0.0.1:${port}: the port is in use (choose another with --port, or --port 0 for any free one)\n`
      )
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
