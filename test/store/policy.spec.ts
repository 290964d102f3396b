import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { policyGate, classifyMethod, DEFAULT_METHOD_CLASSES, PolicyErrorCode, TrustStore } from '../../src/store/index.js'
import type { Amount, NodePolicy, PolicyInput, TrustLevel, TrustLimits } from '../../src/store/index.js'
import { createIdentity } from '../../src/identity/index.js'

const GBP = (value: number): Amount => ({ value, currency: 'GBP' })

describe('policy gate (src/store/policy)', () => {
  describe('every level × class × amount', () => {
    // a trusted contact's limits, and the node's threshold
    const limits: TrustLimits = { maxAmount: 200, currency: 'GBP' }
    const policy: NodePolicy = { amountThreshold: GBP(500), classes: { 'shell/exec': 'forbidden' } }
    const methods = { routine: 'ping', message: 'message', action: 'purchase', forbidden: 'shell/exec' } as const
    const amounts: Array<[string, Amount | undefined]> = [
      ['no amount', undefined],
      ['within the contact limit', GBP(100)],
      ['over the contact limit', GBP(300)],
      ['over the node threshold', GBP(600)],
      ['in another currency', { value: 100, currency: 'EUR' }]
    ]
    // one word per amount above, in that order
    const table: Record<keyof typeof methods, Record<TrustLevel, string>> = {
      routine: { 0: 'allow allow allow allow allow', 1: 'allow allow allow allow allow', 2: 'allow allow allow allow allow' },
      message: { 0: 'ask ask ask ask ask', 1: 'queue queue queue queue queue', 2: 'queue queue queue queue queue' },
      action: { 0: 'ask ask ask ask ask', 1: 'ask ask ask ask ask', 2: 'allow allow ask ask ask' },
      forbidden: { 0: 'deny deny deny deny deny', 1: 'deny deny deny deny deny', 2: 'deny deny deny deny deny' }
    }
    for (const [cls, method] of Object.entries(methods) as Array<[keyof typeof methods, string]>) {
      for (const level of [0, 1, 2] as TrustLevel[]) {
        const expected = table[cls][level].split(' ')
        amounts.forEach(([what, amount], i) => {
          it(`${cls} at level ${level}, ${what}: ${expected[i]}`, () => {
            const input: PolicyInput = { trust: { level, limits }, method }
            if (amount !== undefined) input.amount = amount
            const verdict = policyGate(input, policy)
            expect(verdict.decision).to.equal(expected[i])
            expect(verdict.methodClass).to.equal(cls)
            expect(verdict.level).to.equal(level)
            expect(verdict.reason).to.be.a('string').and.not.equal('')
          })
        })
      }
    }
  })

  describe('limits of a trusted contact', () => {
    const cases: Array<[string, TrustLimits | undefined, string, Amount | undefined, NodePolicy, string]> = [
      ['no limits, no amount', undefined, 'negotiation/accept', undefined, {}, 'allow'],
      ['no amount limit set, an amount', undefined, 'purchase', GBP(1), {}, 'ask'],
      ['a limit without a currency never matches', { maxAmount: 100 }, 'purchase', GBP(1), {}, 'ask'],
      ['method in the allowed list', { methods: ['purchase'], maxAmount: 50, currency: 'GBP' }, 'purchase', GBP(50), {}, 'allow'],
      ['method not in the allowed list', { methods: ['purchase'] }, 'booking/confirm', undefined, {}, 'ask'],
      ['empty allowed list', { methods: [] }, 'purchase', undefined, {}, 'ask'],
      ['amount equal to the limit', { maxAmount: 200, currency: 'GBP' }, 'purchase', GBP(200), {}, 'allow'],
      ['amount a penny over the limit', { maxAmount: 200, currency: 'GBP' }, 'purchase', GBP(200.01), {}, 'ask'],
      ['amount equal to the node threshold', { maxAmount: 1000, currency: 'GBP' }, 'purchase', GBP(500), { amountThreshold: GBP(500) }, 'allow'],
      ['£500 purchase against a £100 threshold', { maxAmount: 1000, currency: 'GBP' }, 'purchase', GBP(500), { amountThreshold: GBP(100) }, 'ask'],
      ['zero amount', { maxAmount: 0, currency: 'GBP' }, 'purchase', GBP(0), {}, 'allow']
    ]
    for (const [name, lim, method, amount, policy, expected] of cases) {
      it(`${name}: ${expected}`, () => {
        const input: PolicyInput = { trust: lim === undefined ? { level: 2 } : { level: 2, limits: lim }, method }
        if (amount !== undefined) input.amount = amount
        expect(policyGate(input, policy).decision).to.equal(expected)
      })
    }

    it('says why in words', () => {
      const verdict = policyGate({ trust: { level: 2, limits: { maxAmount: 1000, currency: 'GBP' } }, method: 'purchase', amount: GBP(500) }, { amountThreshold: GBP(100) })
      expect(verdict.reason).to.equal('purchase of 500 GBP is above the node\'s threshold of 100 GBP')
      expect(policyGate({ method: 'message' }).reason).to.include('held until the human accepts it')
    })
  })

  describe('classes and inputs', () => {
    it('with no trust entry the contact is level 0', () => {
      expect(policyGate({ method: 'purchase' })).to.include({ decision: 'ask', level: 0 })
      expect(policyGate({ trust: undefined, method: 'message' })).to.include({ decision: 'ask', level: 0 })
    })

    it('a TrustStore entry is a trust input', async () => {
      const [me, bob] = await Promise.all([createIdentity({ kind: 'human' }), createIdentity({ kind: 'agent' })])
      const trust = await TrustStore.open(new MemoryDatastore())
      await trust.set(bob.peerIdString, 2, { by: me.peerIdString, limits: { maxAmount: 200, currency: 'GBP' } })
      expect(policyGate({ trust: trust.get(bob.peerIdString), method: 'purchase', amount: GBP(180) }).decision).to.equal('allow')
      expect(policyGate({ trust: trust.get(me.peerIdString), method: 'purchase', amount: GBP(180) }).decision).to.equal('ask')
    })

    it('the methods of protocols/methods: negotiation offers, counters and ends are routine; accepting is an action', () => {
      for (const m of ['negotiation/propose', 'negotiation/counter', 'negotiation/reject', 'negotiation/cancel', 'info/request', 'task/delegate', 'ping']) expect(classifyMethod(m), m).to.equal('routine')
      for (const m of ['negotiation/accept', 'purchase', 'booking/confirm']) expect(classifyMethod(m), m).to.equal('action')
      expect(DEFAULT_METHOD_CLASSES.message).to.equal('message')
    })

    it('unknown methods are actions unless the node says otherwise', () => {
      expect(classifyMethod('tools/frobnicate')).to.equal('action')
      expect(classifyMethod('tools/frobnicate', { defaultClass: 'forbidden' })).to.equal('forbidden')
      expect(policyGate({ trust: { level: 1 }, method: 'weather' }, { classes: { weather: 'routine' } }).decision).to.equal('allow')
      expect(policyGate({ trust: { level: 2 }, method: 'message' }, { classes: { message: 'forbidden' } }).decision).to.equal('deny')
      // names that are properties of every object are not classes
      expect(classifyMethod('constructor')).to.equal('action')
      expect(classifyMethod('__proto__')).to.equal('action')
    })

    it('denies a malformed amount', () => {
      for (const amount of [{ value: -1, currency: 'GBP' }, { value: NaN, currency: 'GBP' }, { value: 1, currency: 'gbp' }, { value: 1 }, { value: 1, currency: 'GBP', extra: 1 }]) {
        expect(policyGate({ trust: { level: 2 }, method: 'purchase', amount: amount as Amount }).decision).to.equal('deny')
      }
    })

    it('refuses a malformed policy with ERR_POLICY_INVALID', () => {
      const bad: NodePolicy[] = [
        { amountThreshold: { value: -5, currency: 'GBP' } },
        { amountThreshold: { value: 5, currency: 'pounds' } },
        { defaultClass: 'maybe' as 'action' },
        { classes: { ping: 'sometimes' as 'routine' } }
      ]
      for (const policy of bad) {
        expect(() => policyGate({ method: 'ping' }, policy)).to.throw().with.property('code', PolicyErrorCode.INVALID_POLICY)
      }
    })
  })
})
