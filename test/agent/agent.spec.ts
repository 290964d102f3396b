import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess, freePort } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent, Session, SESSION_PROTOCOL, RpcError } from '../../src/agent/index.js'
import { Agent, NODE } from '../../src/agent/agent.js'
import type { AgentOptions } from '../../src/agent/index.js'
import { loadIdentity } from '../../src/identity/index.js'
import { signEnvelope, signSealedEnvelope, ReplayGuard } from '../../src/envelope/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import { createHandleRecord } from '../../src/handles/record.js'
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js'
import { readFrames, writeFrame } from '../../src/session/frames.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'

const BITS = 8

function nextEvent<T> (target: EventTarget, type: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ${type} event`)) }, timeoutMs)
    target.addEventListener(type, (e) => { clearTimeout(timer); resolve((e as CustomEvent<T>).detail) }, { once: true })
  })
}

describe('agents on a relay: handles, sessions, kinds', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  let relayAddrs: { tcp: string, ws: string }
  const agents: Agent[] = []
  let plumber: Agent
  let alice: Agent
  let anon: Agent

  async function agent (options: Partial<AgentOptions>): Promise<Agent> {
    const a = await createAgent({ relays: [relayAddrs.tcp], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC, ...options })
    agents.push(a)
    await a.start()
    return a
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-agents-'))
    const [tcp, ws] = [await freePort(), await freePort()]
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), listen: [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/tcp/${ws}/ws`] })
    relayAddrs = { tcp: relay.tcp.toString(), ws: relay.ws.toString() }
    plumber = await agent({ handle: 'rapidplumb' })
    alice = await agent({ handle: 'alice', kind: 'human', relays: [relayAddrs.ws] })
    anon = await agent({})
    plumber.handle('quote', (params) => ({ job: (params as { job?: string })?.job ?? null, price: 180, currency: 'GBP' }))
    plumber.handle('whoami', (_params, ctx) => ctx.caller as unknown as JsonValue)
    alice.handle('whoami', (_params, ctx) => ctx.caller as unknown as JsonValue)
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.stop()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('resolve each other by handle, with verified records', async () => {
    const record = await alice.resolve('@rapidplumb')
    expect(record.peer).to.equal(plumber.peerId)
    expect(record.kind).to.equal('agent')
    expect(record.relays).to.deep.equal([relayAddrs.tcp])
    expect((await plumber.resolve('alice')).kind).to.equal('human')
    expect((await anon.resolve('@alice')).peer).to.equal(alice.peerId)
  })

  it('an unknown handle is a typed error', async () => {
    try {
      await alice.resolve('@nobody-here')
      expect.fail('resolved a handle nobody holds')
    } catch (err) {
      expect(err).to.have.property('name', 'HandleRecordError')
      expect(err).to.have.property('code', 'ERR_NOT_FOUND')
    }
  })

  it('stamps callers from what was verified: agent, human, anon', async () => {
    const fromAlice = await alice.connect('@rapidplumb')
    expect(fromAlice.remote).to.deep.equal({ peer: plumber.peerId, handle: 'rapidplumb', kind: 'agent' })
    expect(await fromAlice.request('whoami')).to.deep.equal({ peer: alice.peerId, handle: 'alice', kind: 'human' })

    const fromAnon = await anon.connect('@rapidplumb')
    expect(await fromAnon.request('whoami')).to.deep.equal({ peer: anon.peerId, kind: 'anon' })

    const fromPlumber = await plumber.connect('@alice')
    expect(await fromPlumber.request('whoami')).to.deep.equal({ peer: plumber.peerId, handle: 'rapidplumb', kind: 'agent' })
  })

  it('runs a 9-turn exchange in both directions on one session that moves from the relay to WebRTC', async () => {
    // two agents that have never met, so the session starts on the relay
    const buyer = await agent({ handle: 'buyer-nine' })
    const seller = await agent({ handle: 'seller-nine', relays: [relayAddrs.ws] })
    seller.handle('quote', (params) => ({ job: (params as { job?: string })?.job ?? null, price: 180, currency: 'GBP' }))
    buyer.handle('whoami', (_params, ctx) => ctx.caller as unknown as JsonValue)
    let serverUpgraded: Promise<unknown> = Promise.reject(new Error('no incoming session'))
    serverUpgraded.catch(() => {})
    const incoming = new Promise<Session>(resolve => {
      seller.addEventListener('session', (e) => {
        serverUpgraded = nextEvent(e.detail, 'upgrade', 30_000)
        resolve(e.detail)
      }, { once: true })
    })
    const session = await buyer.connect('@seller-nine')
    const clientUpgraded = nextEvent(session, 'upgrade', 30_000)
    const back = await incoming
    const turn = async (i: number): Promise<JsonValue> => i % 2 === 0 ? session.request('quote', { job: `turn ${i}` }) : back.request('whoami')
    const turns: JsonValue[] = []
    // the first turns run over the relayed circuit while the WebRTC connection is dialled
    for (let i = 0; i < 3; i++) turns.push(await turn(i))
    await clientUpgraded
    await serverUpgraded
    for (let i = 3; i < 9; i++) turns.push(await turn(i))
    expect(turns).to.have.length(9)
    expect(turns[0]).to.deep.equal({ job: 'turn 0', price: 180, currency: 'GBP' })
    expect(turns[8]).to.deep.equal({ job: 'turn 8', price: 180, currency: 'GBP' })
    expect(turns[1]).to.deep.equal({ peer: seller.peerId, handle: 'seller-nine', kind: 'agent' })
    const direct = buyer.libp2p.getConnections().filter(c => c.remotePeer.toString() === seller.peerId && c.status === 'open' && c.limits === undefined)
    expect(direct.map(c => c.remoteAddr.toString()).join(), 'a direct WebRTC connection').to.include('/webrtc')
    expect(session.closed).to.equal(false)
    // the relayed connection is closed once the session has left it: it no longer counts against the relay's caps
    const relayed = (): number => buyer.libp2p.getConnections().filter(c => c.remotePeer.toString() === seller.peerId && c.status === 'open' && c.limits !== undefined).length
    for (let i = 0; i < 100 && relayed() > 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
    expect(relayed(), 'relayed connections left between the two agents').to.equal(0)
    // the relay sees the circuit end once both its hop streams have closed: a moment later
    const circuits = async (): Promise<number> => (await (await fetch(`${relay.httpUrl}/healthz`)).json() as { circuits: number }).circuits
    for (let i = 0; i < 300 && await circuits() > 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
    expect(await circuits(), 'circuits the relay still carries').to.equal(0)
    expect(await session.request('quote', { job: 'after the circuit closed' })).to.deep.equal({ job: 'after the circuit closed', price: 180, currency: 'GBP' })
  })

  it('JSON-RPC errors travel as errors', async () => {
    const session = await alice.connect('@rapidplumb')
    try {
      await session.request('no/such/method')
      expect.fail('a missing method answered')
    } catch (err) {
      expect(err).to.be.instanceOf(RpcError)
      expect(err).to.have.property('code', -32601)
    }
  })

  it('does not believe a forged handle claim', async () => {
    // mallory holds a valid record of her own for "alice", signed by her key, and claims it in her hello
    const mallory = await agent({})
    const forged = await createHandleRecord(mallory.identity, { handle: 'alice', seq: Date.now(), powBits: BITS })
    const relayAddr = (await mallory.resolve('@rapidplumb')).relays[0] ?? ''
    const connection = await mallory.libp2p.dial(multiaddr(`${relayAddr}/p2p-circuit/p2p/${plumber.peerId}`))
    // the plumber's DHT lookups, counted: a refuted claim sends it to the DHT once, not once per session
    const dht = plumber.libp2p.services.dht
    const get = dht.get.bind(dht)
    let lookups = 0
    dht.get = (...args) => { lookups++; return get(...args) }
    try {
      for (let i = 0; i < 3; i++) {
        const stream = await connection.newStream(SESSION_PROTOCOL, { runOnLimitedConnection: true })
        const session = new Session({
          signer: mallory.identity,
          handle: 'alice',
          record: () => JSON.parse(fromUtf8(forged.bytes)) as JsonValue,
          handlers: new Map(),
          replayGuard: new ReplayGuard(),
          verifyHello: async (peer) => ({ peer, kind: 'anon' })
        }, stream, plumber.peerId, 'outbound')
        await session.ready
        expect(await session.request('whoami')).to.deep.equal({ peer: mallory.peerId, kind: 'anon' })
        await session.close()
      }
    } finally {
      dht.get = get
    }
    expect(lookups).to.be.at.most(2) // the first claim: a lookup if @alice was not cached, and the recheck
  })

  it('closes a session whose hello names no well-formed session id, before announcing it', async () => {
    const mallory = await agent({})
    const relayAddr = (await mallory.resolve('@rapidplumb')).relays[0] ?? ''
    const connection = await mallory.libp2p.dial(multiaddr(`${relayAddr}/p2p-circuit/p2p/${plumber.peerId}`))
    let announced = 0
    const count = (): void => { announced++ }
    plumber.addEventListener('session', count)
    try {
      for (const session of ['bad id ✓', 'x'.repeat(65), undefined]) {
        const stream = await connection.newStream(SESSION_PROTOCOL, { runOnLimitedConnection: true })
        const { bytes } = await signEnvelope(mallory.identity, { to: { peer: plumber.peerId }, body: { jsonrpc: '2.0', method: 'session/hello', params: session === undefined ? {} : { session } } })
        await writeFrame(stream, bytes)
        // the plumber answers with no hello of its own: the stream ends
        const frames: unknown[] = []
        try {
          for await (const frame of readFrames(stream, 65536, 65536)) frames.push(frame)
        } catch {
          // reset by the plumber: as good as closed
        }
        expect(frames, JSON.stringify(session)).to.deep.equal([])
      }
      expect(announced).to.equal(0)
      // the connection and the plumber are fine: a proper session still opens
      const stream = await connection.newStream(SESSION_PROTOCOL, { runOnLimitedConnection: true })
      const good = new Session({ signer: mallory.identity, handle: undefined, record: () => undefined, handlers: new Map(), replayGuard: new ReplayGuard(), verifyHello: async (peer) => ({ peer, kind: 'anon' }) }, stream, plumber.peerId, 'outbound')
      await good.ready
      expect(await good.request('whoami')).to.deep.equal({ peer: mallory.peerId, kind: 'anon' })
      await good.close()
    } finally {
      plumber.removeEventListener('session', count)
    }
  })

  it('rejects a tampered, replayed or stale envelope with its code, and the session keeps working', async () => {
    const incoming = nextEvent<Session>(plumber, 'session')
    const session = await alice.connect('@rapidplumb')
    const server = await incoming
    const rejected: string[] = []
    server.addEventListener('rejected', (e) => { rejected.push(e.detail) })
    const to = { peer: plumber.peerId, handle: 'rapidplumb' }

    const { bytes: tampered } = await signEnvelope(alice.identity, { handle: 'alice', to, body: { jsonrpc: '2.0', method: 'message', params: { text: 'deposit £18' } } })
    await session.sendRaw(utf8(fromUtf8(tampered).replace('£18', '£80')))

    const { bytes: once } = await signEnvelope(alice.identity, { handle: 'alice', to, body: { jsonrpc: '2.0', method: 'message', params: { text: 'hello' } } })
    await session.sendRaw(once)
    await session.sendRaw(once)

    const { bytes: stale } = await signEnvelope(alice.identity, { handle: 'alice', to, ts: Date.now() - 10 * 60_000, body: { jsonrpc: '2.0', method: 'message', params: { text: 'old' } } })
    await session.sendRaw(stale)

    await session.sendRaw(utf8('{"not":"an envelope"}'))
    await session.sendRaw(new Uint8Array(256 * 1024 + 1).fill(0x20)) // one byte over the default limit: skipped unread
    // signed by alice and addressed to the plumber, but sealed to alice's own key: it verifies and cannot be opened
    const { bytes: misSealed } = await signSealedEnvelope(alice.identity, { handle: 'alice', to, body: { jsonrpc: '2.0', method: 'message', params: { text: 'for someone else' } }, recipientKey: alice.identity.x25519PublicKey })
    await session.sendRaw(misSealed)

    expect(await session.request('quote', { job: 'after the noise' })).to.deep.equal({ job: 'after the noise', price: 180, currency: 'GBP' })
    const refusals = ['ERR_BAD_SIGNATURE', 'ERR_REPLAYED', 'ERR_STALE', 'ERR_MALFORMED_ENVELOPE', 'ERR_OVERSIZE', 'ERR_UNSEALABLE']
    expect(rejected).to.deep.equal(refusals)
    // each refused frame is in the plumber's event log, with its code (the oversize one by its length, the sealed one as the signed envelope it is)
    const log = await plumber.exportLog()
    const frames = log.entries.filter(e => e.type === 'frame.in' && e.data.session === server.id).map(e => e.data)
    expect(frames.map(d => d.verified)).to.deep.equal(refusals)
    expect(frames[4]).to.include({ bytes: '', size: 256 * 1024 + 1 })
    expect(frames[5]?.envelope).to.deep.equal(JSON.parse(fromUtf8(misSealed)))
  })

  it('keeps an idle session alive with session/ping', async () => {
    const quiet = await agent({ handle: 'quiet-one', keepAliveMs: 150 })
    const listener = await agent({ handle: 'listener-one', keepAliveMs: 150 })
    const incoming = nextEvent<Session>(listener, 'session')
    const session = await quiet.connect('@listener-one')
    const back = await incoming
    const pings: string[] = []
    back.addEventListener('request', (e) => { pings.push(e.detail.method) })
    session.addEventListener('request', (e) => { pings.push(e.detail.method) })
    await new Promise(resolve => setTimeout(resolve, 1000))
    expect(pings.filter(m => m === 'session/ping').length).to.be.at.least(2)
    expect(await session.request('ping')).to.equal('pong')
  })

  it('refuses to register a handle another key holds', async () => {
    const squatter = await createAgent({ handle: 'rapidplumb', relays: [relayAddrs.tcp], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC })
    agents.push(squatter)
    try {
      await squatter.start()
      expect.fail('a squatter registered a held handle')
    } catch (err) {
      expect(err).to.have.property('name', 'HandleRecordError')
      expect(err).to.have.property('code', 'ERR_HANDLE_TAKEN')
    }
    expect((await alice.resolve('@rapidplumb', { fresh: true })).peer).to.equal(plumber.peerId)
  })

  it('rotates a key: callers follow the successor record, the old key cannot take the handle back', async () => {
    const keeper = await agent({ handle: 'keeper', dataDir: join(dir, 'keeper') })
    keeper.handle('whoami', (_params, ctx) => ctx.caller as unknown as JsonValue)
    const first = await alice.connect('@keeper')
    expect(first.remote).to.include({ handle: 'keeper', kind: 'agent' })
    const old = keeper.identity
    const closed = nextEvent(first, 'close')

    const record = await keeper.rotateKey()
    await closed
    expect(keeper.peerId).to.not.equal(old.peerIdString)
    expect(record).to.include({ handle: 'keeper', peer: keeper.peerId })
    expect(record.rotation?.prev).to.equal(old.peerIdString)
    expect((await loadIdentity(join(dir, 'keeper'))).peerIdString, 'the new key is on disk').to.equal(keeper.peerId)

    // alice still caches the old record: connect follows the successor
    const second = await alice.connect('@keeper')
    expect(second.remote).to.deep.equal({ peer: keeper.peerId, handle: 'keeper', kind: 'agent' })
    expect(await second.request('whoami')).to.deep.equal({ peer: alice.peerId, handle: 'alice', kind: 'human' })
    expect((await plumber.resolve('@keeper')).peer).to.equal(keeper.peerId)

    const usurper = new Agent(old, { handle: 'keeper', relays: [relayAddrs.tcp], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC }, NODE)
    agents.push(usurper)
    try {
      await usurper.start()
      expect.fail('the old key took the handle back')
    } catch (err) {
      expect(err).to.have.property('code', 'ERR_HANDLE_TAKEN')
    }
    expect((await alice.resolve('@keeper', { fresh: true })).peer).to.equal(keeper.peerId)
  })

  it('after a relay restart the agents re-reserve, republish and can be called again', async () => {
    const before = plumber.record?.seq ?? 0
    const listen = relay.multiaddrs.map(m => m.toString().replace(/\/p2p\/.*$/, ''))
    await relay.stop('SIGKILL')
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), listen })
    expect(relay.tcp.toString()).to.equal(relayAddrs.tcp)
    const deadline = Date.now() + 30_000
    while ((plumber.record?.seq ?? 0) <= before && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
    expect(plumber.record?.seq ?? 0, 'plumber republished').to.be.greaterThan(before)
    const session = await alice.connect('@rapidplumb')
    expect(await session.request('quote', { job: 'after restart' })).to.deep.equal({ job: 'after restart', price: 180, currency: 'GBP' })
  })
})
