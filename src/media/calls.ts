/**
 * Audio inside a session (protocols/media): `media/join` and `media/leave`
 * carried as requests on the session, so the offer, the answer and both DTLS
 * fingerprints travel in envelopes signed by the identities the session
 * verified. One leg per session at a time; leaving it leaves the session as
 * it was. The legs themselves come from the platform (`createLeg`: a
 * media-first node-datachannel connection in Node, the page's own
 * `RTCPeerConnection` and microphone in a browser: src/media/browser-leg.ts),
 * so this module runs anywhere.
 *
 * @example
 * ```ts
 * import type { Agent } from 'parley-mesh'
 *
 * declare const human: Agent // created with kind: 'human'
 * const session = await human.connect('@rapidplumb')
 * const call = await human.media.join(session)
 * call.leg.addEventListener('frame', (e) => { speaker(e.detail.samples) })
 * microphone((frame) => call.leg.send(frame))
 * await human.media.leave(session) // the session goes on
 * declare function speaker (samples: Int16Array): void
 * declare function microphone (onFrame: (frame: import('parley-mesh').PcmFrame) => void): void
 * ```
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import type { Caller, HandlerContext, HandlerParams, Session } from '../session/session.js'
import { RpcError } from '../envelope/rpc-error.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { randomToken } from '../envelope/envelope.js'
import type { CodecInfo, CodecName } from './codecs.js'
import { JOIN_METHOD, LEAVE_METHOD, MEDIA_REFUSED_RPC_CODE } from './constants.js'
import { MediaError, MediaErrorCode } from './errors.js'
import type { PcmFrame, ReceivedFrame } from './frame.js'
import { audioSection, offeredCodecs } from './sdp.js'
import { admitJoin, mayOffer, parseAnswer, parseJoin, parseLeave } from './wire.js'
import type { MediaJoin, MediaParty } from './wire.js'

const log = logger('parley:media:calls')

/** Time a `media/join` waits for its answer (the far side gathers ICE first). */
export const JOIN_TIMEOUT_MS = 20_000

/** An SDP with the DTLS fingerprint it names, as a signed `media/join` carries it. */
export interface MediaDescription {
  /** The complete SDP (ICE candidates included). */
  sdp: string
  /** The SHA-256 fingerprint of the DTLS certificate, as in the SDP. */
  fingerprint: string
}

/** Who speaks on each side of a call. */
export interface CallParties {
  /** On our side. */
  local: MediaParty
  /** On the far side, as its signed message said. */
  remote: MediaParty
}

/** What the signalling needs of an audio leg (an `AudioLeg` in Node, a `BrowserAudioLeg` in a tab). */
export interface MediaLeg {
  /** Our SDP offer, ICE gathered, with our DTLS fingerprint. */
  offer: () => Promise<MediaDescription>
  /** Applies the far side's answer, refusing it unless its fingerprint is `expectedFingerprint`; resolves once the audio is open. */
  accept: (sdp: string, expectedFingerprint: string) => Promise<void>
  /** Answers the far side's offer, refusing it unless its fingerprint is `expectedFingerprint`. */
  answer: (sdp: string, expectedFingerprint: string) => Promise<MediaDescription>
  /** Resolves once the audio is open and the far side's certificate checked. */
  opened: () => Promise<void>
  /** The codec in use, once negotiated. */
  readonly codec: CodecInfo | undefined
  /** Sends one 20 ms frame. */
  send: (frame: PcmFrame) => boolean
  /** Closes the leg (with the error that ended it, if one did). */
  close: (error?: MediaError) => void
  /** A played-out frame of the far side's audio. */
  addEventListener: ((type: 'frame', listener: (e: CustomEvent<ReceivedFrame>) => void, options?: { once?: boolean }) => void) &
  /** The leg closed: `detail` is the error that ended it, or null. */
  ((type: 'close', listener: (e: CustomEvent<MediaError | null>) => void, options?: { once?: boolean }) => void)
}

