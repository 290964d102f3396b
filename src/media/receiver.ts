/**
 * The receive half of a leg: RTP and RTCP bytes in (whatever the far side
 * sends), PCM frames out on a steady 20 ms playout clock.
 *
 * `receive` never throws: every packet that is not usable is counted under
 * a {@link DropReason}. `tick(now)` plays what is due: the next packet from
 * the jitter buffer, decoded, or a concealment frame for a lost one. The
 * first packet after silence starts the playout `playoutDelayMs` later;
 * after `MAX_CONCEALED_FRAMES` missing frames with nothing buffered the
 * playout stops until packets come back (so a muted or departed sender
 * costs nothing). Both take the clock as an argument, so tests drive them
 * without timers.
 *
 * Adaptive playout delay (on unless `adaptive: false`): every packet's
 * margin (how long before its playout time it arrived; negative when late)
 * is kept for the last second. A second late packet within a second makes
 * the playout wait one frame longer (a concealment frame is played in its
 * place: "stretch"; a lone late packet is only concealed); a second in
 * which every packet had more than a frame and 10 ms to spare, and no
 * stretch in the last 2 s, makes it one frame shorter (one frame that has
 * arrived is dropped: "skip"). The delay stays within `minPlayoutDelayMs` (20) and
 * `maxPlayoutDelayMs` (200). On loopback it settles at 20-40 ms, where a
 * fixed 60 ms would add 20-40 ms of mouth-to-ear latency for nothing.
 */
import { logger } from '@libp2p/logger'
import { DEFAULT_JITTER_CAPACITY, DEFAULT_PLAYOUT_DELAY_MS, FRAME_MS, MAX_CONCEALED_FRAMES } from './constants.js'
import { createCodec } from './codec.js'
import type { Codec, CodecName } from './codec.js'
import type { DropReason } from './errors.js'
import type { ReceivedFrame } from './frame.js'
import { JitterBuffer } from './jitter.js'
import { Downsampler, Upsampler } from './resample.js'
import { ntpMiddle, ntpTime, parseRtcp, ReceptionStatistics, RtcpType } from './rtcp.js'
import type { ReportBlock, RtcpPacket } from './rtcp.js'
import { isRtcp, parseRtp, seqDiff } from './rtp.js'

const log = logger('parley:media:receiver')

/** Options of a {@link MediaReceiver}. */
export interface MediaReceiverOptions {
  /** The negotiated codec; packets of another payload type are dropped. */
  codec: CodecName
  /** Our own SSRC (to pick the report blocks about our stream out of the far side's RTCP). */
  localSsrc: number
  /** The far side's SSRC when its SDP names it; otherwise the first RTP packet's is followed. */
  remoteSsrc?: number
  /** Rate of the frames handed out (default: the codec's). */
  sampleRate?: 8000 | 48000
  /** Playout delay, ms (default 60). */
  playoutDelayMs?: number
  /** Jitter buffer capacity, packets (a power of two, default 64). */
  jitterCapacity?: number
  /** Adapt the playout delay to the arrival jitter (default true; see the module documentation). */
  adaptive?: boolean
  /** Least playout delay adaptation goes down to, ms (default 20). */
  minPlayoutDelayMs?: number
  /** Most playout delay adaptation goes up to, ms (default 200). */
  maxPlayoutDelayMs?: number
  /** Called with each frame played. */
  onFrame: (frame: ReceivedFrame) => void
  /** Called when the far side's stream says BYE (it left). */
  onBye?: () => void
}

/** What the far side last said about our stream in its RTCP. */
export interface RemoteReport {
  /** Fraction of our packets it lost in its last interval, 0–1. */
  fractionLost: number
  /** Our packets it lost since the start. */
  packetsLost: number
  /** Interarrival jitter it measured, ms. */
  jitterMs: number
  /** Round-trip time computed from its LSR/DLSR, ms (when it had a sender report of ours). */
  rttMs?: number
}

