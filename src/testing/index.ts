/**
 * The test kit of effect-gemini-live (package subpath `effect-gemini-live/testing`).
 *
 * @since 0.1.0
 */

/**
 * A fake Gemini Live server that speaks the real protocol, over a real socket or in memory.
 *
 * @since 0.1.0
 */
export * as LiveEmulator from "./LiveEmulator.js"

/**
 * An in-memory transport: a connected pair per connection, the far end served by your server.
 *
 * @since 0.1.0
 */
export * as MemoryTransport from "./MemoryTransport.js"
