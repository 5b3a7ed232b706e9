/**
 * The flat `LiveConnectConfig` mapped into the `setup` message, as `@google/genai` maps it.
 */
import * as Either from "effect/Either"
import { ConfigError } from "../../LiveError.js"
import type { LiveConnectConfig, Setup } from "../../Protocol.js"
import { toApiTools } from "./apiSchema.js"
import { toContent } from "./content.js"

/** Config fields that go into `setup.generationConfig`. */
const generationConfigFields: ReadonlyArray<string> = [
  "responseModalities",
  "temperature",
  "topP",
  "topK",
  "maxOutputTokens",
  "mediaResolution",
  "seed",
  "speechConfig",
  "thinkingConfig",
  "enableAffectiveDialog",
  "translationConfig"
]

export const makeSetup = (model: string, config: LiveConnectConfig): Either.Either<Setup, ConfigError> => {
  const setup: Record<string, unknown> = { model }
  let generationConfig: Record<string, unknown> | undefined = config.generationConfig === undefined
    ? undefined
    : { ...config.generationConfig }
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || value === null || key === "generationConfig") continue
    if (generationConfigFields.includes(key)) {
      generationConfig ??= {}
      generationConfig[key] = value
    } else if (key === "systemInstruction") {
      setup.systemInstruction = toContent(value as NonNullable<LiveConnectConfig["systemInstruction"]>)
    } else if (key === "tools") {
      const tools = toApiTools(value as NonNullable<LiveConnectConfig["tools"]>, "tools")
      if (Either.isLeft(tools)) {
        const path = `connectConfig.${tools.left.path}`
        return Either.left(new ConfigError({ module: "Protocol", method: "connect", path, description: tools.left.description }))
      }
      setup.tools = tools.right
    } else {
      setup[key] = value
    }
  }
  if (generationConfig !== undefined) setup.generationConfig = generationConfig
  return Either.right(setup as Setup)
}
