/**
 * The errors of a Live session, as one union.
 *
 * Every error is a `Schema.TaggedError` that records the `module` and `method` it came from and
 * says whether trying again can help (`retryable`). No error ever carries a secret: keys and
 * tokens are `Redacted` everywhere, and URLs are redacted before they reach a message.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { GeminiLive } from "effect-gemini-live"
 *
 * GeminiLive.connect().pipe(
 *   Effect.catchTags({
 *     SetupRejected: (e) => Effect.logError(`setup rejected: ${e.code} ${e.reason}`),
 *     ConnectError: (e) => Effect.logError(e.message)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category Errors
 */
export const TypeId: unique symbol = Symbol.for("effect-gemini-live/LiveError")

/**
 * @since 0.1.0
 * @category Errors
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category Guards
 */
export const isLiveError = (u: unknown): u is LiveError => Predicate.hasProperty(u, TypeId)

/**
 * Close codes after which a new connection may succeed: server errors, deadlines, abnormal drops,
 * restarts and "try again later". 1007 (invalid argument) and 1008 (policy / model not found) are not.
 *
 * @since 0.1.0
 * @category Constants
 */
export const isRetryableCloseCode = (code: number): boolean =>
  code === 1001 || code === 1005 || code === 1006 || code === 1011 || code === 1012 || code === 1013 ||
  code === 1014

/** The fields every error starts with: where it came from. */
const origin = { module: Schema.String, method: Schema.String }

/** The class an error extends: its Schema, and what the shared base adds to every instance. */
type LiveErrorBase<Self, Tag extends string, Fields extends Schema.Struct.Fields> =
  & Schema.TaggedErrorClass<Self, Tag, { readonly _tag: Schema.tag<Tag> } & typeof origin & Fields>
  & (new(...args: any[]) => { readonly [TypeId]: TypeId; get retryable(): boolean })

/**
 * The shared base: a `Schema.TaggedError` identified as `effect-gemini-live/<tag>`, with `module`
 * and `method` before the error's own fields, the `TypeId`, `retryable` false unless the error has
 * its own, and its `description` (when it has one) as its `message`.
 */
const LiveErrorBase = <Self>() =>
<const Tag extends string, Fields extends Schema.Struct.Fields>(tag: Tag, fields: Fields): LiveErrorBase<Self, Tag, Fields> => {
  class Base extends (Schema.TaggedError<Self>(`effect-gemini-live/${tag}`)(tag, { ...origin, ...fields }) as any) {
    readonly [TypeId] = TypeId
  }
  // Not where `retryable` is a field: the constructor's assignment would meet a getter without a setter.
  if (!("retryable" in fields)) {
    Object.defineProperty(Base.prototype, "retryable", { get: () => false, configurable: true })
  }
  if ("description" in fields) {
    Object.defineProperty(Base.prototype, "message", {
      get(this: { readonly description: string }) {
        return this.description
      },
      configurable: true
    })
  }
  return Base as any
}

/**
 * Bad parameters or configuration: `path` names the field (e.g. `httpOptions.timeout`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ConfigError extends LiveErrorBase<ConfigError>()("ConfigError", {
  path: Schema.String,
  description: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.path === "" ? this.description : `${this.path}: ${this.description}`
  }
}

/**
 * Credentials are missing, malformed or were refused.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AuthError extends LiveErrorBase<AuthError>()("AuthError", {
  description: Schema.String,
  retryable: Schema.Boolean
}) {}

/**
 * The WebSocket could not be opened: refused, timed out, or the upgrade was answered with an
 * HTTP status (`status`).
 *
 * @since 0.1.0
 * @category Errors
 */
export class ConnectError extends LiveErrorBase<ConnectError>()("ConnectError", {
  reason: Schema.Literal("Open", "Timeout", "HttpStatus"),
  status: Schema.optional(Schema.Number),
  description: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429
  }
}

/** 1008 (policy) is most often a model the backend or API version does not serve. */
const hintFor = (code: number): string =>
  code === 1008 ? " (is the model available on this backend and API version, and the credential allowed to use it?)" : ""

/**
 * The server closed the connection before `setupComplete`: `code` and `reason` are the close frame's
 * (1007: a bad setup field or key, 1008: unknown model or no permission, 1006: dropped).
 *
 * @since 0.1.0
 * @category Errors
 */
export class SetupRejected extends LiveErrorBase<SetupRejected>()("SetupRejected", {
  code: Schema.Number,
  reason: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get retryable(): boolean {
    return isRetryableCloseCode(this.code)
  }
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `setup rejected with close code ${this.code}: ${this.reason || "(no reason)"}${hintFor(this.code)}`
  }
}

/**
 * A frame from the server could not be decoded (not JSON, or not an object). The session keeps
 * going: the frame is reported as an `Unknown` event carrying this error.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ProtocolError extends LiveErrorBase<ProtocolError>()("ProtocolError", {
  description: Schema.String
}) {}

/**
 * The server (or the network) ended an established session with something other than a normal
 * close. `retryable` says whether a new connection may succeed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ServerClosed extends LiveErrorBase<ServerClosed>()("ServerClosed", {
  code: Schema.Number,
  reason: Schema.String,
  wasClean: Schema.Boolean
}) {
  /**
   * @since 0.1.0
   */
  override get retryable(): boolean {
    return isRetryableCloseCode(this.code)
  }
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `session closed by the server with code ${this.code}: ${this.reason || "(no reason)"}${hintFor(this.code)}`
  }
}

/**
 * A send was attempted on a session that is closed (or closing). Nothing was sent.
 *
 * @since 0.1.0
 * @category Errors
 */
export class SessionClosed extends LiveErrorBase<SessionClosed>()("SessionClosed", {
  code: Schema.Number,
  reason: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.method}: the session is closed (code ${this.code}${this.reason ? `: ${this.reason}` : ""})`
  }
}

/**
 * Audio that cannot be read or converted: an unsupported WAV file, an odd number of PCM16 bytes,
 * an unsupported format or sample rate. `description` says what is wrong.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AudioError extends LiveErrorBase<AudioError>()("AudioError", {
  description: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category Errors
 */
export type LiveError =
  | ConfigError
  | AuthError
  | ConnectError
  | SetupRejected
  | ProtocolError
  | ServerClosed
  | SessionClosed
  | AudioError

/**
 * @since 0.1.0
 * @category Schemas
 */
export const LiveError: Schema.Union<[
  typeof ConfigError,
  typeof AuthError,
  typeof ConnectError,
  typeof SetupRejected,
  typeof ProtocolError,
  typeof ServerClosed,
  typeof SessionClosed,
  typeof AudioError
]> = Schema.Union(
  ConfigError,
  AuthError,
  ConnectError,
  SetupRejected,
  ProtocolError,
  ServerClosed,
  SessionClosed,
  AudioError
)
