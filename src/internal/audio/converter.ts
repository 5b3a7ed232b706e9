/** The converter between two formats (G.711 decode, resample, G.711 encode) and its Stream operator. */
import { dual } from "effect/Function"
import * as Stream from "effect/Stream"
import type { Converter, Encoding, Format } from "../../Audio.js"
import { equals } from "./format.js"
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from "./g711.js"
import * as Resampler from "./resampler.js"

const decoder = (encoding: Encoding): ((bytes: Uint8Array) => Uint8Array) | undefined =>
  encoding === "mulaw" ? mulawDecode : encoding === "alaw" ? alawDecode : undefined

const encoder = (encoding: Encoding): ((bytes: Uint8Array) => Uint8Array) | undefined =>
  encoding === "mulaw" ? mulawEncode : encoding === "alaw" ? alawEncode : undefined

export const make = (from: Format, to: Format): Converter => {
  if (equals(from, to) && from.encoding !== "pcm16") {
    return { from, to, push: (chunk) => chunk, flush: () => new Uint8Array(0) }
  }
  const decode = decoder(from.encoding)
  const encode = encoder(to.encoding)
  const resampler = Resampler.make(from.sampleRate, to.sampleRate)
  const output = (pcm: Uint8Array) => encode === undefined ? pcm : encode(pcm)
  return {
    from,
    to,
    push: (chunk) => output(resampler.push(decode === undefined ? chunk : decode(chunk))),
    flush: () => output(resampler.flush())
  }
}

export const convert: {
  (from: Format, to: Format): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Uint8Array, E, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, from: Format, to: Format): Stream.Stream<Uint8Array, E, R>
} = dual(
  3,
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, from: Format, to: Format): Stream.Stream<Uint8Array, E, R> =>
    Stream.suspend(() => {
      const converter = make(from, to)
      return self.pipe(
        Stream.map((chunk) => converter.push(chunk)),
        Stream.concat(Stream.sync(() => converter.flush())),
        Stream.filter((chunk) => chunk.length > 0)
      )
    })
)
