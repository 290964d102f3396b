/**
 * A peer trying to take more than its share of a node's desk: floods of held
 * requests and of proposes, negotiations left to expire, forged
 * `approval/outcome` notifications, and proposes that claim someone else's
 * handle. In-process agents on a relay child process, low proof of work,
 * no WebRTC (the desk's state is read directly); and the held-request flood
 * (a) once more against a `parley agent` process, from the raw attacker
 * (./attacker.ts), with the victim's RSS measured.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent, RpcError } from '../../src/agent/index.js'
import type { Agent, AgentOptions, Session } from '../../src/agent/index.js'
import { MemoryDatastore } from 'datastore-core'
import { QUOTA_EXCEEDED, DEFAULT_QUOTAS, Approvals, ApprovalErrorCode } from '../../src/store/index.js'
import type { LogEntry } from '../../src/store/index.js'
import { Desk } from '../../src/agent/desk.js'
import { createIdentity } from '../../src/identity/index.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { propose } from '../../src/negotiation/actions.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'
import type { JsonRpcParams } from '../../src/envelope/jsonrpc.js'
import { control, underFlood, useAgentTarget } from './helpers.js'
import { peerOf, speak } from './attacker.js'
import type { Body } from './attacker.js'

const BITS = 8
const GBP = (value: number): { value: number, currency: string } => ({ value, currency: 'GBP' })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** The outcome of one request: its result, or the refusal's JSON-RPC code and `data.code`. */
type Answer = { result: unknown } | { code: number, dataCode?: string, scope?: string }

async function ask (session: Session, method: string, params: JsonRpcParams): Promise<Answer> {
  try {
    return { result: await session.request(method, params) }
  } catch (err) {
    if (!(err instanceof RpcError)) throw err
    const data = err.data as { code?: string, scope?: string } | undefined
    return { code: err.code, ...(data?.code === undefined ? {} : { dataCode: data.code }), ...(data?.scope === undefined ? {} : { scope: data.scope }) }
  }
}

function isHeld (a: Answer): boolean {
  return 'result' in a && (a.result as { status?: string }).status === 'held'
}

