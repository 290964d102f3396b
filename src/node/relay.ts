/**
 * The relay node: a long-running libp2p peer that other Parley peers reserve
 * slots on, dial each other through, and store handle records with.
 *
 * Services: TCP and WebSocket listeners (the WebSocket one bounded, and on
 * TLS when given a certificate: websockets.ts), Noise, Yamux, identify, ping,
 * circuit relay v2 server (limits sized for agents, see relay-limits.ts; a
 * reservation is released when its holder's last connection closes),
 * Kademlia DHT in server mode on Parley's protocol id with the handle-record
 * validator, selector and first-come-first-served guard (its routing table
 * and answers naming only the DHT servers it trusts, see dht-trust.ts), and
 * gossipsub with presence peer scoring (presence/scoring.ts), and a STUN
 * server on UDP (stun.ts) announced to clients on `/parley/stun/1.0.0`
 * (stun-announce.ts), so that agents behind NATs learn their public address,
 * and the mailbox (protocols/mailbox, mailbox/server.ts) keeping sealed mail
 * for offline agents whose handle records list this relay.
 * State (peer store, DHT records, mail) lives in a LevelDB datastore in the data
 * directory next to the identity, so the peer id, addresses and records
 * survive restarts, including `kill -9`.
 *
 * Inside this package (`createRelayNode` is not a public export; `parley relay` runs it):
 *
 * ```ts
 * const relay = await createRelayNode({ dataDir: './.parley/relay', listen: ['/ip4/127.0.0.1/tcp/4001'] })
 * console.log(relay.multiaddrs().map(String))
 * await relay.stop()
 * ```
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { kadDHT } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { bootstrap } from '@libp2p/bootstrap'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { LevelDatastore } from 'datastore-level'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Registry } from 'prom-client'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import { loadOrCreateIdentity } from '../identity/index.js'
import type { Identity } from '../identity/index.js'
import { DEFAULT_POW_BITS } from '../handles/pow.js'
import { DHT_PROTOCOL } from './constants.js'
import { DEFAULT_RELAY_LIMITS, relayGater, releaseReservationsOfLeavers } from './relay-limits.js'
import { forgetLeavers } from './forget-leavers.js'
import type { RelayLimits } from './relay-limits.js'
import { guardHandleRecords, parleyDhtConfig } from './record-guard.js'
import { Tally } from '../util/tally.js'
import { registerRelayMetrics } from './relay-metrics.js'
import { CircuitTracker } from './circuits.js'
import { HandleStore } from './handle-store.js'
import { Presence } from '../presence/presence.js'
import { CardBoard } from '../presence/cards.js'
import { presenceGossipsubOptions } from '../presence/scoring.js'
import { lookupHandle } from '../handles/lookup.js'
import { p2pPeerOf } from '../util/multiaddr.js'
import { forgetUntrustedDhtPeers, trustedDhtMapper } from './dht-trust.js'
import { startStunServer } from './stun.js'
import type { StunLimits, StunServer } from './stun.js'
import { serveStunAnnouncement } from './stun-announce.js'
import { checkTls, relayWebSockets, webSocketListenAddrs } from './websockets.js'
import { mailboxServer } from '../mailbox/server.js'
import type { MailboxServer, MailboxServerInit } from '../mailbox/server.js'
import type { WebSocketTls } from './websockets.js'

const log = logger('parley:relay')

export interface RelayNodeOptions {
  /** Holds `identity.json` and the `datastore/` LevelDB directory. */
  dataDir: string
  /** Listen addresses (default: TCP 4001 and WebSocket 4002 on all interfaces). */
  listen?: string[]
  /**
   * A certificate chain and key (PEM text) for the WebSocket listener: each `/ws` listen address
   * is then served with TLS, as `/tls/ws`, as browsers on `https://` pages need (relay/README.md).
   * Without it, a `/tls/ws` or `/wss` listen address is refused (`ERR_INVALID_OPTIONS`); a
   * certificate and key that do not match fail with `ERR_BAD_TLS`.
   */
  wsTls?: WebSocketTls
  /** Addresses to announce instead of the listen addresses (public IP, DNS name). */
  announce?: string[]
  /** Other relays to join: their multiaddrs, with `/p2p/<id>`. They are trusted DHT servers. */
  bootstrap?: string[]
  /**
   * Peer ids of other relays to trust as DHT servers without bootstrapping from them (e.g. relays
   * that bootstrap from this one). Only this relay, its bootstrap relays and these enter its DHT
   * routing table and its answers, and only their answers count when it resolves a handle
   * (protocols/handle-record §15).
   */
  dhtServers?: string[]
  /** Resource limits; unset fields take {@link DEFAULT_RELAY_LIMITS}. */
  limits?: Partial<RelayLimits>
  /** Least proof-of-work difficulty accepted for handle records (default DEFAULT_POW_BITS). */
  minPowBits?: number
  /**
   * Keep only public addresses in DHT routing (for relays on the internet). Off by
   * default so that relays on a LAN or loopback work.
   */
  dhtPublicOnly?: boolean
  /** Register Prometheus metrics (default true). */
  metrics?: boolean
  /** Route and check presence announcements on gossipsub (default true). */
  presence?: boolean
  /** How long after a peer's last connection closed its peer store record is deleted (default 10 min; trusted relays are kept). */
  forgetPeersAfterMs?: number
  /**
   * UDP port to answer STUN Binding requests on, bound on the IP addresses of
   * `listen`, and announced to clients (protocols/stun). Default none here;
   * `parley relay` serves it on `DEFAULT_STUN_PORT` (3478) unless told 0.
   */
  stunPort?: number
  /** Rates bounding the STUN server's answers; unset fields take `DEFAULT_STUN_LIMITS`. */
  stunLimits?: Partial<StunLimits>
  /**
   * The mailbox (protocols/mailbox): on by default, keeping sealed mail for
   * agents whose handle records list this relay; its TTL, largest message and
   * quotas, or `false` for none.
   */
  mailbox?: false | Pick<MailboxServerInit, 'ttlMs' | 'maxMessageBytes' | 'quotas' | 'sweepIntervalMs' | 'clock'>
}

