/**
 * The full nine-turn `book-plumber` negotiation (src/demo/plumbing.ts:
 * three information requests, a propose and three counters carried as
 * signed transitions, two more requests; both directions on one session),
 * timed end to end between two agents in this process, over a relayed
 * circuit (agents with `webrtc: false`) and over WebRTC (after the
 * session's upgrade), against one `parley relay` child process on
 * 127.0.0.1. Everything an agent does is on the path: envelopes signed and
 * verified, transitions signed and verified, policy verdicts, negotiations
 * saved, every envelope appended to the signed event log (in memory). Each
 * run's negotiation is cancelled after it is timed: a node takes only so
 * many open negotiations from one peer.
 * The two agents know each other (trust level 1). Target: under 25 ms p50
 * on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent, Session } from '../../src/agent/index.js'
import { nineTurns, serveAssistant, servePlumber } from '../../src/demo/plumbing.js'
import { nextEvent, within } from './agent-util.js'
import { errorText, mdTable, msStats } from './harness.js'
import type { MsStats } from './harness.js'

const POW_BITS = 8
const TARGET_MS = 25

export async function benchNegotiation (quick: boolean): Promise<string> {
  const reps = quick ? 20 : 200
  const warmup = quick ? 5 : 20
  const run = Date.now().toString(36)
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-negotiation-'))
  const agents: Agent[] = []
  let relay: RelayProcess | undefined
  const out: string[] = []
  const rows: string[][] = []
  const verdicts: string[] = []
  try {
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    const relayAddr = relay.tcp.toString()
    for (const mode of ['relayed circuit', 'WebRTC'] as const) {
      try {
        const webrtc = mode === 'WebRTC'
        const start = async (handle: string): Promise<Agent> => {
          const a = await createAgent({ handle, relays: [relayAddr], powBits: POW_BITS, minPowBits: POW_BITS, rtcConfiguration: LOOPBACK_RTC, webrtc })
          agents.push(a)
          await within(a.start(), 20_000, 'agent start')
          return a
        }
        const plumber = await start(`bp-plumber-${run}-${webrtc ? 'w' : 'r'}`)
        const assistant = await start(`bp-assistant-${run}-${webrtc ? 'w' : 'r'}`)
        servePlumber(plumber)
        serveAssistant(assistant)
        // known to each other: a stranger's frames are paced (200 a second after a burst), which
        // runs back to back exceed; the pacing is the flood bench's subject, not this one's
        await plumber.setTrust(assistant.peerId, 1)
        await assistant.setTrust(plumber.peerId, 1)
        const session = await assistant.connect(`@${plumber.handleName ?? ''}`)
        if (webrtc) await nextEvent(session, 'upgrade', 25_000)
        const back = [...plumber.sessions].find(s => s.remotePeer === assistant.peerId && !s.closed) as Session
        const samples: number[] = []
        for (let i = 0; i < warmup + reps; i++) {
          const t0 = performance.now()
          const id = await nineTurns(assistant, plumber, session, back)
          if (i >= warmup) samples.push(performance.now() - t0)
          // untimed: the exchange leaves the negotiation open, and the plumber takes at most
          // quotas.negotiationsPerPeer (10 for a stranger) open ones from one peer
          await assistant.negotiations.move(id, 'cancel', { reason: 'bench run over' })
        }
        const s: MsStats = msStats(samples)
        rows.push([mode, String(s.n), s.p50.toFixed(2), s.p99.toFixed(2), s.mean.toFixed(2), s.min.toFixed(2)])
        verdicts.push(`${mode}: p50 ${s.p50.toFixed(2)} ms (target < ${TARGET_MS} ms: ${s.p50 < TARGET_MS ? 'met' : 'MISSED'})`)
      } catch (err) {
        rows.push([mode, 'failed', errorText(err), '', '', ''])
      }
      await Promise.allSettled(agents.splice(0).map(async a => within(a.close(), 5000, 'agent close')))
    }
    out.push(`Two agents in this process that know each other (trust level 1), one \`parley relay\` child process on 127.0.0.1; ${warmup} warm-up runs, then ${reps} timed runs of the nine turns, each a new negotiation on the same session. ${quick ? 'Quick run.' : 'Full run.'}`, '')
    out.push(mdTable(['connection', 'runs', 'p50 ms', 'p99 ms', 'mean ms', 'min ms'], rows))
    out.push('', `Targets: ${verdicts.join('; ')}.`)
  } finally {
    await Promise.allSettled(agents.map(async a => a.close()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
  return out.join('\n')
}
