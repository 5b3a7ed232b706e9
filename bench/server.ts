/**
 * The benchmark's server: a minimal Live API server on 127.0.0.1, run in its own process (started by
 * `bench/main.ts` with `fork`, so its CPU is never charged to the client under test).
 *
 * It speaks the wire format of the real service and of the emulator (`setup` first, then
 * `setupComplete`; every server message a BINARY frame of pretty-printed JSON, written with the
 * emulator's own encoder) and accepts any `.../ws/...BidiGenerateContent` path, so that our client,
 * `@google/genai` and a bare `ws` client reach it alike. What it does on a connection is chosen by
 * the API key (`?key=`), which every client puts in the URL:
 *
 *   up.<n>.<tag>      counts the client's `realtimeInput.audio` frames (each one parsed and checked);
 *                     at the n-th it tells the parent (IPC `{ type: "up", key, count, at }`)
 *   down.<n>.<tag>    on `realtimeInput.text`, streams n model audio messages (200 ms of 24 kHz PCM16,
 *                     9600 bytes) as fast as the socket takes them
 *   rt.<ms>.<tag>     real time: on `realtimeInput.text`, one audio message of <ms> of 24 kHz PCM16
 *                     every <ms> (a random phase per connection), each stamped at its send with the
 *                     monotonic clock in its first 8 PCM bytes; the client's audio frames carry the
 *                     client's stamp, read here on arrival (uplink latency)
 *   idle.<tag>        nothing after `setupComplete`
 *
 * The parent asks `{ type: "stats", key }` (answer: frames received, messages sent, uplink latency)
 * and `{ type: "measureFrom", key, at }` (uplink latencies of frames stamped before `at` are left out).
 * The process exits when the parent goes away, on `{ type: "shutdown" }`, or after 15 minutes.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import type WebSocket from "ws"
import { encodeServerMessage } from "../src/testing/internal/wire.js"
import { now, pcmSignal, readStampBase64, summarize, writeStamp } from "./stats.js"

export const downlinkChunkBytes = 9600
const outputMime = "audio/pcm;rate=24000"

/** What the parent process sends. */
export type Command =
  | { readonly type: "stats"; readonly key: string }
  | { readonly type: "measureFrom"; readonly key: string; readonly at: number }
  | { readonly type: "shutdown" }

/** What this process sends to its parent. */
export type Report =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "up"; readonly key: string; readonly count: number; readonly at: number }
  | {
    readonly type: "stats"
    readonly key: string
    readonly connections: number
    readonly framesReceived: number
    readonly messagesSent: number
    readonly uplinkLatency: ReturnType<typeof summarize>
    readonly errors: ReadonlyArray<string>
  }

interface Tally {
  connections: number
  framesReceived: number
  messagesSent: number
  measureFrom: number
  latencies: Array<number>
  errors: Array<string>
}

const tallies = new Map<string, Tally>()
const tallyOf = (key: string): Tally => {
  let tally = tallies.get(key)
  if (tally === undefined) {
    tally = { connections: 0, framesReceived: 0, messagesSent: 0, measureFrom: 0, latencies: [], errors: [] }
    tallies.set(key, tally)
  }
  return tally
}

const report = (message: Report) => {
  if (process.send !== undefined) process.send(message)
}

const audioMessage = (pcm: Uint8Array) =>
  Buffer.from(encodeServerMessage({
    serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: outputMime, data: Buffer.from(pcm).toString("base64") } }] } }
  }))

/** The downlink message (200 ms), the same bytes every time. */
const downlinkFrame = audioMessage(pcmSignal(downlinkChunkBytes, 7))

/** Real-time messages by chunk length: a template, and where its base64 data starts. */
const realtimeTemplates = new Map<number, { readonly frame: Buffer; readonly dataOffset: number }>()
const realtimeTemplate = (millis: number) => {
  let template = realtimeTemplates.get(millis)
  if (template === undefined) {
    const frame = audioMessage(pcmSignal(millis * 48, 11))
    const marker = Buffer.from(`"data": "`)
    template = { frame, dataOffset: frame.indexOf(marker) + marker.length }
    realtimeTemplates.set(millis, template)
  }
  return template
}

const stampHead = Buffer.alloc(9)
/** A fresh copy of the template with the current time in its first PCM bytes (12 base64 characters). */
const stampedFrame = (millis: number): Buffer => {
  const { dataOffset, frame } = realtimeTemplate(millis)
  const copy = Buffer.from(frame)
  stampHead[8] = 0
  writeStamp(stampHead, now())
  copy.write(stampHead.toString("base64"), dataOffset, "latin1")
  return copy
}

const setupComplete = Buffer.from(encodeServerMessage({ setupComplete: {} }))
const dataMarker = Buffer.from(`"data":"`)

