/**
 * Envelopes a hostile peer sends on a session it opened properly: replays
 * inside the window, envelopes dated outside it, envelopes signed by someone
 * other than the authenticated peer, and more session streams than a peer
 * may hold. Each is refused with its typed code (protocols/envelope,
 * protocols/session §4), the session goes on, and a legitimate client is
 * still served. The attacker is a stock js-libp2p node with its own framing
 * (test/adversarial/helpers.ts); its envelopes are signed with Parley's
 * `signEnvelope`, since a valid signature is the point of these cases.
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
import type { Agent } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { BITS, RawSession, SESSION, createAttacker } from './helpers.js'

describe('hostile envelopes on a session', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let victim: Agent
  let client: Agent
  let attacker: Libp2p
  let key: PrivateKey
  let other: PrivateKey

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adv-envelopes-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    victim = await createAgent({ handle: 'envelope-victim', relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await victim.start()
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    other = await generateKeyPair('Ed25519')
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

  const signerOf = (k: PrivateKey): { peerIdString: string, sign: (data: Uint8Array) => Promise<Uint8Array> } => ({
    peerIdString: peerIdFromPrivateKey(k).toString(),
    sign: async (data: Uint8Array) => k.sign(data)
  })

  async function open (): Promise<RawSession> {
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    return new RawSession(stream)
  }

  /** A session with a valid hello, as the attacker (no handle: it is `anon`). */
  async function session (): Promise<RawSession> {
    const raw = await open()
    const { bytes } = await signEnvelope(signerOf(key), {
      to: { peer: victim.peerId },
      body: { jsonrpc: '2.0', method: 'session/hello', params: { session: 'adversary-' + Math.random().toString(36).slice(2, 10) } }
    })
    raw.send(bytes)
    expect(((await raw.frame(0)).body as { method?: string }).method).to.equal('session/hello')
    return raw
  }

  /** The body of the `index`th frame the victim sent on `raw` (0 is its hello). */
  async function answer (raw: RawSession, index: number): Promise<{ id?: unknown, result?: unknown, error?: { code: number, data?: { code?: string } } }> {
    return (await raw.frame(index)).body as { id?: unknown, result?: unknown, error?: { code: number, data?: { code?: string } } }
  }

  async function stillServes (): Promise<void> {
    const s = await client.connect('@envelope-victim')
    try {
      expect(await s.request('ping')).to.equal('pong')
    } finally {
      await s.close()
    }
  }

  it('a replay inside the window: ERR_REPLAYED, and the session goes on', async () => {
    const raw = await session()
    const { bytes } = await signEnvelope(signerOf(key), { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', id: 1, method: 'ping' } })
    raw.send(bytes)
    expect((await answer(raw, 1)).result).to.equal('pong')
    raw.send(bytes)
    const replayed = await answer(raw, 2)
    expect(replayed.error?.code).to.equal(-32001)
    expect(replayed.error?.data?.code).to.equal('ERR_REPLAYED')
    const { bytes: fresh } = await signEnvelope(signerOf(key), { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', id: 2, method: 'ping' } })
    raw.send(fresh)
    expect((await answer(raw, 3)).result, 'the session goes on').to.equal('pong')
    await stillServes()
  })

  it('an envelope dated outside the window, old or ahead: ERR_STALE, ERR_FUTURE', async () => {
    const raw = await session()
    const { bytes: old } = await signEnvelope(signerOf(key), { to: { peer: victim.peerId }, ts: Date.now() - 60 * 60_000, body: { jsonrpc: '2.0', id: 1, method: 'ping' } })
    raw.send(old)
    expect((await answer(raw, 1)).error?.data?.code).to.equal('ERR_STALE')
    const { bytes: ahead } = await signEnvelope(signerOf(key), { to: { peer: victim.peerId }, ts: Date.now() + 60 * 60_000, body: { jsonrpc: '2.0', id: 2, method: 'ping' } })
    raw.send(ahead)
    expect((await answer(raw, 2)).error?.data?.code).to.equal('ERR_FUTURE')
    await stillServes()
  })

  it('an envelope signed by someone other than the authenticated peer: ERR_SIGNER_MISMATCH', async () => {
    const raw = await session()
    const { bytes } = await signEnvelope(signerOf(other), { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', id: 7, method: 'ping' } })
    raw.send(bytes)
    const refused = await answer(raw, 1)
    expect(refused.id).to.equal(7)
    expect(refused.error?.data?.code).to.equal('ERR_SIGNER_MISMATCH')
    await stillServes()
  })

  it('more session streams than a peer may hold (40 against a cap of 8): the rest are refused, others are still served', async () => {
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const opened = await Promise.allSettled(Array.from({ length: 40 }, async () => connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })))
    // a stream the victim refuses is reset: count those still open once the dust settles
    await new Promise(resolve => setTimeout(resolve, 1000))
    const open = opened.filter(o => o.status === 'fulfilled' && o.value.status === 'open').length
    expect(open, 'session streams the victim keeps from one peer').to.be.at.most(8)
    expect(open, 'the first ones are kept (the cap, not a broken connection)').to.be.greaterThan(0)
    await stillServes()
    for (const o of opened) if (o.status === 'fulfilled') o.value.abort(new Error('done'))
  })
})
