/**
 * Hostile session frames against a real `parley agent` process.
 *
 * The attacker is a stock js-libp2p node that shares no framing or encoding
 * code with Parley: it dials the agent through the relay, opens the session
 * protocol and writes raw frames with its own varint length prefix, as
 * protocols/session §1 describes them. (Its one valid hello is signed with
 * Parley's `signEnvelope`; every hostile frame is raw bytes.) The agent runs
 * in a child process so that a crash shows as the child exiting; after each
 * attack the child must still be running and answer a legitimate client's
 * `ping` with `pong`, and the refusal must be in its event log; the child's
 * RSS, from its idle figure (after one legitimate ping) to its peak during
 * the attack, must stay below 1.5 times the idle one.
 */
import { expect } from 'chai'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { BITS, RawSession, SESSION, createAttacker, rssOf, sampleRss, startAgentProcess, withinBound } from './helpers.js'
import type { AgentProcess } from './helpers.js'

/** Invalid UTF-8: two bytes that never occur in UTF-8, then a lead byte with no continuation. */
const INVALID_UTF8 = Uint8Array.of(0xff, 0xfe, 0xc3)

/** Valid UTF-8, not JSON, longer than 2048 bytes, with '€' (3 bytes) across byte offset 2048. */
function straddling (): Uint8Array {
  const bytes = new TextEncoder().encode('x'.repeat(2047) + '€' + 'y'.repeat(500))
  // the euro sign occupies bytes 2047, 2048 and 2049
  expect([bytes[2047], bytes[2048], bytes[2049]]).to.deep.equal([0xe2, 0x82, 0xac])
  return bytes
}

