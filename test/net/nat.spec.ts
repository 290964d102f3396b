/**
 * Agents behind real NATs (Linux network namespaces, nftables): a relay on a
 * public segment, home LANs behind masquerading routers. Run as root; skipped
 * with a message elsewhere, except under CI=true, where it must run.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTopology, namespacesUnavailable, startPublicRelay, PUBLIC_HOST } from './topology.js'
import { Proc } from './proc.js'
import type { Topology } from './topology.js'
import type { RelayProcess } from '../helpers/relay-process.js'

const PROC = fileURLToPath(new URL('./node-proc.js', import.meta.url))
const PROBE = fileURLToPath(new URL('./stun-probe.js', import.meta.url))
const RELAY_IP = PUBLIC_HOST

function pathText (path: unknown): string {
  const p = path as { local?: { type: string, address?: string, port?: number }, remote?: { type: string, address?: string, port?: number } } | null
  if (p?.local === undefined || p.remote === undefined) return 'candidate pair unknown'
  return `${p.local.type} ${p.local.address ?? '?'}:${p.local.port ?? '?'} -> ${p.remote.type} ${p.remote.address ?? '?'}:${p.remote.port ?? '?'}`
}

describe('agents behind NATs (network namespaces)', function () {
  this.timeout(120_000)
  let topo: Topology | undefined
  let relay: RelayProcess | undefined
  let dir: string | undefined
  const agents = new Map<string, Proc>()

  function agent (name: string): Proc {
    const p = agents.get(name)
    if (p === undefined) throw new Error(`no agent ${name}`)
    return p
  }

  before(async function () {
    const unavailable = namespacesUnavailable()
    if (unavailable !== undefined) {
      if (process.env.CI === 'true') throw new Error(`CI runs the NAT tests, but ${unavailable}`)
      console.log(`      (skipped: ${unavailable})`)
      this.skip()
    }
    const t0 = Date.now()
    topo = buildTopology([
      { router: 'ra', nat: 'endpoint-independent', hosts: ['a1', 'a2'] },
      { router: 'rb', nat: 'endpoint-independent', hosts: ['b1'] },
      { router: 'rc', nat: 'symmetric', hosts: ['c1'] }
    ])
    const built = Date.now() - t0
    dir = await mkdtemp(join(tmpdir(), 'parley-nat-'))
    topo.adoptDir(dir)
    // a relay given nothing but its listen addresses: STUN on 3478 by default
    relay = await startPublicRelay(topo, join(dir, 'relay'))
    expect(relay.stderr()).to.include(`STUN on UDP ${RELAY_IP} port 3478`)
    const relayed = Date.now() - t0
    const t = topo
    const env = (handle: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
      const e: NodeJS.ProcessEnv = { ...process.env, PARLEY_RELAY: relay?.tcp.toString() ?? '', HANDLE: handle, ...extra }
      delete e.PARLEY_WEBRTC_BIND
      return e
    }
    for (const name of ['a1', 'a2', 'b1', 'c1']) {
      agents.set(name, new Proc(name, t.spawn(name, [process.execPath, PROC, 'agent'], env(`nat-${name}`, name === 'c1' ? { UPGRADE_TIMEOUT_MS: '4000' } : {}))))
    }
    const ready = await Promise.all([...agents.values()].map(async p => p.waitFor(e => e.event === 'ready', 60_000)))
    console.log(`      namespaces built in ${built} ms, relay up at ${relayed} ms, 4 agents ready at ${Date.now() - t0} ms`)
    for (const r of ready) expect(r.stun, 'the STUN server the agent learnt from its relay').to.deep.equal([`stun:${RELAY_IP}:3478`])
  })

  after(async () => {
    await Promise.allSettled([...agents.values()].map(async p => { await p.stop() }))
    await relay?.stop('SIGKILL')
    topo?.destroy()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('the routers are the NATs they claim: one port for every destination, or a new one for each', async () => {
    const t = topo as Topology
    // a second STUN server beside the relay's
    const second = new Proc('stun-3479', t.spawn('pub', [process.execPath, PROBE, 'serve', RELAY_IP, '3479']))
    await second.waitFor(e => e.event === 'ready', 20_000)
    const query = (host: string): Array<{ address: string, port: number, local: number }> =>
      (JSON.parse(t.run(host, [process.execPath, PROBE, 'query', `${RELAY_IP}:3478`, `${RELAY_IP}:3479`])) as { results: Array<{ address: string, port: number, local: number }> }).results
    const eim = query('a1')
    expect(eim.map(r => r.address)).to.deep.equal([t.ip('ra'), t.ip('ra')])
    expect(eim[0]?.port, 'endpoint-independent: the same public port for both servers').to.equal(eim[1]?.port)
    const symmetric = query('c1')
    expect(symmetric.map(r => r.address)).to.deep.equal([t.ip('rc'), t.ip('rc')])
    expect(symmetric[0]?.port, 'symmetric: another public port for the second server').to.not.equal(symmetric[1]?.port)
    console.log(`      a1 ${eim.map(r => `${r.local} -> ${r.address}:${r.port}`).join(', ')}; c1 ${symmetric.map(r => `${r.local} -> ${r.address}:${r.port}`).join(', ')}`)
    second.child.kill('SIGKILL')
  })

  it('two agents behind endpoint-independent NATs resolve each other by handle and go direct', async () => {
    const a1 = agent('a1')
    const b1 = agent('b1')
    const since = a1.events.length
    const t0 = Date.now()
    a1.send({ cmd: 'connect', to: '@nat-b1' })
    const connected = await a1.waitFor(e => e.event === 'connected', 30_000, since)
    const first = await a1.waitFor(e => e.event === 'reply', 30_000, since)
    expect(first.result).to.equal('pong')
    const direct = await a1.waitFor(e => e.event === 'direct' || e.event === 'relayed', 45_000, since)
    const directMs = Date.now() - t0
    expect(direct.event, JSON.stringify(direct)).to.equal('direct')
    const back = await b1.waitFor(e => e.event === 'direct', 10_000)
    console.log(`      a1 -> @nat-b1: session in ${String(connected.ms)} ms (relayed), direct after ${directMs} ms; a1 ${pathText(direct.path)}; b1 ${pathText(back.path)}`)
    // the far side was reached at its NAT's public address, which only STUN could tell
    const path = direct.path as { remote: { type: string, address?: string } } | null
    if (path !== null) {
      expect(path.remote.type).to.be.oneOf(['srflx', 'prflx'])
      expect(path.remote.address).to.equal(topo?.ip('rb'))
    }
    const next = a1.events.length
    a1.send({ cmd: 'ping', to: '@nat-b1' })
    const reply = await a1.waitFor(e => e.event === 'reply', 10_000, next)
    expect(reply).to.include({ result: 'pong', relayed: false })
  })

  it('with a symmetric NAT on one side the session stays on the relay, works, and the agent says so', async () => {
    const c1 = agent('c1')
    const since = c1.events.length
    const t0 = Date.now()
    c1.send({ cmd: 'connect', to: '@nat-a1' })
    const first = await c1.waitFor(e => e.event === 'reply', 30_000, since)
    expect(first).to.include({ result: 'pong', relayed: true })
    const outcome = await c1.waitFor(e => e.event === 'direct' || e.event === 'relayed', 60_000, since)
    expect(outcome.event, JSON.stringify(outcome)).to.equal('relayed')
    console.log(`      c1 -> @nat-a1: relayed, said so after ${Date.now() - t0} ms (${String(outcome.attempts)} attempts: ${String(outcome.reason)})`)
    const next = c1.events.length
    c1.send({ cmd: 'ping', to: '@nat-a1' })
    expect(await c1.waitFor(e => e.event === 'reply', 10_000, next)).to.include({ result: 'pong', relayed: true })
  })

  it('two agents on the same LAN go direct, host to host', async () => {
    const a1 = agent('a1')
    const since = a1.events.length
    const t0 = Date.now()
    a1.send({ cmd: 'connect', to: '@nat-a2' })
    const direct = await a1.waitFor(e => e.event === 'direct' || e.event === 'relayed', 45_000, since)
    expect(direct.event, JSON.stringify(direct)).to.equal('direct')
    console.log(`      a1 -> @nat-a2: direct after ${Date.now() - t0} ms; ${pathText(direct.path)}`)
    const path = direct.path as { remote: { type: string, address?: string } } | null
    // straight over the LAN: a2's LAN address (a host candidate, or peer-reflexive when its checks came before its candidates)
    if (path !== null) {
      expect(path.remote.type).to.be.oneOf(['host', 'prflx'])
      expect(path.remote.address).to.equal(topo?.ip('a2'))
    }
    const next = a1.events.length
    a1.send({ cmd: 'ping', to: '@nat-a2' })
    expect(await a1.waitFor(e => e.event === 'reply', 10_000, next)).to.include({ result: 'pong', relayed: false })
  })
})
