/**
 * The transition table, systematically: every (state × transition type ×
 * author) is tried on a real negotiation, with a transition that is right in
 * every other respect (signed by its author, the next seq, prev = hash of the
 * last, in time, naming the latest offer's terms). The expected outcome comes
 * from a model of the spec written here (§5 table, §7.2 order), not from the
 * implementation. Refusals must leave the negotiation exactly as it was.
 */
import { expect } from 'chai'
import { Negotiation, isTerminalState } from '../../src/negotiation/index.js'
import type { NegotiationState, TransitionType } from '../../src/negotiation/index.js'
import { TRANSITION_TYPES } from '../../src/negotiation/index.js'
import { proposeBy, after, hashOf, offerHash, NOW, TTL, MIN } from '../vectors/negotiation.js'
import type { Obj } from '../vectors/negotiation.js'
import type { TestKey } from '../vectors/keys.js'
import { alice, bob, mallory, codeOf, snapshot } from './fixtures.js'

type Author = 'proposer' | 'counterparty' | 'outsider'
const AUTHORS: readonly Author[] = ['proposer', 'counterparty', 'outsider']
const keyOf: Record<Author, TestKey> = { proposer: alice, counterparty: bob, outsider: mallory }

interface Fixture {
  name: string
  build: () => Promise<Obj[]>
  /** Call expire(expireAt) after rebuilding. */
  expireAt?: number
  /** Receive the transition with this clock (default: its ts + 1 s). */
  lateBy?: boolean
  state: NegotiationState
  /** Who made the offer on the table. */
  offerBy: Author
}

/** The spec's answer (§5, §7.2) for a well-formed, well-signed, in-sequence transition. */
function model (f: Fixture, type: TransitionType, author: Author): string {
  if (author === 'outsider') return 'ERR_NOT_PARTY'
  if (isTerminalState(f.state)) return 'ERR_TERMINAL'
  if (type === 'propose') return 'ERR_ILLEGAL_TRANSITION'
  if (f.lateBy === true) return 'ERR_EXPIRED'
  if (type !== 'cancel' && author === f.offerBy) return 'ERR_NOT_YOUR_TURN'
  return { counter: 'negotiating', accept: 'confirmed', reject: 'rejected', cancel: 'cancelled' }[type]
}

async function nextBy (chain: Obj[], type: TransitionType, author: Author): Promise<Obj> {
  const key = keyOf[author]
  const last = chain[chain.length - 1] as Obj
  switch (type) {
    case 'propose':
      return proposeBy(key, author === 'proposer' ? bob : alice, { seq: (last.seq as number) + 1, prev: hashOf(last), ts: (last.ts as number) + MIN })
    case 'counter':
      return after(key, last, 'counter', { terms: { price: 500 + chain.length } })
    case 'accept':
      return after(key, last, 'accept', { termsHash: offerHash(chain) })
    default:
      return after(key, last, type)
  }
}

describe('negotiation transition table (state × type × author)', () => {
  let p: Obj
  let c1: Obj
  const fixtures: Fixture[] = [
    { name: 'proposed', build: async () => [p], state: 'proposed', offerBy: 'proposer' },
    { name: 'negotiating (counterparty\'s offer)', build: async () => [p, c1], state: 'negotiating', offerBy: 'counterparty' },
    { name: 'negotiating (proposer\'s offer)', build: async () => [p, c1, await after(alice, c1, 'counter', { terms: { price: 190 } })], state: 'negotiating', offerBy: 'proposer' },
    { name: 'proposed, received late', build: async () => [p], lateBy: true, state: 'proposed', offerBy: 'proposer' },
    { name: 'negotiating, received late', build: async () => [p, c1], lateBy: true, state: 'negotiating', offerBy: 'counterparty' },
    { name: 'confirmed', build: async () => [p, await after(bob, p, 'accept', { termsHash: p.termsHash })], state: 'confirmed', offerBy: 'proposer' },
    { name: 'rejected', build: async () => [p, await after(bob, p, 'reject')], state: 'rejected', offerBy: 'proposer' },
    { name: 'cancelled by the proposer', build: async () => [p, await after(alice, p, 'cancel')], state: 'cancelled', offerBy: 'proposer' },
    { name: 'cancelled by the counterparty', build: async () => [p, c1, await after(bob, c1, 'cancel')], state: 'cancelled', offerBy: 'counterparty' },
    { name: 'expired', build: async () => [p, c1], expireAt: NOW + TTL, state: 'expired', offerBy: 'counterparty' }
  ]

  before(async () => {
    p = await proposeBy(alice, bob)
    c1 = await after(bob, p, 'counter', { terms: { price: 220 } })
  })

  for (const f of fixtures) {
    describe(f.name, () => {
      for (const type of TRANSITION_TYPES) {
        for (const author of AUTHORS) {
          const expected = model(f, type, author)
          it(`${type} by the ${author}: ${expected}`, async () => {
            const chain = await f.build()
            const n = await Negotiation.fromTransitions(chain)
            if (f.expireAt !== undefined) n.expire(f.expireAt)
            expect(n.state).to.equal(f.state)
            const t = await nextBy(chain, type, author)
            const now = f.lateBy === true ? NOW + TTL : (t.ts as number) + 1000
            const before = snapshot(n)
            const code = await codeOf(n.apply(t, { now }))
            if (expected.startsWith('ERR_')) {
              expect(code).to.equal(expected)
              expect(snapshot(n)).to.deep.equal(before)
            } else {
              expect(code).to.equal('ok')
              expect(n.state).to.equal(expected)
              expect(n.seq).to.equal(chain.length)
            }
          })
        }
      }
    })
  }
})
