/**
 * Session resumption across connections: the conversation state behind each handle one emulator has
 * issued (both faces, both backends). A handle is an opaque random string naming a snapshot taken at
 * a safe point; it is not used up, and stays valid while a connection of its conversation is open
 * and for `lifetime` after the last one ended, as on the service. Times come from the `Clock`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import type { Backend } from "./route.js"
import type { UsageContext } from "./usage.js"

/** What a resumed session continues from. */
export interface ConversationState {
  /** The id of the conversation's first connection (`ConnectionRecord.sessionKey`). */
  readonly sessionKey: number
  readonly backend: Backend
  /** The model's own name (the model cannot change on resumption). */
  readonly model: string
  /** The texts of the user turns so far (an audio turn's transcript), oldest first. */
  readonly history: ReadonlyArray<string>
  /** `clientContent` text sent without `turnComplete`, not answered yet. */
  readonly pendingText: ReadonlyArray<string>
  readonly usage: UsageContext
  /** The system instruction in force (the setup's, or a later `contextUpdate`'s), as text. */
  readonly systemInstruction: string
  /** The tools in force, as the client sent them. */
  readonly tools: ReadonlyArray<unknown>
  /** The conversation has started (realtime input received, or the model has output something). */
  readonly started: boolean
  /** Client messages consumed over all the conversation's connections (`setup` messages aside). */
  readonly consumedClientMessages: number
}

/** The life of one conversation: its open connections and when the last one ended. */
interface Conversation {
  open: number
  lastEndedAt: number
}

/** The handles of one emulator. */
export interface ResumptionStore {
  /**
   * A connection of conversation `sessionKey` starts (after its setup was accepted); the returned
   * effect says it has ended.
   */
  readonly connect: (sessionKey: number) => Effect.Effect<Effect.Effect<void>>
  /** Issues a handle for this state (its conversation must have a connection open). */
  readonly issue: (state: ConversationState) => Effect.Effect<string>
  /** The state behind a handle, or `undefined` if the emulator did not issue it or it has expired. */
  readonly lookup: (handle: string) => Effect.Effect<ConversationState | undefined>
}

/** Makes an empty store whose handles live `lifetimeMs` after their conversation's last connection. */
export const makeResumptionStore = (lifetimeMs: number): ResumptionStore => {
  const handles = new Map<string, ConversationState>()
  const conversations = new Map<number, Conversation>()

  const alive = (conversation: Conversation | undefined, now: number): boolean =>
    conversation !== undefined && (conversation.open > 0 || now < conversation.lastEndedAt + lifetimeMs)

  /** Forgets what has expired (conversations are few; this runs when a handle is issued). */
  const sweep = (now: number) => {
    for (const [key, conversation] of conversations) {
      if (!alive(conversation, now)) conversations.delete(key)
    }
    for (const [handle, state] of handles) {
      if (!conversations.has(state.sessionKey)) handles.delete(handle)
    }
  }

  return {
    connect: (sessionKey) =>
      Effect.sync(() => {
        const conversation = conversations.get(sessionKey) ?? { open: 0, lastEndedAt: 0 }
        conversations.set(sessionKey, conversation)
        conversation.open++
        let ended = false
        return Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            if (ended) return
            ended = true
            conversation.open--
            conversation.lastEndedAt = Math.max(conversation.lastEndedAt, now)
          }))
      }),
    issue: (state) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        sweep(now)
        const handle = randomBytes(24).toString("base64url")
        handles.set(handle, state)
        return handle
      }),
    lookup: (handle) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const state = handles.get(handle)
        return state !== undefined && alive(conversations.get(state.sessionKey), now) ? state : undefined
      })
  }
}
