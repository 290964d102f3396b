/**
 * Mail's lifecycle around the agents: the sender's outbox survives its own
 * restart (nothing it accepted is lost while no relay can take it), receipts
 * come back as `delivered`, `read` and `refused` (with the recipient's
 * reason), and a recipient that rotated its key still gets what was sealed
 * to the old one: the relay refuses the stale deposit, the sender resolves
 * again and seals anew. Real relay processes, real agents, loopback.
 */
import { expect } from 'chai'
import type { Agent, OutboxEntry } from '../../src/agent/index.js'
import { until, useTwoRelays } from './two-relays.js'
import { verifyLog } from '../../src/store/index.js'

describe('mail: the outbox across a restart, receipts, key rotation', function () {
  this.timeout(180_000)
  const { relays, startRelay, agent, close } = useTwoRelays('parley-mail-life-')
  const messages = (a: Agent): OutboxEntry[] => a.outbox().filter(e => e.method === 'message')

  it('mail no relay could take waits in the outbox through the sender\'s restart; delivered, then read receipts come back', async () => {
    let bob = await agent('life-bob')
    let alice = await agent('life-alice')
    await bob.setTrust('@life-alice', 1)
    await alice.resolve('@life-bob')
    await close(bob)
    // both relays down: alice accepts the messages, and can only keep them
    for (const r of relays) await r.stop('SIGKILL')
    for (const text of ['first', 'second', 'third']) {
      const sent = await alice.send('@life-bob', text) as { status: string }
      expect(sent.status).to.equal('pending')
    }
    expect(messages(alice).map(e => e.status)).to.deep.equal(['pending', 'pending', 'pending'])
    await close(alice)

    await startRelay(0)
    await startRelay(1)
    alice = await agent('life-alice')
    await until('alice\'s outbox to deposit what it kept', () => messages(alice).length === 3 && messages(alice).every(e => Object.values(e.relays).every(s => s === 'stored')))
    bob = await agent('life-bob')
    await until('bob\'s inbox', async () => (await bob.inbox()).length === 3)
    const inbox = await bob.inbox()
    expect(inbox.map(m => m.text)).to.deep.equal(['first', 'second', 'third'])
    expect(inbox.every(m => m.via === 'mail')).to.equal(true)
    await until('delivered receipts', () => messages(alice).every(e => e.status === 'delivered'))
    expect(await bob.markRead()).to.equal(3)
    expect(await bob.markRead(), 'read once').to.equal(0)
    await until('read receipts', () => messages(alice).every(e => e.status === 'read'))
    await close(bob)
    await close(alice)
  })

  it('a stranger\'s mail past what may wait for the human is refused, and its sender told why', async () => {
    const bob = await agent('life-bob')
    const stranger = await agent('life-stranger')
    await close(bob)
    for (let i = 0; i < 21; i++) expect((await stranger.send('@life-bob', `pitch ${i}`) as { status: string }).status).to.equal('queued')
    const back = await agent('life-bob')
    await until('bob to hold 20 for his human', () => back.pending().filter(p => p.peer === stranger.peerId).length === 20)
    await until('the 21st to be refused', () => messages(stranger).some(e => e.status === 'failed'))
    const failed = messages(stranger).filter(e => e.status === 'failed')
    expect(failed.map(e => e.text)).to.deep.equal(['pitch 20'])
    expect(failed[0]?.error).to.include('ERR_QUOTA')
    await until('the others delivered', () => messages(stranger).filter(e => e.status === 'delivered').length === 20)
    await close(back)
    await close(stranger)
  })

  it('after the recipient rotates its key, mail sealed to the old one is refused by the relay, sealed again and delivered', async () => {
    let carol = await agent('life-carol')
    const dave = await agent('life-dave')
    await carol.setTrust('@life-dave', 1)
    const old = await dave.resolve('@life-carol')
    const rotated = await carol.rotateKey()
    expect(rotated.peer).to.not.equal(old.peer)
    // away: the process ends; its log was handed to the new key, so it starts again from its data dir
    await close(carol)
    // dave still holds carol's old record: the live attempt fails, the deposit names the old key
    const sent = await dave.send('@life-carol', 'for the new key') as { status: string }
    expect(sent.status).to.equal('queued')
    const entry = messages(dave).find(e => e.text === 'for the new key')
    expect(entry?.to.peer, 'sealed again to the new key').to.equal(rotated.peer)
    carol = await agent('life-carol')
    expect(carol.peerId).to.equal(rotated.peer)
    await until('carol\'s inbox', async () => (await carol.inbox()).some(m => m.text === 'for the new key'))
    await until('delivered', () => messages(dave).find(e => e.text === 'for the new key')?.status === 'delivered')
    // carol's log went on under the new key, and still verifies from its first entry
    expect(await verifyLog(await carol.exportLog())).to.include({ peer: old.peer, signer: rotated.peer })
    const resealed = (await dave.logEntries(500)).filter(e => e.type === 'mail.resealed')
    expect(resealed).to.have.length(1)
    expect(resealed[0]?.data).to.include({ from: old.peer, to: rotated.peer })
  })
})
