/**
 * An audio leg in a browser tab (protocols/media): the browser's own
 * `RTCPeerConnection`, media first, carrying one two-way audio track — the
 * microphone out (`getUserMedia({ audio: true })`, or a track the page
 * gives), the far side's audio in as a `MediaStream` ({@link BrowserAudioLeg.remoteStream})
 * for an `<audio>` element or Web Audio. It speaks to Node's leg
 * (libdatachannel, src/media/leg.ts) and to other browsers.
 *
 * Signalling is the session's, as for every leg: `offer()` and `answer()`
 * hand out complete SDP (ICE gathered, candidates in it, no trickle) and the
 * DTLS fingerprint read from it (`a=fingerprint:sha-256`); `accept()` and
 * `answer()` take the far side's SDP with the fingerprint its signed envelope
 * named, and refuse an SDP that declares another (`ERR_MEDIA_FINGERPRINT`).
 * The browser itself refuses a DTLS certificate that does not match the SDP
 * it applied; once connected the leg also reads the certificate the far side
 * presented from `getStats()` and checks it against the signed fingerprint.
 *
 * Codecs: Opus preferred, PCMU kept (`setCodecPreferences`), so the SDP lists
 * payload types 111 and 0 only, as Parley's offers do. As answerer the leg
 * holds back the offer's ICE candidates until its answer is out (as Node's
 * leg does: the offerer connects first; see leg.ts).
 *
 * What differs from Node's leg, because the audio is the browser's:
 * - `send(frame)` is not supported: the microphone track carries the audio.
 *   It throws `ERR_MEDIA_STATE`. To send synthesized audio, give the leg a
 *   track (`track` option: an `OscillatorNode` into a
 *   `MediaStreamAudioDestinationNode`, say).
 * - no `frame` event: the far side's audio is played by the browser; read it
 *   from {@link BrowserAudioLeg.remoteStream} (an `AnalyserNode`, an
 *   `AudioWorklet`).
 * - {@link BrowserAudioLeg.mute} (`track.enabled`): a muted leg sends silence.
 *
 * Once the microphone is granted, Chromium gathers host candidates with the
 * machine's addresses rather than mDNS names (which libdatachannel cannot
 * resolve), so the leg asks for the microphone before it makes its SDP. A
 * leg given a `track` on a page without that permission offers mDNS host
 * candidates: a Node peer then reaches it only through its server-reflexive
 * candidate (the relays' STUN), not on a LAN.
 */
import { TypedEventEmitter } from 'main-event'
import type { MediaDescription, MediaLeg } from './calls.js'
import { CODECS } from './codecs.js'
import type { CodecInfo, CodecName } from './codecs.js'
import { DEFAULT_ANSWERER_CANDIDATE_DELAY_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_GATHER_TIMEOUT_MS } from './constants.js'
import { MediaError, MediaErrorCode } from './errors.js'
import type { PcmFrame, ReceivedFrame } from './frame.js'
import { audioSection, checkRemoteSdp, chosenCodec, normalizeFingerprint, offeredCodecs, sdpFingerprint, splitCandidates } from './sdp.js'
import type { AudioSection } from './sdp.js'

/** Options of {@link createBrowserAudioLeg}. */
export interface BrowserAudioLegOptions {
  /** ICE servers: `stun:host:port` URLs (the relays' STUN servers), or `RTCIceServer`s. */
  iceServers?: Array<string | RTCIceServer>
  /**
   * The audio to send; default: the microphone, asked for with
   * `getUserMedia({ audio })` when the leg makes or answers an offer (a
   * refusal is `ERR_MEDIA_REFUSED`, no microphone `ERR_MEDIA_STATE`). An
   * answering tab asks while the far side's `media/join` waits (20 s).
   */
  track?: MediaStreamTrack
  /** The constraints `getUserMedia` is given when no `track` is (default `true`). */
  audio?: boolean | MediaTrackConstraints
  /** Codecs in order of preference (default `['opus', 'pcmu']`); PCMU is added last when missing. */
  codecs?: CodecName[]
  /** Time allowed from `accept`/`answer` to the audio opening, ms (default 10 s). */
  connectTimeoutMs?: number
  /** Time allowed for ICE gathering before the SDP goes out with what it has, ms (default 5 s). */
  gatherTimeoutMs?: number
  /** How long the answerer holds back the offer's ICE candidates, ms (default 250). */
  answererCandidateDelayMs?: number
  /** A name for errors and logs. */
  label?: string
}

