/**
 * The emulator's side of the model rules (`LiveModel`): what a model refuses of a message, and how
 * a function response is scheduled. The checks read lowerCamel wire objects while a client may
 * write proto3 JSON (snake_case, enum numbers, booleans as strings), so objects are normalised first.
 */
import * as LiveModel from "../../LiveModel.js"
import type * as Protocol from "../../Protocol.js"
import type * as Tool from "../../Tool.js"
import {
  arrayField,
  camelCase,
  field,
  invalidArgument,
  isObject,
  type JsonObject,
  type Rejection,
  unknownField
} from "./wire.js"

/**
 * An object's keys in lowerCamel (one level). A `null` reads as absent, and the lowerCamel spelling
 * wins over the snake_case one, as `field` reads them. Anything else is returned as it is.
 */
const camelKeys = (value: unknown): unknown => {
  if (!isObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    if (item === null) continue
    const name = camelCase(key)
    if (out[name] === undefined || key === name) out[name] = item
  }
  return out
}

/** A proto3 JSON enum value by name (a number is the value's index in `names`). */
const enumName = (value: unknown, names: ReadonlyArray<string>): unknown =>
  typeof value === "number" ? names[value] ?? value : value

/** A proto3 JSON boolean (`"true"` and `"false"` are booleans too). */
const bool = (value: unknown): unknown => value === "true" ? true : value === "false" ? false : value

const behaviorNames = ["UNSPECIFIED", "BLOCKING", "NON_BLOCKING"]
const modalityNames = ["MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO"]
const schedulingNames = ["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"]

/** A declaration with lowerCamel keys and its `behavior` by name (unspecified: absent, the model's default). */
const normalizeDeclaration = (declaration: unknown): unknown => {
  const camel = camelKeys(declaration)
  if (!isObject(camel)) return camel
  const { behavior, ...rest } = camel
  const name = enumName(behavior, behaviorNames)
  return name === undefined || name === "UNSPECIFIED" ? rest : { ...rest, behavior: name }
}

/**
 * `Tool`s as `LiveModel.checkTools` reads them: lowerCamel keys down to each function declaration
 * (not inside `parameters`, whose property names are data).
 */
export const normalizeTools = (tools: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  tools.map((tool) => {
    const camel = camelKeys(tool)
    if (!isObject(camel) || !Array.isArray(camel.functionDeclarations)) return camel
    return { ...camel, functionDeclarations: camel.functionDeclarations.map(normalizeDeclaration) }
  })

/**
 * A `setup` body as the `LiveModel` checks read it: lowerCamel keys at the top, in
 * `generationConfig`, `proactivity`, `historyConfig` and the tools; enum numbers and string
 * booleans read as a proto3 JSON parser reads them.
 */
export const normalizeSetup = (raw: JsonObject): Protocol.Setup => {
  const setup = camelKeys(raw) as Record<string, unknown>
  const generation = camelKeys(setup.generationConfig)
  if (isObject(generation)) {
    const modalities = generation.responseModalities
    setup.generationConfig = Array.isArray(modalities)
      ? { ...generation, responseModalities: modalities.map((modality) => enumName(modality, modalityNames)) }
      : generation
  }
  const proactivity = camelKeys(setup.proactivity)
  if (isObject(proactivity)) setup.proactivity = { ...proactivity, proactiveAudio: bool(proactivity.proactiveAudio) }
  const history = camelKeys(setup.historyConfig)
  if (isObject(history)) {
    setup.historyConfig = { ...history, initialHistoryInClientContent: bool(history.initialHistoryInClientContent) }
  }
  if (Array.isArray(setup.tools)) setup.tools = normalizeTools(setup.tools)
  return setup as unknown as Protocol.Setup
}

/** A function response's `scheduling`; `WHEN_IDLE` unless it says otherwise. */
export const schedulingOf = (response: unknown): Tool.Scheduling => {
  const scheduling = enumName(field(response, "scheduling"), schedulingNames)
  return scheduling === "SILENT" || scheduling === "INTERRUPT" ? scheduling : "WHEN_IDLE"
}

/**
 * What the model refuses of a message after `setup` (the connection closes 1007, as the service's
 * INVALID_ARGUMENT): a `clientContent` against the model's rules, a `contextUpdate` that is
 * malformed or declares behaviours the model does not take.
 */
export const refusal = (
  check: LiveModel.Check | undefined,
  setup: Protocol.Setup,
  kind: string,
  body: unknown,
  started: boolean
): Rejection | undefined => {
  if (kind === "clientContent") {
    const turns = arrayField(body, "turns") as ReadonlyArray<Protocol.Content>
    const broken = check === undefined ? undefined : LiveModel.checkClientContent(check, setup, turns, { started })
    return broken === undefined ? undefined : invalidArgument
  }
  if (kind === "contextUpdate") {
    const instruction = field(body, "systemInstruction")
    if (instruction !== undefined && !isObject(instruction)) return invalidArgument
    const wrapper = field(body, "tools")
    if (wrapper === undefined) return undefined
    if (!isObject(wrapper)) return invalidArgument
    for (const name of Object.keys(wrapper)) {
      if (camelCase(name) !== "tools") return unknownField(name, "context_update.tools")
    }
    const broken = check === undefined
      ? undefined
      : LiveModel.checkTools(check, normalizeTools(arrayField(wrapper, "tools")), "sendContextUpdate", "tools.tools")
    return broken === undefined ? undefined : invalidArgument
  }
  return undefined
}