/** A session's audio leg, and who is on it. */
export interface Call {
  /** The leg's id (protocols/media §2). */
  readonly id: string
  /** The session the leg belongs to. */
  readonly session: Session
  /** The far side, as the session verified it. */
  readonly remote: Caller
  /** Who speaks on our side, and on theirs. */
  readonly joining: CallParties
  /** The codec in use. */
  readonly codec: CodecName
  /** The leg: `send` PCM frames, listen for `frame`. */
  readonly leg: MediaLeg
}

/** Events of {@link MediaCalls}. */
export interface MediaCallsEvents {
  /** The far side joined a session of ours by voice: plug audio into `detail.leg`. */
  call: CustomEvent<Call>
  /** A leg ended (`detail`); its session goes on. */
  'call:end': CustomEvent<Call>
}

/** What {@link MediaCalls} is given by the node it runs on. */
export interface MediaCallsInit {
  /** This node's kind (known once it started): a `human` node has a person on the line. */
  kind: () => 'human' | 'agent'
  /** A new leg using these ICE servers, or undefined when this node carries no audio. */
  createLeg?: (options: { iceServers: string[], label: string }) => MediaLeg
  /** The ICE servers the data connections use (the relays' STUN servers). */
  iceServers: () => string[]
}

/** The audio legs of a node's sessions (see the module documentation). */
export class MediaCalls extends TypedEventEmitter<MediaCallsEvents> {
  readonly #init: MediaCallsInit
  /** Legs by session, and sessions with a leg being set up. */
  readonly #calls = new Map<Session, Call | 'setting-up'>()

  constructor (init: MediaCallsInit) {
    super()
    this.#init = init
  }

  /** The call on `session`, if it has an open leg. */
  call (session: Session): Call | undefined {
    const c = this.#calls.get(session)
    return c === 'setting-up' ? undefined : c
  }

