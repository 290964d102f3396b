/**
 * Replays protocols/media/vectors.json through src/media/wire.ts and checks
 * each value against protocols/media/schema.json.
 */
import { expect } from 'chai'
import { Ajv2020 } from 'ajv/dist/2020.js'
import vectors from '../../protocols/media/vectors.json' with { type: 'json' }
import schema from '../../protocols/media/schema.json' with { type: 'json' }
import { admitJoin, parseAnswer, parseJoin, parseLeave } from '../../src/media/wire.js'
import type { MediaJoin, MediaParty } from '../../src/media/wire.js'
import { MediaError } from '../../src/media/errors.js'

interface Case { name: string, description: string, check: string, value: unknown, join?: string, humanHere?: boolean, schema?: boolean, expect: { ok?: boolean, error?: string } }

describe('media vectors (protocols/media/vectors.json)', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  ajv.addSchema(schema)
  const validators = {
    join: ajv.compile({ $ref: schema.$id + '#/$defs/join' }),
    answer: ajv.compile({ $ref: schema.$id + '#/$defs/answer' }),
    leave: ajv.compile({ $ref: schema.$id + '#/$defs/leave' })
  }
  const cases = vectors.cases as Case[]
  const joins = new Map<string, MediaJoin>()
  for (const c of cases) if (c.check === 'join' && c.expect.ok === true) joins.set(c.name, parseJoin(c.value))

  it('has cases of every check', () => {
    expect(new Set(cases.map(c => c.check))).to.deep.equal(new Set(['join', 'answer', 'leave', 'admit']))
  })

  for (const c of cases) {
    it(`${c.name}: ${c.description}`, () => {
      const run = (): void => {
        if (c.check === 'join') parseJoin(c.value)
        else if (c.check === 'answer') {
          const join = joins.get(c.join ?? '')
          if (join === undefined) throw new Error(`no join vector ${String(c.join)}`)
          parseAnswer(c.value, join)
        } else if (c.check === 'leave') parseLeave(c.value)
        else admitJoin(c.value as MediaParty, c.humanHere === true)
      }
      if (c.expect.ok === true) expect(run).to.not.throw()
      else expect(run).to.throw(MediaError).with.property('code', c.expect.error)
      if (c.schema !== undefined && c.check !== 'admit') {
        const validate = validators[c.check as keyof typeof validators]
        expect(validate(c.value), JSON.stringify(validate.errors)).to.equal(c.schema)
      }
    })
  }
})
