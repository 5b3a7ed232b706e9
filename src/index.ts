/**
 * effect-gemini-live: an Effect-native client for the Gemini Live API.
 *
 * @since 0.1.0
 */

/**
 * The client: `layer`, `layerWithoutDependencies`, `layerConfig`, `connect`.
 *
 * @since 0.1.0
 */
export * as GeminiLive from "./GeminiLive.js"

/**
 * The parameters (VoxEngine's `LiveAPIClientParameters`) and the services they build (`layer`).
 *
 * @since 0.1.0
 */
export * as Parameters from "./Parameters.js"

/**
 * A Live session as a scoped resource.
 *
 * @since 0.1.0
 */
export * as LiveSession from "./LiveSession.js"

/**
 * The typed events of a session.
 *
 * @since 0.1.0
 */
export * as LiveEvent from "./LiveEvent.js"

/**
 * What each Live model accepts, checked before anything is sent (and by the emulator).
 *
 * @since 0.1.0
 */
export * as LiveModel from "./LiveModel.js"

/**
 * The errors of a session.
 *
 * @since 0.1.0
 */
export * as LiveError from "./LiveError.js"

/**
 * What a session does when a connection ends unasked: reconnect, resume, or end.
 *
 * @since 0.1.0
 */
export * as ReconnectPolicy from "./ReconnectPolicy.js"

/**
 * Typed tools: declarations from Schema, automatic dispatch, cancellation.
 *
 * @since 0.1.0
 */
export * as Tool from "./Tool.js"

/**
 * PCM16 and G.711 audio: formats, resampling, conversion, WAV.
 *
 * @since 0.1.0
 */
export * as Audio from "./Audio.js"

/**
 * Wire Schemas, encoders and the decoder.
 *
 * @since 0.1.0
 */
export * as Protocol from "./Protocol.js"

/**
 * Gemini API and Vertex AI backends.
 *
 * @since 0.1.0
 */
export * as Backend from "./Backend.js"

/**
 * Credentials plugins.
 *
 * @since 0.1.0
 */
export * as Auth from "./Auth.js"

/**
 * The transport abstraction: a connection's frames, writes and close.
 *
 * @since 0.1.0
 */
export * as Transport from "./Transport.js"

/**
 * The Node transport (the `ws` package), the default.
 *
 * @since 0.1.0
 */
export * as NodeTransport from "./NodeTransport.js"

/**
 * Per-session statistics and metrics.
 *
 * @since 0.1.0
 */
export * as Statistics from "./Statistics.js"

/**
 * The wire trace of every frame.
 *
 * @since 0.1.0
 */
export * as WireTrace from "./WireTrace.js"
