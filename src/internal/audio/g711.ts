/**
 * G.711 mu-law and A-law, table-driven and bit-exact with ITU-T G.191 (its reference software).
 * G.191 takes negative samples in one's complement, so mu-law depends only on `x >> 2` (14 bits)
 * and A-law only on `x >> 4` (12 bits): the encoding tables are 16 KiB and 4 KiB.
 */
import { int16At, int16View, writeInt16 } from "./pcm16.js"

const mulawEncodeTable = /* @__PURE__ */ (() => {
  const table = new Uint8Array(1 << 14)
  for (let index = 0; index < 1 << 14; index++) {
    const x = (index << 18) >> 16 // a sample whose `>> 2` is the signed 14-bit index
    let absno = (x < 0 ? (~x) >> 2 : x >> 2) + 33
    if (absno > 0x1fff) absno = 0x1fff
    let segno = 1
    for (let i = absno >> 6; i !== 0; i >>= 1) segno++
    const high = 0x8 - segno
    const low = 0xf - ((absno >> segno) & 0xf)
    table[index] = ((high << 4) | low) | (x >= 0 ? 0x80 : 0)
  }
  return table
})()

const mulawDecodeTable = /* @__PURE__ */ (() => {
  const table = new Int16Array(256)
  for (let code = 0; code < 256; code++) {
    const sign = code < 0x80 ? -1 : 1
    const complement = ~code
    const exponent = (complement >> 4) & 0x7
    const mantissa = complement & 0xf
    const step = 4 << (exponent + 1)
    table[code] = sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)
  }
  return table
})()

const alawEncodeTable = /* @__PURE__ */ (() => {
  const table = new Uint8Array(1 << 12)
  for (let index = 0; index < 1 << 12; index++) {
    const x = (index << 20) >> 16 // a sample whose `>> 4` is the signed 12-bit index
    let ix = x < 0 ? (~x) >> 4 : x >> 4
    if (ix > 15) {
      let exponent = 1
      while (ix > 16 + 15) {
        ix >>= 1
        exponent++
      }
      ix -= 16
      ix += exponent << 4
    }
    if (x >= 0) ix |= 0x80
    table[index] = ix ^ 0x55
  }
  return table
})()

const alawDecodeTable = /* @__PURE__ */ (() => {
  const table = new Int16Array(256)
  for (let code = 0; code < 256; code++) {
    const ix = (code ^ 0x55) & 0x7f
    const exponent = ix >> 4
    let mantissa = ix & 0xf
    if (exponent > 0) mantissa += 16
    mantissa = (mantissa << 4) + 0x8
    if (exponent > 1) mantissa <<= exponent - 1
    table[code] = code > 127 ? mantissa : -mantissa
  }
  return table
})()

const encode = (pcm16le: Uint8Array, table: Uint8Array, shift: number, mask: number): Uint8Array => {
  const samples = pcm16le.length >> 1
  const out = new Uint8Array(samples)
  const view = int16View(pcm16le, samples)
  if (view !== undefined) {
    for (let i = 0; i < samples; i++) out[i] = table[(view[i] >> shift) & mask]
  } else {
    for (let i = 0; i < samples; i++) out[i] = table[(int16At(pcm16le, 2 * i) >> shift) & mask]
  }
  return out
}

const decode = (codes: Uint8Array, table: Int16Array): Uint8Array =>
  writeInt16(codes.length, (out) => {
    for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]]
  })

export const mulawEncode = (pcm16le: Uint8Array): Uint8Array => encode(pcm16le, mulawEncodeTable, 2, 0x3fff)

export const mulawDecode = (mulaw: Uint8Array): Uint8Array => decode(mulaw, mulawDecodeTable)

export const alawEncode = (pcm16le: Uint8Array): Uint8Array => encode(pcm16le, alawEncodeTable, 4, 0xfff)

export const alawDecode = (alaw: Uint8Array): Uint8Array => decode(alaw, alawDecodeTable)
