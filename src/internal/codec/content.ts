/**
 * What a user passes as content (a string, parts, `Content`s), normalised into the wire's `Content`s.
 */
import * as Either from "effect/Either"
import type { Content, ContentInput, Part, TurnsInput } from "../../Protocol.js"

const isContent = (u: unknown): u is Content =>
  typeof u === "object" && u !== null && "parts" in u && Array.isArray((u as { parts: unknown }).parts)

const isFunctionPart = (u: unknown): boolean =>
  typeof u === "object" && u !== null && ("functionCall" in u || "functionResponse" in u)

/** A `Content` as it is; a string or parts as one `user` turn. */
export const toContent = (input: ContentInput): Content => {
  if (isContent(input)) return input
  const items: ReadonlyArray<string | Part> = Array.isArray(input) ? input : [input as string | Part]
  return { role: "user", parts: items.map((item) => (typeof item === "string" ? { text: item } : item)) }
}

/** `turns` as `@google/genai` reads them; what it refuses, described on the left. */
export const toTurns = (turns: TurnsInput): Either.Either<ReadonlyArray<Content>, string> => {
  if (!Array.isArray(turns)) {
    if (!isContent(turns) && isFunctionPart(turns)) {
      return Either.left("a functionCall or functionResponse part must be wrapped in a Content with a role")
    }
    return Either.right([toContent(turns as ContentInput)])
  }
  if (turns.length === 0) return Either.left("turns must not be empty")
  const contents = turns.filter(isContent)
  if (contents.length === turns.length) return Either.right(contents)
  if (contents.length > 0) return Either.left("turns mixes Contents and parts: group the parts into Contents")
  if (turns.some(isFunctionPart)) {
    return Either.left("a functionCall or functionResponse part must be wrapped in a Content with a role")
  }
  return Either.right([toContent(turns as ReadonlyArray<string | Part>)])
}
