/**
 * Generates `protocols/negotiation/vectors.json`: valid chains, one or more
 * refused transitions per error code (each with the code written here by
 * hand from the spec, and checked against this implementation before
 * anything is written), and agreements, valid and tampered. Deterministic:
 * fixed seeds, a fixed clock, fixed negotiation ids, and Ed25519 signing is
 * deterministic.
 *
 * Transitions are signed here from the spec's definition (context ‖ JCS of
 * the object without "sig"), independently of `signTransition`, so that
 * malformed but correctly signed transitions can be written too.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { toBase64url, toHex, utf8 } from '../../src/crypto/bytes.js'
import {
  AGREEMENT_TYPE, MAX_REASON_LENGTH, MAX_SUBJECT_LENGTH, MAX_TRANSITION_BYTES, NEGOTIATION_MAX_SKEW_MS,
  NEGOTIATION_SIGNING_CONTEXT, TRANSITION_METHOD, TRANSITION_REFUSED
} from '../../src/negotiation/constants.js'
import { Negotiation } from '../../src/negotiation/machine.js'
import { verifyAgreement } from '../../src/negotiation/agreement.js'
import type { Transition } from '../../src/negotiation/transition.js'
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'

/** The clock of the vectors: the propose's `ts`. */
export const NOW = 1_800_000_000_000
/** Lifetime of the vectors' negotiations: one hour. */
export const TTL = 3_600_000
/** The negotiation id of the vectors (bytes 0x00-0x0f). */
export const ID = toBase64url(Uint8Array.from({ length: 16 }, (_, i) => i))
/** Another negotiation's id (bytes 0x10-0x1f). */
export const OTHER_ID = toBase64url(Uint8Array.from({ length: 16 }, (_, i) => 16 + i))
/** Minutes, the vectors' step between transitions. */
export const MIN = 60_000

export type Obj = Record<string, unknown>

const b64sha = (text: string): string => toBase64url(sha256(utf8(text)))
/** The spec's hash of any JSON value: base64url(SHA-256(UTF-8(JCS(value)))). */
export const hashOf = (value: unknown): string => b64sha(canonicalize(value))

/** Signs any object as a transition: sig over context ‖ JCS(object without sig). */
export async function signRaw (key: TestKey, unsigned: Obj): Promise<Obj> {
  const rest = { ...unsigned }
  delete rest.sig
  const sig = await key.sign(utf8(NEGOTIATION_SIGNING_CONTEXT + canonicalize(rest)))
  return { ...rest, sig: toBase64url(sig) }
}

export interface ProposeFields {
  parties?: Obj[]
  subject?: string
  expires?: number
  terms?: Obj
  ts?: number
  negotiation?: string
  [k: string]: unknown
}

/** A propose by `key` to `to`, at NOW, lasting {@link TTL}, with handles. */
export async function proposeBy (key: TestKey, to: TestKey, fields: ProposeFields = {}): Promise<Obj> {
  const terms = fields.terms ?? { job: 'leaking tap', date: '2027-01-15', price: 180, currency: 'GBP' }
  return signRaw(key, {
    v: 1,
    negotiation: ID,
    seq: 0,
    type: 'propose',
    by: key.peerIdString,
    ts: NOW,
    parties: [{ peer: key.peerIdString, handle: key.label }, { peer: to.peerIdString, handle: to.label }],
    subject: 'plumbing call-out',
    expires: NOW + TTL,
    terms,
    termsHash: hashOf(terms),
    ...fields
  })
}

/** The transition after `prev` by `key`: seq + 1, prev = hash(prev), ts = prev.ts + 1 min. */
export async function after (key: TestKey, prev: Obj, type: string, fields: Obj = {}): Promise<Obj> {
  const base: Obj = {
    v: 1,
    negotiation: prev.negotiation,
    seq: (prev.seq as number) + 1,
    type,
    prev: hashOf(prev),
    by: key.peerIdString,
    ts: (prev.ts as number) + MIN
  }
  if (type === 'counter' && fields.terms !== undefined) base.termsHash = hashOf(fields.terms)
  return signRaw(key, { ...base, ...fields })
}

/** The latest offer's termsHash in a chain. */
export function offerHash (chain: Obj[]): string {
  for (let i = chain.length - 1; i >= 0; i--) {
    const t = chain[i] as Obj
    if (t.type === 'propose' || t.type === 'counter') return t.termsHash as string
  }
  throw new Error('no offer')
}

