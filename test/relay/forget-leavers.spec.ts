/**
 * A relay forgets the peers that left it (src/node/forget-leavers.ts): their
 * peer store records are deleted a grace period after their last connection
 * closed, unless they came back or the relay trusts them.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createRelayNode } from '../../src/node/relay.js'
import type { RelayNode } from '../../src/node/relay.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createTestPeer } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'

const GRACE_MS = 300
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('a relay forgets peers that left', function () {
  this.timeout(30_000)
  let dir: string
  let relay: RelayNode
  const peers: TestPeer[] = []
  let trustedKey: Awaited<ReturnType<typeof generateKeyPair>>

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-forget-'))
    trustedKey = await generateKeyPair('Ed25519')
    relay = await createRelayNode({
      dataDir: dir,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      metrics: false,
      presence: false,
      dhtServers: [peerIdFromPrivateKey(trustedKey).toString()],
      forgetPeersAfterMs: GRACE_MS
    })
  })

  after(async () => {
    await Promise.allSettled(peers.map(async p => p.stop()))
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function visit (options: { privateKey?: Awaited<ReturnType<typeof generateKeyPair>> } = {}): Promise<TestPeer> {
    const peer = await createTestPeer({ webrtc: false, ...options })
    peers.push(peer)
    await peer.dial(relay.multiaddrs()[0] as Multiaddr)
    const deadline = Date.now() + 5000
    while (!(await relay.libp2p.peerStore.has(peer.peerId)) && Date.now() < deadline) await sleep(20)
    expect(await relay.libp2p.peerStore.has(peer.peerId), 'the relay knows the peer while it is connected').to.equal(true)
    return peer
  }

  it('deletes the record of a peer that left, after the grace period; keeps connected, returning and trusted peers', async () => {
    const leaver = await visit()
    const stayer = await visit()
    const returner = await visit()
    const trusted = await visit({ privateKey: trustedKey })
    // the leaver and the trusted relay go for good (a peer merely hung up on may dial back by itself)
    await leaver.stop()
    await trusted.stop()
    await relay.libp2p.hangUp(returner.peerId)
    await sleep(GRACE_MS / 3)
    await returner.dial(relay.multiaddrs()[0] as Multiaddr)
    await sleep(GRACE_MS * 4)
    expect(await relay.libp2p.peerStore.has(leaver.peerId), 'the peer that left').to.equal(false)
    expect(await relay.libp2p.peerStore.has(stayer.peerId), 'the peer still connected').to.equal(true)
    expect(await relay.libp2p.peerStore.has(returner.peerId), 'the peer that came back in time').to.equal(true)
    expect(await relay.libp2p.peerStore.has(trusted.peerId), 'a relay this one trusts').to.equal(true)
  })
})