/** Receive-side statistics of a leg. */
export interface ReceiverStats {
  /** RTP packets that passed parsing and went to the jitter buffer (or were dropped there). */
  packetsReceived: number
  /** Bytes of all packets received, RTP and RTCP, usable or not. */
  bytesReceived: number
  /** RTCP compound packets parsed. */
  rtcpReceived: number
  /** Sender reports received. */
  senderReportsReceived: number
  /** Packets lost by RFC 3550's count (expected − received). */
  packetsLost: number
  /** Interarrival jitter, ms. */
  jitterMs: number
  /** Frames played (decoded or concealed). */
  framesPlayed: number
  /** Of those, frames that concealed a lost or undecodable packet. */
  framesConcealed: number
  /** Packets waiting in the jitter buffer. */
  buffered: number
  /** The playout delay now, ms. */
  playoutDelayMs: number
  /** Concealment frames played to lengthen the delay after late packets. */
  framesStretched: number
  /** Frames dropped to shorten the delay. */
  framesSkipped: number
  /** Dropped packets by reason. */
  drops: Record<DropReason, number>
  /** The far side's last report about our stream, if any. */
  remote?: RemoteReport
}

/** Every drop reason at zero. */
export function noDrops (): Record<DropReason, number> {
  return { 'malformed-rtp': 0, version: 0, 'malformed-rtcp': 0, oversize: 0, 'payload-type': 0, ssrc: 0, late: 0, duplicate: 0, 'too-far': 0, overflow: 0, decode: 0, filtered: 0 }
}

/** See the module documentation. */
export class MediaReceiver {
  private readonly codec: Codec
  private readonly jitter: JitterBuffer
  private readonly stats: ReceptionStatistics
  private readonly options: MediaReceiverOptions
  private delayMs: number
  private readonly adaptive: boolean
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private margins: number[] = []
  private framesSinceCheck = 0
  private framesSinceStretch = Number.POSITIVE_INFINITY
  private stretchPending = false
  private readonly outRate: 8000 | 48000
  private readonly resampler: Downsampler | Upsampler | undefined
  private ssrc: number | undefined
  private playing = false
  private startAt = 0
  private nextAt = 0
  private missing = 0
  private baseTimestamp: number | undefined
  private lastTimestamp = 0
  private elapsed = 0
  private remote: RemoteReport | undefined
  private readonly counts = { packets: 0, bytes: 0, rtcp: 0, srs: 0, played: 0, concealed: 0, stretched: 0, skipped: 0 }
  /** Dropped packets by reason. */
  readonly drops = noDrops()

  constructor (options: MediaReceiverOptions) {
    this.options = options
    this.codec = createCodec(options.codec)
    this.ssrc = options.remoteSsrc
    const delay = options.playoutDelayMs ?? DEFAULT_PLAYOUT_DELAY_MS
    this.delayMs = delay
    this.adaptive = options.adaptive ?? true
    this.minDelayMs = Math.min(delay, options.minPlayoutDelayMs ?? FRAME_MS)
    this.maxDelayMs = Math.max(delay, options.maxPlayoutDelayMs ?? 200)
    this.jitter = new JitterBuffer({ capacity: options.jitterCapacity ?? DEFAULT_JITTER_CAPACITY, target: Math.ceil((this.adaptive ? this.maxDelayMs : delay) / FRAME_MS) })
    this.stats = new ReceptionStatistics(this.codec.clockRate)
    this.outRate = options.sampleRate ?? this.codec.sampleRate
    this.resampler = this.outRate === this.codec.sampleRate ? undefined : this.outRate > this.codec.sampleRate ? new Upsampler() : new Downsampler()
  }

  /** The SSRC of the stream followed, once known. */
  get remoteSsrc (): number | undefined {
    return this.ssrc
  }

  private drop (reason: DropReason): void {
    this.drops[reason]++
  }

  /** Counts a packet dropped before it reached the receiver (the leg's test filter). */
  filtered (bytes: Uint8Array): void {
    this.counts.bytes += bytes.length
    this.drop('filtered')
  }

