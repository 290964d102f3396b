/**
 * An audio leg: one media-first WebRTC peer connection (node-datachannel's
 * native API, not its polyfill) carrying one two-way audio track, with PCM
 * frames in and out.
 *
 * It is its own peer connection because libdatachannel does not open an
 * audio track added by renegotiation to a connection that began with data
 * only; one whose first offer has audio opens in a few ms. Signalling is
 * not done here: `offer()`/`answer()` hand out complete SDP (ICE gathered,
 * no trickle) and the DTLS fingerprint, for the session to carry in signed
 * envelopes, and `accept()`/`answer()` take the far side's SDP together
 * with the fingerprint its signed envelope named. The leg refuses an SDP
 * whose fingerprint is not that one, and once DTLS is up it checks the
 * certificate the far side actually presented (`remoteFingerprint()`)
 * against it too; a mismatch tears the leg down with `ERR_MEDIA_FINGERPRINT`.
 *
 * The offerer connects first: the answerer applies the offer without its
 * ICE candidates and adds them only `answererCandidateDelayMs` after its
 * answer is out. Given them at once, its connectivity checks reached the
 * offerer before the offerer held the answer, and libdatachannel then
 * refused the answer in 1 to 3 of 10 loopback runs ("Got a remote candidate
 * without ICE transport", whichever side took the DTLS client role), or the
 * DTLS handshake waited for OpenSSL's 1 s retransmission. With the delay,
 * the offerer's checks (it has the answerer's candidates) open the path;
 * the answerer, DTLS client of an `actpass` offer, sends its ClientHello
 * once its ICE is up, by which time the offerer's DTLS server is waiting:
 * 0 refusals and no 1 s stall in 24 runs, open in 56-135 ms (measured
 * 2026-12-03). Behind NATs the answerer's late checks still punch its side.
 *
 * Opus is preferred and PCMU always offered. RTP goes out one packet per
 * 20 ms frame (`send`), comes in through the jitter buffer and the playout
 * clock (`frames()` or the `frame` event; the playout delay starts at 60 ms
 * and adapts to the arrival jitter, 20-200 ms: receiver.ts), and RTCP sender/receiver reports
 * go both ways about once a second. Closing a leg sends an RTCP BYE; a leg
 * that receives the far side's BYE closes too (without an error).
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import ndc from 'node-datachannel'
import type { PeerConnection, Track } from 'node-datachannel'
import { CODECS } from './codec.js'
import type { CodecInfo, CodecName } from './codec.js'
import { AUDIO_MID, DEFAULT_ANSWERER_CANDIDATE_DELAY_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_PLAYOUT_DELAY_MS, DEFAULT_GATHER_TIMEOUT_MS, DEFAULT_RTCP_INTERVAL_MS, MAX_QUEUED_FRAMES } from './constants.js'
import { MediaError, MediaErrorCode } from './errors.js'
import type { PcmFrame, ReceivedFrame } from './frame.js'
import { MediaReceiver } from './receiver.js'
import type { ReceiverStats } from './receiver.js'
import { buildBye, buildReceiverReport, buildSdesCname, buildSenderReport, compound, ntpTime } from './rtcp.js'
import { random32 } from './rtp.js'
import { audioSection, checkRemoteSdp, chosenCodec, normalizeFingerprint, offeredCodecs, sdpFingerprint, splitCandidates } from './sdp.js'
import type { AudioSection } from './sdp.js'
import { MediaSender } from './sender.js'

const log = logger('parley:media:leg')

/** Options of {@link createAudioLeg}. */
export interface AudioLegOptions {
  /** ICE servers as `stun:host:port` URLs (the ones the data connection uses); default none. */
  iceServers?: string[]
  /** Codecs in order of preference (default `['opus', 'pcmu']`); PCMU is added last when missing. */
  codecs?: CodecName[]
  /** Bind ICE to one local address (tests: `127.0.0.1`). */
  bindAddress?: string
  /** Rate of the frames `frames()` hands out (default: the codec's, 48 kHz for Opus, 8 kHz for PCMU). */
  sampleRate?: 8000 | 48000
  /** Jitter buffer playout delay to start with, ms (default 60). */
  playoutDelayMs?: number
  /** Adapt the playout delay to the arrival jitter, 20-200 ms (default true; receiver.ts). */
  adaptivePlayout?: boolean
  /** Jitter buffer capacity, packets (power of two, default 64). */
  jitterCapacity?: number
  /** Mean interval between RTCP reports, ms (default 1000). */
  rtcpIntervalMs?: number
  /** Time allowed from `accept`/`answer` to the track opening, ms (default 10 s). */
  connectTimeoutMs?: number
  /** Time allowed for ICE gathering before the SDP goes out with what it has, ms (default 5 s). */
  gatherTimeoutMs?: number
  /** How long the answerer holds back the offer's ICE candidates, ms (default 250; see the module documentation). */
  answererCandidateDelayMs?: number
  /** A name for logs and the native peer connection. */
  label?: string
  /**
   * Test hook: called with every incoming packet (RTP or RTCP) before it is
   * parsed; returning false drops it as if the network had (counted as
   * `filtered`). Tests simulate packet loss with it; production legs leave it out.
   */
  receiveFilter?: (packet: Uint8Array) => boolean
}

