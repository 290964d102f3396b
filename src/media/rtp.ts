/**
 * RTP (RFC 3550 §5): the fixed header, built and parsed; sequence-number
 * arithmetic modulo 2^16; and the send-side progression of sequence number
 * and timestamp for 20 ms frames. Parsing never throws: a packet that does
 * not hold together is a {@link DropReason}.
 */
import type { DropReason } from './errors.js'
import { MAX_PACKET_BYTES } from './constants.js'

/** One RTP packet, header fields and payload. */
export interface RtpPacket {
  /** The marker bit (first packet of a talkspurt, for audio). */
  marker: boolean
  /** The payload type, 0–127. */
  payloadType: number
  /** The sequence number, 0–65535. */
  sequence: number
  /** The RTP timestamp, 0–2^32−1, in the codec's clock. */
  timestamp: number
  /** The synchronization source. */
  ssrc: number
  /** Contributing sources, if any. */
  csrcs: number[]
  /** The payload (a view into the packet, padding removed). */
  payload: Uint8Array
}

/** The result of parsing bytes off the wire: a packet, or why it was dropped. */
export type Parsed<T> =
  | {
    /** Parsed. */
    ok: true
    /** What was parsed. */
    value: T
  }
  | {
    /** Dropped. */
    ok: false
    /** Why. */
    reason: DropReason
  }

/** Length of the fixed RTP header, bytes. */
export const RTP_HEADER_BYTES = 12

/**
 * Whether bytes on an rtcp-mux transport are RTCP rather than RTP: the
 * second byte (marker and payload type) in 192–223 (RFC 5761 §4).
 */
export function isRtcp (bytes: Uint8Array): boolean {
  const b = bytes[1]
  return bytes.length >= 2 && b !== undefined && b >= 192 && b <= 223
}

/** The bytes of an RTP packet (no CSRCs beyond those given, no extension, no padding). */
export function buildRtp (packet: Omit<RtpPacket, 'csrcs'> & { csrcs?: number[] }): Uint8Array {
  const csrcs = packet.csrcs ?? []
  const out = new Uint8Array(RTP_HEADER_BYTES + 4 * csrcs.length + packet.payload.length)
  const view = new DataView(out.buffer)
  out[0] = 0x80 | (csrcs.length & 0x0f)
  out[1] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f)
  view.setUint16(2, packet.sequence & 0xffff)
  view.setUint32(4, packet.timestamp >>> 0)
  view.setUint32(8, packet.ssrc >>> 0)
  csrcs.forEach((c, i) => { view.setUint32(12 + 4 * i, c >>> 0) })
  out.set(packet.payload, RTP_HEADER_BYTES + 4 * csrcs.length)
  return out
}

/** Parses an RTP packet; header extensions are skipped, padding removed. Never throws. */
export function parseRtp (bytes: Uint8Array): Parsed<RtpPacket> {
  if (bytes.length > MAX_PACKET_BYTES) return { ok: false, reason: 'oversize' }
  if (bytes.length < RTP_HEADER_BYTES) return { ok: false, reason: 'malformed-rtp' }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const b0 = bytes[0] ?? 0
  const b1 = bytes[1] ?? 0
  if (b0 >> 6 !== 2) return { ok: false, reason: 'version' }
  const padding = (b0 & 0x20) !== 0
  const extension = (b0 & 0x10) !== 0
  const cc = b0 & 0x0f
  let offset = RTP_HEADER_BYTES + 4 * cc
  if (offset > bytes.length) return { ok: false, reason: 'malformed-rtp' }
  const csrcs: number[] = []
  for (let i = 0; i < cc; i++) csrcs.push(view.getUint32(12 + 4 * i))
  if (extension) {
    if (offset + 4 > bytes.length) return { ok: false, reason: 'malformed-rtp' }
    offset += 4 + 4 * view.getUint16(offset + 2)
    if (offset > bytes.length) return { ok: false, reason: 'malformed-rtp' }
  }
  let end = bytes.length
  if (padding) {
    const pad = bytes[bytes.length - 1] ?? 0
    if (pad === 0 || end - pad < offset) return { ok: false, reason: 'malformed-rtp' }
    end -= pad
  }
  return {
    ok: true,
    value: {
      marker: (b1 & 0x80) !== 0,
      payloadType: b1 & 0x7f,
      sequence: view.getUint16(2),
      timestamp: view.getUint32(4),
      ssrc: view.getUint32(8),
      csrcs,
      payload: bytes.subarray(offset, end)
    }
  }
}

/** `a − b` modulo 2^16 as a signed distance in −32768…32767 (how far `a` is after `b`). */
export function seqDiff (a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000
}

/** A random 32-bit unsigned integer (SSRCs, initial timestamps). */
export function random32 (): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0
}

/**
 * The send side of one RTP stream: a random SSRC, a random first sequence
 * number and timestamp (RFC 3550 §5.1), the sequence number advancing by one
 * and the timestamp by one frame's samples per packet, both wrapping, and
 * the counts a sender report needs.
 */
export class RtpSequencer {
  /** This stream's synchronization source. */
  readonly ssrc: number
  /** The payload type it sends. */
  readonly payloadType: number
  /** Clock ticks per packet. */
  readonly samplesPerPacket: number
  /** The next sequence number. */
  sequence: number
  /** The next timestamp. */
  timestamp: number
  /** Packets sent. */
  packets = 0
  /** Payload bytes sent. */
  octets = 0

  constructor (init: { payloadType: number, samplesPerPacket: number, ssrc?: number, sequence?: number, timestamp?: number }) {
    this.payloadType = init.payloadType
    this.samplesPerPacket = init.samplesPerPacket
    this.ssrc = init.ssrc ?? random32()
    this.sequence = (init.sequence ?? random32()) & 0xffff
    this.timestamp = (init.timestamp ?? random32()) >>> 0
  }

  /** The next packet carrying `payload`, advancing the sequence and timestamp. */
  next (payload: Uint8Array): Uint8Array {
    const bytes = buildRtp({ marker: this.packets === 0, payloadType: this.payloadType, sequence: this.sequence, timestamp: this.timestamp, ssrc: this.ssrc, payload })
    this.sequence = (this.sequence + 1) & 0xffff
    this.timestamp = (this.timestamp + this.samplesPerPacket) >>> 0
    this.packets++
    this.octets += payload.length
    return bytes
  }
}
