/**
 * Fuzzing the negotiation decoders (src/negotiation): `parseTransition` /
 * `verifyTransition` on arbitrary values and mutated valid transitions,
 * `Negotiation.open` / `apply` (the state machine) on mutated and shuffled
 * transitions, `Negotiation.fromTransitions` on arbitrary chains, and
 * `verifyAgreement` on mutated agreements. Every refusal is a
 * `NegotiationError` with a code of protocols/negotiation §7; a refused
 * `apply` leaves the negotiation as it was; whatever is accepted is the
 * original transition, signed by its original author.
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import {
  Negotiation, NegotiationErrorCode, parseTransition, transitionHash, verifyAgreement, verifyTransition
} from '../../src/negotiation/index.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import vectors from '../../protocols/negotiation/vectors.json' with { type: 'json' }
import {
  TIMEOUT, deepArrayText, deepObjectText, mutatedJsonValues, outcome, params, someValue, withinLimit
} from './helpers.js'

const CODES = Object.values(NegotiationErrorCode)
const NAMES = ['v', 'negotiation', 'seq', 'type', 'prev', 'by', 'ts', 'sig', 'parties', 'peer', 'handle', 'subject', 'expires', 'terms', 'termsHash', 'reason', 'offer', 'accept', 'chain']
const NAME = 'NegotiationError'

type Obj = Record<string, unknown>
const chains = vectors.chains.map(c => c.transitions as Obj[])
const all = chains.flat()
const hashOf = (t: unknown): string => transitionHash(parseTransition(t))
const allHashes = all.map(hashOf)
const validAgreements = vectors.agreements.filter(a => a.expect === 'valid')
const snapshot = (n: Negotiation): string => canonicalize(JSON.parse(JSON.stringify(n.toJSON())))

describe('fuzz: negotiation', function () {
  this.timeout(TIMEOUT)

  before(async () => {
    await verifyTransition(all[0])
  })

  it('parseTransition / verifyTransition: arbitrary values are refused with a typed code', async () => {
    const arb = fc.oneof(someValue, fc.dictionary(fc.constantFrom(...NAMES), someValue))
    await fc.assert(fc.asyncProperty(arb, async value => {
      const parsed = await outcome(() => parseTransition(value), NAME, CODES)
      const verified = await outcome(() => verifyTransition(value), NAME, CODES)
      expect(verified.ok, 'a made-up transition verified').to.equal(false)
      if (parsed.ok) expect(parsed.value.v).to.equal(1)
    }), params(800))
  })

  it('a mutated valid transition is refused with a typed code, or verifies as the original by its original author', async () => {
    const arb = fc.constantFrom(...all).chain(t => fc.tuple(fc.constant(t), mutatedJsonValues(t, NAMES)))
    await fc.assert(fc.asyncProperty(arb, async ([original, value]) => {
      const got = await outcome(() => verifyTransition(value), NAME, CODES)
      if (got.ok) {
        expect(transitionHash(got.value), 'an accepted mutation').to.equal(hashOf(original))
        expect(got.value.by).to.equal(original.by)
      }
    }), params(1000))
  })

  it('check / apply: a mutated next transition is refused (the negotiation unchanged) or is the original', async () => {
    const points = chains.flatMap(chain => chain.slice(1).map((_, i) => ({ chain, k: i + 1 })))
    const arb = fc.constantFrom(...points).chain(p => fc.tuple(fc.constant(p), mutatedJsonValues(p.chain[p.k], NAMES), fc.constantFrom<number | null>(null, (p.chain[p.k] as { ts: number }).ts)))
    await fc.assert(fc.asyncProperty(arb, async ([{ chain, k }, value, now]) => {
      const n = await Negotiation.fromTransitions(chain.slice(0, k))
      const before = snapshot(n)
      const checked = await outcome(() => n.check(value, { now }), NAME, CODES)
      expect(snapshot(n), 'check changes nothing').to.equal(before)
      const got = await outcome(() => n.apply(value, { now }), NAME, CODES)
      expect(got.ok ? 'ok' : got.code, 'apply gives what check gave').to.equal(checked.ok ? 'ok' : checked.code)
      if (got.ok) {
        expect(got.value.hash, 'an accepted mutation').to.equal(hashOf(chain[k]))
        expect(got.value.transition.by).to.equal(chain[k]?.by)
      } else {
        expect(snapshot(n), 'a refused transition changes nothing').to.equal(before)
      }
    }), params(500))
  })

  it('open + apply: any sequence of genuine and mutated transitions; refusals change nothing, and the result rebuilds', async () => {
    const item = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...all) }, { weight: 1, arbitrary: fc.constantFrom(...all).chain(t => mutatedJsonValues(t, NAMES)) })
    await fc.assert(fc.asyncProperty(fc.constantFrom(...chains), fc.array(item, { maxLength: 8 }), fc.option(fc.integer({ min: 1_799_999_000_000, max: 1_800_004_000_000 }), { nil: null }), async (chain, moves, now) => {
      const opened = await outcome(() => Negotiation.open(chain[0], { now }), NAME, CODES)
      if (!opened.ok) return
      const n = opened.value
      for (const move of moves) {
        const before = snapshot(n)
        const got = await outcome(() => n.apply(move, { now }), NAME, CODES)
        if (!got.ok) expect(snapshot(n)).to.equal(before)
        else expect(allHashes).to.include(got.value.hash)
      }
      const rebuilt = await Negotiation.fromTransitions(JSON.parse(JSON.stringify(n.transitions)) as unknown[])
      expect(canonicalize(JSON.parse(JSON.stringify(rebuilt.transitions)))).to.equal(canonicalize(JSON.parse(JSON.stringify(n.transitions))))
    }), params(400))
  })

  it('fromTransitions: arbitrary lists are refused with a typed code or rebuild from genuine transitions only', async () => {
    const list = fc.oneof(
      someValue,
      fc.array(fc.oneof(fc.constantFrom(...all), someValue), { maxLength: 6 }),
      fc.constantFrom(...chains).chain(c => fc.tuple(fc.nat(c.length - 1), mutatedJsonValues(c[0], NAMES)).map(([i, m]) => c.map((t, j) => j === i ? m : t)))
    )
    await fc.assert(fc.asyncProperty(list, async value => {
      const got = await outcome(() => Negotiation.fromTransitions(value as unknown[]), NAME, CODES)
      if (got.ok) for (const t of got.value.transitions) expect(allHashes).to.include(transitionHash(t))
    }), params(500))
  })

  it('verifyAgreement: a mutated valid agreement is refused with a typed code, or proves the same agreement', async () => {
    const arb = fc.constantFrom(...validAgreements).chain(a => fc.tuple(fc.constant(a), mutatedJsonValues(a.agreement, NAMES)))
    await fc.assert(fc.asyncProperty(arb, async ([a, value]) => {
      const got = await outcome(() => verifyAgreement(value), NAME, CODES)
      if (got.ok) {
        const want = await verifyAgreement(a.agreement)
        expect(got.value).to.deep.equal(want)
      }
    }), params(500))
  })

  it('large inputs are refused within a second: 100,000-deep terms, a 1 MB subject, a 10,000-transition chain', async () => {
    const propose = all[0] as Obj
    const transition = (t: unknown): Promise<unknown> => withinLimit(() => outcome(() => verifyTransition(t), NAME, CODES))
    for (const terms of [JSON.parse(deepArrayText(100_000)), JSON.parse(deepObjectText(100_000)), { a: JSON.parse(deepObjectText(100_000)) }]) {
      expect(await transition({ ...propose, terms })).to.have.property('ok', false)
    }
    expect(await transition({ ...propose, subject: 'x'.repeat(1024 * 1024) })).to.have.property('ok', false)
    expect(await transition({ ...propose, terms: { big: 'x'.repeat(1024 * 1024) } })).to.have.property('ok', false)
    const long = Array.from({ length: 10_000 }, (_, i) => i === 0 ? propose : { ...(all[1] as Obj), seq: i })
    const got = await withinLimit(() => outcome(() => Negotiation.fromTransitions(long), NAME, CODES))
    expect(got?.ok).to.equal(false)
    const agreement = validAgreements[0]?.agreement as Obj
    const deepAgreement = await withinLimit(() => outcome(() => verifyAgreement({ ...agreement, chain: Array.from({ length: 10_000 }, () => propose) }), NAME, CODES))
    expect(deepAgreement?.ok).to.equal(false)
  })
})