  /**
   * Joins `session` by voice: offers an audio leg in a signed `media/join`
   * and resolves once the audio is open. `joining` says who speaks on our
   * side (default: `human` on a human-kind node, else `agent`); two agents
   * never carry audio (`ERR_MEDIA_REFUSED`).
   */
  async join (session: Session, options: { joining?: MediaParty, codecs?: CodecName[] } = {}): Promise<Call> {
    const remote = await session.ready
    const local: MediaParty = options.joining ?? (this.#init.kind() === 'human' ? 'human' : 'agent')
    if (!mayOffer(local, remote.kind)) throw new MediaError(MediaErrorCode.REFUSED, 'both ends are agents and no human is joining: sessions between agents carry no audio')
    const leg = this.#newLeg(session, 'offer')
    this.#calls.set(session, 'setting-up')
    try {
      const offer = await leg.offer()
      const join: MediaJoin = { leg: randomToken(), joining: local, sdp: offer.sdp, fingerprint: offer.fingerprint, codecs: offeredCodecs(audioSection(offer.sdp) ?? noAudio()) }
      const result = await session.request(JOIN_METHOD, join as unknown as Record<string, JsonValue>, { timeoutMs: JOIN_TIMEOUT_MS }).catch((err: unknown) => {
        const code = (err as RpcError).data as { code?: string } | undefined
        if (err instanceof RpcError && err.code === MEDIA_REFUSED_RPC_CODE && typeof code?.code === 'string') {
          throw new MediaError(code.code as MediaErrorCode, `the far side refused the audio: ${err.message}`)
        }
        throw err
      })
      const answer = parseAnswer(result, join)
      await leg.accept(answer.sdp, answer.fingerprint)
      return this.#started(session, remote, leg, join.leg, { local, remote: answer.joining }, answer.codec)
    } catch (err) {
      this.#calls.delete(session)
      leg.close(err instanceof MediaError ? err : undefined)
      throw err
    }
  }

  /** Leaves the audio of `session` (a signed `media/leave`); the session goes on. */
  async leave (session: Session): Promise<void> {
    const call = this.call(session)
    if (call === undefined) return
    call.leg.close()
    if (!session.closed) await session.notify(LEAVE_METHOD, { leg: call.id }).catch(err => { log('could not say media/leave: %e', err) })
  }

  /** The `media/join` handler (protocols/media §1-3): refusals are `-32006` with the reason in `data.code`. */
  readonly onJoin = async (params: HandlerParams, context: HandlerContext): Promise<JsonValue> => {
    const { session, caller } = context
    try {
      const join = parseJoin(params)
      admitJoin(join.joining, this.#init.kind() === 'human')
      const leg = this.#newLeg(session, 'answer')
      this.#calls.set(session, 'setting-up')
      try {
        const answer = await leg.answer(join.sdp, join.fingerprint)
        const codec = offeredCodecs(audioSection(answer.sdp) ?? noAudio()).find(c => join.codecs.includes(c))
        if (codec === undefined) throw new MediaError(MediaErrorCode.NO_CODEC, 'no codec in common')
        const local: MediaParty = this.#init.kind() === 'human' ? 'human' : 'agent'
        const call = this.#started(session, caller, leg, join.leg, { local, remote: join.joining }, codec)
        this.safeDispatchEvent('call', { detail: call })
        return { leg: join.leg, joining: local, sdp: answer.sdp, fingerprint: answer.fingerprint, codec }
      } catch (err) {
        this.#calls.delete(session)
        leg.close(err instanceof MediaError ? err : undefined)
        throw err
      }
    } catch (err) {
      if (err instanceof MediaError) throw new RpcError(MEDIA_REFUSED_RPC_CODE, err.message, { code: err.code })
      throw err
    }
  }

  /** The `media/leave` handler: the far side left; its leg closes, the session goes on. */
  readonly onLeave = (params: HandlerParams, context: HandlerContext): undefined => {
    let leave
    try { leave = parseLeave(params) } catch { return undefined }
    const call = this.call(context.session)
    if (call?.id !== leave.leg) return undefined
    log('%s left the audio of session %s%s', context.caller.peer, context.session.id, leave.code === undefined ? '' : ` (${leave.code})`)
    call.leg.close(leave.code === undefined ? undefined : new MediaError(leave.code as MediaErrorCode, 'the far side ended the leg'))
    return undefined
  }

  /** Closes every leg (the node is stopping). */
  closeAll (): void {
    for (const c of this.#calls.values()) if (c !== 'setting-up') c.leg.close()
    this.#calls.clear()
  }

  #newLeg (session: Session, role: string): MediaLeg {
    const create = this.#init.createLeg
    if (create === undefined) throw new MediaError(MediaErrorCode.REFUSED, 'this node carries no audio')
    if (this.#calls.has(session)) throw new MediaError(MediaErrorCode.BUSY, 'this session already has an audio leg')
    return create({ iceServers: this.#init.iceServers(), label: `${role}-${session.id ?? ''}`.slice(0, 64) })
  }

  #started (session: Session, remote: Caller, leg: MediaLeg, id: string, joining: Call['joining'], codec: CodecName): Call {
    const call: Call = { id, session, remote, joining, codec, leg }
    this.#calls.set(session, call)
    const end = (): void => {
      if (this.#calls.get(session) !== call) return
      this.#calls.delete(session)
      session.removeEventListener('close', onSessionClose)
      this.safeDispatchEvent('call:end', { detail: call })
    }
    const onSessionClose = (): void => { leg.close() }
    session.addEventListener('close', onSessionClose, { once: true })
    leg.addEventListener('close', (e) => {
      const error = e.detail
      // a leg torn down on our side for a reason the far side should know (a forged certificate)
      if (error !== null && error.code === MediaErrorCode.FINGERPRINT && !session.closed) {
        void session.notify(LEAVE_METHOD, { leg: id, code: error.code }).catch(() => {})
      }
      end()
    }, { once: true })
    return call
  }
}

function noAudio (): never {
  throw new MediaError(MediaErrorCode.INVALID, 'the SDP has no audio section')
}
