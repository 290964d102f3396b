/**
 * Nothing acknowledged is lost: a held request approved while its requester
 * is offline runs once the requester can be reached, and the requester gets
 * its outcome then, also after the approving agent restarts. A held message
 * goes to the inbox at once. (Before, the held request was deleted first and
 * the work and the outcome were dropped when the requester was away.)
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent, AgentEvents } from '../../src/agent/index.js'
import { RETRY_MIN_MS } from '../../src/agent/bridge.js'

describe('approving while the requester is offline', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  const running = new Set<Agent>()

  const agent = async (handle: string, beforeStart: (a: Agent) => void = () => {}): Promise<Agent> => {
    // booking binds the plumber: its human decides (an unknown method is routine for an agent)
    const a = await createAgent({ handle, dataDir: join(dir, handle), relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8, webrtc: false, policy: { classes: { book: 'action' } } })
    beforeStart(a)
    await a.start()
    running.add(a)
    return a
  }
  const close = async (a: Agent): Promise<void> => { running.delete(a); await a.close() }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-approved-offline-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
  })

  after(async () => {
    for (const a of running) await a.close().catch(() => {})
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('runs the approved request and delivers its outcome once the requester is back, across a restart of the approver', async () => {
    let plumber = await agent('offline-plumber')
    let booked = 0
    const serve = (a: Agent): void => { a.handle('book', () => { booked++; return { booked: true, slot: '14:00' } }) }
    serve(plumber)
    const customer = await agent('offline-customer')
    const session = await customer.connect('@offline-plumber')
    expect(await session.request('book', { job: 'boiler' })).to.include({ status: 'held' })
    const sent = await session.request('message', { text: 'call me when you can' })
    expect(sent).to.include({ status: 'held' })
    const [book, message] = plumber.pending()
    expect(book?.method).to.equal('book')
    expect(message?.method).to.equal('message')

    // the customer goes away (the plumber has seen its sessions end); the plumber's human approves both
    const customerPeer = customer.peerId
    await close(customer)
    const gone = Date.now() + 10_000
    while ([...plumber.sessions].some(s => s.remotePeer === customerPeer && !s.closed) && Date.now() < gone) await new Promise(resolve => setTimeout(resolve, 50))
    await plumber.approve(book?.id ?? '', { reply: 'see you at 2' })
    await plumber.approve(message?.id ?? '')
    expect(booked, 'a request whose requester is away waits').to.equal(0)
    expect((await plumber.inbox()).map(m => m.text), 'a message goes to the inbox at once').to.include('call me when you can')

    // the plumber restarts too: what was decided survives
    await close(plumber)
    plumber = await agent('offline-plumber')
    serve(plumber)

    // the customer comes back: the plumber reaches it and runs the request, once
    const outcomes: Array<AgentEvents['outcome']['detail']> = []
    await agent('offline-customer', (a) => { a.addEventListener('outcome', (e) => { outcomes.push(e.detail) }) })
    const deadline = Date.now() + RETRY_MIN_MS * 8
    while (outcomes.length < 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    expect(outcomes, 'outcomes the customer got').to.have.length(2)
    const bookOutcome = outcomes.find(o => o.approval === book?.id)
    expect(bookOutcome).to.include({ decision: 'approve', reply: 'see you at 2' })
    expect(bookOutcome?.result).to.deep.equal({ booked: true, slot: '14:00' })
    expect(outcomes.find(o => o.approval === message?.id)?.result).to.deep.equal({ status: 'delivered' })
    expect(booked).to.equal(1)
    expect(plumber.desk.approvals.get(book?.id ?? '')?.status).to.equal('used')
  })
})
