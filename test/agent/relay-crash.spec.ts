/**
 * A relay killed with SIGKILL and restarted (protocols/session §5): a
 * relayed session waits, the caller redials through the restarted relay and
 * resumes it, its requests in flight are sent again under the same envelope
 * ids and answered once — by the handler's first run, never a second — and a
 * session that already went direct over WebRTC does not notice at all.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent, Session } from '../../src/agent/index.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('a relay killed and restarted under live sessions', function () {
  this.timeout(120_000)
  let dir: string
  let ports: number[]
  let relay: RelayProcess | undefined
  const agents: Agent[] = []
  /** Runs of the callee's `work` handler, by job. */
  const runs = new Map<string, number>()

  const startRelay = async (): Promise<RelayProcess> => {
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), listen: [`/ip4/127.0.0.1/tcp/${ports[0] ?? 0}`, `/ip4/127.0.0.1/tcp/${ports[1] ?? 0}/ws`] })
    return relay
  }

  const agent = async (handle: string | undefined, webrtc: boolean): Promise<Agent> => {
    const a = await createAgent({ ...(handle === undefined ? {} : { handle }), relays: [relay?.tcp.toString() ?? ''], powBits: 8, minPowBits: 8, webrtc, requestTimeoutMs: 60_000 })
    await a.start()
    agents.push(a)
    a.handle('work', async (params) => {
      const job = String((params as { job?: string }).job)
      runs.set(job, (runs.get(job) ?? 0) + 1)
      await sleep(Number((params as { ms?: number }).ms ?? 0))
      return { job, runs: runs.get(job) ?? 0 } satisfies JsonValue
    })
    return a
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-relay-crash-'))
    ports = [await freePort(), await freePort()]
    await startRelay()
  })

  after(async () => {
    for (const a of agents) await a.close().catch(() => {})
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('a relayed session resumes through the restarted relay; requests in flight are answered once, none runs twice', async () => {
    const callee = await agent('crash-callee', false)
    const caller = await agent(undefined, false)
    const session = await caller.connect('@crash-callee')
    expect(await session.request('ping')).to.equal('pong')
    const events: string[] = []
    session.addEventListener('detached', () => { events.push('detached') })
    session.addEventListener('resumed', () => { events.push('resumed') })
    session.addEventListener('close', () => { events.push('close') })
    let calleeSession: Session | undefined
    for (const s of callee.parley.sessions) if (s.remotePeer === caller.peerId) calleeSession = s
    expect(calleeSession, 'the callee holds the session').to.not.equal(undefined)

    // one request being handled when the relay dies (its answer is lost with the circuit), one
    // sent while the relay is down
    const handled = session.request('work', { job: 'during', ms: 1500 })
    await sleep(300)
    expect(runs.get('during'), 'the callee started the request before the crash').to.equal(1)
    const t0 = Date.now()
    await relay?.stop('SIGKILL')
    await sleep(200)
    const queued = session.request('work', { job: 'while-down', ms: 0 })
    await sleep(800)
    expect(session.closed, 'the session waits for its connection').to.equal(false)
    await startRelay()
    expect(await handled).to.deep.equal({ job: 'during', runs: 1 })
    expect(await queued).to.deep.equal({ job: 'while-down', runs: 1 })
    console.log(`      resumed and answered ${Date.now() - t0} ms after the kill (relay down ~1 s); events: ${events.join(', ')}`)
    expect(runs.get('during'), 'the request in flight ran once').to.equal(1)
    expect(runs.get('while-down')).to.equal(1)
    expect(events).to.deep.equal(['detached', 'resumed'])
    expect(calleeSession?.closed, 'the callee kept its side of the session').to.equal(false)
    expect(await session.request('work', { job: 'after', ms: 0 })).to.deep.equal({ job: 'after', runs: 1 })
    await session.close()
  })

  it('a session that went direct over WebRTC does not notice the relay crash', async () => {
    const callee = await agent('crash-direct', true)
    const caller = await agent(undefined, true)
    const direct = new Promise<void>((resolve, reject) => {
      caller.addEventListener('direct', () => { resolve() }, { once: true })
      caller.addEventListener('relayed', (e) => { reject(new Error(`stayed relayed: ${e.detail.reason}`)) }, { once: true })
    })
    const session = await caller.connect('@crash-direct')
    await direct
    const events: string[] = []
    session.addEventListener('detached', () => { events.push('detached') })
    session.addEventListener('close', () => { events.push('close') })
    const during = session.request('work', { job: 'direct', ms: 500 })
    await relay?.stop('SIGKILL')
    expect(await during).to.deep.equal({ job: 'direct', runs: 1 })
    for (let i = 0; i < 5; i++) expect(await session.request('ping')).to.equal('pong')
    expect(events, 'nothing happened to the session').to.deep.equal([])
    expect([...callee.parley.sessions].some(s => s.remotePeer === caller.peerId && !s.closed)).to.equal(true)
    await startRelay()
  })
})
