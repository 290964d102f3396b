/**
 * Latency through a relay, for test peers (test/helpers/peer.ts: no public
 * address, reservation on the relay, WebRTC on loopback without ICE servers).
 *
 * - Round trip: peer A handles an echo protocol on limited connections; B
 *   dials A's circuit address, opens ONE stream and times N round trips of
 *   300 bytes on it (harness `measure()`); then B dials A's WebRTC address
 *   (signalled over the relay), opens one stream on the direct connection and
 *   times the same echo. Finally B keeps echoing on the relayed stream until
 *   the relay cuts the circuit or a cap is reached, which shows the circuit
 *   data limit.
 * - Setup: for fresh peer pairs, the time from `dial(<circuit addr>)` to an
 *   open relayed connection, then from `dial(<WebRTC addr>)` over that path
 *   to an open direct connection.
 *
 * Reservations outlive their holders (the relay keeps a slot until its TTL,
 * 2 h in the library), so the js-libp2p relay's 15 slots cannot serve 20
 * fresh peer ids: setup pairs reuse a few identities (new nodes, new
 * connections, refreshed reservations) on both relays alike.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createTestPeer, waitForReservation } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'
import { measure, resultOf, errorText } from './harness.js'
import type { Result } from './harness.js'
import type { BenchRelay } from './relay-procs.js'
import { ECHO, EchoClient, handleEcho } from './relay-util.js'

/** Identities reused by the setup pairs; with the round-trip pair, 14 reservations (the library relay holds 15). */
export const SETUP_IDENTITY_PAIRS = 6

export interface RoundTripOptions { warmup: number, iterations: number, webrtcIterations: number, enduranceCap: number }
export interface RoundTripResult { relayed: Result, webrtc: Result, roundTripsOnCircuit: number, cut: string | undefined }

/** A's WebRTC address through the relay, once advertised. */
async function webrtcAddr (peer: TestPeer, relay: BenchRelay, timeoutMs = 10_000): Promise<Multiaddr> {
  const deadline = Date.now() + timeoutMs
  const prefix = relay.tcp.toString() + '/p2p-circuit/webrtc/'
  while (Date.now() < deadline) {
    const addr = peer.getMultiaddrs().find(m => m.toString().startsWith(prefix))
    if (addr !== undefined) return addr
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`no WebRTC address through ${relay.name} within ${timeoutMs} ms`)
}

/** Two fresh peers on `relay` (added to `peers`, for the caller to stop): A echoes, B holds one relayed echo stream to it. */
async function relayedPair (relay: BenchRelay, peers: TestPeer[]): Promise<{ a: TestPeer, b: TestPeer, relayedConn: Connection, relayedEcho: EchoClient }> {
  const a = await createTestPeer({ relays: [relay.tcp] })
  peers.push(a)
  const b = await createTestPeer({ relays: [relay.tcp] })
  peers.push(b)
  await handleEcho(a)
  const circuit = await waitForReservation(a, relay.peerId)
  const relayedConn = await b.dial(circuit, { signal: AbortSignal.timeout(10_000) })
  const relayedEcho = new EchoClient(await relayedConn.newStream(ECHO, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) }))
  return { a, b, relayedConn, relayedEcho }
}