/** Where the time of setting a {@link BrowserAudioLeg} up went, ms. */
export interface BrowserAudioLegTimings {
  /** Asking for the microphone (`getUserMedia`), when the leg did. */
  microphoneMs?: number
  /** ICE gathering, until the SDP with every candidate was ready. */
  gatherMs?: number
  /** From having both SDPs to the audio open (ICE, DTLS, the certificate checked). */
  openMs?: number
}

/** Where a {@link BrowserAudioLeg} is. */
export type BrowserAudioLegState = 'new' | 'offered' | 'connecting' | 'open' | 'closed'

/** Events of a {@link BrowserAudioLeg}. */
export interface BrowserAudioLegEvents {
  /** Never dispatched in a browser: the far side's audio is {@link BrowserAudioLeg.remoteStream}. */
  frame: CustomEvent<ReceivedFrame>
  /** The audio is open and the far side's certificate checked. */
  open: CustomEvent<undefined>
  /** The far side's track arrived on {@link BrowserAudioLeg.remoteStream}. */
  track: CustomEvent<MediaStreamTrack>
  /** The leg closed; `detail` is the reason when it failed, else null. */
  close: CustomEvent<MediaError | null>
}

/** See the module documentation; made by {@link createBrowserAudioLeg}. */
export class BrowserAudioLeg extends TypedEventEmitter<BrowserAudioLegEvents> implements MediaLeg {
  /** The far side's audio: attach it to an `<audio>` element (`srcObject`), or a Web Audio graph. */
  readonly remoteStream: MediaStream
  readonly #options: BrowserAudioLegOptions
  readonly #codecs: CodecName[]
  readonly #pc: RTCPeerConnection
  #track: MediaStreamTrack | undefined
  /** We asked for the microphone, so we stop it when the leg closes. */
  #ownTrack = false
  #role: 'offerer' | 'answerer' | undefined
  #offerSection: AudioSection | undefined
  #expected: string | undefined
  #negotiated: CodecInfo | undefined
  #state: BrowserAudioLegState = 'new'
  #failure: MediaError | undefined
  readonly #openSignal = Promise.withResolvers<void>()
  #timers: Array<ReturnType<typeof setTimeout>> = []
  #muted = false
  #connectStarted = 0
  readonly #timings: BrowserAudioLegTimings = {}
  #presented: string | undefined

