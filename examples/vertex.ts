/**
 * Vertex AI: the quickstart's conversation on the other backend, with tokens from your own source.
 *
 * With GOOGLE_CLOUD_PROJECT set it talks to Vertex AI, taking OAuth2 tokens from google-auth-library
 * (application default credentials: `gcloud auth application-default login`, the metadata server
 * on Google Cloud, or GOOGLE_APPLICATION_CREDENTIALS) through `Auth.accessToken`. Without, it talks
 * to the embedded emulator's Vertex AI mode with a stand-in token. Only the layers differ.
 *
 * (With a key file's content in hand, `GeminiLive.layer({ backend: Backend.VERTEX_AI, project,
 * location, credentials })` does the token flow itself, with no extra library.)
 */
import { Console, Effect, Layer, Redacted, Stream } from "effect"
import { Auth, Backend, GeminiLive, LiveError, LiveEvent } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"
import { GoogleAuth } from "google-auth-library"

const conversation = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  yield* Console.log(`connected to ${session.setup.model} (server session ${session.sessionId})`)
  yield* session.sendClientContent({ turns: "Hello from Vertex AI!" })
  let transcript = ""
  yield* session.events.pipe(
    Stream.takeUntil(LiveEvent.is("TurnComplete")),
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "AudioDelta":
          return Console.log(`  audio: ${event.data.byteLength} bytes`)
        case "OutputTranscription":
          return Effect.sync(() => (transcript += event.text))
        case "GenerationComplete":
          return Console.log(`model: ${transcript}`)
        case "UsageMetadata":
          return Console.log(`usage: ${event.usage.responseTokenCount} response tokens`)
        default:
          return Effect.void
      }
    })
  )
  const closed = yield* session.close()
  yield* Console.log(`closed: ${closed.code}`)
}).pipe(Effect.scoped)

/** OAuth2 tokens from google-auth-library's application default credentials (it caches them itself). */
const googleAuth = (): Layer.Layer<Auth.Auth> => {
  const google = new GoogleAuth({ scopes: "https://www.googleapis.com/auth/cloud-platform" })
  return Auth.accessToken(Effect.tryPromise({
    try: async () => {
      const token = await google.getAccessToken()
      if (!token) throw new Error("no access token")
      return Redacted.make(token)
    },
    catch: (error) =>
      new LiveError.AuthError({ module: "example", method: "googleAuth", description: String(error), retryable: true })
  }))
}

const parameters = {
  backend: Backend.VERTEX_AI,
  location: process.env.GOOGLE_CLOUD_LOCATION ?? "us-central1",
  connectConfig: { outputAudioTranscription: {} }
}

const project = process.env.GOOGLE_CLOUD_PROJECT

const Live = project !== undefined
  ? GeminiLive.layer({ ...parameters, project }).pipe(Layer.provide(googleAuth()))
  : Layer.unwrapScoped(Effect.gen(function*() {
    const emulator = yield* LiveEmulator.make({ isValidAccessToken: (token) => token === "stand-in-token" })
    yield* Console.log(`no GOOGLE_CLOUD_PROJECT: using the embedded emulator (Vertex AI mode) at ${emulator.url}`)
    const standIn = Auth.accessToken(Effect.succeed({ token: Redacted.make("stand-in-token"), expiresAt: Date.now() + 3_600_000 }))
    return GeminiLive.layer({ ...parameters, project: "example-project", httpOptions: { baseUrl: emulator.url } }).pipe(
      Layer.provide(standIn)
    )
  }))

conversation.pipe(
  Effect.provide(Live),
  Effect.tapErrorCause(Effect.logError),
  Effect.runPromise
).catch(() => {
  process.exitCode = 1
})
