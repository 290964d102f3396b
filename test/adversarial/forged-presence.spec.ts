/**
 * Forged presence announcements (protocols/presence §4) published to a
 * `parley relay` process: one signed by a key other than its publisher's,
 * one naming and signed by another peer (a third key's, and a real agent's
 * own announcement replayed), one claiming a handle a real agent holds, and
 * one claiming a handle nobody holds. The attacker is a stock js-libp2p node
 * with stock gossipsub that makes its announcements with its own codec
 * (./attacker.ts). The relay refuses each with its code, counts its
 * publisher among the invalid ones (its dashboard's `presence_invalid`),
 * shows no handle, kind or presence from it (neither for the publisher nor
 * for the peer it names), does not forward it to the agent, and still shows
 * the real agent as present; the relay stays up within its memory bound and
 * a legitimate client still reaches the agent through it.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { GossipSub } from '@libp2p/gossipsub'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { BITS, pingTime, rssOf, underFlood } from './helpers.js'
import { PRESENCE, announcement, peerOf, pubsubAttacker } from './attacker.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

interface PeerView { peer: string, handle?: string, kind: string, verified: boolean, presence?: { status: string, ts: number, handle?: string, kind?: string, reason?: string } }
interface RelayState { peers: PeerView[], metrics: Record<string, number> }

describe('forged presence announcements at a parley relay process', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let holder: Agent
  let client: Agent
  let key: PrivateKey
  let other: PrivateKey
  let attacker: Libp2p<{ pubsub: GossipSub }>
  let idle: number
  /** The holder's own announcements, as the attacker received them through the relay. */
  const overheard: Uint8Array[] = []
  const handle = `present-${Math.random().toString(36).slice(2, 8)}`

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adv-presence-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    holder = await createAgent({ handle, relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, presence: { intervalMs: 1000 } })
    await holder.start()
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    other = await generateKeyPair('Ed25519')
    attacker = await pubsubAttacker(key, relay.tcp, relay.peerId)
    attacker.services.pubsub.addEventListener('message', (e) => {
      if (e.detail.topic === PRESENCE && e.detail.type === 'signed' && e.detail.from.toString() === holder.peerId) overheard.push(e.detail.data)
    })
    // the relay sees the holder as present (a valid announcement naming its handle)
    await until('the holder shown as present', async () => {
      const view = (await state()).peers.find(p => p.peer === holder.peerId)
      return view?.presence?.status === 'valid' && view.handle === handle
    })
    await stillServes()
    idle = rssOf(relay.child.pid ?? 0)
  })

  after(async () => {
    await attacker?.stop()
    await client?.stop()
    await holder?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  async function state (): Promise<RelayState> {
    return await (await fetch(`${relay.httpUrl}/api/state`)).json() as RelayState
  }

  async function until (what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!await check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(100)
    }
  }

  /** The relay is up, still shows the holder as present, and a client reaches the holder through it. */
  async function stillServes (): Promise<void> {
    expect(relay.child.exitCode, `the relay exited:\n${relay.stderr().slice(-3000)}`).to.equal(null)
    const since = Date.now()
    await until('a fresh valid announcement of the holder', async () => {
      const view = (await state()).peers.find(p => p.peer === holder.peerId)
      return view?.presence?.status === 'valid' && view.presence.ts >= since - 1000 && view.handle === handle && view.verified
    })
    await pingTime(client, handle)
  }

  /** Publishes `bytes`; once the relay shows the announcement of `ts` from the attacker refused with `reason`, checks nothing of it is shown as verified, and returns the relay's state. */
  async function refused (bytes: Uint8Array, ts: number, reason: string): Promise<RelayState> {
    await attacker.services.pubsub.publish(PRESENCE, bytes)
    let seen: RelayState | undefined
    await until(`the relay's verdict ${reason}`, async () => {
      const s = await state()
      const view = s.peers.find(p => p.peer === peerOf(key))
      if (view?.presence?.ts === ts && view.presence.reason === reason) seen = s
      return seen !== undefined
    })
    const view = seen?.peers.find(p => p.peer === peerOf(key))
    expect(view?.presence?.status, 'the verdict').to.equal('invalid')
    // nothing from it is shown as verified: no handle, no kind, not present
    expect(view?.handle, 'a handle shown for the publisher').to.equal(undefined)
    expect(view?.kind).to.equal('anon')
    expect(view?.verified).to.equal(false)
    expect(seen?.metrics.presence_invalid, 'publishers counted invalid').to.be.at.least(1)
    return seen as RelayState
  }

  it('refuses each forgery with its code, shows none of it, does not forward it, and still shows the real agent as present', async () => {
    await underFlood('forged presence announcements', relay.child.pid ?? 0, idle, async () => {
      // first what the relay ignores (it depends on the relay's view of the DHT, so it is not
      // scored): after three rejected forgeries gossipsub graylists the attacker (presence/scoring.ts)
      // and the relay no longer reads what it sends
      // 1. a handle the real agent holds
      let ts = Date.now()
      const claimed = await refused(await announcement(key, { ts, handle, kind: 'agent' }), ts, 'ERR_HANDLE_MISMATCH')
      expect(claimed.peers.find(p => p.peer === peerOf(key))?.presence?.handle, 'the claim, shown as a claim').to.equal(handle)
      expect(claimed.peers.filter(p => p.handle === handle).map(p => p.peer), 'who is shown holding the handle').to.deep.equal([holder.peerId])

      // 2. a handle nobody holds
      ts = Date.now()
      await refused(await announcement(key, { ts, handle: 'nobody-holds-this' }), ts, 'ERR_HANDLE_UNRESOLVED')

      // 3. the publisher's peer id, another key's signature
      ts = Date.now()
      await refused(await announcement(other, { peer: peerOf(key), ts, capabilities: ['pay'] }), ts, 'ERR_BAD_SIGNATURE')

      // 4. another peer's statement, signed by that peer: a third key's, and the real agent's own, replayed
      ts = Date.now()
      const named = await refused(await announcement(other, { ts }), ts, 'ERR_SIGNER_MISMATCH')
      expect(named.peers.find(p => p.peer === peerOf(other)), 'the peer it names shown').to.equal(undefined)
      await until('an announcement of the holder overheard', async () => overheard.length > 0)
      const theirs = overheard.at(-1) as Uint8Array
      const theirTs = (JSON.parse(new TextDecoder().decode(theirs)) as { ts: number }).ts
      const replayed = await refused(theirs, theirTs, 'ERR_SIGNER_MISMATCH')
      expect(replayed.peers.find(p => p.peer === holder.peerId)?.presence?.status, 'the holder, meanwhile').to.equal('valid')

      // none of it reached the agent: the relay forwards only valid announcements
      await sleep(1000)
      expect(holder.presence?.entries().map(e => e.from), 'publishers the agent heard').to.not.include(peerOf(key))
    })
    await stillServes()
  })
})
