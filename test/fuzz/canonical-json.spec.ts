/**
 * Fuzzing RFC 8785 canonicalization (src/crypto/canonical-json.ts): it
 * returns text or throws `CanonicalJsonError` (`ERR_NOT_CANONICALIZABLE`),
 * never anything else, on any JavaScript value; its text is a fixpoint and
 * agrees with a plain reference implementation.
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { canonicalize, MAX_DEPTH } from '../../src/crypto/canonical-json.js'
import { TIMEOUT, anyString, deepArrayText, deepObjectText, expectTyped, nest, params, withinLimit } from './helpers.js'

const CODES = ['ERR_NOT_CANONICALIZABLE']

/** A straightforward JCS for JSON data: the oracle. Undefined for input with no canonical form. */
function reference (v: unknown, depth = 0): string | undefined {
  if (v === null || typeof v === 'boolean') return JSON.stringify(v)
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : undefined
  if (typeof v === 'string') return v.isWellFormed() ? JSON.stringify(v) : undefined
  if (typeof v !== 'object' || depth >= MAX_DEPTH) return undefined
  if (Array.isArray(v)) {
    const items: string[] = []
    for (let i = 0; i < v.length; i++) {
      const t = reference(v[i], depth + 1)
      if (t === undefined) return undefined
      items.push(t)
    }
    return '[' + items.join(',') + ']'
  }
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return undefined
  const members: string[] = []
  // code-unit order: the default sort of strings
  for (const k of Object.keys(v).sort()) {
    const member = (v as Record<string, unknown>)[k]
    if (member === undefined) continue
    const t = reference(member, depth + 1)
    if (t === undefined || !k.isWellFormed()) return undefined
    members.push(JSON.stringify(k) + ':' + t)
  }
  return '{' + members.join(',') + '}'
}

function canonicalOrCode (v: unknown): string | { code: string } {
  try {
    return canonicalize(v)
  } catch (err) {
    expectTyped(err, 'CanonicalJsonError', CODES)
    return { code: (err as { code: string }).code }
  }
}

describe('fuzz: canonical JSON', function () {
  this.timeout(TIMEOUT)

  it('round-trips: canonicalize(JSON.parse(canonicalize(x))) === canonicalize(x), and matches the reference', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), x => {
      const text = canonicalize(x)
      expect(canonicalize(JSON.parse(text))).to.equal(text)
      expect(text).to.equal(reference(x))
    }), params(1000))
  })

  it('strings of any code units: canonical text, or refused for a lone surrogate', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }), x => {
      const got = canonicalOrCode(x)
      const want = reference(x)
      if (want === undefined) expect(got).to.deep.equal({ code: 'ERR_NOT_CANONICALIZABLE' })
      else expect(got).to.equal(want)
    }), params(800))
  })

  it('any JavaScript value: canonical text or CanonicalJsonError, never another error', () => {
    const anything = fc.anything({
      maxDepth: 4,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true
    })
    fc.assert(fc.property(fc.oneof(anything, fc.func(fc.anything()), anyString()), x => {
      const got = canonicalOrCode(x)
      const want = reference(x)
      if (want === undefined) expect(got, 'refused').to.be.an('object')
      else expect(got).to.equal(want)
    }), params(800))
  })

  it('JSON text of any shape, parsed: canonical or refused, and canonical text parses back to itself', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue().map(v => JSON.stringify(v)), anyString(80)), text => {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        return
      }
      const got = canonicalOrCode(value)
      if (typeof got === 'string') expect(canonicalize(JSON.parse(got))).to.equal(got)
    }), params(800))
  })

  it('depth: nesting up to the limit is written, one more is refused (arrays and objects)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_DEPTH + 3 }), fc.constantFrom('array' as const, 'object' as const), (depth, kind) => {
      const got = canonicalOrCode(nest(1, depth, kind))
      if (depth <= MAX_DEPTH) expect(got).to.be.a('string')
      else expect(got).to.deep.equal({ code: 'ERR_NOT_CANONICALIZABLE' })
    }), params(200))
  })

  it('large inputs stay within a second: 100,000-deep nesting, 1 MB strings, 100,000 members, a cycle', async () => {
    for (const text of [deepArrayText(100_000), deepObjectText(100_000)]) {
      const value = await withinLimit(() => JSON.parse(text) as unknown)
      await withinLimit(() => expect(canonicalOrCode(value)).to.deep.equal({ code: 'ERR_NOT_CANONICALIZABLE' }))
    }
    const big = 'é'.repeat(512 * 1024)
    await withinLimit(() => expect(canonicalize({ big })).to.equal(`{"big":"${big}"}`))
    await withinLimit(() => expect(canonicalOrCode(big + '\ud800')).to.deep.equal({ code: 'ERR_NOT_CANONICALIZABLE' }))
    const wide: Record<string, number> = {}
    for (let i = 100_000; i > 0; i--) wide[`k${i}`] = i
    await withinLimit(() => expect(JSON.parse(canonicalize(wide))).to.deep.equal(wide))
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await withinLimit(() => expect(canonicalOrCode(cyclic)).to.deep.equal({ code: 'ERR_NOT_CANONICALIZABLE' }))
  })
})
