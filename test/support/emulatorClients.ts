/**
 * Test support: raw clients of the LiveEmulator, below the library's own session: a `ws` socket
 * over loopback, or a Connection of the in-memory twin. They send and read the wire's JSON as it
 * is, so tests can see exactly what the emulator says and how it closes.
 */
import * as crypto from "node:crypto"
import * as Net from "node:net"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import WebSocket from "ws"
import type { ConnectError } from "../../src/LiveError.js"
import type * as LiveEmulator from "../../src/testing/LiveEmulator.js"
import * as Transport from "../../src/Transport.js"

// -----------------------------------------------------------------------------
// Endpoints
// -----------------------------------------------------------------------------

/** The Gemini API's Live path (without a query), for any method, API version and leading slashes. */
export const geminiPath = (method = "BidiGenerateContent", version = "v1beta", slashes = "/") =>
  `${slashes}ws/google.ai.generativelanguage.${version}.GenerativeService.${method}`

/** The Gemini API's documented Live path with an API key: what most tests connect to. */
export const livePath = `${geminiPath()}?key=test-key`

/** Vertex AI's Live path; `//` by default, as the SDK sends it. */
export const vertexPath = (version = "v1beta1", slashes = "//") =>
  `${slashes}ws/google.cloud.aiplatform.${version}.LlmBidiService/BidiGenerateContent`

/** A Vertex AI model's full resource name (the emulator's fixed project and location). */
export const vertexModel = (name = "gemini-live-2.5-flash") =>
  `projects/my-project/locations/us-central1/publishers/google/models/${name}`

/** The `Authorization` header Vertex AI wants: an OAuth2 access token. */
export const bearer = (token = "ya29.test-token") => ({ Authorization: `Bearer ${token}` })

// -----------------------------------------------------------------------------
// Clients
// -----------------------------------------------------------------------------

/** How a connection closed, as the client saw it. */
export interface Closed {
  readonly code: number
  readonly reason: string
}

/** A raw client: the same shape over a socket or in memory, so tests can run on either. */
export interface TestClient {
  /** Sends a message as JSON. */
  readonly send: (message: unknown) => Effect.Effect<void>
  /** Sends text as it is (for malformed frames). */
  readonly sendText: (text: string) => Effect.Effect<void>
  /** The next frame as received (text or binary). */
  readonly nextFrame: Effect.Effect<Transport.Frame>
  /** The next frame, parsed as JSON. */
  readonly next: Effect.Effect<any>
  /** Waits until the connection has closed. */
  readonly closed: Effect.Effect<Closed>
  /** Closes the connection from the client's side (1000) and waits until it has closed. */
  readonly close: Effect.Effect<Closed>
  /** Drops the connection from the client's side, with no close frame. */
  readonly terminate: Effect.Effect<void>
  /** Pings the server and waits for its pong (in memory, where there are no pings: at once). */
  readonly ping: Effect.Effect<void>
}

/** Parses a frame's JSON; the emulator sends text frames, or binary ones with UTF-8 JSON. */
export const decodeFrame = (frame: Transport.Frame): any =>
  JSON.parse(typeof frame === "string" ? frame : new TextDecoder().decode(frame))

const makeClient = (
  sendText: (text: string) => Effect.Effect<void>,
  frames: Queue.Queue<Transport.Frame>,
  closed: Effect.Effect<Closed>,
  close: Effect.Effect<void>,
  terminate: Effect.Effect<void>,
  ping: Effect.Effect<void>
): TestClient => ({
  send: (message) => sendText(JSON.stringify(message)),
  sendText,
  nextFrame: Queue.take(frames),
  next: Effect.map(Queue.take(frames), decodeFrame),
  closed,
  close: Effect.zipRight(close, closed),
  terminate,
  ping
})

/**
 * A raw `ws` client over loopback; fails with the HTTP status if the upgrade is refused.
 * `maxPayload` is the largest frame it takes (larger: it closes 1009).
 */
