import { expect } from 'chai'
import fc from 'fast-check'
import { Negotiation, propose, counter, accept, reject, cancel, agreementOf, verifyAgreement } from '../../src/negotiation/index.js'
import type { Terms, Transition } from '../../src/negotiation/index.js'
import type { TestKey } from '../vectors/keys.js'
import { alice, bob, codeOf, snapshot } from './fixtures.js'

const T0 = 1_800_000_000_000
const STEP = 1000

type Move = { kind: 'counter', terms: Terms } | { kind: 'accept' | 'reject' | 'cancel-by-turn' | 'cancel-by-author' }

const terms: fc.Arbitrary<Terms> = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }) as fc.Arbitrary<Terms>
const move: fc.Arbitrary<Move> = fc.oneof(
  { weight: 4, arbitrary: terms.map(t => ({ kind: 'counter' as const, terms: t })) },
  fc.constantFrom<Move>({ kind: 'accept' }, { kind: 'reject' }, { kind: 'cancel-by-turn' }, { kind: 'cancel-by-author' })
)

const keyOf = (peer: string | undefined): TestKey => peer === alice.peerIdString ? alice : bob
const otherOf = (peer: string | undefined): TestKey => peer === alice.peerIdString ? bob : alice

/** Plays `moves` (legal by construction) between two replicas as §6 describes; returns both. */
async function play (first: Terms, moves: Move[]): Promise<[Negotiation, Negotiation]> {
  const p = await propose(alice, { counterparty: bob.peerIdString, subject: 'property', terms: first, ts: T0, expires: T0 + 1_000_000 })
  const atAlice = await Negotiation.open(p, { now: null })
  const atBob = await Negotiation.open(p, { now: T0 })
  const side = (k: TestKey): Negotiation => k === alice ? atAlice : atBob
  let ts = T0
  for (const m of moves) {
    if (atAlice.terminal) break
    ts += STEP
    const turn = keyOf(atAlice.turn)
    const signer = m.kind === 'cancel-by-author' ? otherOf(atAlice.turn) : turn
    const mine = side(signer)
    let t: Transition
    switch (m.kind) {
      case 'counter': t = await counter(signer, mine, m.terms, { ts }); break
      case 'accept': t = await accept(signer, mine, { ts }); break
      case 'reject': t = await reject(signer, mine, { ts, reason: 'no' }); break
      default: t = await cancel(signer, mine, { ts })
    }
    await side(signer === alice ? bob : alice).apply(t, { now: ts + 1 })
    await mine.apply(t, { now: null })
  }
  return [atAlice, atBob]
}

describe('negotiation properties', function () {
  this.timeout(60_000)

  it('random legal chains leave both replicas identical, and rebuild to the same state', async () => {
    await fc.assert(fc.asyncProperty(terms, fc.array(move, { maxLength: 8 }), async (first, moves) => {
      const [a, b] = await play(first, moves)
      expect(snapshot(a)).to.deep.equal(snapshot(b))
      const rebuilt = await Negotiation.fromTransitions(JSON.parse(JSON.stringify(a.transitions)) as unknown[])
      expect(snapshot(rebuilt)).to.deep.equal(snapshot(a))
      if (a.state === 'confirmed') {
        const v = await verifyAgreement(JSON.parse(JSON.stringify(agreementOf(a, { chain: false }))))
        expect(v.termsHash).to.equal(a.offer.termsHash)
      }
    }), { numRuns: 40 })
  })

  it('any changed value in a legal next transition is refused and changes nothing', async () => {
    await fc.assert(fc.asyncProperty(fc.array(move, { maxLength: 4 }), terms, fc.nat(), async (moves, next, pick) => {
      const [a] = await play({ price: 1 }, moves)
      if (a.terminal) return
      const t = JSON.parse(JSON.stringify(await counter(keyOf(a.turn), a, next, { ts: a.last.ts + STEP }))) as Record<string, unknown>
      // change one top-level member's value (every member is signed)
      const keys = Object.keys(t)
      const k = keys[pick % keys.length] as string
      const v = t[k]
      t[k] = typeof v === 'number' ? v + 1 : typeof v === 'string' ? (v[0] === 'A' ? 'B' : 'A') + v.slice(1) : { changed: true }
      const before = snapshot(a)
      expect(await codeOf(a.apply(t, { now: a.last.ts + STEP }))).to.match(/^ERR_/)
      expect(snapshot(a)).to.deep.equal(before)
    }), { numRuns: 40 })
  })
})
