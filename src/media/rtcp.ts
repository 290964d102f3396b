/**
 * RTCP (RFC 3550 §6): sender reports, receiver reports and SDES CNAME,
 * built and parsed as compound packets; and the receive-side statistics
 * behind a report block: extended highest sequence, cumulative and
 * interval loss (Appendix A.1 and A.3) and interarrival jitter (A.8).
 * Parsing never throws: bad bytes are `malformed-rtcp` or `version`.
 */
import { MAX_PACKET_BYTES } from './constants.js'
import type { Parsed } from './rtp.js'

/** RTCP packet types used here. */
export const RtcpType = {
  /** Sender report. */
  SR: 200,
  /** Receiver report. */
  RR: 201,
  /** Source description. */
  SDES: 202,
  /** Goodbye. */
  BYE: 203
} as const

/** One report block: what a receiver says about one source. */
export interface ReportBlock {
  /** The source reported on. */
  ssrc: number
  /** Packets lost since the previous report, as a fraction of those expected, in 1/256. */
  fractionLost: number
  /** Packets lost since the start (signed 24-bit; duplicates can make it negative). */
  packetsLost: number
  /** Cycles × 65536 + highest sequence number received. */
  highestSequence: number
  /** Interarrival jitter, RTP timestamp units. */
  jitter: number
  /** The middle 32 bits of the NTP time of the last sender report received from the source (0: none). */
  lastSr: number
  /** Delay since that sender report, 1/65536 s. */
  delaySinceLastSr: number
}

/** A sender report (PT 200). */
export interface SenderReport {
  /** A sender report. */
  type: 'sr'
  /** The sender. */
  ssrc: number
  /** NTP timestamp, seconds since 1900 (integer part). */
  ntpSeconds: number
  /** NTP timestamp, fraction of a second in 1/2^32. */
  ntpFraction: number
  /** The RTP timestamp that corresponds to the NTP time. */
  rtpTimestamp: number
  /** Packets sent since the start. */
  packetCount: number
  /** Payload octets sent since the start. */
  octetCount: number
  /** What the sender says about the sources it receives. */
  reports: ReportBlock[]
}

/** A receiver report (PT 201). */
export interface ReceiverReport {
  /** A receiver report. */
  type: 'rr'
  /** The reporter. */
  ssrc: number
  /** Its report blocks. */
  reports: ReportBlock[]
}

/** A packet of a compound this module does not interpret (SDES, BYE, feedback …): type and sender only. */
export interface OtherRtcp {
  /** Another packet type. */
  type: 'other'
  /** The RTCP packet type. */
  packetType: number
  /** The first SSRC in the packet, if it has one. */
  ssrc?: number
}

/** One packet of a compound RTCP packet. */
export type RtcpPacket = SenderReport | ReceiverReport | OtherRtcp

const NTP_EPOCH_OFFSET_S = 2_208_988_800

/** An NTP timestamp (RFC 3550 §4). */
export interface NtpTime {
  /** Seconds since 1900-01-01. */
  seconds: number
  /** Fraction of a second, in 1/2^32. */
  fraction: number
}

/** The NTP time of a Unix time in ms. */
export function ntpTime (unixMs: number): NtpTime {
  const s = unixMs / 1000 + NTP_EPOCH_OFFSET_S
  const seconds = Math.floor(s)
  return { seconds: seconds >>> 0, fraction: Math.floor((s - seconds) * 2 ** 32) >>> 0 }
}

/** The middle 32 bits of an NTP time (what LSR and round-trip arithmetic use). */
export function ntpMiddle (seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0
}

function header (view: DataView, offset: number, count: number, type: number, words: number): void {
  view.setUint8(offset, 0x80 | (count & 0x1f))
  view.setUint8(offset + 1, type)
  view.setUint16(offset + 2, words - 1)
}

function writeBlocks (view: DataView, offset: number, reports: ReportBlock[]): void {
  reports.forEach((r, i) => {
    const o = offset + 24 * i
    view.setUint32(o, r.ssrc >>> 0)
    const lost = Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(r.packetsLost))) & 0xffffff
    view.setUint32(o + 4, ((r.fractionLost & 0xff) << 24 | lost) >>> 0)
    view.setUint32(o + 8, r.highestSequence >>> 0)
    view.setUint32(o + 12, Math.round(r.jitter) >>> 0)
    view.setUint32(o + 16, r.lastSr >>> 0)
    view.setUint32(o + 20, r.delaySinceLastSr >>> 0)
  })
}

