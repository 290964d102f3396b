import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { messageParams, infoRequestParams, delegateParams, amountOf, INVALID_PARAMS } from '../src/methods/index.js'

const schema = JSON.parse(readFileSync(new URL('../../protocols/methods/schema.json', import.meta.url), 'utf8')) as object

function refused (fn: () => unknown): void {
  try {
    fn()
    expect.fail('accepted bad params')
  } catch (err) {
    expect(err).to.have.property('name', 'RpcError')
    expect(err).to.have.property('code', INVALID_PARAMS)
  }
}

describe('protocols/methods: params checks agree with the schema', () => {
  const ajv = new Ajv2020({ strict: false })
  ajv.addSchema(schema, 'methods')
  const valid = (def: string, value: unknown): boolean => ajv.validate({ $ref: `methods#/$defs/${def.replaceAll("/", "~1")}` }, value)

  const cases: Array<[string, (p: never) => unknown, unknown, boolean]> = [
    ['message.params', messageParams, { text: 'hello' }, true],
    ['message.params', messageParams, { text: 'hi', urgency: 'high', inReplyTo: 'abcdefgh', conversation: 'c1' }, true],
    ['message.params', messageParams, { text: '' }, false],
    ['message.params', messageParams, { text: 'x'.repeat(10_001) }, false],
    ['message.params', messageParams, { text: 'hi', urgency: 'now' }, false],
    ['message.params', messageParams, { text: 'hi', extra: 1 }, false],
    ['message.params', messageParams, ['hi'], false],
    ['info/request.params', infoRequestParams, { topic: 'availability' }, true],
    ['info/request.params', infoRequestParams, { topic: 'rates', fields: ['min', 'max'], context: { date: '2026-11-21' } }, true],
    ['info/request.params', infoRequestParams, { topic: 'rates', fields: 'min' }, false],
    ['info/request.params', infoRequestParams, { question: 'no topic' }, false],
    ['task/delegate.params', delegateParams, { task: 'count', input: [1, 2], chain: ['manager'] }, true],
    ['task/delegate.params', delegateParams, { task: 'count', deadline: -1 }, false],
    ['task/delegate.params', delegateParams, { task: 'count', chain: [1] }, false]
  ]
  for (const [def, check, value, ok] of cases) {
    it(`${def} ${JSON.stringify(value).slice(0, 60)}: ${ok ? 'accepted' : 'refused'} by both`, () => {
      expect(valid(def, value), 'schema').to.equal(ok)
      if (ok) expect(() => check(value as never)).to.not.throw()
      else refused(() => check(value as never))
    })
  }

  it('reads the amount of negotiation terms', () => {
    expect(amountOf({ type: 'commerce.job', price: { value: 180, currency: 'GBP' } })).to.deep.equal({ value: 180, currency: 'GBP' })
    expect(amountOf({ price: 180 })).to.equal(undefined)
    expect(amountOf(null)).to.equal(undefined)
  })
})
