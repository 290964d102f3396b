/**
 * Agents behind two endpoint-independent NATs, on bad links: 2 % loss,
 * 100 ± 20 ms latency, a 1 Mbit/s link, each on both uplinks (topology.ts
 * `impair`: tbf, nftables and a userspace delay bridge stand in for
 * `tc netem`, which the machines' kernel lacks). Under each, a fresh pair of
 * agent processes opens a session by handle (relay first, then the direct
 * WebRTC upgrade), runs a 9-turn exchange and a negotiation, and nothing is
 * lost: every request answered with what was asked for, the negotiation
 * confirmed with one and the same transcript on both sides. Run as root;
 * skipped with a message elsewhere, except under CI=true, where it must run.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTopology, impairmentsUnavailable, namespacesUnavailable, startPublicRelay } from './topology.js'
import type { Impairment, Topology } from './topology.js'
import { Proc } from './proc.js'
import { ask, exchange, negotiate, open, pathText } from './drive.js'
import type { RelayProcess } from '../helpers/relay-process.js'

const PROC = fileURLToPath(new URL('./node-proc.js', import.meta.url))

/** Payload of each turn on the 1 Mbit/s link: 16 kB asked and echoed, so every turn shows the limit (≥ 2 × 128 ms). */
const BULK = 16_000

const CASES: Array<{ name: string, impairment: Impairment, payloadBytes?: number }> = [
  { name: '2 % loss', impairment: { loss: 0.02 } },
  { name: '100 ± 20 ms latency', impairment: { delayMs: 100, jitterMs: 20 } },
  { name: 'a 1 Mbit/s link', impairment: { rateKbit: 1000 }, payloadBytes: BULK }
]

describe('agents behind NATs on bad links (network namespaces)', function () {
  this.timeout(150_000)
  let topo: Topology | undefined
  let relay: RelayProcess | undefined
  let dir: string | undefined
  const running: Proc[] = []

  before(async function () {
    const unavailable = namespacesUnavailable() ?? impairmentsUnavailable()
    if (unavailable !== undefined) {
      if (process.env.CI === 'true') throw new Error(`CI runs the fault tests, but ${unavailable}`)
      console.log(`      (skipped: ${unavailable})`)
      this.skip()
    }
    const t0 = Date.now()
    topo = buildTopology([
      { router: 'ra', nat: 'endpoint-independent', hosts: ['a1'], impair: true },
      { router: 'rb', nat: 'endpoint-independent', hosts: ['b1'], impair: true }
    ])
    await topo.impair('ra', {})
    await topo.impair('rb', {})
    dir = await mkdtemp(join(tmpdir(), 'parley-faults-'))
    topo.adoptDir(dir)
    relay = await startPublicRelay(topo, join(dir, 'relay'))
    console.log(`      namespaces and delay bridges built, relay up in ${Date.now() - t0} ms`)
  })

  async function stopAll (): Promise<void> {
    await Promise.allSettled(running.splice(0).map(async p => { await p.stop() }))
  }

  afterEach(async () => {
    await stopAll()
    await Promise.allSettled(['ra', 'rb'].map(async r => topo?.impair(r, {})))
  })

  after(async () => {
    await stopAll()
    await relay?.stop('SIGKILL')
    topo?.destroy()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  for (const [i, c] of CASES.entries()) {
    it(`under ${c.name} on both uplinks: direct session, 9 turns and a negotiation, nothing lost`, async () => {
      const t = topo as Topology
      const t0 = Date.now()
      await t.impair('ra', c.impairment)
      await t.impair('rb', c.impairment)
      const handles = { a: `f${i}-a1`, b: `f${i}-b1` }
      const env = (handle: string): NodeJS.ProcessEnv => {
        const e: NodeJS.ProcessEnv = { ...process.env, PARLEY_RELAY: relay?.tcp.toString() ?? '', HANDLE: handle, AUTO_APPROVE: '1' }
        delete e.PARLEY_WEBRTC_BIND
        return e
      }
      const a = new Proc('a1', t.spawn('a1', [process.execPath, PROC, 'agent'], env(handles.a)))
      const b = new Proc('b1', t.spawn('b1', [process.execPath, PROC, 'agent'], env(handles.b)))
      running.push(a, b)
      await Promise.all([a, b].map(async p => p.waitFor(e => e.event === 'ready', 60_000)))
      const ready = Date.now() - t0
      // known to each other, as agents that negotiate are: a stranger's frames are paced
      await Promise.all([ask(a, { cmd: 'trust', to: `@${handles.b}`, level: 1 }, 'trusted'), ask(b, { cmd: 'trust', to: `@${handles.a}`, level: 1 }, 'trusted')])

      const opened = await open(a, `@${handles.b}`)
      expect(opened.outcome.event, JSON.stringify(opened.outcome)).to.equal('direct')
      const back = await b.waitFor(e => e.event === 'direct', 20_000)

      const ex = await exchange(a, `@${handles.b}`, b, `@${handles.a}`, { payloadBytes: c.payloadBytes ?? 0 })
      expect(ex.turnMs).to.have.length(9)
      // the limit held: 2 × 16 kB through 1 Mbit/s takes 256 ms (less a 4 kB burst at each end)
      if (c.payloadBytes !== undefined) for (const turnMs of ex.turnMs) expect(turnMs, 'a 16 kB turn on a 1 Mbit/s link').to.be.at.least(180)
      expect(ex.relayed, 'every turn on the direct connection').to.deep.equal(Array(9).fill(false))

      const n = await negotiate(a, `@${handles.b}`, b)
      expect(n.a.state).to.equal('confirmed')
      expect(n.a.transitions as unknown[]).to.have.length(3)
      expect(n.b, 'both sides hold the same negotiation').to.deep.equal(n.a)

      for (const p of [a, b]) expect(p.events.filter(e => e.event === 'error' || e.event === 'fatal'), `${p.name}'s errors`).to.deep.equal([])
      const approvals = a.events.filter(e => e.event === 'approved').length + b.events.filter(e => e.event === 'approved').length
      console.log(`      ${c.name}: agents ready ${ready} ms; session by handle ${opened.sessionMs} ms (relayed), direct after ${opened.outcomeMs} ms; a1 ${pathText(opened.outcome.path)}; b1 ${pathText(back.path)}`)
      console.log(`      ${c.name}: 9 turns${c.payloadBytes === undefined ? '' : ` of ${c.payloadBytes} B each way`} ${ex.totalMs.toFixed(0)} ms (per turn ${ex.turnMs.join(', ')} ms); negotiation confirmed in ${n.ms} ms (${approvals} approvals given); case ${Date.now() - t0} ms`)
    })
  }
})
