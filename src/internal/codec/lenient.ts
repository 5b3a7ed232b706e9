/**
 * The lenient half of decoding server messages: a parsed message the Schema refused is repaired in
 * place by dropping, for each field of the wrong type, the smallest enclosing optional field or
 * array element, so one bad field never costs the rest of the message (its audio, its
 * turnComplete). Each drop is described in a line: the field's path, what was expected and got.
 */
import * as AST from "effect/SchemaAST"

/** The descriptions of the drops made (those inside a value dropped later are taken back). */
type Drops = Array<string>

type Path = Array<PropertyKey>

const hasOwn = Object.prototype.hasOwnProperty

const isRecord = (value: unknown): value is Record<PropertyKey, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** At most `max` characters of `text`. */
const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text)

const pathText = (path: Path, length = path.length): string => {
  let text = ""
  for (let i = 0; i < length; i++) {
    const key = path[i]
    text += typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${cut(String(key), 40)}`
  }
  return text === "" ? "(the message)" : text
}

/** What a value is, in a few words: its type, and a short preview of a primitive. */
const got = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  switch (typeof value) {
    case "object":
      return "an object"
    case "string":
      return `a string ${cut(JSON.stringify(value), 40)}`
    case "number":
    case "boolean":
      return `${typeof value} ${String(value)}`
    default:
      return typeof value
  }
}

const expected = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    default:
      return cut(String(ast), 60)
  }
}

/** The members of a union but `undefined` (what `Schema.optional` adds). */
const defined = (ast: AST.Union): ReadonlyArray<AST.AST> => ast.types.filter((member) => member._tag !== "UndefinedKeyword")

/**
 * Repairs `value` against `ast` in place; `undefined` when it fits (maybe after drops), else why not
 * (the value must go: its container drops it). `path` is where `value` is (pushed and popped).
 */
const repair = (ast: AST.AST, value: unknown, path: Path, drops: Drops): string | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return typeof value === "string" ? undefined : mismatch(ast, value, path)
    case "NumberKeyword":
      return typeof value === "number" ? undefined : mismatch(ast, value, path)
    case "BooleanKeyword":
      return typeof value === "boolean" ? undefined : mismatch(ast, value, path)
    case "UnknownKeyword":
    case "AnyKeyword":
      return undefined
    case "UndefinedKeyword":
      return value === undefined ? undefined : mismatch(ast, value, path)
    case "Literal":
      return value === ast.literal ? undefined : mismatch(ast, value, path)
    case "Union": {
      if (value === undefined && ast.types.some((member) => member._tag === "UndefinedKeyword")) return undefined
      const members = defined(ast)
      // Other unions are not in the server Schemas: left to the Schema's check that follows.
      return members.length === 1 ? repair(members[0], value, path, drops) : undefined
    }
    case "TypeLiteral":
      return isRecord(value) ? repairObject(ast, value, path, drops) : mismatch(ast, value, path)
    case "TupleType":
      return Array.isArray(value) ? repairArray(ast, value, path, drops) : mismatch(ast, value, path)
    case "Suspend":
      return repair(ast.f(), value, path, drops)
    default:
      // Not in the server Schemas (refinements, transformations, ...): left to the Schema's check.
      return undefined
  }
}

const mismatch = (ast: AST.AST, value: unknown, path: Path): string =>
  `${pathText(path)}: expected ${expected(ast)}, got ${got(value)}`

const drop = (why: string, path: Path, drops: Drops): void => {
  const at = pathText(path)
  drops.push(why.startsWith(`${at}:`) ? why : `${at} (${why})`)
}

const repairObject = (ast: AST.TypeLiteral, value: Record<PropertyKey, unknown>, path: Path, drops: Drops): string | undefined => {
  const before = drops.length
  for (const signature of ast.propertySignatures) {
    const key = signature.name
    if (!hasOwn.call(value, key)) {
      if (signature.isOptional) continue
      drops.length = before
      return `${pathText(path)}.${cut(String(key), 40)}: is missing`
    }
    path.push(key)
    const why = repair(signature.type, value[key], path, drops)
    if (why !== undefined) {
      if (!signature.isOptional) {
        path.pop()
        drops.length = before
        return why
      }
      drop(why, path, drops)
      delete value[key]
    }
    path.pop()
  }
  if (ast.indexSignatures.length === 0) return undefined
  // Records: an entry that does not fit is dropped (the keys are the server's, the values checked).
  for (const key of Object.keys(value)) {
    if (ast.propertySignatures.some((signature) => signature.name === key)) continue
    for (const index of ast.indexSignatures) {
      if (index.type._tag === "UnknownKeyword" || index.type._tag === "AnyKeyword") continue
      path.push(key)
      const why = repair(index.type, value[key], path, drops)
      if (why !== undefined) {
        drop(why, path, drops)
        delete value[key]
      }
      path.pop()
      if (why !== undefined) break
    }
  }
  return undefined
}

const repairArray = (ast: AST.TupleType, value: Array<unknown>, path: Path, drops: Drops): string | undefined => {
  // Only arrays (`Schema.Array`) are repaired; tuples are not in the server Schemas (left to the Schema).
  if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
  const element = ast.rest[0].type
  let kept = 0
  for (let i = 0; i < value.length; i++) {
    path.push(i)
    const why = repair(element, value[i], path, drops)
    if (why === undefined) value[kept++] = value[i]
    else drop(why, path, drops)
    path.pop()
  }
  value.length = kept
  return undefined
}

/**
 * Repairs a parsed message (an object) against `ast` in place: the descriptions of the fields it
 * dropped, one each (the Schema's check that follows says whether the message now fits).
 */
export const repairMessage = (ast: AST.AST, message: object): ReadonlyArray<string> => {
  const drops: Drops = []
  repair(ast, message, [], drops)
  return drops
}