describe('adversarial session frames against a parley agent process', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let client: Agent
  let key: PrivateKey
  let attacker: Libp2p
  let target: AgentProcess | undefined
  let n = 0
  /** The current victim's idle RSS and the sampling of it since. */
  let memory: { idle: number, sampler: ReturnType<typeof sampleRss> } | undefined
  let title = ''

  beforeEach(function () { title = this.currentTest?.title.slice(0, 3) ?? '' })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adversarial-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    attacker = await createAttacker(key)
  })

  afterEach(async () => {
    memory?.sampler.stop()
    memory = undefined
    await target?.stop()
    target = undefined
  })

  after(async () => {
    await attacker?.stop()
    await client?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  /** Starts a fresh agent child for one attack, warms it up with a legitimate ping, and samples its RSS from then on. */
  async function victim (): Promise<{ agent: AgentProcess, handle: string }> {
    const handle = `victim-${++n}-${Math.random().toString(36).slice(2, 8)}`
    target = await startAgentProcess(relay, handle, join(dir, handle))
    const session = await client.connect(`@${handle}`)
    expect(await session.request('ping')).to.equal('pong')
    await session.close()
    const pid = target.child.pid ?? 0
    memory = { idle: rssOf(pid), sampler: sampleRss(pid) }
    return { agent: target, handle }
  }

  /** Opens a session stream to the agent through the relay, as a limited connection allows. */
  async function open (agent: AgentProcess): Promise<RawSession> {
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${agent.peer}`), { signal: AbortSignal.timeout(10_000) })
    const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    return new RawSession(stream)
  }

  /** Sends a valid hello (signed by the attacker's key) and waits for the agent's. */
  async function hello (session: RawSession, agent: AgentProcess): Promise<void> {
    const signer = { peerIdString: attacker.peerId.toString(), sign: async (data: Uint8Array) => key.sign(data) }
    const { bytes } = await signEnvelope(signer, {
      to: { peer: agent.peer },
      body: { jsonrpc: '2.0', method: 'session/hello', params: { session: 'adversary-' + Math.random().toString(36).slice(2, 10) } }
    })
    session.send(bytes)
    const answer = await session.frame(0)
    expect((answer.body as { method?: string }).method, 'the agent answers the hello with its own').to.equal('session/hello')
  }

  /** The agent survived: still running a while later, and a legitimate client still gets `pong`. */
  async function survives (agent: AgentProcess, handle: string): Promise<void> {
    // the crash took under 50 ms; give it ten times that
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(agent.alive(), `the agent process exited (code ${agent.child.exitCode}):\n${agent.stderr().slice(-3000)}`).to.equal(true)
    const session = await client.connect(`@${handle}`)
    try {
      expect(await session.request('ping')).to.equal('pong')
    } finally {
      await session.close()
    }
    expect(agent.alive(), 'the agent process is still running after the ping').to.equal(true)
    // handled where it belongs: no guard had to catch a throw, no log entry was refused
    expect(agent.stderr().split('\n').filter(l => /parley:\S*:error/.test(l)), 'errors logged by the agent').to.deep.equal([])
    if (memory !== undefined) withinBound(`frames ${title}`, memory.idle, memory.sampler.stop())
  }

  /** The agent's event log entries, through its control API. */
  async function logEntries (agent: AgentProcess): Promise<Array<{ type: string, data: Record<string, unknown> }>> {
    const control = JSON.parse(await readFile(join(agent.dataDir, 'control.json'), 'utf8')) as { url: string, token: string }
    const res = await fetch(`${control.url}/api/log?limit=200`, { headers: { authorization: `Bearer ${control.token}` } })
    expect(res.status).to.equal(200)
    return await res.json() as Array<{ type: string, data: Record<string, unknown> }>
  }

  /** Waits until the event log holds `count` refused frames (`frame.in`) with `code`. */
  async function refusedInLog (agent: AgentProcess, code: string, count = 1): Promise<Array<Record<string, unknown>>> {
    const deadline = Date.now() + 5000
    while (true) {
      const refused = (await logEntries(agent)).filter(e => e.type === 'frame.in' && e.data.verified === code).map(e => e.data)
      if (refused.length >= count || Date.now() > deadline) {
        expect(refused, `frame.in entries with ${code}`).to.have.length.of.at.least(count)
        return refused
      }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  it('(a) survives a first frame of invalid UTF-8, and logs it as refused', async () => {
    const { agent, handle } = await victim()
    const session = await open(agent)
    session.send(INVALID_UTF8)
    await survives(agent, handle)
    const [refused] = await refusedInLog(agent, 'ERR_MALFORMED_JSON')
    expect(refused).to.include({ peer: attacker.peerId.toString(), session: null })
    expect(refused?.bytes, 'the frame, decoded leniently').to.equal('\uFFFD\uFFFD\uFFFD')
    // the agent's debug log (DEBUG=parley:*) names the refusal: so its silence on errors above means something
    expect(agent.stderr()).to.match(/parley:session refused a frame from \S+: ERR_MALFORMED_JSON/)
  })

  it('(b) survives a valid hello followed by a frame of invalid UTF-8, and the session goes on', async () => {
    const { agent, handle } = await victim()
    const session = await open(agent)
    await hello(session, agent)
    session.send(INVALID_UTF8)
    await survives(agent, handle)
    await refusedInLog(agent, 'ERR_MALFORMED_JSON')
    expect(session.stream.status, 'a refused frame costs the session nothing but the frame').to.equal('open')
  })

  it('(c) survives valid UTF-8 that is not JSON with a character across byte 2048, as the first frame and after a hello, and the dashboard shows it', async () => {
    const { agent, handle } = await victim()
    const first = await open(agent)
    first.send(straddling())
    const session = await open(agent)
    await hello(session, agent)
    session.send(straddling())
    await survives(agent, handle)
    await refusedInLog(agent, 'ERR_MALFORMED_JSON', 2)
    // the dashboard's view of the session holds the refused frame, its text cut at 2048 bytes
    const control = JSON.parse(await readFile(join(agent.dataDir, 'control.json'), 'utf8')) as { url: string, token: string }
    const res = await fetch(`${control.url}/api/state`, { headers: { authorization: `Bearer ${control.token}` } })
    expect(res.status).to.equal(200)
    const state = await res.json() as { sessions: Array<{ remote: { peer: string }, messages: Array<{ verified: unknown, envelope: { frame?: string } }> }> }
    const shown = state.sessions.filter(s => s.remote.peer === attacker.peerId.toString()).flatMap(s => s.messages).find(m => m.verified === 'ERR_MALFORMED_JSON')
    expect(shown?.envelope.frame).to.be.a('string')
    expect(shown?.envelope.frame?.startsWith('x'.repeat(2047))).to.equal(true)
    expect(new TextEncoder().encode(shown?.envelope.frame).byteLength).to.be.at.most(2048)
    expect(agent.alive()).to.equal(true)
  })

  it('(d) records a large refused frame of control characters (which JSON escapes sixfold) in the event log, cut, with its size', async () => {
    const { agent, handle } = await victim()
    const session = await open(agent)
    await hello(session, agent)
    // 200 KiB of U+0001: valid UTF-8, not JSON, under the envelope limit; as JSON text each byte takes 6 (\u0001)
    session.send(new Uint8Array(200 * 1024).fill(0x01))
    await survives(agent, handle)
    const [refused] = await refusedInLog(agent, 'ERR_MALFORMED_JSON')
    expect(refused).to.include({ size: 200 * 1024 })
    expect(refused?.bytes).to.be.a('string').with.length.above(0).and.length.at.most(200 * 1024)
  })

  it('(e) survives a refused frame of deeply nested JSON while a dashboard page watches, and the dashboard still answers', async () => {
    const { agent, handle } = await victim()
    const control = JSON.parse(await readFile(join(agent.dataDir, 'control.json'), 'utf8')) as { url: string, token: string }
    // a dashboard page: its event stream makes the agent push the state after every change
    const watching = new AbortController()
    const events = await fetch(`${control.url}/api/events?token=${control.token}`, { headers: { authorization: `Bearer ${control.token}` }, signal: watching.signal })
    expect(events.status).to.equal(200)
    const reader = events.body?.getReader()
    const reading = (async () => {
      try {
        while (reader !== undefined && !(await reader.read()).done) { /* drain the page's events */ }
      } catch {
        // aborted
      }
    })()
    try {
      const session = await open(agent)
      await hello(session, agent)
      // an object (so that it reads as a claimed envelope) nested far deeper than JSON.stringify goes, under 16 KiB
      const depth = 7000
      session.send(new TextEncoder().encode('{"v":1,"body":' + '['.repeat(depth) + ']'.repeat(depth) + '}'))
      await survives(agent, handle)
      await refusedInLog(agent, 'ERR_MALFORMED_ENVELOPE')
      const res = await fetch(`${control.url}/api/state`, { headers: { authorization: `Bearer ${control.token}` } })
      expect(res.status, 'the dashboard state still serializes').to.equal(200)
    } finally {
      watching.abort()
      await reading
    }
    expect(agent.alive()).to.equal(true)
  })
})