/** An SDP to hand to the far side, with its DTLS fingerprint (for the signed envelope). */
export interface LocalDescription {
  /** The complete SDP (ICE candidates included). */
  sdp: string
  /** The SHA-256 fingerprint of our DTLS certificate, as in the SDP. */
  fingerprint: string
}

/** Where a leg is. */
export type AudioLegState = 'new' | 'offered' | 'connecting' | 'open' | 'closed'

/** Send and receive statistics of a leg. */
export interface AudioLegStats extends ReceiverStats {
  /** The negotiated codec, once there is one. */
  codec?: CodecName
  /** ms from `accept`/`answer` to the track opening. */
  openMs?: number
  /** RTP packets sent. */
  packetsSent: number
  /** RTP payload bytes sent. */
  octetsSent: number
  /** RTCP reports sent. */
  rtcpSent: number
  /** Received frames dropped because a `frames()` reader fell behind. */
  framesUnread: number
}

/** Events of an {@link AudioLeg}. */
export interface AudioLegEvents {
  /** A frame was played out. */
  frame: CustomEvent<ReceivedFrame>
  /** The track is open and the fingerprint verified. */
  open: CustomEvent<undefined>
  /** The leg closed; `detail` is the reason when it failed, else null. */
  close: CustomEvent<MediaError | null>
}

interface FrameQueue {
  frames: ReceivedFrame[]
  wake: (() => void) | undefined
}

/** See the module documentation; made by {@link createAudioLeg}. */
export class AudioLeg extends TypedEventEmitter<AudioLegEvents> {
  private readonly options: AudioLegOptions
  private readonly codecs: CodecName[]
  private readonly pc: PeerConnection
  private readonly localSsrc = random32()
  private readonly cname = `parley-${random32().toString(36)}`
  private track: Track | undefined
  private role: 'offerer' | 'answerer' | undefined
  private offerSection: AudioSection | undefined
  private expected: string | undefined
  private sender: MediaSender | undefined
  private receiver: MediaReceiver | undefined
  private negotiated: CodecInfo | undefined
  private current: AudioLegState = 'new'
  private failure: MediaError | undefined
  private readonly openSignal = Promise.withResolvers<void>()
  private connectStarted = 0
  private openMs: number | undefined
  private timers: Array<ReturnType<typeof setTimeout>> = []
  private playout: ReturnType<typeof setInterval> | undefined
  private rtcpTimer: ReturnType<typeof setTimeout> | undefined
  private rtcpSent = 0
  private unread = 0
  private readonly queues = new Set<FrameQueue>()
  private trackOpen = false
  private connected = false

  constructor (options: AudioLegOptions = {}) {
    super()
    this.options = options
    const codecs = [...new Set(options.codecs ?? ['opus', 'pcmu'])].filter(c => c === 'opus' || c === 'pcmu')
    if (!codecs.includes('pcmu')) codecs.push('pcmu')
    this.codecs = codecs
    this.openSignal.promise.catch(() => {})
    this.pc = new ndc.PeerConnection(options.label ?? 'parley-audio', {
      iceServers: options.iceServers ?? [],
      ...(options.bindAddress === undefined ? {} : { bindAddress: options.bindAddress })
    })
    this.pc.onStateChange((state) => { this.onState(state) })
  }

