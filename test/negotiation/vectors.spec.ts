import { expect } from 'chai'
import { sha256 } from '@noble/hashes/sha2.js'
import { Negotiation, verifyAgreement, NegotiationErrorCode, NEGOTIATION_SIGNING_CONTEXT, NEGOTIATION_MAX_SKEW_MS } from '../../src/negotiation/index.js'
import type { Transition } from '../../src/negotiation/index.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { fromBase64url, toBase64url, utf8 } from '../../src/crypto/bytes.js'
import { verifySignature } from '../../src/crypto/signature.js'
import { ed25519KeyOfPeer } from '../../src/crypto/peer-key.js'
import { runCase } from '../vectors/negotiation.js'
import type { CaseVector, Obj } from '../vectors/negotiation.js'
import vectors from '../../protocols/negotiation/vectors.json' with { type: 'json' }
import { codeOf, snapshot } from './fixtures.js'

const chains = new Map<string, Obj[]>(vectors.chains.map(c => [c.name, c.transitions as Obj[]]))
const cases = vectors.cases as unknown as CaseVector[]

describe('negotiation vectors (protocols/negotiation/vectors.json)', () => {
  it('constants are this implementation\'s', () => {
    expect(vectors.constants.signingContext).to.equal(NEGOTIATION_SIGNING_CONTEXT)
    expect(vectors.constants.maxSkewMs).to.equal(NEGOTIATION_MAX_SKEW_MS)
  })

  it('example: hashes and signature recomputed from the spec\'s definitions alone', async () => {
    const ex = vectors.example
    expect(canonicalize(ex.terms)).to.equal(ex.termsCanonical)
    expect(toBase64url(sha256(utf8(ex.termsCanonical)))).to.equal(ex.termsHash)
    expect(toBase64url(sha256(utf8(ex.transition)))).to.equal(ex.hash)
    const t = JSON.parse(ex.transition) as Obj
    const rest = { ...t }
    delete rest.sig
    expect(NEGOTIATION_SIGNING_CONTEXT + canonicalize(rest)).to.equal(ex.signingInput)
    const key = ed25519KeyOfPeer(t.by as string) as Uint8Array
    expect(await verifySignature(key, utf8(ex.signingInput), fromBase64url(t.sig as string) as Uint8Array)).to.equal(true)
    expect(chains.get('propose-accept')?.[1]?.prev).to.equal(ex.hash)
  })

  for (const c of vectors.chains) {
    it(`chain ${c.name}: ${c.expect.state} at seq ${c.expect.seq}`, async () => {
      const n = await Negotiation.fromTransitions(c.transitions, c.now === undefined ? {} : { now: c.now })
      expect({ state: n.state, seq: n.seq, turn: n.turn ?? null, offerBy: n.offer.by, offerTermsHash: n.offer.termsHash }).to.deep.equal(c.expect)
      // and step by step, as a receiver with a clock would
      const ts = (i: number): number => (c.transitions[i] as { ts: number }).ts
      const live = await Negotiation.open(c.transitions[0], { now: ts(0) })
      for (let i = 1; i < c.transitions.length; i++) await live.apply(c.transitions[i], { now: ts(i) })
      if (c.now !== undefined) live.expire(c.now)
      expect(snapshot(live)).to.deep.equal(snapshot(n))
    })
  }

  for (const c of cases) {
    it(`${c.name}: ${c.expect}`, async () => {
      expect(await runCase(c, chains)).to.equal(c.expect)
    })
  }

  it('a refused transition leaves the negotiation exactly as it was (every applied case)', async () => {
    for (const c of cases.filter(c => c.base !== null && c.expect.startsWith('ERR_'))) {
      const base = c.base as { chain: string, length: number }
      const n = await Negotiation.fromTransitions((chains.get(base.chain) ?? []).slice(0, base.length))
      if (c.expireAt !== undefined) n.expire(c.expireAt)
      const before = snapshot(n)
      const options = { now: c.options.now, ...(c.options.pending === undefined ? {} : { pending: c.options.pending as unknown as Transition }) }
      expect(await codeOf(n.check(c.transition, options)), c.name).to.equal(c.expect)
      expect(await codeOf(n.apply(c.transition, options)), c.name).to.equal(c.expect)
      expect(snapshot(n), c.name).to.deep.equal(before)
    }
  })

  for (const a of vectors.agreements) {
    it(`agreement ${a.name}: ${a.expect}`, async () => {
      const got = await codeOf(verifyAgreement(a.agreement))
      expect(got === 'ok' ? 'valid' : got).to.equal(a.expect)
      if ('result' in a) expect({ ...(await verifyAgreement(a.agreement)) }).to.deep.equal(a.result)
    })
  }

  it('covers every error code', () => {
    const seen = new Set([...cases.map(c => c.expect), ...vectors.agreements.map(a => a.expect)])
    for (const code of Object.values(NegotiationErrorCode)) expect(seen.has(code), code).to.equal(true)
  })
})
