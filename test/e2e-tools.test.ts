/**
 * Typed tools against an emulator scripted to call them: every call answered, concurrent calls,
 * cancellations that cancel, nothing left running after the session closes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Deferred, Effect, Exit, Layer, Ref, Schedule, Schema, Scope, Stream } from "effect"
import { Backend, GeminiLive, LiveEvent, type Parameters, Tool } from "../src/index.js"
import { LiveEmulator } from "../src/testing/index.js"

type Call = { readonly id?: string; readonly name: string; readonly args?: Record<string, unknown> }

/** An emulator whose model answers the user's text `go` with these function calls. */
const callingModel = (calls: ReadonlyArray<Call>, extra: ReadonlyArray<LiveEmulator.Action> = []) =>
  LiveEmulator.make({
    onTurn: (turn) =>
      turn.text === "go"
        ? [LiveEmulator.send({ toolCall: { functionCalls: calls } }), ...extra]
        : LiveEmulator.defaultTurn(turn)
  })

const client = (emulator: LiveEmulator.Service, parameters: Parameters.Input = {}) =>
  GeminiLive.GeminiLive.pipe(Effect.provide(GeminiLive.layer({
    apiKey: "k",
    // A model LiveModel does not know (unchecked): gemini-3.8-live answers in audio only.
    model: "gemini-live-test",
    connectConfig: { responseModalities: ["TEXT"] },
    ...parameters,
    httpOptions: { baseUrl: emulator.url }
  })))

type ToolResponse = { readonly toolResponse: { readonly functionResponses: ReadonlyArray<Record<string, unknown>> } }

const toolResponses = (emulator: LiveEmulator.Service) =>
  Effect.map(emulator.connections, ([record]) =>
    record.clientMessages.flatMap((m) =>
      typeof m === "object" && m !== null && "toolResponse" in m ? (m as ToolResponse).toolResponse.functionResponses : []
    ))

/** Waits until the emulator has received `count` function responses. */
const awaitResponses = (emulator: LiveEmulator.Service, count: number) =>
  toolResponses(emulator).pipe(
    Effect.filterOrFail((responses) => responses.length >= count),
    Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.orDie
  )

const getWeather = Tool.make("getWeather", {
  description: "Gets the weather of a city",
  parameters: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => city === "Atlantis" ? Effect.fail("no such city") : Effect.succeed({ city, sky: "clear" })
})

class Salutation extends Context.Tag("test/Salutation")<Salutation, string>() {}
const greetTool = Tool.make("greet", {
  description: "Greets",
  parameters: Schema.Struct({}),
  handler: () => Effect.map(Salutation, (s) => `${s}!`)
})

