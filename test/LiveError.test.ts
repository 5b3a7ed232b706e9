/**
 * The errors' shared base: each class keeps its tag, fields, `retryable` and message, carries the
 * TypeId, and survives a round trip through the `LiveError` Schema.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as LiveError from "../src/LiveError.js"

const at = { module: "M", method: "m" }

const cases: ReadonlyArray<readonly [LiveError.LiveError, string, boolean]> = [
  [new LiveError.ConfigError({ ...at, path: "a.b", description: "bad" }), "a.b: bad", false],
  [new LiveError.ConfigError({ ...at, path: "", description: "bad" }), "bad", false],
  [new LiveError.AuthError({ ...at, description: "refused", retryable: true }), "refused", true],
  [new LiveError.AuthError({ ...at, description: "refused", retryable: false }), "refused", false],
  [new LiveError.ConnectError({ ...at, reason: "Open", description: "no route" }), "no route", true],
  [new LiveError.ConnectError({ ...at, reason: "HttpStatus", status: 429, description: "busy" }), "busy", true],
  [new LiveError.ConnectError({ ...at, reason: "HttpStatus", status: 403, description: "no" }), "no", false],
  [new LiveError.SetupRejected({ ...at, code: 1011, reason: "" }), "setup rejected with close code 1011: (no reason)", true],
  [new LiveError.ProtocolError({ ...at, description: "not JSON" }), "not JSON", false],
  [new LiveError.ServerClosed({ ...at, code: 1006, reason: "gone", wasClean: false }), "session closed by the server with code 1006: gone", true],
  [new LiveError.SessionClosed({ ...at, code: 1000, reason: "bye" }), "m: the session is closed (code 1000: bye)", false],
  [new LiveError.AudioError({ ...at, description: "odd bytes" }), "odd bytes", false]
]

describe("LiveError", () => {
  it("each error keeps its message and retryable", () => {
    for (const [error, message, retryable] of cases) {
      expect(error.message).toBe(message)
      expect(error.retryable).toBe(retryable)
      expect(String(error)).toBe(`${error._tag}: ${message}`)
    }
  })

  it("each error carries the TypeId and its origin", () => {
    for (const [error] of cases) {
      expect(LiveError.isLiveError(error)).toBe(true)
      expect(Object.getOwnPropertySymbols(error)).toContain(LiveError.TypeId)
      expect(error).toMatchObject(at)
      expect(error).toBeInstanceOf(Error)
    }
    expect(LiveError.isLiveError(new Error("x"))).toBe(false)
  })

  it("a 1008 close hints at the model and the credential", () => {
    const rejected = new LiveError.SetupRejected({ ...at, code: 1008, reason: "" })
    expect(rejected.retryable).toBe(false)
    expect(rejected.message).toContain("is the model available on this backend")
  })

  it("round-trips through the LiveError Schema", () => {
    for (const [error] of cases) {
      const encoded = Schema.encodeSync(LiveError.LiveError)(error)
      expect(encoded).toMatchObject({ _tag: error._tag, ...at })
      const decoded = Schema.decodeUnknownSync(LiveError.LiveError)(encoded)
      expect(decoded).toBeInstanceOf(error.constructor)
      expect(decoded).toEqual(error)
      expect(decoded.message).toBe(error.message)
    }
  })

  it("is identified as effect-gemini-live/<tag>", () => {
    for (const [error] of cases) {
      expect((error.constructor as unknown as { identifier: string }).identifier).toBe(`effect-gemini-live/${error._tag}`)
    }
  })
})
