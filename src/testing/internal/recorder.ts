/**
 * What crossed the wire, per connection, for tests to assert on. Bounded: the emulator keeps the
 * newest connections and, per connection, the first messages of each direction, and counts what it
 * did not keep.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { ConnectionRecord } from "../LiveEmulator.js"
import type { CloseInfo } from "../../Transport.js"

/** How much the recorder keeps. */
export interface RecordLimits {
  readonly connections: number
  readonly messagesPerDirection: number
}

/** The request a connection was opened with. */
export interface RecordedRequest {
  readonly transport: "socket" | "memory"
  readonly backend: "GeminiAPI" | "VertexAI"
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
}

/** The live record of one connection, written by its session. */
export interface ConnectionRecorder {
  /** The connection's id (`ConnectionRecord.id`). */
  readonly id: number
  /** The setup resumed a conversation with `handle`; `sessionKey` is that conversation's. */
  readonly resumed: (handle: string, sessionKey: number) => void
  readonly client: (message: unknown) => void
  readonly server: (message: unknown) => void
  readonly close: (info: CloseInfo) => void
}

interface Entry {
  readonly id: number
  readonly request: RecordedRequest
  readonly clientMessages: Array<unknown>
  readonly serverMessages: Array<unknown>
  droppedMessages: number
  resumedFrom: string | undefined
  sessionKey: number
  closed: CloseInfo | undefined
  readonly whenClosed: Deferred.Deferred<CloseInfo>
}

/** The records of all connections of one emulator. */
export interface Recorder {
  readonly open: (request: RecordedRequest) => Effect.Effect<ConnectionRecorder>
  readonly snapshot: Effect.Effect<ReadonlyArray<ConnectionRecord>>
  /** Waits until connection `id` has closed; `undefined` if the emulator keeps no such connection. */
  readonly awaitClosed: (id: number) => Effect.Effect<CloseInfo | undefined>
}

const toRecord = (entry: Entry): ConnectionRecord => ({
  id: entry.id,
  transport: entry.request.transport,
  backend: entry.request.backend,
  path: entry.request.path,
  query: entry.request.query,
  headers: entry.request.headers,
  clientMessages: entry.clientMessages.slice(),
  serverMessages: entry.serverMessages.slice(),
  droppedMessages: entry.droppedMessages,
  resumedFrom: entry.resumedFrom,
  sessionKey: entry.sessionKey,
  closed: entry.closed
})

/** Makes an empty recorder. */
export const makeRecorder = (limits: RecordLimits): Recorder => {
  const entries: Array<Entry> = []
  let nextId = 0

  const open = (request: RecordedRequest) =>
    Effect.map(Deferred.make<CloseInfo>(), (whenClosed): ConnectionRecorder => {
      const id = nextId++
      const entry: Entry = {
        id,
        request,
        clientMessages: [],
        serverMessages: [],
        droppedMessages: 0,
        resumedFrom: undefined,
        sessionKey: id,
        closed: undefined,
        whenClosed
      }
      entries.push(entry)
      if (entries.length > limits.connections) entries.shift()
      const keep = (messages: Array<unknown>, message: unknown) => {
        if (messages.length < limits.messagesPerDirection) messages.push(message)
        else entry.droppedMessages++
      }
      return {
        id,
        resumed: (handle, sessionKey) => {
          entry.resumedFrom = handle
          entry.sessionKey = sessionKey
        },
        client: (message) => keep(entry.clientMessages, message),
        server: (message) => keep(entry.serverMessages, message),
        close: (info) => {
          if (entry.closed !== undefined) return
          entry.closed = info
          Deferred.unsafeDone(whenClosed, Effect.succeed(info))
        }
      }
    })

  return {
    open,
    snapshot: Effect.sync(() => entries.map(toRecord)),
    awaitClosed: (id) =>
      Effect.suspend(() => {
        const entry = entries.find((candidate) => candidate.id === id)
        return entry === undefined ? Effect.succeed(undefined) : Deferred.await(entry.whenClosed)
      })
  }
}
