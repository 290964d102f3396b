/** The PCM frames an application hands to a leg and gets from it. */

/** 20 ms of mono 16-bit PCM. */
export interface PcmFrame {
  /** The samples: 960 at 48 kHz, 160 at 8 kHz. */
  samples: Int16Array
  /** Their rate, Hz. */
  sampleRate: 8000 | 48000
  /** Media time of the first sample, ms (the sender's own clock; informational on `send`). */
  timestamp: number
}

/** A frame the leg played out of its jitter buffer. */
export interface ReceivedFrame extends PcmFrame {
  /** Media time of the first sample, ms since the first frame of the far side's stream (from RTP timestamps). */
  timestamp: number
  /** The RTP sequence number it came in (or would have). */
  sequence: number
  /** The raw RTP timestamp. */
  rtpTimestamp: number
  /** True when the packet was lost or undecodable and this frame conceals it. */
  concealed: boolean
}