export interface ChainVector {
  name: string
  note: string
  transitions: Obj[]
  /** When given, `expire(now)` after rebuilding. */
  now?: number
  expect: { state: string, seq: number, turn: string | null, offerBy: string, offerTermsHash: string }
}

export interface CaseVector {
  name: string
  note: string
  /** The chain the transition is applied to (a prefix of a named chain), or null: the transition opens. */
  base: { chain: string, length: number } | null
  /** When given, `expire(expireAt)` is called on the base before applying. */
  expireAt?: number
  options: { now: number | null, pending?: Obj }
  transition: Obj
  /** An error code, or the state after applying. */
  expect: string
}

export interface AgreementVector {
  name: string
  note: string
  agreement: Obj
  expect: string
  result?: Obj
}

async function outcomeOf (run: () => Promise<Negotiation>): Promise<string> {
  try {
    return (await run()).state
  } catch (err) {
    if ((err as Error).name !== 'NegotiationError') throw err
    return (err as { code: string }).code
  }
}

/** Replays one case against this implementation: the state it leads to, or the code it is refused with. */
export async function runCase (c: CaseVector, chains: ReadonlyMap<string, Obj[]>): Promise<string> {
  if (c.base === null) return outcomeOf(async () => Negotiation.open(c.transition, { now: c.options.now }))
  const chain = (chains.get(c.base.chain) ?? []).slice(0, c.base.length)
  const n = await Negotiation.fromTransitions(chain)
  if (c.expireAt !== undefined) n.expire(c.expireAt)
  const options = c.options.pending === undefined ? { now: c.options.now } : { now: c.options.now, pending: c.options.pending as unknown as Transition }
  return outcomeOf(async () => { await n.apply(c.transition, options); return n })
}

