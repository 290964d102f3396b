/**
 * A relay that refuses a reservation (it is full, or the peer came back too
 * often) is asked again on a new connection: libp2p's circuit relay
 * transport asks once per connection, so without this an agent refused once
 * stayed unreachable for as long as it stayed connected (measured: still no
 * reservation 2 minutes after a slot came free).
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { RESERVATION_TIMEOUT_MS } from '../../src/agent/constants.js'

const reserved = (agent: Agent): boolean => agent.libp2p.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

async function until (what: string, check: () => boolean, ms: number): Promise<number> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return Date.now() - started
}

describe('a relay that refused a reservation is asked again', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess
  const running: Agent[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-refused-'))
    // room for one reservation
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 0, args: ['--max-reservations', '1'] })
  })

  after(async () => {
    for (const a of running) await a.stop().catch(() => {})
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('an agent refused while the relay is full gets a reservation once a slot comes free, and can be called', async () => {
    const holder = await createAgent({ handle: `holder-${Date.now().toString(36)}`, relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
    running.push(holder)
    await holder.start()
    // no handle: start() does not wait for the reservation, which the full relay refuses
    const late = await createAgent({ relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
    running.push(late)
    await late.start()
    late.handle('who', () => 'late')
    // past the first wait and one round of asking again, still full: refused each time
    await new Promise(resolve => setTimeout(resolve, RESERVATION_TIMEOUT_MS + 3000))
    expect(reserved(late), 'a reservation while the relay is full').to.equal(false)
    await holder.stop()
    const took = await until('a reservation after the slot came free', () => reserved(late), 40_000)
    // reachable through the relay: another agent calls it by peer id at its circuit address
    const caller = await createAgent({ relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
    running.push(caller)
    await caller.start()
    await caller.libp2p.peerStore.merge(late.libp2p.peerId, { multiaddrs: late.libp2p.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit')) })
    const session = await caller.connect(late.peerId)
    expect(await session.request('who')).to.equal('late')
    expect(took, 'ms from the slot coming free to the reservation').to.be.below(40_000)
    for (const a of running.splice(0)) await a.stop()
  })

  it('an agent with a handle and two relays, one of them full at its start, is reserved on both and its record lists both', async () => {
    const other = await startRelayProcess({ dataDir: join(dir, 'other'), minPowBits: 0, args: ['--bootstrap', relay.tcp.toString()] })
    try {
      const holder = await createAgent({ relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
      running.push(holder)
      await holder.start()
      await until('the holder\'s reservation', () => reserved(holder), 10_000)
      const handle = `two-${Date.now().toString(36)}`
      const agent = await createAgent({ handle, relays: [relay.tcp.toString(), other.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
      running.push(agent)
      await agent.start()
      const relaysOf = (): Set<string> => new Set(agent.libp2p.getMultiaddrs().map(a => a.toString()).filter(a => a.includes('/p2p-circuit')).map(a => a.split('/p2p-circuit')[0]?.split('/p2p/').pop() ?? ''))
      expect([...relaysOf()], 'reserved at start: the free relay only').to.deep.equal([other.peerId.toString()])
      await holder.stop()
      await until('a reservation on both relays', () => relaysOf().size === 2, RESERVATION_TIMEOUT_MS + 20_000)
      const listed = async (): Promise<number> => (await agent.resolve(`@${handle}`, { fresh: true })).relays.length
      const started = Date.now()
      while (await listed() < 2) {
        if (Date.now() - started > 10_000) throw new Error('the record does not list both relays within 10 s')
        await new Promise(resolve => setTimeout(resolve, 250))
      }
    } finally {
      for (const a of running.splice(0)) await a.stop().catch(() => {})
      await other.stop('SIGKILL')
    }
  })
})
