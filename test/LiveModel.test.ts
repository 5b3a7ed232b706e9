/**
 * Model rules, refused by the client before the wire with a ConfigError; unknown models pass. And
 * what 3.8 brings: context updates, BLOCKING calls cancelled by new input, background reasoning.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Layer, Schedule, Schema, Stream } from "effect"
import { Backend, GeminiLive, LiveEvent, LiveModel, type Parameters, Tool } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

const clientOn = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}, models?: Layer.Layer<LiveModel.Models>) =>
  GeminiLive.GeminiLive.pipe(Effect.provide(
    GeminiLive.layer({ apiKey: "k", ...parameters }).pipe(
      Layer.provide(emulator.layerTransport),
      Layer.provide(models ?? Layer.empty)
    )
  ))

/** The connect's failure, and whether the emulator saw a connection. */
const refusedConnect = (parameters: Parameters.Input, options: GeminiLive.ConnectOptions = {}, models?: Layer.Layer<LiveModel.Models>) =>
  Effect.gen(function*() {
    const emulator = yield* LiveEmulator.make()
    const client = yield* clientOn(emulator, parameters, models)
    const error = yield* Effect.flip(Effect.scoped(client.connect(options)))
    return { error, connections: (yield* emulator.connections).length }
  })

/** The client messages the emulator received on its first connection. */
const clientMessages = (emulator: LiveEmulator.Service) => Effect.map(emulator.connections, ([record]) => record.clientMessages)

const awaitMessages = (emulator: LiveEmulator.Service, count: number) =>
  clientMessages(emulator).pipe(
    Effect.filterOrFail((messages) => messages.length >= count),
    Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.orDie
  )

const isToolResponse = (message: unknown): boolean => typeof message === "object" && message !== null && "toolResponse" in message

/** The first `toolResponse` the emulator receives. */
const firstToolResponse = (emulator: LiveEmulator.Service) =>
  clientMessages(emulator).pipe(
    Effect.map((messages) => messages.find(isToolResponse)),
    Effect.filterOrFail((message) => message !== undefined),
    Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.orDie
  )

/** An emulator whose model answers the user's text `go` with these function calls. */
const callingOnGo = (calls: ReadonlyArray<{ readonly id: string; readonly name: string }>, options: LiveEmulator.Options = {}) =>
  LiveEmulator.make({
    ...options,
    onTurn: (turn) =>
      turn.text === "go"
        ? [LiveEmulator.send({ toolCall: { functionCalls: calls.map((call) => ({ ...call, args: {} })) } })]
        : LiveEmulator.defaultTurn(turn)
  })

describe("LiveModel: the registry", () => {
  // The rules are per backend.
  it("finds a model by its own name, whatever its prefix", () => {
    expect(LiveModel.checkFor(LiveModel.known, "models/gemini-3.8-live", Backend.GEMINI_API)?.model).toBe("gemini-3.8-live")
    expect(LiveModel.checkFor(LiveModel.known, "projects/p/locations/global/publishers/google/models/gemini-3.8-live", Backend.VERTEX_AI)?.rules)
      .toMatchObject({ inputCancelsBlockingCalls: true })
    expect(LiveModel.checkFor(LiveModel.known, "gemini-3.8-live-extended-thinking", Backend.VERTEX_AI)).toBeUndefined()
    expect(LiveModel.checkFor(LiveModel.known, "gemini-9-live", Backend.GEMINI_API)).toBeUndefined()
  })

  it("gemini-3.8-live is the default on both backends", () => {
    expect(GeminiLive.defaultModel).toBe("gemini-3.8-live")
    expect(LiveModel.known.get(GeminiLive.defaultModel)?.GeminiAPI).toBeDefined()
    expect(LiveModel.known.get(GeminiLive.defaultModel)?.VertexAI).toBeDefined()
  })

  it("registry adds or replaces entries, or starts empty", () => {
    const added = LiveModel.registry([{ name: "gemini-9-live", GeminiAPI: { thinking: false } }])
    expect(added.get("gemini-9-live")?.GeminiAPI).toEqual({ thinking: false })
    expect(added.get("gemini-3.8-live")).toBe(LiveModel.known.get("gemini-3.8-live"))
    expect([...LiveModel.registry([{ name: "x" }], { replace: true }).keys()]).toEqual(["x"])
  })
})

