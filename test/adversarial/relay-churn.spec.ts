/**
 * Reservation churn against a `parley relay` child process: an attacker on
 * 127.0.0.1 connects, reserves a slot and disconnects, again and again, each
 * time under a fresh peer id. The circuit relay v2 server alone keeps every
 * such reservation for its whole TTL, so the relay fills and the next real
 * agent cannot come online. The relay must release a reservation when its
 * holder leaves, count reservations (not connected peers) against the per-IP
 * cap, and refuse reservations beyond the per-IP and per-peer rates; a
 * legitimate agent must then still reserve and be called.
 *
 * The attacker is a stock js-libp2p node (TCP, Noise, yamux, identify, circuit
 * relay transport) listening on `<relay>/p2p-circuit`: starting it makes the
 * reservation, and a refusal fails its start with the relay's status.
 * Small limits come from the relay's flags so the whole run takes seconds.
 * The relay's RSS during the floods stays below 1.5 times its idle figure.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { startRelayProcess, metric } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { BITS, createAttacker, rssOf, sampleRss, underFlood, withinBound } from './helpers.js'

/** The relay's limits in this test (its flags). */
const MAX_RESERVATIONS = 6
const PER_IP = 4
/** New reservations per minute per IP: one a second, after a burst of PER_IP. */
const IP_RATE = 60
const PEER_RATE = 2
const CHURN_CYCLES = 20

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A reservation attempt: the attacker node (started if granted, stopped if not) and the outcome. */
interface Attempt { node: Libp2p, granted: boolean }

