/**
 * 16-bit little-endian mono PCM, as the Live API carries it: decoding the client's audio (any
 * `rate=`, brought to 16 kHz), and the bytes of the audio the session keeps and sends.
 */

/** The rate of input audio the emulator works in. */
export const inputSampleRate = 16000

/** The rate of the audio the model speaks. */
export const outputSampleRate = 24000

/** The sample rate of an `audio/pcm` MIME type (`audio/pcm;rate=24000`); 16 kHz when it has none. */
export const pcmSampleRate = (mimeType: string): number | undefined => {
  const [type, ...parameters] = mimeType.split(";").map((part) => part.trim().toLowerCase())
  if (type !== "audio/pcm" && type !== "audio/l16") return undefined
  for (const parameter of parameters) {
    const match = /^rate=(\d+)$/.exec(parameter)
    if (match !== null) return Number(match[1]) > 0 ? Number(match[1]) : undefined
  }
  return inputSampleRate
}

/** Decodes base64 PCM16 LE into samples (a trailing odd byte is dropped). */
export const decodeBase64Pcm = (data: string): Int16Array => {
  const bytes = Buffer.from(data, "base64")
  const samples = new Int16Array(bytes.length >> 1)
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2)
  return samples
}

/** Linear-interpolation resampling (the emulator needs timing and energy, not fidelity). */
export const resample = (samples: Int16Array, fromRate: number, toRate: number): Int16Array => {
  if (fromRate === toRate || samples.length === 0) return samples
  const length = Math.max(1, Math.round((samples.length * toRate) / fromRate))
  const out = new Int16Array(length)
  const step = fromRate / toRate
  for (let i = 0; i < length; i++) {
    const position = i * step
    const index = Math.floor(position)
    const next = Math.min(index + 1, samples.length - 1)
    const fraction = position - index
    out[i] = Math.round(samples[Math.min(index, samples.length - 1)] * (1 - fraction) + samples[next] * fraction)
  }
  return out
}

/** Joins chunks of samples (`length` is their total). */
export const concatSamples = (chunks: ReadonlyArray<Int16Array>, length: number): Int16Array => {
  const out = new Int16Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** The little-endian bytes of samples. */
export const toBytes = (samples: Int16Array): Uint8Array => {
  const bytes = Buffer.alloc(samples.length * 2)
  for (let i = 0; i < samples.length; i++) bytes.writeInt16LE(samples[i], i * 2)
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

/** Base64 of a byte range, without copying it. */
export const toBase64 = (bytes: Uint8Array, start: number, end: number): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("base64")
