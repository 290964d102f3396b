/**
 * Replays beyond one session: an envelope a `parley agent` process accepted
 * is refused as `ERR_REPLAYED` when the same peer sends it again on another
 * session, and again after the process was killed (`SIGKILL`) and started
 * on the same data directory: the replay guard is one per node and kept in
 * a journal in its data dir, `<dataDir>/replay/` (protocols/envelope §6.1,
 * protocols/session §3). The attacker
 * is the signer itself (a stock js-libp2p node with its own framing,
 * test/adversarial/helpers.ts): it holds the key, so only the guard stands
 * between a re-sent envelope and its effect happening twice.
 */
import { expect } from 'chai'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { BITS, RawSession, SESSION, createAttacker, startAgentProcess } from './helpers.js'
import type { AgentProcess } from './helpers.js'

type Answer = { id?: unknown, result?: unknown, error?: { code: number, data?: { code?: string } } }

describe('replays across sessions and restarts, against a parley agent process', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  let client: Agent
  let key: PrivateKey
  let attacker: Libp2p
  let victim: AgentProcess | undefined
  const handle = `replay-victim-${Math.random().toString(36).slice(2, 8)}`
  /** Envelopes the victim accepted (and answered), kept to be sent again. */
  const accepted: Uint8Array[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adv-replay-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    attacker = await createAttacker(key)
    await attacker.start()
    victim = await startAgentProcess(relay, handle, join(dir, 'victim'))
  })

  after(async () => {
    await victim?.stop()
    await attacker?.stop()
    await client?.close()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  const signer = (): { peerIdString: string, sign: (data: Uint8Array) => Promise<Uint8Array> } => ({
    peerIdString: peerIdFromPrivateKey(key).toString(),
    sign: async (data: Uint8Array) => key.sign(data)
  })

  function target (): AgentProcess {
    if (victim === undefined) throw new Error('no victim running')
    return victim
  }

  async function open (): Promise<RawSession> {
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${target().peer}`), { signal: AbortSignal.timeout(10_000) })
    const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    return new RawSession(stream)
  }

  /** A session with a valid hello, as the attacker; returns it and the hello's bytes. */
  async function session (): Promise<{ raw: RawSession, hello: Uint8Array }> {
    const raw = await open()
    const { bytes } = await signEnvelope(signer(), {
      to: { peer: target().peer },
      body: { jsonrpc: '2.0', method: 'session/hello', params: { session: 'adversary-' + Math.random().toString(36).slice(2, 10) } }
    })
    raw.send(bytes)
    expect(((await raw.frame(0)).body as { method?: string }).method).to.equal('session/hello')
    return { raw, hello: bytes }
  }

  async function answer (raw: RawSession, index: number): Promise<Answer> {
    return (await raw.frame(index)).body as Answer
  }

  /** Signs a fresh `ping` request with the attacker's key. */
  async function ping (id: number): Promise<Uint8Array> {
    return (await signEnvelope(signer(), { to: { peer: target().peer }, body: { jsonrpc: '2.0', id, method: 'ping' } })).bytes
  }

  it('(a) an envelope accepted on one session, replayed on a second session of the same peer: ERR_REPLAYED', async () => {
    const first = await session()
    const bytes = await ping(1)
    first.raw.send(bytes)
    expect((await answer(first.raw, 1)).result).to.equal('pong')
    accepted.push(bytes)
    // the first session is still open: the second runs beside it
    const second = await session()
    second.raw.send(bytes)
    const replayed = await answer(second.raw, 1)
    expect(replayed.id).to.equal(1)
    expect(replayed.error?.code).to.equal(-32001)
    expect(replayed.error?.data?.code).to.equal('ERR_REPLAYED')
    const fresh = await ping(2)
    second.raw.send(fresh)
    expect((await answer(second.raw, 2)).result, 'the second session goes on').to.equal('pong')
    accepted.push(fresh)
    // the first session's hello, as the first frame of a new stream: refused, and that stream is reset unanswered
    const third = await open()
    third.send(first.hello)
    await third.ended
    expect(third.frames, 'frames the victim sent on a stream opened by a replayed hello').to.deep.equal([])
    expect(first.raw.isEnded, 'the first session is untouched').to.equal(false)
    first.raw.send(await ping(3))
    expect((await answer(first.raw, 2)).result).to.equal('pong')
  })

  it('(b) after SIGKILL and a restart on the same data dir: the replays are ERR_REPLAYED, a fresh envelope is accepted, a legitimate ping answered', async () => {
    const { raw } = await session()
    const bytes = await ping(7)
    raw.send(bytes)
    expect((await answer(raw, 1)).result).to.equal('pong')
    accepted.push(bytes)
    // killed right after it answered: no shutdown, nothing flushed on the way out
    const killed = target()
    await killed.stop()
    expect(killed.child.signalCode).to.equal('SIGKILL')
    victim = undefined
    // what the killed process left: its journal, one line per key accepted, written before it answered
    const journal = join(killed.dataDir, 'replay')
    const lines = (await Promise.all((await readdir(journal)).map(async n => readFile(join(journal, n), 'utf8')))).join('')
    expect(lines.match(new RegExp(` ${peerIdFromPrivateKey(key).toString()}/`, 'g'))?.length, 'keys of the attacker\'s envelopes in the journal (hellos and pings)').to.be.at.least(accepted.length)
    await attacker.hangUp(peerIdFromString(killed.peer)).catch(() => {})
    victim = await startAgentProcess(relay, handle, killed.dataDir)
    expect(victim.peer, 'the same key, from the data dir').to.equal(killed.peer)
    const again = await session()
    let index = 1
    for (const replay of accepted) {
      again.raw.send(replay)
      const refused = await answer(again.raw, index++)
      expect(refused.error?.code).to.equal(-32001)
      expect(refused.error?.data?.code, 'a replay after the restart').to.equal('ERR_REPLAYED')
    }
    again.raw.send(await ping(8))
    expect((await answer(again.raw, index)).result, 'a fresh envelope from the same peer').to.equal('pong')
    const s = await client.connect(`@${handle}`)
    try {
      expect(await s.request('ping')).to.equal('pong')
    } finally {
      await s.close()
    }
    expect(victim.alive()).to.equal(true)
    expect(victim.stderr().split('\n').filter(l => /parley:\S*:error/.test(l)), 'errors logged by the agent').to.deep.equal([])
  })
})
