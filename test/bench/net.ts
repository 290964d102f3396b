/**
 * Across NATs in network namespaces (test/net/topology.ts; run as root,
 * else skipped with the reason): one `parley relay` on the public segment
 * (198.51.100.10, STUN on its default port), two homes behind
 * endpoint-independent NATs, each uplink spliced through a delay bridge
 * (test/net/impair.py: the machines' kernel has no netem). Agents are
 * node-proc.ts processes, one per host namespace, driven over JSON lines.
 *
 * 1. WebRTC upgrade with 40 ms RTT between the two agents: 10 ms added to
 *    every frame crossing each uplink, each way, so a packet from one agent
 *    to the other crosses two bridges (20 ms) and back (40 ms). The RTT is
 *    measured, not assumed: UDP round trips from each agent's host to the
 *    public host (one uplink each, ≈ 20 ms), summed; and Parley's signed
 *    `ping` on the direct session. Each sample: `connect('@handle')` (by
 *    handle, through the relay: the session's open time), then until the
 *    `direct` event (the upgrade), split at the moment the caller's libp2p
 *    opened the WebRTC connection (what the stock row times); then the
 *    caller hangs up every connection to the callee, so the next sample
 *    starts over. Each round takes one sample of Parley under each rule for
 *    its offers' DTLS role (src/agent/dtls-role.ts: `auto`, its default;
 *    `active`, the rule before; the library's `actpass`), switched in the
 *    caller's process, and one of the stock path (net-plain.ts): plain
 *    js-libp2p peers in the same host namespaces, reserved on an unmodified
 *    js-libp2p relay on the public host, with the Parley relay's STUN server
 *    as their ICE server; the caller dials the callee's relayed address, then
 *    its WebRTC address over that path (as relay-latency.ts does on loopback).
 * 2. The 9-turn exchange (test/net/drive.ts: 9 signed requests, alternating
 *    direction, answers checked) with no impairment and with 2 % loss on
 *    both uplinks (each direction; nftables), no added delay: on a direct
 *    WebRTC session, and on a relayed one (agents with `webrtc: false`).
 *    Timed by this process around the 9 turns, so each includes two pipe
 *    hops per turn (this process ↔ the requesting agent), well under a
 *    millisecond each.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTopology, impairmentsUnavailable, namespacesUnavailable, startPublicRelay, PUBLIC_HOST } from '../net/topology.js'
import type { Topology } from '../net/topology.js'
import { Proc } from '../net/proc.js'
import { ask, exchange, open, pathText } from '../net/drive.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { fmt, errorText, mdTable, msStats } from './harness.js'
import type { MsStats } from './harness.js'

const PROC = fileURLToPath(new URL('../net/node-proc.js', import.meta.url))
const PLAIN = fileURLToPath(new URL('./net-plain.js', import.meta.url))
const RELAY_IP = PUBLIC_HOST
const ECHO_PORT = 7

function row (what: string, s: MsStats, extra: string[] = []): string[] {
  return [what, String(s.n), fmt(s.mean), fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max), ...extra]
}

export async function benchNet (quick: boolean): Promise<string> {
  const unavailable = namespacesUnavailable() ?? impairmentsUnavailable()
  if (unavailable !== undefined) return `Skipped: ${unavailable}.`
  const upgrades = quick ? 8 : 40
  const reps = quick ? 10 : 60
  const run = Date.now().toString(36).slice(-4)
  const out: string[] = []
  const procs: Proc[] = []
  let topo: Topology | undefined
  let relay: RelayProcess | undefined
  let dir: string | undefined
  try {
    topo = buildTopology([
      { router: 'ra', nat: 'endpoint-independent', hosts: ['a1', 'a2'], impair: true },
      { router: 'rb', nat: 'endpoint-independent', hosts: ['b1', 'b2'], impair: true }
    ])
    const t = topo
    await t.impair('ra', {})
    await t.impair('rb', {})
    dir = await mkdtemp(join(tmpdir(), 'parley-bench-net-'))
    relay = await startPublicRelay(t, join(dir, 'relay'))
    const echo = new Proc('echo', t.spawn('pub', [process.execPath, PROC, 'echo', RELAY_IP, String(ECHO_PORT)]))
    procs.push(echo)
    await echo.waitFor(e => e.event === 'ready', 20_000)
    const udpRtt = (host: string, n: number): number[] => {
      const line = t.run(host, [process.execPath, PROC, 'rtt', RELAY_IP, String(ECHO_PORT), String(n)]).trim().split('\n').pop() ?? '{}'
      return (JSON.parse(line) as { times: number[] }).times
    }
    const start = (host: string, handle: string, extra: Record<string, string> = {}): Proc => {
      const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_RELAY: relay?.tcp.toString() ?? '', HANDLE: handle, AUTO_APPROVE: '1', ...extra }
      delete env.PARLEY_WEBRTC_BIND
      const p = new Proc(host, t.spawn(host, [process.execPath, PROC, 'agent'], env))
      procs.push(p)
      return p
    }
    const h = { a1: `nb-a1-${run}`, b1: `nb-b1-${run}`, a2: `nb-a2-${run}`, b2: `nb-b2-${run}` }
    const a1 = start('a1', h.a1)
    const b1 = start('b1', h.b1)
    const a2 = start('a2', h.a2, { WEBRTC: '0' })
    const b2 = start('b2', h.b2, { WEBRTC: '0' })
    await Promise.all([a1, b1, a2, b2].map(async p => p.waitFor(e => e.event === 'ready', 60_000)))
    await Promise.all([[a1, h.b1], [b1, h.a1], [a2, h.b2], [b2, h.a2]].map(async ([p, other]) => ask(p as Proc, { cmd: 'trust', to: `@${String(other)}`, level: 1 }, 'trusted')))

    // 1. the upgrade with 40 ms RTT
    await t.impair('ra', { delayMs: 10 })
    await t.impair('rb', { delayMs: 10 })
    const rttA = msStats(udpRtt('a1', 20))
    const rttB = msStats(udpRtt('b1', 20))
    // the stock path beside it
    const plainRelay = new Proc('plain-relay', t.spawn('pub', [process.execPath, PLAIN, 'relay', RELAY_IP, '4011']))
    procs.push(plainRelay)
    const plainAddr = await new Promise<string>((resolve, reject) => {
      let text = ''
      const timer = setTimeout(() => { reject(new Error(`the js-libp2p relay did not start: ${plainRelay.stderr}`)) }, 20_000)
      plainRelay.child.stdout?.on('data', (d: Buffer | string) => {
        text += String(d)
        if (/^ready$/m.test(text)) { clearTimeout(timer); resolve(text.split('\n').find(l => l.startsWith('/ip4/')) ?? '') }
      })
    })
    const plainPeer = (host: string): Proc => {
      const p = new Proc(`plain-${host}`, t.spawn(host, [process.execPath, PLAIN, 'peer', plainAddr, `stun:${RELAY_IP}:3478`]))
      procs.push(p)
      return p
    }
    const [pa, pb] = [plainPeer('a1'), plainPeer('b1')]
    const [, callee] = await Promise.all([pa, pb].map(async p => p.waitFor(e => e.event === 'ready', 60_000)))
    const plainRelayedMs: number[] = []
    const plainUpgradeMs: number[] = []
    let plainFailed = 0
    // Parley's agents under each DTLS role rule for their offers, alternating sample by sample with the stock path
    const MODES = [
      ['auto', 'Parley (role per connection: `actpass` behind a NAT)'],
      ['auto-held', 'Parley, role per connection, every offer behind a NAT held for its srflx (`holdOffer`)'],
      ['active', 'Parley with the offerer always DTLS client (`active`, before)'],
      ['library', 'Parley with the library\'s offer (`actpass`)']
    ] as const
    const parley = new Map(MODES.map(([m]) => [m, { session: [] as number[], upgrade: [] as number[], rtcOpen: [] as number[], moved: [] as number[], relayed: 0, paths: new Map<string, number>() }]))
    let pingMs: number | undefined
    for (let i = 0; i < upgrades; i++) {
      for (const [mode] of MODES) {
        const r = parley.get(mode)
        if (r === undefined) continue
        await ask(a1, { cmd: 'offer', kind: mode }, 'offer')
        const since = a1.events.length
        const o = await open(a1, `@${h.b1}`)
        r.session.push(o.sessionMs)
        if (o.direct) {
          // split by the caller's own clock: session open → WebRTC connection open → `direct`
          const connectedAt = Number(a1.events.slice(since).find(e => e.event === 'connected')?.at)
          const rtcAt = Number(a1.events.slice(since).find(e => e.event === 'webrtc-open')?.at)
          const directAt = Number(o.outcome.at)
          r.upgrade.push(directAt - connectedAt)
          if (Number.isFinite(rtcAt)) { r.rtcOpen.push(rtcAt - connectedAt); r.moved.push(directAt - rtcAt) }
          const p = pathText(o.outcome.path).replace(/:\d+/g, '')
          r.paths.set(p, (r.paths.get(p) ?? 0) + 1)
        } else r.relayed++
        if (i === 0 && mode === 'auto') {
          const pings: number[] = []
          for (let j = 0; j < 10; j++) {
            const since = a1.events.length
            a1.send({ cmd: 'ping', to: `@${h.b1}` })
            pings.push(Number((await a1.waitFor(e => e.event === 'reply', 10_000, since)).ms))
          }
          pingMs = msStats(pings).p50
        }
        await ask(a1, { cmd: 'hangup', to: `@${h.b1}` }, 'hungup')
        await new Promise(resolve => setTimeout(resolve, 300))
      }
      try {
        const d = await ask(pa, { cmd: 'dial', circuit: callee?.circuit, webrtc: callee?.webrtc }, 'dialed', 40_000)
        plainRelayedMs.push(Number(d.relayedMs))
        if (d.direct === true) plainUpgradeMs.push(Number(d.webrtcMs))
        else plainFailed++
      } catch {
        plainFailed++
      }
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    await ask(a1, { cmd: 'offer', kind: 'auto' }, 'offer')
    const over = (xs: number[]): string[] => [String(xs.filter(ms => ms > 500).length), String(xs.filter(ms => ms >= 900).length)]
    out.push(`### WebRTC upgrade with 40 ms RTT\n\nEach uplink's delay bridge adds 10 ms to every frame, each way (no jitter, no loss), so agent ↔ agent crosses two bridges each way. Measured: UDP round trip host → public host (one uplink) p50 ${fmt(rttA.p50, 2)} ms from a1 and ${fmt(rttB.p50, 2)} ms from b1 (p90 ${fmt(rttA.p90, 2)} / ${fmt(rttB.p90, 2)}): a1 ↔ b1 ≈ ${fmt(rttA.p50 + rttB.p50, 1)} ms; Parley's signed \`ping\` on the direct session, p50 of 10: ${pingMs === undefined ? '–' : String(pingMs)} ms. ${upgrades} rounds, the same two agent processes; each round one sample of each row, in turn: \`connect('@handle')\` (resolve, dial through the relay, hellos), then until the \`direct\` event; then a hang-up of every connection to the callee. The offer rule is switched in the caller's process before each sample (the answerer follows the offer). "WebRTC connection open" is when the caller's libp2p opened the WebRTC connection (what the stock row times, from its dial); "→ direct" adds the session stream on it, \`session/resume\` and reading the candidate pair.\n`)
    const rows: string[][] = []
    for (const [mode, label] of MODES) {
      const r = parley.get(mode)
      if (r === undefined) continue
      rows.push(row(`${label}: WebRTC upgrade (session open → direct)`, msStats(r.upgrade), over(r.upgrade)))
      rows.push(row(`${label}: session open → WebRTC connection open`, msStats(r.rtcOpen), over(r.rtcOpen)))
      if (mode === 'auto') {
        rows.push(row(`${label}: WebRTC connection open → direct`, msStats(r.moved), over(r.moved)))
        rows.push(row(`${label}: session open by handle (relayed)`, msStats(r.session), over(r.session)))
      }
    }
    rows.push(row('js-libp2p: relayed dial (stock relay)', msStats(plainRelayedMs), over(plainRelayedMs)))
    rows.push(row('js-libp2p: WebRTC dial over the relayed path (`actpass`)', msStats(plainUpgradeMs), over(plainUpgradeMs)))
    out.push(mdTable(['what', 'n', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'over 500 ms', '≥ 900 ms'], rows))
    out.push('', MODES.map(([mode]) => {
      const r = parley.get(mode)
      return `${mode}: stayed on the relay ${r?.relayed ?? 0} of ${upgrades}; candidate pairs ${[...(r?.paths ?? [])].map(([p, n]) => `${p} (${n})`).join('; ')}`
    }).join('. ') + `. js-libp2p WebRTC dials failed: ${plainFailed} of ${upgrades}.`)

    // 2. the 9-turn exchange, clean and under 2 % loss
    await t.impair('ra', {})
    await t.impair('rb', {})
    const direct = await open(a1, `@${h.b1}`)
    if (!direct.direct) throw new Error(`a1 → b1 stayed relayed: ${JSON.stringify(direct.outcome)}`)
    const turnRows: string[][] = []
    for (const loss of [0, 0.02]) {
      await t.impair('ra', loss > 0 ? { loss } : {})
      await t.impair('rb', loss > 0 ? { loss } : {})
      const samples = { direct: [] as number[], relayed: [] as number[] }
      const wrongPath = { direct: 0, relayed: 0 }
      const turns = { direct: [] as number[], relayed: [] as number[] }
      for (let i = 0; i < reps + 3; i++) {
        for (const [kind, a, b, aTo, bTo] of [['direct', a1, b1, h.b1, h.a1], ['relayed', a2, b2, h.b2, h.a2]] as const) {
          const ex = await exchange(a, `@${aTo}`, b, `@${bTo}`)
          if (i < 3) continue
          samples[kind].push(ex.totalMs)
          turns[kind].push(...ex.turnMs)
          if (ex.relayed.some(r => r !== (kind === 'relayed'))) wrongPath[kind]++
        }
      }
      for (const kind of ['direct', 'relayed'] as const) {
        turnRows.push(row(`${kind === 'direct' ? 'direct WebRTC' : 'relayed circuit'}, ${loss > 0 ? '2 % loss' : 'no loss'}`, msStats(samples[kind]), [String(samples[kind].filter(ms => ms > 1000).length), fmt(msStats(turns[kind]).p50), fmt(msStats(turns[kind]).p99), String(turns[kind].filter(ms => ms > 150).length), String(wrongPath[kind])]))
      }
    }
    out.push('', `### The 9-turn exchange under 2 % loss\n\n9 signed requests, alternating direction, answers checked (test/net/drive.ts), timed end to end by the bench process; 3 warm-up runs, then ${reps} runs per case, direct and relayed interleaved. Loss: nftables drops 2 % of packets entering each end of both uplinks (so ≈ 4 % of packets agent → agent, either way); no added delay. The relayed pair's agents run with \`webrtc: false\`. "one turn": a single request's round trip as its agent timed it; "off path" counts runs where a turn went another way.\n`)
    out.push(mdTable(['session', 'runs', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'over 1 s', 'one turn p50 ms', 'one turn p99 ms', 'turns over 150 ms', 'off path'], turnRows))
  } catch (err) {
    out.push(`Failed: ${errorText(err)}`)
  } finally {
    await Promise.allSettled(procs.map(async p => { await p.stop() }))
    await relay?.stop('SIGKILL')
    topo?.destroy()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  }
  return out.join('\n')
}
