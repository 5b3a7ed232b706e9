/** PCM16 little-endian samples: reading them in place and writing them out, on any platform. */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The int16 at `offset` of little-endian bytes. */
export const int16At = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset] | (bytes[offset + 1] << 8)) << 16) >> 16

/** A signed 16-bit view of the bytes when the platform allows one (little-endian, aligned), else `undefined`. */
export const int16View = (bytes: Uint8Array, samples: number): Int16Array | undefined =>
  LITTLE_ENDIAN && (bytes.byteOffset & 1) === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, samples) : undefined

/** A fresh PCM16 buffer of `samples` samples, written through `write`. */
export const writeInt16 = (samples: number, write: (out: Int16Array) => void): Uint8Array => {
  const out = new Int16Array(samples)
  write(out)
  if (!LITTLE_ENDIAN) {
    const bytes = new Uint8Array(out.buffer)
    for (let i = 0; i < bytes.length; i += 2) {
      const b = bytes[i]
      bytes[i] = bytes[i + 1]
      bytes[i + 1] = b
    }
  }
  return new Uint8Array(out.buffer)
}
