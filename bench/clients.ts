/**
 * The three clients under test behind one small interface, each used the way its documentation
 * says (no tuning the others could not do):
 *
 * - `ours`: `GeminiLive.layer({ apiKey, httpOptions: { baseUrl } })`, `connect({ audioBufferSize: 0 })`,
 *   decoded audio from the `AudioDelta` events through `session.listen` (so `session.audio`, which
 *   would keep a copy, is off), live input (latency, scale) pushed with
 *   `session.audioInput().unsafeOffer(frame)`, and uplink as fast as possible with `sendAudio`;
 * - `ours-foreach`: `ours` with the events read by a fiber, `session.runForEach`;
 * - `ours-stream`: the same through streams only: `Stream.runForEach(session.events, ...)` and live
 *   input as a `sendAudio` stream fed from a queue (`Stream.fromQueue`);
 * - `ours-audio`: `ours` with the audio taken from `session.audio` (the events drained alongside,
 *   as an application must);
 * - `ours-stats`: `ours` with `statistics: true` (byte and event counts, Effect metrics): the cost of
 *   observing a session;
 * - `genai`: `@google/genai`'s `ai.live.connect`, `sendRealtimeInput({ audio: { data: base64,
 *   mimeType } })`, `callbacks.onmessage` + `Buffer.from(inlineData.data, "base64")`;
 * - `floor`: a bare `ws` socket, `JSON.stringify` + `Buffer` base64 up, `JSON.parse` + `Buffer.from`
 *   down: the least work the protocol allows.
 *
 * Flow control for "as fast as possible": ours waits while the socket holds more than 256 KiB
 * (`pacing: "none"`); the others get the same rule (their `ws` socket's `bufferedAmount`, then its
 * `drain` event), which their APIs leave to the application.
 */
import { GoogleGenAI, Modality } from "@google/genai"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import WebSocket from "ws"
import * as GeminiLive from "../src/GeminiLive.js"
import type * as LiveEvent from "../src/LiveEvent.js"
import { within } from "./stats.js"

export const clientNames = ["ours", "genai", "floor"] as const
export type ClientName = (typeof clientNames)[number] | "ours-foreach" | "ours-stream" | "ours-audio" | "ours-stats"

/** One open session of a client under test. */
export interface BenchSession {
  /** Sends the frames as fast as the socket takes them; resolves when all were handed over. */
  readonly sendAll: (frames: ReadonlyArray<Uint8Array>) => Promise<void>
  /** Starts a live input (a microphone) of `frameMillis` frames: the function hands over one frame. */
  readonly startLive: (frameMillis: number) => (frame: Uint8Array) => void
  /** Tells the server to start talking (a `realtimeInput.text`). */
  readonly go: () => void
  readonly close: () => Promise<void>
}

/** A client bound to one API key (the key tells the server what to do). */
export interface BenchClient {
  /** Opens a session; `onAudio` gets each decoded chunk of model audio (PCM16 bytes). */
  readonly connect: (onAudio: (pcm: Uint8Array) => void) => Promise<BenchSession>
  readonly dispose: () => Promise<void>
}

export const model = "gemini-3.8-live"
const inputMime = "audio/pcm;rate=16000"
const writeHighWaterMark = 256 * 1024
const timeoutMillis = 15_000

/** How long a session may take to close before the benchmark reports it and moves on. */
let closeTimeoutMillis = 5_000
export const setCloseTimeout = (millis: number): void => {
  closeTimeoutMillis = millis
}

const base64Of = (frame: Uint8Array): string =>
  Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString("base64")

/** Waits until the socket has written what it holds (or closed). */
const drained = (ws: WebSocket): Promise<void> =>
  new Promise((resolve) => {
    const socket = (ws as unknown as { _socket?: NodeJS.EventEmitter })._socket
    if (socket === undefined || ws.bufferedAmount <= writeHighWaterMark || ws.readyState !== WebSocket.OPEN) return resolve()
    const done = () => {
      socket.off("drain", done)
      socket.off("close", done)
      resolve()
    }
    socket.on("drain", done)
    socket.on("close", done)
  })

