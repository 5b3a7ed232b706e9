/**
 * The `ws` transport against servers that misbehave, on loopback: a silent server is noticed
 * within the liveness timeout (and a slow pong is no false alarm), a close the server never answers
 * is bounded, a frame over the limit closes with 1009; and a whole session reconnects off a silent one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Scope, Stream } from "effect"
import { type WebSocket, WebSocketServer } from "ws"
import { GeminiLive, LiveEvent, NodeTransport, Transport } from "../src/index.js"

/** A loopback server (no automatic pongs) whose connections `onConnection` serves; closed with its scope. */
const serve = (onConnection: (socket: WebSocket) => void) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const server: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong: false }, () => resume(Effect.succeed(server)))
      server.on("connection", (socket: WebSocket) => {
        socket.on("error", () => {})
        onConnection(socket)
      })
    }),
    (server) =>
      Effect.async<void>((resume) => {
        for (const client of server.clients) client.terminate()
        server.close(() => resume(Effect.void))
      })
  )

const urlOf = (server: WebSocketServer) => `ws://127.0.0.1:${(server.address() as { port: number }).port}`

/** Opens a connection to `server` with `options`, and notes what its listener is told, and when. */
const openWatched = (server: WebSocketServer, options: NodeTransport.Options) =>
  Effect.gen(function*() {
    const connection = yield* NodeTransport.make(options).open({ url: urlOf(server), headers: {}, openTimeout: "2 seconds" })
    const opened = Date.now()
    const frames: Array<Transport.Frame> = []
    const closed = yield* Deferred.make<{ readonly info: Transport.CloseInfo; readonly after: number }>()
    yield* Transport.listen(connection, {
      frame: (frame) => void frames.push(frame),
      closed: (info) => Deferred.succeed(closed, { info, after: Date.now() - opened })
    })
    return { connection, frames, closed: Deferred.await(closed), isDone: Deferred.isDone(closed) }
  })

/** The server's side of a connection stops reading: no ping, close frame or data of ours is read. */
const stopReading = (socket: WebSocket) => (socket as unknown as { readonly _socket: { pause(): void } })._socket.pause()

const short = { pingInterval: "100 millis", livenessTimeout: "300 millis" } as const

describe("the ws transport's liveness", () => {
  it.scopedLive("a silent server: dropped as 1006 after the timeout", () =>
    Effect.gen(function*() {
      let pings = 0
      const server = yield* serve((socket) => socket.on("ping", () => pings++))
      const watched = yield* openWatched(server, short)
      const { info, after } = yield* watched.closed
      expect(info).toEqual({ code: 1006, reason: "no data from the server for 300 ms", wasClean: false })
      // Not before the timeout; at most a tick (a third of the ping interval) after it, plus slack.
      expect(after).toBeGreaterThanOrEqual(300)
      expect(after).toBeLessThan(600)
      // A ping each ping interval of silence.
      expect(pings).toBeGreaterThanOrEqual(2)
      const error = yield* Effect.flip(watched.connection.send("late"))
      expect(error.close).toEqual(info)
    }))

  it.scopedLive("pongs that come late but in time: no false alarm", () =>
    Effect.gen(function*() {
      const received: Array<string> = []
      const server = yield* serve((socket) => {
        // Each pong 180 ms late: silences of up to ~280 ms, under the 300 ms timeout.
        socket.on("ping", () => setTimeout(() => socket.readyState === socket.OPEN && socket.pong(), 180))
        socket.on("message", (data) => received.push(String(data)))
      })
      const watched = yield* openWatched(server, short)
      yield* Effect.sleep("1500 millis")
      expect(yield* watched.isDone).toBe(false)
      yield* watched.connection.send("still here")
      const info = yield* watched.connection.close(1000, "bye")
      expect(info).toEqual({ code: 1000, reason: "bye", wasClean: true })
      expect(received).toEqual(["still here"])
    }), 10_000)

  it.scopedLive("frames keep it alive with no ping sent", () =>
    Effect.gen(function*() {
      let pings = 0
      const server = yield* serve((socket) => {
        socket.on("ping", () => pings++)
        const timer = setInterval(() => socket.send("tick"), 30)
        socket.on("close", () => clearInterval(timer))
      })
      const watched = yield* openWatched(server, short)
      yield* Effect.sleep("1 second")
      expect({ done: yield* watched.isDone, pings, enough: watched.frames.length > 10 }).toEqual({ done: false, pings: 0, enough: true })
    }), 10_000)

  it.scopedLive("a send buffer that stops draining: dropped as 1006", () =>
    Effect.gen(function*() {
      const server = yield* serve((socket) => {
        // The server talks (the client is not silent) but reads nothing: the client's writes pile up.
        stopReading(socket)
        const timer = setInterval(() => socket.send("tick"), 30)
        socket.on("close", () => clearInterval(timer))
      })
      const watched = yield* openWatched(server, short)
      const chunk = new Uint8Array(256 * 1024)
      // More than loopback's socket buffers hold.
      for (let i = 0; i < 128; i++) yield* watched.connection.send(chunk)
      const { info, after } = yield* watched.closed
      expect(info).toEqual({ code: 1006, reason: "the send buffer did not drain for 300 ms", wasClean: false })
      expect(after).toBeGreaterThanOrEqual(300)
      expect(after).toBeLessThan(1500)
    }), 10_000)
})

