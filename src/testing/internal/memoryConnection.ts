/**
 * An in-memory connected pair of `Connection`s: what one end sends, the other receives, in order,
 * through a bounded buffer (a full buffer suspends the sender, as a slow socket would).
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ConnectError } from "../../LiveError.js"
import type { Server } from "../MemoryTransport.js"
import { type CloseInfo, type Connection, type Frame, type OpenRequest, TransportError } from "../../Transport.js"

const bufferCapacity = 256

/** Opens a client connection to `server`, which serves the far end in a fiber of this scope. */
export const open = (
  server: Server,
  request: OpenRequest
): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const refused = server.upgrade(request)
    if (refused !== undefined) {
      return yield* new ConnectError({
        module: "Transport",
        method: "open",
        reason: "HttpStatus",
        status: refused.status,
        description: `the server answered the upgrade with HTTP ${refused.status}: ${refused.message}`
      })
    }
    const [client, peer] = yield* makePair
    yield* Effect.forkScoped(server.serve(request, peer))
    yield* Effect.addFinalizer(() => client.close(1000))
    return client
  })

/** A connected pair sharing one close: whichever end closes (or drops) first decides the close info. */
export const makePair: Effect.Effect<readonly [Connection, Connection]> = Effect.gen(function*() {
  const closed = yield* Deferred.make<CloseInfo>()
  const toA = yield* Mailbox.make<Frame>({ capacity: bufferCapacity })
  const toB = yield* Mailbox.make<Frame>({ capacity: bufferCapacity })

  const finish = (info: CloseInfo) =>
    Effect.flatMap(Deferred.succeed(closed, info), (first) =>
      first ? Effect.zipRight(toA.end, toB.end) : Effect.void)

  const end = (inbox: Mailbox.Mailbox<Frame>, outbox: Mailbox.Mailbox<Frame>): Connection => ({
    send: (frame) => {
      const failure = Effect.flatMap(Deferred.await(closed), (info) =>
        Effect.fail(new TransportError({ reason: "Closed", close: info })))
      return Effect.flatMap(Deferred.poll(closed), (done) =>
        Option.isNone(done)
          // `false`: the pair ended while the offer waited for room; the frame never went out.
          ? Effect.flatMap(outbox.offer(frame), (accepted) => (accepted ? Effect.void : failure))
          : failure)
    },
    // A full buffer suspends `send` itself.
    awaitWritable: Effect.void,
    frames: Stream.repeatEffectChunkOption(
      Effect.flatMap(inbox.takeAll, ([chunk, done]) =>
        done && Chunk.isEmpty(chunk) ? Effect.fail(Option.none()) : Effect.succeed(chunk))
    ),
    close: (code = 1000, reason = "") => Effect.zipRight(finish({ code, reason, wasClean: true }), Deferred.await(closed)),
    terminate: finish({ code: 1006, reason: "", wasClean: false }),
    closed: Deferred.await(closed)
  })

  return [end(toA, toB), end(toB, toA)] as const
})
