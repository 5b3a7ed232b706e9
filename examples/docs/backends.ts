// The ts blocks of docs/backends.md and the README's "Backends and auth", type-checked, not run
// (test/readme.test.ts finds each block here).
import { type Effect, Layer } from "effect"
import { Auth, Backend, GeminiLive } from "effect-gemini-live"
import * as fs from "node:fs"

/** The application's token source. */
declare const myTokenEffect: Effect.Effect<Auth.AccessToken>

export const layers = () => {
  // Vertex AI with a service account key file's content (VoxEngine's `credentials`)
  const Vertex = GeminiLive.layer({
    backend: Backend.VERTEX_AI, project: "my-project", location: "us-central1",
    model: "gemini-live-2.5-flash-native-audio", credentials: fs.readFileSync("key.json", "utf8")
  })
  // ... or any token source
  const Vertex2 = GeminiLive.layer({ backend: Backend.VERTEX_AI, project: "my-project" })
    .pipe(Layer.provide(Auth.accessToken(myTokenEffect)))
  return { Vertex, Vertex2 }
}
