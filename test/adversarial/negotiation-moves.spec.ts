/**
 * Negotiation moves a hostile counterparty makes out of turn, out of order,
 * twice, or too late, against a `parley agent` process. The attacker is a
 * stock js-libp2p node that signs its envelopes and transitions with its own
 * key and its own canonical JSON (./attacker.ts, written from
 * protocols/negotiation and protocols/envelope). Each move is refused with
 * `-32002` and the code protocols/negotiation §7 gives it (with the victim's
 * `state` and `seq` when it holds the negotiation), changes nothing, is
 * recorded as `negotiation.refused`; the agent stays up, its RSS under the
 * bound, and a legitimate client's ping is still answered.
 */
import { expect } from 'chai'
import { control, underFlood, useAgentTarget } from './helpers.js'
import { H, moveAs, proposeAs, speak } from './attacker.js'
import type { Body, Envelope, Json, Speaker, Transition } from './attacker.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const GBP = (value: number): Record<string, Json> => ({ price: { value, currency: 'GBP' } })

describe('hostile negotiation moves against a parley agent process', function () {
  this.timeout(60_000)
  const target = useAgentTarget('moves')

  async function session (): Promise<Speaker> {
    return speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
  }

  /** Sends `t` and returns the victim's answer. */
  async function send (s: Speaker, t: Transition): Promise<Body & { envelope: Envelope }> {
    return s.request('negotiation/transition', { transition: t })
  }

  function refusedWith (answer: Body, code: string, held?: { state: string, seq: number }): void {
    expect(answer.error?.code, `${code}: the JSON-RPC code`).to.equal(-32002)
    expect(answer.error?.data?.code).to.equal(code)
    if (held === undefined) expect(answer.error?.data).to.not.have.property('state')
    else expect(answer.error?.data).to.include(held)
  }

  /** The victim's copy of negotiation `id`, through its control API. */
  async function held (id: string): Promise<{ state: string, seq: number } | undefined> {
    const all = await control<Array<{ id: string, state: string, transitions: unknown[] }>>(target.victim, '/api/negotiations')
    const n = all.find(x => x.id === id)
    return n === undefined ? undefined : { state: n.state, seq: n.transitions.length - 1 }
  }

  /** The codes of the `negotiation.refused` entries the victim logged for negotiation `id`. */
  async function refusals (id: string): Promise<string[]> {
    await sleep(100)
    const log = await control<Array<{ type: string, data: { negotiation?: string, code?: string } }>>(target.victim, '/api/log?limit=500')
    return log.filter(e => e.type === 'negotiation.refused' && e.data.negotiation === id).map(e => e.data.code ?? '')
  }

  it('out of order: an accept before any propose, moves out of turn, a seq gap, a wrong prev, a second propose', async () => {
    const pid = target.victim.child.pid ?? 0
    await underFlood('out-of-order moves', pid, target.idle, async () => {
      const s = await session()
      // an accept of a negotiation the victim never heard of
      const ghost = await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(10) })
      refusedWith(await send(s, await moveAs(target.key, ghost, 'accept')), 'ERR_WRONG_NEGOTIATION')
      expect(await held(ghost.negotiation), 'nothing opened').to.equal(undefined)

      const propose = await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(20) })
      expect((await send(s, propose)).result).to.deep.equal({ state: 'proposed', seq: 0, applied: true })
      const at = { state: 'proposed', seq: 0 }
      // the proposer accepting, or countering, its own offer: not its turn
      refusedWith(await send(s, await moveAs(target.key, propose, 'accept')), 'ERR_NOT_YOUR_TURN', at)
      refusedWith(await send(s, await moveAs(target.key, propose, 'counter', { terms: GBP(25) })), 'ERR_NOT_YOUR_TURN', at)
      // a seq that skips one, and the next seq with a prev that is not the last transition's hash
      refusedWith(await send(s, await moveAs(target.key, propose, 'cancel', { seq: 2 })), 'ERR_OUT_OF_ORDER', at)
      refusedWith(await send(s, await moveAs(target.key, propose, 'cancel', { prevHash: H(ghost) })), 'ERR_OUT_OF_ORDER', at)
      // another propose of the same negotiation, other terms
      refusedWith(await send(s, await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(1), negotiation: propose.negotiation })), 'ERR_ILLEGAL_TRANSITION', at)
      expect(await held(propose.negotiation), 'the negotiation as it was').to.deep.equal(at)
      expect(await refusals(propose.negotiation)).to.have.members(['ERR_NOT_YOUR_TURN', 'ERR_NOT_YOUR_TURN', 'ERR_OUT_OF_ORDER', 'ERR_OUT_OF_ORDER', 'ERR_ILLEGAL_TRANSITION'])
      // the session goes on: a move in order is applied
      expect((await send(s, await moveAs(target.key, propose, 'cancel'))).result).to.deep.equal({ state: 'cancelled', seq: 1, applied: true })
      s.close()
    })
    await target.stillServes()
  })

  it('on a closed negotiation: a counter, a reject and a cancel after it was cancelled get ERR_TERMINAL', async () => {
    await underFlood('moves on a closed negotiation', target.victim.child.pid ?? 0, target.idle, async () => {
      const s = await session()
      const propose = await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(30) })
      expect((await send(s, propose)).result).to.deep.include({ applied: true })
      const cancel = await moveAs(target.key, propose, 'cancel', { reason: 'changed my mind' })
      expect((await send(s, cancel)).result).to.deep.equal({ state: 'cancelled', seq: 1, applied: true })
      const at = { state: 'cancelled', seq: 1 }
      refusedWith(await send(s, await moveAs(target.key, cancel, 'counter', { terms: GBP(5) })), 'ERR_TERMINAL', at)
      refusedWith(await send(s, await moveAs(target.key, cancel, 'reject')), 'ERR_TERMINAL', at)
      refusedWith(await send(s, await moveAs(target.key, cancel, 'cancel')), 'ERR_TERMINAL', at)
      expect(await held(propose.negotiation)).to.deep.equal(at)
      s.close()
    })
    await target.stillServes()
  })

  it('duplicated: a propose and a cancel sent twice get ERR_DUPLICATE with the state; the very same envelope again is ERR_REPLAYED', async () => {
    await underFlood('duplicated moves', target.victim.child.pid ?? 0, target.idle, async () => {
      const s = await session()
      const propose = await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(40) })
      const first = await send(s, propose)
      expect(first.result).to.deep.include({ applied: true })
      // the same transition in a new envelope: a retry, acknowledged as a duplicate (§6.2)
      refusedWith(await send(s, propose), 'ERR_DUPLICATE', { state: 'proposed', seq: 0 })
      // the same envelope, byte for byte: the envelope's replay guard
      s.raw.send(first.envelope.bytes)
      const replayed = await s.answer((first.envelope.value.body as { id: number }).id, 10_000, 1)
      expect(replayed.error?.code).to.equal(-32001)
      expect(replayed.error?.data?.code).to.equal('ERR_REPLAYED')
      const cancel = await moveAs(target.key, propose, 'cancel')
      expect((await send(s, cancel)).result).to.deep.include({ state: 'cancelled', applied: true })
      // the duplicate check comes before the terminal one: the cancel that ended it is still a duplicate
      refusedWith(await send(s, cancel), 'ERR_DUPLICATE', { state: 'cancelled', seq: 1 })
      expect(await held(propose.negotiation)).to.deep.equal({ state: 'cancelled', seq: 1 })
      s.close()
    })
    await target.stillServes()
  })

  it('after expiry: a move on a negotiation the victim marked expired is ERR_TERMINAL; one dated at expires, and a propose born late, ERR_EXPIRED', async () => {
    await underFlood('moves after expiry', target.victim.child.pid ?? 0, target.idle, async () => {
      const s = await session()
      // born late: expires is not after ts
      const now = Date.now()
      refusedWith(await send(s, await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(1), ts: now, expires: now })), 'ERR_EXPIRED')
      // a move signed at the negotiation's expiry, before the victim's clock got there
      const open = await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(50), expires: Date.now() + 30_000 })
      expect((await send(s, open)).result).to.deep.include({ applied: true })
      refusedWith(await send(s, await moveAs(target.key, open, 'cancel', { ts: open.expires as number })), 'ERR_EXPIRED', { state: 'proposed', seq: 0 })
      // a negotiation that expires in a second and a half: the victim moves it to expired by itself
      const short = await proposeAs(target.key, { counterparty: target.victim.peer, terms: GBP(60), expires: Date.now() + 1500 })
      expect((await send(s, short)).result).to.deep.include({ applied: true })
      const deadline = Date.now() + 6000
      while ((await held(short.negotiation))?.state !== 'expired') {
        if (Date.now() > deadline) throw new Error('the victim did not expire the negotiation')
        await sleep(200)
      }
      refusedWith(await send(s, await moveAs(target.key, short, 'cancel')), 'ERR_TERMINAL', { state: 'expired', seq: 0 })
      refusedWith(await send(s, await moveAs(target.key, short, 'counter', { terms: GBP(61) })), 'ERR_TERMINAL', { state: 'expired', seq: 0 })
      expect(await refusals(short.negotiation)).to.deep.equal(['ERR_TERMINAL', 'ERR_TERMINAL'])
      s.close()
    })
    await target.stillServes()
  })
})