describe("LiveModel: setups refused before a socket opens", () => {
  const cases: ReadonlyArray<readonly [string, Parameters.Input, string, string]> = [
    ["thinkingConfig on 3.8", { connectConfig: { thinkingConfig: { thinkingLevel: "low" } } }, "connectConfig.thinkingConfig", "thinking levels are not supported"],
    ["proactiveAudio: false on 3.8", { connectConfig: { proactivity: { proactiveAudio: false } } }, "connectConfig.proactivity.proactiveAudio", "always on"],
    ["enableAffectiveDialog on 3.8", { connectConfig: { enableAffectiveDialog: true } }, "connectConfig.enableAffectiveDialog", "removed from the API"],
    ["TEXT responses on 3.8", { connectConfig: { responseModalities: ["TEXT"] } }, "connectConfig.responseModalities", "TEXT is not supported"],
    [
      "a BLOCKING function on extended thinking",
      { model: "gemini-3.8-live-extended-thinking", connectConfig: { tools: [{ functionDeclarations: [{ name: "f", behavior: "BLOCKING" }] }] } },
      "connectConfig.tools[0].functionDeclarations[0].behavior",
      "functions must be NON_BLOCKING"
    ]
  ]
  for (const [name, parameters, path, rule] of cases) {
    // The error names the field, the model and the rule.
    it.scopedLive(`${name}: a ConfigError, no connection`, () =>
      Effect.gen(function*() {
        const { connections, error } = yield* refusedConnect(parameters)
        expect(error).toMatchObject({ _tag: "ConfigError", module: "LiveModel", method: "connect", path })
        expect(error.message).toContain(`${(parameters.model ?? "gemini-3.8-live")} on GeminiAPI`)
        expect(error.message).toContain(rule)
        expect(connections).toBe(0)
      }))
  }

  // A typed tool states BLOCKING by default.
  it.scopedLive("extended thinking refuses a typed tool unless NON_BLOCKING", () =>
    Effect.gen(function*() {
      const lookup = (behavior: Tool.Behavior) =>
        Tool.make("lookup", { description: "Looks up", parameters: Schema.Struct({}), behavior, handler: () => Effect.void })
      const { connections, error } = yield* refusedConnect(
        { model: "gemini-3.8-live-extended-thinking", connectConfig: { tools: [{ googleSearch: {} }] } },
        { tools: Tool.toolkit(lookup("BLOCKING")) }
      )
      // The error names the tool, not its place in the setup.
      expect(error).toMatchObject({ _tag: "ConfigError", path: "tools.lookup.behavior" })
      expect(error.message).toContain(`declare behavior: "NON_BLOCKING"`)
      expect(connections).toBe(0)
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { model: "gemini-3.8-live-extended-thinking" })
      yield* Effect.scoped(client.connect({ tools: Tool.toolkit(lookup("NON_BLOCKING")) }))
      expect((yield* emulator.connections).length).toBe(1)
    }))

  // On Vertex AI, 3.8 refuses thinkingConfig but takes affective dialog and TEXT.
  it.scopedLive("Vertex AI 3.8: no thinkingConfig; affective dialog, TEXT ok", () =>
    Effect.gen(function*() {
      const vertex = { backend: Backend.VERTEX_AI, apiKey: "express" } as const
      const { connections, error } = yield* refusedConnect({ ...vertex, connectConfig: { thinkingConfig: {} } })
      expect(error).toMatchObject({ _tag: "ConfigError", path: "connectConfig.thinkingConfig" })
      expect(error.message).toContain("gemini-3.8-live on VertexAI")
      expect(connections).toBe(0)
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { ...vertex, connectConfig: { enableAffectiveDialog: true, responseModalities: ["TEXT"] } })
      yield* Effect.scoped(client.connect())
      expect((yield* emulator.connections).length).toBe(1)
    }))

  it.scopedLive("a model LiveModel does not know is not checked", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { model: "gemini-9-live", connectConfig: { thinkingConfig: {}, responseModalities: ["TEXT"] } })
      yield* Effect.scoped(client.connect())
      expect((yield* emulator.connections).length).toBe(1)
    }))

  it.scopedLive("LiveModel.layer adds a model or replaces a known one's rules", () =>
    Effect.gen(function*() {
      const strict = LiveModel.layer([{ name: "gemini-9-live", GeminiAPI: { thinking: false } }])
      const { connections, error } = yield* refusedConnect({ model: "gemini-9-live", connectConfig: { thinkingConfig: {} } }, {}, strict)
      expect(error).toMatchObject({ _tag: "ConfigError", path: "connectConfig.thinkingConfig" })
      expect(error.message).toContain("gemini-9-live on GeminiAPI")
      expect(connections).toBe(0)

      const lenient = LiveModel.layer([{ name: "gemini-3.8-live", GeminiAPI: {} }])
      const emulator = yield* LiveEmulator.make({ models: LiveModel.registry([{ name: "gemini-3.8-live", GeminiAPI: {} }]) })
      const client = yield* clientOn(emulator, { connectConfig: { responseModalities: ["TEXT"] } }, lenient)
      yield* Effect.scoped(client.connect())
      expect((yield* emulator.connections).length).toBe(1)
    }))
})

