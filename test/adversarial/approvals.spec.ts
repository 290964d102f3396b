/**
 * A human's approval replayed onto another request. An approval binds to the
 * SHA-256 of the exact envelope held (protocols/approval §1, §6): the human
 * approves those bytes, once. A stranger whose requests a `parley agent`
 * process holds gets one of them approved, then tries to make that approval
 * cover another: the same envelope again, the same request in a new
 * envelope, a second held request, the same accept on another negotiation,
 * and an `approval/outcome` naming the approval for another request. Each is
 * refused with its typed code or held anew; nothing the human did not
 * approve goes ahead, and the agent stays up and serves a legitimate client.
 * The attacker signs with its own key and codec (./attacker.ts). (The
 * store's own checks — a decision presented for other bytes, twice, after a
 * rejection, by someone not an approver — are protocols/approval's vectors,
 * replayed by test/store/approval-vectors.spec.ts.)
 */
import { expect } from 'chai'
import { control, underFlood, useAgentTarget } from './helpers.js'
import { H, moveAs, proposeAs, speak } from './attacker.js'
import type { Body, Json, Transition } from './attacker.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const GBP = (value: number): Record<string, Json> => ({ type: 'commerce.job', price: { value, currency: 'GBP' } })

interface Pending { id: string, peer: string, method: string, status: string }
interface InboxMessage { id: string, text: string, approval?: string }

