import { expect } from 'chai'
import { Ajv2020 } from 'ajv/dist/2020.js'
import schema from '../../protocols/negotiation/schema.json' with { type: 'json' }
import vectors from '../../protocols/negotiation/vectors.json' with { type: 'json' }

/** Structural failures that the schema cannot express (README §3 says how they are checked). */
const BEYOND_SCHEMA = new Set(['malformed-non-canonical-base64url', 'malformed-same-parties', 'malformed-oversize'])

describe('negotiation JSON Schema (protocols/negotiation/schema.json)', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  ajv.addSchema(schema)
  const transition = ajv.getSchema(schema.$id)
  const agreement = ajv.getSchema(schema.$id + '#/$defs/agreement')
  if (transition === undefined || agreement === undefined) throw new Error('schema not compiled')

  for (const c of vectors.chains) {
    it(`accepts every transition of chain ${c.name}`, () => {
      for (const t of c.transitions) expect(transition(t), JSON.stringify(transition.errors)).to.equal(true)
    })
  }

  for (const c of vectors.cases) {
    if (!c.expect.startsWith('ERR_')) {
      it(`accepts ${c.name}`, () => {
        expect(transition(c.transition), JSON.stringify(transition.errors)).to.equal(true)
      })
    } else if (['ERR_MALFORMED', 'ERR_UNSUPPORTED_VERSION'].includes(c.expect) && !BEYOND_SCHEMA.has(c.name)) {
      it(`rejects ${c.name}`, () => {
        expect(transition(c.transition)).to.equal(false)
      })
    } else {
      // refused for reasons beyond structure: the structure is fine
      it(`accepts the structure of ${c.name}`, () => {
        expect(transition(c.transition), JSON.stringify(transition.errors)).to.equal(true)
      })
    }
  }

  for (const a of vectors.agreements) {
    const structural = ['ERR_MALFORMED', 'ERR_UNSUPPORTED_VERSION'].includes(a.expect)
    it(`${structural ? 'rejects' : 'accepts'} agreement ${a.name}`, () => {
      expect(agreement(a.agreement), JSON.stringify(agreement.errors)).to.equal(!structural)
    })
  }
})