  /** Where the leg is. */
  get state (): AudioLegState {
    return this.current
  }

  /** The negotiated codec, once both SDPs are known. */
  get codec (): CodecInfo | undefined {
    return this.negotiated
  }

  /** Why the leg failed, if it did. */
  get error (): MediaError | undefined {
    return this.failure
  }

  private addAudio (mid: string, codecs: CodecName[]): void {
    const audio = new ndc.Audio(mid, 'SendRecv')
    for (const c of codecs) {
      if (c === 'opus') audio.addOpusCodec(CODECS.opus.payloadType, 'minptime=10;useinbandfec=0')
      else audio.addAudioCodec(CODECS.pcmu.payloadType, 'PCMU')
    }
    audio.addSSRC(this.localSsrc, this.cname, this.cname, `${this.cname}-audio`)
    const track = this.pc.addTrack(audio)
    this.track = track
    track.onOpen(() => { this.trackOpen = true; this.maybeOpen() })
    track.onClosed(() => { if (this.current !== 'closed') this.close(this.current === 'open' ? undefined : new MediaError(MediaErrorCode.CONNECT, 'the audio track closed before it opened')) })
    track.onError((err) => { log.error('%s: track error %s', this.label, err) })
    track.onMessage((msg) => { this.onPacket(msg) })
  }

  private get label (): string {
    return this.options.label ?? 'leg'
  }

  private async localDescription (): Promise<LocalDescription> {
    const gathered = new Promise<void>((resolve) => {
      if (this.pc.gatheringState() === 'complete') { resolve(); return }
      this.pc.onGatheringStateChange((s) => { if (s === 'complete') resolve() })
      this.timers.push(setTimeout(resolve, this.options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS))
    })
    await gathered
    this.assertLive()
    const local = this.pc.localDescription()
    const fingerprint = local === null ? undefined : sdpFingerprint(local.sdp)
    if (local === null || fingerprint === undefined) throw this.fail(new MediaError(MediaErrorCode.CONNECT, 'no local description with a SHA-256 fingerprint'))
    return { sdp: local.sdp, fingerprint }
  }

  private assertLive (): void {
    if (this.current === 'closed') throw this.failure ?? new MediaError(MediaErrorCode.CLOSED, 'the leg is closed')
  }

  /** Makes the offer (the side that brings audio in): SDP with every ICE candidate, and our fingerprint. */
  async offer (): Promise<LocalDescription> {
    this.assertLive()
    if (this.role !== undefined) throw new MediaError(MediaErrorCode.STATE, `this leg is already the ${this.role}`)
    this.role = 'offerer'
    this.addAudio(AUDIO_MID, this.codecs)
    this.pc.setLocalDescription('offer')
    const local = await this.localDescription()
    this.offerSection = audioSection(local.sdp)
    this.current = 'offered'
    return local
  }

  private checkRemote (sdp: string, expectedFingerprint: string): AudioSection {
    try {
      const { section, expected } = checkRemoteSdp(sdp, expectedFingerprint)
      this.expected = expected
      return section
    } catch (err) {
      throw this.fail(err as MediaError)
    }
  }


  /** The offerer takes the answer and the fingerprint the answerer signed; resolves once audio flows both ways can start. */
  async accept (answerSdp: string, expectedFingerprint: string): Promise<void> {
    this.assertLive()
    if (this.role !== 'offerer' || this.current !== 'offered' || this.offerSection === undefined) throw new MediaError(MediaErrorCode.STATE, 'accept() follows offer()')
    const section = this.checkRemote(answerSdp, expectedFingerprint)
    const codec = chosenCodec(this.offerSection, section)
    if (codec === undefined) throw this.fail(new MediaError(MediaErrorCode.NO_CODEC, 'the answer names no codec of the offer'))
    this.setup(codec, section)
    this.connectStarted = performance.now()
    this.current = 'connecting'
    this.armTimeout()
    try {
      this.pc.setRemoteDescription(answerSdp, 'answer')
    } catch (err) {
      throw this.fail(new MediaError(MediaErrorCode.INVALID, `the answer was refused: ${(err as Error).message}`, { cause: err }))
    }
    await this.opened()
  }