  /** Takes one packet off the wire at local time `now` (ms). Never throws. */
  receive (bytes: Uint8Array, now: number): void {
    this.counts.bytes += bytes.length
    if (isRtcp(bytes)) {
      this.receiveRtcp(bytes, now)
      return
    }
    const parsed = parseRtp(bytes)
    if (!parsed.ok) {
      this.drop(parsed.reason)
      return
    }
    const rtp = parsed.value
    if (rtp.payloadType !== this.codec.payloadType) {
      this.drop('payload-type')
      return
    }
    this.ssrc ??= rtp.ssrc
    if (rtp.ssrc !== this.ssrc) {
      this.drop('ssrc')
      return
    }
    this.counts.packets++
    if (!this.stats.update(rtp.sequence, rtp.timestamp, now)) {
      this.drop('too-far')
      return
    }
    const next = this.jitter.playoutSequence
    const due = this.playing ? this.nextAt : this.startAt
    const refused = this.jitter.push({ sequence: rtp.sequence, timestamp: rtp.timestamp, payload: rtp.payload.slice() })
    if (refused !== undefined) this.drop(refused)
    if (this.adaptive && next !== undefined && due !== 0 && (refused === undefined || refused === 'late')) {
      this.noteMargin(due + FRAME_MS * seqDiff(rtp.sequence, next) - now)
    }
    if (refused === undefined && !this.playing && this.startAt === 0) this.startAt = now + this.delayMs
  }

  /** Keeps the last second of arrival margins; a late packet asks for a stretch. */
  private noteMargin (margin: number): void {
    this.margins.push(margin)
    if (this.margins.length > 1000 / FRAME_MS) this.margins.shift()
    if (margin >= 0 || !this.playing || this.delayMs + FRAME_MS > this.maxDelayMs || this.framesSinceStretch < 10) return
    // one late packet is an outlier (concealed); a second within the second is a trend
    if (this.margins.filter(m => m < 0).length >= 2) this.stretchPending = true
  }

  private receiveRtcp (bytes: Uint8Array, now: number): void {
    const parsed = parseRtcp(bytes)
    if (!parsed.ok) {
      this.drop(parsed.reason)
      return
    }
    this.counts.rtcp++
    for (const packet of parsed.value) this.onRtcp(packet, now)
  }

  private onRtcp (packet: RtcpPacket, now: number): void {
    if (packet.type === 'other') {
      if (packet.packetType === RtcpType.BYE && packet.ssrc !== undefined && packet.ssrc === this.ssrc) this.options.onBye?.()
      return
    }
    if (packet.type === 'sr' && (this.ssrc === undefined || packet.ssrc === this.ssrc)) {
      this.counts.srs++
      this.stats.lastSr = { ntp: ntpMiddle(packet.ntpSeconds, packet.ntpFraction), at: now }
    }
    for (const block of packet.reports) {
      if (block.ssrc !== this.options.localSsrc) continue
      const report: RemoteReport = { fractionLost: block.fractionLost / 256, packetsLost: block.packetsLost, jitterMs: block.jitter * 1000 / this.codec.clockRate }
      if (block.lastSr !== 0) {
        const t = ntpTime(Date.now())
        const rtt = (ntpMiddle(t.seconds, t.fraction) - block.lastSr - block.delaySinceLastSr) >>> 0
        if (rtt < 0x80000000) report.rttMs = rtt / 65.536
      }
      this.remote = report
    }
  }

  /** Plays every frame due by local time `now` (ms). */
  tick (now: number): void {
    if (!this.playing) {
      if (this.startAt === 0 || now < this.startAt) return
      this.playing = true
      this.nextAt = this.startAt
      this.missing = 0
    }
    while (this.playing && now >= this.nextAt) {
      this.nextAt += FRAME_MS
      if (this.stretchPending) this.stretch()
      else this.playOne()
      if (this.adaptive) this.adapt()
    }
  }