describe('an approval replayed onto another request, against a parley agent process', function () {
  this.timeout(60_000)
  const target = useAgentTarget('approver')

  /** The human decides, through the agent's dashboard route (as its page does). */
  async function approve (approval: string): Promise<void> {
    await control(target.victim, `/api/approvals/${approval}`, { decision: 'approve' })
  }

  const pending = async (): Promise<Pending[]> => control<Pending[]>(target.victim, '/api/pending')
  const inbox = async (): Promise<InboxMessage[]> => control<InboxMessage[]>(target.victim, '/api/inbox')

  function held (answer: Body): string {
    const result = answer.result as { status?: string, approval?: string } | null
    expect(result?.status, JSON.stringify(answer)).to.equal('held')
    expect(result?.approval).to.be.a('string')
    return result?.approval ?? ''
  }

  it('a held message: its approval delivers it once; the same envelope again is ERR_REPLAYED, the same request re-signed and another held request stay held, an outcome naming it for another request is ignored', async () => {
    await underFlood('approvals replayed (messages)', target.victim.child.pid ?? 0, target.idle, async () => {
      const s = await speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
      const first = await s.request('message', { text: 'please pay invoice 1' })
      const a1 = held(first)
      const second = await s.request('message', { text: 'please pay invoice 2' })
      const a2 = held(second)
      expect(a2).to.not.equal(a1)

      await approve(a1)
      // the requester hears the outcome of that request, and only that one
      const outcome = await s.receive('approval/outcome', b => b.method === 'approval/outcome')
      expect(outcome.params).to.deep.include({ approval: a1, request: first.envelope.id, decision: 'approve' })
      const delivered = await inbox()
      expect(delivered.map(m => m.text)).to.deep.equal(['please pay invoice 1'])
      expect(delivered[0]?.approval).to.equal(a1)

      // 1. the approved envelope, byte for byte
      s.raw.send(first.envelope.bytes)
      const replay = await s.answer((first.envelope.value.body as { id: number }).id, 10_000, 1)
      expect(replay.error?.code).to.equal(-32001)
      expect(replay.error?.data?.code).to.equal('ERR_REPLAYED')
      // 2. the same request in a new envelope (new id, nonce, signature): other bytes, so a new approval
      const again = await s.request('message', { text: 'please pay invoice 1' })
      const a3 = held(again)
      expect(a3, 'the approval does not carry over to other bytes').to.not.equal(a1)
      // 3. an approval/outcome naming the approval for the other held request: the victim awaits none from the attacker
      const log = async (): Promise<Array<{ type: string, data: { approval?: string | null, peer?: string } }>> => control(target.victim, '/api/log?limit=500')
      await s.notify('approval/outcome', { approval: a1, request: second.envelope.id, decision: 'approve' })
      let ignored: unknown
      for (let i = 0; i < 50 && ignored === undefined; i++) {
        ignored = (await log()).find(e => e.type === 'outcome.ignored' && e.data.approval === a1)
        if (ignored === undefined) await sleep(100)
      }
      expect(ignored, 'outcome.ignored recorded').to.not.equal(undefined)

      // nothing else was delivered; the other requests still wait for the human
      expect((await inbox()).map(m => m.text)).to.deep.equal(['please pay invoice 1'])
      const open = (await pending()).map(p => p.id)
      expect(open).to.include.members([a2, a3])
      expect(open).to.not.include(a1)
      s.close()
    })
    await target.stillServes()
  })

  it('a held accept: its approval confirms that negotiation only; the same accept again is ERR_DUPLICATE, an identical accept on another negotiation stays held (ERR_CONFLICT when sent again)', async () => {
    await underFlood('approvals replayed (accepts)', target.victim.child.pid ?? 0, target.idle, async () => {
      const s = await speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
      // the victim's counters come to the attacker on this session: it takes them (protocols/negotiation §6.1)
      const counters: Transition[] = []
      s.answers.set('negotiation/transition', (body) => {
        const t = (body.params as { transition: Transition }).transition
        counters.push(t)
        return { state: 'negotiating', seq: t.seq, applied: true }
      })
      // two negotiations with the same terms; the victim counters both with the same terms
      const opened: Array<{ propose: Transition, counter: Transition }> = []
      for (const n of [1, 2]) {
        const propose = await proposeAs(target.key, { counterparty: target.victim.peer, subject: 'roof repair', terms: GBP(900) })
        expect((await s.request('negotiation/transition', { transition: propose })).result).to.deep.include({ applied: true })
        const moved = await control<{ status: string }>(target.victim, `/api/negotiations/${propose.negotiation}`, { move: 'counter', terms: GBP(1200) })
        expect(moved.status, `counter ${n}`).to.equal('sent')
        const counter = counters.find(t => t.negotiation === propose.negotiation)
        if (counter === undefined) throw new Error('the victim\'s counter did not come')
        opened.push({ propose, counter })
      }
      const [one, two] = opened as [typeof opened[0], typeof opened[0]]
      // accepting binds the victim's human: each accept is held (an action, from a stranger)
      const accept1 = await moveAs(target.key, one.counter, 'accept')
      const accept2 = await moveAs(target.key, two.counter, 'accept')
      expect(accept2.termsHash, 'the same terms').to.equal(accept1.termsHash)
      const r1 = await s.request('negotiation/transition', { transition: accept1 })
      const r2 = await s.request('negotiation/transition', { transition: accept2 })
      expect(r1.result).to.deep.include({ applied: false, state: 'negotiating', seq: 1 })
      expect(r2.result).to.deep.include({ applied: false, state: 'negotiating', seq: 1 })
      const a1 = (r1.result as { held: string }).held
      const a2 = (r2.result as { held: string }).held
      expect(a1).to.be.a('string').and.not.equal(a2)

      await approve(a1)
      const applied = await s.receive('negotiation/applied', b => b.method === 'negotiation/applied')
      expect(applied.params).to.deep.equal({ negotiation: one.propose.negotiation, seq: 2, hash: H(accept1) })
      const states = async (): Promise<Record<string, string>> =>
        Object.fromEntries((await control<Array<{ id: string, state: string }>>(target.victim, '/api/negotiations')).map(n => [n.id, n.state]))
      expect(await states()).to.deep.include({ [one.propose.negotiation]: 'confirmed', [two.propose.negotiation]: 'negotiating' })

      // the approved accept again (a new envelope): already applied
      const dup = await s.request('negotiation/transition', { transition: accept1 })
      expect(dup.error?.code).to.equal(-32002)
      expect(dup.error?.data).to.include({ code: 'ERR_DUPLICATE', state: 'confirmed', seq: 2 })
      // the other negotiation's accept, sent again: it waits for its own approval
      const conflict = await s.request('negotiation/transition', { transition: accept2 })
      expect(conflict.error?.code).to.equal(-32002)
      expect(conflict.error?.data).to.include({ code: 'ERR_CONFLICT', state: 'negotiating', seq: 1 })
      expect(await states()).to.deep.include({ [two.propose.negotiation]: 'negotiating' })
      expect((await pending()).map(p => p.id)).to.include(a2)
      expect(s.received.filter(b => b.method === 'negotiation/applied'), 'applied once, for the approved accept').to.have.length(1)
      s.close()
    })
    await target.stillServes()
  })
})