describe('relay reservation churn from one IP', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  const agents: Agent[] = []
  /** When the first test began spending the IP's burst (before its first reservation). */
  let burstStart = 0
  /** The relay's RSS once warmed up (a peer connected, identified and left). */
  let idle = 0

  const reservations = async (): Promise<number> => {
    const health = await (await fetch(relay.httpUrl + '/healthz')).json() as { reservations: number }
    return health.reservations
  }
  const decision = async (name: string): Promise<number> => metric(relay.httpUrl, 'parley_relay_circuit_decisions_total', `decision="${name}"`)
  /** Waits until the relay holds `n` reservations; returns how long that took. */
  const settle = async (n: number, timeoutMs = 3000): Promise<number> => {
    const t0 = Date.now()
    while (await reservations() !== n) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`the relay holds ${await reservations()} reservations, not ${n}, after ${timeoutMs} ms`)
      await sleep(25)
    }
    return Date.now() - t0
  }

  /** Connects a stock js-libp2p node that reserves on the relay; a refusal stops it again. */
  const reserve = async (privateKey?: PrivateKey): Promise<Attempt> => {
    const node = await createAttacker(privateKey, { reserveOn: relay.tcp, start: false })
    try {
      await node.start()
    } catch (err) {
      await node.stop()
      if (!String((err as Error).message).includes('PERMISSION_DENIED')) throw err
      return { node, granted: false }
    }
    expect(node.getMultiaddrs().some(a => a.toString().includes(`/p2p/${relay.peerId}/p2p-circuit`)), 'a granted attacker has a circuit address').to.equal(true)
    return { node, granted: true }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-churn-'))
    relay = await startRelayProcess({
      dataDir: join(dir, 'relay'),
      minPowBits: BITS,
      args: [
        '--max-reservations', String(MAX_RESERVATIONS),
        '--max-reservations-per-ip', String(PER_IP),
        '--reservation-rate-per-ip', String(IP_RATE),
        '--reservation-rate-per-peer', String(PEER_RATE)
      ]
    })
    // warm up: a peer connects and identifies (no reservation: those are counted), then leaves
    const warm = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionGater: { denyDialMultiaddr: () => false }, services: { identify: identify() } })
    await warm.dial(relay.tcp)
    await sleep(500)
    await warm.stop()
    idle = rssOf(relay.child.pid ?? 0)
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.stop()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('counts held reservations against the per-IP cap, and releases them when their holders leave', async () => {
    const held: Libp2p[] = []
    burstStart = Date.now()
    const sampler = sampleRss(relay.child.pid ?? 0)
    try {
      for (let i = 0; i < PER_IP; i++) {
        const attempt = await reserve()
        expect(attempt.granted, `reservation ${i + 1} of ${PER_IP}`).to.equal(true)
        held.push(attempt.node)
      }
      expect(await reservations()).to.equal(PER_IP)
      const over = await reserve()
      expect(over.granted, 'one more than the per-IP cap').to.equal(false)
      expect(await decision('reservation_denied_ip')).to.equal(1)
      expect(await reservations()).to.equal(PER_IP)
    } finally {
      await Promise.all(held.map(async n => n.stop()))
    }
    const ms = await settle(0)
    withinBound(`${PER_IP + 1} reservations from one IP`, idle, sampler.stop())
    console.log(`      ${PER_IP} reservations released ${ms} ms after their holders left`)
    expect(await decision('reservation_released')).to.equal(PER_IP)
  })

  it('refuses connect-reserve-disconnect cycles beyond the per-IP rate and never holds more than the cap', async () => {
    // the first test spent the IP's burst; since then it has earned one reservation a second
    const since = Date.now()
    const deniedBefore = await decision('reservation_denied_ip_rate')
    const releasedBefore = await decision('reservation_released')
    let granted = 0
    let most = 0
    await underFlood(`${CHURN_CYCLES} connect-reserve-disconnect cycles`, relay.child.pid ?? 0, idle, async () => {
      for (let i = 0; i < CHURN_CYCLES; i++) {
        const attempt = await reserve()
        if (attempt.granted) {
          granted++
          most = Math.max(most, await reservations())
          await attempt.node.stop()
        }
        most = Math.max(most, await reservations())
      }
    })
    const end = Date.now()
    const elapsed = end - since
    await settle(0)
    const denied = await decision('reservation_denied_ip_rate') - deniedBefore
    // the bucket was full when the burst began; the burst took all of it, and what the IP has
    // earned since then is all the churn can have had
    const allowed = Math.floor((end - burstStart) * IP_RATE / 60_000)
    console.log(`      ${CHURN_CYCLES} cycles in ${elapsed} ms: ${granted} granted (rate allows ${allowed}), ${denied} refused, at most ${most} held at once`)
    expect(granted + denied).to.equal(CHURN_CYCLES)
    expect(granted).to.be.at.most(allowed)
    expect(denied).to.be.at.least(CHURN_CYCLES - allowed)
    expect(most, 'reservations held during the churn').to.be.at.most(PER_IP)
    expect(await decision('reservation_released') - releasedBefore).to.equal(granted)
  })

  it('refuses one peer beyond the per-peer rate', async () => {
    await sleep(2 * 60_000 / IP_RATE + 500) // the IP earns the two reservations this needs
    const key = await generateKeyPair('Ed25519')
    const deniedBefore = await decision('reservation_denied_peer_rate')
    const outcomes: boolean[] = []
    for (let i = 0; i <= PEER_RATE; i++) {
      const attempt = await reserve(key)
      outcomes.push(attempt.granted)
      if (attempt.granted) await attempt.node.stop()
    }
    expect(outcomes).to.deep.equal([...Array(PEER_RATE).fill(true), false])
    expect(await decision('reservation_denied_peer_rate') - deniedBefore).to.equal(1)
    await settle(0)
  })

  it('lets a legitimate agent reserve and be called afterwards', async () => {
    await sleep(2 * 60_000 / IP_RATE + 500) // two agents, two reservations from 127.0.0.1
    const options = { relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC, webrtc: false, presence: false }
    const handle = `survivor-${Math.random().toString(36).slice(2, 8)}`
    const callee = await createAgent({ ...options, handle })
    agents.push(callee)
    await callee.start()
    const caller = await createAgent(options)
    agents.push(caller)
    await caller.start()
    // a caller without a handle is ready once its relay answers; its reservation follows
    for (let deadline = Date.now() + 10_000; await reservations() < 2 && Date.now() < deadline;) await sleep(50)
    expect(await reservations()).to.equal(2)
    const session = await caller.connect(`@${handle}`)
    expect(session.remotePeer).to.equal(callee.peerId)
    expect(await session.request('ping')).to.equal('pong')
    expect(await decision('reservation_denied_ip')).to.equal(1)
  })
})
