/**
 * The emulator per model (`LiveModel` rules): what each model refuses (close 1007), `contextUpdate`,
 * function behaviours and scheduling, Vertex AI's cancellation of BLOCKING calls, 3.8's
 * `turnComplete` interruption, extended thinking's `interactionStatus`. Raw clients (support/emulatorClients.ts):
 * a `ws` socket, or a Connection of the in-memory twin.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as LiveModel from "../src/LiveModel.js"
import * as LiveEmulator from "../src/testing/LiveEmulator.js"
import {
  bearer,
  livePath,
  openMemory,
  openSocket,
  readUntil,
  summaryWith,
  type TestClient,
  untilTurnComplete,
  vertexModel,
  vertexPath
} from "./support/emulatorClients.js"

// -----------------------------------------------------------------------------
// Fixtures (the raw clients are in support/emulatorClients.ts)
// -----------------------------------------------------------------------------

const invalid = { code: 1007, reason: "Request contains an invalid argument." }

/** `summary` for these tests: audio chunks are just `audio`, `turnComplete` is named by its content's keys. */
const summary = summaryWith({ audioBytes: false, usage: false })

/**
 * Waits until the emulator's latest connection has received `count` client messages, and a little
 * more for the last one to be handled (live clock).
 */
const settle = (emulator: LiveEmulator.Service, count: number) =>
  Effect.gen(function*() {
    while (true) {
      const records = yield* emulator.connections
      if (records[records.length - 1].clientMessages.length >= count) break
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep("30 millis")
  })

/** What the model said in these messages: text parts and output transcriptions, joined. */
const said = (messages: ReadonlyArray<any>): string =>
  messages.map((message) =>
    message.serverContent?.modelTurn?.parts?.[0]?.text ?? message.serverContent?.outputTranscription?.text ?? ""
  ).join("")

/** Sends a setup; the first answer: `"setupComplete"`, or how the connection closed. */
const setupOutcome = (client: TestClient, setup: Record<string, unknown>) =>
  Effect.gen(function*() {
    yield* client.send({ setup })
    const first = yield* Effect.raceFirst(
      Effect.map(client.next, summary),
      client.closed
    )
    return first
  })

const g38 = "models/gemini-3.8-live"
const g31 = "models/gemini-3.1-flash-live-preview"
const thinking38 = "models/gemini-3.8-live-extended-thinking"
const audioSetup = (model: string, setup: Record<string, unknown> = {}) => ({
  model,
  outputAudioTranscription: {},
  ...setup
})

const userTurn = (text: string, turnComplete = true) => ({
  clientContent: { turns: [{ role: "user", parts: [{ text }] }], turnComplete }
})

const declare = (...declarations: ReadonlyArray<Record<string, unknown>>) => [{ functionDeclarations: declarations }]

describe("LiveEmulator models", () => {
  // ---------------------------------------------------------------------------
  // Setup
  // ---------------------------------------------------------------------------

  describe("setup", () => {
    // In either spelling (snake_case, enum numbers); the same setup passes where no rule forbids it.
    it.scopedLive("closes 1007 for what a model refuses at setup", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const gemini = (setup: Record<string, unknown>) =>
          Effect.flatMap(openSocket(emulator.port, livePath), (client) => setupOutcome(client, setup))
        const vertex = (setup: Record<string, unknown>) =>
          Effect.flatMap(openSocket(emulator.port, vertexPath(), bearer()), (client) => setupOutcome(client, setup))

        // 3.8: no thinking levels (either spelling), on both backends; 3.1 takes them.
        assert.deepStrictEqual(yield* gemini({ model: g38, generationConfig: { thinkingConfig: { thinkingLevel: "low" } } }), invalid)
        assert.deepStrictEqual(yield* gemini({ model: g38, generation_config: { thinking_config: { thinking_level: "low" } } }), invalid)
        assert.deepStrictEqual(yield* vertex({ model: vertexModel("gemini-3.8-live"), generationConfig: { thinkingConfig: {} } }), invalid)
        assert.strictEqual(yield* gemini({ model: g31, generationConfig: { thinkingConfig: { thinkingLevel: "low" } } }), "setupComplete")

        // Gemini API 3.8: proactive audio is always on; true is fine, false (or "false") is refused.
        assert.deepStrictEqual(yield* gemini({ model: g38, proactivity: { proactive_audio: false } }), invalid)
        assert.deepStrictEqual(yield* gemini({ model: g38, proactivity: { proactiveAudio: "false" } }), invalid)
        assert.strictEqual(yield* gemini({ model: g38, proactivity: { proactiveAudio: true } }), "setupComplete")

        // Gemini API 3.8: no affective dialog, AUDIO only (by name or by enum number); Vertex AI takes both.
        assert.deepStrictEqual(yield* gemini({ model: g38, generationConfig: { enableAffectiveDialog: true } }), invalid)
        assert.deepStrictEqual(yield* gemini({ model: g38, generationConfig: { responseModalities: ["TEXT"] } }), invalid)
        assert.deepStrictEqual(yield* gemini({ model: g38, generation_config: { response_modalities: [1] } }), invalid)
        assert.strictEqual(yield* gemini({ model: g38, generationConfig: { responseModalities: ["AUDIO"] } }), "setupComplete")
        assert.strictEqual(yield* gemini({ model: g38, generation_config: { response_modalities: [3] } }), "setupComplete")
        assert.strictEqual(
          yield* vertex({ model: vertexModel("gemini-3.8-live"), generationConfig: { enableAffectiveDialog: true, responseModalities: ["TEXT"] } }),
          "setupComplete"
        )

        // Extended thinking: async functions only (BLOCKING refused, by name or by enum number).
        assert.deepStrictEqual(yield* gemini({ model: thinking38, tools: declare({ name: "f", behavior: "BLOCKING" }) }), invalid)
        assert.deepStrictEqual(yield* gemini({ model: thinking38, tools: [{ function_declarations: [{ name: "f", behavior: 1 }] }] }), invalid)
        assert.strictEqual(yield* gemini({ model: thinking38, tools: declare({ name: "f" }, { name: "g", behavior: "NON_BLOCKING" }) }), "setupComplete")
        assert.strictEqual(yield* gemini({ model: thinking38, tools: declare({ name: "f", behavior: 2 }, { name: "g", behavior: "UNSPECIFIED" }) }), "setupComplete")
        assert.strictEqual(yield* gemini({ model: g38, tools: declare({ name: "f", behavior: "BLOCKING" }) }), "setupComplete")
      }))

    // So a new model works the day it ships; Options.models replaces the known rules.
    it.scoped("in memory: an unknown model passes unchecked", () =>
      Effect.gen(function*() {
        const refusedEverywhere = { model: "models/gemini-9-live", generationConfig: { thinkingConfig: {}, responseModalities: ["TEXT"] } }
        const defaults = yield* LiveEmulator.make()
        const unknown = yield* openMemory(defaults, livePath)
        assert.strictEqual(yield* setupOutcome(unknown, refusedEverywhere), "setupComplete")
        // Unchecked clientContent too: no role, mid-session.
        yield* unknown.send({ clientContent: { turns: [{ parts: [{ text: "hi" }] }], turnComplete: true } })
        yield* unknown.send({ realtimeInput: { text: "again" } })
        yield* unknown.send({ clientContent: { turns: [{ parts: [{ text: "and again" }] }], turnComplete: true } })
        const replies = [yield* untilTurnComplete(unknown), yield* untilTurnComplete(unknown), yield* untilTurnComplete(unknown)]
        assert.deepStrictEqual(replies.map(said), ["You said: \"hi\"", "You said: \"again\"", "You said: \"and again\""])

        // A registry that knows gemini-9-live refuses the same setup; one without 3.8 lets 3.8 through.
        const custom = yield* LiveEmulator.make({
          models: LiveModel.registry([{ name: "gemini-9-live", GeminiAPI: { thinking: false } }], { replace: true })
        })
        assert.deepStrictEqual(yield* setupOutcome(yield* openMemory(custom, livePath), refusedEverywhere), invalid)
        assert.strictEqual(
          yield* setupOutcome(yield* openMemory(custom, livePath), { model: g38, generationConfig: { thinkingConfig: {} } }),
          "setupComplete"
        )
      }))
  })

  // ---------------------------------------------------------------------------
  // clientContent
  // ---------------------------------------------------------------------------

  describe("clientContent", () => {
    // On 3.1 clientContent only seeds the initial history; 3.8 wants an explicit role on each turn.
    it.scopedLive("3.1 refuses clientContent mid-session; 3.8 takes it", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const preview = yield* openSocket(emulator.port, livePath)
        assert.strictEqual(yield* setupOutcome(preview, audioSetup(g31)), "setupComplete")
        yield* preview.send({ realtimeInput: { text: "hi" } })
        assert.strictEqual(said(yield* untilTurnComplete(preview)), "You said: \"hi\"")
        yield* preview.send(userTurn("typed"))
        assert.deepStrictEqual(yield* preview.closed, invalid)
        const [record] = yield* emulator.connections
        assert.deepStrictEqual(yield* emulator.awaitClosed(record.id), { ...invalid, wasClean: true })

        const stable = yield* openSocket(emulator.port, livePath)
        assert.strictEqual(yield* setupOutcome(stable, audioSetup(g38)), "setupComplete")
        yield* stable.send({ realtimeInput: { text: "hi" } })
        yield* untilTurnComplete(stable)
        yield* stable.send(userTurn("typed"))
        assert.strictEqual(said(yield* untilTurnComplete(stable)), "You said: \"typed\"")
        // 3.8 wants explicit roles.
        yield* stable.send({ clientContent: { turns: [{ parts: [{ text: "no role" }] }], turnComplete: true } })
        assert.deepStrictEqual(yield* stable.closed, invalid)
      }))

    // With historyConfig.initialHistoryInClientContent, and only before realtime input or model output.
    it.scoped("in memory: 3.1 takes initial history before it starts", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return LiveEmulator.defaultTurn(turn)
          }
        })
        const history = {
          clientContent: {
            turns: [{ role: "user", parts: [{ text: "My name is Ada." }] }, { role: "model", parts: [{ text: "Hello Ada." }] }],
            turnComplete: false
          }
        }
        const seeded = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(seeded, audioSetup(g31, { history_config: { initial_history_in_client_content: true } })), "setupComplete")
        yield* seeded.send(history)
        yield* seeded.send({ realtimeInput: { text: "What is my name?" } })
        assert.strictEqual(said(yield* untilTurnComplete(seeded)), "You said: \"What is my name?\"")
        // The conversation has started: no more history.
        yield* seeded.send(history)
        assert.deepStrictEqual(yield* seeded.closed, invalid)

        // Without historyConfig, even the first message is refused.
        const unseeded = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(unseeded, audioSetup(g31)), "setupComplete")
        yield* unseeded.send(history)
        assert.deepStrictEqual(yield* unseeded.closed, invalid)

        // A realtimeInput of audio alone starts the conversation too.
        const audioFirst = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(audioFirst, audioSetup(g31, { historyConfig: { initialHistoryInClientContent: true } })), "setupComplete")
        yield* audioFirst.send({ realtimeInput: { audio: { data: Buffer.alloc(3200).toString("base64"), mimeType: "audio/pcm;rate=16000" } } })
        yield* audioFirst.send(history)
        assert.deepStrictEqual(yield* audioFirst.closed, invalid)

        // The model speaking first starts it as well.
        const greeter = yield* LiveEmulator.make({ afterSetupComplete: () => [LiveEmulator.say("Hi there.")] })
        const greeted = yield* openMemory(greeter, livePath)
        assert.strictEqual(yield* setupOutcome(greeted, audioSetup(g31, { historyConfig: { initialHistoryInClientContent: true } })), "setupComplete")
        yield* untilTurnComplete(greeted)
        yield* greeted.send(history)
        assert.deepStrictEqual(yield* greeted.closed, invalid)
      }))
  })

  // ---------------------------------------------------------------------------
  // contextUpdate
  // ---------------------------------------------------------------------------

  describe("contextUpdate", () => {
    // Turn.systemInstruction and Turn.tools show them; `{"tools": []}` clears the tools.
    it.scopedLive("changes the system instruction and tools of the next turns", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return [LiveEmulator.say("ok")]
          }
        })
        const lookup = declare({ name: "lookup" })
        const client = yield* openSocket(emulator.port, livePath)
        assert.strictEqual(
          yield* setupOutcome(client, audioSetup(g38, { systemInstruction: { parts: [{ text: "Be brief." }] }, tools: lookup })),
          "setupComplete"
        )
        const turn = (text: string) => Effect.zipRight(client.send({ realtimeInput: { text } }), untilTurnComplete(client))
        yield* turn("one")
        yield* client.send({ contextUpdate: { systemInstruction: { parts: [{ text: "Be " }, { text: "verbose." }] } } })
        yield* turn("two")
        const weather = declare({ name: "weather", behavior: "BLOCKING" })
        yield* client.send({ context_update: { tools: { tools: weather } } })
        yield* turn("three")
        yield* client.send({ contextUpdate: { tools: { tools: [] } } })
        yield* turn("four")
        assert.deepStrictEqual(turns.map((t) => [t.text, t.systemInstruction, t.tools]), [
          ["one", "Be brief.", lookup],
          ["two", "Be verbose.", lookup],
          ["three", "Be verbose.", weather],
          ["four", "Be verbose.", []]
        ])
        // An unknown field inside closes 1007, as for the other messages.
        yield* client.send({ contextUpdate: { tools: { tools: [] }, turnComplete: true } })
        assert.deepStrictEqual(yield* client.closed, {
          code: 1007,
          reason: "Invalid JSON payload received. Unknown name \"turnComplete\" at 'context_update': Cannot find field."
        })
      }))

    // Extended thinking takes async functions only: a BLOCKING declaration is refused.
    it.scopedLive("closes 1007 for tools the model refuses", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const thinking = yield* openSocket(emulator.port, livePath)
        assert.strictEqual(yield* setupOutcome(thinking, audioSetup(thinking38)), "setupComplete")
        yield* thinking.send({ contextUpdate: { tools: { tools: declare({ name: "f", behavior: "NON_BLOCKING" }) } } })
        yield* thinking.send({ contextUpdate: { tools: { tools: declare({ name: "f", behavior: "BLOCKING" }) } } })
        assert.deepStrictEqual(yield* thinking.closed, invalid)
        const [record] = yield* emulator.connections
        assert.strictEqual(record.clientMessages.length, 3)

        const stable = yield* openSocket(emulator.port, livePath)
        assert.strictEqual(yield* setupOutcome(stable, audioSetup(g38)), "setupComplete")
        yield* stable.send({ contextUpdate: { tools: { tools: declare({ name: "f", behavior: "BLOCKING" }) } } })
        yield* stable.send({ realtimeInput: { text: "still here" } })
        assert.strictEqual(said(yield* untilTurnComplete(stable)), "You said: \"still here\"")
      }))

    // A resumed setup's own systemInstruction or tools replace what the conversation had.
    it.scoped("in memory: kept on resumption, unless the setup sets its own", () =>
      Effect.gen(function*() {
        const turns: Array<LiveEmulator.Turn> = []
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) => {
            turns.push(turn)
            return [LiveEmulator.say("ok")]
          }
        })
        const setup = (extra: Record<string, unknown>) =>
          audioSetup(g38, { systemInstruction: { parts: [{ text: "Original." }] }, ...extra })
        const handleAfter = (client: TestClient) =>
          Effect.gen(function*() {
            while (true) {
              const update = (yield* client.next).sessionResumptionUpdate
              if (update?.newHandle !== undefined) return update.newHandle as string
            }
          })
        const first = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(first, setup({ sessionResumption: {} })), "setupComplete")
        yield* handleAfter(first)
        const tools = declare({ name: "later" })
        yield* first.send({ contextUpdate: { systemInstruction: { parts: [{ text: "Updated." }] }, tools: { tools } } })
        yield* first.send({ realtimeInput: { text: "one" } })
        const handle = yield* handleAfter(first)

        // A setup without systemInstruction or tools: the conversation's are kept.
        const resumed = yield* openMemory(emulator, livePath)
        assert.strictEqual(
          yield* setupOutcome(resumed, audioSetup(g38, { sessionResumption: { handle } })),
          "setupComplete"
        )
        yield* handleAfter(resumed)
        yield* resumed.send({ realtimeInput: { text: "two" } })
        yield* handleAfter(resumed)
        // Its own systemInstruction replaces the conversation's (the tools stay).
        const changed = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(changed, setup({ sessionResumption: { handle } })), "setupComplete")
        yield* handleAfter(changed)
        yield* changed.send({ realtimeInput: { text: "three" } })
        yield* handleAfter(changed)
        assert.deepStrictEqual(turns.map((t) => [t.text, t.resumed, t.systemInstruction, t.tools]), [
          ["one", false, "Updated.", tools],
          ["two", true, "Updated.", tools],
          ["three", true, "Original.", tools]
        ])
      }))
  })

  // ---------------------------------------------------------------------------
  // Function behaviours
  // ---------------------------------------------------------------------------

  describe("function behaviour", () => {
    const call = { toolCall: { functionCalls: [{ id: "call-1", name: "lookup", args: {} }] } }
    const response = (extra: Record<string, unknown> = {}) => ({
      toolResponse: { functionResponses: [{ id: "call-1", name: "lookup", response: { answer: 42 }, ...extra }] }
    })
    const result = "lookup returned {\"answer\":42}."

    /** A 3.8 session whose "go" turn sends the call and keeps talking until `gate` opens. */
    const session = (tools: ReadonlyArray<unknown> | undefined, gate: Deferred.Deferred<void>) =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) =>
            turn.text === "go"
              ? [
                LiveEmulator.send(call),
                LiveEmulator.say("Working on it.", { turnComplete: false }),
                LiveEmulator.waitFor(Deferred.await(gate)),
                LiveEmulator.say(" Still here.")
              ]
              : LiveEmulator.defaultTurn(turn)
        })
        const client = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(client, audioSetup(g38, tools === undefined ? {} : { tools })), "setupComplete")
        yield* client.send({ realtimeInput: { text: "go" } })
        // Up to the call and the first words.
        const opening = yield* readUntil(client, (message) => message.serverContent?.outputTranscription?.text !== undefined)
        assert.strictEqual(summary(opening[0]), "toolCall")
        /** Sends a function response while the reply is still going, then lets it finish. */
        const respond = (message: unknown) =>
          Effect.gen(function*() {
            yield* client.send(message)
            yield* settle(emulator, 3)
            yield* Deferred.succeed(gate, undefined)
          })
        return { client, respond }
      })

    // NON_BLOCKING is 3.8's default; a SILENT response is never heard, the next turn is answered.
    it.scopedLive("NON_BLOCKING SILENT: no reply", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const { client, respond } = yield* session(undefined, gate)
        yield* respond(response({ scheduling: "SILENT" }))
        assert.strictEqual(said(yield* untilTurnComplete(client)).endsWith(" Still here."), true)
        yield* client.send({ realtimeInput: { text: "next" } })
        assert.strictEqual(said(yield* untilTurnComplete(client)), "You said: \"next\"")
      }))

    // WHEN_IDLE is the default scheduling.
    it.scopedLive("NON_BLOCKING WHEN_IDLE: a reply after the current one", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const { client, respond } = yield* session(declare({ name: "lookup", behavior: "NON_BLOCKING" }), gate)
        yield* respond(response())
        const current = yield* untilTurnComplete(client)
        assert.isFalse(current.some((message) => message.serverContent?.interrupted === true))
        assert.isTrue(said(current).endsWith(" Still here."))
        assert.strictEqual(said(yield* untilTurnComplete(client)), result)
      }))

    // The client sees interrupted and turnComplete, then the reply to the response.
    it.scoped("NON_BLOCKING INTERRUPT: the current reply stops first", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const { client } = yield* session(undefined, gate)
        yield* client.send(response({ scheduling: 3 })) // INTERRUPT, as an enum number
        const stopped = yield* untilTurnComplete(client)
        assert.deepStrictEqual(stopped.slice(-2).map(summary), ["interrupted", "turnComplete"])
        assert.isFalse(said(stopped).includes("Still here"))
        const reply = yield* untilTurnComplete(client)
        assert.strictEqual(said(reply), result)
        assert.deepStrictEqual(reply.slice(-2).map(summary), ["generationComplete", "turnComplete"])
      }))

    // scheduling only applies to NON_BLOCKING functions.
    it.scopedLive("BLOCKING: a reply after the current one, any scheduling", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const { client, respond } = yield* session(declare({ name: "lookup", behavior: "BLOCKING" }), gate)
        yield* respond(response({ scheduling: "SILENT" }))
        assert.isTrue(said(yield* untilTurnComplete(client)).endsWith(" Still here."))
        assert.strictEqual(said(yield* untilTurnComplete(client)), result)
      }))

    // No resumption handle while a call is pending, so none until its last response.
    it.scoped("willContinue keeps the call pending", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make({ onTurn: () => [LiveEmulator.send(call), LiveEmulator.say("Checking.")] })
        const client = yield* openMemory(emulator, livePath)
        assert.strictEqual(yield* setupOutcome(client, audioSetup(g38, { sessionResumption: {} })), "setupComplete")
        assert.isDefined((yield* client.next).sessionResumptionUpdate.newHandle)
        yield* client.send({ realtimeInput: { text: "go" } })
        yield* untilTurnComplete(client)
        yield* client.send(response({ willContinue: true }))
        assert.strictEqual(said(yield* untilTurnComplete(client)), result)
        yield* client.send(response())
        const last = yield* untilTurnComplete(client)
        // No handle after the first response's reply: the call was still pending.
        assert.isFalse(last.some((message) => message.sessionResumptionUpdate !== undefined))
        assert.strictEqual(said(last), result)
        assert.isDefined((yield* client.next).sessionResumptionUpdate.newHandle)
      }))
  })

  // ---------------------------------------------------------------------------
  // Vertex AI: input cancels BLOCKING calls
  // ---------------------------------------------------------------------------

  describe("Vertex AI 3.8", () => {
    const book = (id: string) => ({ toolCall: { functionCalls: [{ id, name: "book", args: {} }] } })
    const tools = declare({ name: "book", behavior: "BLOCKING" }, { name: "search" })
    const emulatorFor = Effect.gen(function*() {
      let calls = 0
      return yield* LiveEmulator.make({
        onTurn: (turn) =>
          turn.text?.startsWith("book") === true
            ? [LiveEmulator.send(book(`call-${++calls}`)), LiveEmulator.say("One moment.")]
            : turn.text === "search"
            ? [LiveEmulator.send({ toolCall: { functionCalls: [{ id: "s-1", name: "search", args: {} }] } }), LiveEmulator.say("Searching.")]
            : LiveEmulator.defaultTurn(turn)
      })
    })
    const vertexSetup = (name: string, extra: Record<string, unknown> = {}) => ({
      model: vertexModel(name),
      generationConfig: { responseModalities: ["TEXT"] },
      tools,
      ...extra
    })

    // Vertex AI 3.8 sends toolCallCancellation; a later response to the call is ignored.
    it.scopedLive("new input cancels a pending BLOCKING call", () =>
      Effect.gen(function*() {
        const emulator = yield* emulatorFor
        const client = yield* openSocket(emulator.port, vertexPath(), bearer())
        yield* setupOutcome(client, vertexSetup("gemini-3.8-live"))
        yield* client.send({ realtimeInput: { text: "book a table" } })
        assert.deepStrictEqual((yield* untilTurnComplete(client)).map(summary)[0], "toolCall")
        // Realtime text: cancelled before the new turn is answered.
        yield* client.send({ realtimeInput: { text: "never mind" } })
        assert.deepStrictEqual(yield* client.next, { toolCallCancellation: { ids: ["call-1"] } })
        assert.strictEqual(said(yield* untilTurnComplete(client)), "You said: \"never mind\"")
        // The late response: no reply, no error.
        yield* client.send({ toolResponse: { functionResponses: [{ id: "call-1", name: "book", response: { ok: true } }] } })
        yield* client.send({ realtimeInput: { text: "hello" } })
        assert.strictEqual(said(yield* untilTurnComplete(client)), "You said: \"hello\"")

        // clientContent cancels too.
        yield* client.send({ realtimeInput: { text: "book again" } })
        yield* untilTurnComplete(client)
        yield* client.send(userTurn("stop"))
        assert.deepStrictEqual(yield* client.next, { toolCallCancellation: { ids: ["call-2"] } })
        assert.strictEqual(said(yield* untilTurnComplete(client)), "You said: \"stop\"")

        // A NON_BLOCKING call (3.8's default) is not cancelled.
        yield* client.send({ realtimeInput: { text: "search" } })
        yield* untilTurnComplete(client)
        yield* client.send({ realtimeInput: { text: "meanwhile" } })
        const meanwhile = yield* untilTurnComplete(client)
        assert.isFalse(meanwhile.some((message) => message.toolCallCancellation !== undefined))
        assert.strictEqual(said(meanwhile), "You said: \"meanwhile\"")
      }))

    // The rule is Vertex AI 3.8's: no cancellation on the Gemini API or with another model.
    it.scoped("in memory: activityStart and detected speech cancel too", () =>
      Effect.gen(function*() {
        const emulator = yield* emulatorFor
        const manual = yield* openMemory(emulator, vertexPath(), bearer())
        yield* setupOutcome(manual, vertexSetup("gemini-3.8-live", { realtimeInputConfig: { automaticActivityDetection: { disabled: true } } }))
        yield* manual.send({ realtimeInput: { text: "book" } })
        yield* untilTurnComplete(manual)
        yield* manual.send({ realtimeInput: { activityStart: {} } })
        assert.deepStrictEqual(yield* manual.next, { toolCallCancellation: { ids: ["call-1"] } })

        const speech = yield* openMemory(emulator, vertexPath(), bearer())
        yield* setupOutcome(speech, vertexSetup("gemini-3.8-live"))
        yield* speech.send({ realtimeInput: { text: "book" } })
        yield* untilTurnComplete(speech)
        const tone = Buffer.alloc(16000 * 0.2 * 2)
        for (let i = 0; i < tone.length / 2; i++) tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), i * 2)
        yield* speech.send({ realtimeInput: { audio: { data: tone.toString("base64"), mimeType: "audio/pcm;rate=16000" } } })
        assert.deepStrictEqual(yield* speech.next, { toolCallCancellation: { ids: ["call-2"] } })

        // The same exchange with gemini-live-2.5-flash-native-audio (no such rule): the call stays,
        // and its response is answered.
        const older = yield* openMemory(emulator, vertexPath(), bearer())
        yield* setupOutcome(older, vertexSetup("gemini-live-2.5-flash-native-audio"))
        yield* older.send({ realtimeInput: { text: "book" } })
        yield* untilTurnComplete(older)
        yield* older.send({ realtimeInput: { text: "never mind" } })
        assert.strictEqual(said(yield* untilTurnComplete(older)), "You said: \"never mind\"")
        yield* older.send({ toolResponse: { functionResponses: [{ id: "call-3", name: "book", response: { ok: true } }] } })
        assert.strictEqual(said(yield* untilTurnComplete(older)), "book returned {\"ok\":true}.")

        // And gemini-3.8-live on the Gemini API (AUDIO only there).
        const gemini = yield* openMemory(emulator, livePath)
        yield* setupOutcome(gemini, audioSetup(g38, { tools }))
        yield* gemini.send({ realtimeInput: { text: "book" } })
        yield* untilTurnComplete(gemini)
        yield* gemini.send({ realtimeInput: { text: "never mind" } })
        const reply = yield* untilTurnComplete(gemini)
        assert.isFalse(reply.some((message) => message.toolCallCancellation !== undefined))
      }))
  })

  // ---------------------------------------------------------------------------
  // turnComplete interrupts; interactionStatus
  // ---------------------------------------------------------------------------

  describe("replies", () => {
    const noInterruption = { realtimeInputConfig: { activityHandling: "NO_INTERRUPTION" } }

    // Even with activityHandling: NO_INTERRUPTION and no real-time pacing; other models keep talking.
    it.scopedLive("3.8: clientContent with turnComplete interrupts the reply", () =>
      Effect.gen(function*() {
        const gate = yield* Deferred.make<void>()
        const emulator = yield* LiveEmulator.make({
          onTurn: (turn) =>
            turn.text === "long"
              ? [LiveEmulator.say("A long story", { turnComplete: false }), LiveEmulator.waitFor(Deferred.await(gate)), LiveEmulator.say(" ends.")]
              : LiveEmulator.defaultTurn(turn)
        })
        const client = yield* openMemory(emulator, livePath)
        yield* setupOutcome(client, audioSetup(g38, noInterruption))
        yield* client.send({ realtimeInput: { text: "long" } })
        yield* readUntil(client, (message) => message.serverContent?.outputTranscription?.text !== undefined)
        // Without turnComplete the server waits: nothing is interrupted, no reply yet.
        yield* client.send(userTurn("wait", false))
        yield* client.send(userTurn("stop"))
        const stopped = yield* untilTurnComplete(client)
        assert.deepStrictEqual(stopped.slice(-2).map(summary), ["interrupted", "turnComplete"])
        assert.strictEqual(said(yield* untilTurnComplete(client)), "You said: \"wait\nstop\"")

        // gemini-2.5-flash-native-audio (no such rule) keeps talking with NO_INTERRUPTION.
        const older = yield* openMemory(emulator, livePath)
        yield* setupOutcome(older, audioSetup("models/gemini-2.5-flash-native-audio-preview-12-2025", noInterruption))
        yield* older.send({ realtimeInput: { text: "long" } })
        yield* readUntil(older, (message) => message.serverContent?.outputTranscription?.text !== undefined)
        yield* older.send(userTurn("stop"))
        yield* settle(emulator, 3)
        yield* Deferred.succeed(gate, undefined)
        const finished = yield* untilTurnComplete(older)
        assert.isFalse(finished.some((message) => message.serverContent?.interrupted === true))
        assert.isTrue(said(finished).endsWith(" ends."))
        assert.strictEqual(said(yield* untilTurnComplete(older)), "You said: \"stop\"")
      }))

    // IN_PROGRESS when a reply opens, IDLE after generationComplete and before turnComplete;
    // gemini-3.8-live reports none.
    it.scopedLive("extended thinking: replies report interactionStatus", () =>
      Effect.gen(function*() {
        const emulator = yield* LiveEmulator.make()
        const client = yield* openSocket(emulator.port, livePath)
        yield* setupOutcome(client, audioSetup(thinking38))
        for (const text of ["one", "two"]) {
          yield* client.send({ realtimeInput: { text } })
          const reply = (yield* untilTurnComplete(client)).map(summary)
          assert.strictEqual(reply[0], "status:IN_PROGRESS")
          assert.strictEqual(reply[1], "audio")
          assert.deepStrictEqual(reply.slice(-3), ["generationComplete", "status:IDLE", "turnComplete"])
          assert.strictEqual(reply.filter((name) => name.startsWith("status:")).length, 2)
        }
        // gemini-3.8-live says no interactionStatus.
        const stable = yield* openSocket(emulator.port, livePath)
        yield* setupOutcome(stable, audioSetup(g38))
        yield* stable.send({ realtimeInput: { text: "one" } })
        assert.isFalse((yield* untilTurnComplete(stable)).some((message) => message.serverContent?.interactionStatus !== undefined))
      }))
  })
})