export const openSocket = (
  port: number,
  path: string,
  headers: Record<string, string> = {},
  maxPayload?: number
): Effect.Effect<TestClient, number, Scope.Scope> =>
  Effect.gen(function*() {
    const frames = yield* Queue.unbounded<Transport.Frame>()
    const closed = yield* Deferred.make<Closed>()
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket, number>((resume) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
          headers,
          ...(maxPayload === undefined ? {} : { maxPayload })
        })
        socket.on("message", (data: Buffer, isBinary: boolean) => {
          Queue.unsafeOffer(frames, isBinary ? new Uint8Array(data) : data.toString("utf8"))
        })
        socket.on("close", (code: number, reason: Buffer) => {
          Deferred.unsafeDone(closed, Exit.succeed({ code, reason: reason.toString("utf8") }))
        })
        socket.on("error", () => {})
        socket.once("open", () => resume(Effect.succeed(socket)))
        socket.once("unexpected-response", (_request, response) => resume(Effect.fail(response.statusCode ?? 0)))
      }),
      (socket) => Effect.sync(() => socket.terminate())
    )
    return makeClient(
      (text) => Effect.sync(() => ws.send(text)),
      frames,
      Deferred.await(closed),
      Effect.sync(() => ws.close(1000)),
      Effect.sync(() => ws.terminate()),
      Effect.async<void>((resume) => {
        ws.once("pong", () => resume(Effect.void))
        ws.ping()
      })
    )
  })

/**
 * A Connection through the emulator's in-memory transport (the twin of the socket); `host` is the
 * URL's, which picks the backend the same way the real endpoints do.
 */
export const openMemory = (
  emulator: LiveEmulator.Service,
  path: string,
  headers: Record<string, string> = {},
  host = "generativelanguage.googleapis.com"
): Effect.Effect<TestClient, ConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Effect.provide(Transport.Transport, emulator.layerTransport)
    const connection = yield* transport.open({
      url: `wss://${host}${path}`,
      headers,
      openTimeout: "1 second"
    })
    const frames = yield* Queue.unbounded<Transport.Frame>()
    yield* Effect.forkScoped(Stream.runForEach(connection.frames, (frame) => Queue.offer(frames, frame)))
    return makeClient(
      (text) => Effect.orDie(connection.send(text)),
      frames,
      Effect.map(connection.closed, ({ code, reason }) => ({ code, reason })),
      Effect.asVoid(connection.close(1000)),
      connection.terminate,
      Effect.void
    )
  })

// -----------------------------------------------------------------------------
// Bytes
// -----------------------------------------------------------------------------

/** A frame as the bytes on the wire declared it; `payload` is shorter than `length` if cut off. */
export interface WireFrame {
  readonly opcode: number
  readonly length: number
  readonly payload: Buffer
}

/** A client below `ws`: what it sends is masked frames, what it receives is every byte until the socket ends. */
export interface TcpClient {
  /** Sends a message as a masked text frame. */
  readonly send: (message: unknown) => Effect.Effect<void>
  /** The server's frames, parsed from all the bytes received until the socket ended. */
  readonly ended: Effect.Effect<ReadonlyArray<WireFrame>>
}

/** Splits the bytes of a server's (unmasked) frames; the last may be cut off. */
export const parseWireFrames = (bytes: Buffer): ReadonlyArray<WireFrame> => {
  const frames: Array<WireFrame> = []
  let at = 0
  while (at + 2 <= bytes.length) {
    const opcode = bytes[at] & 0x0f
    let length = bytes[at + 1] & 0x7f
    let start = at + 2
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2)
      start = at + 4
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2))
      start = at + 10
    }
    frames.push({ opcode, length, payload: bytes.subarray(start, Math.min(start + length, bytes.length)) })
    at = start + length
  }
  return frames
}

