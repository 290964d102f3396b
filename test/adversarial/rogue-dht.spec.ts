/**
 * A rogue DHT server cannot take over handles (protocols/handle-record §15).
 *
 * The attacker is a stock js-libp2p node running kad-dht in server mode on
 * Parley's DHT protocol, joined to the relay's DHT, that answers GETs with
 * its own validly minted record (a huge `seq`) for names it wants: one the
 * relay does not hold, and one a real agent holds. It never PUTs them to the
 * relay (which would refuse the held one, first come, first served).
 * Resolvers take values only from DHT servers they trust (their relays), and
 * agents admit only those into their routing tables.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Record } from '@libp2p/kad-dht'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { toString } from 'uint8arrays/to-string'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createTestPeer } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { createIdentity } from '../../src/identity/index.js'
import { createHandleRecord, handleKey } from '../../src/handles/record.js'

describe('a rogue DHT server', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  let rogue: TestPeer
  let holder: Agent
  let resolver: Agent
  let caller: Agent
  const agents: Agent[] = []

  /** The rogue mints its own valid record for `handle` and keeps it to itself (stored locally, never PUT to the relay). */
  async function squat (handle: string): Promise<void> {
    const { bytes } = await createHandleRecord(rogueIdentity, { handle, seq: Date.now() + 1e9, relays: [], powBits: 8 })
    // straight into the rogue's own store, where its DHT server answers GETs from (kad-dht's layout)
    const key = handleKey(handle)
    await rogueStore.put(new Key(`/dht/record/${toString(key, 'base32')}`, false), new Record(key, bytes, new Date()).serialize())
  }
  let rogueIdentity: Awaited<ReturnType<typeof createIdentity>>
  const rogueStore = new MemoryDatastore()

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rogue-dht-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    const agent = async (handle?: string): Promise<Agent> => {
      const a = await createAgent({ ...(handle === undefined ? {} : { handle }), relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8, webrtc: false })
      agents.push(a)
      await a.start()
      return a
    }
    holder = await agent('held-name')
    rogueIdentity = await createIdentity({ kind: 'agent' })
    // a DHT server that keeps whatever it is given, owner-blind (its validators accept anything)
    rogue = await createTestPeer({ privateKey: rogueIdentity.privateKey, datastore: rogueStore, dhtServer: true, webrtc: false })
    await rogue.dial(relay.tcp)
    // the relay's DHT adds the rogue as a server once identify has run
    await new Promise(resolve => setTimeout(resolve, 1500))
    await squat('unheld-name')
    await squat('held-name')
    resolver = await agent()
    caller = await agent('claims-a-name')
    // the rogue reaches out to the resolver as well, as any peer may
    await rogue.dial(resolver.libp2p.getMultiaddrs()[0] ?? relay.tcp).catch(() => {})
  })

  after(async () => {
    for (const a of agents) await a.close().catch(() => {})
    await rogue?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('cannot give a resolver a name the relays do not hold', async () => {
    let caught: unknown
    try { await resolver.resolve('@unheld-name', { fresh: true }) } catch (err) { caught = err }
    expect(caught, 'resolved the rogue\'s record').to.have.property('code', 'ERR_NOT_FOUND')
  })

  it('cannot take a held name from its holder: resolvers still find the holder', async () => {
    const record = await resolver.resolve('@held-name', { fresh: true })
    expect(record.peer).to.equal(holder.peerId)
  })

  it('cannot make a callee stamp a name\'s real holder anon', async () => {
    // the holder of @held-name calls; the callee checks its claim against the DHT
    const session = await holder.connect('@claims-a-name')
    const inbound = [...caller.sessions].find(s => s.remotePeer === holder.peerId)
    expect(inbound?.remote).to.include({ peer: holder.peerId, handle: 'held-name', kind: 'agent' })
    await session.close()
  })

})
