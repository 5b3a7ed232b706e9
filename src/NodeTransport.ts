/**
 * The Node transport on `ws`, the default of `GeminiLive.layer`: it sends upgrade headers (Vertex
 * AI's Bearer token) and turns per-message compression off (audio does not compress).
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import * as WebSocketConnection from "./internal/transport/webSocketConnection.js"
import * as Transport from "./Transport.js"

/**
 * The `ws` transport as a service value (to wrap it in a transport of your own).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const webSocket: Transport.Service = Transport.Transport.of({ open: WebSocketConnection.open })

/**
 * The `ws` transport as a Layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<Transport.Transport> = Layer.succeed(Transport.Transport, webSocket)
