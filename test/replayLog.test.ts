/**
 * The replay log of transparent resumption: what a handle does not cover is kept, in order, within
 * its bound, and what did not fit is counted.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ReplayLog from "../src/internal/session/replayLog.js"

describe("ReplayLog", () => {
  // Kept across connections until a handle covers it.
  it("keeps what the latest handle does not cover", () => {
    const log = ReplayLog.make(1_000)
    for (let index = 1; index <= 5; index++) log.sent(0, index, `a${index}`)
    log.consumed(0, 2)
    expect(log.pending()).toEqual({ frames: ["a3", "a4", "a5"], dropped: 0 })
    // Sent again on connection 1 after its setup (0): now owed by connection 1, as its 1..3.
    log.resentOn(1, 1, 3)
    log.sent(1, 4, "b4")
    log.consumed(1, 2)
    expect(log.pending().frames).toEqual(["a5", "b4"])
    log.consumed(1, 4)
    expect(log.pending().frames).toEqual([])
  })

  // What was dropped counts as lost until a handle covers it.
  it("is bounded: the oldest go first and are counted", () => {
    const log = ReplayLog.make(10)
    for (let index = 1; index <= 6; index++) log.sent(0, index, `m${index}`) // 2 characters each
    expect(log.pending()).toEqual({ frames: ["m2", "m3", "m4", "m5", "m6"], dropped: 1 })
    log.consumed(0, 0) // a handle from before them: still lost
    expect(log.pending().dropped).toBe(1)
    log.consumed(0, 3) // covers what was dropped
    expect(log.pending()).toEqual({ frames: ["m4", "m5", "m6"], dropped: 0 })
  })

  it("a message that did not go out is taken back", () => {
    const log = ReplayLog.make(1_000)
    log.sent(0, 1, "a1")
    log.sent(0, 2, "a2")
    log.sent(0, 3, "a3")
    log.retract(0, 2)
    expect(log.pending().frames).toEqual(["a1", "a3"])
    log.retract(0, 9)
    expect(log.pending().frames).toEqual(["a1", "a3"])
  })

  it("a resend reports what was lost once; clear forgets all", () => {
    const log = ReplayLog.make(4)
    for (let index = 1; index <= 4; index++) log.sent(0, index, `m${index}`)
    expect(log.pending().dropped).toBe(2)
    log.resentOn(1, 1, 2)
    expect(log.pending()).toEqual({ frames: ["m3", "m4"], dropped: 0 })
    log.clear()
    expect(log.pending()).toEqual({ frames: [], dropped: 0 })
  })
})