  /**
   * The answerer takes the offer and the fingerprint the offerer signed, and
   * returns its answer (to sign and send back). `opened()` resolves once the
   * track is up.
   */
  async answer (offerSdp: string, expectedFingerprint: string): Promise<LocalDescription> {
    this.assertLive()
    if (this.role !== undefined) throw new MediaError(MediaErrorCode.STATE, `this leg is already the ${this.role}`)
    this.role = 'answerer'
    const section = this.checkRemote(offerSdp, expectedFingerprint)
    const offered = offeredCodecs(section)
    const mine = this.codecs.filter(c => offered.includes(c))
    if (mine.length === 0 || section.mid === '') throw this.fail(new MediaError(MediaErrorCode.NO_CODEC, 'the offer names no codec this leg speaks'))
    this.addAudio(section.mid, mine)
    this.connectStarted = performance.now()
    this.current = 'connecting'
    this.armTimeout()
    // the offer's candidates go in later: see the module documentation ("the offerer connects first")
    const { sdp: bare, candidates } = splitCandidates(offerSdp)
    try {
      this.pc.setRemoteDescription(bare, 'offer')
    } catch (err) {
      throw this.fail(new MediaError(MediaErrorCode.INVALID, `the offer was refused: ${(err as Error).message}`, { cause: err }))
    }
    const local = await this.localDescription()
    this.timers.push(setTimeout(() => { this.addCandidates(candidates, section.mid) }, this.options.answererCandidateDelayMs ?? DEFAULT_ANSWERER_CANDIDATE_DELAY_MS))
    const answer = audioSection(local.sdp)
    const codec = answer === undefined ? undefined : chosenCodec(section, answer)
    if (codec === undefined) throw this.fail(new MediaError(MediaErrorCode.NO_CODEC, 'the answer names no codec of the offer'))
    this.setup(codec, section)
    return local
  }

  private addCandidates (candidates: string[], mid: string): void {
    if (this.current !== 'connecting') return
    for (const candidate of candidates) {
      try {
        this.pc.addRemoteCandidate(candidate, mid)
      } catch (err) {
        log('%s: remote candidate refused: %s', this.label, (err as Error).message)
      }
    }
  }

  /** Resolves when the track is open and the far side's certificate matched; rejects with the reason the leg failed. */
  async opened (): Promise<void> {
    return this.openSignal.promise
  }

  private setup (codec: CodecName, remote: AudioSection): void {
    if (this.negotiated !== undefined) return
    this.negotiated = CODECS[codec]
    this.sender = new MediaSender(codec, { ssrc: this.localSsrc })
    this.receiver = new MediaReceiver({
      codec,
      localSsrc: this.localSsrc,
      ...(remote.ssrc === undefined ? {} : { remoteSsrc: remote.ssrc }),
      ...(this.options.sampleRate === undefined ? {} : { sampleRate: this.options.sampleRate }),
      ...(this.options.playoutDelayMs === undefined ? {} : { playoutDelayMs: this.options.playoutDelayMs }),
      ...(this.options.jitterCapacity === undefined ? {} : { jitterCapacity: this.options.jitterCapacity }),
      ...(this.options.adaptivePlayout === undefined ? {} : { adaptive: this.options.adaptivePlayout }),
      onFrame: (frame) => { this.deliver(frame) },
      onBye: () => {
        log('%s: the far side said BYE', this.label)
        queueMicrotask(() => { this.close() })
      }
    })
    this.maybeOpen()
  }

  private armTimeout (): void {
    const ms = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    this.timers.push(setTimeout(() => {
      if (this.current === 'connecting') this.fail(new MediaError(MediaErrorCode.CONNECT, `the audio track did not open within ${ms} ms`))
    }, ms))
  }

  private onState (state: string): void {
    log('%s: peer connection %s', this.label, state)
    if (state === 'connected') {
      this.connected = true
      this.maybeOpen()
    } else if (state === 'failed') {
      this.fail(this.certificateMismatch() ?? new MediaError(MediaErrorCode.CONNECT, 'the peer connection failed'))
    } else if (state === 'closed') {
      if (this.current === 'open') this.close()
      else if (this.current !== 'closed') this.fail(this.certificateMismatch() ?? new MediaError(MediaErrorCode.CONNECT, 'the peer connection closed before the track opened'))
    }
    // 'disconnected' can recover (ICE restarts its checks); 'failed' or 'closed' follow if it does not
  }