export async function benchRoundTrip (relay: BenchRelay, options: RoundTripOptions): Promise<RoundTripResult> {
  const peers: TestPeer[] = []
  try {
    const { a, b, relayedConn, relayedEcho } = await relayedPair(relay, peers)
    const relayed = await measure(`${relay.name}: relayed`, async () => relayedEcho.roundTrip(), { warmup: options.warmup, iterations: options.iterations })

    const direct = await b.dial(await webrtcAddr(a, relay), { signal: AbortSignal.timeout(15_000) })
    if (!direct.remoteAddr.toString().includes('/webrtc')) throw new Error(`expected a WebRTC connection, got ${direct.remoteAddr.toString()}`)
    const directEcho = new EchoClient(await direct.newStream(ECHO, { signal: AbortSignal.timeout(10_000) }))
    const webrtc = await measure(`${relay.name}: direct WebRTC after the upgrade`, async () => directEcho.roundTrip(), { warmup: options.warmup, iterations: options.webrtcIterations })

    // keep using the relayed stream until the relay cuts the circuit (data or time limit) or the cap
    let roundTripsOnCircuit = options.warmup + options.iterations
    let cut: string | undefined
    while (roundTripsOnCircuit < options.enduranceCap) {
      try {
        await relayedEcho.roundTrip()
        roundTripsOnCircuit++
      } catch (err) {
        cut = `${errorText(err)}; relayed connection ${relayedConn.status}`
        break
      }
    }
    return { relayed, webrtc, roundTripsOnCircuit, cut }
  } finally {
    await Promise.allSettled(peers.map(async p => p.stop()))
  }
}

export interface SetupResult { relayedMs: number[], webrtcMs: number[], failures: string[] }

/** The identity pairs setup runs reuse (pass the same ones to every run on one relay: its reservation slots are few). */
export async function setupIdentities (pairs: number): Promise<Array<[PrivateKey, PrivateKey]>> {
  const identities: Array<[PrivateKey, PrivateKey]> = []
  for (let i = 0; i < Math.min(pairs, SETUP_IDENTITY_PAIRS); i++) identities.push([await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')])
  return identities
}

export async function benchSetup (relay: BenchRelay, pairs: number, identities?: Array<[PrivateKey, PrivateKey]>): Promise<SetupResult> {
  identities ??= await setupIdentities(pairs)
  const result: SetupResult = { relayedMs: [], webrtcMs: [], failures: [] }
  for (let i = 0; i < pairs; i++) {
    const [ka, kb] = identities[i % identities.length] as [PrivateKey, PrivateKey]
    const peers: TestPeer[] = []
    try {
      const a = await createTestPeer({ relays: [relay.tcp], privateKey: ka })
      peers.push(a)
      const b = await createTestPeer({ relays: [relay.tcp], privateKey: kb })
      peers.push(b)
      const circuit = await waitForReservation(a, relay.peerId)
      await waitForReservation(b, relay.peerId)
      const webrtc = await webrtcAddr(a, relay)

      let t0 = performance.now()
      await b.dial(circuit, { signal: AbortSignal.timeout(10_000) })
      result.relayedMs.push(performance.now() - t0)

      t0 = performance.now()
      await b.dial(webrtc, { signal: AbortSignal.timeout(15_000) })
      result.webrtcMs.push(performance.now() - t0)
    } catch (err) {
      result.failures.push(`pair ${i}: ${errorText(err)}`)
    } finally {
      await Promise.allSettled(peers.map(async p => p.stop()))
    }
  }
  return result
}

/** Round trips through two relays, measured alternately (one on each, again and again), so that load changes hit both alike. */
export async function benchInterleaved (relays: [BenchRelay, BenchRelay], options: { warmup: number, iterations: number }): Promise<[Result, Result]> {
  const peers: TestPeer[] = []
  try {
    const clients: EchoClient[] = []
    for (const relay of relays) clients.push((await relayedPair(relay, peers)).relayedEcho)
    const [x, y] = clients as [EchoClient, EchoClient]
    for (let i = 0; i < options.warmup; i++) { await x.roundTrip(); await y.roundTrip() }
    const samples: [number[], number[]] = [[], []]
    for (let i = 0; i < options.iterations; i++) {
      for (const [k, c] of [[0, x], [1, y]] as const) {
        const t0 = process.hrtime.bigint()
        await c.roundTrip()
        samples[k].push(Number(process.hrtime.bigint() - t0) / 1000)
      }
    }
    return [resultOf(`${relays[0].name}: relayed`, samples[0]), resultOf(`${relays[1].name}: relayed`, samples[1])]
  } finally {
    await Promise.allSettled(peers.map(async p => p.stop()))
  }
}