/** Real-time connections sending model audio: scanned by one timer. */
interface Speaker {
  readonly ws: WebSocket
  readonly millis: number
  readonly tally: Tally
  next: number
}
const speakers = new Set<Speaker>()
let speakerTimer: NodeJS.Timeout | undefined
const speak = () => {
  const at = now()
  for (const speaker of speakers) {
    while (speaker.next <= at) {
      speaker.next += speaker.millis
      if (speaker.ws.readyState !== 1) break
      speaker.ws.send(stampedFrame(speaker.millis), { binary: true })
      speaker.tally.messagesSent++
    }
  }
  if (speakers.size === 0 && speakerTimer !== undefined) {
    clearInterval(speakerTimer)
    speakerTimer = undefined
  }
}
const addSpeaker = (speaker: Speaker) => {
  speakers.add(speaker)
  speakerTimer ??= setInterval(speak, 2)
}

/** Streams `count` copies of the downlink message, at most 32 in flight (written as the socket drains). */
const stream = (ws: WebSocket, count: number, tally: Tally) => {
  let sent = 0
  let inFlight = 0
  const written = (error?: Error) => {
    inFlight--
    if (error === undefined || error === null) pump()
  }
  const pump = () => {
    while (sent < count && inFlight < 32 && ws.readyState === 1) {
      sent++
      inFlight++
      tally.messagesSent++
      ws.send(downlinkFrame, { binary: true }, written)
    }
  }
  pump()
}

const serve = (ws: WebSocket, key: string) => {
  const [mode = "idle", param = "0"] = key.split(".")
  const n = Number(param)
  const tally = tallyOf(key)
  tally.connections++
  let setupDone = false
  let started = false
  let count = 0
  let speaker: Speaker | undefined
  const fail = (what: string) => {
    if (tally.errors.length < 10) tally.errors.push(what)
  }

  ws.on("message", (data: Buffer) => {
    if (!setupDone) {
      let message: { setup?: unknown }
      try {
        message = JSON.parse(data.toString()) as { setup?: unknown }
      } catch {
        ws.close(1007, "Invalid JSON payload received.")
        return
      }
      if (typeof message.setup !== "object" || message.setup === null) {
        ws.close(1007, "Request contains an invalid argument.")
        return
      }
      setupDone = true
      ws.send(setupComplete, { binary: true })
      return
    }
    if (mode === "up") {
      // Checked in full: the frame is a realtimeInput.audio of 640 bytes of 16 kHz PCM.
      const message = JSON.parse(data.toString()) as { realtimeInput?: { audio?: { data?: string; mimeType?: string } } }
      const audio = message.realtimeInput?.audio
      if (audio?.mimeType !== "audio/pcm;rate=16000" || audio.data === undefined || Buffer.from(audio.data, "base64").length !== 640) {
        fail(`unexpected frame: ${data.toString().slice(0, 120)}`)
        return
      }
      count++
      tally.framesReceived++
      if (count === n) report({ type: "up", key, count, at: now() })
      return
    }
    // down / rt: audio frames carry a stamp (rt), a text message starts the model audio.
    const at = data.indexOf(dataMarker)
    if (at >= 0) {
      tally.framesReceived++
      if (mode === "rt") {
        const start = at + dataMarker.length
        const stamp = readStampBase64(data.toString("latin1", start, start + 12))
        if (stamp >= tally.measureFrom) tally.latencies.push(now() - stamp)
      }
      return
    }
    if (!started && data.indexOf(`"text"`) >= 0) {
      started = true
      if (mode === "down") stream(ws, n, tally)
      else if (mode === "rt") {
        speaker = { ws, millis: n, tally, next: now() + Math.random() * n }
        addSpeaker(speaker)
      }
    }
  })
  ws.on("close", () => {
    if (speaker !== undefined) speakers.delete(speaker)
  })
  ws.on("error", () => {})
}

const maxPayload = 16 * 1024 * 1024
const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload })
const server = Http.createServer((_request, response) => {
  response.writeHead(404).end()
})
server.on("upgrade", (request: Http.IncomingMessage, socket, head) => {
  socket.on("error", () => {})
  // Not `new URL(target, base)`: Google's SDK sends `//ws/...`, which would read as a host.
  const target = request.url ?? "/"
  const queryAt = target.indexOf("?")
  const path = queryAt < 0 ? target : target.slice(0, queryAt)
  if (!path.includes("/ws/") || !path.includes("BidiGenerateContent")) {
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    return
  }
  const key = new URLSearchParams(queryAt < 0 ? "" : target.slice(queryAt + 1)).get("key") ?? ""
  sockets.handleUpgrade(request, socket, head, (ws) => serve(ws, key))
})
server.on("clientError", (_error, socket) => socket.destroy())
server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => {
  report({ type: "ready", port: (server.address() as AddressInfo).port })
})

const shutdown = () => {
  for (const client of sockets.clients) client.terminate()
  server.close()
  process.exit(0)
}

process.on("message", (command: Command) => {
  if (command.type === "shutdown") return shutdown()
  if (command.type === "measureFrom") {
    const tally = tallyOf(command.key)
    tally.measureFrom = command.at
    tally.latencies = []
    return
  }
  const tally = tallyOf(command.key)
  report({
    type: "stats",
    key: command.key,
    connections: tally.connections,
    framesReceived: tally.framesReceived,
    messagesSent: tally.messagesSent,
    uplinkLatency: summarize(tally.latencies),
    errors: tally.errors
  })
  tallies.delete(command.key)
})
process.on("disconnect", shutdown)
setTimeout(shutdown, 15 * 60 * 1000).unref()
