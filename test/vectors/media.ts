/**
 * Generates `protocols/media/vectors.json`: signalling messages of
 * protocols/media (§2-§4) and the admission rule (§1), each with the
 * verdict a receiver reaches. The SDPs are fixed text in the shape
 * libdatachannel writes, with fingerprints derived from fixed labels, so the
 * file is the same on every run.
 */
import { createHash } from 'node:crypto'

type Obj = Record<string, unknown>

/** One message and the verdict on it. */
export interface MediaVector {
  name: string
  description: string
  /** Which check: `join` params, `answer` (a join result, against the join named by `join`), `leave` params, or `admit`. */
  check: 'join' | 'answer' | 'leave' | 'admit'
  value: unknown
  /** For `answer`: the name of the `join` vector it answers. */
  join?: string
  /** For `admit`: whether a person speaks on the receiver's side. */
  humanHere?: boolean
  /** Whether schema.json accepts `value` (semantic checks such as fingerprint agreement go beyond the schema). */
  schema?: boolean
  /** `{ ok: true }`, or the error code. */
  expect: { ok: true } | { error: string }
}

function fingerprint (label: string): string {
  return createHash('sha256').update(`parley media vector ${label}`).digest('hex').toUpperCase().match(/../g)?.join(':') ?? ''
}

interface SdpOptions { fingerprint: string, ufrag: string, port: number, ssrc: number, codecs: Array<'opus' | 'pcmu'>, setup: 'actpass' | 'passive' | 'active', extraFingerprint?: string, application?: boolean }

function sdp (o: SdpOptions): string {
  const pts = o.codecs.map(c => (c === 'opus' ? 111 : 0))
  const lines = [
    'v=0',
    `o=rtc ${o.ssrc} 0 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${o.application === true ? '0' : 'audio'}`,
    'a=msid-semantic:WMS *',
    'a=ice-options:ice2,trickle',
    `a=fingerprint:sha-256 ${o.fingerprint}`
  ]
  if (o.application === true) {
    lines.push(`m=application ${o.port} UDP/DTLS/SCTP webrtc-datachannel`, 'c=IN IP4 127.0.0.1', 'a=mid:0', 'a=sendrecv', 'a=sctp-port:5000', 'a=max-message-size:262144')
  } else {
    lines.push(`m=audio ${o.port} UDP/TLS/RTP/SAVPF ${pts.join(' ')}`, 'c=IN IP4 127.0.0.1', 'a=mid:audio', 'a=sendrecv',
      `a=ssrc:${o.ssrc} cname:parley-vector`, `a=msid:parley-vector parley-vector-audio`, 'a=rtcp-mux')
    for (const c of o.codecs) {
      if (c === 'pcmu') lines.push('a=rtpmap:0 PCMU/8000/1')
      else lines.push('a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=0')
    }
    if (o.extraFingerprint !== undefined) lines.push(`a=fingerprint:sha-256 ${o.extraFingerprint}`)
  }
  lines.push(`a=setup:${o.setup}`, `a=ice-ufrag:${o.ufrag}`, 'a=ice-pwd:parleyvectorpassword0123', `a=candidate:1 1 UDP 2114977791 127.0.0.1 ${o.port} typ host`, 'a=end-of-candidates', '')
  return lines.join('\r\n')
}

