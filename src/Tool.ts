/**
 * Typed tools: functions the model can call, declared from a Schema and answered automatically.
 * A session connected with a toolkit declares each tool in its setup, decodes each call's
 * arguments, runs the handler in its own fiber and sends a `functionResponse`. Every call is
 * answered (a failure, defect, timeout or unknown function as an error the model can read); a
 * `toolCallCancellation` interrupts the cancelled calls, with no response.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { GeminiLive, Tool } from "effect-gemini-live"
 *
 * const getWeather = Tool.make("getWeather", {
 *   description: "Gets the weather of a city",
 *   parameters: Schema.Struct({ city: Schema.String }),
 *   handler: ({ city }) => Effect.succeed({ city, sky: "clear", celsius: 21 })
 * })
 *
 * const session = GeminiLive.connect({ tools: Tool.toolkit(getWeather) })
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as JSONSchema from "effect/JSONSchema"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Protocol from "./Protocol.js"

/**
 * When a NON_BLOCKING function's result is delivered to the model: `SILENT` (added to the context
 * only), `WHEN_IDLE` (after the model finishes what it is saying), `INTERRUPT` (at once).
 *
 * @since 0.1.0
 * @category Models
 */
export type Scheduling = "SILENT" | "WHEN_IDLE" | "INTERRUPT"

/**
 * `BLOCKING` (a tool's default): the model waits for the result. `NON_BLOCKING`: it goes on talking
 * and gets the result per `scheduling`. A tool always declares it, as models' defaults differ.
 *
 * @since 0.1.0
 * @category Models
 */
export type Behavior = "BLOCKING" | "NON_BLOCKING"

/**
 * A tool: its declaration and its handler. `R` is what the handler needs (provided at `connect`).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Tool<out R = never> {
  readonly name: string
  readonly description: string
  readonly behavior: Behavior
  readonly scheduling: Scheduling | undefined
  /** How long the handler may run; the call is then answered with a timeout error. */
  readonly timeout: Duration.Duration | undefined
  /** The `functionDeclarations` entry sent in the setup. */
  readonly declaration: Protocol.FunctionDeclaration
  /** Decodes the arguments and runs the handler; a failure is the message the model reads. */
  readonly call: (args: unknown, call: Protocol.FunctionCall) => Effect.Effect<unknown, unknown, R>
  /** For generator tools (`makeStreaming`): the results, each sent with `willContinue`. */
  readonly stream: ((args: unknown, call: Protocol.FunctionCall) => Stream.Stream<unknown, unknown, R>) | undefined
}

/**
 * Makes a tool. The handler's result becomes the response `{ output: result }`; its failure (or a
 * bad argument, a defect, a timeout) the response `{ error: "..." }`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = <A, I, Success, E, R>(name: string, options: {
  readonly description: string
  readonly parameters: Schema.Schema<A, I, never>
  readonly handler: (args: A, call: Protocol.FunctionCall) => Effect.Effect<Success, E, R>
  readonly behavior?: Behavior | undefined
  /** For NON_BLOCKING tools; default `WHEN_IDLE`. */
  readonly scheduling?: Scheduling | undefined
  /** Default: the toolkit's (30 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
}): Tool<R> => {
  const behavior = options.behavior ?? "BLOCKING"
  const { $schema: _, ...parametersJsonSchema } = JSONSchema.make(options.parameters) as JSONSchema.JsonSchema7Root & {
    readonly $schema?: string
  }
  const decodeArgs = Schema.decodeUnknown(options.parameters)
  return {
    name,
    description: options.description,
    behavior,
    scheduling: behavior === "NON_BLOCKING" ? options.scheduling ?? "WHEN_IDLE" : undefined,
    timeout: options.timeout === undefined ? undefined : Duration.decode(options.timeout),
    declaration: {
      name,
      description: options.description,
      parametersJsonSchema,
      behavior
    },
    call: (args, call) => Effect.flatMap(decodeArguments(decodeArgs, args), (decoded) => options.handler(decoded, call)),
    stream: undefined
  }
}

const decodeArguments = <A>(
  decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>,
  args: unknown
): Effect.Effect<A, InvalidArguments> =>
  Effect.mapError(decode(args), (error): InvalidArguments => ({ _tag: "InvalidArguments", error }))

/**
 * Makes a generator tool (NON_BLOCKING; Gemini API only): each result of the handler's stream is
 * sent as it comes with `willContinue: true`, the last with `false` (a failure ends it with `{ error }`).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeStreaming = <A, I, Success, E, R>(name: string, options: {
  readonly description: string
  readonly parameters: Schema.Schema<A, I, never>
  readonly handler: (args: A, call: Protocol.FunctionCall) => Stream.Stream<Success, E, R>
  /** Default `WHEN_IDLE`. */
  readonly scheduling?: Scheduling | undefined
  /** For the whole stream; default: the toolkit's (30 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
}): Tool<R> => {
  const tool = make(name, { ...options, behavior: "NON_BLOCKING", handler: () => Effect.void })
  const decodeArgs = Schema.decodeUnknown(options.parameters)
  return {
    ...tool,
    stream: (args, call) =>
      Stream.unwrap(Effect.map(decodeArguments(decodeArgs, args), (decoded) => options.handler(decoded, call)))
  }
}

/**
 * The failure of a call whose arguments do not match the tool's Schema.
 *
 * @since 0.1.0
 * @category Models
 */
export interface InvalidArguments {
  readonly _tag: "InvalidArguments"
  readonly error: ParseResult.ParseError
}

/**
 * A set of tools a session is connected with.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Toolkit<out R = never> {
  readonly tools: ReadonlyMap<string, Tool<R>>
  /** The default handler timeout. */
  readonly timeout: Duration.Duration
}

/**
 * The default handler timeout: a blocking call keeps the model silent, so it should be short.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/**
 * Gathers tools into a toolkit. Two tools with one name are a programming error (it throws).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const toolkit = <Tools extends ReadonlyArray<Tool<any>>>(
  ...tools: Tools
): Toolkit<Tools[number] extends Tool<infer R> ? R : never> => withTimeout(defaultTimeout, ...tools)

/**
 * A toolkit whose handlers time out after `timeout` unless a tool says otherwise.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const withTimeout = <Tools extends ReadonlyArray<Tool<any>>>(
  timeout: Duration.DurationInput,
  ...tools: Tools
): Toolkit<Tools[number] extends Tool<infer R> ? R : never> => {
  const map = new Map<string, Tool<any>>()
  for (const tool of tools) {
    if (map.has(tool.name)) throw new Error(`Tool.toolkit: two tools are named "${tool.name}"`)
    map.set(tool.name, tool)
  }
  return { tools: map, timeout: Duration.decode(timeout) }
}

/**
 * The `tools` entry of the setup: one `functionDeclarations` list.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const declarations = (kit: Toolkit<any>): Readonly<Record<string, unknown>> => ({
  functionDeclarations: Array.from(kit.tools.values(), (tool) => tool.declaration)
})
