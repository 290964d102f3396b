/**
 * The `## Relay` section of `npm run bench`: Parley's relay beside an
 * unmodified js-libp2p relay, both measured in the same run, each as a child
 * process on 127.0.0.1 (relay-procs.ts).
 *
 * 1. Round trip of 300 bytes on one reused stream, relayed and over the
 *    direct WebRTC connection after the upgrade (relay-latency.ts).
 * 2. Connection setup: relayed dial and WebRTC upgrade, for fresh peer pairs.
 * 3. Capacity: reservations and circuits held at once, with the relay's RSS
 *    (relay-capacity.ts), on a fresh relay of each kind.
 *
 * Prints Markdown; never asserts on time. Each relay is stopped (SIGTERM)
 * and each peer stopped even when a part fails; a failed part is reported.
 */
import { fmt, table, errorText, mdTable, msStats } from './harness.js'
import type { Result } from './harness.js'
import { benchInterleaved, benchRoundTrip, benchSetup, setupIdentities, SETUP_IDENTITY_PAIRS } from './relay-latency.js'
import { offerAsDtlsClient, restoreOfferRole } from '../../src/agent/dtls-role.js'
import type { RoundTripResult, SetupResult } from './relay-latency.js'
import { benchCapacity } from './relay-capacity.js'
import type { CapacityResult } from './relay-capacity.js'
import { startPlain, withRelay, RELAY_NAMES, INBOUND_RATE, RESERVATIONS_PER_IP } from './relay-procs.js'
import type { RelayKind } from './relay-procs.js'
import { mib } from './relay-util.js'

const KINDS: RelayKind[] = ['parley', 'plain']

interface Sizes { warmup: number, iterations: number, webrtcIterations: number, enduranceCap: number, pairs: number, target: number, step: number }
const FULL: Sizes = { warmup: 30, iterations: 120, webrtcIterations: 1000, enduranceCap: 1000, pairs: 20, target: 200, step: 25 }
const QUICK: Sizes = { warmup: 20, iterations: 50, webrtcIterations: 200, enduranceCap: 300, pairs: 5, target: 30, step: 10 }

type Outcome<T> = { ok: true, value: T } | { ok: false, error: string }
async function attempt<T> (fn: () => Promise<T>): Promise<Outcome<T>> {
  try { return { ok: true, value: await fn() } } catch (err) { return { ok: false, error: errorText(err) } }
}

function roundTripSection (sizes: Sizes, results: Record<RelayKind, Outcome<RoundTripResult>>): string {
  const ok = KINDS.flatMap(k => { const r = results[k]; return r.ok ? [r.value] : [] })
  const lines = [
    `### Request/response round trip (300 B echo, one reused stream)\n`,
    table([...ok.map(r => r.relayed), ...ok.map(r => r.webrtc)], r => [String(r.iterations)], ['round trips']),
    '',
    `Relayed samples are few (${sizes.warmup} warm-up + ${sizes.iterations}) because the js-libp2p relay's default circuit limit (128 KiB, 2 min) allows under 200 such round trips. After timing, the relayed stream kept echoing until the relay cut it or ${sizes.enduranceCap} round trips:`,
    ''
  ]
  for (const k of KINDS) {
    const r = results[k]
    lines.push(r.ok
      ? `- ${RELAY_NAMES[k]}: ${r.value.roundTripsOnCircuit} round trips, ${r.value.cut === undefined ? 'still open at the cap' : `then cut (${r.value.cut})`}`
      : `- ${RELAY_NAMES[k]}: failed: ${r.error}`)
  }
  return lines.join('\n')
}

function longSection (long: Outcome<[Result, Result]> | undefined): string {
  if (long === undefined || !long.ok) return `### Long round-trip run\n\nfailed: ${long?.ok === false ? long.error : 'not run'}`
  const [p, l] = long.value
  return [
    '### Long round-trip run, alternating between the relays (300 B echo, one reused stream each)\n',
    table([p, { ...l, name: 'js-libp2p relay with Parley\'s circuit limits: relayed' }]),
    '',
    `After 200 warm-up round trips on each, one round trip through one relay, then one through the other, ${p.iterations} times: load changes hit both alike. The library relay runs with \`circuitRelayServer({ reservations: { maxReservations: 1024, defaultDurationLimit: 30 min, defaultDataLimit: 1 GiB } })\` (test/bench/plain-relay.ts \`raised\`), as its defaults cut the circuit after ~174 round trips. Parley relay / library relay, p50: ${fmt(p.p50Us / l.p50Us, 2)}×.`
  ].join('\n')
}

