import { expect } from 'chai'
import fc from 'fast-check'
import { canonicalize, MAX_DEPTH } from '../../src/crypto/canonical-json.js'

/** JSON values as JSON.parse can produce them (I-JSON: well-formed strings, finite numbers). */
const jsonValue = fc.jsonValue({ maxDepth: 6 })

describe('canonical JSON (RFC 8785)', () => {
  it('matches the RFC 8785 §3.2.2 example', () => {
    const input = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}')
    expect(canonicalize(input)).to.equal('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
  })

  it('sorts member names by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' }
    const keys = Object.keys(JSON.parse(canonicalize(input)) as object)
    // JSON.parse puts the integer-like key "1" first regardless; compare the text order instead
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map(k => JSON.stringify(k))
    const text = canonicalize(input)
    const positions = order.map(k => text.indexOf(k + ':'))
    expect(positions).to.deep.equal([...positions].sort((a, b) => a - b))
    expect(keys).to.have.length(7)
  })

  it('writes numbers as ECMAScript does', () => {
    const cases: Array<[number, string]> = [[0, '0'], [-0, '0'], [1, '1'], [-1.5, '-1.5'], [1e21, '1e+21'], [1e-7, '1e-7'], [123456789012345680000, '123456789012345680000'], [5e-324, '5e-324'], [Number.MAX_SAFE_INTEGER, '9007199254740991']]
    for (const [n, text] of cases) expect(canonicalize(n)).to.equal(text)
  })

  it('refuses what has no canonical form', () => {
    for (const bad of [NaN, Infinity, -Infinity, '\ud800', { '\udc00': 1 }, [undefined], new Date(0), new Uint8Array(1), () => 1, 1n, Symbol('x')]) {
      expect(() => canonicalize(bad), String(bad)).to.throw().with.property('name', 'CanonicalJsonError')
    }
    let deep: unknown = 1
    for (let i = 0; i < MAX_DEPTH + 1; i++) deep = [deep]
    expect(() => canonicalize(deep)).to.throw().with.property('code', 'ERR_NOT_CANONICALIZABLE')
  })

  it('omits members whose value is undefined', () => {
    expect(canonicalize({ b: undefined, a: 1 })).to.equal('{"a":1}')
  })

  describe('properties', () => {
    it('is valid JSON that parses back to an equal value', () => {
      fc.assert(fc.property(jsonValue, v => {
        expect(JSON.parse(canonicalize(v))).to.deep.equal(JSON.parse(JSON.stringify(v)))
      }), { numRuns: 500 })
    })

    it('is idempotent: canonical text re-canonicalizes to itself', () => {
      fc.assert(fc.property(jsonValue, v => {
        const c = canonicalize(v)
        expect(canonicalize(JSON.parse(c))).to.equal(c)
      }), { numRuns: 500 })
    })

    it('does not depend on member insertion order, at any depth', () => {
      const shuffle = (v: unknown, seed: number): unknown => {
        if (Array.isArray(v)) return v.map((x, i) => shuffle(x, seed + i))
        if (v !== null && typeof v === 'object') {
          const entries = Object.entries(v)
          entries.sort((a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 17 + seed) % 5))
          entries.reverse()
          return Object.fromEntries(entries.map(([k, x]) => [k, shuffle(x, seed + 1)]))
        }
        return v
      }
      fc.assert(fc.property(jsonValue, fc.integer(), (v, seed) => {
        expect(canonicalize(shuffle(v, seed))).to.equal(canonicalize(v))
      }), { numRuns: 500 })
    })

    it('has no insignificant whitespace and sorted keys at every level', () => {
      fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), obj => {
        const text = canonicalize(obj)
        const parsedKeys = Object.keys(obj).sort()
        expect(Object.keys(JSON.parse(text) as object).sort()).to.deep.equal(parsedKeys)
        // names appear in code-unit order
        let last = -1
        for (const k of parsedKeys) {
          const at = text.indexOf(JSON.stringify(k) + ':', last + 1)
          expect(at).to.be.greaterThan(last)
          last = at
        }
      }), { numRuns: 300 })
    })

    it('writes any string, including astral and control characters, as JSON.stringify does', () => {
      fc.assert(fc.property(fc.string({ unit: 'grapheme' }), s => {
        expect(canonicalize(s)).to.equal(JSON.stringify(s))
      }), { numRuns: 500 })
    })

    it('writes any finite double as ECMAScript Number-to-String', () => {
      fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), n => {
        expect(canonicalize(n)).to.equal(Object.is(n, -0) ? '0' : String(n))
      }), { numRuns: 1000 })
    })
  })
})