async function until (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** The log entries written after `since` (a head seq, or -1), oldest first. */
async function entriesAfter (agent: Agent, since: number): Promise<LogEntry[]> {
  await agent.desk.flush()
  const out: LogEntry[] = []
  for await (const entry of agent.desk.log.entries({ since: since + 1 })) out.push(entry)
  return out
}

function count (entries: LogEntry[], type: string): number {
  return entries.filter(e => e.type === type).length
}

describe('the desk\'s quotas, in process', () => {
  it('counts open approvals per peer and the strangers\' together; a request already held is never refused; expired ones free the quota', async () => {
    const [node, a, b, c] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' })])
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString, maxOpen: 7 })
    const strangers = new Set([a.peerIdString, b.peerIdString])
    const quota = { perPeer: 2, group: { has: (p: string) => strangers.has(p), max: 3 } }
    const ask = async (peer: string, text: string, q: typeof quota | { perPeer: number } = quota): Promise<string> => {
      try {
        return (await approvals.request({ subjectKind: 'envelope', bytes: utf8(text), peer, method: 'message', summary: text, quota: q })).status
      } catch (err) {
        expect(err).to.have.property('code', ApprovalErrorCode.TOO_MANY)
        return (err as { quota: { scope: string } }).quota.scope
      }
    }
    expect([await ask(a.peerIdString, 'a1'), await ask(a.peerIdString, 'a2'), await ask(a.peerIdString, 'a3')]).to.deep.equal(['pending', 'pending', 'peer'])
    expect(await ask(a.peerIdString, 'a1'), 'the same bytes again: the approval held').to.equal('pending')
    expect([await ask(b.peerIdString, 'b1'), await ask(b.peerIdString, 'b2')]).to.deep.equal(['pending', 'strangers'])
    // a contact is in no group: only its own quota and the node's
    expect([await ask(c.peerIdString, 'c1', { perPeer: 10 }), await ask(c.peerIdString, 'c2', { perPeer: 10 }), await ask(c.peerIdString, 'c3', { perPeer: 10 })]).to.deep.equal(['pending', 'pending', 'pending'])
    expect(await ask(c.peerIdString, 'c4', { perPeer: 10 })).to.equal('pending')
    expect(await ask(c.peerIdString, 'c5', { perPeer: 10 }), 'the node\'s ceiling').to.equal('node')
    expect(approvals.openFor(a.peerIdString)).to.equal(2)
    // an expired approval is over: it frees its place, can no longer be decided, and is redeemed like a rejected one
    // one of a's (approvals made in the same millisecond have no order between them)
    const first = approvals.pending().find(p => p.peer === a.peerIdString)
    if (first === undefined) throw new Error('none pending')
    const events: string[] = []
    approvals.addEventListener('expired', (e) => { events.push(e.detail.id) })
    expect((await approvals.expire(first.id))?.status).to.equal('expired')
    expect(await approvals.expire(first.id), 'expired once').to.equal(undefined)
    expect(events).to.deep.equal([first.id])
    expect(approvals.openFor(a.peerIdString)).to.equal(1)
    expect(await ask(a.peerIdString, 'a4')).to.equal('pending')
    try {
      await approvals.decide(first.id, 'approve', node)
      expect.fail('an expired approval was decided')
    } catch (err) {
      expect(err).to.have.property('code', ApprovalErrorCode.NOT_PENDING)
    }
  })

  it('records at most refusalsLoggedPerPeer refusals per peer per window, then one summary with the count', async () => {
    const [node, a, b] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' })])
    const desk = await Desk.open(new MemoryDatastore(), node, { policy: { quotas: { refusalsLoggedPerPeer: 3, refusalWindowMs: 300 } } })
    try {
      for (let i = 0; i < 50; i++) desk.record('frame.in', { peer: a.peerIdString, bytes: `junk ${i}`, verified: 'ERR_MALFORMED_JSON' })
      for (let i = 0; i < 10; i++) desk.recordRefusal('quota.refused', a.peerIdString, { peer: a.peerIdString, scope: 'peer' })
      desk.record('frame.in', { peer: b.peerIdString, bytes: 'another peer', verified: 'ERR_MALFORMED_JSON' })
      await sleep(450)
      const entries = await entriesOf(desk)
      expect(entries.filter(e => e.type === 'frame.in' && e.data.peer === a.peerIdString)).to.have.length(3)
      expect(entries.filter(e => e.type === 'quota.refused')).to.have.length(0)
      expect(entries.filter(e => e.type === 'frame.in' && e.data.peer === b.peerIdString), 'another peer is not held back').to.have.length(1)
      const summaries = entries.filter(e => e.type === 'refusals.suppressed')
      expect(summaries).to.have.length(1)
      expect(summaries[0]?.data).to.deep.include({ peer: a.peerIdString, count: 57, types: { 'frame.in': 47, 'quota.refused': 10 } })
      // a new window: recorded again
      desk.record('frame.in', { peer: a.peerIdString, bytes: 'later', verified: 'ERR_MALFORMED_JSON' })
      expect((await entriesOf(desk)).filter(e => e.type === 'frame.in' && e.data.peer === a.peerIdString)).to.have.length(4)
    } finally {
      await desk.close()
    }
  })
})

async function entriesOf (desk: Desk): Promise<LogEntry[]> {
  await desk.flush()
  const out: LogEntry[] = []
  for await (const entry of desk.log.entries({ since: 0 })) out.push(entry)
  return out
}