/** The bytes of a sender report (at most 31 report blocks). */
export function buildSenderReport (sr: Omit<SenderReport, 'type'>): Uint8Array {
  const reports = sr.reports.slice(0, 31)
  const out = new Uint8Array(28 + 24 * reports.length)
  const view = new DataView(out.buffer)
  header(view, 0, reports.length, RtcpType.SR, out.length / 4)
  view.setUint32(4, sr.ssrc >>> 0)
  view.setUint32(8, sr.ntpSeconds >>> 0)
  view.setUint32(12, sr.ntpFraction >>> 0)
  view.setUint32(16, sr.rtpTimestamp >>> 0)
  view.setUint32(20, sr.packetCount >>> 0)
  view.setUint32(24, sr.octetCount >>> 0)
  writeBlocks(view, 28, reports)
  return out
}

/** The bytes of a receiver report (at most 31 report blocks). */
export function buildReceiverReport (rr: Omit<ReceiverReport, 'type'>): Uint8Array {
  const reports = rr.reports.slice(0, 31)
  const out = new Uint8Array(8 + 24 * reports.length)
  const view = new DataView(out.buffer)
  header(view, 0, reports.length, RtcpType.RR, out.length / 4)
  view.setUint32(4, rr.ssrc >>> 0)
  writeBlocks(view, 8, reports)
  return out
}

/** The bytes of an SDES packet with one chunk: `ssrc` and its CNAME (RFC 3550 §6.5.1). */
export function buildSdesCname (ssrc: number, cname: string): Uint8Array {
  const text = new TextEncoder().encode(cname).subarray(0, 255)
  const chunk = 4 + 2 + text.length + 1 // ssrc, CNAME item, at least one null terminator
  const padded = Math.ceil(chunk / 4) * 4
  const out = new Uint8Array(4 + padded)
  const view = new DataView(out.buffer)
  header(view, 0, 1, RtcpType.SDES, out.length / 4)
  view.setUint32(4, ssrc >>> 0)
  out[8] = 1
  out[9] = text.length
  out.set(text, 10)
  return out
}

/** The bytes of a BYE (PT 203) for one source: it leaves the session (RFC 3550 §6.6). */
export function buildBye (ssrc: number): Uint8Array {
  const out = new Uint8Array(8)
  const view = new DataView(out.buffer)
  header(view, 0, 1, RtcpType.BYE, 2)
  view.setUint32(4, ssrc >>> 0)
  return out
}

/** Several RTCP packets as one compound packet. */
export function compound (...packets: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(packets.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of packets) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

function readBlocks (view: DataView, offset: number, count: number): ReportBlock[] {
  const out: ReportBlock[] = []
  for (let i = 0; i < count; i++) {
    const o = offset + 24 * i
    const word = view.getUint32(o + 4)
    const lost = word & 0xffffff
    out.push({
      ssrc: view.getUint32(o),
      fractionLost: word >>> 24,
      packetsLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSequence: view.getUint32(o + 8),
      jitter: view.getUint32(o + 12),
      lastSr: view.getUint32(o + 16),
      delaySinceLastSr: view.getUint32(o + 20)
    })
  }
  return out
}

/** Parses a compound RTCP packet; every packet's length must fit exactly. Never throws. */
export function parseRtcp (bytes: Uint8Array): Parsed<RtcpPacket[]> {
  if (bytes.length > MAX_PACKET_BYTES) return { ok: false, reason: 'oversize' }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const packets: RtcpPacket[] = []
  let offset = 0
  if (bytes.length < 4) return { ok: false, reason: 'malformed-rtcp' }
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) return { ok: false, reason: 'malformed-rtcp' }
    const b0 = view.getUint8(offset)
    if (b0 >> 6 !== 2) return { ok: false, reason: 'version' }
    const count = b0 & 0x1f
    const type = view.getUint8(offset + 1)
    const length = 4 * (view.getUint16(offset + 2) + 1)
    if (offset + length > bytes.length) return { ok: false, reason: 'malformed-rtcp' }
    // padding is only allowed on the last packet of a compound
    if ((b0 & 0x20) !== 0 && offset + length !== bytes.length) return { ok: false, reason: 'malformed-rtcp' }
    if (type === RtcpType.SR) {
      if (length < 28 + 24 * count) return { ok: false, reason: 'malformed-rtcp' }
      packets.push({
        type: 'sr',
        ssrc: view.getUint32(offset + 4),
        ntpSeconds: view.getUint32(offset + 8),
        ntpFraction: view.getUint32(offset + 12),
        rtpTimestamp: view.getUint32(offset + 16),
        packetCount: view.getUint32(offset + 20),
        octetCount: view.getUint32(offset + 24),
        reports: readBlocks(view, offset + 28, count)
      })
    } else if (type === RtcpType.RR) {
      if (length < 8 + 24 * count) return { ok: false, reason: 'malformed-rtcp' }
      packets.push({ type: 'rr', ssrc: view.getUint32(offset + 4), reports: readBlocks(view, offset + 8, count) })
    } else {
      const other: OtherRtcp = { type: 'other', packetType: type }
      if (length >= 8) other.ssrc = view.getUint32(offset + 4)
      packets.push(other)
    }
    offset += length
  }
  return { ok: true, value: packets }
}

