/**
 * The signalling messages of protocols/media, checked the same way on both
 * sides: `media/join` params (the offer), its result (the answer),
 * `media/leave` params, and the rule for who may bring audio in at all.
 * Only the listed members are allowed; anything else is `ERR_MEDIA_INVALID`,
 * a fingerprint that is not the SDP's own is `ERR_MEDIA_FINGERPRINT`, and a
 * join between two agents with no human is `ERR_MEDIA_REFUSED`.
 */
import { MAX_CODECS, MAX_SDP_BYTES } from './constants.js'
import { MediaError, MediaErrorCode } from './errors.js'
import type { CodecName } from './codecs.js'
import { audioSection, offeredCodecs, sdpFingerprint, normalizeFingerprint } from './sdp.js'

/** Who will speak on the leg from the side that sends a message. */
export type MediaParty = 'human' | 'agent'

/** The params of a `media/join` request: the offer (§2). */
export interface MediaJoin {
  /** The leg's id, chosen by the offerer: 8–64 characters of `[A-Za-z0-9_-]`. */
  leg: string
  /** Who speaks on the offerer's side: `human` when a person joins through it. */
  joining: MediaParty
  /** The complete SDP offer (ICE candidates included), at most 16 KiB, with an audio section. */
  sdp: string
  /** The SHA-256 fingerprint of the offerer's DTLS certificate, as in the SDP. */
  fingerprint: string
  /** The codecs offered, in order of preference; `pcmu` always among them. */
  codecs: CodecName[]
}

/** The result of a `media/join`: the answer (§3). */
export interface MediaAnswer {
  /** The leg's id, as in the join. */
  leg: string
  /** Who speaks on the answerer's side. */
  joining: MediaParty
  /** The complete SDP answer. */
  sdp: string
  /** The SHA-256 fingerprint of the answerer's DTLS certificate, as in the SDP. */
  fingerprint: string
  /** The codec the leg uses (the first of the answer's `m=audio` line that the offer listed). */
  codec: CodecName
}

/** The params of a `media/leave` notification (§4). */
export interface MediaLeave {
  /** The leg that ends. */
  leg: string
  /** Why, when it is not simply that a party left: an error code of §5. */
  code?: string
}

const LEG_ID = /^[A-Za-z0-9_-]{8,64}$/
const CODE = /^ERR_MEDIA_[A-Z_]{1,32}$/

function invalid (message: string): never {
  throw new MediaError(MediaErrorCode.INVALID, message)
}

function object (value: unknown, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(`${what} must be an object`)
  for (const key of Object.keys(value)) if (!allowed.includes(key)) invalid(`${what} has an unexpected member "${key}"`)
  return value as Record<string, unknown>
}

function leg (value: unknown): string {
  if (typeof value !== 'string' || !LEG_ID.test(value)) invalid('"leg" must be 8-64 characters of A-Z a-z 0-9 _ -')
  return value
}

function party (value: unknown): MediaParty {
  if (value !== 'human' && value !== 'agent') invalid('"joining" must be "human" or "agent"')
  return value
}

/** The SDP, checked for size and an audio section, and the fingerprint, checked to be the SDP's own. */
function described (sdp: unknown, fingerprint: unknown): { sdp: string, fingerprint: string } {
  if (typeof sdp !== 'string' || sdp.length === 0 || new TextEncoder().encode(sdp).length > MAX_SDP_BYTES) invalid(`"sdp" must be a string of 1 to ${MAX_SDP_BYTES} bytes`)
  if (!sdp.startsWith('v=0')) invalid('"sdp" is not an SDP (it must start with v=0)')
  if (typeof fingerprint !== 'string' || normalizeFingerprint(fingerprint) !== fingerprint) invalid('"fingerprint" must be a SHA-256 fingerprint: 32 upper-case hex pairs joined by colons')
  const section = audioSection(sdp)
  if (section === undefined || section.mid === '') invalid('"sdp" has no audio section with an a=mid')
  const declared = sdpFingerprint(sdp)
  if (declared === undefined) invalid('"sdp" declares no single a=fingerprint:sha-256')
  if (declared !== fingerprint) throw new MediaError(MediaErrorCode.FINGERPRINT, 'the signed fingerprint is not the SDP\'s')
  return { sdp, fingerprint }
}

