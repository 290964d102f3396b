/**
 * G.711 μ-law (PCMU, ITU-T G.711 §3): 16-bit linear PCM ↔ 8-bit codes,
 * 8 kHz. Encoding is the segment search of the reference coder (bias 0x84,
 * clip at 32635); decoding is a 256-entry table.
 */

const BIAS = 0x84
const CLIP = 32635

/** The μ-law code of one 16-bit linear sample. */
export function ulawEncodeSample (sample: number): number {
  let pcm = sample | 0
  const sign = pcm < 0 ? 0x80 : 0
  if (sign !== 0) pcm = -pcm
  if (pcm > CLIP) pcm = CLIP
  pcm += BIAS
  let exponent = 7
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  const mantissa = (pcm >> (exponent + 3)) & 0x0f
  return ~(sign | (exponent << 4) | mantissa) & 0xff
}

function decodeCode (code: number): number {
  const u = ~code & 0xff
  const exponent = (u >> 4) & 0x07
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS
  return (u & 0x80) !== 0 ? -magnitude : magnitude
}

const DECODE = Int16Array.from({ length: 256 }, (_, code) => decodeCode(code))

/** The 16-bit linear sample a μ-law code stands for. */
export function ulawDecodeSample (code: number): number {
  return DECODE[code & 0xff] ?? 0
}

/** μ-law codes of a block of 16-bit samples (one byte per sample). */
export function ulawEncode (samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length)
  for (let i = 0; i < samples.length; i++) out[i] = ulawEncodeSample(samples[i] ?? 0)
  return out
}

/** 16-bit samples of a block of μ-law codes. */
export function ulawDecode (codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length)
  for (let i = 0; i < codes.length; i++) out[i] = DECODE[codes[i] ?? 0xff] ?? 0
  return out
}
