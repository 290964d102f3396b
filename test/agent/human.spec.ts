import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess, PARLEY_BIN } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent, RpcError, POLICY_REFUSED } from '../../src/agent/index.js'
import type { Agent, AgentOptions } from '../../src/agent/index.js'
import { propose } from '../../src/negotiation/actions.js'
import { signTransition, termsHash } from '../../src/negotiation/transition.js'
import type { Terms, UnsignedTransition } from '../../src/negotiation/transition.js'
import type { Negotiation } from '../../src/negotiation/machine.js'
import type { Identity } from '../../src/identity/index.js'
import { TRANSITION_REFUSED } from '../../src/negotiation/constants.js'
import { fromBase64url } from '../../src/crypto/bytes.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'
import { nextApproval, nextMove, settled } from '../../src/demo/scenario.js'

const run = promisify(execFile)
const BITS = 8
const GBP = (value: number): { value: number, currency: string } => ({ value, currency: 'GBP' })

function nextEvent<T> (target: EventTarget, type: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${type} event`)) }, timeoutMs)
    target.addEventListener(type, (e) => { clearTimeout(timer); resolve((e as CustomEvent<T>).detail) }, { once: true })
  })
}

/** A counter signed as given, with none of the checks the move helpers make (to build illegal ones). */
async function rawCounter (signer: Identity, n: Negotiation, terms: Terms, seq = n.seq + 1): Promise<unknown> {
  const unsigned = { v: 1, negotiation: n.id, seq, type: 'counter', prev: n.lastHash, by: signer.peerIdString, ts: Date.now(), terms, termsHash: termsHash(terms) }
  return signTransition(signer, unsigned as unknown as UnsignedTransition)
}

async function refusedWith (p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p
    expect.fail(`accepted; expected ${code}`)
  } catch (err) {
    expect(err).to.be.instanceOf(RpcError)
    expect(err).to.have.property('code', TRANSITION_REFUSED)
    expect((err as RpcError).data).to.deep.include({ code })
  }
}

describe('the human bridge: messages, trust, approvals, negotiation over the wire, restart, verify', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess
  const agents: Agent[] = []
  let alice: Agent
  let bob: Agent

  async function agent (options: Partial<AgentOptions>): Promise<Agent> {
    const a = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC, ...options })
    agents.push(a)
    await a.start()
    return a
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-human-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    alice = await agent({ handle: 'alice-h', kind: 'human' })
    bob = await agent({ handle: 'bob-h' })
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.close()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses a method the policy forbids with -32003 and data.code ERR_POLICY_REFUSED, and never runs its handler', async () => {
    const guarded = await agent({ handle: 'guarded-h', policy: { classes: { 'shell/exec': 'forbidden' } } })
    let ran = 0
    guarded.handle('shell/exec', () => { ran++; return 'done' })
    const session = await bob.connect('@guarded-h')
    try {
      await session.request('shell/exec', { command: 'rm -rf /' })
      expect.fail('a forbidden method answered')
    } catch (err) {
      expect(err).to.be.instanceOf(RpcError)
      expect(err).to.have.property('code', POLICY_REFUSED)
      expect((err as RpcError).data).to.deep.include({ code: 'ERR_POLICY_REFUSED' })
    }
    expect(ran).to.equal(0)
    await session.close()
  })

  it('holds a stranger\'s message for the human; approving delivers it and the reply goes back', async () => {
    const result = await alice.send('@bob-h', 'Hello Bob, are you free on Tuesday?') as { status: string, approval: string }
    expect(result.status).to.equal('held')
    const pending = bob.pending().find(a => a.id === result.approval)
    expect(pending?.summary).to.include('@alice-h says: Hello Bob')
    expect(await bob.inbox()).to.have.length(0)
    const outcome = nextEvent<{ decision: string, reply?: string }>(alice, 'outcome')
    await bob.approve(result.approval, { reply: 'Tuesday works' })
    expect(await outcome).to.include({ decision: 'approve', reply: 'Tuesday works' })
    expect((await bob.inbox()).map(m => m.text)).to.deep.equal(['Hello Bob, are you free on Tuesday?'])
  })

  it('queues a known contact\'s message at once (trust rises only by the human\'s decision)', async () => {
    expect(bob.desk.trust.get(alice.peerId).level).to.equal(0)
    await bob.setTrust('@alice-h', 1)
    const result = await alice.send('@bob-h', 'Running 5 min late')
    expect(result).to.deep.equal({ status: 'queued' })
    expect((await bob.inbox()).map(m => m.text)).to.include('Running 5 min late')
  })

  it('an approval is bound to its envelope: it cannot be replayed on another request, nor used twice', async () => {
    const carol = await agent({ handle: 'carol-h' })
    const a = await carol.send('@bob-h', 'first') as { approval: string }
    const b = await carol.send('@bob-h', 'second') as { approval: string }
    const decision = await bob.desk.approvals.decide(a.approval, 'approve', bob.identity)
    const bytesOf = (id: string): Uint8Array => fromBase64url(bob.desk.approvals.get(id)?.subject.bytes ?? '') as Uint8Array
    try {
      await bob.desk.approvals.redeem(decision, bytesOf(b.approval))
      expect.fail('a decision redeemed another request')
    } catch (err) {
      expect(err).to.have.property('code', 'ERR_APPROVAL_SUBJECT_MISMATCH')
    }
    await bob.desk.approvals.redeem(decision, bytesOf(a.approval))
    try {
      await bob.desk.approvals.redeem(decision, bytesOf(a.approval))
      expect.fail('a decision was used twice')
    } catch (err) {
      expect(err).to.have.property('code', 'ERR_APPROVAL_USED')
    }
    expect(bob.desk.approvals.get(b.approval)?.status).to.equal('pending')
  })

  it('refuses illegal transitions sent over a session with their code, and neither side changes', async () => {
    const opened = nextMove(bob)
    const { negotiation: id } = await alice.propose('@bob-h', { subject: 'window cleaning', terms: { type: 'commerce.job', price: GBP(40) } })
    await opened
    const before = [JSON.stringify(alice.negotiations.get(id)), JSON.stringify(bob.negotiations.get(id))]
    const session = [...alice.sessions].find(s => s.remotePeer === bob.peerId && !s.closed)
    if (session === undefined) throw new Error('no session')
    const n = alice.negotiations.get(id)
    if (n === undefined) throw new Error('no negotiation')
    const send = async (transition: unknown): Promise<unknown> => session.request('negotiation/transition', { transition: transition as JsonValue })
    // alice's own offer is on the table: she may not counter it
    await refusedWith(send(await rawCounter(alice.identity, n, { price: GBP(35) })), 'ERR_NOT_YOUR_TURN')
    // the propose again
    await refusedWith(send(n.transitions[0]), 'ERR_DUPLICATE')
    // a transition two steps ahead
    await refusedWith(send(await rawCounter(alice.identity, n, { price: GBP(30) }, n.seq + 2)), 'ERR_OUT_OF_ORDER')
    // a transition whose terms were changed after signing
    await refusedWith(send({ ...(await rawCounter(alice.identity, n, { price: GBP(30) }) as object), terms: { price: GBP(3) } }), 'ERR_TERMS_MISMATCH')
    // a tampered propose for a new negotiation: the signature no longer covers it
    const forged = await propose(alice.identity, { counterparty: { peer: bob.peerId, handle: 'bob-h' }, subject: 'x', terms: { price: GBP(1) } })
    await refusedWith(send({ ...forged, subject: 'y' }), 'ERR_BAD_SIGNATURE')
    // a transition signed by someone who is not on this session
    const mallory = await agent({})
    const theirs = await propose(mallory.identity, { counterparty: { peer: bob.peerId }, subject: 'x', terms: { price: GBP(1) } })
    await refusedWith(send(theirs), 'ERR_NOT_PARTY')
    // a late one: the negotiation's expiry has passed
    const late = await propose(alice.identity, { counterparty: { peer: bob.peerId }, subject: 'late', terms: {}, ts: Date.now() - 10_000, expires: Date.now() - 1 })
    await refusedWith(send(late), 'ERR_EXPIRED')
    expect([JSON.stringify(alice.negotiations.get(id)), JSON.stringify(bob.negotiations.get(id))]).to.deep.equal(before)
    // and the session still works
    expect(await session.request('ping')).to.equal('pong')
  })

  it('settles simultaneous moves at once: one stands, the other is refused, both ends hold the same chain', async () => {
    const p = await agent({ handle: 'sim-p' })
    const q = await agent({ handle: 'sim-q' })
    for (let round = 0; round < 3; round++) {
      const offered = nextMove(q)
      const { negotiation: id } = await p.propose('@sim-q', { subject: `round ${round}`, terms: { price: GBP(10) } })
      await offered
      const t0 = Date.now()
      // q (whose turn it is) counters while p cancels
      const [counterMove, cancelMove] = await Promise.allSettled([
        q.negotiations.move(id, 'counter', { terms: { price: GBP(12) } }),
        p.negotiations.move(id, 'cancel', { reason: 'changed my mind' })
      ])
      expect(Date.now() - t0, 'no side waits for a timeout').to.be.below(3000)
      expect([counterMove.status, cancelMove.status].filter(x => x === 'fulfilled'), 'exactly one move stands').to.have.length(1)
      const lost = counterMove.status === 'rejected' ? counterMove.reason : (cancelMove as PromiseRejectedResult).reason
      expect(lost).to.have.property('name', 'NegotiationError')
      expect(lost).to.have.property('code').that.is.oneOf(['ERR_CONFLICT', 'ERR_TERMINAL', 'ERR_NOT_YOUR_TURN'])
      await new Promise(resolve => setTimeout(resolve, 50))
      expect(JSON.stringify(p.negotiations.get(id)), 'both ends hold the same chain').to.equal(JSON.stringify(q.negotiations.get(id)))
      expect(p.negotiations.get(id)?.state).to.be.oneOf(['negotiating', 'cancelled'])
    }
  })

  it('pending approvals survive a restart, and approving then completes the negotiation at both ends', async () => {
    const dataDir = join(dir, 'seller')
    let seller = await agent({ handle: 'seller-h', dataDir })
    const offered = nextMove(alice)
    const { negotiation: id } = await seller.propose('@alice-h', { subject: 'bike service', terms: { type: 'commerce.job', price: GBP(60) } })
    await offered
    await alice.setTrust('@seller-h', 2, { limits: { maxAmount: 100, currency: 'GBP' } })
    const moved = await alice.negotiations.move(id, 'accept')
    expect(moved.status, 'the seller\'s human must confirm').to.equal('awaiting')
    const held = await nextApproval(seller)
    expect(held.summary).to.include('accept')
    await seller.close()
    agents.splice(agents.indexOf(seller), 1)

    seller = await agent({ handle: 'seller-h', dataDir })
    expect(seller.pending().map(a => a.id)).to.deep.equal([held.id])
    expect(seller.negotiations.get(id)?.state).to.equal('proposed')
    await seller.approve(held.id)
    const [a, s] = await Promise.all([settled(alice, id), settled(seller, id)])
    expect([a.state, s.state]).to.deep.equal(['confirmed', 'confirmed'])
    expect(JSON.stringify(a.toJSON())).to.equal(JSON.stringify(s.toJSON()))
  })

  it('deletes finished approvals and negotiations once kept quotas.finishedKeptMs, and keeps open ones', async () => {
    const dataDir = join(dir, 'keeper')
    let keeper = await agent({ handle: 'keeper-h', dataDir })
    const offered = nextMove(alice)
    const { negotiation: id } = await keeper.propose('@alice-h', { subject: 'window cleaning', terms: { type: 'commerce.job', price: GBP(30) } })
    await offered
    await alice.setTrust('@keeper-h', 2, { limits: { maxAmount: 100, currency: 'GBP' } })
    await alice.negotiations.move(id, 'accept')
    const held = await nextApproval(keeper)
    await keeper.approve(held.id)
    expect((await settled(keeper, id)).state).to.equal('confirmed')
    const stranger = await agent({ handle: 'stranger-h' })
    const open = await stranger.send('@keeper-h', 'still waiting for you') as { approval: string }
    expect(keeper.desk.approvals.get(held.id)?.status).to.equal('used')
    await keeper.close()
    agents.splice(agents.indexOf(keeper), 1)

    // the default keeps them 30 days
    keeper = await agent({ handle: 'keeper-h', dataDir })
    expect(keeper.negotiations.get(id)?.state).to.equal('confirmed')
    expect(keeper.desk.approvals.get(held.id)?.status).to.equal('used')
    await keeper.close()
    agents.splice(agents.indexOf(keeper), 1)

    // kept 1 ms: pruned when the agent starts; the pending approval stays
    keeper = await agent({ handle: 'keeper-h', dataDir, policy: { quotas: { finishedKeptMs: 1 } } })
    const deadline = Date.now() + 5000
    while (keeper.negotiations.get(id) !== undefined && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    expect(keeper.negotiations.get(id), 'the confirmed negotiation').to.equal(undefined)
    expect(keeper.desk.approvals.get(held.id), 'the used approval').to.equal(undefined)
    expect(keeper.pending().map(a => a.id)).to.deep.equal([open.approval])
    // and they stay gone after another restart
    await keeper.close()
    agents.splice(agents.indexOf(keeper), 1)
    keeper = await agent({ handle: 'keeper-h', dataDir })
    expect(keeper.negotiations.get(id)).to.equal(undefined)
    expect(keeper.pending().map(a => a.id)).to.deep.equal([open.approval])
  })

  it('suggests more trust after a run of settled negotiations, and leaves the level to the human', async () => {
    const shop = await agent({ handle: 'shop-h' })
    const client = await agent({ handle: 'client-h' })
    const suggested = nextEvent<{ peer: string, from: number, to: number }>(shop, 'suggestion', 30_000)
    for (let i = 0; i < 3; i++) {
      const offered = nextMove(client)
      const { negotiation: id } = await shop.propose('@client-h', { subject: `order ${i}`, terms: { type: 'commerce.purchase', item: 'tea', price: GBP(4) } })
      await offered
      await client.negotiations.move(id, 'accept') // held by the client's policy
      await client.approve((await nextApproval(client)).id)
      await shop.approve((await nextApproval(shop)).id) // the shop confirms
      await settled(shop, id, ['confirmed'])
    }
    expect(await suggested).to.include({ peer: client.peerId, from: 0, to: 1 })
    expect(shop.desk.trust.get(client.peerId).level, 'only the human raises trust').to.equal(0)
  })

  it('parley verify accepts an agreement and an event log, and refuses them tampered', async () => {
    const id = alice.negotiations.list().find(n => n.state === 'confirmed')?.id
    if (id === undefined) throw new Error('no confirmed negotiation')
    const agreement = alice.negotiations.agreement(id) as unknown as Record<string, unknown>
    const log = await alice.exportLog() as unknown as { entries: Array<{ data: Record<string, unknown> }> }
    const verify = async (name: string, value: unknown): Promise<{ code: number, out: string }> => {
      const file = join(dir, name)
      await writeFile(file, JSON.stringify(value))
      try {
        const { stdout } = await run(process.execPath, [PARLEY_BIN, 'verify', file])
        return { code: 0, out: stdout }
      } catch (err) {
        const e = err as { code: number, stderr: string }
        return { code: e.code, out: e.stderr }
      }
    }
    const good = await verify('agreement.json', agreement)
    expect(good.code, good.out).to.equal(0)
    expect(good.out).to.include('verified')
    const tampered = await verify('agreement-bad.json', { ...agreement, terms: { ...(agreement.terms as object), price: GBP(6) } })
    expect(tampered.code).to.equal(1)
    expect(tampered.out).to.match(/ERR_/)

    const goodLog = await verify('log.json', log)
    expect(goodLog.code, goodLog.out).to.equal(0)
    expect(goodLog.out).to.match(/quoted envelopes: [1-9]/)
    const entries = structuredClone(log.entries)
    const i = entries.findIndex(e => e.data.envelope !== undefined)
    ;(entries[i] as { data: Record<string, unknown> }).data = { ...entries[i]?.data, verified: 'forged' }
    const badLog = await verify('log-bad.json', { ...log, entries })
    expect(badLog.code).to.equal(1)
    expect(badLog.out).to.match(/ERR_LOG_/)
  })
})
