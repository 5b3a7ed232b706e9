/**
 * An in-memory transport, for tests that need no socket at all: every `open` makes a connected pair
 * of connections and hands the far end to a server (the emulator's `layerTransport` is one). Close
 * codes, reasons and abrupt drops behave as on a socket.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MemoryConnection from "./internal/memoryConnection.js"
import * as Transport from "../Transport.js"

/**
 * What answers the connections: it decides each upgrade, then serves the accepted connection from
 * the other end of the pair.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Server {
  /** `undefined` accepts the upgrade; a status refuses it, as an HTTP answer to the upgrade would. */
  readonly upgrade: (request: Transport.OpenRequest) => { readonly status: number; readonly message: string } | undefined
  /** Serves one accepted connection until it closes. */
  readonly serve: (request: Transport.OpenRequest, peer: Transport.Connection) => Effect.Effect<void>
}

/**
 * The in-memory transport, served by `server`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (server: Server): Layer.Layer<Transport.Transport> =>
  Layer.succeed(Transport.Transport, Transport.Transport.of({ open: (request) => MemoryConnection.open(server, request) }))
