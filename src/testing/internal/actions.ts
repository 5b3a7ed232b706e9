/** The constructors of the script actions (`LiveEmulator.Action`). */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Transport from "../../Transport.js"
import type { Action } from "../LiveEmulator.js"
import { oversizedFrame, schemaDriftMessage, truncatedFrame } from "./faults.js"
import { deadlineExpired, protoDuration } from "./wire.js"

export const say = (
  text: string,
  options?: { readonly audio?: Uint8Array; readonly turnComplete?: boolean }
): Action => ({
  _tag: "Say",
  text,
  ...(options?.audio === undefined ? {} : { audio: options.audio }),
  turnComplete: options?.turnComplete ?? true
})

export const send = (message: unknown): Action => ({ _tag: "Send", message })

export const sendFrame = (frame: Transport.Frame): Action => ({ _tag: "SendFrame", frame })

export const close = (code: number, reason = ""): Action => ({ _tag: "Close", code, reason })

export const drop: Action = { _tag: "Drop" }

export const wait = (duration: Duration.DurationInput): Action => ({ _tag: "Wait", duration })

export const waitFor = (effect: Effect.Effect<unknown>): Action => ({ _tag: "WaitFor", effect })

export const goAway = (
  timeLeft: Duration.DurationInput,
  then: Action = close(deadlineExpired.code, deadlineExpired.reason)
): ReadonlyArray<Action> => [
  send({ goAway: { timeLeft: protoDuration(Duration.unsafeToNanos(timeLeft)) } }),
  wait(timeLeft),
  then
]

export const stall = (options?: { readonly pause?: boolean }): Action => ({ _tag: "Stall", pause: options?.pause ?? false })

export const dropMidFrame = (
  message: unknown = { serverContent: { modelTurn: { parts: [{ text: "This frame is cut off." }] } } }
): Action => ({ _tag: "DropMidFrame", message })

export const sendOversized = (bytes: number): Action => sendFrame(oversizedFrame(bytes))

export const sendTruncated = (message: unknown = { serverContent: { turnComplete: true } }): Action =>
  sendFrame(truncatedFrame(message))

export const schemaDrift = (audio?: Uint8Array): Action => send(schemaDriftMessage(audio))
