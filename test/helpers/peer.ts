/**
 * Plain js-libp2p peers for tests: no Parley code beyond the DHT record
 * validators, no public listen address (reachable only through a relay)
 * unless they run the DHT as a server, WebRTC bound to loopback with no STUN
 * servers.
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { webRTC } from '@libp2p/webrtc'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT, ValidateFn, SelectFn } from '@libp2p/kad-dht'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Multiaddr } from '@multiformats/multiaddr'
import { DHT_PROTOCOL } from '../../src/node/constants.js'

export type TestPeer = Libp2p<{ identify: Identify, ping: Ping, dht: KadDHT }>

export interface TestPeerOptions {
  /** Relays to reserve on (listen on `<relay>/p2p-circuit`). */
  relays?: Multiaddr[]
  /** Also listen for WebRTC (direct upgrade). Default true. */
  webrtc?: boolean
  privateKey?: PrivateKey
  /** Run kad-dht as a server (not in client mode), listening on TCP on 127.0.0.1. Default false. */
  dhtServer?: boolean
  /** Where the node (and a DHT server's records) are kept; default in memory. */
  datastore?: Datastore
  /** DHT validators for the `handle` namespace; default accepts anything, so the relay's checks are what is tested. */
  validators?: Record<string, ValidateFn>
  selectors?: Record<string, SelectFn>
}

export const LOOPBACK_RTC = { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration

export async function createTestPeer (options: TestPeerOptions = {}): Promise<TestPeer> {
  const webrtc = options.webrtc !== false
  return createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    ...(options.datastore === undefined ? {} : { datastore: options.datastore }),
    addresses: {
      listen: [
        ...(options.dhtServer === true ? ['/ip4/127.0.0.1/tcp/0'] : []),
        ...(options.relays ?? []).map(r => r.encapsulate('/p2p-circuit').toString()),
        ...(webrtc ? ['/webrtc'] : [])
      ]
    },
    transports: [tcp(), webSockets(), circuitRelayTransport(), ...(webrtc ? [webRTC({ rtcConfiguration: LOOPBACK_RTC })] : [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        clientMode: options.dhtServer !== true,
        peerInfoMapper: passthroughMapper,
        validators: options.validators ?? { handle: () => {} },
        selectors: options.selectors ?? { handle: () => 0 }
      })
    }
  })
}

/**
 * Test peers for the calling suite: returns a function that creates one
 * (with `options`; no WebRTC by default), and registers an `afterEach` hook
 * that stops every peer created during the test.
 */
export function testPeersPerTest (options: TestPeerOptions = { webrtc: false }): () => Promise<TestPeer> {
  const peers: TestPeer[] = []
  afterEach(async () => {
    await Promise.all(peers.splice(0).map(async p => p.stop()))
  })
  return async () => {
    const p = await createTestPeer(options)
    peers.push(p)
    return p
  }
}

/** Resolves when `peer` advertises a circuit address through `relayId` (its reservation is in place). */
export async function waitForReservation (peer: Libp2p, relayId: string, timeoutMs = 10_000): Promise<Multiaddr> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const addr = peer.getMultiaddrs().find(a => a.toString().includes(`/p2p/${relayId}/p2p-circuit`) && !a.toString().includes('/webrtc'))
    if (addr !== undefined) return addr
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`no reservation on ${relayId} within ${timeoutMs} ms; addresses: ${peer.getMultiaddrs().map(String).join(', ')}`)
}
