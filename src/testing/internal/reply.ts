/**
 * What the model says. A reply is a script of actions run in its own fiber, one reply at a time,
 * so that a new user turn can stop it (barge-in, when pacing at real time); `answerTurn` asks the
 * script for the reply to a user turn.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type { Action, Say, Turn } from "../LiveEmulator.js"
import { audioChunks, textDeltas } from "./modelOutput.js"
import { inputSampleRate, toBase64, toBytes } from "./pcm.js"
import { end, hook, send, untilClosed, whileStalled } from "./serverMessages.js"
import { type ActiveSession, coveredNow, SessionEnded, type SessionState } from "./sessionState.js"
import { msPerCharacter, synthesizeSpeech } from "./speechSynthesis.js"
import type { UsageCounter } from "./usage.js"
import { encodeServerMessage } from "./wire.js"

const pace = (s: SessionState, ms: number) => (s.config.realtime ? Effect.sleep(ms) : Effect.void)

const completeTurn = (s: SessionState, counter: UsageCounter) =>
  Effect.uninterruptible(
    Effect.zipRight(
      send(s, { serverContent: { generationComplete: true } }),
      Effect.suspend(() => {
        s.modelTurnOpen = false
        return send(s, {
          serverContent: { turnComplete: true },
          usageMetadata: s.dialect.usageMetadata(counter.completeTurn())
        })
      })
    )
  )

const speak = (s: SessionState, { setup, usage }: ActiveSession, say: Say): Effect.Effect<void, SessionEnded> =>
  Effect.gen(function*() {
    const opening = !s.modelTurnOpen
    s.modelTurnOpen = true
    usage.addModelText(say.text)
    if (setup.responseModality === "TEXT") {
      for (const delta of textDeltas(say.text)) {
        yield* send(s, { serverContent: { modelTurn: s.dialect.modelTurn([{ text: delta }]) } })
        yield* pace(s, delta.length * msPerCharacter)
      }
    } else {
      if (opening && setup.outputTranscription && s.dialect.opensOutputTranscription) {
        yield* send(s, { serverContent: { outputTranscription: {} } })
      }
      const audio = say.audio ?? synthesizeSpeech(say.text)
      for (const chunk of audioChunks(audio, say.text)) {
        const data = toBase64(audio, chunk.start, chunk.end)
        const part = { inlineData: { mimeType: s.dialect.audioMimeType, data } }
        yield* send(s, { serverContent: { modelTurn: s.dialect.modelTurn([part]) } })
        if (setup.outputTranscription && chunk.transcription !== "") {
          yield* send(s, { serverContent: { outputTranscription: { text: chunk.transcription } } })
        }
        yield* pace(s, chunk.durationMs)
      }
    }
    if (say.turnComplete) yield* completeTurn(s, usage)
  })

/** Stops reading and sending for good; the script waits until the connection closes. */
const stall = (s: SessionState, pause: boolean) =>
  Effect.zipRight(
    Effect.suspend(() => {
      s.stalled = true
      return s.faults.stopReading(pause)
    }),
    whileStalled(s)
  )

const perform = (s: SessionState, action: Action): Effect.Effect<void, SessionEnded> => {
  if (s.stalled) return whileStalled(s)
  switch (action._tag) {
    case "Say":
      return s.active === undefined ? Effect.void : speak(s, s.active, action)
    case "Send":
      return send(s, action.message)
    case "SendFrame":
      return Effect.mapError(s.connection.send(action.frame), () => new SessionEnded())
    case "Close":
      return end(s, { code: action.code, reason: action.reason })
    case "Drop":
      return Effect.zipRight(s.connection.terminate, Effect.fail(new SessionEnded()))
    case "DropMidFrame":
      return Effect.zipRight(s.faults.dropMidFrame(encodeServerMessage(action.message)), Effect.fail(new SessionEnded()))
    case "Stall":
      return stall(s, action.pause)
    case "Wait":
      return Effect.sleep(action.duration)
    case "WaitFor":
      return Effect.asVoid(action.effect)
  }
}

/** Runs a script's actions in order. */
export const runActions = (s: SessionState, actions: ReadonlyArray<Action>) =>
  Effect.forEach(actions, (action) => perform(s, action), { discard: true })

/**
 * Forks a reply once the current one is over (an interrupting turn has already stopped it). The
 * caller counted it in `repliesStarting` (no handle is issued while a reply waits to start: the
 * state would hold a turn that is not answered); the message that asks for it is consumed.
 */
const forkReply = (s: SessionState, actions: ReadonlyArray<Action>, prelude: Effect.Effect<void, SessionEnded>) =>
  Effect.gen(function*() {
    s.handledIndex = s.messageIndex
    // What the reply's handle will cover (the Gemini API's model): the conversation up to this input.
    s.covered = coveredNow(s)
    if (s.reply !== undefined) yield* untilClosed(s, Fiber.await(s.reply))
    s.repliesStarting--
    s.reply = yield* Effect.forkScoped(
      Effect.catchAll(Effect.zipRight(prelude, runActions(s, actions)), () => Effect.void)
    )
  })

/** Starts a reply once the current one is over. */
export const startReply = (
  s: SessionState,
  actions: ReadonlyArray<Action>,
  prelude: Effect.Effect<void, SessionEnded> = Effect.void
) =>
  Effect.suspend(() => {
    s.repliesStarting++
    return forkReply(s, actions, prelude)
  })

/**
 * Stops the reply in progress, if any: the client learns it from `interrupted` then `turnComplete`
 * (only if the model turn has output).
 */
export const stopReply = (s: SessionState, { usage }: ActiveSession) =>
  Effect.suspend(() => {
    const current = s.reply
    if (current === undefined) return Effect.void
    return Effect.gen(function*() {
      yield* Fiber.interrupt(current)
      s.reply = undefined
      if (s.modelTurnOpen) {
        s.modelTurnOpen = false
        yield* send(s, { serverContent: { interrupted: true } })
        yield* send(s, {
          serverContent: { turnComplete: true },
          usageMetadata: s.dialect.usageMetadata(usage.completeTurn())
        })
      }
    })
  })

/**
 * Barge-in: a new user turn stops a reply that is still streaming. Only at real-time pacing
 * (otherwise a reply is out before the next message is read), and not with `activityHandling:
 * NO_INTERRUPTION`.
 */
export const bargeIn = (s: SessionState, session: ActiveSession) =>
  !s.config.realtime || !session.setup.interruptible ? Effect.void : stopReply(s, session)

/** A user turn (text, or audio with its transcript): the script's reply to it starts. */
export const answerTurn = (
  s: SessionState,
  { setup, usage }: ActiveSession,
  text: string | undefined,
  samples: Int16Array | undefined
) =>
  Effect.gen(function*() {
    s.repliesStarting++
    const audio = samples === undefined ? new Uint8Array(0) : toBytes(samples)
    if (samples !== undefined) usage.addUserAudio(samples.length / inputSampleRate)
    const transcript = samples === undefined ? undefined : yield* hook(s, () => s.config.transcribe(audio))
    const previous = s.history.slice()
    const turn: Turn = {
      index: previous.length,
      text,
      audio,
      transcript,
      setup: setup.raw,
      resumed: s.resumed,
      history: previous,
      systemInstruction: s.systemInstruction,
      tools: s.tools
    }
    s.history.push(text ?? transcript ?? "")
    const actions = yield* hook(s, () => s.config.onTurn(turn))
    const prelude = setup.inputTranscription && transcript !== undefined
      ? send(s, { serverContent: { inputTranscription: { text: transcript } } })
      : Effect.void
    yield* forkReply(s, actions, prelude)
  })