  /** Plays a concealment frame without taking a packet: the delay grows by a frame. */
  private stretch (): void {
    this.stretchPending = false
    this.framesSinceStretch = 0
    this.margins = []
    this.delayMs += FRAME_MS
    this.counts.stretched++
    this.emit(this.codec.conceal(), (this.jitter.playoutSequence ?? 1) - 1 & 0xffff, this.lastTimestamp, true)
  }

  /** Once a second: one frame shorter when every packet of the last second had a frame and 10 ms to spare. */
  private adapt (): void {
    this.framesSinceStretch++
    if (++this.framesSinceCheck < 1000 / FRAME_MS) return
    this.framesSinceCheck = 0
    if (this.margins.length < 500 / FRAME_MS || this.framesSinceStretch < 2000 / FRAME_MS) return
    // only drop a frame that is here (dropping one still on its way would make it late)
    if (Math.min(...this.margins) <= FRAME_MS + 10 || this.delayMs - FRAME_MS < this.minDelayMs || !this.jitter.hasNext) return
    this.jitter.pop()
    this.delayMs -= FRAME_MS
    this.margins = []
    this.counts.skipped++
  }

  private playOne (): void {
    const next = this.jitter.pop()
    if (next === undefined) return
    let samples: Int16Array | undefined
    let sequence: number
    let timestamp: number
    if (next.kind === 'packet') {
      sequence = next.packet.sequence
      timestamp = next.packet.timestamp
      try {
        samples = this.codec.decode(next.packet.payload)
      } catch (err) {
        log('undecodable payload seq %d: %s', sequence, (err as Error).message)
        this.drop('decode')
      }
    } else {
      sequence = next.sequence
      timestamp = (this.lastTimestamp + this.codec.frameSamples) >>> 0
    }
    const concealed = samples === undefined
    if (samples === undefined) {
      if (this.jitter.size === 0 && this.missing >= MAX_CONCEALED_FRAMES) {
        this.stop()
        return
      }
      this.missing++
      samples = this.codec.conceal()
    } else {
      this.missing = 0
    }
    this.emit(samples, sequence, timestamp, concealed)
  }

  private emit (samples: Int16Array, sequence: number, timestamp: number, concealed: boolean): void {
    if (this.baseTimestamp === undefined) {
      this.baseTimestamp = timestamp
      this.lastTimestamp = timestamp
    }
    // signed: after the playout restarts on an older packet, media time goes back, not 2^32 ahead
    this.elapsed += (timestamp - this.lastTimestamp) | 0
    this.lastTimestamp = timestamp
    const out = this.resampler === undefined ? samples : this.resampler.process(samples)
    this.counts.played++
    if (concealed) this.counts.concealed++
    this.options.onFrame({
      samples: out,
      sampleRate: this.outRate,
      timestamp: this.elapsed * 1000 / this.codec.clockRate,
      sequence,
      rtpTimestamp: timestamp,
      concealed
    })
  }

  private stop (): void {
    this.playing = false
    this.startAt = 0
    this.stretchPending = false
    this.margins = []
    this.jitter.reset()
  }

  /** A report block about the stream received, for our next RTCP report (undefined before any packet). */
  reportBlock (now: number): ReportBlock | undefined {
    if (this.ssrc === undefined || this.stats.received === 0) return undefined
    return this.stats.report(this.ssrc, now)
  }

  /** See {@link ReceiverStats}. */
  snapshot (): ReceiverStats {
    const out: ReceiverStats = {
      packetsReceived: this.counts.packets,
      bytesReceived: this.counts.bytes,
      rtcpReceived: this.counts.rtcp,
      senderReportsReceived: this.counts.srs,
      packetsLost: Math.max(0, this.stats.lost),
      jitterMs: this.stats.jitter * 1000 / this.codec.clockRate,
      framesPlayed: this.counts.played,
      framesConcealed: this.counts.concealed,
      buffered: this.jitter.size,
      playoutDelayMs: this.delayMs,
      framesStretched: this.counts.stretched,
      framesSkipped: this.counts.skipped,
      drops: { ...this.drops }
    }
    if (this.remote !== undefined) out.remote = { ...this.remote }
    return out
  }
}
