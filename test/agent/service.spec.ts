/**
 * Parley as libp2p services: a node created with plain `createLibp2p` (not
 * `createAgent`), with `parley()` and `parleyDHT()` under `services`, registers
 * a handle, calls a `createAgent` agent by handle and is called back by it,
 * and runs a negotiation with it, through a relay process.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent, parley, parleyDHT } from '../../src/agent/index.js'
import type { Agent, ParleyService } from '../../src/agent/index.js'
import type { KadDHT } from '@libp2p/kad-dht'

const BITS = 8

describe('Parley as libp2p services on a plain node', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let node: Libp2p<{ identify: unknown, ping: unknown, dht: KadDHT, parley: ParleyService }>
  let agent: Agent

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-service-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    const relays = [relay.tcp.toString()]
    node = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        ping: ping(),
        dht: parleyDHT({ relays, minPowBits: BITS }),
        parley: parley({ handle: 'plain-node', relays, powBits: BITS, minPowBits: BITS, webrtc: false })
      }
    })
    node.services.parley.handle('echo', (params) => ({ echoed: params ?? null }))
    await node.services.parley.ready()
    agent = await createAgent({ handle: 'made-agent', relays, powBits: BITS, minPowBits: BITS, webrtc: false })
    agent.handle('whoami', (_params, context) => ({ ...context.caller }))
    await agent.start()
  })

  after(async () => {
    await agent?.close()
    await node?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('registers its handle with its own node key', async () => {
    const record = await agent.resolve('@plain-node')
    expect(record.peer).to.equal(node.peerId.toString())
    expect(node.services.parley.record?.handle).to.equal('plain-node')
  })

  it('calls a createAgent agent by handle and is verified as its handle', async () => {
    const session = await node.services.parley.connect('@made-agent')
    expect(session.remote).to.deep.equal({ peer: agent.peerId, handle: 'made-agent', kind: 'agent' })
    expect(await session.request('whoami')).to.deep.equal({ peer: node.peerId.toString(), handle: 'plain-node', kind: 'agent' })
  })

  it('is called by the agent, and negotiates with it to a confirmed agreement, with the human\'s approval', async () => {
    const session = await agent.connect('@plain-node')
    expect(await session.request('echo', { n: 1 })).to.deep.equal({ echoed: { n: 1 } })
    const plain = node.services.parley
    const { negotiation: id } = await agent.propose('@plain-node', { subject: 'fix the tap', terms: { type: 'commerce.job', price: { value: 80, currency: 'GBP' } } })
    await until(() => plain.negotiations.get(id) !== undefined, 'the offer reaches the plain node')
    await plain.setTrust('@made-agent', 2, { limits: { maxAmount: 100, currency: 'GBP' } })
    const moved = await plain.negotiations.move(id, 'accept')
    expect(moved.status, 'the proposer\'s human must confirm').to.equal('awaiting')
    await until(() => agent.pending().length > 0, 'the accept is held for the agent\'s human')
    await agent.approve(agent.pending()[0]?.id ?? '')
    await until(() => plain.negotiations.get(id)?.state === 'confirmed' && agent.negotiations.get(id)?.state === 'confirmed', 'both ends confirmed')
    expect(JSON.stringify(plain.negotiations.get(id)?.toJSON())).to.equal(JSON.stringify(agent.negotiations.get(id)?.toJSON()))
  })
})

async function until (check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
