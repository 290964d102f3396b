/**
 * `npm run bench -- --only flood`: a legitimate caller's ping round trip to an
 * agent, without and then during an attack, while other agents hold sessions
 * with it. The victim is a `parley agent` child process behind a `parley
 * relay` child process; the caller, the other agents and the attacker run in
 * this process. The attack (the adversarial suite's attacker: a stock
 * js-libp2p node with its own framing) opens sessions that pipeline signed
 * requests as fast as it can write them and streams that never say hello.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent, Session } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { BITS, RawSession, SESSION, createAttacker, frame, startAgentProcess } from '../adversarial/helpers.js'
import type { AgentProcess } from '../adversarial/helpers.js'
import { fmt, mdTable, msStats } from './harness.js'

/** RSS of process `pid` in MiB (Linux). */
async function rssMiB (pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid ?? 0}/status`, 'utf8').catch(() => '')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024
}

async function pings (session: Session, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await session.request('ping', undefined, { timeoutMs: 30_000 })
    out.push(performance.now() - t0)
  }
  return out
}

export async function benchFlood (quick: boolean): Promise<string> {
  const holders = quick ? 4 : 8
  const samples = quick ? 100 : 300
  const attackSessions = quick ? 8 : 16
  const requestsPerSession = quick ? 500 : 2000
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-flood-'))
  const agents: Agent[] = []
  let relay: RelayProcess | undefined
  let victim: AgentProcess | undefined
  let attacker: Libp2p | undefined
  try {
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), args: ['--max-circuits-per-peer', '64'] })
    victim = await startAgentProcess(relay, 'flood-victim', join(dir, 'victim'))
    const start = async (): Promise<Agent> => {
      const a = await createAgent({ relays: [relay?.tcp.toString() ?? ''], powBits: BITS, minPowBits: BITS, webrtc: false })
      agents.push(a)
      await a.start()
      return a
    }
    const caller = await start()
    const session = await caller.connect('@flood-victim')
    for (let i = 0; i < holders; i++) await (await start()).connect('@flood-victim')
    await pings(session, 20) // warm up
    const idleRss = await rssMiB(victim.child.pid)
    const quiet = msStats(await pings(session, samples))

    // the attack: signed requests pipelined on many sessions, and streams that never say hello
    const key: PrivateKey = await generateKeyPair('Ed25519')
    const signer = { peerIdString: peerIdFromPrivateKey(key).toString(), sign: async (data: Uint8Array) => key.sign(data) }
    attacker = await createAttacker(key)
    await attacker.start()
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peer}`), { signal: AbortSignal.timeout(10_000) })
    const requests: Uint8Array[] = []
    for (let i = 0; i < requestsPerSession; i++) {
      requests.push(frame((await signEnvelope(signer, { to: { peer: victim.peer }, body: { jsonrpc: '2.0', id: i, method: 'ping' } })).bytes))
    }
    const raws: RawSession[] = []
    for (let s = 0; s < attackSessions; s++) {
      const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
      if (stream === undefined) continue
      const raw = new RawSession(stream)
      const hello = (await signEnvelope(signer, { to: { peer: victim.peer }, body: { jsonrpc: '2.0', method: 'session/hello', params: { session: `flood-${s}-${Date.now()}` } } })).bytes
      // streams past the victim's sessions-per-peer cap are reset at once
      try { raw.send(hello) } catch { continue }
      raws.push(raw)
    }
    for (let s = 0; s < 50; s++) void connection.newStream(SESSION, { runOnLimitedConnection: true }).catch(() => {})
    let flooding = true
    let sent = 0
    const floods = raws.map(async (raw) => {
      // a fresh envelope id is needed per request (the victim refuses replays): cycle the signed set per session
      for (let i = 0; flooding && i < requests.length; i++) {
        if (raw.isEnded) return
        try {
          if (!raw.stream.send(requests[i] as Uint8Array)) await raw.stream.onDrain().catch(() => {})
        } catch {
          return // closed by the victim
        }
        sent++
      }
    })
    // measured once the attacker's first burst is written (it runs in this process, so its
    // writes would otherwise delay the caller's first ping here, not at the victim)
    await new Promise(resolve => setTimeout(resolve, 1000))
    const during = msStats(await pings(session, samples))
    const floodRss = await rssMiB(victim.child.pid)
    flooding = false
    await Promise.allSettled(floods)
    const alive = victim.alive()

    const row = (name: string, s: ReturnType<typeof msStats>): string[] => [name, fmt(s.p50, 2), fmt(s.p99, 2), fmt(s.max, 1)]
    return [
      `One \`parley relay\` and the victim (\`parley agent\`) as child processes; ${holders} other agents hold sessions with the victim; the caller pings it ${samples} times on one relayed session (no WebRTC). The attacker (in this process) opens ${attackSessions} session streams (${raws.length} took its hello; the victim keeps at most 8 per peer), each pipelining up to ${requestsPerSession} signed \`ping\` requests as fast as the stream takes them (${sent} written by the end of the measurement), and 50 streams that never say hello; the caller's pings start 1 s into the attack.`,
      '',
      mdTable(['caller\'s ping', 'p50 ms', 'p99 ms', 'max ms'], [row('no attack', quiet), row('during the attack', during)]),
      '',
      `Victim RSS: ${fmt(idleRss, 0)} MiB idle, ${fmt(floodRss, 0)} MiB during the attack (${fmt(floodRss / idleRss, 2)}×); victim ${alive ? 'still running' : 'DIED'} afterwards.`
    ].join('\n')
  } finally {
    await Promise.resolve(attacker?.stop()).catch(() => {})
    for (const a of agents) await a.close().catch(() => {})
    await victim?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
}