/** When the last sender report from a source arrived. */
export interface LastSenderReport {
  /** The middle 32 bits of its NTP timestamp. */
  ntp: number
  /** Local arrival time, ms. */
  at: number
}

const MAX_DROPOUT = 3000
const MAX_MISORDER = 100
const SEQ_MOD = 0x10000

/**
 * What a receiver knows about one source (RFC 3550 A.1, A.3, A.8): the
 * sequence numbers seen (with wrap-around cycles and the resynchronization
 * after a large jump), packets expected and lost, and interarrival jitter.
 */
export class ReceptionStatistics {
  private baseSeq = 0
  private maxSeq = 0
  private badSeq = SEQ_MOD + 1
  private cycles = 0
  private expectedPrior = 0
  private receivedPrior = 0
  private transit: number | undefined
  private started = false
  /** Packets received (including duplicates, as RFC 3550 counts them). */
  received = 0
  /** Interarrival jitter, RTP timestamp units (A.8, a float; reports round it). */
  jitter = 0
  /** The NTP middle 32 bits of the last sender report from the source, and when it arrived (ms, local clock). */
  lastSr: LastSenderReport | undefined

  constructor (private readonly clockRate: number) {}

  private init (seq: number): void {
    this.baseSeq = seq
    this.maxSeq = seq
    this.badSeq = SEQ_MOD + 1
    this.cycles = 0
    this.received = 0
    this.receivedPrior = 0
    this.expectedPrior = 0
  }

  /**
   * Counts a packet; `arrivalMs` is the local clock in ms. Returns false for
   * a packet after a jump too large to believe yet (it is not counted; a
   * second packet continuing from it restarts the statistics, A.1).
   */
  update (seq: number, rtpTimestamp: number, arrivalMs: number): boolean {
    if (!this.started) {
      this.started = true
      this.init(seq)
    } else {
      const delta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD
      if (delta < MAX_DROPOUT) {
        if (seq < this.maxSeq) this.cycles += SEQ_MOD
        this.maxSeq = seq
      } else if (delta <= SEQ_MOD - MAX_MISORDER) {
        if (seq === this.badSeq) {
          this.init(seq)
          this.transit = undefined
        } else {
          this.badSeq = (seq + 1) % SEQ_MOD
          return false
        }
      }
      // else: a duplicate or a packet out of order, counted below
    }
    this.received++
    const arrival = arrivalMs * this.clockRate / 1000
    const transit = arrival - rtpTimestamp
    if (this.transit !== undefined) {
      // the timestamp wraps at 2^32: take the difference modulo 2^32 as a signed number
      let d = transit - this.transit
      d = ((d % 2 ** 32) + 2 ** 32 + 2 ** 31) % 2 ** 32 - 2 ** 31
      this.jitter += (Math.abs(d) - this.jitter) / 16
    }
    this.transit = transit
    return true
  }

  /** Cycles × 65536 + the highest sequence number seen. */
  get extendedMax (): number {
    return this.cycles + this.maxSeq
  }

  /** Packets expected since the start (A.3). */
  get expected (): number {
    return this.started ? this.extendedMax - this.baseSeq + 1 : 0
  }

  /** Packets lost since the start (expected − received; negative with duplicates). */
  get lost (): number {
    return this.expected - this.received
  }

  /** A report block about `ssrc` for a report sent at `nowMs`; starts a new interval for the fraction lost. */
  report (ssrc: number, nowMs: number): ReportBlock {
    const expected = this.expected
    const expectedInterval = expected - this.expectedPrior
    const receivedInterval = this.received - this.receivedPrior
    this.expectedPrior = expected
    this.receivedPrior = this.received
    const lostInterval = expectedInterval - receivedInterval
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval << 8) / expectedInterval))
    return {
      ssrc,
      fractionLost,
      packetsLost: this.lost,
      highestSequence: this.extendedMax >>> 0,
      jitter: Math.round(this.jitter),
      lastSr: this.lastSr?.ntp ?? 0,
      delaySinceLastSr: this.lastSr === undefined ? 0 : Math.round((nowMs - this.lastSr.at) * 65.536)
    }
  }
}