function setupSection (results: Record<RelayKind, Outcome<SetupResult>>, fixed: Record<RelayKind, Outcome<SetupResult>>): string {
  const rows: string[][] = []
  const notes: string[] = []
  for (const k of KINDS) {
    for (const [variant, r] of [['the library\'s offer (`actpass`)', results[k]], ['Parley\'s offer (dtls-role.ts: `active`, no ICE server here)', fixed[k]]] as const) {
      if (!r.ok) { notes.push(`- ${RELAY_NAMES[k]}, ${variant}: failed: ${r.error}`); continue }
      for (const [what, samples] of [['relayed dial', r.value.relayedMs], [`WebRTC upgrade over the relayed path, ${variant}`, r.value.webrtcMs]] as const) {
        const s = msStats(samples)
        rows.push([RELAY_NAMES[k], what, String(s.n), fmt(s.mean), fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max), String(samples.filter(ms => ms > 500).length)])
      }
      for (const f of r.value.failures) notes.push(`- ${RELAY_NAMES[k]}, ${variant}: ${f}`)
    }
  }
  return [
    '### Connection setup (fresh peer pairs)\n',
    mdTable(['relay', 'connection', 'dials', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', '> 500 ms'], rows),
    '',
    `Relayed: \`dial(<relay>/p2p-circuit/p2p/<peer>)\` to an open connection, both peers already holding reservations. WebRTC: \`dial(<relay>/p2p-circuit/webrtc/p2p/<peer>)\` over that connection to an open direct connection. Pairs reuse ${SETUP_IDENTITY_PAIRS} pairs of identities (new nodes and connections each time), because a relay keeps a reservation until its TTL (2 h in the library) after its holder leaves. With the library's offer WebRTC setup is bimodal: the answerer (libdatachannel, DTLS client) connects its ICE first on loopback and sends its ClientHello before the offerer's ICE is connected; libdatachannel queues that record but replays it into a DTLS transport not yet Connecting, and it waits for OpenSSL's retransmission 1 s later. With Parley's offer (src/agent/dtls-role.ts, which every Node agent installs) the offerer is the DTLS client wherever no NAT shows in its candidates, as here (no ICE server at all); both run in the same process, one after the other, on the same relay.`,
    ...(notes.length > 0 ? ['', 'Failures:', '', ...notes] : [])
  ].join('\n')
}

function capacitySection (sizes: Sizes, results: Record<RelayKind, Outcome<CapacityResult>>, pidNotes: Record<RelayKind, string>): string {
  const rows: string[][] = []
  const ramps: string[][] = []
  const notes: string[] = []
  for (const k of KINDS) {
    const r = results[k]
    if (!r.ok) { notes.push(`- ${RELAY_NAMES[k]}: failed: ${r.error}`); continue }
    const c = r.value
    const atMax = c.steps[c.steps.length - 1]?.rss ?? NaN
    rows.push([
      RELAY_NAMES[k], mib(c.idleRss),
      `${c.reserved}${c.refused === undefined ? ` (cap, none refused)` : ''}`,
      c.refused === undefined ? '–' : `${c.refusedCount} (${c.refused})`,
      mib(atMax), c.reserved > 0 ? fmt((atMax - c.idleRss) / c.reserved * 1024, 0) : '–',
      `${c.circuitsOpen} / ${c.circuitsTried}${c.relayCountsCircuits === undefined ? '' : ` (relay counts ${c.relayCountsCircuits})`}`,
      mib(c.rssWithCircuits), mib(c.peakRss)
    ])
    ramps.push([RELAY_NAMES[k], c.steps.map(s => `${s.reservations}: ${mib(s.rss)}`).join(' · ')])
    for (const f of c.circuitFailures) notes.push(`- ${RELAY_NAMES[k]} circuit dial: ${f}`)
  }
  return [
    `### Capacity (one relay, ${sizes.target} clients at most, all on 127.0.0.1)\n`,
    mdTable(['relay', 'idle RSS MiB', 'reservations held', 'refused', 'RSS at most reservations MiB', 'KiB per reservation', 'circuits open / tried', 'RSS with circuits MiB', 'peak RSS MiB'], rows),
    '',
    'Relay RSS (MiB) by reservations held:',
    '',
    mdTable(['relay', 'reservations: RSS MiB'], ramps),
    '',
    `Clients step up ${sizes.step} at a time until ${sizes.target} (the bench's cap, not the relay's) or a refusal; then each reserved client dials the next one's circuit address (a ring, one circuit per neighbour pair) and circuits still open a second later are counted. KiB per reservation is (RSS at most reservations − idle RSS) / reservations held: over only 15 it mostly shows the first connections' warm-up. The js-libp2p relay refuses past its library default of 15 reservations; Parley's default is 1024. RSS is VmRSS from /proc/<pid>/status of the relay process: Parley ${pidNotes.parley}; js-libp2p ${pidNotes.plain}.`,
    ...(notes.length > 0 ? ['', 'Failures:', '', ...notes] : [])
  ].join('\n')
}

export async function benchRelay (quick: boolean): Promise<string> {
  const sizes = quick ? QUICK : FULL
  const rtt = {} as Record<RelayKind, Outcome<RoundTripResult>>
  const setup = {} as Record<RelayKind, Outcome<SetupResult>>
  const setupFixed = {} as Record<RelayKind, Outcome<SetupResult>>
  const capacity = {} as Record<RelayKind, Outcome<CapacityResult>>
  const pidNotes = { parley: '?', plain: '?' } as Record<RelayKind, string>
  let long: Outcome<[Result, Result]> | undefined
  try {
    for (const k of KINDS) {
      const latency = await attempt(async () => withRelay(k, async relay => {
        rtt[k] = await attempt(async () => benchRoundTrip(relay, sizes))
        // the same identities for both offers: the library relay has 15 reservation slots
        const identities = await setupIdentities(sizes.pairs)
        restoreOfferRole()
        setup[k] = await attempt(async () => benchSetup(relay, sizes.pairs, identities))
        offerAsDtlsClient()
        setupFixed[k] = await attempt(async () => benchSetup(relay, sizes.pairs, identities))
      }))
      if (!latency.ok) { rtt[k] = latency; setup[k] = latency; setupFixed[k] = latency }
      capacity[k] = await attempt(async () => withRelay(k, async relay => {
        pidNotes[k] = `pid ${relay.pid}, ${relay.pidNote}`
        return benchCapacity(relay, sizes)
      }))
    }
    // a long run, where the library relay's defaults would cut the circuit: against the library relay with Parley's limits
    long = await attempt(async () => withRelay('parley', async (parley) => {
      const raised = await startPlain(true)
      try {
        return await benchInterleaved([parley, raised], { warmup: 200, iterations: quick ? 500 : 3000 })
      } finally {
        await raised.stop()
      }
    }))
  } finally {
    // node-datachannel sometimes leaves a closed data channel's native callback referenced, so
    // the process never exits (murat-dogan/node-datachannel#349); release its threads, as the
    // test suite's `exit: true` does for mocha. Nothing uses WebRTC after this section.
    const { cleanup } = await import('node-datachannel')
    cleanup()
  }
  return [
    `Each relay runs as its own child process on 127.0.0.1, measured in this run. **${RELAY_NAMES.parley}**: \`parley relay\` through the CLI with default limits except \`--max-reservations-per-ip ${RESERVATIONS_PER_IP}\` and \`--inbound-rate ${INBOUND_RATE}\`. **${RELAY_NAMES.plain}**: \`createLibp2p\` with TCP, WebSockets, Noise, Yamux, identify, ping and \`circuitRelayServer()\` with no options (test/bench/plain-relay.ts), except \`connectionManager.inboundConnectionThreshold: ${INBOUND_RATE}\`. All clients share 127.0.0.1, so Parley's per-IP cap of 32 reservations and both relays' per-host inbound rates (Parley 25/s, js-libp2p 5/s, which resets connections with ECONNRESET) would otherwise stop the ramp. Clients are js-libp2p peers in the bench process; WebRTC on loopback, no ICE servers.`,
    '',
    roundTripSection(sizes, rtt),
    '',
    longSection(long),
    '',
    setupSection(setup, setupFixed),
    '',
    capacitySection(sizes, capacity, pidNotes)
  ].join('\n')
}