export function mediaVectors (): Obj {
  const caller = fingerprint('caller')
  const human = fingerprint('human')
  const other = fingerprint('mallory')
  const offer = sdp({ fingerprint: caller, ufrag: 'CaLl', port: 50000, ssrc: 1111, codecs: ['opus', 'pcmu'], setup: 'actpass' })
  const offerPcmu = sdp({ fingerprint: caller, ufrag: 'CaLl', port: 50000, ssrc: 1111, codecs: ['pcmu'], setup: 'actpass' })
  const answer = sdp({ fingerprint: human, ufrag: 'HuMn', port: 50002, ssrc: 2222, codecs: ['opus', 'pcmu'], setup: 'active' })
  const answerPcmuFirst = sdp({ fingerprint: human, ufrag: 'HuMn', port: 50002, ssrc: 2222, codecs: ['pcmu', 'opus'], setup: 'active' })
  const answerPcmu = sdp({ fingerprint: human, ufrag: 'HuMn', port: 50002, ssrc: 2222, codecs: ['pcmu'], setup: 'active' })
  const leg = 'leg-0123456789abcdef'
  const join = { leg, joining: 'human', sdp: offer, fingerprint: caller, codecs: ['opus', 'pcmu'] }
  const joinPcmu = { ...join, sdp: offerPcmu, codecs: ['pcmu'] }
  const result = { leg, joining: 'agent', sdp: answer, fingerprint: human, codec: 'opus' }
  const padded = offer.replace('a=rtcp-mux\r\n', 'a=rtcp-mux\r\n' + 'a=x-padding:0123456789abcdef0123456789abcdef0123456789abcdef\r\n'.repeat(300))
  const cases: MediaVector[] = [
    { name: 'join-opus-pcmu', description: 'A human joins: Opus preferred, PCMU offered too; the signed fingerprint is the SDP\'s.', check: 'join', value: join, schema: true, expect: { ok: true } },
    { name: 'join-pcmu-only', description: 'An offer of PCMU alone.', check: 'join', value: joinPcmu, schema: true, expect: { ok: true } },
    { name: 'join-unknown-member', description: 'A member the protocol does not define.', check: 'join', value: { ...join, video: true }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-short-leg-id', description: 'A leg id under 8 characters.', check: 'join', value: { ...join, leg: 'abc' }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-bad-party', description: '`joining` is neither human nor agent.', check: 'join', value: { ...join, joining: 'robot' }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-lowercase-fingerprint', description: 'The fingerprint member must be spelled upper-case.', check: 'join', value: { ...join, fingerprint: caller.toLowerCase() }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-fingerprint-not-sdp', description: 'The signed fingerprint differs from the SDP\'s: someone changed one of them.', check: 'join', value: { ...join, fingerprint: other }, schema: true, expect: { error: 'ERR_MEDIA_FINGERPRINT' } },
    { name: 'join-two-fingerprints', description: 'An SDP that declares two different SHA-256 fingerprints.', check: 'join', value: { ...join, sdp: sdp({ fingerprint: caller, ufrag: 'CaLl', port: 50000, ssrc: 1111, codecs: ['opus', 'pcmu'], setup: 'actpass', extraFingerprint: other }) }, schema: true, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-no-audio', description: 'A data-only SDP (what agent-to-agent sessions use) is no audio offer.', check: 'join', value: { ...join, sdp: sdp({ fingerprint: caller, ufrag: 'CaLl', port: 50000, ssrc: 1111, codecs: [], setup: 'actpass', application: true }) }, schema: true, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-oversize-sdp', description: 'An SDP over 16 KiB.', check: 'join', value: { ...join, sdp: padded }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-no-pcmu', description: 'PCMU is always offered.', check: 'join', value: { ...join, codecs: ['opus'] }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-duplicate-codec', description: 'A codec listed twice.', check: 'join', value: { ...join, codecs: ['pcmu', 'pcmu'] }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'join-codec-not-in-sdp', description: '`codecs` names Opus but the SDP offers PCMU alone.', check: 'join', value: { ...joinPcmu, codecs: ['opus', 'pcmu'] }, schema: true, expect: { error: 'ERR_MEDIA_NO_CODEC' } },
    { name: 'answer-opus', description: 'The answer to join-opus-pcmu: Opus, the answerer\'s own fingerprint.', check: 'answer', join: 'join-opus-pcmu', value: result, schema: true, expect: { ok: true } },
    { name: 'answer-pcmu-first', description: 'An answer that lists PCMU first uses PCMU.', check: 'answer', join: 'join-opus-pcmu', value: { ...result, sdp: answerPcmuFirst, codec: 'pcmu' }, schema: true, expect: { ok: true } },
    { name: 'answer-codec-not-first', description: '`codec` must be the first codec of the answer\'s m=audio line that the offer listed.', check: 'answer', join: 'join-opus-pcmu', value: { ...result, codec: 'pcmu' }, schema: true, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'answer-other-leg', description: 'An answer for another leg.', check: 'answer', join: 'join-opus-pcmu', value: { ...result, leg: 'leg-fedcba9876543210' }, schema: true, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'answer-fingerprint-not-sdp', description: 'The answer\'s signed fingerprint differs from its SDP\'s.', check: 'answer', join: 'join-opus-pcmu', value: { ...result, fingerprint: other }, schema: true, expect: { error: 'ERR_MEDIA_FINGERPRINT' } },
    { name: 'answer-echoes-offer', description: 'An answer that carries the offerer\'s own certificate (a reflected offer).', check: 'answer', join: 'join-opus-pcmu', value: { ...result, sdp: answer.replace(human, caller), fingerprint: caller }, schema: true, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'answer-codec-not-offered', description: 'Opus in answer to a PCMU-only offer.', check: 'answer', join: 'join-pcmu-only', value: { ...result, codec: 'opus' }, schema: true, expect: { error: 'ERR_MEDIA_NO_CODEC' } },
    { name: 'answer-pcmu-only', description: 'PCMU in answer to a PCMU-only offer.', check: 'answer', join: 'join-pcmu-only', value: { ...result, sdp: answerPcmu, codec: 'pcmu' }, schema: true, expect: { ok: true } },
    { name: 'leave', description: 'A party leaves; the data session goes on.', check: 'leave', value: { leg }, schema: true, expect: { ok: true } },
    { name: 'leave-fingerprint', description: 'A leg torn down because the certificate presented was not the signed one.', check: 'leave', value: { leg, code: 'ERR_MEDIA_FINGERPRINT' }, schema: true, expect: { ok: true } },
    { name: 'leave-bad-code', description: '`code` must be an ERR_MEDIA_ code.', check: 'leave', value: { leg, code: 'oops' }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'leave-unknown-member', description: 'A member the protocol does not define.', check: 'leave', value: { leg, why: 'bored' }, schema: false, expect: { error: 'ERR_MEDIA_INVALID' } },
    { name: 'admit-two-agents', description: 'An agent offers audio to an agent with no human: refused, so two agents never carry media.', check: 'admit', value: 'agent', humanHere: false, expect: { error: 'ERR_MEDIA_REFUSED' } },
    { name: 'admit-agent-to-human', description: 'An agent offers audio to a human-kind node.', check: 'admit', value: 'agent', humanHere: true, expect: { ok: true } },
    { name: 'admit-human-to-agent', description: 'A human joins a session with an agent.', check: 'admit', value: 'human', humanHere: false, expect: { ok: true } }
  ]
  return {
    description: 'protocols/media signalling vectors: each value is checked as `check` says (README.md §1-§4) and must give `expect`. Generated by test/vectors/media.ts.',
    fingerprints: { caller, human, mallory: other },
    cases
  }
}