/** Sends the frames as fast as `ws` takes them: the rule every client gets (see the module's doc). */
const sendPaced = async (ws: WebSocket, send: (frame: Uint8Array) => void, frames: ReadonlyArray<Uint8Array>): Promise<void> => {
  for (const frame of frames) {
    if (ws.bufferedAmount > writeHighWaterMark) await drained(ws)
    send(frame)
  }
}

const closeSocket = (ws: WebSocket): Promise<void> =>
  ws.readyState === WebSocket.CLOSED ? Promise.resolve() : within(
    closeTimeoutMillis,
    "close",
    new Promise<void>((resolve) => {
      ws.once("close", () => resolve())
      if (ws.readyState === WebSocket.OPEN) ws.close(1000)
    })
  ).catch(() => ws.terminate())

// -----------------------------------------------------------------------------
// ours
// -----------------------------------------------------------------------------

/** How an `ours` variant uses the session. */
interface OursVariant {
  /**
   * Where model audio is taken: `session.listen`, `session.runForEach`, `Stream.runForEach(session.events)`,
   * or `session.audio`.
   */
  readonly read: "listen" | "foreach" | "stream" | "playback"
  /** How live input goes up: pushed into `session.audioInput`, or a `sendAudio` stream fed from a queue. */
  readonly live: "push" | "stream"
  readonly statistics: boolean
}

const ours = (baseUrl: string, key: string, variant: OursVariant): BenchClient => {
  const runtime = ManagedRuntime.make(
    GeminiLive.layer({ apiKey: key, httpOptions: { baseUrl }, connectConfig: { responseModalities: ["AUDIO"] }, statistics: variant.statistics })
  )
  return {
    connect: async (onAudio) => {
      const scope = Effect.runSync(Scope.make())
      // Reading the audio from the events, `session.audio` is turned off (no copy kept), as documented.
      const audioBufferSize = variant.read === "playback" ? undefined : 0
      const session = await runtime.runPromise(Scope.extend(GeminiLive.connect({ audioBufferSize }), scope)).catch(async (error) => {
        await Effect.runPromise(Scope.close(scope, Exit.void))
        throw error
      })
      const onEvent = (event: LiveEvent.LiveEvent) => {
        if (event._tag === "AudioDelta") onAudio(event.data)
      }
      if (variant.read === "listen") {
        Effect.runSync(Scope.extend(session.listen(onEvent), scope))
      } else {
        const consumer = variant.read === "playback"
          ? Effect.zipRight(
            Effect.forkIn(session.runForEach(() => {}), scope),
            Stream.runForEach(session.audio, (chunk) => Effect.sync(() => onAudio(chunk.data)))
          )
          : variant.read === "stream"
          ? Stream.runForEach(session.events, (event) => event._tag === "AudioDelta" ? Effect.sync(() => onAudio(event.data)) : Effect.void)
          : session.runForEach(onEvent)
        Effect.runSync(Effect.forkIn(consumer, scope))
      }
      return {
        sendAll: async (frames) => {
          const summary = await Effect.runPromise(
            session.sendAudio(Stream.fromIterable(frames), { pacing: "none", frameMillis: 20, audioStreamEnd: false })
          )
          if (summary.framesSent !== frames.length) throw new Error(`ours sent ${summary.framesSent} of ${frames.length} frames`)
        },
        startLive: (frameMillis) => {
          if (variant.live === "push") {
            const input = Effect.runSync(Scope.extend(session.audioInput({ frameMillis, audioStreamEnd: false }), scope))
            return (frame) => {
              input.unsafeOffer(frame)
            }
          }
          const queue = Effect.runSync(Queue.unbounded<Uint8Array>())
          Effect.runSync(Effect.forkIn(session.sendAudio(Stream.fromQueue(queue), { frameMillis, audioStreamEnd: false }), scope))
          return (frame) => {
            Queue.unsafeOffer(queue, frame)
          }
        },
        go: () => {
          Effect.runFork(session.sendRealtimeInput({ text: "go" }))
        },
        close: () => within(closeTimeoutMillis, "close (the session's scope did not close)", Effect.runPromise(Scope.close(scope, Exit.void)))
      }
    },
    dispose: () => runtime.dispose()
  }
}

