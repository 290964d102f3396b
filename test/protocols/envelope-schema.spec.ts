import { expect } from 'chai'
import { Ajv2020 } from 'ajv/dist/2020.js'
import schema from '../../protocols/envelope/schema.json' with { type: 'json' }
import vectors from '../../protocols/envelope/vectors.json' with { type: 'json' }

/** Structural failures that the schema cannot express (README §2 says how they are checked). */
const BEYOND_SCHEMA = new Set(['non-canonical-base64url'])

describe('envelope JSON Schema (protocols/envelope/schema.json)', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)

  for (const c of vectors.cases) {
    if (c.text === undefined) continue
    let value: unknown
    try { value = JSON.parse(c.text) } catch { continue }
    if (c.expect === 'valid') {
      it(`accepts ${c.name}`, () => {
        expect(validate(value), JSON.stringify(validate.errors)).to.equal(true)
      })
    } else if (['ERR_MALFORMED_ENVELOPE', 'ERR_MALFORMED_JSONRPC', 'ERR_UNSUPPORTED_VERSION'].includes(c.expect) && !BEYOND_SCHEMA.has(c.name)) {
      it(`rejects ${c.name}`, () => {
        expect(validate(value)).to.equal(false)
      })
    }
  }
})