describe("LiveModel: sends refused before the wire", () => {
  // 3.1 takes clientContent only as initial history.
  it.scopedLive("3.1: clientContent without historyConfig is refused, unsent", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { model: "gemini-3.1-flash-live-preview" })
      const session = yield* client.connect({ reconnect: false })
      const error = yield* Effect.flip(session.sendClientContent({ turns: "Hello" }))
      expect(error).toMatchObject({ _tag: "ConfigError", module: "LiveModel", method: "sendClientContent", path: "clientContent" })
      expect(error.message).toContain("gemini-3.1-flash-live-preview on GeminiAPI")
      expect(error.message).toContain("historyConfig.initialHistoryInClientContent")
      // The session goes on: realtime text is the way in.
      yield* session.sendRealtimeInput({ text: "Hello" })
      const messages = yield* awaitMessages(emulator, 2)
      expect(messages.map((m) => Object.keys(m as object)[0])).toEqual(["setup", "realtimeInput"])
    }))

  // Initial history is sent before the conversation starts, and refused after.
  it.scopedLive("3.1 with historyConfig: history before the conversation only", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, {
        model: "gemini-3.1-flash-live-preview",
        connectConfig: { historyConfig: { initialHistoryInClientContent: true } }
      })
      const session = yield* client.connect({ reconnect: false })
      const history = [{ role: "user", parts: [{ text: "My name is Ada." }] }, { role: "model", parts: [{ text: "Hello Ada." }] }]
      yield* session.sendClientContent({ turns: history, turnComplete: false })
      yield* session.sendRealtimeInput({ text: "What is my name?" })
      const error = yield* Effect.flip(session.sendClientContent({ turns: history, turnComplete: false }))
      expect(error.message).toContain("before the conversation starts")
      const messages = yield* awaitMessages(emulator, 3)
      expect(messages.map((m) => Object.keys(m as object)[0])).toEqual(["setup", "clientContent", "realtimeInput"])
      yield* Effect.sleep("20 millis")
      expect((yield* clientMessages(emulator)).length).toBe(3)
    }))

  // Only 3.8 asks for each turn's role.
  it.scopedLive("2.5 native audio takes clientContent turns without a role", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { model: "gemini-2.5-flash-native-audio-preview-12-2025" })
      const session = yield* client.connect({ reconnect: false })
      yield* session.sendClientContent({ turns: [{ parts: [{ text: "no role" }] }] })
      const messages = yield* awaitMessages(emulator, 2)
      expect(messages[1]).toEqual({ clientContent: { turns: [{ parts: [{ text: "no role" }] }], turnComplete: true } })
    }))

  it.scopedLive("3.8 takes clientContent all session, each turn with its role", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { connectConfig: { outputAudioTranscription: {} } })
      const session = yield* client.connect({ reconnect: false })
      yield* session.sendRealtimeInput({ text: "Hi" })
      yield* session.sendClientContent({ turns: "Hello again" })
      const error = yield* Effect.flip(session.sendClientContent({ turns: [{ parts: [{ text: "no role" }] }] }))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "turns[0].role" })
      expect(error.message).toContain("gemini-3.8-live on GeminiAPI: each turn needs an explicit role")
      const messages = yield* awaitMessages(emulator, 3)
      expect(messages.map((m) => Object.keys(m as object)[0])).toEqual(["setup", "realtimeInput", "clientContent"])
    }))

  it.scopedLive("a context update's tools are checked against the model", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { model: "gemini-3.8-live-extended-thinking" })
      const session = yield* client.connect({ reconnect: false })
      const error = yield* Effect.flip(session.sendContextUpdate({ tools: [{ functionDeclarations: [{ name: "f", behavior: "BLOCKING" }] }] }))
      expect(error).toMatchObject({ _tag: "ConfigError", method: "sendContextUpdate", path: "tools[0].functionDeclarations[0].behavior" })
      expect((yield* clientMessages(emulator)).length).toBe(1)
    }))
})

