/**
 * A presence flood costs its receiver bounded work: announcements naming
 * handles nobody holds used to cost one DHT lookup each (a relay went from
 * 140 to 245 MB RSS). Now each publisher is checked at most
 * DEFAULT_PRESENCE_RATE times a minute, each handle is looked up at most once
 * a minute (found or not), and a well-behaved publisher is still heard.
 */
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { Presence, PRESENCE_TOPIC, DEFAULT_PRESENCE_RATE, signPresence, presenceGossipsubOptions } from '../../src/presence/index.js'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'

type Node = Libp2p<{ pubsub: GossipSub }>

/** A stock node, or with `scored` the gossipsub options relays and agents run (presence scoring). */
async function node (identity: Identity, scored = false): Promise<Node> {
  return createLibp2p({
    privateKey: identity.privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), pubsub: gossipsub(scored ? presenceGossipsubOptions() : { allowPublishToZeroTopicPeers: true }) }
  })
}

describe('a presence flood', function () {
  this.timeout(60_000)
  let victim: Node
  let attacker: Node
  let honest: Node
  let attackerId: Identity
  let honestId: Identity
  let presence: Presence
  const lookups: string[] = []

  before(async () => {
    const victimId = await createIdentity({ kind: 'agent' })
    attackerId = await createIdentity({ kind: 'agent' })
    honestId = await createIdentity({ kind: 'agent' })
    victim = await node(victimId, true)
    attacker = await node(attackerId)
    honest = await node(honestId)
    presence = new Presence(victim.services.pubsub, {
      self: victimId.peerIdString,
      // the DHT: only @honest-one exists; every call is counted
      resolve: async (handle) => { lookups.push(handle); return handle === 'honest-one' ? { peer: honestId.peerIdString, kind: 'agent' } : undefined }
    })
    presence.start()
    const [addr] = victim.getMultiaddrs()
    if (addr === undefined) throw new Error('the victim listens nowhere')
    for (const n of [attacker, honest]) {
      n.services.pubsub.subscribe(PRESENCE_TOPIC)
      await n.dial(addr)
    }
    // wait for the mesh: the victim must see both as subscribers
    for (let i = 0; i < 100 && victim.services.pubsub.getSubscribers(PRESENCE_TOPIC).length < 2; i++) await new Promise(resolve => setTimeout(resolve, 100))
    await new Promise(resolve => setTimeout(resolve, 1500))
  })

  after(async () => {
    presence?.stop()
    await Promise.all([victim, attacker, honest].map(async n => n?.stop()))
  })

  it('checks each publisher at most DEFAULT_PRESENCE_RATE times a minute and each unknown handle once', async () => {
    for (let i = 0; i < 200; i++) {
      const handle = i % 2 === 0 ? `nobody-${i}` : 'nobody-at-all'
      await attacker.services.pubsub.publish(PRESENCE_TOPIC, await signPresence(attackerId, { handle, kind: 'agent', capabilities: [], connections: [] }))
    }
    for (let i = 0; i < 50 && presence.limited < 200 - DEFAULT_PRESENCE_RATE; i++) await new Promise(resolve => setTimeout(resolve, 100))
    expect(presence.limited, 'announcements ignored unchecked').to.equal(200 - DEFAULT_PRESENCE_RATE)
    expect(lookups.length, 'DHT lookups made').to.be.at.most(DEFAULT_PRESENCE_RATE)
    expect(lookups.filter(h => h === 'nobody-at-all').length, 'lookups of one unknown handle').to.be.at.most(1)
    // well-signed announcements ignored for rate or an unresolved handle cost the sender no score (an honest relay may forward them)
    const score = (victim.services.pubsub as unknown as { getScore: (peer: string) => number }).getScore(attackerId.peerIdString)
    expect(score, 'the flooder\'s score').to.be.at.least(0)
  })

  it('still hears a well-behaved publisher', async () => {
    const heard = new Promise<void>(resolve => {
      presence.addEventListener('change', (e) => { if (e.detail?.from === honestId.peerIdString && e.detail.verdict.status === 'valid') resolve() })
    })
    await honest.services.pubsub.publish(PRESENCE_TOPIC, await signPresence(honestId, { handle: 'honest-one', kind: 'agent', capabilities: ['quote'], connections: [] }))
    await heard
  })
})
