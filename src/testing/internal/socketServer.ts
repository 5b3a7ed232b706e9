/**
 * The emulator's socket face: an HTTP server on 127.0.0.1 whose upgrades go to a `ws`
 * `WebSocketServer` (`noServer`), so that a path that is not a Live API endpoint is answered with
 * HTTP 404 before any WebSocket exists. Each accepted socket becomes a `Connection` served by a
 * fiber of the server's scope; closing the scope closes the sockets (1000), then the server. Plain
 * HTTP requests go to the handler's `http` (the token endpoint), else 404.
 */
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import type WebSocket from "ws"
import { fromWebSocket } from "../../internal/transport/webSocketConnection.js"
import type { Connection } from "../../Transport.js"
import { type ConnectionFaults, socketFaults } from "./faults.js"

/** The largest client frame accepted (the recorded 3 s of audio is a 129 KB frame). */
const maxPayload = 16 * 1024 * 1024

/** How the server hands an upgrade to the emulator. */
export interface SocketHandler {
  /** Whether the request target is an endpoint (else: HTTP 404). */
  readonly accepts: (target: string) => boolean
  /** An HTTP status to refuse an upgrade to an endpoint with, or `undefined` to accept it. */
  readonly refuses: () => number | undefined
  /** Answers a plain HTTP request (`true`), or leaves it to the 404 (`false`). */
  readonly http: (request: Http.IncomingMessage, response: Http.ServerResponse) => boolean
  /** Serves one accepted connection until it closes. */
  readonly serve: (request: Http.IncomingMessage, connection: Connection, faults: ConnectionFaults) => Effect.Effect<void>
}

const refuse = (socket: Duplex, status: number) => {
  const body = Http.STATUS_CODES[status] ?? "Error"
  socket.end(
    `HTTP/1.1 ${status} ${body}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
  )
}

const listen = (server: Http.Server, port: number) =>
  Effect.async<number, Error>((resume) => {
    const onError = (error: Error) => resume(Effect.fail(error))
    server.once("error", onError)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError)
      resume(Effect.succeed((server.address() as AddressInfo).port))
    })
  })

const closeServer = (server: Http.Server, sockets: WebSocketServer) =>
  Effect.async<void>((resume) => {
    for (const client of sockets.clients) client.terminate()
    sockets.close()
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

/** Starts the server on `port` (0: any free port) for the life of the scope; returns the port. */
export const start = (port: number, handler: SocketHandler): Effect.Effect<number, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload })
    const server = Http.createServer((request, response) => {
      if (handler.http(request, response)) return
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not Found")
    })
    // A socket or server error must never reach the process as an unhandled 'error' event.
    server.on("error", () => {})
    server.on("clientError", (_error, socket: Duplex) => socket.destroy())
    sockets.on("error", () => {})

    const bound = yield* Effect.acquireRelease(
      Effect.orDie(listen(server, port)),
      () => closeServer(server, sockets)
    )

    // Released before the server: each serving fiber closes its socket with 1000.
    const fibers = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(fibers)()

    const serveSocket = (socket: WebSocket, request: Http.IncomingMessage, tcp: Duplex) =>
      Effect.gen(function*() {
        const connection = yield* fromWebSocket(Effect.succeed(socket), "5 seconds")
        const faults = socketFaults(tcp)
        // Before the connection's close (finalizers run in reverse): a stalled socket cannot shake hands.
        yield* Effect.addFinalizer(() => Effect.sync(() => faults.stalled() && socket.terminate()))
        yield* handler.serve(request, connection, faults)
      }).pipe(
        Effect.scoped,
        Effect.catchAll(() => Effect.sync(() => socket.terminate()))
      )

    server.on("upgrade", (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => {})
      if (!handler.accepts(request.url ?? "")) return refuse(socket, 404)
      const status = handler.refuses()
      if (status !== undefined) return refuse(socket, status)
      sockets.handleUpgrade(request, socket, head, (ws) => {
        run(serveSocket(ws, request, socket))
      })
    })

    return bound
  })
