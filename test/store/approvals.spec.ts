import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import {
  Approvals, ApprovalErrorCode, approvalSubjectBytes, subjectHash, verifyDecision, signDecision
} from '../../src/store/index.js'
import type { ApprovalDecision, ApprovalRequest, PendingApproval } from '../../src/store/index.js'
import { approvalId } from '../../src/store/approvals.js'
import { createIdentity, signEnvelope } from '../../src/index.js'
import type { Identity } from '../../src/identity/index.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { LevelDir } from './helpers.js'

async function code (run: () => Promise<unknown>): Promise<string> {
  try {
    await run()
  } catch (err) {
    expect(err).to.have.property('name', 'ApprovalError')
    return (err as { code: string }).code
  }
  throw new Error('expected an ApprovalError')
}

describe('approvals (src/store/approvals)', () => {
  let node: Identity
  let human: Identity
  let bob: Identity
  let purchase: Uint8Array
  let other: Uint8Array

  const held = (bytes: Uint8Array, over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
    subjectKind: 'envelope',
    bytes,
    peer: bob.peerIdString,
    handle: 'bob',
    method: 'purchase',
    summary: 'Pay 180 GBP to @bob for a boiler service',
    amount: { value: 180, currency: 'GBP' },
    ...over
  })

  before(async () => {
    [node, human, bob] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'human' }), createIdentity({ kind: 'agent' })])
    purchase = (await signEnvelope(bob, { to: { peer: node.peerIdString }, body: { jsonrpc: '2.0', id: 1, method: 'purchase', params: { value: 180 } } })).bytes
    other = (await signEnvelope(bob, { to: { peer: node.peerIdString }, body: { jsonrpc: '2.0', id: 2, method: 'purchase', params: { value: 2400 } } })).bytes
  })

  it('makes ids a human can pass to the CLI: none starts with -', () => {
    // a base64url token starts with - one time in 64: 1000 draws would almost surely show one
    const ids = Array.from({ length: 1000 }, () => approvalId())
    expect(ids.filter(id => id.startsWith('-'))).to.deep.equal([])
    expect(ids.every(id => /^[A-Za-z0-9_-]{22}$/.test(id))).to.equal(true)
  })

  it('holds the exact bytes, announces them, and lets them go ahead once after approval', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    expect([...approvals.approvers]).to.deep.equal([node.peerIdString])
    const events: string[] = []
    approvals.addEventListener('pending', e => events.push(`pending ${e.detail.status}`))
    approvals.addEventListener('decided', e => events.push(`decided ${e.detail.approval.status} ${e.detail.decision.decision}`))
    approvals.addEventListener('used', e => events.push(`used ${e.detail.status}`))

    const p = await approvals.request(held(purchase))
    expect(p).to.deep.include({ peer: bob.peerIdString, handle: 'bob', method: 'purchase', status: 'pending', amount: { value: 180, currency: 'GBP' } })
    expect(p.id).to.match(/^[A-Za-z0-9_-]{22}$/)
    expect(p.subject.kind).to.equal('envelope')
    expect(p.subject.hash).to.equal(subjectHash(purchase))
    expect(approvalSubjectBytes(p)).to.deep.equal(purchase)
    expect(approvals.pending()).to.deep.equal([p])
    expect(approvals.get(p.id)).to.deep.equal(p)

    // the same bytes again (a retried message) make no second approval
    expect(await approvals.request(held(purchase))).to.deep.equal(p)
    expect(approvals.list()).to.have.length(1)

    const decision = await approvals.decide(p.id, 'approve', node, { reply: 'ok, go ahead' })
    expect(decision).to.include({ v: 1, type: 'parley/approval', approval: p.id, subject: p.subject.hash, decision: 'approve', reply: 'ok, go ahead', by: node.peerIdString })
    expect(await verifyDecision(decision, { approvers: [node.peerIdString] })).to.deep.equal(decision)
    expect(approvals.get(p.id)?.status).to.equal('approved')
    expect(approvals.pending()).to.deep.equal([])

    const used = await approvals.redeem(decision, purchase)
    expect(used.status).to.equal('used')
    expect(used.decision).to.deep.equal(decision)
    expect(used.used).to.be.a('number')
    expect(await code(async () => approvals.redeem(decision, purchase))).to.equal(ApprovalErrorCode.USED)
    expect(events).to.deep.equal(['pending pending', 'decided approved approve', 'used used'])
  })

  it('a node resumes the waiting work when the decision comes in', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    const done = new Promise<PendingApproval>((resolve, reject) => {
      approvals.addEventListener('decided', e => {
        const { approval, decision } = e.detail
        approvals.redeem(decision, approvalSubjectBytes(approval)).then(resolve, reject)
      })
    })
    const p = await approvals.request(held(purchase))
    await approvals.decide(p.id, 'approve', node)
    expect((await done).status).to.equal('used')
  })

  it('an approval cannot be replayed on another request or on altered bytes', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    const a = await approvals.request(held(purchase))
    const b = await approvals.request(held(other, { amount: { value: 2400, currency: 'GBP' } }))
    const yesA = await approvals.decide(a.id, 'approve', node)
    expect(await code(async () => approvals.redeem(yesA, other))).to.equal(ApprovalErrorCode.SUBJECT_MISMATCH)
    const altered = purchase.slice()
    altered[10] = (altered[10] as number) ^ 1
    expect(await code(async () => approvals.redeem(yesA, altered))).to.equal(ApprovalErrorCode.SUBJECT_MISMATCH)
    // moving the decision to b's id breaks its signature
    expect(await code(async () => approvals.redeem({ ...yesA, approval: b.id, subject: b.subject.hash }, other))).to.equal(ApprovalErrorCode.BAD_SIGNATURE)
    // a validly signed decision naming b but a's subject is still refused
    const crossed = await signDecision(node, { approval: b.id, subject: a.subject.hash, decision: 'approve' })
    expect(await code(async () => approvals.redeem(crossed, purchase))).to.equal(ApprovalErrorCode.SUBJECT_MISMATCH)
    expect(approvals.get(b.id)?.status).to.equal('pending')
    expect((await approvals.redeem(yesA, purchase)).status).to.equal('used')
  })

  it('deciding: once, by an approver, on an approval that exists', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    const p = await approvals.request(held(purchase))
    expect(await code(async () => approvals.decide(p.id, 'approve', bob))).to.equal(ApprovalErrorCode.UNAUTHORIZED)
    expect(await code(async () => approvals.decide('AAAAAAAAAAAAAAAAAAAAAA', 'approve', node))).to.equal(ApprovalErrorCode.NOT_FOUND)
    expect(await code(async () => approvals.decide(p.id, 'maybe' as 'approve', node))).to.equal(ApprovalErrorCode.INVALID_ARGUMENT)
    expect(await code(async () => approvals.decide(p.id, 'approve', node, { reply: 'x'.repeat(5000) }))).to.equal(ApprovalErrorCode.INVALID_ARGUMENT)
    const no = await approvals.decide(p.id, 'reject', node, { reply: 'too expensive' })
    expect(approvals.get(p.id)?.status).to.equal('rejected')
    expect(await code(async () => approvals.decide(p.id, 'approve', node))).to.equal(ApprovalErrorCode.NOT_PENDING)
    expect(await code(async () => approvals.redeem(no, purchase))).to.equal(ApprovalErrorCode.REJECTED)
    // a rejected request asked again is a new approval
    const again = await approvals.request(held(purchase))
    expect(again.id).to.not.equal(p.id)
  })

  it('a human with a key of their own decides on another device', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString, approvers: [node.peerIdString, human.peerIdString] })
    const p = await approvals.request(held(purchase))
    // the phone signs; the decision reaches the node as JSON
    const onPhone = await signDecision(human, { approval: p.id, subject: p.subject.hash, decision: 'approve' })
    const recorded = await approvals.submit(JSON.stringify(onPhone))
    expect(recorded.status).to.equal('approved')
    expect(recorded.decision).to.deep.equal(onPhone)
    expect((await approvals.redeem(onPhone, purchase)).status).to.equal('used')

    const selfOnly = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    const q = await selfOnly.request(held(purchase))
    const fromPhone = await signDecision(human, { approval: q.id, subject: q.subject.hash, decision: 'approve' })
    expect(await code(async () => selfOnly.redeem(fromPhone, purchase))).to.equal(ApprovalErrorCode.UNAUTHORIZED)
    expect(await code(async () => selfOnly.submit(fromPhone))).to.equal(ApprovalErrorCode.UNAUTHORIZED)
  })

  it('concurrent redemptions of one approval: exactly one succeeds', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    const p = await approvals.request(held(purchase))
    const decisions: ApprovalDecision[] = await Promise.all([0, 1, 2].map(async i => signDecision(node, { approval: p.id, subject: p.subject.hash, decision: 'approve', ts: 1000 + i })))
    const results = await Promise.all(Array.from({ length: 12 }, async (_, i) => approvals.redeem(decisions[i % 3] as ApprovalDecision, purchase).then(
      () => 'valid',
      (err: { code: string }) => err.code)))
    expect(results.filter(r => r === 'valid')).to.have.length(1)
    expect(results.filter(r => r === ApprovalErrorCode.USED)).to.have.length(11)
  })

  it('pending approvals survive a restart (LevelDB): create, close, reopen, decide, redeem', async () => {
    const dir = new LevelDir()
    try {
      let ds = await dir.open()
      let approvals = await Approvals.open(ds, { self: node.peerIdString })
      const p = await approvals.request(held(purchase))
      await approvals.request(held(other, { subjectKind: 'transition', method: 'negotiation/accept', summary: 'Accept the offer' }))
      await approvals.close()
      expect(await code(async () => approvals.request(held(purchase)))).to.equal(ApprovalErrorCode.CLOSED)
      await ds.close()

      ds = await dir.open()
      approvals = await Approvals.open(ds, { self: node.peerIdString })
      expect(approvals.pending().map(a => a.method)).to.have.members(['purchase', 'negotiation/accept'])
      expect(approvals.get(p.id)).to.deep.equal(p)
      const decision = await approvals.decide(p.id, 'approve', node)
      await ds.close()

      ds = await dir.open()
      approvals = await Approvals.open(ds, { self: node.peerIdString })
      expect(approvals.get(p.id)?.status).to.equal('approved')
      expect((await approvals.redeem(decision, approvalSubjectBytes(approvals.get(p.id) as PendingApproval))).status).to.equal('used')
      await ds.close()

      ds = await dir.open()
      approvals = await Approvals.open(ds, { self: node.peerIdString })
      expect(await code(async () => approvals.redeem(decision, purchase))).to.equal(ApprovalErrorCode.USED)
      expect(approvals.pending()).to.have.length(1)
      await ds.close()
    } finally {
      dir.remove()
    }
  })

  it('limits how many approvals are open, and prunes finished ones', async () => {
    let now = 1000
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString, maxOpen: 2, now: () => now })
    const a = await approvals.request(held(utf8('one')))
    await approvals.request(held(utf8('two')))
    expect(await code(async () => approvals.request(held(utf8('three'))))).to.equal(ApprovalErrorCode.TOO_MANY)
    await approvals.redeem(await approvals.decide(a.id, 'approve', node), utf8('one'))
    now = 2000
    const c = await approvals.request(held(utf8('three')))
    expect(await approvals.prune(1500)).to.equal(1) // a: used, created at 1000
    expect(await approvals.prune(5000)).to.equal(0) // the others are open
    const ids = approvals.list().map(x => x.id)
    expect(ids).to.not.include(a.id)
    expect(ids).to.include(c.id)
  })

  it('lists requests of one millisecond in the order they came, also after a reopen (mail picked up in a batch)', async () => {
    const ds = new MemoryDatastore()
    const at = 1_700_000_000_000
    const options = { self: node.peerIdString, now: () => at }
    const approvals = await Approvals.open(ds, options)
    const made: string[] = []
    for (let i = 0; i < 30; i++) made.push((await approvals.request(held(utf8(`note ${i}`), { summary: `note ${i}` }))).id)
    expect(approvals.pending().map(a => a.id), 'oldest first is arrival order, whatever the random ids').to.deep.equal(made)
    expect(approvals.pending().map(a => a.created).every((c, i, all) => i === 0 || c > (all[i - 1] ?? 0)), 'created only grows').to.equal(true)
    expect(approvals.pending()[0]?.created, 'the first keeps its time').to.equal(at)
    const reopened = await Approvals.open(ds, options)
    expect(reopened.pending().map(a => a.id)).to.deep.equal(made)
    const next = await reopened.request(held(utf8('one more'), { summary: 'one more' }))
    expect(reopened.pending().map(a => a.id), 'a request after the reopen comes after the others').to.deep.equal([...made, next.id])
  })

  it('refuses bad requests with ERR_APPROVAL_INVALID_ARGUMENT', async () => {
    const approvals = await Approvals.open(new MemoryDatastore(), { self: node.peerIdString })
    const bad: Array<Partial<ApprovalRequest>> = [
      { subjectKind: 'request' as 'envelope' },
      { bytes: new Uint8Array(0) },
      { bytes: 'text' as unknown as Uint8Array },
      { peer: 'not-a-peer' },
      { method: '' },
      { summary: '' },
      { amount: { value: -1, currency: 'GBP' } },
      { amount: { value: 1, currency: 'pounds' } }
    ]
    for (const over of bad) expect(await code(async () => approvals.request(held(purchase, over))), JSON.stringify(over)).to.equal(ApprovalErrorCode.INVALID_ARGUMENT)
    expect(await code(async () => Approvals.open(new MemoryDatastore(), { self: 'nobody' }))).to.equal(ApprovalErrorCode.INVALID_ARGUMENT)
    expect(await code(async () => Approvals.open(new MemoryDatastore(), { self: node.peerIdString, approvers: [] }))).to.equal(ApprovalErrorCode.INVALID_ARGUMENT)
    expect(approvals.list()).to.deep.equal([])
  })
})