describe("3.8: context updates, cancelled calls, background reasoning", () => {
  // It changes what the next turn sees, and the next connection's setup.
  it.scopedLive("a context update reaches the next turn and the next setup", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const emulator = yield* LiveEmulator.make({
        onTurn: (turn) => {
          seen.push(turn.systemInstruction)
          return turn.text === "drop" ? [LiveEmulator.drop] : LiveEmulator.defaultTurn(turn)
        }
      })
      const client = yield* clientOn(emulator, { connectConfig: { systemInstruction: "Speak English.", outputAudioTranscription: {} } })
      const session = yield* client.connect()
      yield* session.sendContextUpdate({ systemInstruction: "Speak French.", tools: [{ functionDeclarations: [{ name: "lookup" }] }] })
      yield* session.sendRealtimeInput({ text: "one" })
      yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runDrain)
      expect(seen).toEqual(["Speak French."])
      // The connection drops; the next one starts with the updated context.
      yield* session.sendRealtimeInput({ text: "drop" })
      yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("Reconnected")), Stream.runDrain)
      const [, second] = yield* emulator.connections
      const setup = (second.clientMessages[0] as { setup: Record<string, unknown> }).setup
      expect(setup.systemInstruction).toEqual({ role: "user", parts: [{ text: "Speak French." }] })
      expect(setup.tools).toEqual([{ functionDeclarations: [{ name: "lookup" }] }])
      expect(session.setup.systemInstruction).toEqual({ role: "user", parts: [{ text: "Speak English." }] })
    }))

  // Functions a context update declares are the application's to answer.
  it.scopedLive("the toolkit leaves a context update's functions alone", () =>
    Effect.gen(function*() {
      const typed = Tool.make("typed", { description: "Typed", parameters: Schema.Struct({}), handler: () => Effect.succeed("typed") })
      const emulator = yield* callingOnGo([{ id: "m1", name: "added" }, { id: "t1", name: "typed" }])
      const client = yield* clientOn(emulator)
      const session = yield* client.connect({ tools: Tool.toolkit(typed), reconnect: false })
      yield* session.sendContextUpdate({ tools: [{ functionDeclarations: [{ name: "added", behavior: "BLOCKING" }] }] })
      yield* session.sendRealtimeInput({ text: "go" })
      expect(yield* firstToolResponse(emulator)).toEqual({
        toolResponse: { functionResponses: [{ id: "t1", name: "typed", response: { output: "typed" } }] }
      })
      yield* Effect.sleep("50 millis")
      // Only the toolkit's call was answered; `added` waits for the application.
      expect((yield* clientMessages(emulator)).filter(isToolResponse).length).toBe(1)
    }))

  // The emulator cancels as the server does; one whose rules say nothing of it leaves the client alone to.
  const silentServer = LiveModel.registry([{ ...LiveModel.known.get("gemini-3.8-live")!, VertexAI: { ...LiveModel.known.get("gemini-3.8-live")!.VertexAI, inputCancelsBlockingCalls: false } }])
  for (const [server, models] of [["the server cancels too", undefined], ["the server says nothing", silentServer]] as const) {
    // Its handler is interrupted, nothing is answered, and there is one cancellation.
    it.scopedLive(`Vertex AI 3.8: new input cancels a BLOCKING call (${server})`, () =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const interrupted = yield* Deferred.make<void>()
        const slow = Tool.make("slow", {
          description: "Takes its time",
          parameters: Schema.Struct({}),
          behavior: "BLOCKING",
          handler: () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
        })
        const emulator = yield* callingOnGo([{ id: "c1", name: "slow" }], models === undefined ? {} : { models })
        const client = yield* clientOn(emulator, { backend: Backend.VERTEX_AI, apiKey: "express" })
        const session = yield* client.connect({ tools: Tool.toolkit(slow), reconnect: false })
        // Built before the call exists: what it cancels is decided when it runs.
        const neverMind = session.sendRealtimeInput({ text: "never mind" })
        yield* session.sendRealtimeInput({ text: "go" })
        yield* Deferred.await(started)
        yield* neverMind
        yield* Deferred.await(interrupted)
        const events = yield* session.events.pipe(
          Stream.filter((event) => event._tag === "ToolCallCancellation" || event._tag === "TurnComplete"),
          Stream.takeUntil(LiveEvent.is("TurnComplete")),
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(events).filter(LiveEvent.is("ToolCallCancellation"))).toEqual([LiveEvent.ToolCallCancellation({ ids: ["c1"] })])
        yield* Effect.sleep("50 millis")
        expect((yield* clientMessages(emulator)).some(isToolResponse)).toBe(false)
      }))
  }

  // The transcription of the speech that caused the call is not new input.
  it.scopedLive("Vertex AI 3.8: the call's own transcription cancels nothing", () =>
    Effect.gen(function*() {
      const slow = Tool.make("slow", {
        description: "Takes its time",
        parameters: Schema.Struct({}),
        handler: () => Effect.as(Effect.sleep("50 millis"), "done")
      })
      const emulator = yield* LiveEmulator.make({
        onTurn: (turn) =>
          turn.text === "go"
            ? [
              LiveEmulator.send({ toolCall: { functionCalls: [{ id: "c1", name: "slow", args: {} }] } }),
              LiveEmulator.send({ serverContent: { inputTranscription: { text: "go" } } })
            ]
            : LiveEmulator.defaultTurn(turn)
      })
      const client = yield* clientOn(emulator, { backend: Backend.VERTEX_AI, apiKey: "express" })
      const session = yield* client.connect({ tools: Tool.toolkit(slow), reconnect: false })
      yield* session.sendRealtimeInput({ text: "go" })
      expect(yield* firstToolResponse(emulator)).toEqual({
        toolResponse: { functionResponses: [{ id: "c1", name: "slow", response: { output: "done" } }] }
      })
    }))

  it.scopedLive("on the Gemini API, new input leaves a BLOCKING call running", () =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const slow = Tool.make("slow", {
        description: "Takes its time",
        parameters: Schema.Struct({}),
        handler: () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.as(Deferred.await(release), "done"))
      })
      const emulator = yield* callingOnGo([{ id: "c1", name: "slow" }])
      const client = yield* clientOn(emulator)
      const session = yield* client.connect({ tools: Tool.toolkit(slow), reconnect: false })
      yield* session.sendRealtimeInput({ text: "go" })
      yield* Deferred.await(started)
      yield* session.sendRealtimeInput({ text: "still there?" })
      yield* Deferred.succeed(release, undefined)
      expect(yield* firstToolResponse(emulator)).toEqual({
        toolResponse: { functionResponses: [{ id: "c1", name: "slow", response: { output: "done" } }] }
      })
    }))

  // IN_PROGRESS while it reasons in the background, IDLE when done.
  it.scopedLive("extended thinking's reasoning arrives as InteractionStatus", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const client = yield* clientOn(emulator, { model: "gemini-3.8-live-extended-thinking", connectConfig: { outputAudioTranscription: {} } })
      const session = yield* client.connect({ reconnect: false })
      yield* session.sendRealtimeInput({ text: "Think about it." })
      const events = Chunk.toReadonlyArray(yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect))
      const tags = events.map((event) => event._tag).filter((tag) => ["InteractionStatus", "GenerationComplete", "TurnComplete"].includes(tag))
      expect(tags).toEqual(["InteractionStatus", "GenerationComplete", "InteractionStatus", "TurnComplete"])
      expect(events.filter(LiveEvent.is("InteractionStatus")).map((event) => event.status)).toEqual(["IN_PROGRESS", "IDLE"])
    }))
})
