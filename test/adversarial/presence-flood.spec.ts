/**
 * A presence flood costs its receiver bounded work: announcements naming
 * handles nobody holds used to cost one DHT lookup each (a relay went from
 * 140 to 245 MB RSS). Now each publisher is checked at most
 * DEFAULT_PRESENCE_RATE times a minute, each handle is looked up at most once
 * a minute (found or not), and a well-behaved publisher is still heard.
 * Once on bare libp2p nodes in the test's own process (where the lookups are
 * counted), once against a `parley relay` process, from a stock gossipsub
 * node with the attacker's own codec (./attacker.ts), with the relay's RSS
 * held below 1.5 times its idle figure.
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
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { BITS, rssOf, underFlood } from './helpers.js'
import { PRESENCE, announcement, peerOf, pubsubAttacker } from './attacker.js'

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

describe('a presence flood at a relay process', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let honest: Agent
  let key: PrivateKey
  let attacker: Libp2p<{ pubsub: GossipSub }>
  let idle: number
  const handle = `honest-${Math.random().toString(36).slice(2, 8)}`

  interface PeerView { peer: string, handle?: string, verified: boolean, presence?: { status: string, ts: number, reason?: string } }
  const peers = async (): Promise<PeerView[]> => (await (await fetch(`${relay.httpUrl}/api/state`)).json() as { peers: PeerView[] }).peers

  async function until (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!await check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  /** The relay shows the honest agent present with an announcement made after `since`. */
  async function honestShown (since: number): Promise<void> {
    await until('a fresh valid announcement of the honest agent', async () => {
      const view = (await peers()).find(p => p.peer === honest.peerId)
      return view?.presence?.status === 'valid' && view.presence.ts >= since && view.handle === handle
    })
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-presence-proc-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    honest = await createAgent({ handle, relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, presence: { intervalMs: 1000 } })
    await honest.start()
    key = await generateKeyPair('Ed25519')
    attacker = await pubsubAttacker(key, relay.tcp, relay.peerId)
    // warm up: the relay has checked (and resolved the handle of) an honest announcement
    await honestShown(0)
    idle = rssOf(relay.child.pid ?? 0)
  })

  after(async () => {
    await attacker?.stop()
    await honest?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it(`checks the flooding publisher at its rate (a burst of ${DEFAULT_PRESENCE_RATE}), still shows the honest agent, and stays below 1.5× its idle RSS`, async () => {
    const base = Date.now()
    let elapsed = 0
    await underFlood('200 presence announcements naming unknown handles', relay.child.pid ?? 0, idle, async () => {
      for (let i = 0; i < 200; i++) {
        // signed by the publisher with the attacker's own codec, each naming a handle nobody holds
        await attacker.services.pubsub.publish(PRESENCE, await announcement(key, { ts: base + i, handle: i % 2 === 0 ? `nobody-${i}` : 'nobody-at-all' }))
      }
      await until('the flood\'s verdicts at the relay', async () => (await peers()).some(p => p.peer === peerOf(key) && p.presence?.reason === 'ERR_HANDLE_UNRESOLVED'))
      elapsed = Date.now() - base
      await honestShown(Date.now())
    })
    // the last announcement the relay checked is one of the first few: the rest were ignored unchecked
    const view = (await peers()).find(p => p.peer === peerOf(key))
    const checked = (view?.presence?.ts ?? base) - base + 1
    expect(checked, 'the latest announcement checked, counted from the first').to.be.at.most(DEFAULT_PRESENCE_RATE + 1 + Math.ceil(elapsed / 5000))
    expect(view?.handle, 'a handle shown for the flooder').to.equal(undefined)
    expect(relay.child.exitCode).to.equal(null)
  })
})
