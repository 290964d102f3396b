/**
 * The `book-plumber` exchange, shared by the scenario and the benchmark:
 * what each side serves, and the nine turns that settle slot, scope and
 * price between an assistant and a plumber on one session.
 */
import { infoRequestParams } from '../methods/index.js'
import type { Agent } from '../agent/agent.js'
import type { Session } from '../session/session.js'

export const GBP = (value: number): { value: number, currency: string } => ({ value, currency: 'GBP' })

/** The plumber's agent answers availability, rates and deposit terms. */
export function servePlumber (plumber: Agent): void {
  plumber.handle('info/request', (params) => {
    const { topic } = infoRequestParams(params)
    if (topic === 'availability') return { topic, data: { date: '2026-11-23', slots: ['09:00-11:00', '14:00-16:00'] } }
    if (topic === 'rates') return { topic, data: { callOut: { min: 160, max: 220, currency: 'GBP' }, deposit: 'required to confirm' }, confidence: 1 }
    if (topic === 'deposit-terms') return { topic, data: { deposit: GBP(20), refundable: 'until 24 h before the slot', parts: 'extra, at cost' } }
    return { topic, data: null }
  })
}

/** The assistant's agent answers the plumber's questions about the job and the address. */
export function serveAssistant (assistant: Agent): void {
  assistant.handle('info/request', (params) => {
    const { topic } = infoRequestParams(params)
    if (topic === 'job-scope') return { topic, data: { job: 'leaking kitchen tap', detail: 'drips from the spout; washer likely', access: 'ground floor flat' } }
    if (topic === 'access') return { topic, data: { postcode: 'SW1A 1AA', parking: 'permit on request' } }
    return { topic, data: null }
  })
}

/**
 * The nine automated turns, in both directions on one session (`session`
 * is the assistant's, `back` the plumber's end of it): availability, job
 * scope and price band; a propose and three counters that land on £180
 * call-out, deposit to confirm; deposit terms and access. Returns the
 * negotiation id with the plumber's offer on the table.
 */
export async function nineTurns (assistant: Agent, plumber: Agent, session: Session, back: Session): Promise<string> {
  await session.request('info/request', { topic: 'availability', context: { date: '2026-11-23' } })
  const scope = await back.request('info/request', { topic: 'job-scope' }) as { data: { job: string } }
  await session.request('info/request', { topic: 'rates', context: { job: scope.data.job } })
  const job = { type: 'commerce.job', service: 'call-out', job: scope.data.job, window: '2026-11-23 14:00-16:00' }
  const party = { peer: plumber.peerId, ...(plumber.handleName === undefined ? {} : { handle: plumber.handleName }) }
  const { negotiation: id } = await assistant.negotiations.propose(party, { subject: 'plumbing call-out', terms: { ...job, price: GBP(150) }, ttlMs: 3_600_000 })
  await plumber.negotiations.move(id, 'counter', { terms: { ...job, price: GBP(200), deposit: GBP(40) } })
  await assistant.negotiations.move(id, 'counter', { terms: { ...job, price: GBP(170), deposit: GBP(20) } })
  await plumber.negotiations.move(id, 'counter', { terms: { ...job, price: GBP(180), deposit: GBP(20), note: 'deposit to confirm' } })
  await session.request('info/request', { topic: 'deposit-terms' })
  await back.request('info/request', { topic: 'access' })
  return id
}