// -----------------------------------------------------------------------------
// @google/genai
// -----------------------------------------------------------------------------

const genai = (baseUrl: string, key: string): BenchClient => {
  const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl } })
  return {
    connect: async (onAudio) => {
      const session = await within(
        timeoutMillis,
        "genai: connect",
        ai.live.connect({
          model,
          config: { responseModalities: [Modality.AUDIO] },
          callbacks: {
            onmessage: (message) => {
              const parts = message.serverContent?.modelTurn?.parts
              if (parts === undefined) return
              for (const part of parts) {
                const data = part.inlineData?.data
                if (data !== undefined) onAudio(Buffer.from(data, "base64"))
              }
            },
            onerror: () => {}
          }
        })
      )
      // The SDK keeps its `ws` socket private; flow control and the close need it.
      const ws = (session as unknown as { conn: { ws: WebSocket } }).conn.ws
      const send = (frame: Uint8Array) => session.sendRealtimeInput({ audio: { data: base64Of(frame), mimeType: inputMime } })
      return {
        sendAll: (frames) => sendPaced(ws, send, frames),
        startLive: () => send,
        go: () => session.sendRealtimeInput({ text: "go" }),
        close: () => {
          const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()))
          session.close()
          return within(closeTimeoutMillis, "close", closed).catch(() => ws.terminate())
        }
      }
    },
    dispose: async () => {}
  }
}

// -----------------------------------------------------------------------------
// floor: bare ws
// -----------------------------------------------------------------------------

const floor = (baseUrl: string, key: string): BenchClient => {
  const url = `${baseUrl.replace(/^http/, "ws")}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=${key}`
  const setup = JSON.stringify({ setup: { model: `models/${model}`, generationConfig: { responseModalities: ["AUDIO"] } } })
  return {
    connect: async (onAudio) => {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      ws.on("error", () => {})
      await within(
        timeoutMillis,
        "floor: connect",
        new Promise<void>((resolve, reject) => {
          ws.once("open", () => ws.send(setup))
          ws.once("message", () => resolve())
          ws.once("close", (code) => reject(new Error(`floor: closed ${code} before setupComplete`)))
        })
      )
      ws.on("message", (data: Buffer) => {
        const message = JSON.parse(data.toString()) as {
          serverContent?: { modelTurn?: { parts?: Array<{ inlineData?: { data?: string } }> } }
        }
        const parts = message.serverContent?.modelTurn?.parts
        if (parts === undefined) return
        for (const part of parts) {
          const base64 = part.inlineData?.data
          if (base64 !== undefined) onAudio(Buffer.from(base64, "base64"))
        }
      })
      const send = (frame: Uint8Array) =>
        ws.send(JSON.stringify({ realtimeInput: { audio: { data: base64Of(frame), mimeType: inputMime } } }))
      return {
        sendAll: (frames) => sendPaced(ws, send, frames),
        startLive: () => send,
        go: () => ws.send(JSON.stringify({ realtimeInput: { text: "go" } })),
        close: () => closeSocket(ws)
      }
    },
    dispose: async () => {}
  }
}

export const makeClient = (name: ClientName, baseUrl: string, key: string): BenchClient => {
  switch (name) {
    case "ours":
      return ours(baseUrl, key, { read: "listen", live: "push", statistics: false })
    case "ours-foreach":
      return ours(baseUrl, key, { read: "foreach", live: "push", statistics: false })
    case "ours-stream":
      return ours(baseUrl, key, { read: "stream", live: "stream", statistics: false })
    case "ours-audio":
      return ours(baseUrl, key, { read: "playback", live: "push", statistics: false })
    case "ours-stats":
      return ours(baseUrl, key, { read: "listen", live: "push", statistics: true })
    case "genai":
      return genai(baseUrl, key)
    case "floor":
      return floor(baseUrl, key)
  }
}
