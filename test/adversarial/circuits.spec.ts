/**
 * More relayed circuits and reservations than a `parley relay` process
 * allows: one peer opening circuits beyond `--max-circuits-per-peer` to an
 * agent (a new connection each, `force`), and peers reserving beyond the
 * relay's total `--max-reservations`. The excess is refused (the circuit
 * with `PERMISSION_DENIED`, counted as `circuit_denied_peer` in `/metrics`;
 * the reservation with `RESERVATION_REFUSED`), the relay never holds more
 * than its limits, stays up within its memory bound, and legitimate agents
 * are still served: one reserved before the flood is still called through
 * it, and once the flood's holders leave a new agent reserves and is called.
 * (Per-IP reservations and reservation rates: relay-churn.spec.ts.) The
 * attackers are stock js-libp2p nodes (TCP, Noise, yamux, identify, circuit
 * relay transport); circuits are asked for one after another, since
 * js-libp2p joins concurrent dials of one address into one connection,
 * `force` or not.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection, Libp2p } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess, metric } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { BITS, createAttacker, rssOf, startAgentProcess, underFlood } from './helpers.js'
import type { AgentProcess } from './helpers.js'

/** The relay's limits in this test (its flags). */
const CIRCUITS_PER_PEER = 3
const MAX_RESERVATIONS = 4

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('circuits and reservations beyond a parley relay process\'s limits', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let callee: AgentProcess
  let client: Agent
  const agents: Agent[] = []
  let idle: number
  const handle = `callee-${Math.random().toString(36).slice(2, 8)}`
  const options = (): { relays: string[], powBits: number, minPowBits: number, webrtc: false, presence: false } =>
    ({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, presence: false })

  const reservations = async (): Promise<number> => (await (await fetch(relay.httpUrl + '/healthz')).json() as { reservations: number }).reservations
  const decision = async (name: string): Promise<number> => metric(relay.httpUrl, 'parley_relay_circuit_decisions_total', `decision="${name}"`)

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adv-circuits-'))
    relay = await startRelayProcess({
      dataDir: join(dir, 'relay'),
      minPowBits: BITS,
      args: [
        '--max-circuits-per-peer', String(CIRCUITS_PER_PEER),
        '--max-reservations', String(MAX_RESERVATIONS),
        // so that the total, not the per-IP cap or rate, is what the flood meets (everyone is on 127.0.0.1)
        '--max-reservations-per-ip', '32',
        '--reservation-rate-per-ip', '600',
        '--reservation-rate-per-peer', '10'
      ]
    })
    callee = await startAgentProcess(relay, handle, join(dir, handle))
    client = await createAgent(options())
    agents.push(client)
    await client.start()
    await calls(handle)
    idle = rssOf(relay.child.pid ?? 0)
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.stop()))
    await callee?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  /** The client calls `@name` through the relay and gets `pong`. */
  async function calls (name: string): Promise<void> {
    expect(relay.child.exitCode, `the relay exited:\n${relay.stderr().slice(-3000)}`).to.equal(null)
    const session = await client.connect(`@${name}`)
    try {
      expect(await session.request('ping')).to.equal('pong')
    } finally {
      await session.close()
    }
  }

  it(`refuses a peer's circuits beyond ${CIRCUITS_PER_PEER} with PERMISSION_DENIED, counts them, and others still call through it`, async () => {
    const attacker = await createAttacker(await generateKeyPair('Ed25519'))
    const deniedBefore = await decision('circuit_denied_peer')
    const tries = CIRCUITS_PER_PEER + 12
    try {
      const outcomes = await underFlood(`${tries} circuits from one peer`, relay.child.pid ?? 0, idle, async () => {
        const out: Array<PromiseSettledResult<Connection>> = []
        // one at a time: each circuit is open before the next is asked for
        for (let i = 0; i < tries; i++) {
          out.push(...await Promise.allSettled([attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${callee.peer}`), { force: true, signal: AbortSignal.timeout(10_000) })]))
        }
        return out
      })
      const open = outcomes.filter(o => o.status === 'fulfilled')
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
      expect(open, 'circuits granted').to.have.length(CIRCUITS_PER_PEER)
      expect(refused, 'circuits refused').to.have.length(tries - CIRCUITS_PER_PEER)
      for (const r of refused) expect(String((r.reason as Error).message)).to.include('PERMISSION_DENIED')
      expect(await decision('circuit_denied_peer') - deniedBefore, 'counted as circuit_denied_peer').to.equal(tries - CIRCUITS_PER_PEER)
      expect(attacker.getConnections(callee.peer as never).filter(c => c.status === 'open').length, 'the attacker\'s open circuits').to.equal(CIRCUITS_PER_PEER)
      // another peer is not held to the attacker's count
      await calls(handle)
    } finally {
      await attacker.stop()
    }
    expect(callee.alive()).to.equal(true)
  })

  it(`refuses reservations beyond the relay's total of ${MAX_RESERVATIONS} with RESERVATION_REFUSED; a reserved agent is still called, and a new one reserves once the flood's holders leave`, async () => {
    await sleep(500)
    expect(await reservations(), 'the callee\'s and the client\'s').to.equal(2)
    const held: Libp2p[] = []
    const refusals: string[] = []
    const tries = MAX_RESERVATIONS + 4
    try {
      await underFlood(`${tries} reservations against a total of ${MAX_RESERVATIONS}`, relay.child.pid ?? 0, idle, async () => {
        for (let i = 0; i < tries; i++) {
          const node = await createAttacker(undefined, { reserveOn: relay.tcp, start: false })
          try {
            await node.start()
            held.push(node)
          } catch (err) {
            refusals.push(String((err as Error).message))
            await node.stop()
          }
        }
      })
      expect(held, 'reservations granted to the flood').to.have.length(MAX_RESERVATIONS - 2)
      expect(refusals, 'reservations refused').to.have.length(tries - (MAX_RESERVATIONS - 2))
      for (const r of refusals) expect(r).to.include('RESERVATION_REFUSED')
      expect(await reservations(), 'reservations held').to.equal(MAX_RESERVATIONS)
      // an agent that reserved before the flood is still called through the relay
      await calls(handle)
    } finally {
      await Promise.all(held.map(async n => n.stop()))
    }
    // the flood's holders have gone: their slots are free at once, and a new agent reserves and is called
    const deadline = Date.now() + 5000
    while (await reservations() !== 2) {
      if (Date.now() > deadline) throw new Error(`the relay still holds ${await reservations()} reservations`)
      await sleep(50)
    }
    const late = `late-${Math.random().toString(36).slice(2, 8)}`
    const newcomer = await createAgent({ ...options(), handle: late })
    agents.push(newcomer)
    await newcomer.start()
    expect(await reservations()).to.equal(3)
    await calls(late)
    expect(callee.alive()).to.equal(true)
  })
})