/** Opens a WebSocket by hand over a TCP socket, to see the bytes a server sends (a cut frame, no close frame). */
export const openTcp = (port: number, path: string): Effect.Effect<TcpClient, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const received: Array<Buffer> = []
    const ended = yield* Deferred.make<ReadonlyArray<WireFrame>>()
    const socket = yield* Effect.acquireRelease(
      Effect.async<Net.Socket, Error>((resume) => {
        const socket = Net.connect(port, "127.0.0.1")
        let head = Buffer.alloc(0)
        const onHead = (chunk: Buffer) => {
          head = Buffer.concat([head, chunk])
          const end = head.indexOf("\r\n\r\n")
          if (end === -1) return
          socket.off("data", onHead)
          if (!head.subarray(0, 12).toString().includes("101")) return resume(Effect.fail(new Error(head.toString())))
          received.push(head.subarray(end + 4))
          socket.on("data", (data: Buffer) => received.push(data))
          resume(Effect.succeed(socket))
        }
        socket.on("data", onHead)
        socket.on("error", () => {})
        socket.on("close", () => Deferred.unsafeDone(ended, Exit.succeed(parseWireFrames(Buffer.concat(received)))))
        const key = crypto.randomBytes(16).toString("base64")
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
        )
      }),
      (socket) => Effect.sync(() => socket.destroy())
    )
    const send = (message: unknown) =>
      Effect.sync(() => {
        const payload = Buffer.from(JSON.stringify(message))
        const mask = crypto.randomBytes(4)
        const header = payload.length < 126
          ? Buffer.from([0x81, 0x80 | payload.length])
          : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
        socket.write(Buffer.concat([header, mask, payload.map((byte, i) => byte ^ mask[i % 4])]))
      })
    return { send, ended: Deferred.await(ended) }
  })

// -----------------------------------------------------------------------------
// Reading
// -----------------------------------------------------------------------------

/** Reads messages up to and including the first one `until` accepts. */
export const readUntil = (client: TestClient, until: (message: any) => boolean): Effect.Effect<ReadonlyArray<any>> =>
  Effect.gen(function*() {
    const messages: Array<any> = []
    while (true) {
      const message = yield* client.next
      messages.push(message)
      if (until(message)) return messages
    }
  })

/** Reads messages up to and including the next `turnComplete`: one whole reply. */
export const untilTurnComplete = (client: TestClient): Effect.Effect<ReadonlyArray<any>> =>
  readUntil(client, (message) => message.serverContent?.turnComplete === true)

/** What a summary shows beyond a message's kind; both on by default. */
export interface SummaryOptions {
  /** Audio chunks as `audio:<bytes>` (their decoded size), else just `audio`. */
  readonly audioBytes?: boolean
  /** `turnComplete` as `turnComplete` or `turnComplete+usage` (with `usageMetadata`), else by its content's keys. */
  readonly usage?: boolean
}

/** Makes `summary` with these options (a function of the message alone, for `.map`). */
export const summaryWith = ({ audioBytes = true, usage = true }: SummaryOptions = {}) => (message: any): string => {
  const content = message.serverContent
  if (message.setupComplete !== undefined) return "setupComplete"
  if (content === undefined) return Object.keys(message).join("+")
  const part = content.modelTurn?.parts?.[0]
  if (part?.inlineData !== undefined) {
    return audioBytes ? `audio:${Buffer.from(part.inlineData.data, "base64").length}` : "audio"
  }
  if (part?.text !== undefined) return `text:${part.text}`
  if (content.outputTranscription !== undefined) return `out:${content.outputTranscription.text}`
  if (content.inputTranscription !== undefined) return `in:${content.inputTranscription.text}`
  if (content.interactionStatus !== undefined) return `status:${content.interactionStatus}`
  if (usage && content.turnComplete === true) {
    return message.usageMetadata === undefined ? "turnComplete" : "turnComplete+usage"
  }
  return Object.keys(content).join("+")
}

/** A compact name for a server message, to assert whole sequences at a glance. */
export const summary = summaryWith()
