/**
 * A peer that pipelines signed requests faster than its share is read more
 * slowly (protocols/session §6.1, `maxFramesPerSecond`): its frames are
 * verified at its rate across all its sessions, and other peers are served
 * meanwhile. Once against an agent in the test's own process, once against
 * one in a process of its own (./victim.ts), from the attacker's own codec
 * (./attacker.ts), with the victim's RSS held below 1.5 times its idle
 * figure.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import { checkAgentOptions } from '../../src/agent/options.js'
import type { Agent } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { TokenBuckets } from '../../src/util/token-bucket.js'
import { BITS, RawSession, SESSION, createAttacker, underFlood, useAgentTarget } from './helpers.js'
import { envelope, speak } from './attacker.js'

describe('token buckets (src/util/token-bucket)', () => {
  it('refuse past the burst, earn back at the rate, and say how long to wait when borrowing', () => {
    const b = new TokenBuckets<string>({ rate: 10, burst: 3 })
    for (let i = 0; i < 3; i++) { expect(b.allows('a', 0)).to.equal(true); b.spend('a', 0) }
    expect(b.allows('a', 0)).to.equal(false)
    expect(b.allows('b', 0), 'another key has its own bucket').to.equal(true)
    expect(b.allows('a', 100), 'one token back after 100 ms at 10/s').to.equal(true)
    const w = new TokenBuckets<string>({ rate: 10, burst: 1 })
    expect(w.wait('x', 0)).to.equal(0)
    expect(w.wait('x', 0)).to.equal(100)
    expect(w.wait('x', 0), 'each borrowed token waits its turn').to.equal(200)
  })
})

describe('a peer pipelining past its frame rate', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let victim: Agent
  let client: Agent
  let attacker: Libp2p
  let key: PrivateKey

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adv-rate-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    // strangers and known contacts 50 a second, trusted ones 1000
    victim = await createAgent({ handle: 'rate-victim', relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, maxFramesPerSecond: [50, 50, 1000] })
    await victim.start()
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    attacker = await createAttacker(key)
    await attacker.start()
  })

  after(async () => {
    await attacker?.stop()
    await client?.close()
    await victim?.close()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('is answered at its rate (50/s after a burst of 100), while another peer is served at once', async () => {
    const signer = { peerIdString: peerIdFromPrivateKey(key).toString(), sign: async (data: Uint8Array) => key.sign(data) }
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const raw = new RawSession(await connection.newStream(SESSION, { runOnLimitedConnection: true }))
    raw.send((await signEnvelope(signer, { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', method: 'session/hello', params: { session: 'rate-attacker' } } })).bytes)
    await raw.frame(0)
    const frames: Uint8Array[] = []
    for (let i = 0; i < 400; i++) frames.push((await signEnvelope(signer, { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', id: i, method: 'ping' } })).bytes)
    const t0 = Date.now()
    for (const f of frames) raw.send(f)
    const session = await client.connect('@rate-victim')
    const p0 = Date.now()
    expect(await session.request('ping')).to.equal('pong')
    const pingMs = Date.now() - p0
    await new Promise(resolve => setTimeout(resolve, 2000))
    const answered = raw.frames.length - 1
    const elapsed = (Date.now() - t0) / 1000
    expect(pingMs, 'another peer\'s ping during the flood (ms)').to.be.below(1000)
    // a burst of 100, then 50 a second (the hello took one token); a little slack for timers
    expect(answered, `answered in ${elapsed.toFixed(1)} s`).to.be.at.most(100 + Math.ceil(50 * elapsed) + 5)
    expect(answered).to.be.at.least(100)
    await session.close()
  })

  it('holds a trusted contact to its own, higher rate: 400 pipelined pings answered at once', async () => {
    await victim.setTrust(attacker.peerId.toString(), 2)
    const signer = { peerIdString: peerIdFromPrivateKey(key).toString(), sign: async (data: Uint8Array) => key.sign(data) }
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const raw = new RawSession(await connection.newStream(SESSION, { runOnLimitedConnection: true }))
    raw.send((await signEnvelope(signer, { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', method: 'session/hello', params: { session: 'rate-contact' } } })).bytes)
    await raw.frame(0)
    const frames: Uint8Array[] = []
    for (let i = 0; i < 400; i++) frames.push((await signEnvelope(signer, { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', id: i, method: 'ping' } })).bytes)
    const t0 = Date.now()
    for (const f of frames) raw.send(f)
    await raw.frame(400, 10_000)
    // at a stranger's 50 a second after its burst of 100 this would take 6 s
    expect(Date.now() - t0, 'ms until all 400 were answered').to.be.below(4000)
  })

  it('checks the rate given: one number, or three by trust level', () => {
    const relays = [relay.tcp.toString()]
    expect(() => checkAgentOptions({ relays, maxFramesPerSecond: [10, 20, 30] })).not.to.throw()
    for (const bad of [-1, [1, 2], [1, 2, -3], 'fast']) {
      expect(() => checkAgentOptions({ relays, maxFramesPerSecond: bad as never }), JSON.stringify(bad)).to.throw(/maxFramesPerSecond must be/).with.property('code', 'ERR_INVALID_OPTIONS')
    }
  })
})

describe('a peer pipelining past its frame rate, against an agent process', function () {
  this.timeout(60_000)
  const target = useAgentTarget('rate-proc', { victim: { maxFramesPerSecond: 50 } })

  it('is answered at its rate, another peer at once, and the victim\'s RSS stays below 1.5× idle', async () => {
    const s = await speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
    const frames: Uint8Array[] = []
    for (let i = 0; i < 400; i++) frames.push((await envelope(target.key, { to: { peer: target.victim.peer }, body: { jsonrpc: '2.0', id: i, method: 'ping' } })).bytes)
    let pingMs = 0
    let elapsed = 0
    await underFlood('400 pipelined signed requests at 50 frames/s', target.victim.child.pid ?? 0, target.idle, async () => {
      const t0 = Date.now()
      for (const f of frames) s.raw.send(f)
      const session = await target.client.connect(`@${target.handle}`)
      const p0 = Date.now()
      expect(await session.request('ping')).to.equal('pong')
      pingMs = Date.now() - p0
      await session.close()
      await new Promise(resolve => setTimeout(resolve, 2000))
      elapsed = (Date.now() - t0) / 1000
    })
    const answered = s.raw.frames.length - 1
    expect(pingMs, 'another peer\'s ping during the flood (ms)').to.be.below(1000)
    expect(answered, `answered in ${elapsed.toFixed(1)} s`).to.be.at.most(100 + Math.ceil(50 * elapsed) + 5)
    expect(answered).to.be.at.least(100)
    expect(target.victim.alive()).to.equal(true)
    s.close()
  })
})
