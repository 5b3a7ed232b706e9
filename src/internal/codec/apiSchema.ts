/**
 * Function declarations as the service wants them: JSON-Schema-style `parameters` and `response`
 * (`type: "object"`, `["string", "null"]`, `anyOf` with a null branch) rewritten into the API's
 * Schema form (`OBJECT`, `STRING` + `nullable`, ...), exactly as `@google/genai` 3.3 rewrites them
 * (`tTool` / `processJsonSchema`), so that code ported from it is not refused by the server. A schema
 * with `$schema` moves to `parametersJsonSchema` / `responseJsonSchema`, sent as given. New objects
 * are made: the caller's are never changed.
 */
import * as Either from "effect/Either"

const apiTypes: ReadonlySet<string> = new Set(["TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"])

type Json = Record<string, unknown>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** Thrown inside the conversion, caught at its entry: the path and what is wrong. */
class Invalid {
  constructor(readonly path: string, readonly description: string) {}
}

const apiType = (type: unknown, path: string): string => {
  if (typeof type !== "string") throw new Invalid(path, "a type must be a string")
  const upper = type.toUpperCase()
  return apiTypes.has(upper) ? upper : "TYPE_UNSPECIFIED"
}

/** `type: [a, b]`: `nullable` for "null", then one type, or an `anyOf` of the others. */
const flattenTypes = (types: ReadonlyArray<unknown>, result: Json, path: string): void => {
  if (types.includes("null")) result.nullable = true
  const rest = types.filter((type) => type !== "null")
  if (rest.length === 1) result.type = apiType(rest[0], path)
  else result.anyOf = rest.map((type) => ({ type: apiType(type, path) }))
}

const convert = (input: unknown, path: string): Json => {
  // A boolean schema (`true`: anything) has no fields: Google's SDK makes it `{}`.
  if (typeof input === "boolean") return {}
  if (!isObject(input)) throw new Invalid(path, "a schema must be an object")
  const result: Json = {}
  if (input.type && input.anyOf) throw new Invalid(path, "type and anyOf cannot be both populated")
  let schema = input
  // `anyOf: [X, {type: "null"}]` (either order) is a nullable X.
  const anyOf = schema.anyOf
  if (Array.isArray(anyOf) && anyOf.length === 2) {
    if (isObject(anyOf[0]) && anyOf[0].type === "null" && isObject(anyOf[1])) {
      result.nullable = true
      schema = anyOf[1]
    } else if (isObject(anyOf[1]) && anyOf[1].type === "null" && isObject(anyOf[0])) {
      result.nullable = true
      schema = anyOf[0]
    }
  }
  if (Array.isArray(schema.type)) flattenTypes(schema.type, result, `${path}.type`)
  for (const [name, value] of Object.entries(schema)) {
    if (value === null || value === undefined) continue
    if (name === "type") {
      if (value === "null") throw new Invalid(`${path}.type`, "type: null can not be the only possible type for the field")
      if (!Array.isArray(value)) result.type = apiType(value, `${path}.type`)
    } else if (name === "items") {
      result.items = convert(value, `${path}.items`)
    } else if (name === "anyOf") {
      if (!Array.isArray(value)) throw new Invalid(`${path}.anyOf`, "anyOf must be a list")
      const branches: Array<Json> = []
      value.forEach((branch, i) => {
        if (isObject(branch) && branch.type === "null") result.nullable = true
        else branches.push(convert(branch, `${path}.anyOf[${i}]`))
      })
      result.anyOf = branches
    } else if (name === "properties") {
      if (!isObject(value)) throw new Invalid(`${path}.properties`, "properties must be an object")
      const properties: Json = {}
      for (const [key, property] of Object.entries(value)) properties[key] = convert(property, `${path}.properties.${key}`)
      result.properties = properties
    } else if (name !== "additionalProperties") {
      result[name] = value
    }
  }
  return result
}

/** One declaration's `parameters` or `response` (`field`), and where a `$schema` one goes (`jsonField`). */
const convertField = (declaration: Json, field: string, jsonField: string, path: string): Json => {
  const schema = declaration[field]
  if (!schema) return declaration
  if (isObject(schema) && Object.keys(schema).includes("$schema")) {
    if (declaration[jsonField]) return declaration
    const { [field]: _, ...rest } = declaration
    return { ...rest, [jsonField]: schema }
  }
  return { ...declaration, [field]: convert(schema, `${path}.${field}`) }
}

/**
 * `tools` with each function declaration's `parameters` and `response` in the API's form; the
 * first invalid schema, as a path and a description, on the left. Tools without function
 * declarations are kept as they are (the same objects).
 */
export const toApiTools = (
  tools: ReadonlyArray<Readonly<Record<string, unknown>>>,
  path: string
): Either.Either<ReadonlyArray<Readonly<Record<string, unknown>>>, { readonly path: string; readonly description: string }> => {
  try {
    return Either.right(tools.map((tool, i) => {
      if (!isObject(tool)) throw new Invalid(`${path}[${i}]`, "a tool must be an object")
      const declarations = tool.functionDeclarations
      if (!Array.isArray(declarations)) return tool
      return {
        ...tool,
        functionDeclarations: declarations.map((declaration, j) => {
          if (!isObject(declaration)) return declaration
          const at = `${path}[${i}].functionDeclarations[${j}]`
          return convertField(convertField(declaration, "parameters", "parametersJsonSchema", at), "response", "responseJsonSchema", at)
        })
      }
    }))
  } catch (error) {
    if (error instanceof Invalid) return Either.left({ path: error.path, description: error.description })
    throw error
  }
}