/** Where a relay listens unless told otherwise: loopback only (a relay for other machines listens on `/ip4/0.0.0.0/…`, see relay/README.md). */
export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4002/ws']

/** The libp2p services a relay node runs. */
export type RelayServices = {
  /** The identify protocol: exchanges addresses and protocols with each peer. */
  identify: Identify
  /** libp2p ping, used to check connections are alive. */
  ping: Ping
  /** The circuit relay v2 server that grants reservations and relays circuits. */
  relay: CircuitRelayService
  /** The Kademlia DHT in server mode, storing handle records. */
  dht: KadDHT
  /** Gossipsub, carrying presence announcements. */
  pubsub: GossipSub
  /**
   * The mailbox (protocols/mailbox), unless turned off (`mailbox: false`).
   *
   * @internal until `src/mailbox` is a documented entry point (typedoc.json)
   */
  mailbox?: MailboxServer
}

/** A running relay node (the demo's `startMesh` starts one; {@link relaySource} shows it on the dashboard). */
export interface RelayNode {
  /** The underlying libp2p node. */
  readonly libp2p: Libp2p<RelayServices>
  /** The relay's identity, kept in its data directory. */
  readonly identity: Identity
  /** The relay's peer id. */
  readonly peerId: PeerId
  /** The resource limits in force (the defaults, overridden by the options). */
  readonly limits: RelayLimits
  /** Refused handle records by error code. */
  readonly rejections: Tally
  /**
   * Gater decisions: `circuit_allowed`, `circuit_denied_peer`, `reservation_denied_ip`,
   * `reservation_denied_ip_rate`, `reservation_denied_peer_rate`, `connection_denied_ip`, and `reservation_released`
   * (a reservation dropped because its holder disconnected).
   */
  readonly decisions: Tally
  /** Bytes relayed through circuits: `from_source`, `to_source` (counted when metrics are on). */
  readonly relayedBytes: Tally
  /** The Prometheus registry holding this node's metrics (undefined when metrics are off). */
  readonly registry: Registry | undefined
  /** The handle records this relay stores, read back and checked. */
  readonly handles: HandleStore
  /** Presence announcements seen on gossipsub (undefined when presence is off). */
  readonly presence: Presence | undefined
  /** When the node started, ms since the Unix epoch. */
  readonly started: number
  /** Circuits relayed now, between whom. */
  readonly circuits: CircuitTracker
  /** The STUN server, when one runs (`stunPort`). */
  readonly stun: StunServer | undefined
  /** What the STUN server did with each datagram: `answered`, `denied_ip_rate`, `denied_rate`, `malformed`, `not_binding`, `bad_fingerprint`. */
  readonly stunRequests: Tally
  /** Dialable addresses, each ending in `/p2p/<peer id>`. */
  multiaddrs: () => Multiaddr[]
  /** Stops the node and closes its datastore. */
  stop: () => Promise<void>
}

