import { expect } from 'chai'
import {
  Negotiation, propose, counter, accept, cancel, agreementOf, verifyAgreement, termsHash
} from '../../src/negotiation/index.js'
import type { Agreement } from '../../src/negotiation/index.js'
import { alice, bob, codeOf } from './fixtures.js'

const T0 = 1_800_000_000_000
type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** Every path to a leaf (string, number, boolean, null) of a JSON value. */
function leaves (value: Json, path: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [path]
  const entries: Array<[string | number, Json]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value)
  return entries.flatMap(([k, v]) => leaves(v, [...path, k]))
}

/** A copy of `value` with the leaf at `path` changed to a different value of the same type. */
function tamper (value: Json, path: Array<string | number>): Json {
  const copy = JSON.parse(JSON.stringify(value)) as Json
  let parent = copy as Record<string | number, Json>
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>
  const k = path[path.length - 1] as string | number
  const v = parent[k]
  if (typeof v === 'string') parent[k] = v.length === 0 ? 'x' : (v[0] === 'A' ? 'B' : 'A') + v.slice(1)
  else if (typeof v === 'number') parent[k] = v + 1
  else if (typeof v === 'boolean') parent[k] = !v
  else parent[k] = 0
  return copy
}

describe('negotiation agreement', () => {
  let onPropose: Negotiation
  let onCounter: Negotiation

  before(async () => {
    const p = await propose(alice, { counterparty: { peer: bob.peerIdString, handle: 'bob' }, handle: 'alice', subject: 'plumbing call-out', terms: { price: 180, urgent: true, parts: ['washer', null] }, ts: T0 })
    onPropose = await Negotiation.open(p, { now: null })
    await onPropose.apply(await accept(bob, onPropose, { ts: T0 + 1 }), { now: T0 + 2 })
    onCounter = await Negotiation.open(p, { now: null })
    await onCounter.apply(await counter(bob, onCounter, { price: 220, urgent: true }, { ts: T0 + 1 }), { now: T0 + 2 })
    await onCounter.apply(await counter(alice, onCounter, { price: 200, urgent: false }, { ts: T0 + 3 }), { now: T0 + 4 })
    await onCounter.apply(await accept(bob, onCounter, { ts: T0 + 5 }), { now: T0 + 6 })
  })

  it('of a negotiation confirmed on the propose: verifies, with or without the chain', async () => {
    const full = agreementOf(onPropose)
    const compact = agreementOf(onPropose, { chain: false })
    expect(full.chain).to.have.length(2)
    expect(compact).to.not.have.property('chain')
    for (const a of [full, compact]) {
      const v = await verifyAgreement(JSON.parse(JSON.stringify(a)))
      expect(v).to.deep.equal({
        negotiation: onPropose.id,
        subject: 'plumbing call-out',
        parties: [{ peer: alice.peerIdString, handle: 'alice' }, { peer: bob.peerIdString, handle: 'bob' }],
        terms: { price: 180, urgent: true, parts: ['washer', null] },
        termsHash: termsHash({ price: 180, urgent: true, parts: ['washer', null] }),
        offeredBy: alice.peerIdString,
        acceptedBy: bob.peerIdString,
        confirmedAt: T0 + 1
      })
    }
  })

  it('of a negotiation confirmed on a counter: always carries its chain', async () => {
    const a = agreementOf(onCounter, { chain: false })
    expect(a.chain).to.have.length(4)
    expect(a.offer.type).to.equal('counter')
    expect(a.offer.by).to.equal(alice.peerIdString)
    expect(a.accept.by).to.equal(bob.peerIdString)
    const v = await verifyAgreement(JSON.parse(JSON.stringify(a)))
    expect(v.terms).to.deep.equal({ price: 200, urgent: false })
    expect(v.offeredBy).to.equal(alice.peerIdString)
  })

  it('is refused for a negotiation that is not confirmed', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: {}, ts: T0 })
    const n = await Negotiation.open(p, { now: null })
    expect(await codeOf((async () => agreementOf(n))())).to.equal('ERR_AGREEMENT_INVALID')
    await n.apply(await cancel(bob, n, { ts: T0 + 1 }), { now: null })
    expect(await codeOf((async () => agreementOf(n))())).to.equal('ERR_AGREEMENT_INVALID')
  })

  for (const [label, which, withChain] of [['on the propose, compact', 'propose', false], ['on the propose, with chain', 'propose', true], ['on a counter', 'counter', true]] as const) {
    it(`any single changed value fails (${label})`, async () => {
      const n = which === 'propose' ? onPropose : onCounter
      const a = JSON.parse(JSON.stringify(agreementOf(n, { chain: withChain }))) as Json
      const paths = leaves(a)
      expect(paths.length).to.be.greaterThan(20)
      for (const path of paths) {
        const code = await codeOf(verifyAgreement(tamper(a, path)))
        expect(code, path.join('.')).to.match(/^ERR_/)
      }
      // and removing any member fails too, except the chain where it is optional
      for (const k of Object.keys(a as object)) {
        const copy = { ...(a as Record<string, Json>) }
        delete copy[k]
        const code = await codeOf(verifyAgreement(copy))
        if (k === 'chain' && which === 'propose') expect(code, k).to.equal('ok')
        else expect(code, k).to.match(/^ERR_/)
      }
    })
  }

  it('names what was tampered with', async () => {
    const a = JSON.parse(JSON.stringify(agreementOf(onCounter))) as Agreement
    const earlier = a.chain?.[1] as Agreement['offer']
    const sig = a.accept.sig
    expect(await codeOf(verifyAgreement({ ...a, terms: { ...a.terms, price: 1 } }))).to.equal('ERR_TERMS_MISMATCH')
    expect(await codeOf(verifyAgreement({ ...a, accept: { ...a.accept, sig: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) } }))).to.equal('ERR_BAD_SIGNATURE')
    expect(await codeOf(verifyAgreement({ ...a, parties: [a.parties[1], a.parties[0]] }))).to.equal('ERR_AGREEMENT_INVALID')
    expect(await codeOf(verifyAgreement({ ...a, offer: earlier, terms: earlier.terms, termsHash: earlier.termsHash }))).to.equal('ERR_AGREEMENT_INVALID')
    expect(await codeOf(verifyAgreement({ ...a, chain: undefined }))).to.equal('ERR_AGREEMENT_INVALID')
    expect(await codeOf(verifyAgreement(null))).to.equal('ERR_MALFORMED')
    expect(await codeOf(verifyAgreement({ ...a, chain: [] }))).to.equal('ERR_MALFORMED')
  })
})