/** Checks `media/join` params; throws a {@link MediaError} (`ERR_MEDIA_INVALID`, `ERR_MEDIA_FINGERPRINT`, `ERR_MEDIA_NO_CODEC`). */
export function parseJoin (value: unknown): MediaJoin {
  const o = object(value, 'media/join params', ['leg', 'joining', 'sdp', 'fingerprint', 'codecs'])
  const id = leg(o.leg)
  const joining = party(o.joining)
  const { sdp, fingerprint } = described(o.sdp, o.fingerprint)
  const codecs = o.codecs
  if (!Array.isArray(codecs) || codecs.length === 0 || codecs.length > MAX_CODECS) invalid(`"codecs" must list 1 to ${MAX_CODECS} codecs`)
  if (!codecs.every((c): c is CodecName => c === 'opus' || c === 'pcmu') || new Set(codecs).size !== codecs.length) invalid('"codecs" may list "opus" and "pcmu", each once')
  if (!codecs.includes('pcmu')) invalid('"codecs" must include "pcmu" (always offered)')
  const inSdp = offeredCodecs(audioSection(sdp) ?? invalid('no audio section'))
  if (!codecs.every(c => inSdp.includes(c))) throw new MediaError(MediaErrorCode.NO_CODEC, '"codecs" names a codec the SDP does not offer')
  return { leg: id, joining, sdp, fingerprint, codecs }
}

/** Checks a `media/join` result against the join it answers; throws a {@link MediaError}. */
export function parseAnswer (value: unknown, join: MediaJoin): MediaAnswer {
  const o = object(value, 'media/join result', ['leg', 'joining', 'sdp', 'fingerprint', 'codec'])
  const id = leg(o.leg)
  if (id !== join.leg) invalid('the answer names another leg')
  const joining = party(o.joining)
  const { sdp, fingerprint } = described(o.sdp, o.fingerprint)
  if (fingerprint === join.fingerprint) invalid('the answer carries the offer\'s own fingerprint')
  if (o.codec !== 'opus' && o.codec !== 'pcmu') invalid('"codec" must be "opus" or "pcmu"')
  const codec = o.codec
  if (!join.codecs.includes(codec)) throw new MediaError(MediaErrorCode.NO_CODEC, '"codec" is not one the join offered')
  const answered = offeredCodecs(audioSection(sdp) ?? invalid('no audio section'))
  if (answered.find(c => join.codecs.includes(c)) !== codec) invalid('"codec" is not the first codec of the answer that the offer listed')
  return { leg: id, joining, sdp, fingerprint, codec }
}

/** Checks `media/leave` params; throws `ERR_MEDIA_INVALID`. */
export function parseLeave (value: unknown): MediaLeave {
  const o = object(value, 'media/leave params', ['leg', 'code'])
  const out: MediaLeave = { leg: leg(o.leg) }
  if (o.code !== undefined) {
    if (typeof o.code !== 'string' || !CODE.test(o.code)) invalid('"code" must be an ERR_MEDIA_ code')
    out.code = o.code
  }
  return out
}

/**
 * The rule of §1: audio is set up only when a person is on the line. A
 * receiver of a `media/join` whose own side has no human joining refuses
 * one that says `joining: "agent"` (`ERR_MEDIA_REFUSED`); so when both ends
 * are agents no media is ever offered or accepted.
 *
 * @param joining - what the join says about the offerer's side
 * @param humanHere - whether a person will speak on the receiver's side (its kind is `human`, or its agent brings its human in)
 */
export function admitJoin (joining: MediaParty, humanHere: boolean): void {
  if (joining === 'agent' && !humanHere) throw new MediaError(MediaErrorCode.REFUSED, 'both ends are agents and no human is joining: no audio')
}

/** Whether a side may send a `media/join` at all (§1): a human on its side, or a human-kind node at the other end. */
export function mayOffer (joining: MediaParty, remoteKind: 'human' | 'agent' | 'anon'): boolean {
  return joining === 'human' || remoteKind === 'human'
}
