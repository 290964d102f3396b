/**
 * A relay's DHT routing table admits only the DHT servers it trusts
 * (protocols/handle-record §15): itself, the relays it bootstraps from and
 * its `--dht-server`s. A rogue kad-dht server that connects to it is never
 * named in its answers, so it cannot be handed to clients or other relays as
 * a closer peer; the relay still answers everyone.
 *
 * Relay B bootstraps from relay A and trusts relay C (`--dht-server`), which
 * bootstraps from B. The rogue is a stock js-libp2p node running kad-dht in
 * server mode on Parley's DHT protocol, connected to B; the client is a
 * stock kad-dht client connected to B only, and reads B's raw answers
 * (FIND_NODE and GET_VALUE) from its query events.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createLibp2p } from 'libp2p'
import type { QueryEvent } from '@libp2p/kad-dht'
import { MemoryDatastore } from 'datastore-core'
import { multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createTestPeer } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'
import { createIdentity, loadOrCreateIdentity } from '../../src/identity/index.js'
import { handleKey } from '../../src/handles/record.js'
import { forgetUntrustedDhtPeers, KAD_PEER_TAG, trustedDhtMapper } from '../../src/node/dht-trust.js'

/** The peers relay `from` named in its answers to `events` (closer peers of each of its PEER_RESPONSEs). */
async function namedBy (from: string, events: AsyncIterable<QueryEvent>): Promise<{ answers: number, named: Set<string> }> {
  const named = new Set<string>()
  let answers = 0
  try {
    for await (const event of events) {
      if (event.name !== 'PEER_RESPONSE' || event.from.toString() !== from) continue
      answers++
      for (const peer of event.closer) named.add(peer.id.toString())
    }
  } catch {
    // a query may end with an error (e.g. its timeout): the answers collected are what counts
  }
  return { answers, named }
}

describe('a relay\'s DHT routing table', function () {
  this.timeout(90_000)
  let dir: string
  let relayA: RelayProcess
  let relayB: RelayProcess
  let relayC: RelayProcess
  let rogue: TestPeer
  let client: TestPeer

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-relay-dht-'))
    relayA = await startRelayProcess({ dataDir: join(dir, 'a') })
    // C's key is made ahead so that B can name it before C runs
    const cIdentity = await loadOrCreateIdentity({ dataDir: join(dir, 'c'), kind: 'agent' })
    relayB = await startRelayProcess({ dataDir: join(dir, 'b'), args: ['--bootstrap', relayA.tcp.toString(), '--dht-server', cIdentity.peerIdString] })
    relayC = await startRelayProcess({ dataDir: join(dir, 'c'), args: ['--bootstrap', relayB.tcp.toString()] })
    rogue = await createTestPeer({ dhtServer: true, webrtc: false })
    await rogue.dial(relayB.tcp)
    client = await createTestPeer({ webrtc: false })
    await client.dial(relayB.tcp)
    // until B names both trusted relays (C joins B's table once it has dialed B and identify ran)
    const deadline = Date.now() + 20_000
    for (;;) {
      const { named } = await namedBy(relayB.peerId, client.services.dht.getClosestPeers(randomBytes(32), { signal: AbortSignal.timeout(5000) }))
      if (named.has(relayA.peerId) && named.has(relayC.peerId)) break
      if (Date.now() > deadline) throw new Error(`relay B did not name both trusted relays: ${[...named].join(', ')}`)
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    // the rogue has had as long as the trusted relays to get in
    await new Promise(resolve => setTimeout(resolve, 1500))
  })

  after(async () => {
    await client?.stop()
    await rogue?.stop()
    await Promise.all([relayA, relayB, relayC].map(async r => r?.stop('SIGKILL')))
    await rm(dir, { recursive: true, force: true })
  })

  it('never names a rogue DHT server as a closer peer; names the relays it trusts', async () => {
    const keys = [
      ...Array.from({ length: 8 }, () => randomBytes(32)),
      // the rogue's own id: a FIND_NODE for it would name it from the relay's peer store
      rogue.peerId.toMultihash().bytes
    ]
    for (const key of keys) {
      const { answers, named } = await namedBy(relayB.peerId, client.services.dht.getClosestPeers(key, { signal: AbortSignal.timeout(5000) }))
      expect(answers, 'FIND_NODE answers from relay B').to.be.at.least(1)
      expect([...named], 'named by relay B').to.not.include(rogue.peerId.toString())
      expect([...named]).to.include.members([relayA.peerId, relayC.peerId])
    }
  })

  it('does not name it in GET_VALUE answers either (kad-dht lists routing-table peers there unfiltered)', async () => {
    for (const handle of ['nobody-here', 'someone-else']) {
      const { answers, named } = await namedBy(relayB.peerId, client.services.dht.get(handleKey(handle), { signal: AbortSignal.timeout(5000) }))
      expect(answers, 'GET_VALUE answers from relay B').to.be.at.least(1)
      expect([...named]).to.not.include(rogue.peerId.toString())
      expect([...named]).to.include.members([relayA.peerId, relayC.peerId])
    }
  })

  it('still answers the rogue itself, as it answers any peer', async () => {
    const { answers, named } = await namedBy(relayB.peerId, rogue.services.dht.getClosestPeers(randomBytes(32), { signal: AbortSignal.timeout(5000) }))
    expect(answers).to.be.at.least(1)
    expect([...named]).to.include.members([relayA.peerId, relayC.peerId])
  })
})

describe('the relay\'s DHT trust helpers', () => {
  it('the mapper keeps trusted servers\' addresses and strips everyone else\'s', async () => {
    const [trusted, other] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' })])
    const addrs = [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/8.8.8.8/tcp/4001')]
    const mapper = trustedDhtMapper({ trusted: (p) => p === trusted.peerIdString })
    expect(mapper({ id: trusted.peerId, multiaddrs: addrs }).multiaddrs).to.deep.equal(addrs)
    expect(mapper({ id: other.peerId, multiaddrs: addrs }).multiaddrs).to.deep.equal([])
    const publicOnly = trustedDhtMapper({ trusted: () => true, publicOnly: true })
    expect(publicOnly({ id: trusted.peerId, multiaddrs: addrs }).multiaddrs.map(String)).to.deep.equal(['/ip4/8.8.8.8/tcp/4001'])
  })

  it('clears the routing-table tag of untrusted peers from a peer store before start', async () => {
    const node = await createLibp2p({ start: false, datastore: new MemoryDatastore() })
    const [trusted, untrusted] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' })])
    try {
      for (const peer of [trusted, untrusted]) await node.peerStore.merge(peer.peerId, { tags: { [KAD_PEER_TAG]: { value: 1 } } })
      const cleared = await forgetUntrustedDhtPeers(node, (p) => p === trusted.peerIdString)
      expect(cleared).to.equal(1)
      expect((await node.peerStore.get(trusted.peerId)).tags.has(KAD_PEER_TAG)).to.equal(true)
      expect((await node.peerStore.get(untrusted.peerId)).tags.has(KAD_PEER_TAG)).to.equal(false)
    } finally {
      await node.stop()
    }
  })
})
