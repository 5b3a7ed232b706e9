/**
 * Test support: raw clients of the LiveEmulator, below the library's own session: a `ws` socket
 * over loopback, or a Connection of the in-memory twin. They send and read the wire's JSON as it
 * is, so tests can see exactly what the emulator says and how it closes.
 */
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
}

/** Parses a frame's JSON; the emulator sends text frames, or binary ones with UTF-8 JSON. */
export const decodeFrame = (frame: Transport.Frame): any =>
  JSON.parse(typeof frame === "string" ? frame : new TextDecoder().decode(frame))

const makeClient = (
  sendText: (text: string) => Effect.Effect<void>,
  frames: Queue.Queue<Transport.Frame>,
  closed: Effect.Effect<Closed>,
  close: Effect.Effect<void>
): TestClient => ({
  send: (message) => sendText(JSON.stringify(message)),
  sendText,
  nextFrame: Queue.take(frames),
  next: Effect.map(Queue.take(frames), decodeFrame),
  closed,
  close: Effect.zipRight(close, closed)
})

/** A raw `ws` client over loopback; fails with the HTTP status if the upgrade is refused. */
export const openSocket = (
  port: number,
  path: string,
  headers: Record<string, string> = {}
): Effect.Effect<TestClient, number, Scope.Scope> =>
  Effect.gen(function*() {
    const frames = yield* Queue.unbounded<Transport.Frame>()
    const closed = yield* Deferred.make<Closed>()
    const ws = yield* Effect.acquireRelease(
      Effect.async<WebSocket, number>((resume) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers })
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
      Effect.sync(() => ws.close(1000))
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
      Effect.asVoid(connection.close(1000))
    )
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