describe('adversarial: per-peer quotas of the desk, expiry, outcomes, verified handles', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess
  const agents: Agent[] = []
  let bob: Agent // the target: a plain agent whose human is flooded
  let carol: Agent // a target whose policy asks its human before taking up any propose

  async function agent (options: Partial<AgentOptions> = {}): Promise<Agent> {
    const a = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, ...options })
    agents.push(a)
    await a.start()
    return a
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-quotas-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    ;[bob, carol] = await Promise.all([
      agent({ handle: 'quota-bob', policy: { classes: { book: 'action' }, quotas: { refusalWindowMs: 4000 } } }),
      agent({ handle: 'quota-carol', policy: { classes: { 'negotiation/propose': 'action' } } })
    ])
    bob.handle('book', () => ({ booked: true }))
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.close()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('(a) a stranger\'s 200 held requests: at most its quota pend, the rest get ERR_QUOTA; another stranger and a contact are still served; the log grows by a bounded amount', async () => {
    const [flooder, other, contact] = await Promise.all([agent(), agent(), agent({ handle: 'quota-friend' })])
    await bob.setTrust('@quota-friend', 1)
    const quota = DEFAULT_QUOTAS.approvalsPerPeer[0]
    const session = await flooder.connect('@quota-bob')
    await bob.desk.flush()
    const head = bob.desk.log.head?.seq ?? -1

    const answers: Answer[] = []
    for (let i = 0; i < 200; i += 10) {
      answers.push(...await Promise.all(Array.from({ length: 10 }, async (_, j) => ask(session, 'message', { text: `flood ${i + j}` }))))
    }
    const held = answers.filter(isHeld)
    const refused = answers.filter(a => !isHeld(a))
    expect(held, 'held').to.have.length(quota)
    expect(refused, 'refused').to.have.length(200 - quota)
    expect(QUOTA_EXCEEDED, 'the JSON-RPC code of a quota refusal').to.equal(-32005)
    for (const r of refused) expect(r).to.deep.equal({ code: QUOTA_EXCEEDED, dataCode: 'ERR_QUOTA', scope: 'peer' })
    expect(refused.some(r => 'code' in r && r.code === -32603), 'no internal error').to.equal(false)
    expect(bob.desk.approvals.openFor(flooder.peerId)).to.equal(quota)

    // another stranger is still held, and a level-1 contact's message is queued and its action held
    const otherSession = await other.connect('@quota-bob')
    expect(isHeld(await ask(otherSession, 'message', { text: 'hello, a different stranger' }))).to.equal(true)
    const friend = await contact.connect('@quota-bob')
    expect(await ask(friend, 'message', { text: 'hi, it is your friend' })).to.deep.equal({ result: { status: 'queued' } })
    expect(isHeld(await ask(friend, 'book', { slot: 'tuesday' }))).to.equal(true)

    // the log: the flood's refusals are recorded at most refusalsLoggedPerPeer times per window,
    // then summed up in one entry once the window is over
    await sleep(4500)
    const entries = (await entriesAfter(bob, head)).filter(e => e.data.peer === flooder.peerId || e.type === 'refusals.suppressed')
    const recorded = count(entries, 'quota.refused')
    const summaries = entries.filter(e => e.type === 'refusals.suppressed' && e.data.peer === flooder.peerId)
    const suppressed = summaries.reduce((sum, e) => sum + (e.data.count as number), 0)
    expect(recorded, 'quota refusals recorded').to.be.at.most(DEFAULT_QUOTAS.refusalsLoggedPerPeer * 2)
    expect(recorded + suppressed, 'every refusal recorded or counted').to.equal(200 - quota)
    expect(summaries.length, 'one summary per window').to.be.within(1, 2)
    expect(count(entries, 'approval.request')).to.equal(quota)
    expect(count(entries, 'policy.verdict')).to.equal(quota)
    // everything else the flood wrote: the requests and the answers to them, one entry each
    const perRequest = entries.filter(e => e.type === 'request.in' || e.type === 'response.out').length
    expect(entries.length - perRequest, 'entries beyond the request and its answer').to.be.at.most(quota * 2 + DEFAULT_QUOTAS.refusalsLoggedPerPeer * 2 + 2)
  })

  it('(a2) strangers together stay under their shared ceiling; a contact is not counted against it', async () => {
    const before = bob.desk.policy
    const strangersOpen = bob.desk.pending().filter(a => bob.desk.trust.get(a.peer).level === 0).length
    bob.desk.policy = { ...before, quotas: { ...before.quotas, strangerApprovals: strangersOpen + 3 } }
    try {
      const [s1, s2, contact] = await Promise.all([agent(), agent(), agent({ handle: 'quota-friend2' })])
      await bob.setTrust('@quota-friend2', 1)
      const first = await s1.connect('@quota-bob')
      const a1 = await Promise.all([1, 2].map(async i => ask(first, 'message', { text: `s1 ${i}` })))
      expect(a1.every(isHeld)).to.equal(true)
      const second = await s2.connect('@quota-bob')
      const a2 = await Promise.all([1, 2].map(async i => ask(second, 'message', { text: `s2 ${i}` })))
      expect(a2.filter(isHeld)).to.have.length(1)
      expect(a2.find(a => !isHeld(a))).to.deep.equal({ code: QUOTA_EXCEEDED, dataCode: 'ERR_QUOTA', scope: 'strangers' })
      const friend = await contact.connect('@quota-bob')
      expect(isHeld(await ask(friend, 'book', { slot: 'wednesday' })), 'a contact is held though the strangers are full').to.equal(true)
    } finally {
      bob.desk.policy = before
    }
  })

  it('(b) proposes beyond a stranger\'s cap of open negotiations are refused with ERR_QUOTA', async () => {
    const [pusher, other] = await Promise.all([agent(), agent()])
    const cap = DEFAULT_QUOTAS.negotiationsPerPeer[0]
    const results = []
    for (let i = 0; i < cap + 2; i++) {
      try {
        results.push((await pusher.propose('@quota-bob', { subject: `offer ${i}`, terms: { type: 'commerce.job', price: GBP(10 + i) } })).status)
      } catch (err) {
        expect(err).to.be.instanceOf(RpcError)
        expect(err).to.have.property('code', QUOTA_EXCEEDED)
        expect((err as RpcError).data).to.deep.include({ code: 'ERR_QUOTA', scope: 'peer', limit: cap })
        results.push('refused')
      }
    }
    expect(results).to.deep.equal([...Array(cap).fill('sent'), 'refused', 'refused'])
    expect(bob.negotiations.openWith(pusher.peerId)).to.equal(cap)
    // the refused ones left nothing behind at the proposer
    expect(pusher.negotiations.list()).to.have.length(cap)
    // another stranger still proposes; and once one is over, the pusher may open another
    expect((await other.propose('@quota-bob', { subject: 'mine', terms: { price: GBP(5) } })).status).to.equal('sent')
    const first = pusher.negotiations.list()[0]
    if (first === undefined) throw new Error('no negotiation')
    await pusher.negotiations.move(first.id, 'cancel')
    expect((await pusher.propose('@quota-bob', { subject: 'one more', terms: { price: GBP(6) } })).status).to.equal('sent')
  })

  it('(c) negotiations past their expiry move to expired on both sides without anyone acting, held approvals with them', async () => {
    const alice = await agent({ handle: 'quota-alice' })
    // an open negotiation, nobody moves
    const plain = await alice.propose('@quota-bob', { subject: 'short-lived', terms: { price: GBP(1) }, ttlMs: 1500 })
    expect(plain.status).to.equal('sent')
    // a propose carol's human must take up first: it waits, then expires with its approval
    const held = await alice.propose('@quota-carol', { subject: 'short-lived too', terms: { price: GBP(2) }, ttlMs: 1500 })
    expect(held.status).to.equal('awaiting')
    expect(held.approval).to.be.a('string')
    expect(carol.desk.approvals.get(held.approval ?? '')?.status).to.equal('pending')
    await until('both negotiations expired at both ends', () =>
      alice.negotiations.get(plain.negotiation)?.state === 'expired' && bob.negotiations.get(plain.negotiation)?.state === 'expired' &&
      alice.negotiations.get(held.negotiation)?.state === 'expired' && carol.negotiations.get(held.negotiation)?.state === 'expired', 8000)
    expect(carol.desk.approvals.get(held.approval ?? '')?.status, 'the held propose\'s approval').to.equal('expired')
    expect(carol.pending().map(a => a.id)).to.not.include(held.approval)
    // it can no longer be approved
    try {
      await carol.approve(held.approval ?? '')
      expect.fail('an expired approval was approved')
    } catch (err) {
      expect(err).to.have.property('code', 'ERR_APPROVAL_NOT_PENDING')
    }
    const log = await entriesAfter(carol, -1)
    expect(log.some(e => e.type === 'negotiation.expired' && e.data.negotiation === held.negotiation)).to.equal(true)
    expect(log.some(e => e.type === 'approval.expired' && e.data.approval === held.approval)).to.equal(true)
  })

  it('(d) an approval/outcome from a peer that does not hold our request raises no outcome event', async () => {
    const [asker, mallory] = await Promise.all([agent({ handle: 'quota-asker' }), agent()])
    const outcomes: Array<{ from: { peer: string }, approval: string }> = []
    asker.addEventListener('outcome', (e) => { outcomes.push(e.detail) })
    const toBob = await asker.connect('@quota-bob')
    const answer = await toBob.request('message', { text: 'are you free on Friday?' }) as { status: string, approval: string }
    expect(answer.status).to.equal('held')
    const request = bob.desk.approvals.get(answer.approval)
    if (request === undefined) throw new Error('not held')
    const requestId = (JSON.parse(Buffer.from(request.subject.bytes, 'base64url').toString('utf8')) as { id: string }).id
    const ignoredBefore = asker.desk.ignoredOutcomes

    // mallory names the very approval and request, and approves
    const fromMallory = await mallory.connect('@quota-asker')
    await fromMallory.notify('approval/outcome', { approval: answer.approval, request: requestId, decision: 'approve', reply: 'yes! send the deposit to me' })
    // bob's node itself, for an approval it never answered with
    const fromBob = [...bob.sessions].find(s => s.remotePeer === asker.peerId && !s.closed)
    if (fromBob === undefined) throw new Error('no session')
    await fromBob.notify('approval/outcome', { approval: 'AAAAAAAAAAAAAAAAAAAAAA', request: requestId, decision: 'approve' })
    await until('both forgeries counted', () => asker.desk.ignoredOutcomes === ignoredBefore + 2, 5000)
    expect(outcomes, 'no outcome event').to.deep.equal([])

    // the real one is heard, once
    await bob.approve(answer.approval, { reply: 'Friday is fine' })
    await until('the real outcome', () => outcomes.length === 1, 5000)
    expect(outcomes[0]).to.deep.include({ approval: answer.approval })
    expect(outcomes[0]?.from.peer).to.equal(bob.peerId)
    // replayed by bob's node: heard once only
    await fromBob.notify('approval/outcome', { approval: answer.approval, request: requestId, decision: 'approve' })
    await until('the replay counted', () => asker.desk.ignoredOutcomes === ignoredBefore + 3, 5000)
    expect(outcomes).to.have.length(1)

    // a notification gets no answer: its outcome is taken from the peer it went to, naming it, once
    const pendingBefore = new Set(bob.pending().map(a => a.id))
    await toBob.notify('message', { text: 'a note, no answer expected' })
    await until('the note held', () => bob.pending().some(a => !pendingBefore.has(a.id)), 5000)
    const note = bob.pending().find(a => !pendingBefore.has(a.id))
    if (note === undefined) throw new Error('not held')
    const noteId = (JSON.parse(Buffer.from(note.subject.bytes, 'base64url').toString('utf8')) as { id: string }).id
    await fromMallory.notify('approval/outcome', { approval: note.id, request: noteId, decision: 'reject' })
    await until('the forgery counted', () => asker.desk.ignoredOutcomes === ignoredBefore + 4, 5000)
    await bob.approve(note.id)
    await until('the note\'s outcome', () => outcomes.length === 2, 5000)
    expect(outcomes[1]).to.deep.include({ approval: note.id, request: noteId, decision: 'approve' })
  })

  it('(e) a held propose claiming another handle is summarised with the verified one, or as its peer id', async () => {
    const [evil, anon] = await Promise.all([agent({ handle: 'quota-evil' }), agent()])
    for (const [who, expected] of [[evil, '@quota-evil'], [anon, anon.peerId]] as const) {
      const session = await who.connect('@quota-carol')
      const t = await propose(who.identity, { counterparty: { peer: carol.peerId, handle: 'quota-carol' }, handle: 'quota-bank', subject: 'refund', terms: { type: 'commerce.purchase', price: GBP(900) } })
      const answer = await session.request('negotiation/transition', { transition: t as unknown as JsonValue }) as { applied: boolean, held: string }
      expect(answer.applied).to.equal(false)
      const approval = carol.desk.approvals.get(answer.held)
      expect(approval?.summary).to.include(expected)
      expect(approval?.summary).to.not.include('quota-bank')
      expect(approval?.handle).to.equal(who === evil ? 'quota-evil' : undefined)
      expect(approval?.peer).to.equal(who.peerId)
    }
  })
})

