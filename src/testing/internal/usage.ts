/**
 * Plausible token counts for `usageMetadata`, as the service counts them: the prompt is the whole
 * context so far (a fixed system prompt, the system instruction, every user turn and earlier reply),
 * the response what the model said in this turn. Response tokens are reported as TEXT even for audio,
 * as recorded (python-genai#1342). Field names are the Gemini API's; `dialect.ts` renames them.
 */

/** As recorded: "Hello what should we talk about?" was billed 515 prompt tokens. */
const fixedSystemPromptTokens = 507
const charactersPerToken = 4
const audioTokensPerSecond = 32

const textTokens = (text: string): number => Math.ceil(text.length / charactersPerToken)

/** The token counts of one model turn (a token count per modality in the details). */
export interface TurnUsage {
  readonly promptTokenCount: number
  readonly responseTokenCount: number
  readonly totalTokenCount: number
  readonly promptTokensDetails: ReadonlyArray<ModalityTokenCount>
  readonly responseTokensDetails: ReadonlyArray<ModalityTokenCount>
}

/** `ModalityTokenCount`. */
export interface ModalityTokenCount {
  readonly modality: string
  readonly tokenCount: number
}

/** The conversation's share of the prompt (the system prompt aside): what a resumed session keeps. */
export interface UsageContext {
  readonly textTokens: number
  readonly audioTokens: number
}

/** The running token counts of one session. */
export interface UsageCounter {
  readonly addUserText: (text: string) => void
  readonly addUserAudio: (seconds: number) => void
  readonly addModelText: (text: string) => void
  /** A new system instruction (a `contextUpdate`): counted in the prompts from now on. */
  readonly setSystemInstruction: (text: string) => void
  /** The usage of the turn that ends now; what the model said joins the context. */
  readonly completeTurn: () => TurnUsage
  /** The context so far (what the model is saying now is not in it yet). */
  readonly context: () => UsageContext
}

/**
 * Starts counting for a session with this system instruction; a resumed session starts from the
 * context of the conversation it continues.
 */
export const makeUsageCounter = (systemInstruction: string, resumed?: UsageContext): UsageCounter => {
  let systemTokens = fixedSystemPromptTokens + textTokens(systemInstruction)
  let contextText = resumed?.textTokens ?? 0
  let promptAudio = resumed?.audioTokens ?? 0
  let response = 0
  return {
    addUserText: (text) => {
      contextText += textTokens(text)
    },
    addUserAudio: (seconds) => {
      promptAudio += Math.round(seconds * audioTokensPerSecond)
    },
    addModelText: (text) => {
      response += textTokens(text)
    },
    setSystemInstruction: (text) => {
      systemTokens = fixedSystemPromptTokens + textTokens(text)
    },
    context: () => ({ textTokens: contextText, audioTokens: promptAudio }),
    completeTurn: () => {
      const promptText = systemTokens + contextText
      const promptTokensDetails: Array<ModalityTokenCount> = [{ modality: "TEXT", tokenCount: promptText }]
      if (promptAudio > 0) promptTokensDetails.push({ modality: "AUDIO", tokenCount: promptAudio })
      const usage: TurnUsage = {
        promptTokenCount: promptText + promptAudio,
        responseTokenCount: response,
        totalTokenCount: promptText + promptAudio + response,
        promptTokensDetails,
        responseTokensDetails: [{ modality: "TEXT", tokenCount: response }]
      }
      contextText += response
      response = 0
      return usage
    }
  }
}
