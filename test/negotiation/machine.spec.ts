import { expect } from 'chai'
import {
  Negotiation, propose, counter, accept, reject, cancel, signTransition, transitionHash, termsHash,
  verifyTransition, NEGOTIATION_VERSION
} from '../../src/negotiation/index.js'
import type { NegotiationSigner, Transition, Terms } from '../../src/negotiation/index.js'
import { createIdentity } from '../../src/identity/index.js'
import { alice, bob, mallory, codeOf, snapshot } from './fixtures.js'

const T0 = 1_800_000_000_000
const MIN = 60_000
const HOUR = 3_600_000

/** Both parties' copies, and the exchange of §6: the receiver applies with its clock, the sender applies its own once acknowledged. */
class Pair {
  constructor (readonly a: Negotiation, readonly b: Negotiation) {}

  static async open (p: Transition, now: number): Promise<Pair> {
    // a is the proposer (applies its own without a clock), b receives it
    return new Pair(await Negotiation.open(p, { now: null }), await Negotiation.open(p, { now }))
  }

  side (signer: NegotiationSigner): Negotiation {
    return signer.peerIdString === this.a.parties[0].peer ? this.a : this.b
  }

  other (signer: NegotiationSigner): Negotiation {
    return signer.peerIdString === this.a.parties[0].peer ? this.b : this.a
  }

  async send (signer: NegotiationSigner, t: Transition, now = t.ts + 500): Promise<void> {
    await this.other(signer).apply(t, { now })
    await this.side(signer).apply(t, { now: null })
  }
}