describe('adversarial: a stranger\'s 200 held requests against a parley agent process', function () {
  this.timeout(60_000)
  const target = useAgentTarget('quota-proc')

  it('(a) at most its quota pend, the rest get -32005 ERR_QUOTA; another stranger is still held and a ping answered; RSS below 1.5× idle', async () => {
    const quota = DEFAULT_QUOTAS.approvalsPerPeer[0]
    // the attacker's own codec and key (./attacker.ts): `message` from a stranger is held for the human
    const s = await speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
    const answers: Body[] = []
    await underFlood('200 held requests from a stranger', target.victim.child.pid ?? 0, target.idle, async () => {
      for (let i = 0; i < 200; i += 10) {
        answers.push(...await Promise.all(Array.from({ length: 10 }, async (_, j) => s.request('message', { text: `flood ${i + j}` }))))
      }
    })
    const held = answers.filter(a => (a.result as { status?: string } | undefined)?.status === 'held')
    const refused = answers.filter(a => a.error !== undefined)
    expect(held, 'held').to.have.length(quota)
    expect(refused, 'refused').to.have.length(200 - quota)
    for (const r of refused) {
      expect(r.error?.code).to.equal(QUOTA_EXCEEDED)
      expect(r.error?.data).to.include({ code: 'ERR_QUOTA', scope: 'peer', limit: quota })
    }
    const pending = await control<Array<{ peer: string }>>(target.victim, '/api/pending')
    expect(pending.filter(p => p.peer === peerOf(target.key)), 'pending for the attacker').to.have.length(quota)
    s.close()
    // another stranger is still held, and a ping answered
    expect(target.victim.alive()).to.equal(true)
    const other = await target.client.connect(`@${target.handle}`)
    expect(isHeld(await ask(other, 'message', { text: 'hello, a different stranger' }))).to.equal(true)
    expect(await other.request('ping')).to.equal('pong')
    await other.close()
  })
})
