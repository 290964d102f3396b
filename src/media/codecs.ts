/**
 * The codecs an audio leg offers, as the SDP and RTP name them: a table with
 * no codec code in it, so the signalling (which runs in browsers too) can
 * read SDP without loading Opus.
 */
import { FRAME_MS, OPUS_CLOCK_RATE, OPUS_PAYLOAD_TYPE, PCMU_CLOCK_RATE, PCMU_PAYLOAD_TYPE } from './constants.js'

/** A codec's name in Parley's messages (and, upper-cased, in SDP `a=rtpmap`). */
export type CodecName = 'opus' | 'pcmu'

/** What the SDP and RTP say about a codec. */
export interface CodecInfo {
  /** The codec. */
  name: CodecName
  /** Its RTP payload type. */
  payloadType: number
  /** Its RTP clock rate, Hz. */
  clockRate: number
  /** The sample rate of the PCM it takes and gives, Hz. */
  sampleRate: 8000 | 48000
  /** Samples in one 20 ms frame at that rate. */
  frameSamples: number
}

/** The codecs, by name. */
export const CODECS: Readonly<Record<CodecName, CodecInfo>> = {
  opus: { name: 'opus', payloadType: OPUS_PAYLOAD_TYPE, clockRate: OPUS_CLOCK_RATE, sampleRate: 48_000, frameSamples: OPUS_CLOCK_RATE * FRAME_MS / 1000 },
  pcmu: { name: 'pcmu', payloadType: PCMU_PAYLOAD_TYPE, clockRate: PCMU_CLOCK_RATE, sampleRate: 8000, frameSamples: PCMU_CLOCK_RATE * FRAME_MS / 1000 }
}

