/* eslint-disable @typescript-eslint/no-explicit-any -- outcomes are checked field by field */
import { expect } from 'chai'
import { runScenario, SCENARIOS } from '../../src/demo/index.js'
import { verifyAgreement } from '../../src/negotiation/agreement.js'

const PRINT = process.env.PARLEY_DEMO_PRINT === '1' ? (line: string) => { console.log(line) } : undefined

async function run (name: string): Promise<Record<string, any>> {
  return runScenario(name, PRINT === undefined ? {} : { print: PRINT }) as Promise<Record<string, any>>
}

describe('parley demo scenarios (real relay and agents on loopback)', function () {
  this.timeout(60_000)

  it('lists every reference scenario', () => {
    expect(SCENARIOS.map(s => s.name)).to.have.members(['book-plumber', 'rfq', 'support-escalation', 'schedule', 'cheapest-quote', 'research', 'delegation', 'sensor', 'approval-threshold'])
  })

  it('book-plumber: nine turns under a second land on £180 call-out, deposit to confirm, approved by both humans, the plumber\'s on the line by voice', async () => {
    const o = await run('book-plumber')
    expect(o.nineTurnsMs).to.be.below(1000)
    expect(o.callerKind).to.equal('agent')
    expect(o.terms).to.deep.include({ type: 'commerce.job', price: { value: 180, currency: 'GBP' }, deposit: { value: 20, currency: 'GBP' }, note: 'deposit to confirm' })
    expect(o.state).to.deep.equal(['confirmed', 'confirmed'])
    expect(o.identical, 'both sides hold the same negotiation').to.equal(true)
    expect(o.approvals, 'one approval at each end').to.deep.equal([1, 1])
    const v = await verifyAgreement(JSON.parse(JSON.stringify(o.agreement)))
    expect(v.terms.price).to.deep.equal({ value: 180, currency: 'GBP' })
    expect(o.transcript.refused).to.equal(0)
    expect(o.transcript.lines.join('\n')).to.match(/sig ✓/)
    // the plumber's human joined by voice and confirmed while on the line: each side heard the other
    expect(o.voice.agentHeard).to.be.at.least(0.9)
    expect(o.voice.humanHeard).to.be.at.least(0.9)
    expect(o.voice.parties).to.deep.equal({ human: '@rapidplumb', agent: '@alices-assistant' })
    expect(o.transcript.lines.join('\n')).to.match(/joins the same session by voice/)
  })

  it('rfq: a signed RFQ and a signed quote, each in the other\'s verifiable log, with no public address', async () => {
    const o = await run('rfq')
    expect(o.onlyCircuits).to.equal(true)
    expect(o.quote).to.deep.include({ type: 'commerce.quote', total: { value: 600, currency: 'GBP' } })
    expect(o.state).to.equal('negotiating')
    expect(o.supplierTransitionsInBuyerLog).to.be.at.least(1)
    expect(o.buyerTransitionsInSupplierLog).to.be.at.least(1)
  })

  it('support-escalation: routine answers are automatic; the dispute goes to a human on the same session with the transcript', async () => {
    const o = await run('support-escalation')
    expect(o.answers).to.have.length(2)
    expect(o.answers[0]).to.have.nested.property('data.phone', '24/7')
    expect(o.held).to.include({ status: 'held' })
    expect(o.summary).to.include('opening-hours')
    expect(o.summary).to.include('card-status')
    expect(o.outcome).to.include({ decision: 'approve' })
    expect(o.outcome.reply).to.match(/dispute D-20261121-0042/)
    expect(o.outcome.result).to.have.nested.property('data.case', 'D-20261121-0042')
    expect(o.sameSession).to.equal(true)
    // Sam came onto the same session by voice, heard and was heard, approved on the line; the session goes on after
    expect(o.voice.agentHeard).to.be.at.least(0.9)
    expect(o.voice.humanHeard).to.be.at.least(0.9)
    expect(o.voice.parties).to.deep.equal({ human: '@bank-support', agent: '@dana-assistant' })
    expect(o.stillOpen).to.equal(true)
  })

  it('schedule: three slots offered, one picked, both confirm', async () => {
    const o = await run('schedule')
    expect(o.slots).to.have.length(3)
    expect(o.slot).to.equal(o.slots[1])
    expect(o.state).to.deep.equal(['confirmed', 'confirmed'])
  })

  it('cheapest-quote: £28 beats £32', async () => {
    const o = await run('cheapest-quote')
    expect(o.quotes.map((q: { price: number }) => q.price).sort()).to.deep.equal([28, 32])
    expect(o.chosen).to.equal('@brew-depot')
    expect(o.price).to.equal(28)
    expect(o.state).to.equal('confirmed')
  })

  it('research: structured data with a confidence, in the report', async () => {
    const o = await run('research')
    expect(o.answer.confidence).to.equal(0.8)
    expect(Object.keys(o.answer.data)).to.have.members(['installs2024', 'growthRate'])
    expect(o.report).to.include('confidence 0.8').and.include('98,000')
  })

  it('delegation: manager → coordinator → worker and back', async () => {
    const o = await run('delegation')
    expect(o.result.chain).to.deep.equal(['manager', 'coordinator', 'worker'])
    expect(o.result.by).to.equal('worker')
    expect(o.result.output).to.deep.equal({ words: 14, longest: 'directly' })
  })

  it('sensor: two readings two seconds apart differ in time and value', async () => {
    const o = await run('sensor')
    const [a, b] = o.readings
    expect(b.asOf - a.asOf).to.be.at.least(2000)
    expect(b.data.uptimeSeconds).to.be.above(a.data.uptimeSeconds)
  })

  it('approval-threshold: under the limit automatic; £500 waits, approval lets it through, rejection stops it', async () => {
    const o = await run('approval-threshold')
    expect(o.results).to.deep.equal([
      { item: 'monitor arm', price: 45, decision: 'automatic', state: 'confirmed', held: 'sent' },
      { item: 'standing desk', price: 500, decision: 'approve', state: 'confirmed', held: 'held' },
      { item: 'standing desk', price: 500, decision: 'reject', state: 'rejected', held: 'held' }
    ])
  })
})
