/**
 * The Node transport on `ws`, the default of `GeminiLive.layer`: it sends upgrade headers (Vertex
 * AI's Bearer token) and turns per-message compression off (audio does not compress). It notices a
 * dead connection (a silent server, a send buffer that stops draining), bounds every close, and
 * refuses frames over a maximum size; `make` and `layerWith` change those figures.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Liveness from "./internal/transport/liveness.js"
import * as WebSocketConnection from "./internal/transport/webSocketConnection.js"
import * as Transport from "./Transport.js"

/**
 * The transport's figures; each is optional, with the default shown. A duration of 0 or `Infinity`
 * turns its watch off.
 *
 * - `pingInterval` (15 s): after this long without a frame from the server, a WebSocket ping, then
 *   another at this interval while the silence lasts.
 * - `livenessTimeout` (45 s): nothing received (no frame, ping or pong) for this long, or a send
 *   buffer that is not empty and has not gone down for this long, and the connection is dead: it is
 *   dropped and reported closed with 1006, a reason saying which (e.g. "no data from the server for
 *   45 s"), `wasClean: false`, which the session's reconnect policy retries. It is noticed between
 *   the timeout and a third of `min(pingInterval, livenessTimeout)` after it (45–50 s by default).
 *   The Gemini API's pongs have been seen to take up to 30 s: keep the timeout above
 *   `pingInterval` + 30 s.
 * - `maxFrameBytes` (16 MiB): a frame from the server over this size closes the connection with
 *   1009, reported as `{ code: 1009, reason: "a frame from the server over the 16 MiB limit",
 *   wasClean: false }`. The largest real messages are a few hundred KB.
 * - `closeTimeout` (3 s): how long a close (`Connection.close`, or the scope's) waits for the
 *   server's close frame before it drops the socket, reported as 1006 ("no close frame from the
 *   server within 3 s"). Bounded in any context, finalizers included.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly pingInterval?: Duration.DurationInput | undefined
  readonly livenessTimeout?: Duration.DurationInput | undefined
  readonly maxFrameBytes?: number | undefined
  readonly closeTimeout?: Duration.DurationInput | undefined
}

/**
 * The `ws` transport with `options` over the defaults (see `Options`), as a service value.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Transport.Service => {
  const settings = Liveness.settings(options)
  return Transport.Transport.of({ open: (request) => WebSocketConnection.open(request, settings) })
}

/**
 * The `ws` transport with the default figures, as a service value (to wrap it in a transport of your own).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const webSocket: Transport.Service = make()

/**
 * The `ws` transport as a Layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<Transport.Transport> = Layer.succeed(Transport.Transport, webSocket)

/**
 * The `ws` transport with `options` as a Layer, e.g. to provide to `GeminiLive.layer`:
 * `GeminiLive.layer(p).pipe(Layer.provide(NodeTransport.layerWith({ livenessTimeout: "30 seconds" })))`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerWith = (options: Options): Layer.Layer<Transport.Transport> => Layer.succeed(Transport.Transport, make(options))
