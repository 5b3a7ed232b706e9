/**
 * The `ws` Connection's `listen`: frames handled in the socket's callback, queued only behind a
 * listener's wait, in order, none lost, `closed` after the last; a fiber only while a wait runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Logger, LogLevel, Scope, Supervisor } from "effect"
import { type WebSocket, WebSocketServer } from "ws"
import { NodeTransport, Transport } from "../src/index.js"

/** A server that sends each connection `frames` frames (binary and text in turn), then closes with `closeCode`. */
const serve = (frames: number, closeCode: number, gate: Effect.Effect<void> = Effect.void) =>
  Effect.acquireRelease(
    Effect.async<WebSocketServer>((resume) => {
      const server: WebSocketServer = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => resume(Effect.succeed(server)))
      server.on("connection", (socket: WebSocket) => {
        Effect.runFork(Effect.andThen(gate, () => {
          for (let i = 0; i < frames; i++) socket.send(i % 2 === 0 ? Buffer.from(`${i}`) : `${i}`)
          socket.close(closeCode, "done")
        }))
      })
    }),
    (server) => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
  )

const openOn = (server: WebSocketServer) =>
  NodeTransport.webSocket.open({ url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`, headers: {}, openTimeout: "2 seconds" })

/** Runs an effect with its error logs collected into `logged` (their messages). */
const logErrorsInto = (logged: Array<string>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => logged.push(String(message))))),
    Logger.withMinimumLogLevel(LogLevel.Error)
  )

const text = (frame: Transport.Frame) => (typeof frame === "string" ? frame : Buffer.from(frame).toString())

describe("the ws Connection's listen", () => {
  it.scopedLive("handles frames in order, waits when asked, `closed` once", () =>
    Effect.gen(function*() {
      const server = yield* serve(2000, 4001)
      const connection = yield* openOn(server)
      expect(connection.listen).toBeDefined()
      const seen: Array<string> = []
      const kinds = new Set<string>()
      const closes: Array<Transport.CloseInfo> = []
      const done = yield* Deferred.make<void>()
      yield* Transport.listen(connection, {
        frame: (frame) => {
          kinds.add(typeof frame)
          seen.push(text(frame))
          // A slow consumer now and then: the frames that follow queue behind the wait.
          return seen.length % 300 === 0 ? Effect.sleep("20 millis") : undefined
        },
        closed: (info) => Effect.zipRight(Effect.sync(() => closes.push(info)), Deferred.succeed(done, undefined))
      })
      yield* Deferred.await(done)
      expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => `${i}`))
      expect(kinds).toEqual(new Set(["string", "object"]))
      expect(closes).toEqual([{ code: 4001, reason: "done", wasClean: true }])
      yield* Effect.sleep("50 millis")
      expect(closes.length).toBe(1)
    }))

  it.scopedLive("no fiber while no wait runs; one runs a wait, then ends", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const server = yield* serve(3, 1000, Deferred.await(release))
      const connection = yield* openOn(server)
      // Every fiber the listening starts reports to it.
      const supervisor = yield* Supervisor.track
      const fibers = Effect.map(supervisor.value, (running) => running.length)
      const waiting = yield* Deferred.make<void>()
      const seen: Array<string> = []
      const done = yield* Deferred.make<void>()
      yield* Transport.listen(connection, {
        frame: (frame) => {
          seen.push(text(frame))
          return seen.length === 2 ? Deferred.await(waiting) : undefined
        },
        closed: () => Deferred.succeed(done, undefined)
      }).pipe(Effect.supervised(supervisor))
      expect(yield* fibers).toBe(0)
      yield* Deferred.succeed(release, undefined)
      yield* Effect.sleep("100 millis")
      // The second frame's wait: the third frame and the close queue behind it, in a fiber.
      expect({ seen, fibers: yield* fibers }).toEqual({ seen: ["0", "1"], fibers: 1 })
      yield* Deferred.succeed(waiting, undefined)
      yield* Deferred.await(done)
      expect(seen).toEqual(["0", "1", "2"])
      yield* Effect.sleep("20 millis")
      expect(yield* fibers).toBe(0)
    }))

  /** Frame 1's step fails as `fail` makes it: logged once, and every frame after it still handled, then `closed`. */
  const failingStep = (frames: number, fail: () => Effect.Effect<void> | undefined) =>
    Effect.gen(function*() {
      const server = yield* serve(frames, 1000)
      const connection = yield* openOn(server)
      const logged: Array<string> = []
      let seen = 0
      const done = yield* Deferred.make<void>()
      yield* Transport.listen(connection, {
        frame: () => (++seen === 2 ? fail() : undefined),
        closed: () => Deferred.succeed(done, undefined)
      }).pipe(logErrorsInto(logged))
      yield* Deferred.await(done)
      expect({ seen, logged }).toEqual({ seen: frames, logged: ["effect-gemini-live: a connection listener failed; the reading goes on"] })
    })

  // The defect is logged, the frames that follow are handled, then `closed` runs.
  it.scopedLive("a throwing listener is logged; later frames and `closed` run", () =>
    failingStep(5, () => {
      throw new Error("bug")
    }))

  // Only the wait is interrupted, not the reading, which goes on to `closed`.
  it.scopedLive("an interrupted wait is logged; the reading goes on", () =>
    failingStep(600, () => Effect.interrupt))

  // What is queued goes to the next listener.
  it.scopedLive("a listener whose scope closed mid-wait hands on the queue", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const server = yield* serve(4, 1000, Deferred.await(release))
      const connection = yield* openOn(server)
      const logged: Array<string> = []
      const first: Array<string> = []
      const scope = yield* Scope.make()
      yield* Transport.listen(connection, {
        frame: (frame) => {
          first.push(text(frame))
          // A wait that outlives the scope's close (its fiber started while the scope was closing).
          return Effect.uninterruptible(Effect.sleep("300 millis"))
        },
        closed: () => Effect.void
      }).pipe(logErrorsInto(logged), Scope.extend(scope))
      // Something else in the scope takes a while to close: frames arrive meanwhile.
      yield* Scope.addFinalizer(scope, Effect.sleep("100 millis"))
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* Effect.sleep("20 millis")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(closing)
      // After the first listener's wait has ended: nothing was taken from the queue meanwhile.
      yield* Effect.sleep("400 millis")
      const second: Array<string> = []
      const done = yield* Deferred.make<Transport.CloseInfo>()
      yield* Transport.listen(connection, {
        frame: (frame) => void second.push(text(frame)),
        closed: (info) => Deferred.succeed(done, info)
      })
      expect((yield* Deferred.await(done)).code).toBe(1000)
      expect({ first, second, logged }).toEqual({ first: ["0"], second: ["1", "2", "3"], logged: [] })
    }))

  // Closing the old one's scope afterwards leaves the new one be.
  it.scopedLive("a new listener replaces the one before", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const server = yield* serve(3, 1000, Deferred.await(release))
      const connection = yield* openOn(server)
      const old: Array<string> = []
      const scope = yield* Scope.make()
      yield* Transport.listen(connection, { frame: (frame) => void old.push(text(frame)), closed: () => Effect.void }).pipe(Scope.extend(scope))
      const seen: Array<string> = []
      const done = yield* Deferred.make<void>()
      yield* Transport.listen(connection, { frame: (frame) => void seen.push(text(frame)), closed: () => Deferred.succeed(done, undefined) })
      yield* Scope.close(scope, Exit.void)
      yield* Deferred.succeed(release, undefined)
      yield* Deferred.await(done)
      expect({ old, seen }).toEqual({ old: [], seen: ["0", "1", "2"] })
    }))

  it.scopedLive("a listener set up after the close is told of the close", () =>
    Effect.gen(function*() {
      const server = yield* serve(2, 4002)
      const connection = yield* openOn(server)
      const infos: Array<number> = []
      for (let i = 0; i < 2; i++) {
        const done = yield* Deferred.make<void>()
        yield* Transport.listen(connection, {
          frame: () => undefined,
          closed: (info) => Effect.zipRight(Effect.sync(() => infos.push(info.code)), Deferred.succeed(done, undefined))
        })
        yield* Deferred.await(done)
      }
      expect(infos).toEqual([4002, 4002])
    }))

  // A later listener is handed what came meanwhile.
  it.scopedLive("listening stops with its scope; the next gets what came", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const server = yield* serve(4, 1000, Deferred.await(release))
      const connection = yield* openOn(server)
      const first: Array<string> = []
      const scope = yield* Scope.make()
      yield* Transport.listen(connection, {
        frame: (frame) => {
          first.push(text(frame))
          return Effect.never
        },
        closed: () => Effect.void
      }).pipe(Scope.extend(scope))
      yield* Deferred.succeed(release, undefined)
      yield* Effect.sleep("100 millis")
      yield* Scope.close(scope, Exit.void)
      const second: Array<string> = []
      const done = yield* Deferred.make<Transport.CloseInfo>()
      yield* Transport.listen(connection, {
        frame: (frame) => {
          second.push(text(frame))
          return undefined
        },
        closed: (info) => Deferred.succeed(done, info)
      })
      expect((yield* Deferred.await(done)).code).toBe(1000)
      expect({ first, second }).toEqual({ first: ["0"], second: ["1", "2", "3"] })
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

  const closesCleanly = (read: (connection: Transport.Connection) => Effect.Effect<void, never, Scope.Scope> | undefined) =>
    Effect.gen(function*() {
      const server = yield* flood(3000)
      const { port } = server.address() as { port: number }
      const connection = yield* NodeTransport.webSocket.open({ url: `ws://127.0.0.1:${port}`, headers: {}, openTimeout: "2 seconds" })
      const reading = read(connection)
      if (reading !== undefined) yield* reading
      // The backlog reaches its high-water mark: the socket is paused.
      yield* Effect.sleep("300 millis")
      const started = Date.now()
      const info = yield* connection.close(1000, "bye")
      // The peer's close frame is read (not the 3 s timeout, then a 1006).
      expect({ code: info.code, quick: Date.now() - started < 1000 }).toEqual({ code: 1000, quick: true })
    })

  it.scopedLive("nobody reading", () => closesCleanly(() => undefined), 10_000)
  it.scopedLive("the handler waiting (a full event buffer)", () => closesCleanly((connection) => Transport.listen(connection, { frame: () => Effect.never, closed: () => Effect.void })), 10_000)
})

describe("the ws Connection at its boundary", () => {
  // A wrapper's copy of the connection does not hand its frames over.
  it.scopedLive("hands its frames over; a send after close: TransportError", () =>
    Effect.gen(function*() {
      const server = yield* serve(1, 4003)
      const connection = yield* openOn(server)
      expect(Transport.ownsFrames(connection)).toBe(true)
      expect(Transport.ownsFrames({ ...connection })).toBe(false)
      yield* connection.closed
      const error = yield* Effect.flip(connection.send("late"))
      expect(error).toMatchObject({ _tag: "TransportError", reason: "Closed", close: { code: 4003 } })
      expect(error.message).toContain("4003")
    }))
})
