/**
 * The Node transport: WebSocket connections on the `ws` package, the default of `GeminiLive.layer`.
 * It sends headers on the upgrade request (Vertex AI's Bearer token, which browsers' WebSocket
 * cannot), turns per-message compression off (audio does not compress, and deflate costs CPU on
 * every frame), and reads each connection from its socket's own events.
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
