/**
 * The `ws` Connection's synchronous read (`runFrames`): frames handled in the socket's callback,
 * queued only behind a handler's wait, in order, none lost, and the read ends after the close.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type WebSocket, WebSocketServer } from "ws"
import { Transport } from "../src/index.js"

const serve = (frames: number, closeCode: number) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const server: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => resume(Effect.succeed(server)))
      server.on("connection", (socket: WebSocket) => {
        for (let i = 0; i < frames; i++) socket.send(i % 2 === 0 ? Buffer.from(`${i}`) : `${i}`)
        socket.close(closeCode, "done")
      })
    }),
    (server) => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
  )

const text = (frame: Transport.Frame) => (typeof frame === "string" ? frame : Buffer.from(frame).toString())

describe("the ws Connection's runFrames", () => {
  it.scopedLive("handles every frame in order, waits where the handler asks, ends after the close", () =>
    Effect.gen(function*() {
      const server = yield* serve(2000, 4001)
      const { port } = server.address() as { port: number }
      const connection = yield* Transport.webSocket.open({ url: `ws://127.0.0.1:${port}`, headers: {}, openTimeout: "2 seconds" })
      expect(connection.runFrames).toBeDefined()
      const seen: Array<string> = []
      const kinds = new Set<string>()
      yield* connection.runFrames!((frame) => {
        kinds.add(typeof frame)
        seen.push(text(frame))
        // A slow consumer now and then: the frames that follow queue behind the wait.
        return seen.length % 300 === 0 ? Effect.sleep("20 millis") : undefined
      })
      expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => `${i}`))
      expect(kinds).toEqual(new Set(["string", "object"]))
      expect(yield* connection.closed).toEqual({ code: 4001, reason: "done", wasClean: true })
    }))

  it.scopedLive("a handler that throws fails the read with a defect", () =>
    Effect.gen(function*() {
      const server = yield* serve(5, 1000)
      const { port } = server.address() as { port: number }
      const connection = yield* Transport.webSocket.open({ url: `ws://127.0.0.1:${port}`, headers: {}, openTimeout: "2 seconds" })
      const exit = yield* Effect.exit(connection.runFrames!(() => {
        throw new Error("bug")
      }))
      expect(exit._tag).toBe("Failure")
    }))
})

describe("the ws Connection's close while the read is paused", () => {
  /** A server that sends `frames` frames of 2 KB and never closes itself. */
  const flood = (frames: number) =>
    Effect.acquireRelease(
      Effect.async<WebSocketServer>((resume) => {
        const server: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => resume(Effect.succeed(server)))
        server.on("connection", (socket: WebSocket) => {
          const payload = "x".repeat(2000)
          for (let i = 0; i < frames; i++) socket.send(payload)
        })
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const client of server.clients) client.terminate()
          server.close(() => resume(Effect.void))
        })
    )

  const closesCleanly = (read: (connection: Transport.Connection) => Effect.Effect<void, never, never> | undefined) =>
    Effect.gen(function*() {
      const server = yield* flood(3000)
      const { port } = server.address() as { port: number }
      const connection = yield* Transport.webSocket.open({ url: `ws://127.0.0.1:${port}`, headers: {}, openTimeout: "2 seconds" })
      const reading = read(connection)
      if (reading !== undefined) yield* Effect.forkScoped(reading)
      // The backlog reaches its high-water mark: the socket is paused.
      yield* Effect.sleep("300 millis")
      const started = Date.now()
      const info = yield* connection.close(1000, "bye")
      // The peer's close frame is read (not the 3 s timeout, then a 1006).
      expect({ code: info.code, quick: Date.now() - started < 1000 }).toEqual({ code: 1000, quick: true })
    })

  it.scopedLive("nobody reading", () => closesCleanly(() => undefined), 10_000)
  it.scopedLive("the handler waiting (a full event buffer)", () => closesCleanly((connection) => connection.runFrames!(() => Effect.never)), 10_000)
})