describe('negotiation machine', () => {
  const terms = (price: number): Terms => ({ job: 'leaking tap', price, currency: 'GBP' })

  it('propose → accept: confirmed, both sides equal', async () => {
    const p = await propose(alice, { counterparty: { peer: bob.peerIdString, handle: 'bob' }, handle: 'alice', subject: 'plumbing call-out', terms: terms(180), ts: T0, expires: T0 + HOUR })
    expect(p).to.include({ v: NEGOTIATION_VERSION, seq: 0, type: 'propose', by: alice.peerIdString, ts: T0, expires: T0 + HOUR, subject: 'plumbing call-out' })
    expect(p.termsHash).to.equal(termsHash(terms(180)))
    expect(p.parties).to.deep.equal([{ peer: alice.peerIdString, handle: 'alice' }, { peer: bob.peerIdString, handle: 'bob' }])
    const pair = await Pair.open(p, T0 + 100)
    expect(pair.b.state).to.equal('proposed')
    expect(pair.b.turn).to.equal(bob.peerIdString)
    const a = await accept(bob, pair.b, { ts: T0 + MIN })
    expect(a.termsHash).to.equal(p.termsHash)
    expect(a.prev).to.equal(transitionHash(p))
    await pair.send(bob, a)
    expect(pair.a.state).to.equal('confirmed')
    expect(pair.a.turn).to.equal(undefined)
    expect(pair.a.terminal).to.equal(true)
    expect(snapshot(pair.a)).to.deep.equal(snapshot(pair.b))
  })

  it('propose → counter ×N → accept, turns alternating', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 'boiler service', terms: terms(100), ts: T0 })
    const pair = await Pair.open(p, T0)
    let ts = T0
    const signers = [bob, alice]
    for (let i = 0; i < 7; i++) {
      const who = signers[i % 2] as typeof bob
      ts += MIN
      const c = await counter(who, pair.side(who), terms(100 + i), { ts })
      await pair.send(who, c)
      expect(pair.a.state).to.equal('negotiating')
      expect(pair.a.offer).to.deep.include({ by: who.peerIdString, seq: i + 1, termsHash: termsHash(terms(100 + i)) })
      expect(pair.a.turn).to.equal((signers[(i + 1) % 2] as typeof bob).peerIdString)
    }
    // bob made the 7th offer: alice accepts it
    const a = await accept(alice, pair.a, { ts: ts + MIN })
    await pair.send(alice, a)
    expect(pair.b.state).to.equal('confirmed')
    expect(pair.b.seq).to.equal(8)
    expect(pair.b.offer.terms).to.deep.equal(terms(106))
    expect(snapshot(pair.a)).to.deep.equal(snapshot(pair.b))
  })

  it('reject by the party whose turn it is', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0 })
    const pair = await Pair.open(p, T0)
    const r = await reject(bob, pair.b, { reason: 'no thanks', ts: T0 + 1 })
    expect(r.reason).to.equal('no thanks')
    await pair.send(bob, r)
    expect(pair.a.state).to.equal('rejected')
    expect(snapshot(pair.a)).to.deep.equal(snapshot(pair.b))
  })

  for (const [label, who] of [['proposer', alice], ['counterparty', bob]] as const) {
    for (const afterCounter of [false, true]) {
      it(`cancel by the ${label}${afterCounter ? ' after a counter' : ''}`, async () => {
        const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0 })
        const pair = await Pair.open(p, T0)
        if (afterCounter) await pair.send(bob, await counter(bob, pair.b, terms(2), { ts: T0 + 1 }))
        const c = await cancel(who, pair.side(who), { ts: T0 + 2 })
        expect(c).to.not.have.property('reason')
        await pair.send(who, c)
        expect(pair.a.state).to.equal('cancelled')
        expect(snapshot(pair.a)).to.deep.equal(snapshot(pair.b))
      })
    }
  }

  it('expires: expire(now) moves a pending negotiation to expired at `expires`, and nothing applies after', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0, expires: T0 + HOUR })
    const n = await Negotiation.open(p, { now: T0 })
    const late = await accept(bob, n, { ts: T0 + HOUR - 1 })
    expect(n.expire(T0 + HOUR - 1)).to.equal(false)
    expect(n.state).to.equal('proposed')
    expect(await codeOf(n.apply(late, { now: T0 + HOUR }))).to.equal('ERR_EXPIRED')
    expect(n.expire(T0 + HOUR)).to.equal(true)
    expect(n.state).to.equal('expired')
    expect(n.expire(T0 + 2 * HOUR)).to.equal(false)
    expect(n.turn).to.equal(undefined)
    expect(await codeOf(n.apply(late, { now: null }))).to.equal('ERR_TERMINAL')
    expect(await codeOf(cancel(alice, n, { ts: T0 + 2 }))).to.equal('ERR_TERMINAL')
  })

  it('a clock that is not a number refuses and expires nothing', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0 })
    const n = await Negotiation.open(p, { now: T0 })
    const a = await accept(bob, n, { ts: T0 + 1 })
    expect(await codeOf(Negotiation.open(p, { now: NaN }))).to.equal('ERR_EXPIRED')
    expect(await codeOf(n.apply(a, { now: NaN }))).to.equal('ERR_EXPIRED')
    expect(n.expire(NaN)).to.equal(false)
    expect(n.state).to.equal('proposed')
  })

  it('a confirmed negotiation does not expire', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0, expires: T0 + HOUR })
    const n = await Negotiation.open(p, { now: T0 })
    await n.apply(await accept(bob, n, { ts: T0 + 1 }), { now: T0 + 2 })
    expect(n.expire(T0 + 10 * HOUR)).to.equal(false)
    expect(n.state).to.equal('confirmed')
  })

  it('fromTransitions rebuilds the same state, expires with a clock, and names the failing index', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0, expires: T0 + HOUR })
    const pair = await Pair.open(p, T0)
    await pair.send(bob, await counter(bob, pair.b, terms(2), { ts: T0 + 1 }))
    await pair.send(alice, await counter(alice, pair.a, terms(3), { ts: T0 + 2 }))
    const rebuilt = await Negotiation.fromTransitions(JSON.parse(JSON.stringify(pair.a.transitions)) as unknown[])
    expect(snapshot(rebuilt)).to.deep.equal(snapshot(pair.a))
    expect((await Negotiation.fromTransitions(pair.a.transitions, { now: T0 + HOUR })).state).to.equal('expired')
    expect((await Negotiation.fromTransitions(pair.a.transitions, { now: T0 + HOUR - 1 })).state).to.equal('negotiating')
    const broken = [...pair.a.transitions]
    broken.splice(1, 1)
    const err = await Negotiation.fromTransitions(broken).catch((e: unknown) => e)
    expect(err).to.have.property('code', 'ERR_OUT_OF_ORDER')
    expect((err as Error).message).to.match(/^transition 1: /)
    expect(await codeOf(Negotiation.fromTransitions([]))).to.equal('ERR_MALFORMED')
    expect(await codeOf(Negotiation.fromTransitions(pair.a.transitions.slice(1)))).to.equal('ERR_ILLEGAL_TRANSITION')
  })

  it('toJSON holds the whole state as plain JSON', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 'plumbing call-out', terms: terms(1), ts: T0, expires: T0 + HOUR })
    const n = await Negotiation.open(p, { now: T0 })
    const c = await counter(bob, n, terms(2), { ts: T0 + 1 })
    await n.apply(c, { now: T0 + 2 })
    expect(JSON.parse(JSON.stringify(n))).to.deep.equal({
      id: p.negotiation,
      subject: 'plumbing call-out',
      parties: [{ peer: alice.peerIdString }, { peer: bob.peerIdString }],
      expires: T0 + HOUR,
      state: 'negotiating',
      seq: 1,
      turn: alice.peerIdString,
      offer: { seq: 1, by: bob.peerIdString, terms: terms(2), termsHash: termsHash(terms(2)) },
      transitions: [p, c]
    })
  })

  it('holds normalised, frozen copies: changing what was passed in changes nothing', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: { price: 1, extra: { a: 1 } }, ts: T0 })
    const mine = JSON.parse(JSON.stringify(p)) as { terms: { extra: { a: number } } }
    const n = await Negotiation.open(mine, { now: T0 })
    const before = snapshot(n)
    mine.terms.extra.a = 2
    expect(snapshot(n)).to.deep.equal(before)
    expect(Object.isFrozen(n.transitions[0])).to.equal(true)
    expect(Object.isFrozen((n.transitions[0] as unknown as { terms: { extra: object } }).terms.extra)).to.equal(true)
    expect(() => { (n.transitions as Transition[]).push(p) }).to.throw(TypeError)
    expect(n.seq).to.equal(0)
  })

  it('members whose value is undefined count as absent; anything not JSON is malformed', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: { a: 1 }, ts: T0 })
    expect(transitionHash(await verifyTransition({ ...p, reason: undefined }))).to.equal(transitionHash(p))
    for (const bad of [null, 1, 'x', [p], new Date(), { ...p, terms: { a: NaN } }, { ...p, terms: { a: 1n } }, { ...p, terms: new Map() }, { ...p, subject: '\ud800' }]) {
      expect(await codeOf(Negotiation.open(bad, { now: T0 }))).to.equal('ERR_MALFORMED')
    }
  })

  it('concurrent applies of competing transitions: exactly one wins, the chain stays valid', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0 })
    const n = await Negotiation.open(p, { now: T0 })
    const a = await accept(bob, n, { ts: T0 + 1 })
    const c = await cancel(alice, n, { ts: T0 + 1 })
    const r = await reject(bob, n, { ts: T0 + 1 })
    const codes = await Promise.all([a, c, r].map(async t => codeOf(n.apply(t, { now: T0 + 2 }))))
    expect(codes.filter(x => x === 'ok')).to.have.length(1)
    expect(codes.filter(x => x !== 'ok')).to.satisfy((rest: string[]) => rest.every(x => x === 'ERR_TERMINAL'))
    expect(n.seq).to.equal(1)
    expect(snapshot(await Negotiation.fromTransitions(n.transitions))).to.deep.equal(snapshot(n))
  })

  it('simultaneous moves (§6.3): both sides end with the move of the party whose turn it was', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0 })
    const pair = await Pair.open(p, T0)
    // alice (the offer's author) cancels while bob (whose turn it is) accepts; each has sent its own, unacknowledged
    const aliceCancel = await cancel(alice, pair.a, { ts: T0 + 1 })
    const bobAccept = await accept(bob, pair.b, { ts: T0 + 1 })
    // each receives the other's while its own is pending
    expect(await codeOf(pair.b.apply(aliceCancel, { now: T0 + 2, pending: bobAccept }))).to.equal('ERR_CONFLICT')
    await pair.a.apply(bobAccept, { now: T0 + 2, pending: aliceCancel })
    // bob's request was answered with success: he applies his own; alice's was refused: she drops hers
    await pair.b.apply(bobAccept, { now: null })
    expect(pair.a.state).to.equal('confirmed')
    expect(snapshot(pair.a)).to.deep.equal(snapshot(pair.b))
    // a late retry of alice's cancel changes nothing
    expect(await codeOf(pair.b.apply(aliceCancel, { now: T0 + 3 }))).to.equal('ERR_TERMINAL')
  })

  it('check() runs the same checks as apply() and changes nothing', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0 })
    const n = await Negotiation.open(p, { now: T0 })
    const before = snapshot(n)
    const a = await accept(bob, n, { ts: T0 + 1 })
    const result = await n.check(a, { now: T0 + 2 })
    expect(result).to.deep.include({ state: 'confirmed', seq: 1, hash: transitionHash(a) })
    expect(snapshot(n)).to.deep.equal(before)
    expect(await codeOf(n.check(await signTransition(alice, { ...a, by: alice.peerIdString }), { now: T0 + 2 }))).to.equal('ERR_NOT_YOUR_TURN')
    expect(snapshot(n)).to.deep.equal(before)
  })

  it('the helpers refuse moves the far end would refuse, with its code', async () => {
    const p = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: terms(1), ts: T0, expires: T0 + HOUR })
    const n = await Negotiation.open(p, { now: T0 })
    expect(await codeOf(counter(alice, n, terms(2), { ts: T0 + 1 }))).to.equal('ERR_NOT_YOUR_TURN')
    expect(await codeOf(accept(alice, n, { ts: T0 + 1 }))).to.equal('ERR_NOT_YOUR_TURN')
    expect(await codeOf(reject(alice, n, { ts: T0 + 1 }))).to.equal('ERR_NOT_YOUR_TURN')
    expect(await codeOf(cancel(mallory, n, { ts: T0 + 1 }))).to.equal('ERR_NOT_PARTY')
    expect(await codeOf(accept(bob, n, { ts: T0 + HOUR }))).to.equal('ERR_EXPIRED')
    expect(await codeOf(reject(bob, n, { reason: '', ts: T0 + 1 }))).to.equal('ERR_MALFORMED')
    expect(await codeOf(propose(alice, { counterparty: alice.peerIdString, subject: 's', terms: {} }))).to.equal('ERR_MALFORMED')
    expect(await codeOf(propose(alice, { counterparty: bob.peerIdString, subject: '', terms: {} }))).to.equal('ERR_MALFORMED')
    expect(await codeOf(propose(alice, { counterparty: bob.peerIdString, handle: '@alice', subject: 's', terms: {} }))).to.equal('ERR_MALFORMED')
    expect(await codeOf(propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: {}, ts: T0, expires: T0 }))).to.equal('ERR_EXPIRED')
    expect(await codeOf(propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: {}, negotiation: 'short' }))).to.equal('ERR_MALFORMED')
    let thrown: unknown
    try { await signTransition(bob, { ...p }) } catch (err) { thrown = err }
    expect(thrown).to.be.instanceOf(TypeError)
  })

  it('propose defaults: a fresh random id, now, and a 24 h lifetime', async () => {
    const before = Date.now()
    const p1 = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: {} })
    const p2 = await propose(alice, { counterparty: bob.peerIdString, subject: 's', terms: {} })
    expect(p1.negotiation).to.match(/^[A-Za-z0-9_-]{22}$/)
    expect(p1.negotiation).to.not.equal(p2.negotiation)
    expect(p1.ts).to.be.within(before, Date.now())
    expect(p1.expires - p1.ts).to.equal(24 * HOUR)
  })

  it('an Identity is a signer, synchronous or not', async () => {
    const me = await createIdentity({ kind: 'agent' })
    const you = await createIdentity({ kind: 'human' })
    const p = await propose(me, { counterparty: you.peerIdString, subject: 'lunch', terms: { where: 'canteen' } })
    const n = await Negotiation.open(p, { now: Date.now() })
    await n.apply(await accept(you, n), { now: Date.now() })
    expect(n.state).to.equal('confirmed')
  })
})
