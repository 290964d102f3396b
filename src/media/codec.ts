/**
 * The two codecs a leg speaks: Opus (preferred, 48 kHz, libopus through
 * `@evan/opus`: a prebuilt native binding with a wasm fallback) and G.711
 * μ-law (always offered, 8 kHz, `ulaw.ts`). A codec turns one 20 ms
 * mono frame at its own sample rate into one RTP payload and back, and
 * conceals a lost frame.
 *
 * Concealment: `@evan/opus`'s native binding refuses libopus's own packet
 * loss concealment (an empty packet is `BadArgument`), so both codecs
 * conceal the same way: the last good frame again, halved in amplitude each
 * time, then silence (after `MAX_CONCEALED_FRAMES` the leg stops
 * playing until packets come back).
 */
import { Decoder, Encoder } from '@evan/opus'
import { CODECS } from './codecs.js'
import type { CodecInfo, CodecName } from './codecs.js'
import { ulawDecode, ulawEncode } from './ulaw.js'

export { CODECS } from './codecs.js'
export type { CodecName, CodecInfo } from './codecs.js'

/** One direction's codec state: an encoder and a decoder with concealment. */
export interface Codec extends CodecInfo {
  /** One RTP payload of a frame of `frameSamples` samples. */
  encode: (samples: Int16Array) => Uint8Array
  /** The samples of one payload; throws on a payload the codec cannot read (the caller counts it). */
  decode: (payload: Uint8Array) => Int16Array
  /** A frame to play in place of a lost one (see the module documentation). */
  conceal: () => Int16Array
}

/** Opus encoder settings a leg uses: speech, mono, 32 kb/s. */
export const OPUS_BITRATE = 32_000

function copyPcm (bytes: Uint8Array): Int16Array {
  // the binding hands back a view of a buffer it reuses: copy (and align) before the next call
  const copy = bytes.slice()
  return new Int16Array(copy.buffer, copy.byteOffset, copy.byteLength >> 1)
}

/** A fresh codec state for `name`. */
export function createCodec (name: CodecName): Codec {
  const info = CODECS[name]
  let last: Int16Array | undefined
  let concealed = 0
  const remember = (samples: Int16Array): Int16Array => {
    last = samples
    concealed = 0
    return samples
  }
  const conceal = (): Int16Array => {
    concealed++
    const out = new Int16Array(info.frameSamples)
    if (last === undefined) return out
    const gain = 0.5 ** concealed
    for (let i = 0; i < out.length; i++) out[i] = Math.round((last[i] ?? 0) * gain)
    return out
  }
  if (name === 'pcmu') {
    return {
      ...info,
      encode: ulawEncode,
      decode: (payload) => remember(ulawDecode(payload)),
      conceal
    }
  }
  const encoder = new Encoder({ channels: 1, sample_rate: 48_000, application: 'voip' })
  encoder.bitrate = OPUS_BITRATE
  encoder.signal = 'voice'
  const decoder = new Decoder({ channels: 1, sample_rate: 48_000 })
  return {
    ...info,
    encode: (samples) => encoder.encode(samples).slice(),
    decode: (payload) => remember(copyPcm(decoder.decode(payload))),
    conceal
  }
}