  constructor (options: BrowserAudioLegOptions = {}) {
    super()
    this.#options = options
    const codecs = [...new Set(options.codecs ?? ['opus', 'pcmu'])].filter(c => c === 'opus' || c === 'pcmu')
    if (!codecs.includes('pcmu')) codecs.push('pcmu')
    this.#codecs = codecs
    this.#openSignal.promise.catch(() => {})
    this.remoteStream = new MediaStream()
    const iceServers = (options.iceServers ?? []).map(s => typeof s === 'string' ? { urls: s } : s)
    this.#pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' })
    this.#pc.addEventListener('track', (e) => {
      if (e.track.kind !== 'audio' || this.remoteStream.getTrackById(e.track.id) !== null) return
      this.remoteStream.addTrack(e.track)
      this.safeDispatchEvent('track', { detail: e.track })
    })
    this.#pc.addEventListener('connectionstatechange', () => { this.#onState(this.#pc.connectionState) })
  }

  /** Where the leg is. */
  get state (): BrowserAudioLegState {
    return this.#state
  }

  /** The negotiated codec, once both SDPs are known. */
  get codec (): CodecInfo | undefined {
    return this.#negotiated
  }

  /** Why the leg failed, if it did. */
  get error (): MediaError | undefined {
    return this.#failure
  }

  /** ms from having both SDPs to the audio opening, once open. */
  get openMs (): number | undefined {
    return this.#timings.openMs
  }

  /** Where the set-up time went: the microphone, ICE gathering, connecting. */
  get timings (): BrowserAudioLegTimings {
    return { ...this.#timings }
  }

  /**
   * The SHA-256 fingerprint of the DTLS certificate the far side presented,
   * as `getStats()` reported it when the leg opened (equal to the signed one,
   * or the leg would have failed); undefined where the browser does not report it.
   */
  get presentedFingerprint (): string | undefined {
    return this.#presented
  }

  /** The track we send (the microphone), once there is one. */
  get localTrack (): MediaStreamTrack | undefined {
    return this.#track
  }

  /** Whether the leg sends silence ({@link BrowserAudioLeg.mute}). */
  get muted (): boolean {
    return this.#muted
  }

  /** Mutes (`true`, the default) or unmutes our side: the track stays, disabled, and sends silence. */
  mute (muted = true): void {
    this.#muted = muted
    if (this.#track !== undefined) this.#track.enabled = !muted
  }

  /** The underlying peer connection (for `getStats()`). */
  get peerConnection (): RTCPeerConnection {
    return this.#pc
  }

  async #localTrack (): Promise<MediaStreamTrack> {
    if (this.#track !== undefined) return this.#track
    let track = this.#options.track
    if (track === undefined) {
      if (globalThis.navigator?.mediaDevices?.getUserMedia === undefined) throw this.#fail(new MediaError(MediaErrorCode.STATE, 'this page has no getUserMedia (not a secure context?) and the leg was given no track'))
      let stream: MediaStream
      const t0 = performance.now()
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: this.#options.audio ?? true })
      } catch (err) {
        // the person said no (or the page may not ask): the leg is declined; else no microphone to be had
        const declined = (err as Error).name === 'NotAllowedError'
        throw this.#fail(new MediaError(declined ? MediaErrorCode.REFUSED : MediaErrorCode.STATE, `${declined ? 'the microphone was not allowed' : 'no microphone'}: ${(err as Error).message}`, { cause: err }))
      }
      this.#timings.microphoneMs = performance.now() - t0
      track = stream.getAudioTracks()[0]
      if (track === undefined) throw this.#fail(new MediaError(MediaErrorCode.STATE, 'getUserMedia gave no audio track'))
      this.#ownTrack = true
    }
    this.#assertLive()
    track.enabled = !this.#muted
    this.#track = track
    return track
  }

  /** Orders the transceiver's codecs: ours (Opus, PCMU), nothing else. */
  #preferCodecs (transceiver: RTCRtpTransceiver): void {
    const capabilities = globalThis.RTCRtpReceiver?.getCapabilities?.('audio')?.codecs ?? []
    const wanted = this.#codecs.flatMap(name => capabilities.filter(c => c.mimeType.toLowerCase() === `audio/${name}` && c.clockRate === CODECS[name].clockRate))
    if (wanted.length === 0 || typeof transceiver.setCodecPreferences !== 'function') return
    try {
      transceiver.setCodecPreferences(wanted)
    } catch {
      // a browser that refuses leaves its defaults, which include Opus and PCMU
    }
  }

  async #localDescription (): Promise<MediaDescription> {
    const pc = this.#pc
    const t0 = performance.now()
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') { resolve(); return }
      const check = (): void => { if (pc.iceGatheringState === 'complete') resolve() }
      pc.addEventListener('icegatheringstatechange', check)
      pc.addEventListener('icecandidate', (e) => { if (e.candidate === null) resolve() })
      this.#timers.push(setTimeout(resolve, this.#options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS))
    })
    this.#assertLive()
    this.#timings.gatherMs = performance.now() - t0
    const sdp = pc.localDescription?.sdp
    const fingerprint = sdp === undefined ? undefined : sdpFingerprint(sdp)
    if (sdp === undefined || fingerprint === undefined) throw this.#fail(new MediaError(MediaErrorCode.CONNECT, 'no local description with a SHA-256 fingerprint'))
    return { sdp, fingerprint }
  }

  #assertLive (): void {
    if (this.#state === 'closed') throw this.#failure ?? new MediaError(MediaErrorCode.CLOSED, 'the leg is closed')
  }

  /** Makes the offer: asks for the microphone (unless given a track), then SDP with every ICE candidate, and our fingerprint. */
  async offer (): Promise<MediaDescription> {
    this.#assertLive()
    if (this.#role !== undefined) throw new MediaError(MediaErrorCode.STATE, `this leg is already the ${this.#role}`)
    this.#role = 'offerer'
    const track = await this.#localTrack()
    const transceiver = this.#pc.addTransceiver(track, { direction: 'sendrecv' })
    this.#preferCodecs(transceiver)
    await this.#pc.setLocalDescription(await this.#pc.createOffer())
    const local = await this.#localDescription()
    this.#offerSection = audioSection(local.sdp)
    this.#state = 'offered'
    return local
  }

  #checkRemote (sdp: string, expectedFingerprint: string): AudioSection {
    try {
      const { section, expected } = checkRemoteSdp(sdp, expectedFingerprint)
      this.#expected = expected
      return section
    } catch (err) {
      throw this.#fail(err as MediaError)
    }
  }


  /** The offerer takes the answer and the fingerprint the answerer signed; resolves once the audio is open. */
  async accept (answerSdp: string, expectedFingerprint: string): Promise<void> {
    this.#assertLive()
    if (this.#role !== 'offerer' || this.#state !== 'offered' || this.#offerSection === undefined) throw new MediaError(MediaErrorCode.STATE, 'accept() follows offer()')
    const section = this.#checkRemote(answerSdp, expectedFingerprint)
    const codec = chosenCodec(this.#offerSection, section)
    if (codec === undefined) throw this.#fail(new MediaError(MediaErrorCode.NO_CODEC, 'the answer names no codec of the offer'))
    this.#negotiated = CODECS[codec]
    this.#connecting()
    try {
      await this.#pc.setRemoteDescription({ type: 'answer', sdp: answerSdp })
    } catch (err) {
      throw this.#fail(new MediaError(MediaErrorCode.INVALID, `the answer was refused: ${(err as Error).message}`, { cause: err }))
    }
    this.#maybeOpen()
    await this.opened()
  }

  /**
   * The answerer takes the offer and the fingerprint the offerer signed, asks
   * for the microphone (unless given a track), and returns its answer.
   * `opened()` resolves once the audio is up.
   */
  async answer (offerSdp: string, expectedFingerprint: string): Promise<MediaDescription> {
    this.#assertLive()
    if (this.#role !== undefined) throw new MediaError(MediaErrorCode.STATE, `this leg is already the ${this.#role}`)
    this.#role = 'answerer'
    const section = this.#checkRemote(offerSdp, expectedFingerprint)
    if (!this.#codecs.some(c => offeredCodecs(section).includes(c)) || section.mid === '') throw this.#fail(new MediaError(MediaErrorCode.NO_CODEC, 'the offer names no codec this leg speaks'))
    const track = await this.#localTrack()
    this.#connecting()
    // the offer's candidates go in after our answer is out (the offerer connects first: leg.ts)
    const { sdp: bare, candidates } = splitCandidates(offerSdp)
    try {
      await this.#pc.setRemoteDescription({ type: 'offer', sdp: bare.endsWith('\r\n') ? bare : `${bare}\r\n` })
    } catch (err) {
      throw this.#fail(new MediaError(MediaErrorCode.INVALID, `the offer was refused: ${(err as Error).message}`, { cause: err }))
    }
    const transceiver = this.#pc.getTransceivers().find(t => t.mid === section.mid) ?? this.#pc.getTransceivers()[0]
    if (transceiver === undefined) throw this.#fail(new MediaError(MediaErrorCode.INVALID, 'the offer made no audio transceiver'))
    transceiver.direction = 'sendrecv'
    await transceiver.sender.replaceTrack(track)
    this.#preferCodecs(transceiver)
    await this.#pc.setLocalDescription(await this.#pc.createAnswer())
    const local = await this.#localDescription()
    this.#timers.push(setTimeout(() => { void this.#addCandidates(candidates, section.mid) }, this.#options.answererCandidateDelayMs ?? DEFAULT_ANSWERER_CANDIDATE_DELAY_MS))
    const answer = audioSection(local.sdp)
    const codec = answer === undefined ? undefined : chosenCodec(section, answer)
    if (codec === undefined) throw this.#fail(new MediaError(MediaErrorCode.NO_CODEC, 'the answer names no codec of the offer'))
    this.#negotiated = CODECS[codec]
    this.#maybeOpen()
    return local
  }

  async #addCandidates (candidates: string[], mid: string): Promise<void> {
    for (const candidate of candidates) {
      if (this.#state !== 'connecting') return
      await this.#pc.addIceCandidate({ candidate, sdpMid: mid }).catch(() => {
        // one candidate the browser cannot use (another address family, say) does not end the leg
      })
    }
  }

  #connecting (): void {
    this.#state = 'connecting'
    this.#connectStarted = performance.now()
    const ms = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    this.#timers.push(setTimeout(() => {
      if (this.#state === 'connecting') this.#fail(new MediaError(MediaErrorCode.CONNECT, `the audio did not open within ${ms} ms`))
    }, ms))
  }

  /** Resolves when the audio is open and the far side's certificate matched; rejects with the reason the leg failed. */
  async opened (): Promise<void> {
    return this.#openSignal.promise
  }

  #onState (state: RTCPeerConnectionState): void {
    if (state === 'connected') this.#maybeOpen()
    else if (state === 'failed') this.#fail(new MediaError(MediaErrorCode.CONNECT, 'the peer connection failed'))
    else if (state === 'closed' && this.#state !== 'closed') this.close(this.#state === 'open' ? undefined : new MediaError(MediaErrorCode.CONNECT, 'the peer connection closed before the audio opened'))
  }

  #maybeOpen (): void {
    if (this.#state !== 'connecting' || this.#pc.connectionState !== 'connected' || this.#negotiated === undefined) return
    void this.#presentedFingerprint().then((presented) => {
      if (this.#state !== 'connecting') return
      if (presented !== undefined && presented !== this.#expected) {
        this.#fail(new MediaError(MediaErrorCode.FINGERPRINT, `the far side presented DTLS certificate ${presented}, not the signed ${String(this.#expected)}`))
        return
      }
      this.#presented = presented
      this.#state = 'open'
      this.#timings.openMs = performance.now() - this.#connectStarted
      this.#openSignal.resolve()
      this.safeDispatchEvent('open')
    })
  }

  /** The SHA-256 fingerprint of the certificate the far side presented, from `getStats()` (undefined where the browser does not say). */
  async #presentedFingerprint (): Promise<string | undefined> {
    try {
      const stats = await this.#pc.getStats()
      const all: Array<{ id: string, type: string, remoteCertificateId?: string, fingerprint?: string, fingerprintAlgorithm?: string }> = []
      stats.forEach((s: typeof all[number]) => { all.push(s) })
      const certificateId = all.find(s => s.type === 'transport' && typeof s.remoteCertificateId === 'string')?.remoteCertificateId
      const cert = certificateId === undefined ? undefined : all.find(s => s.id === certificateId)
      if (cert?.fingerprint === undefined || cert.fingerprintAlgorithm?.toLowerCase() !== 'sha-256') return undefined
      return normalizeFingerprint(cert.fingerprint) ?? cert.fingerprint
    } catch {
      return undefined
    }
  }

  /**
   * Not supported in a browser: the microphone track (or the `track` given)
   * carries the audio. Throws `ERR_MEDIA_STATE`.
   */
  send (frame: PcmFrame): boolean {
    void frame
    throw new MediaError(MediaErrorCode.STATE, 'a browser leg sends its track (the microphone, or the track it was given), not PCM frames')
  }

  #fail (error: MediaError): MediaError {
    if (this.#state !== 'closed') this.close(error)
    return error
  }

  /** Closes the leg (the peer connection, and the microphone if the leg asked for it); `error` is the reason when it failed. Idempotent. */
  close (error?: MediaError): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#failure = error
    for (const t of this.#timers) clearTimeout(t)
    this.#timers = []
    try {
      this.#pc.close()
    } catch {
      // closing a closed connection
    }
    if (this.#ownTrack) this.#track?.stop()
    for (const t of this.remoteStream.getTracks()) t.stop()
    this.#openSignal.reject(error ?? new MediaError(MediaErrorCode.CLOSED, 'the leg closed'))
    this.safeDispatchEvent('close', { detail: error ?? null })
  }
}

/** A new browser audio leg; call `offer()` on the side that brings audio in, `answer()` on the other. */
export function createBrowserAudioLeg (options: BrowserAudioLegOptions = {}): BrowserAudioLeg {
  return new BrowserAudioLeg(options)
}

/**
 * The browser platform's `audioLeg` (src/agent/browser.ts): a leg with the
 * relays' STUN servers and those of the agent's ICE configuration, sending
 * the microphone.
 */
export function browserAudioLeg (options: { iceServers: string[], label: string }, rtc: RTCConfiguration): BrowserAudioLeg {
  const servers: Array<string | RTCIceServer> = [...(rtc.iceServers ?? []), ...new Set(options.iceServers)]
  return createBrowserAudioLeg({ iceServers: servers, label: options.label })
}
