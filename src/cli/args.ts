/**
 * The command line's grammar: `node:util` `parseArgs` per command, values checked and turned into
 * a `Command`, or a `UsageError` saying what is wrong. Pure: nothing runs here.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { parseArgs, type ParseArgsConfig } from "node:util"
import * as Audio from "../Audio.js"
import * as Backend from "../Backend.js"
import * as GeminiLive from "../GeminiLive.js"
import type { EmulatorOptions } from "./emulator.js"
import { host as emulatorHost } from "./emulator.js"
import { type Topic, UsageError } from "./errors.js"
import type { TalkOptions } from "./talk.js"

/**
 * What to run.
 *
 * @since 0.1.0
 * @category Models
 */
export type Command =
  | { readonly _tag: "Help"; readonly topic: Topic }
  | { readonly _tag: "Talk"; readonly options: TalkOptions }
  | { readonly _tag: "Emulator"; readonly options: EmulatorOptions }

const defaultTimeoutSeconds = 30

const mainUsage = `gemini-live: talk to the Gemini Live API, or run its offline emulator

Usage:
  gemini-live talk --in question.wav --out answer.wav [options]
  gemini-live talk --text "Hello!" --out answer.wav [options]
  gemini-live emulator [--port N] [--host 127.0.0.1] [--realtime]
  gemini-live help [talk | emulator]

Commands:
  talk       send a spoken (WAV) and/or text turn, print the transcripts, save the spoken reply
  emulator   run the offline Live API emulator as a server until Ctrl-C

Exit codes: 0 success, 1 failure, 2 misuse of the command line.`

const talkUsage = `Usage: gemini-live talk (--in FILE | --text TEXT) [--out FILE] [options]

Sends one turn (or two: --text first, then --in), prints the transcripts ("you: ...",
"model: ..."), the progress and a summary, and writes the model's spoken reply to --out.

Options:
  --in FILE            the question: a mono WAV file (16-bit PCM, mu-law or A-law;
                       8, 16, 24 or 48 kHz), streamed then ended with audioStreamEnd
  --text TEXT          a text turn
  --out FILE           where to write the reply (WAV); without it the reply is not saved
  --out-format FORMAT  pcm16 (default), mulaw or alaw
  --out-rate HZ        8000, 16000, 24000 or 48000 (default: 24000 for pcm16,
                       8000 for mulaw and alaw)
  --backend BACKEND    GeminiAPI (default) or VertexAI
  --model MODEL        default ${GeminiLive.defaultModel}
  --realtime           send the audio at real time (default: as fast as possible);
                       the embedded emulator then replies at speaking speed
  --emulator           use the embedded emulator even with credentials in the environment
  --timeout SECONDS    give up when the server says nothing for this long after the
                       input was sent (default ${defaultTimeoutSeconds})
  -h, --help           this help

Credentials come from the environment, as Google's SDK reads them:
  Gemini API   GEMINI_API_KEY or GOOGLE_API_KEY (GOOGLE_GEMINI_BASE_URL: another endpoint)
  Vertex AI    GOOGLE_CLOUD_PROJECT and GOOGLE_APPLICATION_CREDENTIALS (a key file),
               GOOGLE_CLOUD_LOCATION (default global); GOOGLE_GENAI_USE_VERTEXAI=true
               makes VertexAI the default backend
Without them, talk starts an emulator inside the process (127.0.0.1, no network).

Examples:
  gemini-live talk --in question.wav --out answer.wav
  gemini-live talk --in call.wav --out reply.wav --out-format mulaw --realtime
  gemini-live talk --text "Tell me a joke" --out joke.wav --backend VertexAI`

const emulatorUsage = `Usage: gemini-live emulator [--port N] [--host 127.0.0.1] [--realtime]

Runs the Live API emulator (Gemini API and Vertex AI endpoints) as a standalone server
until Ctrl-C or SIGTERM, and prints its URL and how to point clients at it.

Options:
  --port N      the port (default 0: any free port)
  --host HOST   only ${emulatorHost} is supported (the emulator listens on loopback only)
  --realtime    pace replies at speaking speed (barge-in becomes possible)
  -h, --help    this help

Example:
  gemini-live emulator --port 8765
  # then, in another program:
  #   new GoogleGenAI({ apiKey: "any", httpOptions: { baseUrl: "http://127.0.0.1:8765" } })`

/**
 * The usage text of a topic.
 *
 * @since 0.1.0
 * @category Utils
 */
export const usage = (topic: Topic): string =>
  topic === "talk" ? talkUsage : topic === "emulator" ? emulatorUsage : mainUsage