  /** A typed error when the certificate the far side presented is not the expected one. */
  private certificateMismatch (): MediaError | undefined {
    if (this.expected === undefined) return undefined
    let presented: string | undefined
    try {
      const fp = this.pc.remoteFingerprint()
      if (fp.algorithm !== 'sha-256' || fp.value === '') return undefined
      presented = normalizeFingerprint(fp.value)
    } catch {
      return undefined
    }
    if (presented === this.expected) return undefined
    return new MediaError(MediaErrorCode.FINGERPRINT, `the far side presented DTLS certificate ${String(presented)}, not the signed ${this.expected}`)
  }

  private maybeOpen (): void {
    if (this.current !== 'connecting' || !this.trackOpen || !this.connected || this.negotiated === undefined) return
    const fp = this.pc.remoteFingerprint()
    const presented = fp.algorithm === 'sha-256' ? normalizeFingerprint(fp.value) : undefined
    if (presented !== this.expected) {
      this.fail(new MediaError(MediaErrorCode.FINGERPRINT, `the far side presented DTLS certificate ${String(presented)} (${fp.algorithm}), not the signed ${String(this.expected)}`))
      return
    }
    this.current = 'open'
    this.openMs = performance.now() - this.connectStarted
    log('%s: open in %d ms with %s', this.label, Math.round(this.openMs), this.negotiated.name)
    this.playout = setInterval(() => { this.receiver?.tick(performance.now()) }, 5)
    this.scheduleRtcp()
    this.openSignal.resolve()
    this.safeDispatchEvent('open')
  }

