/**
 * The few things a leg reads from SDP: the DTLS certificate fingerprint
 * (`a=fingerprint:sha-256 …`, RFC 8122), the audio section (its mid, the
 * payload types it lists, their `a=rtpmap`, an `a=ssrc`), and the codec the
 * two sides settle on. Parley's rule for the codec: the first payload type
 * of the answer's `m=audio` line that the offer listed too and that is Opus
 * or PCMU — both sides compute it from the same two SDPs.
 */
import { CODECS } from './codecs.js'
import type { CodecName } from './codecs.js'
import { MAX_SDP_BYTES } from './constants.js'
import { MediaError, MediaErrorCode } from './errors.js'

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/

/** A SHA-256 fingerprint in its canonical spelling (upper-case hex pairs joined by colons), or undefined if it is not one. */
export function normalizeFingerprint (value: string): string | undefined {
  if (typeof value !== 'string') return undefined
  const upper = value.trim().toUpperCase()
  return FINGERPRINT.test(upper) ? upper : undefined
}

function lines (sdp: string): string[] {
  return sdp.split(/\r?\n/)
}

/**
 * The SHA-256 fingerprint an SDP declares (session or media level), or
 * undefined when it has none, or declares two different ones.
 */
export function sdpFingerprint (sdp: string): string | undefined {
  const found = new Set<string>()
  for (const line of lines(sdp)) {
    const m = /^a=fingerprint:sha-256 (\S+)\s*$/i.exec(line)
    if (m?.[1] === undefined) continue
    const fp = normalizeFingerprint(m[1])
    if (fp === undefined) return undefined
    found.add(fp)
  }
  return found.size === 1 ? [...found][0] : undefined
}

/** Whether an SDP has an audio section (a data-only session's never does). */
export function hasAudio (sdp: string): boolean {
  return lines(sdp).some(l => l.startsWith('m=audio '))
}

/** What the first `m=audio` section of an SDP says. */
export interface AudioSection {
  /** Its `a=mid`. */
  mid: string
  /** The payload types of its `m=` line, in order. */
  payloadTypes: number[]
  /** Codec names by payload type, from `a=rtpmap` (`opus/48000/2` → `opus`), plus the static PCMU (0). */
  codecs: Map<number, CodecName>
  /** Its first `a=ssrc`, if any. */
  ssrc?: number
}

/** The first audio section of an SDP, or undefined. */
export function audioSection (sdp: string): AudioSection | undefined {
  let inAudio = false
  let section: AudioSection | undefined
  for (const line of lines(sdp)) {
    if (line.startsWith('m=')) {
      if (section !== undefined) break
      inAudio = line.startsWith('m=audio ')
      if (inAudio) {
        const payloadTypes = line.trim().split(' ').slice(3).map(Number).filter(n => Number.isInteger(n) && n >= 0 && n < 128)
        section = { mid: '', payloadTypes, codecs: new Map() }
        if (payloadTypes.includes(0)) section.codecs.set(0, 'pcmu')
      }
      continue
    }
    if (!inAudio || section === undefined) continue
    const mid = /^a=mid:(\S+)/.exec(line)
    if (mid?.[1] !== undefined) section.mid = mid[1]
    const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(line)
    if (rtpmap !== null) {
      const pt = Number(rtpmap[1])
      const name = (rtpmap[2] ?? '').toLowerCase()
      const rate = Number(rtpmap[3])
      if (name === 'opus' && rate === 48000) section.codecs.set(pt, 'opus')
      else if (name === 'pcmu' && rate === 8000) section.codecs.set(pt, 'pcmu')
      else section.codecs.delete(pt)
    }
    const ssrc = /^a=ssrc:(\d+)/.exec(line)
    if (ssrc !== null && section.ssrc === undefined) section.ssrc = Number(ssrc[1])
  }
  return section
}

/** The codecs an audio section offers that Parley speaks, in its order. */
export function offeredCodecs (section: AudioSection): CodecName[] {
  const out: CodecName[] = []
  for (const pt of section.payloadTypes) {
    const name = section.codecs.get(pt)
    if (name !== undefined && CODECS[name].payloadType === pt && !out.includes(name)) out.push(name)
  }
  return out
}

/** The codec the leg uses (see the module documentation), or undefined if the two share none. */
export function chosenCodec (offer: AudioSection, answer: AudioSection): CodecName | undefined {
  const offered = offeredCodecs(offer)
  return offeredCodecs(answer).find(c => offered.includes(c))
}

/** An SDP and the candidates taken out of it. */
export interface SplitSdp {
  /** The SDP without candidate lines. */
  sdp: string
  /** The candidates, `candidate:…` without `a=`. */
  candidates: string[]
}

/**
 * An SDP without its `a=candidate` and `a=end-of-candidates` lines, and the
 * candidates it had (as `addRemoteCandidate` takes them: without `a=`).
 */
export function splitCandidates (sdp: string): SplitSdp {
  const candidates: string[] = []
  const kept: string[] = []
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('a=candidate:')) candidates.push(line.slice(2))
    else if (line !== 'a=end-of-candidates') kept.push(line)
  }
  return { sdp: kept.join('\r\n'), candidates }
}

/**
 * The far side's SDP, checked before a leg applies it: within
 * `MAX_SDP_BYTES`, naming exactly the fingerprint its signed envelope named
 * (`ERR_MEDIA_FINGERPRINT` otherwise), with an audio section. Returns the
 * section and the expected fingerprint, normalized; throws a `MediaError`.
 */
export function checkRemoteSdp (sdp: string, expectedFingerprint: string): { section: AudioSection, expected: string } {
  if (typeof sdp !== 'string' || new TextEncoder().encode(sdp).length > MAX_SDP_BYTES) throw new MediaError(MediaErrorCode.INVALID, `the SDP is not a string of at most ${MAX_SDP_BYTES} bytes`)
  const expected = normalizeFingerprint(expectedFingerprint)
  if (expected === undefined) throw new MediaError(MediaErrorCode.INVALID, 'the expected fingerprint is not a SHA-256 fingerprint')
  const declared = sdpFingerprint(sdp)
  if (declared !== expected) throw new MediaError(MediaErrorCode.FINGERPRINT, `the SDP's DTLS fingerprint ${String(declared)} is not the signed ${expected}`)
  const section = audioSection(sdp)
  if (section === undefined) throw new MediaError(MediaErrorCode.INVALID, 'the SDP has no audio section')
  return { section, expected }
}
