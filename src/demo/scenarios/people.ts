/**
 * Scenarios with humans in the loop: a support call escalated to a human on
 * the same session, and a meeting both sides confirm.
 */
import { verifyAgreement } from '../../negotiation/agreement.js'
import { infoRequestParams } from '../../methods/index.js'
import { RpcError } from '../../session/session.js'
import type { Agent } from '../../agent/agent.js'
import { decide, nextMove, sessionWith, settled } from '../scenario.js'
import { joinByVoice } from '../voice.js'
import type { Scenario } from '../scenario.js'

/** Resolves with the next `approval/outcome` `agent` hears. */
async function nextOutcome (agent: Agent, timeoutMs = 10_000): Promise<{ decision: string, reply?: string, session?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('no approval outcome in time')) }, timeoutMs)
    agent.addEventListener('outcome', (e) => { clearTimeout(timer); resolve(e.detail) }, { once: true })
  })
}

export const supportEscalation: Scenario = {
  name: 'support-escalation',
  summary: 'a customer agent calls @bank-support; routine questions are answered by its agent, a dispute is handed to a human on the same session with the transcript',
  async run (ctx) {
    const { mesh, say } = ctx
    const bank = await mesh.agent({ handle: 'bank-support', policy: { classes: { 'info/request:dispute': 'action' } } })
    const customer = await mesh.agent({ handle: 'dana-assistant' })
    bank.handle('info/request', (params) => {
      const { topic } = infoRequestParams(params)
      if (topic === 'opening-hours') return { topic, data: { branches: 'Mon-Fri 09:00-17:00', phone: '24/7' } }
      if (topic === 'card-status') return { topic, data: { card: '…4821', status: 'active', lastUse: '2026-11-20' } }
      if (topic === 'dispute') return { topic, data: { case: 'D-20261121-0042', status: 'opened', refundBy: '2026-12-01' } }
      throw new RpcError(-32602, `unknown topic ${topic}`)
    })
    const session = await customer.connect('@bank-support')
    const answers = [
      await session.request('info/request', { topic: 'opening-hours' }),
      await session.request('info/request', { topic: 'card-status' })
    ]
    say('two routine questions answered by @bank-support\'s agent on its own')
    const outcome = nextOutcome(customer)
    const held = await session.request('info/request', { topic: 'dispute', question: 'I did not make the £84.20 payment to STREAMFLIX on 19 Nov' }) as { status?: string, approval?: string }
    say(`the dispute question is ${held.status ?? 'answered'}: the bank's policy hands it to a human`)
    // Sam, the bank's human, comes onto the same session by voice, then decides while on the line
    const line = await joinByVoice(ctx, bank, sessionWith(bank, customer.peerId), customer, '@bank-support\'s human (Sam)')
    const { approval } = await decide(ctx, bank, 'approve', { reply: 'This is Sam at the bank: I have opened dispute D-20261121-0042; the £84.20 will be back by 1 Dec.' })
    await line.leave()
    const heard = await outcome
    say(`the customer's agent hears the human's answer on the same session: "${heard.reply ?? ''}"`)
    return {
      facts: [
        `routine answers: ${answers.length}, automatic`,
        `escalated: ${held.status === 'held' ? 'yes' : 'no'}, transcript handed over (${approval.summary.split('\n').length - 1} lines)`,
        `human's answer on the same session: ${heard.session === session.id ? 'yes' : 'no'}`,
        `Sam on the line by voice (${line.codec}, open in ${line.openMs.toFixed(0)} ms): heard ${(100 * line.humanHeard).toFixed(0)} %, was heard ${(100 * line.agentHeard).toFixed(0)} %; approved while on the line`
      ],
      voice: { openMs: line.openMs, codec: line.codec, agentHeard: line.agentHeard, humanHeard: line.humanHeard, parties: line.parties },
      stillOpen: !session.closed,
      answers,
      held,
      summary: approval.summary,
      outcome: heard,
      sameSession: heard.session === session.id
    }
  }
}

export const schedule: Scenario = {
  name: 'schedule',
  summary: 'one side proposes a meeting, the other offers three slots, one is picked, both confirm',
  async run (ctx) {
    const { mesh, say } = ctx
    const ana = await mesh.agent({ handle: 'ana-assistant' })
    const ben = await mesh.agent({ handle: 'ben-assistant' })
    const meeting = { type: 'schedule.meeting', subject: 'Quarterly review', durationMinutes: 60 }
    const proposed = nextMove(ben)
    const { negotiation: id } = await ana.propose('@ben-assistant', { subject: 'Quarterly review', terms: meeting })
    await proposed
    const slots = ['2026-11-24T10:00:00Z', '2026-11-25T14:00:00Z', '2026-11-26T09:30:00Z']
    await ben.negotiations.move(id, 'counter', { terms: { ...meeting, slots } })
    say(`@ben-assistant offers three slots: ${slots.join(', ')}`)
    const slot = slots[1] as string
    await ana.negotiations.move(id, 'counter', { terms: { ...meeting, slot } })
    say(`@ana-assistant picks ${slot}`)
    // Ben's assistant accepts the pick: Ben confirms; then Ana's node applies it: Ana confirms
    await ben.negotiations.move(id, 'accept')
    await decide(ctx, ben)
    await decide(ctx, ana)
    const [a, b] = [await settled(ana, id), await settled(ben, id)]
    const verified = await verifyAgreement(JSON.parse(JSON.stringify(ana.negotiations.agreement(id))))
    return {
      facts: [`meeting ${String(verified.terms.slot)}: ${a.state} by both (${a.state === b.state ? 'same state' : 'states differ'})`],
      slots,
      slot: verified.terms.slot,
      state: [a.state, b.state]
    }
  }
}

export const peopleScenarios: Scenario[] = [supportEscalation, schedule]