describe("tools", () => {
  // The declaration carries each tool's behavior.
  it.scopedLive("declares the toolkit from Schemas; answers with id and name", () =>
    Effect.gen(function*() {
      const emulator = yield* callingModel([{ id: "c1", name: "getWeather", args: { city: "Paris" } }])
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(getWeather) })
      expect(session.setup.tools).toEqual([{
        functionDeclarations: [{
          name: "getWeather",
          description: "Gets the weather of a city",
          parametersJsonSchema: {
            type: "object",
            required: ["city"],
            properties: { city: { type: "string" } },
            additionalProperties: false
          },
          behavior: "BLOCKING"
        }]
      }])
      yield* session.sendRealtimeInput({ text: "go" })
      expect(yield* awaitResponses(emulator, 1)).toEqual([
        { id: "c1", name: "getWeather", response: { output: { city: "Paris", sky: "clear" } } }
      ])
      // The user still sees the call, and the model's answer to the response.
      const events = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runCollect)
      expect(Chunk.toReadonlyArray(events).some(LiveEvent.is("ToolCall"))).toBe(true)
    }))

  // Bad arguments, a failure, a defect, an unknown function.
  it.scopedLive("every call is answered, whatever goes wrong", () =>
    Effect.gen(function*() {
      const crash = Tool.make("crash", {
        description: "Dies",
        parameters: Schema.Struct({}),
        handler: () => Effect.die(new Error("boom"))
      })
      const emulator = yield* callingModel([
        { id: "a", name: "getWeather", args: { city: 42 } },
        { id: "b", name: "getWeather", args: { city: "Atlantis" } },
        { id: "c", name: "crash", args: {} },
        { id: "d", name: "launchRockets", args: {} }
      ])
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(getWeather, crash) })
      yield* session.sendRealtimeInput({ text: "go" })
      const responses = yield* awaitResponses(emulator, 4)
      const byId = Object.fromEntries(responses.map((r) => [r.id, r]))
      expect((byId.a.response as { error: string }).error).toMatch(/^invalid arguments: .*city/s)
      expect(byId.b).toEqual({ id: "b", name: "getWeather", response: { error: "no such city" } })
      expect(byId.c).toEqual({ id: "c", name: "crash", response: { error: "the function failed unexpectedly" } })
      expect(byId.d).toEqual({ id: "d", name: "launchRockets", response: { error: `unknown function "launchRockets"` } })
    }))

  it.scopedLive("a handler that runs too long is answered with a timeout", () =>
    Effect.gen(function*() {
      const slow = Tool.make("slow", {
        description: "Takes forever",
        parameters: Schema.Struct({}),
        timeout: "100 millis",
        handler: () => Effect.as(Effect.never, "never")
      })
      const emulator = yield* callingModel([{ id: "s", name: "slow", args: {} }])
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(slow) })
      yield* session.sendRealtimeInput({ text: "go" })
      expect(yield* awaitResponses(emulator, 1)).toEqual([{ id: "s", name: "slow", response: { error: "the function timed out" } }])
    }))

  // Each is answered as it finishes.
  it.scopedLive("two calls in one message run concurrently", () =>
    Effect.gen(function*() {
      const firstMayFinish = yield* Deferred.make<void>()
      const first = Tool.make("first", {
        description: "Waits for the second",
        parameters: Schema.Struct({}),
        handler: () => Effect.as(Deferred.await(firstMayFinish), "first done")
      })
      const second = Tool.make("second", {
        description: "Lets the first finish",
        parameters: Schema.Struct({}),
        handler: () => Effect.as(Effect.delay(Deferred.succeed(firstMayFinish, undefined), "20 millis"), "second done")
      })
      const emulator = yield* callingModel([{ id: "1", name: "first", args: {} }, { id: "2", name: "second", args: {} }])
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(first, second) })
      yield* session.sendRealtimeInput({ text: "go" })
      const responses = yield* awaitResponses(emulator, 2)
      expect(responses.map((r) => r.id)).toEqual(["2", "1"])
    }))

  // Its finalizer runs.
  it.scopedLive("a cancellation interrupts just that call, with no response", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const finalized = yield* Ref.make<ReadonlyArray<string>>([])
      const wait = Tool.make("wait", {
        description: "Waits until cancelled",
        parameters: Schema.Struct({ label: Schema.String }),
        handler: ({ label }) =>
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.ensuring(Ref.update(finalized, (labels) => [...labels, label]))
          )
      })
      const emulator = yield* LiveEmulator.make({
        onTurn: (turn) =>
          turn.text === "go"
            ? [
              LiveEmulator.send({ toolCall: { functionCalls: [{ id: "x", name: "wait", args: { label: "x" } }] } }),
              LiveEmulator.waitFor(Deferred.await(started)),
              LiveEmulator.send({ toolCallCancellation: { ids: ["x"] } })
            ]
            : LiveEmulator.defaultTurn(turn)
      })
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(wait, getWeather) })
      yield* session.sendRealtimeInput({ text: "go" })
      const seen = yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("ToolCallCancellation")), Stream.runCollect)
      expect(Chunk.toReadonlyArray(seen).find(LiveEvent.is("ToolCallCancellation"))?.ids).toEqual(["x"])
      yield* Effect.retry(Effect.filterOrFail(Ref.get(finalized), (l) => l.length === 1), Schedule.spaced("5 millis").pipe(Schedule.upTo("2 seconds")))
      // A later turn is answered; by then the emulator has read everything sent before: no response to x.
      yield* session.sendRealtimeInput({ text: "and now?" })
      yield* session.events.pipe(Stream.takeUntil(LiveEvent.is("TurnComplete")), Stream.runDrain)
      expect(yield* toolResponses(emulator)).toEqual([])
      expect(yield* Ref.get(finalized)).toEqual(["x"])
    }))

  it.scopedLive("closing mid-call interrupts the handler; nothing is left", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const hang = Tool.make("hang", {
        description: "Hangs",
        parameters: Schema.Struct({}),
        handler: () =>
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
            Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
          )
      })
      const emulator = yield* callingModel([{ id: "h", name: "hang", args: {} }])
      const scope = yield* Scope.make()
      const session = yield* Scope.extend((yield* client(emulator)).connect({ tools: Tool.toolkit(hang) }), scope)
      yield* session.sendRealtimeInput({ text: "go" })
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
    }))

  it.scopedLive("NON_BLOCKING tools are declared so, answered per scheduling", () =>
    Effect.gen(function*() {
      const remember = Tool.make("remember", {
        description: "Stores a note",
        parameters: Schema.Struct({ note: Schema.String }),
        behavior: "NON_BLOCKING",
        scheduling: "SILENT",
        handler: () => Effect.succeed("stored")
      })
      const emulator = yield* callingModel([{ id: "n", name: "remember", args: { note: "milk" } }])
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(remember) })
      expect((session.setup.tools as ReadonlyArray<{ functionDeclarations: ReadonlyArray<{ behavior?: string }> }>)[0].functionDeclarations[0].behavior)
        .toBe("NON_BLOCKING")
      yield* session.sendRealtimeInput({ text: "go" })
      expect(yield* awaitResponses(emulator, 1)).toEqual([
        { id: "n", name: "remember", response: { output: "stored" }, scheduling: "SILENT" }
      ])
    }))

  // The last result is sent with willContinue: false.
  it.scopedLive("a generator tool sends each result with willContinue", () =>
    Effect.gen(function*() {
      const progress = Tool.makeStreaming("progress", {
        description: "Reports progress",
        parameters: Schema.Struct({ steps: Schema.Number }),
        handler: ({ steps }) => Stream.range(1, steps).pipe(Stream.map((step) => ({ step })))
      })
      const emulator = yield* callingModel([{ id: "p", name: "progress", args: { steps: 3 } }])
      const session = yield* (yield* client(emulator)).connect({ tools: Tool.toolkit(progress) })
      yield* session.sendRealtimeInput({ text: "go" })
      expect(yield* awaitResponses(emulator, 3)).toEqual([
        { id: "p", name: "progress", response: { output: { step: 1 } }, scheduling: "WHEN_IDLE", willContinue: true },
        { id: "p", name: "progress", response: { output: { step: 2 } }, scheduling: "WHEN_IDLE", willContinue: true },
        { id: "p", name: "progress", response: { output: { step: 3 } }, scheduling: "WHEN_IDLE", willContinue: false }
      ])
    }))

  // NON_BLOCKING tools are declared there.
  it.scopedLive("Vertex AI refuses generator tools before sending anything", () =>
    Effect.gen(function*() {
      const emulator = yield* LiveEmulator.make()
      const vertex = yield* GeminiLive.GeminiLive.pipe(Effect.provide(
        GeminiLive.layer({ backend: Backend.VERTEX_AI, apiKey: "express", httpOptions: { baseUrl: emulator.url } })
      ))
      const progress = Tool.makeStreaming("progress", {
        description: "Reports progress",
        parameters: Schema.Struct({}),
        handler: () => Stream.make(1, 2)
      })
      const error = yield* Effect.flip(Effect.scoped(vertex.connect({ tools: Tool.toolkit(progress) })))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "tools.progress" })
      expect(yield* emulator.connections).toEqual([])

      const background = Tool.make("background", {
        description: "Runs in the background",
        parameters: Schema.Struct({}),
        behavior: "NON_BLOCKING",
        handler: () => Effect.void
      })
      const session = yield* vertex.connect({ tools: Tool.toolkit(background) })
      const [tool] = session.setup.tools as ReadonlyArray<{ functionDeclarations: ReadonlyArray<{ behavior?: string }> }>
      expect(tool.functionDeclarations[0].behavior).toBe("NON_BLOCKING")
    }))

  // The toolkit does not answer calls to functions declared in connectConfig.
  it.scopedLive("manual mode: connectConfig's functions are the application's", () =>
    Effect.gen(function*() {
      const emulator = yield* callingModel([
        { id: "m", name: "manual", args: {} },
        { id: "w", name: "getWeather", args: { city: "Oslo" } }
      ])
      const session = yield* (yield* client(emulator, {
        connectConfig: { responseModalities: ["TEXT"], tools: [{ functionDeclarations: [{ name: "manual", description: "answered by hand" }] }] }
      })).connect({ tools: Tool.toolkit(getWeather) })
      yield* session.sendRealtimeInput({ text: "go" })
      const call = (yield* session.events.pipe(Stream.filter(LiveEvent.is("ToolCall")), Stream.take(1), Stream.runCollect))
        .pipe(Chunk.unsafeHead)
      expect(call.functionCalls.map((c) => c.name)).toEqual(["manual", "getWeather"])
      yield* awaitResponses(emulator, 1)
      yield* session.sendToolResponse({ functionResponses: { id: "m", name: "manual", response: { output: "by hand" } } })
      const responses = yield* awaitResponses(emulator, 2)
      expect(responses.map((r) => r.id)).toEqual(["w", "m"])
    }))

  it.effect("handlers get their services from the connect's caller", () =>
    Effect.gen(function*() {
      const emulator = yield* callingModel([{ id: "g", name: "greet", args: {} }])
      const session = yield* GeminiLive.GeminiLive.pipe(
        Effect.provide(GeminiLive.layer({ apiKey: "k" }).pipe(Layer.provide(emulator.layerTransport))),
        Effect.flatMap((live) => live.connect({ tools: Tool.toolkit(greetTool) })),
        Effect.provideService(Salutation, "Bonjour")
      )
      yield* session.sendRealtimeInput({ text: "go" })
      yield* Effect.fork(Stream.runDrain(session.events))
      const responses = yield* Effect.map(emulator.connections, ([r]) => r.clientMessages).pipe(
        Effect.repeat({ until: (messages) => messages.some((m) => typeof m === "object" && m !== null && "toolResponse" in m) })
      )
      expect(responses.find((m) => typeof m === "object" && m !== null && "toolResponse" in m)).toEqual({
        toolResponse: { functionResponses: [{ id: "g", name: "greet", response: { output: "Bonjour!" } }] }
      })
    }).pipe(Effect.scoped))
})

