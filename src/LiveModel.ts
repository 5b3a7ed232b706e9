/**
 * What each Live model accepts, checked before anything is sent (the setup at `connect`, each
 * message at its send): a broken rule is a `ConfigError` naming the field, model and rule. The
 * emulator refuses the same (close 1007). Rules are data per model and backend, in a `Registry`
 * (`known` by default); an unknown model passes unchecked. Add or replace entries with `layer`:
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { GeminiLive, LiveModel } from "effect-gemini-live"
 *
 * const Live = GeminiLive.layer({ apiKey: "...", model: "gemini-3.9-live" }).pipe(
 *   Layer.provide(LiveModel.layer([
 *     { name: "gemini-3.9-live", GeminiAPI: { ...LiveModel.known.get("gemini-3.8-live")!.GeminiAPI } }
 *   ]))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type * as Backend from "./Backend.js"
import { ConfigError } from "./LiveError.js"
import type * as Protocol from "./Protocol.js"
import type * as Tool from "./Tool.js"

/**
 * A function's behaviour (`Tool.Behavior`): `BLOCKING` or `NON_BLOCKING`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Behavior = Tool.Behavior

/**
 * What one model accepts on one backend. An absent rule is not checked.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Rules {
  /**
   * How `clientContent` may be used: `"session"`, at any time; `"initialHistory"`, only to seed the
   * context before the conversation (with `historyConfig.initialHistoryInClientContent: true`).
   */
  readonly clientContent?: "session" | "initialHistory" | undefined
  /** `true`: each `clientContent` turn states its role, `user` or `model`. */
  readonly explicitRoles?: boolean | undefined
  /** The behaviour of a function whose declaration states none. */
  readonly defaultBehavior?: Behavior | undefined
  /** The behaviours a function declaration may state. */
  readonly behaviors?: ReadonlyArray<Behavior> | undefined
  /** `false`: `thinkingConfig` is refused. */
  readonly thinking?: boolean | undefined
  /** `true`: proactive audio is always on, and `proactivity.proactiveAudio: false` is refused. */
  readonly proactiveAudioAlwaysOn?: boolean | undefined
  /** `false`: `enableAffectiveDialog` is refused. */
  readonly affectiveDialog?: boolean | undefined
  /** The response modalities accepted. */
  readonly responseModalities?: ReadonlyArray<string> | undefined
  /** `true`: `clientContent` with `turnComplete: true` interrupts the generation in progress, unconditionally. */
  readonly turnCompleteInterrupts?: boolean | undefined
  /** `true`: new input while a BLOCKING call runs cancels the call (it is not to be answered). */
  readonly inputCancelsBlockingCalls?: boolean | undefined
  /** `true`: reports `serverContent.interactionStatus` (IN_PROGRESS while it reasons in the background, IDLE when done). */
  readonly reportsInteractionStatus?: boolean | undefined
}

/**
 * A model: its name (as in `models/{name}`) and its rules on each backend that serves it, with the
 * pages they come from.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Model {
  readonly name: string
  readonly GeminiAPI?: Rules | undefined
  readonly VertexAI?: Rules | undefined
  readonly sources?: ReadonlyArray<string> | undefined
}

/**
 * Models by name.
 *
 * @since 0.1.0
 * @category Models
 */
export type Registry = ReadonlyMap<string, Model>

/**
 * The default Live model on both backends: `gemini-3.8-live`, generally available since 2026-09-15
 * (ai.google.dev/gemini-api/docs/models/gemini-3.8-live; the same id on Vertex AI).
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultModel = "gemini-3.8-live"

const live38: Rules = {
  clientContent: "session",
  explicitRoles: true,
  defaultBehavior: "NON_BLOCKING",
  thinking: false,
  turnCompleteInterrupts: true
}

/**
 * The Live models known today (December 2026) and their rules (docs/models.md).
 *
 * @since 0.1.0
 * @category Constants
 */
