/**
 * Micro-measurements of the client's hot paths, without sockets: what each step costs per audio
 * message (downlink, 200 ms of 24 kHz PCM16 in a pretty-printed binary frame) and per audio frame
 * (uplink, 20 ms of 16 kHz PCM16), next to what the floor does for the same step.
 *
 *   npx tsx bench/micro.ts
 *
 * Each figure: microseconds of CPU per item, best of 5 runs of `count` items (after a warm-up run).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import { encodeServerMessage } from "../src/testing/internal/wire.js"
import * as SendAudio from "../src/internal/audio/sendAudio.js"
import type * as Framer from "../src/internal/audio/framer.js"
import * as EventHub from "../src/internal/events/hub.js"
import * as ModelAudio from "../src/internal/audio/modelAudio.js"
import * as Playback from "../src/internal/audio/playback.js"
import * as LiveEvent from "../src/LiveEvent.js"
import * as Protocol from "../src/Protocol.js"
import { pcmSignal } from "./stats.js"

const count = 20_000
const runs = 5

const bestOf = async (run: () => void | Promise<void>): Promise<number> => {
  await run()
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage()
    await run()
    const used = process.cpuUsage(cpu)
    best = Math.min(best, (used.user + used.system) / count)
  }
  return best
}

const rows: Array<{ step: string; "µs each": number }> = []
const measure = async (step: string, run: () => void | Promise<void>) => {
  rows.push({ step, "µs each": Number((await bestOf(run)).toFixed(2)) })
}

// ---------------------------------------------------------------------------
// Downlink
// ---------------------------------------------------------------------------

const frame = Buffer.from(encodeServerMessage({
  serverContent: {
    modelTurn: { parts: [{ inlineData: { mimeType: "audio/pcm;rate=24000", data: Buffer.from(pcmSignal(9600)).toString("base64") } }] }
  }
}))
const decoder = new TextDecoder()
let sink: unknown

await measure("down: floor: Buffer#toString + JSON.parse + Buffer.from(base64)", () => {
  for (let i = 0; i < count; i++) {
    const message = JSON.parse(frame.toString()) as { serverContent: { modelTurn: { parts: Array<{ inlineData: { data: string } }> } } }
    sink = Buffer.from(message.serverContent.modelTurn.parts[0].inlineData.data, "base64")
  }
})
await measure("down: Buffer#toString (13 KB frame)", () => {
  for (let i = 0; i < count; i++) sink = frame.toString()
})
await measure("down: TextDecoder#decode (13 KB frame)", () => {
  for (let i = 0; i < count; i++) sink = decoder.decode(frame)
})
const text = frame.toString()
await measure("down: JSON.parse", () => {
  for (let i = 0; i < count; i++) sink = JSON.parse(text)
})
const base64 = (JSON.parse(text) as { serverContent: { modelTurn: { parts: Array<{ inlineData: { data: string } }> } } })
  .serverContent.modelTurn.parts[0].inlineData.data
await measure("down: Buffer.from(base64) (9600 bytes)", () => {
  for (let i = 0; i < count; i++) sink = Buffer.from(base64, "base64")
})
await measure("down: Protocol.decodeServerMessage (text, then the audio fast path)", () => {
  for (let i = 0; i < count; i++) sink = Protocol.decodeServerMessage(frame)
})
const decoded = Either.getOrThrow(Protocol.decodeServerMessage(frame))
await measure("down: LiveEvent.fromServerMessage (base64 decode included)", () => {
  for (let i = 0; i < count; i++) sink = LiveEvent.fromServerMessage(decoded)
})
const events = LiveEvent.fromServerMessage(decoded)

await measure("down: ModelAudio.route + Playback.offer (nobody reading session.audio)", () =>
  Effect.runPromise(Effect.gen(function*() {
    const playback = yield* Playback.make(150)
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const audio = yield* ModelAudio.make({ playback, hub: { offer: () => undefined }, scope, clock, playbackBytesDropped: () => {} })
    for (let i = 0; i < count; i++) {
      const routed = audio.route(events)
      if (routed.pending !== undefined) yield* routed.pending
    }
  }).pipe(Effect.scoped)))

await measure("down: EventHub publish (2 events) + chunked read from `events`", () =>
  Effect.runPromise(Effect.gen(function*() {
    const hub = yield* EventHub.make<LiveEvent.LiveEvent>(256, (event) => event._tag === "TurnComplete")
    const reader = yield* Effect.fork(Stream.runForEach(hub.events, (event) => Effect.sync(() => (sink = event))))
    for (let i = 0; i < count; i++) yield* hub.publish(events)
    yield* hub.end(LiveEvent.Closed({ info: { code: 1000, reason: "", wasClean: true }, initiator: "client", error: undefined }))
    yield* reader.await
  })))

await measure("down: EventHub publish (2 events) + chunked reader (Mailbox.toStream)", () =>
  Effect.runPromise(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<LiveEvent.LiveEvent>({ capacity: 256 })
    const reader = yield* Effect.fork(Stream.runForEach(Mailbox.toStream(mailbox), (event) => Effect.sync(() => (sink = event))))
    for (let i = 0; i < count; i++) yield* mailbox.offerAll(events)
    yield* mailbox.end
    yield* reader.await
  })))

await measure("down: plain callback: Mailbox.unsafeOffer (1 event a message) + chunked reader", async () => {
  const mailbox = Effect.runSync(Mailbox.make<LiveEvent.LiveEvent>())
  const done = Effect.runPromise(Stream.runForEach(Mailbox.toStream(mailbox), (event) => Effect.sync(() => (sink = event))))
  // as a socket callback would: a batch of messages per macrotask
  for (let i = 0; i < count; i += 64) {
    for (let j = i; j < Math.min(count, i + 64); j++) mailbox.unsafeOffer(events[1])
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  mailbox.unsafeDone(Exit.void)
  await done
})

await measure("down: Stream.runForEach over a Stream of frames (the reader's loop, per frame)", () =>
  Effect.runPromise(Stream.runForEach(Stream.fromIterable(Array.from({ length: count }, () => frame)), (f) => Effect.sync(() => (sink = f)))))

// ---------------------------------------------------------------------------
// Uplink
// ---------------------------------------------------------------------------

const audio = pcmSignal(count * 640, 5)
const frames = Array.from({ length: count }, (_, i) => audio.subarray(i * 640, (i + 1) * 640))
const mime = "audio/pcm;rate=16000"

await measure("up: floor: Buffer base64 + JSON.stringify", () => {
  for (const f of frames) {
    sink = JSON.stringify({ realtimeInput: { audio: { data: Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64"), mimeType: mime } } })
  }
})
await measure("up: ours: Buffer base64 + Protocol.encodeRealtimeAudio", () => {
  for (const f of frames) sink = Protocol.encodeRealtimeAudio(Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64"), mime)
})
const base64Frames = frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64"))
await measure("up: Protocol.encodeRealtimeInput (a caller's base64 audio, checked)", () => {
  for (const data of base64Frames) sink = Protocol.encodeRealtimeInput({ audio: { data, mimeType: mime } })
})
const noSink: Framer.Sink = {
  write: (_method, message) => Effect.sync(() => (sink = message)),
  trySend: (message) => {
    sink = message
    return true
  },
  awaitWritable: Effect.void,
  automaticActivityDetection: false,
  framesDropped: () => {}
}
await measure("up: ours: sendAudio(pacing none) to a sink that keeps nothing (the whole per-frame path but ws.send)", () =>
  Effect.runPromise(SendAudio.sendAudio(noSink, Stream.fromIterable(frames), { pacing: "none", frameMillis: 20, audioStreamEnd: false })).then(() => {}))

void sink
console.log(`µs of CPU per item, best of ${runs} × ${count} (node ${process.version}); no sockets`)
console.table(rows)