/** Creates and starts a relay node. */
export async function createRelayNode (options: RelayNodeOptions): Promise<RelayNode> {
  const limits: RelayLimits = { ...DEFAULT_RELAY_LIMITS, ...options.limits }
  if (options.wsTls !== undefined) checkTls(options.wsTls)
  const listen = webSocketListenAddrs(options.listen ?? DEFAULT_LISTEN, options.wsTls !== undefined)
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const identity = await loadOrCreateIdentity({ dataDir: options.dataDir, kind: 'agent' })
  const rejections = new Tally()
  const decisions = new Tally()
  const relayedBytes = new Tally()
  const stunRequests = new Tally()
  const registry = options.metrics === false ? undefined : new Registry()
  const recordOptions = { minPowBits: options.minPowBits ?? DEFAULT_POW_BITS }
  const datastore = guardHandleRecords(new LevelDatastore(join(options.dataDir, 'datastore')), recordOptions, rejections)
  await datastore.open()
  const handles = new HandleStore(datastore, recordOptions)
  const ref: { node?: Libp2p<RelayServices> } = {}
  // the gater tells it of each circuit allowed; it finds the circuit's stop stream on the node
  const circuits = new CircuitTracker()
  // the DHT servers this relay trusts (itself aside): the relays it bootstraps from and its dhtServers
  const peers = new Set([...(options.bootstrap ?? []).map(a => p2pPeerOf(a)), ...(options.dhtServers ?? [])].filter((p): p is string => p !== undefined))
  const self = identity.peerIdString
  const trusted = (peer: string): boolean => peer === self || peers.has(peer)

  let libp2p: Libp2p<RelayServices>
  try {
    libp2p = await createLibp2p({
      // started below, once the peer store no longer tags untrusted peers for the DHT routing table
      start: false,
      privateKey: identity.privateKey,
      datastore,
      addresses: {
        listen,
        ...(options.announce !== undefined && options.announce.length > 0 ? { announce: options.announce } : {})
      },
      transports: [tcp(), relayWebSockets({
        handshakeTimeoutMs: limits.wsHandshakeTimeoutMs,
        maxHandshakesPerIp: limits.maxConnectionsPerIp,
        maxSockets: limits.maxConnections,
        maxMessageBytes: limits.wsMaxMessageBytes
      }, options.wsTls)],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: relayGater(limits, decisions, ref, circuits),
      connectionManager: {
        maxConnections: limits.maxConnections,
        inboundConnectionThreshold: limits.inboundConnectionsPerSecond
      },
      // a failed heartbeat ping must not drop a client and every circuit through it
      connectionMonitor: { abortConnectionOnPingFailure: false },
      peerDiscovery: (options.bootstrap ?? []).length > 0 ? [bootstrap({ list: options.bootstrap ?? [] })] : [],
      ...(registry === undefined ? {} : { metrics: prometheusMetrics({ registry }) }),
      services: {
        identify: identify(),
        ping: ping(),
        relay: circuitRelayServer({
          reservations: {
            maxReservations: limits.maxReservations,
            reservationTtl: limits.reservationTtlMs,
            defaultDurationLimit: limits.circuitDurationMs,
            defaultDataLimit: limits.circuitDataBytes
          }
        }),
        dht: kadDHT({
          protocol: DHT_PROTOCOL,
          clientMode: false,
          // only trusted servers enter the routing table and the answers (dht-trust.ts; protocols/handle-record §15)
          peerInfoMapper: trustedDhtMapper({ trusted, publicOnly: options.dhtPublicOnly === true }),
          ...parleyDhtConfig(recordOptions, rejections)
        }),
        // presence peer scoring: a peer that keeps sending invalid announcements is graylisted (presence/scoring.ts)
        pubsub: gossipsub(presenceGossipsubOptions()),
        // mail for offline agents, kept in this datastore; a record newer than a deposit's is the one this relay stores
        ...(options.mailbox === false
          ? {}
          : {
              mailbox: mailboxServer({
                ...options.mailbox,
                minPowBits: recordOptions.minPowBits,
                newerRecord: async (handle) => {
                  const stored = await handles.get(handle)
                  return stored?.verified === true ? { seq: stored.seq, peer: stored.peer } : undefined
                }
              })
            })
      }
    })
    try {
      await forgetUntrustedDhtPeers(libp2p, trusted)
      await libp2p.start()
    } catch (err) {
      await Promise.resolve(libp2p.stop()).catch(() => {})
      throw err
    }
  } catch (err) {
    await datastore.close()
    throw err
  }
  let stun: StunServer | undefined
  if (options.stunPort !== undefined && options.stunPort > 0) {
    try {
      // on the listen addresses' IPs (not the announced ones, which may belong to a NAT or proxy in front)
      const hosts = listen.flatMap(a => multiaddr(a).getComponents().filter(c => c.name === 'ip4' || c.name === 'ip6').map(c => c.value ?? ''))
      stun = await startStunServer({ port: options.stunPort, hosts, tally: stunRequests, ...(options.stunLimits === undefined ? {} : { limits: options.stunLimits }) })
      await serveStunAnnouncement(libp2p, options.stunPort)
    } catch (err) {
      await stun?.close()
      await Promise.resolve(libp2p.stop()).catch(() => {})
      await datastore.close()
      const inUse = (err as { code?: string }).code === 'EADDRINUSE'
      throw new Error(inUse
        ? `STUN: UDP port ${options.stunPort} is already in use (another relay, or a STUN/TURN server?); choose another with --stun-port, or 0 for none`
        : `STUN on UDP port ${options.stunPort}: ${(err as Error).message}`, { cause: err })
    }
  }
  ref.node = libp2p
  // a reservation is worth nothing once its holder has gone: free its slot at once
  releaseReservationsOfLeavers(libp2p, decisions)
  // nor is its peer store record: forget it a while later, or the store keeps every peer id ever seen
  const stopForgetting = forgetLeavers(libp2p, {
    keep: trusted,
    ...(options.forgetPeersAfterMs === undefined ? {} : { graceMs: options.forgetPeersAfterMs })
  })

  if (registry !== undefined) registerRelayMetrics(libp2p, datastore, rejections, decisions, relayedBytes, stun === undefined ? undefined : stunRequests)
  circuits.attach(libp2p)
  let presence: Presence | undefined
  let cards: CardBoard | undefined
  if (options.presence !== false) {
    presence = new Presence(libp2p.services.pubsub, {
      self: libp2p.peerId.toString(),
      // a claimed handle is checked against the record stored here, else against the DHT
      resolve: async (handle) => {
        const stored = await handles.get(handle)
        if (stored?.verified === true) return { peer: stored.peer, kind: stored.kind }
        // else from the relays this one trusts, as an agent resolves (protocols/handle-record §15)
        const record = await lookupHandle(libp2p.services.dht, handle, { ...recordOptions, trusted: (peer) => peers.has(peer), timeoutMs: 5000 }).catch(() => undefined)
        return record === undefined ? undefined : { peer: record.peer, kind: record.kind }
      }
    })
    presence.start()
    // Agent Cards (protocols/agent-card §5): checked and routed beside presence
    cards = new CardBoard(libp2p.services.pubsub)
    cards.start()
  }
  // bootstrap discovery only announces peers; dial them so the DHT tables fill at once
  for (const addr of options.bootstrap ?? []) {
    libp2p.dial(multiaddr(addr)).catch(err => { log('could not reach bootstrap peer %s: %e', addr, err) })
  }
  log('relay %p listening on %s', libp2p.peerId, libp2p.getMultiaddrs().map(String).join(', '))

  return {
    libp2p,
    identity,
    peerId: libp2p.peerId,
    limits,
    rejections,
    decisions,
    relayedBytes,
    registry,
    handles,
    presence,
    started: Date.now(),
    circuits,
    stun,
    stunRequests,
    multiaddrs: () => libp2p.getMultiaddrs(),
    stop: async () => {
      presence?.stop()
      cards?.stop()
      stopForgetting()
      circuits.stop()
      await stun?.close()
      await libp2p.stop()
      await datastore.close()
    }
  }
}