describe("the ws transport's close", () => {
  it.scopedLive("close() with no close frame back: bounded by closeTimeout", () =>
    Effect.gen(function*() {
      const server = yield* serve(stopReading)
      const watched = yield* openWatched(server, { closeTimeout: "200 millis" })
      const started = Date.now()
      const info = yield* watched.connection.close(1000)
      const took = Date.now() - started
      const expected = { code: 1006, reason: "no close frame from the server within 200 ms", wasClean: false }
      expect(info).toEqual(expected)
      expect((yield* watched.closed).info).toEqual(expected)
      expect(took).toBeGreaterThanOrEqual(190)
      expect(took).toBeLessThan(700)
    }))

  // The scope's release runs uninterruptibly: the close's own timer bounds it (not `ws`'s 30 s).
  it.scopedLive("the scope's close with the defaults: within 3 s and a bit", () =>
    Effect.gen(function*() {
      const server = yield* serve(stopReading)
      const scope = yield* Scope.make()
      const connection = yield* NodeTransport.webSocket.open({ url: urlOf(server), headers: {}, openTimeout: "2 seconds" }).pipe(
        Scope.extend(scope)
      )
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const took = Date.now() - started
      expect(took).toBeGreaterThanOrEqual(2900)
      expect(took).toBeLessThan(4000)
      expect(yield* connection.closed).toEqual({ code: 1006, reason: "no close frame from the server within 3 s", wasClean: false })
    }), 10_000)

  // `ws` alone waits 30 s for the TCP stream's end; the server's close code is kept.
  it.scopedLive("the server's close, then no TCP end: bounded, its code kept", () =>
    Effect.gen(function*() {
      const server = yield* serve((socket) => {
        socket.close(4001, "bye")
        stopReading(socket)
      })
      const watched = yield* openWatched(server, { ...short, closeTimeout: "200 millis" })
      const { info, after } = yield* watched.closed
      expect(info).toEqual({ code: 4001, reason: "bye", wasClean: true })
      expect(after).toBeLessThan(800)
    }))

  it.scopedLive("a server that answers the close: a clean close, at once", () =>
    Effect.gen(function*() {
      const server = yield* serve(() => {})
      const watched = yield* openWatched(server, { closeTimeout: "2 seconds" })
      const started = Date.now()
      expect(yield* watched.connection.close(4000, "done")).toEqual({ code: 4000, reason: "done", wasClean: true })
      expect(Date.now() - started).toBeLessThan(500)
    }))
})

describe("the ws transport's frame limit", () => {
  it.scopedLive("a frame over maxFrameBytes: closed and reported as 1009", () =>
    Effect.gen(function*() {
      const serverSaw = yield* Deferred.make<number>()
      const server = yield* serve((socket) => {
        socket.on("close", (code) => Deferred.unsafeDone(serverSaw, Exit.succeed(code)))
        socket.send("x".repeat(1024))
        socket.send("y".repeat(1025))
      })
      const watched = yield* openWatched(server, { maxFrameBytes: 1024 })
      const { info, after } = yield* watched.closed
      expect(info).toEqual({ code: 1009, reason: "a frame from the server over the 1 KiB limit", wasClean: false })
      expect(after).toBeLessThan(1000)
      // The frame at the limit went through; the client closed with 1009.
      expect(watched.frames).toEqual(["x".repeat(1024)])
      expect(yield* Deferred.await(serverSaw)).toBe(1009)
    }))

  it.scopedLive("a server that ignores the 1009 close: still bounded", () =>
    Effect.gen(function*() {
      const server = yield* serve((socket) => {
        socket.send("y".repeat(2048))
        stopReading(socket)
      })
      const watched = yield* openWatched(server, { maxFrameBytes: 1024, closeTimeout: "200 millis" })
      const { info, after } = yield* watched.closed
      expect(info).toEqual({ code: 1009, reason: "a frame from the server over the 1 KiB limit", wasClean: false })
      expect(after).toBeLessThan(800)
    }))

  it.scopedLive("the default limit lets a 4 MiB frame through", () =>
    Effect.gen(function*() {
      const server = yield* serve((socket) => socket.send(new Uint8Array(4 * 1024 * 1024)))
      const watched = yield* openWatched(server, {})
      yield* Effect.repeat(Effect.sleep("20 millis"), { until: () => watched.frames.length > 0, times: 100 })
      expect(watched.frames.map((frame) => frame.length)).toEqual([4 * 1024 * 1024])
    }))
})

describe("a session over a silent server", () => {
  it.scopedLive("setupComplete, then silence: Reconnecting in the bound", () =>
    Effect.gen(function*() {
      const server = yield* serve((socket) => {
        socket.on("message", (data) => {
          if (String(data).startsWith("{\"setup\"")) socket.send("{\"setupComplete\":{}}")
        })
      })
      const live = GeminiLive.layer({
        apiKey: "test-key",
        model: "gemini-live-test",
        httpOptions: { baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, timeout: 5_000 }
      }).pipe(Layer.provide(NodeTransport.layerWith(short)))
      const client = yield* GeminiLive.GeminiLive.pipe(Effect.provide(live))
      const session = yield* client.connect()
      const started = Date.now()
      const events = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnecting")), Stream.runCollect)
      const took = Date.now() - started
      expect([...events].at(-1)).toMatchObject({
        _tag: "Reconnecting",
        reason: "Closed",
        close: { code: 1006, reason: "no data from the server for 300 ms", wasClean: false }
      })
      expect(took).toBeGreaterThanOrEqual(250)
      expect(took).toBeLessThan(1000)
    }), 10_000)
})