export const known: Registry = new Map<string, Model>([
  ["gemini-3.8-live", {
    name: "gemini-3.8-live",
    GeminiAPI: { ...live38, proactiveAudioAlwaysOn: true, affectiveDialog: false, responseModalities: ["AUDIO"] },
    VertexAI: { ...live38, inputCancelsBlockingCalls: true },
    sources: [
      "https://ai.google.dev/gemini-api/docs/models/gemini-3.8-live (Migrating from Gemini 3.1 Flash Live)",
      "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/live-api/migrate-from-gemini-2-5-to-gemini-3-8-live"
    ]
  }],
  ["gemini-3.8-live-extended-thinking", {
    name: "gemini-3.8-live-extended-thinking",
    GeminiAPI: {
      clientContent: "session",
      explicitRoles: true,
      defaultBehavior: "NON_BLOCKING",
      behaviors: ["NON_BLOCKING"],
      turnCompleteInterrupts: true,
      proactiveAudioAlwaysOn: true,
      affectiveDialog: false,
      responseModalities: ["AUDIO"],
      reportsInteractionStatus: true
    },
    sources: [
      "https://ai.google.dev/gemini-api/docs/models/gemini-3.8-live (function calling: async only)",
      "https://ai.google.dev/gemini-api/docs/live-api/thinking"
    ]
  }],
  ["gemini-3.1-flash-live-preview", {
    name: "gemini-3.1-flash-live-preview",
    GeminiAPI: { clientContent: "initialHistory", defaultBehavior: "BLOCKING" },
    VertexAI: { clientContent: "initialHistory", defaultBehavior: "BLOCKING" },
    sources: ["https://ai.google.dev/gemini-api/docs/live-guide (model comparison)"]
  }],
  ["gemini-2.5-flash-native-audio-preview-12-2025", {
    name: "gemini-2.5-flash-native-audio-preview-12-2025",
    GeminiAPI: { clientContent: "session", defaultBehavior: "BLOCKING" },
    sources: ["https://ai.google.dev/gemini-api/docs/live-guide (model comparison)"]
  }],
  ["gemini-live-2.5-flash-native-audio", {
    name: "gemini-live-2.5-flash-native-audio",
    VertexAI: { clientContent: "session", defaultBehavior: "BLOCKING" },
    sources: ["https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-8-live (model comparison)"]
  }]
])

/**
 * The registry sessions are checked against; `known` unless provided.
 *
 * @since 0.1.0
 * @category Context
 */
export class Models extends Context.Reference<Models>()("effect-gemini-live/LiveModel/Models", {
  defaultValue: (): Registry => known
}) {}

/**
 * Provides `registry(models, options)`: provide it to `GeminiLive.layer(...)` (the client reads the
 * registry when it is built).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  models: ReadonlyArray<Model>,
  options?: { readonly replace?: boolean | undefined }
): Layer.Layer<Models> => Layer.succeed(Models, registry(models, options))

/**
 * `known` with `models` added (or replacing entries of the same name); `{ replace: true }`: only `models`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const registry = (models: ReadonlyArray<Model>, options?: { readonly replace?: boolean | undefined }): Registry => {
  const map = new Map(options?.replace === true ? [] : known)
  for (const model of models) map.set(model.name, model)
  return map
}

/**
 * A model's own name: the last segment of `models/x`, `publishers/google/models/x`, `projects/.../models/x`.
 *
 * @since 0.1.0
 * @category Utils
 */
export const nameOf = (model: string): string => model.slice(model.lastIndexOf("/") + 1)

/**
 * The rules one session is checked against: a model on a backend.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Check {
  /** The model's own name (`nameOf`). */
  readonly model: string
  readonly backend: Backend.Kind
  readonly rules: Rules
}

/**
 * The rules of `model` on `backend` in `registry`; `undefined` for a model it does not know there.
 *
 * @since 0.1.0
 * @category Utils
 */
export const checkFor = (registry: Registry, model: string, backend: Backend.Kind): Check | undefined => {
  const name = nameOf(model)
  const rules = registry.get(name)?.[backend]
  return rules === undefined ? undefined : { model: name, backend, rules }
}

const broken = (check: Check, method: string, path: string, rule: string) =>
  new ConfigError({ module: "LiveModel", method, path, description: `${check.model} on ${check.backend}: ${rule}` })

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * A function declaration's behaviour: as it states it, else the model's default (`undefined` when
 * neither says). `UNSPECIFIED`, the enum's zero, counts as unstated.
 *
 * @since 0.1.0
 * @category Utils
 */
export const behaviorOf = (rules: Rules, declaration: unknown): Behavior | undefined => {
  const stated = isRecord(declaration) ? declaration.behavior : undefined
  return stated === undefined || stated === "UNSPECIFIED" ? rules.defaultBehavior : stated as Behavior
}

/**
 * The behaviour of each function `tools` declare, by name (`behaviorOf` each declaration).
 *
 * @since 0.1.0
 * @category Utils
 */
export const functionBehaviors = (rules: Rules, tools: ReadonlyArray<unknown> | undefined): ReadonlyMap<string, Behavior | undefined> => {
  const behaviors = new Map<string, Behavior | undefined>()
  for (const tool of tools ?? []) {
    const declarations = isRecord(tool) ? tool.functionDeclarations : undefined
    if (!Array.isArray(declarations)) continue
    for (const declaration of declarations) {
      if (isRecord(declaration) && typeof declaration.name === "string") behaviors.set(declaration.name, behaviorOf(rules, declaration))
    }
  }
  return behaviors
}

/**
 * Checks function declarations (`tools[].functionDeclarations[].behavior`) against the behaviours
 * the model accepts. `path` names where the tools come from (`connectConfig.tools`, `tools`), or
 * gives the path of a function by its name (a toolkit's `tools.{name}.behavior`).
 *
 * @since 0.1.0
 * @category Guards
 */