const talkSpec = {
  in: { type: "string" },
  text: { type: "string" },
  out: { type: "string" },
  "out-format": { type: "string" },
  "out-rate": { type: "string" },
  backend: { type: "string" },
  model: { type: "string" },
  realtime: { type: "boolean" },
  emulator: { type: "boolean" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" }
} as const

const emulatorSpec = {
  port: { type: "string" },
  host: { type: "string" },
  realtime: { type: "boolean" },
  help: { type: "boolean", short: "h" }
} as const

/** `parseArgs`' complaint, said shortly (its codes are stable, its wording is not). */
const parseFailure = (error: unknown, topic: Topic): UsageError => {
  const code = (error as { code?: unknown }).code
  const message = error instanceof Error ? error.message : String(error)
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? ""
  const option = quoted.split(" ")[0]
  const text = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
    ? `unknown option ${option}`
    : code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL"
    ? `unexpected argument ${quoted}`
    : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && message.includes("argument missing")
    ? `${option} needs a value`
    : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && message.includes("ambiguous")
    ? `${option} needs a value (for a value starting with "-", write ${option}=VALUE)`
    : code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && message.includes("does not take an argument")
    ? `${option} takes no value`
    : message
  return new UsageError({ message: text, topic })
}

const parseWith = <const Spec extends NonNullable<ParseArgsConfig["options"]>>(
  args: ReadonlyArray<string>,
  options: Spec,
  topic: Topic
) =>
  Either.try({
    try: () => parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values,
    catch: (error) => parseFailure(error, topic)
  })

const usageError = (topic: Topic) => (message: string) => Either.left(new UsageError({ message, topic }))

const parseBackend = (value: string | undefined): Either.Either<Backend.Kind | undefined, UsageError> => {
  if (value === undefined) return Either.right(undefined)
  const lower = value.toLowerCase()
  if (lower === "geminiapi") return Either.right(Backend.GEMINI_API)
  if (lower === "vertexai") return Either.right(Backend.VERTEX_AI)
  return usageError("talk")(`--backend must be GeminiAPI or VertexAI, not ${value}`)
}

const parseOutputFormat = (
  encoding: string | undefined,
  rate: string | undefined
): Either.Either<Audio.Format, UsageError> => {
  const fail = usageError("talk")
  if (encoding !== undefined && encoding !== "pcm16" && encoding !== "mulaw" && encoding !== "alaw") {
    return fail(`--out-format must be pcm16, mulaw or alaw, not ${encoding}`)
  }
  const chosen: Audio.Encoding = encoding ?? "pcm16"
  if (rate === undefined) return Either.right(Audio.make(chosen, chosen === "pcm16" ? 24000 : 8000))
  const hz = Number(rate)
  if (!Audio.isSampleRate(hz)) return fail(`--out-rate must be one of ${Audio.SAMPLE_RATES.join(", ")}, not ${rate}`)
  return Either.right(Audio.make(chosen, hz))
}

const parseTimeout = (value: string | undefined): Either.Either<Duration.Duration, UsageError> => {
  if (value === undefined) return Either.right(Duration.seconds(defaultTimeoutSeconds))
  const seconds = Number(value)
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    return usageError("talk")(`--timeout must be a positive number of seconds, not ${value}`)
  }
  return Either.right(Duration.millis(Math.round(seconds * 1000)))
}

const parseTalk = (args: ReadonlyArray<string>): Either.Either<Command, UsageError> =>
  Either.gen(function*() {
    const values = yield* parseWith(args, talkSpec, "talk")
    if (values.help === true) return { _tag: "Help", topic: "talk" } as const
    if (values.in === undefined && values.text === undefined) {
      return yield* usageError("talk")("talk needs --in FILE or --text TEXT (or both)")
    }
    if (values.text !== undefined && values.text.trim() === "") return yield* usageError("talk")("--text is empty")
    const options: TalkOptions = {
      input: values.in,
      text: values.text,
      output: values.out,
      outputFormat: yield* parseOutputFormat(values["out-format"], values["out-rate"]),
      backend: yield* parseBackend(values.backend),
      model: values.model,
      realtime: values.realtime === true,
      emulator: values.emulator === true,
      timeout: yield* parseTimeout(values.timeout)
    }
    return { _tag: "Talk", options } as const
  })

const parseEmulator = (args: ReadonlyArray<string>): Either.Either<Command, UsageError> =>
  Either.gen(function*() {
    const values = yield* parseWith(args, emulatorSpec, "emulator")
    if (values.help === true) return { _tag: "Help", topic: "emulator" } as const
    const fail = usageError("emulator")
    const port = values.port === undefined ? 0 : Number(values.port)
    if (values.port !== undefined && (!/^\d+$/.test(values.port) || port > 65535)) {
      return yield* fail(`--port must be a whole number from 0 to 65535, not ${values.port}`)
    }
    if (values.host !== undefined && values.host !== emulatorHost && values.host !== "localhost") {
      return yield* fail(`--host: the emulator listens on ${emulatorHost} only, not ${values.host}`)
    }
    return { _tag: "Emulator", options: { port, realtime: values.realtime === true } } as const
  })

/**
 * Parses the arguments after the program name: `talk ...`, `emulator ...`, `help [command]`,
 * `--help`. No arguments, an unknown command or a bad option is a `UsageError`.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const parse = (args: ReadonlyArray<string>): Either.Either<Command, UsageError> => {
  const [command, ...rest] = args
  switch (command) {
    case undefined:
      return usageError("main")("no command given")
    case "-h":
    case "--help":
      return Either.right({ _tag: "Help", topic: "main" })
    case "help": {
      const [topic, ...extra] = rest
      if (extra.length > 0) return usageError("main")(`unexpected argument ${extra[0]}`)
      if (topic === undefined) return Either.right({ _tag: "Help", topic: "main" })
      if (topic === "talk" || topic === "emulator") return Either.right({ _tag: "Help", topic })
      return usageError("main")(`unknown command ${topic}`)
    }
    case "talk":
      return parseTalk(rest)
    case "emulator":
      return parseEmulator(rest)
    default:
      return usageError("main")(command.startsWith("-") ? `unknown option ${command}` : `unknown command ${command}`)
  }
}