  private onPacket (msg: Buffer): void {
    const receiver = this.receiver
    if (this.current === 'closed' || receiver === undefined) return
    try {
      const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength)
      if (this.options.receiveFilter !== undefined && !this.options.receiveFilter(bytes)) {
        receiver.filtered(bytes)
        return
      }
      receiver.receive(bytes, performance.now())
    } catch (err) {
      // the receiver does not throw; this guards the native callback all the same
      log.error('%s: incoming packet: %e', this.label, err)
    }
  }

  private deliver (frame: ReceivedFrame): void {
    this.safeDispatchEvent('frame', { detail: frame })
    for (const q of this.queues) {
      q.frames.push(frame)
      if (q.frames.length > MAX_QUEUED_FRAMES) {
        q.frames.shift()
        this.unread++
      }
      q.wake?.()
    }
  }

  /**
   * Sends one 20 ms frame (mono 16-bit at 8 or 48 kHz; resampled to the
   * codec's rate if needed). Returns false when the leg is not open or the
   * transport refused the packet; throws `ERR_MEDIA_FRAME` for a frame that
   * is not 20 ms at a supported rate.
   */
  send (frame: PcmFrame): boolean {
    if (this.current !== 'open' || this.sender === undefined || this.track === undefined) return false
    const packet = this.sender.packetize(frame)
    return this.transmit(packet)
  }

  private transmit (packet: Uint8Array): boolean {
    try {
      return this.track?.sendMessageBinary(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)) ?? false
    } catch (err) {
      log('%s: send failed: %s', this.label, (err as Error).message)
      return false
    }
  }

  private scheduleRtcp (): void {
    const mean = this.options.rtcpIntervalMs ?? DEFAULT_RTCP_INTERVAL_MS
    this.rtcpTimer = setTimeout(() => {
      if (this.current !== 'open') return
      this.sendRtcp()
      this.scheduleRtcp()
    }, mean * (0.5 + Math.random()))
  }

  /** Sends a report now: a sender report if we sent audio since the last, else a receiver report; with our CNAME. */
  private sendRtcp (): void {
    const sender = this.sender
    const receiver = this.receiver
    if (sender === undefined || receiver === undefined) return
    const now = performance.now()
    const block = receiver.reportBlock(now)
    const reports = block === undefined ? [] : [block]
    const report = sender.rtp.packets > 0
      ? (() => {
          const t = ntpTime(Date.now())
          return buildSenderReport({ ssrc: this.localSsrc, ntpSeconds: t.seconds, ntpFraction: t.fraction, rtpTimestamp: sender.rtp.timestamp, packetCount: sender.rtp.packets, octetCount: sender.rtp.octets, reports })
        })()
      : buildReceiverReport({ ssrc: this.localSsrc, reports })
    if (this.transmit(compound(report, buildSdesCname(this.localSsrc, this.cname)))) this.rtcpSent++
  }

  /** The frames played out, as an async iterable; ends when the leg closes. A slow reader loses the oldest frames. */
  frames (): AsyncIterableIterator<ReceivedFrame> {
    const q: FrameQueue = { frames: [], wake: undefined }
    this.queues.add(q)
    const iterator: AsyncIterableIterator<ReceivedFrame> = {
      next: async (): Promise<IteratorResult<ReceivedFrame>> => {
        while (true) {
          const frame = q.frames.shift()
          if (frame !== undefined) return { done: false, value: frame }
          if (this.current === 'closed' || !this.queues.has(q)) return { done: true, value: undefined }
          await new Promise<void>((resolve) => { q.wake = resolve })
          q.wake = undefined
        }
      },
      return: async (): Promise<IteratorResult<ReceivedFrame>> => {
        this.queues.delete(q)
        q.wake?.()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]: () => iterator
    }
    return iterator
  }

  /** Statistics: RTP/RTCP counts both ways, loss, jitter, drops by reason, the far side's view of our stream. */
  stats (): AudioLegStats {
    const received = this.receiver?.snapshot()
    const out: AudioLegStats = {
      packetsReceived: 0,
      bytesReceived: 0,
      rtcpReceived: 0,
      senderReportsReceived: 0,
      packetsLost: 0,
      jitterMs: 0,
      framesPlayed: 0,
      framesConcealed: 0,
      buffered: 0,
      playoutDelayMs: this.options.playoutDelayMs ?? DEFAULT_PLAYOUT_DELAY_MS,
      framesStretched: 0,
      framesSkipped: 0,
      drops: { 'malformed-rtp': 0, version: 0, 'malformed-rtcp': 0, oversize: 0, 'payload-type': 0, ssrc: 0, late: 0, duplicate: 0, 'too-far': 0, overflow: 0, decode: 0, filtered: 0 },
      ...received,
      packetsSent: this.sender?.rtp.packets ?? 0,
      octetsSent: this.sender?.rtp.octets ?? 0,
      rtcpSent: this.rtcpSent,
      framesUnread: this.unread
    }
    if (this.negotiated !== undefined) out.codec = this.negotiated.name
    if (this.openMs !== undefined) out.openMs = this.openMs
    return out
  }

  private fail (error: MediaError): MediaError {
    if (this.current !== 'closed') {
      log('%s: failed: %s', this.label, error.message)
      this.close(error)
    }
    return error
  }

  /** Closes the leg (the peer connection with it); `error` is the reason when it failed. Idempotent. */
  close (error?: MediaError): void {
    if (this.current === 'closed') return
    this.current = 'closed'
    this.failure = error
    for (const t of this.timers) clearTimeout(t)
    this.timers = []
    if (this.playout !== undefined) clearInterval(this.playout)
    if (this.rtcpTimer !== undefined) clearTimeout(this.rtcpTimer)
    // tell the far side at once (RTCP BYE), rather than leaving it to notice the silence
    if (this.trackOpen && this.negotiated !== undefined) this.transmit(compound(buildReceiverReport({ ssrc: this.localSsrc, reports: [] }), buildBye(this.localSsrc)))
    try {
      this.track?.close()
      this.pc.close()
    } catch (err) {
      log('%s: close: %s', this.label, (err as Error).message)
    }
    this.openSignal.reject(error ?? new MediaError(MediaErrorCode.CLOSED, 'the leg closed'))
    for (const q of this.queues) q.wake?.()
    this.safeDispatchEvent('close', { detail: error ?? null })
  }
}

/** A new audio leg; call `offer()` on the side that brings audio in, `answer()` on the other. */
export function createAudioLeg (options: AudioLegOptions = {}): AudioLeg {
  return new AudioLeg(options)
}
