/**
 * A tracing tool, not a test: the `net` bench's setting (two homes behind
 * endpoint-independent NATs, 10 ms added on each uplink each way, a Parley
 * relay on the public segment), two agents with libdatachannel's log on
 * (RTC_LOG, default Debug) and libp2p's webrtc and Parley's dialer debug logs,
 * and N upgrades a1 → b1 alternating the offer (`library`, `active`). Writes
 * each agent's output to DIR/a1.log and DIR/b1.log and the samples (with the
 * events' times) to DIR/samples.json. Run as root:
 * `node dist/test/net/trace-upgrade.js DIR [N] [offers]` (`TOPO=lan`: both
 * agents on one LAN behind one NAT; `RTC_LOG_A1`, `RTC_LOG_B1`: each agent's
 * libdatachannel log level).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTopology, startPublicRelay } from './topology.js'
import { Proc } from './proc.js'
import { ask, open, pathText } from './drive.js'

const PROC = fileURLToPath(new URL('./node-proc.js', import.meta.url))
const [outDir = '/tmp/trace', n = '6', offers = 'library,active'] = process.argv.slice(2)
const kinds = offers.split(',')
// TOPO=lan: the callee on the caller's LAN (host `b1` behind `ra` too), for the case the role rule does not cover
const lan = process.env.TOPO === 'lan'
const topo = buildTopology(lan
  ? [{ router: 'ra', nat: 'endpoint-independent', hosts: ['a1', 'b1'], impair: true }, { router: 'rb', nat: 'endpoint-independent', hosts: ['c1'], impair: true }]
  : [{ router: 'ra', nat: 'endpoint-independent', hosts: ['a1'], impair: true }, { router: 'rb', nat: 'endpoint-independent', hosts: ['b1'], impair: true }])
const dir = await mkdtemp(join(tmpdir(), 'parley-trace-'))
const procs: Proc[] = []
try {
  await topo.impair('ra', {})
  await topo.impair('rb', {})
  const relay = await startPublicRelay(topo, join(dir, 'relay'))
  const run = Date.now().toString(36).slice(-4)
  const start = (host: string, handle: string): Proc => {
    const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_RELAY: relay.tcp.toString(), HANDLE: handle, AUTO_APPROVE: '1', RTC_LOG: process.env[`RTC_LOG_${host.toUpperCase()}`] ?? process.env.RTC_LOG ?? 'Debug', DEBUG: process.env.DEBUG ?? 'libp2p:webrtc*,parley:agent:dialer' }
    const p = new Proc(host, topo.spawn(host, [process.execPath, PROC, 'agent'], env))
    procs.push(p)
    return p
  }
  const h = { a1: `tr-a1-${run}`, b1: `tr-b1-${run}` }
  const a1 = start('a1', h.a1)
  const b1 = start('b1', h.b1)
  await Promise.all([a1, b1].map(async p => p.waitFor(e => e.event === 'ready', 60_000)))
  await ask(a1, { cmd: 'trust', to: `@${h.b1}`, level: 1 }, 'trusted')
  await ask(b1, { cmd: 'trust', to: `@${h.a1}`, level: 1 }, 'trusted')
  await topo.impair('ra', { delayMs: 10 })
  await topo.impair('rb', { delayMs: 10 })
  const samples: object[] = []
  for (let i = 0; i < Number(n); i++) {
    const kind = kinds[i % kinds.length] ?? 'active'
    await ask(a1, { cmd: 'offer', kind }, 'offer')
    const since = a1.events.length
    const mark = Date.now()
    process.stdout.write(`sample ${i} ${kind} at ${new Date(mark).toISOString()}\n`)
    const o = await open(a1, `@${h.b1}`)
    const rtc = a1.events.slice(since).find(e => e.event === 'webrtc-open')
    const connected = Number(a1.events.slice(since).find(e => e.event === 'connected')?.at)
    const sample = { i, kind, start: new Date(mark).toISOString(), sessionMs: o.sessionMs, upgradeMs: Number(o.outcome.at) - connected, rtcOpenMs: rtc === undefined ? null : Number(rtc.at) - connected, direct: o.direct, path: pathText(o.outcome.path) }
    samples.push(sample)
    process.stdout.write(JSON.stringify(sample) + '\n')
    await ask(a1, { cmd: 'hangup', to: `@${h.b1}` }, 'hungup')
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  await writeFile(join(outDir, 'samples.json'), JSON.stringify(samples, null, 1))
} finally {
  await Promise.allSettled(procs.map(async p => {
    p.child.stdin?.end()
    await Promise.race([new Promise(resolve => p.child.once('exit', resolve)), new Promise(resolve => setTimeout(resolve, 3000))])
  }))
  for (const p of procs) await writeFile(join(outDir, `${p.name}.log`), p.stderr)
  topo.destroy()
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
