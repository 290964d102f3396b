/**
 * Gossipsub peer scoring of the presence topic, on a real relay node: a
 * peer publishing forged announcements (signed by another key than the
 * publisher's, or with a bad signature) is rejected by the validator, each
 * rejection counts against it (P4), and once its score is below the graylist
 * threshold gossipsub drops what it sends before the validator sees it. A
 * well-behaved publisher is still heard.
 *
 * The attacker and the honest publisher are stock js-libp2p nodes with
 * stock gossipsub, publishing their own announcement bytes.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { createRelayNode } from '../../src/node/relay.js'
import type { RelayNode } from '../../src/node/relay.js'
import { PRESENCE_TOPIC, PRESENCE_SCORE_THRESHOLDS, signPresence } from '../../src/presence/index.js'
import type { Presence } from '../../src/presence/index.js'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'

type Node = Libp2p<{ pubsub: GossipSub }>

/** Gossipsub's public `getScore` (on its GossipSub class; the service interface does not list it). */
interface Scored { getScore: (peerId: string) => number }

async function node (identity: Identity): Promise<Node> {
  return createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
}

async function until (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('presence peer scoring', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayNode
  let presence: Presence
  let attacker: Node
  let honest: Node
  let attackerId: Identity
  let honestId: Identity
  let other: Identity
  const score = (peer: string): number => (relay.libp2p.services.pubsub as unknown as Scored).getScore(peer)

  /** Announcement bytes `attacker` cannot legitimately publish: signed by another key, or with a signature that does not verify. */
  async function forged (i: number): Promise<Uint8Array> {
    const fields = { kind: 'agent' as const, capabilities: [`forged-${i}`], connections: [] }
    // i even: `peer` is another key, which signed it (ERR_SIGNER_MISMATCH); odd: `peer` is the attacker, another key signed (ERR_BAD_SIGNATURE)
    return i % 2 === 0 ? signPresence(other, fields) : signPresence({ peerIdString: attackerId.peerIdString, sign: (data) => other.sign(data) }, fields)
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-presence-scoring-'))
    relay = await createRelayNode({ dataDir: join(dir, 'relay'), listen: ['/ip4/127.0.0.1/tcp/0'], metrics: false })
    if (relay.presence === undefined) throw new Error('the relay runs no presence')
    presence = relay.presence
    ;[attackerId, honestId, other] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' })])
    attacker = await node(attackerId)
    honest = await node(honestId)
    const [addr] = relay.multiaddrs()
    if (addr === undefined) throw new Error('the relay listens nowhere')
    for (const n of [attacker, honest]) {
      n.services.pubsub.subscribe(PRESENCE_TOPIC)
      await n.dial(addr)
    }
    await until('the relay to see both subscribers', () => relay.libp2p.services.pubsub.getSubscribers(PRESENCE_TOPIC).length >= 2)
    await new Promise(resolve => setTimeout(resolve, 1500))
  })

  after(async () => {
    await Promise.all([attacker, honest].map(async n => n?.stop()))
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('hears a well-behaved publisher', async () => {
    await honest.services.pubsub.publish(PRESENCE_TOPIC, await signPresence(honestId, { kind: 'agent', capabilities: ['quote'], connections: [] }))
    await until('the honest announcement', () => presence.entries().some(e => e.from === honestId.peerIdString && e.verdict.status === 'valid'))
  })

  it('graylists a peer that publishes forged announcements, then its messages no longer reach the validator', async () => {
    const rejectedBefore = presence.rejected
    let sent = 0
    // a few forgeries, one at a time, until gossipsub's score of the attacker is below the graylist threshold
    while (score(attackerId.peerIdString) >= PRESENCE_SCORE_THRESHOLDS.graylistThreshold && sent < 10) {
      await attacker.services.pubsub.publish(PRESENCE_TOPIC, await forged(sent++))
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    await until('the attacker to be graylisted', () => score(attackerId.peerIdString) < PRESENCE_SCORE_THRESHOLDS.graylistThreshold, 5000)
    expect(presence.rejected - rejectedBefore, 'forgeries rejected by the validator').to.be.within(3, sent)
    expect(presence.entries().find(e => e.from === attackerId.peerIdString)?.verdict.status).to.equal('invalid')

    // graylisted: forgeries, and even a valid announcement of its own, are dropped before validation
    const validations = presence.validations
    for (let i = 0; i < 20; i++) await attacker.services.pubsub.publish(PRESENCE_TOPIC, await forged(100 + i))
    await attacker.services.pubsub.publish(PRESENCE_TOPIC, await signPresence(attackerId, { kind: 'agent', capabilities: [], connections: [] }))
    // the honest peer publishes after them: once it is heard, the attacker's messages have been handled
    const heard = new Promise<void>(resolve => {
      presence.addEventListener('change', (e) => { if (e.detail?.from === honestId.peerIdString) resolve() })
    })
    await new Promise(resolve => setTimeout(resolve, 500))
    await honest.services.pubsub.publish(PRESENCE_TOPIC, await signPresence(honestId, { kind: 'agent', capabilities: ['quote', 'again'], connections: [] }))
    await heard
    expect(presence.validations - validations, 'announcements that reached the validator').to.equal(1) // the honest one
    expect(presence.entries().find(e => e.from === attackerId.peerIdString)?.verdict.status, 'the attacker\'s valid announcement was never checked').to.equal('invalid')
    expect(score(attackerId.peerIdString)).to.be.below(PRESENCE_SCORE_THRESHOLDS.graylistThreshold)
    expect(score(honestId.peerIdString), 'the honest publisher\'s score').to.be.at.least(0)
  })
})