export async function negotiationVectors (): Promise<Obj> {
  const alice = testKey('alice')
  const bob = testKey('bob')
  const mallory = testKey('mallory')

  // ---- valid chains
  const chains: ChainVector[] = []
  const byName = new Map<string, Obj[]>()
  const addChain = async (name: string, note: string, transitions: Obj[], now?: number): Promise<void> => {
    const n = await Negotiation.fromTransitions(transitions, now === undefined ? {} : { now })
    const o = n.offer
    chains.push({ name, note, transitions, ...(now === undefined ? {} : { now }), expect: { state: n.state, seq: n.seq, turn: n.turn ?? null, offerBy: o.by, offerTermsHash: o.termsHash } })
    byName.set(name, transitions)
  }

  const p = await proposeBy(alice, bob)
  await addChain('proposed', 'A propose alone: bob\'s turn.', [p])
  const pAcc = await after(bob, p, 'accept', { termsHash: p.termsHash })
  await addChain('propose-accept', 'Bob accepts the proposed terms.', [p, pAcc])
  const c1 = await after(bob, p, 'counter', { terms: { job: 'leaking tap', date: '2027-01-15', price: 220, currency: 'GBP' } })
  const c2 = await after(alice, c1, 'counter', { terms: { job: 'leaking tap', date: '2027-01-16', price: 200, currency: 'GBP' } })
  const c3 = await after(bob, c2, 'counter', { terms: { job: 'leaking tap', date: '2027-01-16', price: 205, currency: 'GBP', parts: ['washer', 'o-ring'] } })
  const cAcc = await after(alice, c3, 'accept', { termsHash: c3.termsHash })
  await addChain('counters-accept', 'Three counters, turns alternating, then alice accepts bob\'s last offer.', [p, c1, c2, c3, cAcc])
  await addChain('negotiating', 'After one counter by bob: alice\'s turn.', [p, c1])
  await addChain('negotiating-2', 'After counters by bob and alice: bob\'s turn.', [p, c1, c2])
  const rej = await after(alice, c1, 'reject', { reason: 'too expensive' })
  await addChain('reject', 'Alice rejects bob\'s counter, with a reason.', [p, c1, rej])
  const canA = await after(alice, p, 'cancel')
  await addChain('cancel-by-proposer', 'Alice withdraws her proposal before bob answers.', [p, canA])
  const canB = await after(bob, c1, 'cancel', { reason: 'fully booked' })
  await addChain('cancel-by-counterparty', 'Bob cancels after his own counter (either party may cancel).', [p, c1, canB])
  await addChain('expired', 'Nobody accepted before expires: rebuilt with now = expires, the negotiation is expired.', [p, c1], NOW + TTL)
  const pu = await proposeBy(alice, bob, {
    parties: [{ peer: alice.peerIdString }, { peer: bob.peerIdString, handle: 'bob' }],
    subject: 'Réparation — fuite 🚰',
    terms: { note: 'Привет, £180 — déjà vu 🙂\n\t"quoted"', big: 1e21, small: 1e-7, nested: { b: [1, { a: null }], a: true } }
  })
  await addChain('unicode', 'Non-ASCII subject and terms, numbers in their ECMAScript form, nested members out of order; no handle for the proposer.', [pu])

  // ---- refused and accepted transitions
  const cases: CaseVector[] = []
  const add = (name: string, note: string, base: CaseVector['base'], transition: Obj, expect: string, options: CaseVector['options'] = { now: (transition.ts as number) + 1000 }, expireAt?: number): void => {
    cases.push({ name, note, base, ...(expireAt === undefined ? {} : { expireAt }), options, transition, expect })
  }
  const open = { now: NOW + 1000 }

  // opening
  add('open-valid', 'A propose, received one second after it was signed.', null, p, 'proposed', open)
  add('open-not-a-propose', 'A counter at seq 0 cannot open a negotiation.', null, await signRaw(bob, { v: 1, negotiation: ID, seq: 0, type: 'counter', by: bob.peerIdString, ts: NOW, terms: { price: 1 }, termsHash: hashOf({ price: 1 }) }), 'ERR_ILLEGAL_TRANSITION', open)
  add('open-propose-at-seq-1', 'A propose at seq 1 cannot open a negotiation.', null, await proposeBy(alice, bob, { seq: 1, prev: hashOf(p) }), 'ERR_ILLEGAL_TRANSITION', open)
  add('open-signed-by-counterparty', 'parties[0] is alice but bob signed: the proposer must sign.', null, await proposeBy(bob, alice, { parties: [{ peer: alice.peerIdString }, { peer: bob.peerIdString }], by: bob.peerIdString }), 'ERR_NOT_PARTY', open)
  add('open-expires-at-ts', 'expires = ts: born expired.', null, await proposeBy(alice, bob, { expires: NOW }), 'ERR_EXPIRED', open)
  add('open-late', 'Received at now = expires.', null, p, 'ERR_EXPIRED', { now: NOW + TTL })
  add('open-future', 'ts more than the skew ahead of the receiver\'s clock.', null, p, 'ERR_BAD_TIMESTAMP', { now: NOW - NEGOTIATION_MAX_SKEW_MS - 1 })
  add('open-future-within-skew', 'ts exactly the skew ahead of the receiver\'s clock.', null, p, 'proposed', { now: NOW - NEGOTIATION_MAX_SKEW_MS })
  add('open-terms-hash-mismatch', 'termsHash is not the hash of terms.', null, await proposeBy(alice, bob, { termsHash: hashOf({ price: 1 }) }), 'ERR_TERMS_MISMATCH', open)

  // structure
  const mal = async (name: string, note: string, mutate: (t: Obj) => void, expect = 'ERR_MALFORMED'): Promise<void> => {
    const t = { ...p }
    mutate(t)
    add(name, note, null, await signRaw(alice, t), expect, open)
  }
  await mal('malformed-missing-subject', 'A propose without subject.', t => { delete t.subject })
  await mal('malformed-unknown-member', 'An unknown member.', t => { t.note = 'x' })
  await mal('malformed-reason-on-propose', 'A member of another type (reason on a propose).', t => { t.reason = 'x' })
  await mal('malformed-unknown-type', 'type "offer".', t => { t.type = 'offer' })
  await mal('malformed-short-id', 'A negotiation id of 15 bytes.', t => { t.negotiation = toBase64url(new Uint8Array(15)) })
  await mal('malformed-non-canonical-base64url', 'A negotiation id whose last character has non-zero unused bits.', t => { t.negotiation = ID.slice(0, -1) + 'x' })
  await mal('malformed-prev-at-seq-0', 'prev present at seq 0.', t => { t.prev = hashOf({}) })
  await mal('malformed-fractional-ts', 'ts is not an integer.', t => { t.ts = NOW + 0.5 })
  await mal('malformed-negative-seq', 'seq is negative.', t => { t.seq = -1 })
  await mal('malformed-same-parties', 'Both parties are alice.', t => { t.parties = [{ peer: alice.peerIdString }, { peer: alice.peerIdString, handle: 'alice' }] })
  await mal('malformed-three-parties', 'Three parties.', t => { t.parties = [{ peer: alice.peerIdString }, { peer: bob.peerIdString }, { peer: mallory.peerIdString }] })
  await mal('malformed-bad-handle', 'A handle with upper case.', t => { t.parties = [{ peer: alice.peerIdString, handle: 'Alice' }, { peer: bob.peerIdString }] })
  await mal('malformed-rsa-peer', 'A party that is not an Ed25519 peer id.', t => { t.parties = [{ peer: alice.peerIdString }, { peer: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }] })
  await mal('malformed-empty-subject', 'An empty subject.', t => { t.subject = '' })
  await mal('malformed-long-subject', `A subject of ${MAX_SUBJECT_LENGTH + 1} code points.`, t => { t.subject = 'é'.repeat(MAX_SUBJECT_LENGTH + 1) })
  await mal('subject-at-limit', `A subject of ${MAX_SUBJECT_LENGTH} code points, each an astral character (two UTF-16 units).`, t => { t.subject = '🙂'.repeat(MAX_SUBJECT_LENGTH) }, 'proposed')
  await mal('malformed-terms-array', 'terms is an array.', t => { t.terms = [1]; t.termsHash = hashOf([1]) })
  await mal('malformed-oversize', `terms make the transition larger than ${MAX_TRANSITION_BYTES} bytes.`, t => { t.terms = { blob: 'x'.repeat(MAX_TRANSITION_BYTES) }; t.termsHash = hashOf(t.terms) })
  await mal('malformed-version-string', 'v = "1".', t => { t.v = '1' })
  await mal('unsupported-version', 'v = 2.', t => { t.v = 2 }, 'ERR_UNSUPPORTED_VERSION')
  add('malformed-sig-length', 'A signature of 63 bytes.', null, { ...p, sig: toBase64url(new Uint8Array(63)) }, 'ERR_MALFORMED', open)

  // signatures
  const flipped = (t: Obj): Obj => {
    const sig = t.sig as string
    return { ...t, sig: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) }
  }
  add('bad-signature-flipped', 'The propose with the first character of sig changed.', null, flipped(p), 'ERR_BAD_SIGNATURE', open)
  add('bad-signature-forged', 'by = alice, signed by mallory.', null, await signRaw(mallory, { ...p }), 'ERR_BAD_SIGNATURE', open)
  add('bad-signature-tampered', 'Signed, then the price changed (and termsHash with it).', null, { ...p, terms: { ...(p.terms as Obj), price: 18 }, termsHash: hashOf({ ...(p.terms as Obj), price: 18 }) }, 'ERR_BAD_SIGNATURE', open)
  add('bad-signature-no-context', 'Signed over the JCS without the "parley/negotiation/v1\\n" prefix.', null, await (async () => {
    const rest = { ...p }
    delete rest.sig
    return { ...rest, sig: toBase64url(await alice.sign(utf8(canonicalize(rest)))) }
  })(), 'ERR_BAD_SIGNATURE', open)
  add('bad-signature-applied', 'Bob\'s accept with a flipped signature.', { chain: 'proposed', length: 1 }, flipped(pAcc), 'ERR_BAD_SIGNATURE')

  // applying: one legal move per kind
  add('accept-proposed', 'Bob accepts the propose.', { chain: 'proposed', length: 1 }, pAcc, 'confirmed')
  add('counter-proposed', 'Bob counters.', { chain: 'proposed', length: 1 }, c1, 'negotiating')
  add('reject-negotiating', 'Alice rejects bob\'s counter.', { chain: 'negotiating', length: 2 }, rej, 'rejected')
  add('cancel-by-offer-author', 'Alice cancels her own offer.', { chain: 'proposed', length: 1 }, canA, 'cancelled')

  // who may move
  add('not-party', 'Mallory (a valid signature, not a party) counters.', { chain: 'proposed', length: 1 }, await after(mallory, p, 'counter', { terms: { price: 1 } }), 'ERR_NOT_PARTY')
  add('not-party-cancel', 'Mallory cancels.', { chain: 'negotiating', length: 2 }, await after(mallory, c1, 'cancel'), 'ERR_NOT_PARTY')
  add('not-your-turn-counter', 'Alice counters her own offer.', { chain: 'proposed', length: 1 }, await after(alice, p, 'counter', { terms: { price: 170 } }), 'ERR_NOT_YOUR_TURN')
  add('not-your-turn-accept', 'Bob accepts his own counter.', { chain: 'negotiating', length: 2 }, await after(bob, c1, 'accept', { termsHash: c1.termsHash }), 'ERR_NOT_YOUR_TURN')
  add('not-your-turn-reject', 'Alice rejects her own propose.', { chain: 'proposed', length: 1 }, await after(alice, p, 'reject'), 'ERR_NOT_YOUR_TURN')

  // lifecycle
  add('duplicate-last', 'Bob\'s counter delivered again.', { chain: 'negotiating', length: 2 }, c1, 'ERR_DUPLICATE')
  add('duplicate-propose', 'The propose delivered again to a negotiation already past it.', { chain: 'negotiating', length: 2 }, p, 'ERR_DUPLICATE')
  add('duplicate-after-confirmed', 'The confirming accept delivered again: a duplicate, not "terminal".', { chain: 'propose-accept', length: 2 }, pAcc, 'ERR_DUPLICATE')
  add('terminal-confirmed', 'A cancel after the accept.', { chain: 'propose-accept', length: 2 }, await after(alice, pAcc, 'cancel'), 'ERR_TERMINAL')
  add('terminal-rejected', 'A counter after the reject.', { chain: 'reject', length: 3 }, await after(bob, rej, 'counter', { terms: { price: 150 } }), 'ERR_TERMINAL')
  add('terminal-cancelled', 'An accept after the cancel.', { chain: 'cancel-by-proposer', length: 2 }, await after(bob, canA, 'accept', { termsHash: p.termsHash }), 'ERR_TERMINAL')
  add('terminal-expired', 'Bob\'s accept, with ts before expires, to a negotiation its holder has expired.', { chain: 'proposed', length: 1 }, pAcc, 'ERR_TERMINAL', { now: null }, NOW + TTL)
  add('propose-mid-chain', 'A propose at seq 1 continuing the chain.', { chain: 'proposed', length: 1 }, await proposeBy(bob, alice, { seq: 1, prev: hashOf(p), ts: NOW + MIN }), 'ERR_ILLEGAL_TRANSITION')
  add('propose-again-at-seq-0', 'Another propose with the same id at seq 0.', { chain: 'proposed', length: 1 }, await proposeBy(alice, bob, { subject: 'something else' }), 'ERR_ILLEGAL_TRANSITION')
  add('wrong-negotiation', 'Bob\'s accept of another negotiation.', { chain: 'proposed', length: 1 }, await after(bob, await proposeBy(alice, bob, { negotiation: OTHER_ID }), 'accept', { termsHash: p.termsHash }), 'ERR_WRONG_NEGOTIATION')

  // order
  add('seq-gap', 'seq 2 after seq 0.', { chain: 'proposed', length: 1 }, await signRaw(bob, { ...pAcc, seq: 2 }), 'ERR_OUT_OF_ORDER')
  add('seq-behind', 'A different counter at seq 1 after seq 2.', { chain: 'negotiating-2', length: 3 }, await after(bob, p, 'counter', { terms: { price: 300 } }), 'ERR_OUT_OF_ORDER')
  add('prev-mismatch', 'Right seq, prev = hash of another transition.', { chain: 'negotiating', length: 2 }, await signRaw(alice, { ...(await after(alice, c1, 'accept', { termsHash: c1.termsHash })), prev: hashOf(p) }), 'ERR_OUT_OF_ORDER')

  // time
  const late = await after(bob, p, 'accept', { termsHash: p.termsHash, ts: NOW + TTL - 1 })
  add('in-time', 'Accepted 1 ms before expires, received before it too.', { chain: 'proposed', length: 1 }, late, 'confirmed', { now: NOW + TTL - 1 })
  add('late-receipt', 'Signed 1 ms before expires, received at expires.', { chain: 'proposed', length: 1 }, late, 'ERR_EXPIRED', { now: NOW + TTL })
  add('late-ts', 'ts = expires (no clock).', { chain: 'proposed', length: 1 }, await after(bob, p, 'accept', { termsHash: p.termsHash, ts: NOW + TTL }), 'ERR_EXPIRED', { now: null })
  add('late-own-transition', 'ts before expires, applied without a clock (a party\'s own transition, acknowledged): applies after expires.', { chain: 'proposed', length: 1 }, late, 'confirmed', { now: null })
  add('ts-before-previous', 'ts more than the skew before the previous transition\'s.', { chain: 'proposed', length: 1 }, await after(bob, p, 'accept', { termsHash: p.termsHash, ts: NOW - NEGOTIATION_MAX_SKEW_MS - 1 }), 'ERR_BAD_TIMESTAMP', { now: NOW })
  add('ts-before-previous-within-skew', 'ts exactly the skew before the previous transition\'s.', { chain: 'proposed', length: 1 }, await after(bob, p, 'accept', { termsHash: p.termsHash, ts: NOW - NEGOTIATION_MAX_SKEW_MS }), 'confirmed', { now: NOW })
  add('ts-future', 'ts more than the skew ahead of the receiver\'s clock.', { chain: 'proposed', length: 1 }, pAcc, 'ERR_BAD_TIMESTAMP', { now: (pAcc.ts as number) - NEGOTIATION_MAX_SKEW_MS - 1 })

  // terms
  add('accept-wrong-terms', 'Alice accepts naming the propose\'s terms, but bob\'s counter is on the table.', { chain: 'negotiating', length: 2 }, await after(alice, c1, 'accept', { termsHash: p.termsHash }), 'ERR_TERMS_MISMATCH')
  add('counter-terms-hash-mismatch', 'A counter whose termsHash is not the hash of its terms.', { chain: 'proposed', length: 1 }, await after(bob, p, 'counter', { terms: { price: 220 }, termsHash: hashOf({ price: 221 }) }), 'ERR_TERMS_MISMATCH')

  // concurrent moves
  add('conflict-pending-wins', 'Bob (whose turn it is) has sent an accept and not yet seen the answer; alice\'s cancel at the same seq arrives: refused, bob\'s accept stands.', { chain: 'proposed', length: 1 }, canA, 'ERR_CONFLICT', { now: NOW + MIN + 1000, pending: pAcc })
  add('conflict-incoming-wins', 'Alice has sent a cancel and not yet seen the answer; bob\'s accept at the same seq arrives: it applies, alice\'s cancel is void.', { chain: 'proposed', length: 1 }, pAcc, 'confirmed', { now: NOW + MIN + 1000, pending: canA })

  // check every verdict against this implementation
  for (const c of cases) {
    const got = await runCase(c, byName)
    if (got !== c.expect) throw new Error(`vector ${c.name}: expected ${c.expect}, got ${got}`)
  }

  // ---- agreements
  const agreements: AgreementVector[] = []
  const agreementFrom = (chain: Obj[], withChain: boolean): Obj => {
    const offer = chain[chain.length - 2] as Obj
    const propose = chain[0] as Obj
    return {
      v: 1,
      type: AGREEMENT_TYPE,
      negotiation: propose.negotiation,
      subject: propose.subject,
      parties: propose.parties,
      terms: offer.terms,
      termsHash: offer.termsHash,
      offer,
      accept: chain[chain.length - 1],
      ...(withChain ? { chain } : {})
    }
  }
  const addAgreement = async (name: string, note: string, agreement: Obj, expect: string): Promise<void> => {
    let got: string
    let result: Obj | undefined
    try {
      result = { ...(await verifyAgreement(agreement)) }
      got = 'valid'
    } catch (err) {
      if ((err as Error).name !== 'NegotiationError') throw err
      got = (err as { code: string }).code
    }
    if (got !== expect) throw new Error(`agreement vector ${name}: expected ${expect}, got ${got}`)
    agreements.push({ name, note, agreement, expect, ...(result === undefined ? {} : { result }) })
  }
  const onPropose = agreementFrom([p, pAcc], false)
  const onCounter = agreementFrom([p, c1, c2, c3, cAcc], true)
  await addAgreement('valid-on-propose', 'Bob accepted the propose: offer = the propose, no chain needed.', onPropose, 'valid')
  await addAgreement('valid-on-propose-with-chain', 'The same, with its chain.', agreementFrom([p, pAcc], true), 'valid')
  await addAgreement('valid-on-counter', 'Alice accepted bob\'s third counter; the chain ties it to the propose.', onCounter, 'valid')
  await addAgreement('tampered-terms', 'terms changed.', { ...onCounter, terms: { ...(onCounter.terms as Obj), price: 105 } }, 'ERR_TERMS_MISMATCH')
  await addAgreement('tampered-terms-and-hash', 'terms changed and termsHash recomputed.', { ...onCounter, terms: { price: 105 }, termsHash: hashOf({ price: 105 }) }, 'ERR_TERMS_MISMATCH')
  await addAgreement('tampered-accept-sig', 'The accept\'s signature flipped.', { ...onCounter, accept: flipped(cAcc) }, 'ERR_BAD_SIGNATURE')
  await addAgreement('tampered-offer-terms', 'The offer\'s price changed (termsHash with it, and the agreement\'s).', (() => {
    const terms = { ...(c3.terms as Obj), price: 105 }
    return { ...onCounter, terms, termsHash: hashOf(terms), offer: { ...c3, terms, termsHash: hashOf(terms) } }
  })(), 'ERR_BAD_SIGNATURE')
  await addAgreement('parties-swapped', 'parties in the other order.', { ...onCounter, parties: [...(onCounter.parties as Obj[])].reverse() }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('handle-changed', 'A party\'s handle changed.', { ...onCounter, parties: [{ peer: alice.peerIdString, handle: 'alice' }, { peer: bob.peerIdString, handle: 'bobby' }] }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('subject-changed', 'subject changed.', { ...onCounter, subject: 'boiler service' }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('subject-changed-no-chain', 'subject changed, offer = the propose.', { ...onPropose, subject: 'boiler service' }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('offer-replaced', 'The offer replaced by alice\'s earlier counter (with its terms).', { ...onCounter, offer: c2, terms: c2.terms, termsHash: c2.termsHash }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('offer-and-accept-swapped', 'offer and accept swapped.', { ...onPropose, offer: pAcc, accept: p }, 'ERR_MALFORMED')
  await addAgreement('chain-missing', 'An agreement on a counter without its chain.', (() => { const a = { ...onCounter }; delete a.chain; return a })(), 'ERR_AGREEMENT_INVALID')
  await addAgreement('chain-gap', 'The chain with its second transition removed.', { ...onCounter, chain: [p, c2, c3, cAcc] }, 'ERR_OUT_OF_ORDER')
  await addAgreement('chain-of-another', 'The chain of another negotiation ending elsewhere.', { ...onCounter, chain: [p, pAcc] }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('chain-continues', 'A cancel signed after the accept, appended to the chain.', { ...onCounter, chain: [p, c1, c2, c3, cAcc, await after(bob, cAcc, 'cancel')] }, 'ERR_TERMINAL')
  await addAgreement('negotiation-changed', 'negotiation changed.', { ...onCounter, negotiation: OTHER_ID }, 'ERR_AGREEMENT_INVALID')
  await addAgreement('version-2', 'v = 2.', { ...onCounter, v: 2 }, 'ERR_UNSUPPORTED_VERSION')
  await addAgreement('wrong-type', 'type = "agreement".', { ...onCounter, type: 'agreement' }, 'ERR_MALFORMED')
  await addAgreement('unknown-member', 'An unknown member.', { ...onCounter, signedAt: NOW }, 'ERR_MALFORMED')

  const keys = [alice, bob, mallory]
  const unsigned = { ...p }
  delete unsigned.sig
  return {
    description: 'Negotiation test vectors (protocols/negotiation/README.md §10). Keys: seed = first 32 bytes of SHA-512("parley test key <label>"). Cases apply `transition` to the first `base.length` transitions of the named chain (rebuilt without a clock; then `expire(expireAt)` if given), or open with it when `base` is null, with the receiver options given; `expect` is the resulting state or the error code.',
    constants: {
      signingContext: NEGOTIATION_SIGNING_CONTEXT,
      maxSkewMs: NEGOTIATION_MAX_SKEW_MS,
      maxTransitionBytes: MAX_TRANSITION_BYTES,
      maxSubjectLength: MAX_SUBJECT_LENGTH,
      maxReasonLength: MAX_REASON_LENGTH,
      method: TRANSITION_METHOD,
      refusedCode: TRANSITION_REFUSED,
      now: NOW
    },
    keys: Object.fromEntries(keys.map(k => [k.label, { seed: toHex(k.seed), publicKey: toHex(k.publicKey), peerId: k.peerIdString }])),
    example: {
      note: 'The propose of every chain, step by step.',
      terms: p.terms,
      termsCanonical: canonicalize(p.terms),
      termsHash: p.termsHash,
      signingInput: NEGOTIATION_SIGNING_CONTEXT + canonicalize(unsigned),
      transition: canonicalize(p),
      hash: hashOf(p)
    },
    chains,
    cases,
    agreements
  }
}
