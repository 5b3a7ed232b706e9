/** WAV bytes: reading RIFF/WAVE (and RF64) files of the supported formats, and writing them. */
import * as Either from "effect/Either"
import type { Encoding, Format, Wav } from "../../Audio.js"
import { AudioError } from "../../LiveError.js"
import { bytesPerSample, isSampleRate, make, SAMPLE_RATES } from "./format.js"

const WAVE_FORMAT_PCM = 1
const WAVE_FORMAT_IEEE_FLOAT = 3
const WAVE_FORMAT_ALAW = 6
const WAVE_FORMAT_MULAW = 7
const WAVE_FORMAT_EXTENSIBLE = 0xfffe
/** The bytes 2 .. 16 of every KSDATAFORMAT_SUBTYPE GUID of a WAVE format code. */
const SUBTYPE_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]
const SUPPORTED = "only 16-bit PCM, 8-bit mu-law and 8-bit A-law are supported"

/** An `AudioError` of module `Audio`. */
export const wavError = (method: string, description: string) => new AudioError({ module: "Audio", method, description })

const fourcc = (bytes: Uint8Array, offset: number): string =>
  String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3])

/** The format of a `fmt ` chunk's payload, or what is wrong with it. */
const parseFmt = (view: DataView, offset: number, size: number): Either.Either<Format, string> => {
  if (size < 16) return Either.left(`fmt chunk of ${size} bytes: expected at least 16`)
  let code = view.getUint16(offset, true)
  const channels = view.getUint16(offset + 2, true)
  const rate = view.getUint32(offset + 4, true)
  const bits = view.getUint16(offset + 14, true)
  if (code === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40) return Either.left(`WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes: expected at least 40`)
    code = view.getUint16(offset + 24, true)
    for (let i = 0; i < SUBTYPE_GUID_TAIL.length; i++) {
      if (view.getUint8(offset + 26 + i) !== SUBTYPE_GUID_TAIL[i]) {
        return Either.left(`unknown WAVE_FORMAT_EXTENSIBLE subformat: ${SUPPORTED}`)
      }
    }
  }
  if (channels !== 1) return Either.left(`${channels} channels: only mono is supported`)
  let encoding: Encoding
  switch (code) {
    case WAVE_FORMAT_PCM:
      if (bits !== 16) return Either.left(`${bits}-bit PCM: ${SUPPORTED}`)
      encoding = "pcm16"
      break
    case WAVE_FORMAT_IEEE_FLOAT:
      return Either.left(`${bits}-bit float: ${SUPPORTED}`)
    case WAVE_FORMAT_ALAW:
      if (bits !== 8) return Either.left(`${bits}-bit A-law: ${SUPPORTED}`)
      encoding = "alaw"
      break
    case WAVE_FORMAT_MULAW:
      if (bits !== 8) return Either.left(`${bits}-bit mu-law: ${SUPPORTED}`)
      encoding = "mulaw"
      break
    default:
      return Either.left(`WAV format ${code}: ${SUPPORTED}`)
  }
  if (!isSampleRate(rate)) return Either.left(`${rate} Hz: supported rates are ${SAMPLE_RATES.join(", ")}`)
  return Either.right(make(encoding, rate))
}

export const read = (bytes: Uint8Array): Either.Either<Wav, AudioError> => {
  const fail = (description: string) => Either.left(wavError("readWav", description))
  if (bytes.length < 12 || (fourcc(bytes, 0) !== "RIFF" && fourcc(bytes, 0) !== "RF64") || fourcc(bytes, 8) !== "WAVE") {
    return fail("not a WAV file: no RIFF/WAVE header")
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let format: Format | undefined
  let data: Uint8Array | undefined
  let offset = 12
  while (offset + 8 <= bytes.length && (format === undefined || data === undefined)) {
    const id = fourcc(bytes, offset)
    const declared = view.getUint32(offset + 4, true)
    const body = offset + 8
    const size = Math.min(declared, bytes.length - body)
    if (id === "fmt " && format === undefined) {
      const parsed = parseFmt(view, body, size)
      if (Either.isLeft(parsed)) return fail(parsed.left)
      format = parsed.right
    } else if (id === "data" && data === undefined) {
      data = bytes.subarray(body, body + size)
    }
    offset = body + declared + (declared & 1)
  }
  if (format === undefined) return fail("no fmt chunk")
  if (data === undefined) return fail("no data chunk")
  return Either.right({ format, data: data.subarray(0, data.length - (data.length % bytesPerSample(format))) })
}

export const write = (format: Format, data: Uint8Array): Uint8Array => {
  const width = bytesPerSample(format)
  const size = data.length - (data.length % width)
  const pad = size & 1
  const out = new Uint8Array(44 + size + pad)
  const view = new DataView(out.buffer)
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i)
  }
  ascii(0, "RIFF")
  view.setUint32(4, 36 + size + pad, true)
  ascii(8, "WAVE")
  ascii(12, "fmt ")
  view.setUint32(16, 16, true)
  view.setUint16(
    20,
    format.encoding === "pcm16" ? WAVE_FORMAT_PCM : format.encoding === "mulaw" ? WAVE_FORMAT_MULAW : WAVE_FORMAT_ALAW,
    true
  )
  view.setUint16(22, 1, true)
  view.setUint32(24, format.sampleRate, true)
  view.setUint32(28, format.sampleRate * width, true)
  view.setUint16(32, width, true)
  view.setUint16(34, width * 8, true)
  ascii(36, "data")
  view.setUint32(40, size, true)
  out.set(size === data.length ? data : data.subarray(0, size), 44)
  return out
}