export const checkTools = (
  check: Check,
  tools: ReadonlyArray<unknown> | undefined,
  method: string,
  path: string | ((name: string) => string)
): ConfigError | undefined => {
  const { behaviors } = check.rules
  if (behaviors === undefined || tools === undefined) return undefined
  for (let i = 0; i < tools.length; i++) {
    const declarations = isRecord(tools[i]) ? (tools[i] as { functionDeclarations?: unknown }).functionDeclarations : undefined
    if (!Array.isArray(declarations)) continue
    for (let j = 0; j < declarations.length; j++) {
      const declaration: unknown = declarations[j]
      const behavior = behaviorOf(check.rules, declaration)
      if (behavior !== undefined && !behaviors.includes(behavior as Behavior)) {
        const name = isRecord(declaration) ? String(declaration.name) : ""
        return broken(
          check,
          method,
          typeof path === "string" ? `${path}[${i}].functionDeclarations[${j}].behavior` : path(name),
          `functions must be ${behaviors.join(" or ")} (${String(behavior)} is not supported): declare behavior: "${behaviors[0]}"`
        )
      }
    }
  }
  return undefined
}

/**
 * Checks a `setup` message (as `connect` is about to send it) against the model's rules. Paths name
 * the `connectConfig` fields users write (`connectConfig.thinkingConfig`, not `generationConfig...`).
 *
 * @since 0.1.0
 * @category Guards
 */
export const checkSetup = (check: Check, setup: Protocol.Setup): ConfigError | undefined => {
  const { rules } = check
  const generation = isRecord(setup.generationConfig) ? setup.generationConfig : {}
  if (rules.thinking === false && generation.thinkingConfig != null) {
    return broken(check, "connect", "connectConfig.thinkingConfig", "thinking levels are not supported: omit thinkingConfig")
  }
  if (rules.affectiveDialog === false && generation.enableAffectiveDialog != null) {
    return broken(check, "connect", "connectConfig.enableAffectiveDialog", "affective dialog was removed from the API: omit enableAffectiveDialog")
  }
  const proactivity = isRecord(setup.proactivity) ? setup.proactivity : {}
  if (rules.proactiveAudioAlwaysOn === true && proactivity.proactiveAudio === false) {
    return broken(check, "connect", "connectConfig.proactivity.proactiveAudio", "proactive audio is always on: false is an error")
  }
  const modalities = generation.responseModalities
  if (rules.responseModalities !== undefined && Array.isArray(modalities)) {
    const refused = modalities.find((modality) => !rules.responseModalities!.includes(String(modality)))
    if (refused !== undefined) {
      return broken(
        check,
        "connect",
        "connectConfig.responseModalities",
        `the response modalities are ${rules.responseModalities.join(", ")} (${String(refused)} is not supported; use outputAudioTranscription for text)`
      )
    }
  }
  return checkTools(check, Array.isArray(setup.tools) ? setup.tools : undefined, "connect", "connectConfig.tools")
}

/**
 * Where a session is, for the `clientContent` rules: whether the conversation has started (realtime
 * input sent, or the model has spoken).
 *
 * @since 0.1.0
 * @category Models
 */
export interface ConversationState {
  readonly started: boolean
}

/**
 * Whether a setup asks for initial history through `clientContent` (`historyConfig.initialHistoryInClientContent`).
 *
 * @since 0.1.0
 * @category Guards
 */
export const seedsHistory = (setup: Protocol.Setup): boolean =>
  isRecord(setup.historyConfig) && setup.historyConfig.initialHistoryInClientContent === true

/**
 * Checks a `clientContent` message's turns against the model's rules.
 *
 * @since 0.1.0
 * @category Guards
 */
export const checkClientContent = (
  check: Check,
  setup: Protocol.Setup,
  turns: ReadonlyArray<Protocol.Content> | undefined,
  state: ConversationState
): ConfigError | undefined => {
  switch (check.rules.clientContent) {
    case "initialHistory": {
      if (!seedsHistory(setup)) {
        return broken(
          check,
          "sendClientContent",
          "clientContent",
          "clientContent only seeds the initial history, with historyConfig.initialHistoryInClientContent: true in the connectConfig; send text with sendRealtimeInput({ text })"
        )
      }
      if (state.started) {
        return broken(
          check,
          "sendClientContent",
          "clientContent",
          "clientContent only seeds the initial history, before the conversation starts; send text with sendRealtimeInput({ text })"
        )
      }
      return undefined
    }
    case "session": {
      if (check.rules.explicitRoles !== true) return undefined
      const index = (turns ?? []).findIndex((turn) => turn.role !== "user" && turn.role !== "model")
      return index < 0
        ? undefined
        : broken(check, "sendClientContent", `turns[${index}].role`, "each turn needs an explicit role, user or model")
    }
    default:
      return undefined
  }
}
