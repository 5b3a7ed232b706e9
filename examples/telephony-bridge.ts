/**
 * A phone line bridged to a Live session: 8 kHz G.711 mu-law in 20 ms frames both ways, as a
 * telephony platform (VoxEngine, a SIP gateway, a media-stream webhook) delivers and expects them.
 *
 * The call is simulated so that the example runs anywhere: the caller "speaks" (a tone, then
 * silence) in 160-byte mu-law frames at real time, and what the model says is "played" to the
 * caller at real time, frame by frame. With GEMINI_API_KEY set it talks to the Gemini API;
 * without, to the embedded emulator, paced like the real service.
 *
 * Three parts, one scope: caller -> model (the line's media callback pushing into
 * `session.audioInput`), model -> caller (`session.audioAs`), and the conversation's events
 * (`session.runForEach`: transcripts, barge-in, the end of the model's speech).
 */
import { Console, Effect, Layer, Schedule, Stream } from "effect"
import { Audio, GeminiLive } from "effect-gemini-live"
import { LiveEmulator } from "effect-gemini-live/testing"

const PHONE = Audio.MULAW_8K
const frameBytes = Audio.bytesFor(PHONE, 20) // 160 bytes: 20 ms of 8 kHz mu-law

/**
 * The phone line, as a telephony platform presents it: it calls `onMedia` with each 20 ms frame
 * as it arrives (1.2 s of "speech", then 0.8 s of silence, at real time), then `onEnd`.
 */
const answerCall = (onMedia: (frame: Uint8Array) => void, onEnd: () => void) => {
  const pcm = new Int16Array(8000 * 2)
  for (let i = 0; i < 8000 * 1.2; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / 8000))
  const mulaw = Audio.mulawEncode(new Uint8Array(pcm.buffer))
  let offset = 0
  const timer = setInterval(() => {
    onMedia(mulaw.subarray(offset, offset + frameBytes))
    offset += frameBytes
    if (offset < mulaw.length) return
    clearInterval(timer)
    onEnd()
  }, 20)
  return { hangUp: () => clearInterval(timer) }
}

const call = Effect.gen(function*() {
  const session = yield* GeminiLive.connect()
  yield* Console.log(`call bridged to ${session.setup.model}`)
  let played = 0

  // Caller -> model: each mu-law frame the line hands over is converted to 16 kHz PCM and written
  // in the line's own callback (no queue between them); a stalled connection keeps the newest
  // second of audio, as a live call must, then `end` sends the rest.
  const input = yield* session.audioInput({ format: PHONE, frameMillis: 20 })
  const uplink = Effect.async<void>((resume) => {
    const line = answerCall((frame) => input.unsafeOffer(frame), () => resume(Effect.void))
    return Effect.sync(line.hangUp)
  }).pipe(
    Effect.zipRight(input.end),
    Effect.tap((sent) => Console.log(`caller: ${sent.durationMillis} ms of audio sent in ${sent.framesSent} frames`))
  )

  // Model -> caller: 24 kHz PCM converted to mu-law, played in 20 ms frames at real time.
  const downlink = session.audioAs(PHONE).pipe(
    Stream.mapConcat((bytes) => Array.from({ length: Math.ceil(bytes.length / frameBytes) }, (_, i) => bytes.subarray(i * frameBytes, (i + 1) * frameBytes))),
    Stream.schedule(Schedule.spaced("20 millis")),
    Stream.runForEach((frame) => Effect.sync(() => (played += frame.length)))
  )

  // The conversation: transcripts, barge-in, and hanging up once the model has finished speaking.
  // Plain bookkeeping happens in the handler itself; what has effects is given back as an Effect.
  let transcript = ""
  const conversation = session.runForEach((event) => {
    switch (event._tag) {
      case "InputTranscription":
        return Console.log(`caller said: ${event.text}`)
      case "OutputTranscription":
        transcript += event.text
        return
      case "GenerationComplete":
        return Console.log(`model said: ${transcript}`)
      case "Interrupted":
        return Console.log("caller barged in: unplayed model audio dropped")
      case "MediaStarted":
        return Console.log("model started speaking")
      case "MediaEnded":
        return Console.log(`model stopped speaking after ${event.durationMillis} ms of audio`).pipe(
          Effect.zipRight(session.close())
        )
    }
  })

  yield* Effect.all([uplink, downlink, conversation], { concurrency: "unbounded", discard: true })
  yield* Console.log(`played to the caller: ${played} bytes of mu-law (${played / 8} ms)`)
}).pipe(Effect.scoped)

const connectConfig = { responseModalities: ["AUDIO"], inputAudioTranscription: {}, outputAudioTranscription: {} }

const Live = process.env.GEMINI_API_KEY !== undefined || process.env.GOOGLE_API_KEY !== undefined
  ? GeminiLive.layerConfig({ connectConfig })
  : Layer.unwrapScoped(Effect.gen(function*() {
    const emulator = yield* LiveEmulator.make({ realtime: true })
    yield* Console.log(`no GEMINI_API_KEY: the call goes to the embedded emulator at ${emulator.url}`)
    return GeminiLive.layer({ apiKey: "emulator", connectConfig, httpOptions: { baseUrl: emulator.url } })
  }))

call.pipe(
  Effect.provide(Live),
  Effect.tapErrorCause(Effect.logError),
  Effect.runPromise
).catch(() => {
  process.exitCode = 1
})
