/**
 * Relay resource limits, the connection gater that enforces the ones
 * circuit relay v2 does not (per-IP reservations, reservation rates, circuits
 * per peer), and the release of reservations whose holders have left.
 *
 * The library defaults (15 reservations; 2 minutes and 128 KiB per circuit)
 * suit a relay that only helps peers punch holes. Parley sessions may stay
 * relayed when a direct WebRTC upgrade fails, and a negotiation of a few
 * dozen envelopes must not be cut mid-way, so the defaults here are sized for
 * agents: see relay/README.md for the reasoning.
 *
 * The circuit relay v2 server keeps a reservation for its whole TTL, even
 * after its holder disconnects (go-libp2p and rust-libp2p drop it at once).
 * Such a reservation is useless (the server relays to a destination only over
 * a connection it still has) but holds a slot, so connect-reserve-disconnect
 * cycles with fresh peer ids would fill the relay. {@link releaseReservationsOfLeavers}
 * drops it when the holder's last connection closes, through the service's
 * public `reservations` map and the reservation's public expiry signal.
 */
import { TokenBuckets } from '../util/token-bucket.js'
import type { ConnectionGater, PeerId, Libp2p } from '@libp2p/interface'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { RELAY_HOP_PROTOCOL } from './constants.js'
import type { Tally } from '../util/tally.js'

const log = logger('parley:relay:limits')

/** A relay's resource limits (defaults: `DEFAULT_RELAY_LIMITS`). */
export interface RelayLimits {
  /** Reservations held at once (library default 15). */
  maxReservations: number
  /** Reservations held at once by peers that reserved from one IP address. */
  maxReservationsPerIp: number
  /**
   * New reservations granted per minute to peers on one IP address, after a
   * burst of `maxReservationsPerIp` (refreshes by a peer that holds one do not count).
   */
  reservationRatePerIp: number
  /**
   * Reservations (new or refreshed) granted per minute to one peer, in bursts
   * of up to this many. A peer that comes back with the same key (a reloaded
   * tab, a restarted agent) reserves anew on each connection, so this is also
   * how often it may come back.
   */
  reservationRatePerPeer: number
  /** Relayed circuits a single peer may have open at once, as the dialing side. */
  maxCircuitsPerPeer: number
  /** Longest life of one relayed circuit, in ms (library default 2 min). */
  circuitDurationMs: number
  /** Most bytes one relayed circuit may carry, both directions (library default 128 KiB). */
  circuitDataBytes: bigint
  /** How long a reservation lasts before the client must refresh it, in ms. */
  reservationTtlMs: number
  /** Connections held at once. */
  maxConnections: number
  /** New inbound connections accepted per second from one host. */
  inboundConnectionsPerSecond: number
  /**
   * Direct connections held at once with one IP address (TCP and WebSocket together); also
   * the WebSocket handshakes one IP address may have in progress at once.
   */
  maxConnectionsPerIp: number
  /** Longest time a WebSocket client may take from TCP connect to a completed upgrade (TLS included), in ms. */
  wsHandshakeTimeoutMs: number
  /** Largest WebSocket message accepted, in bytes (libp2p peers send one Noise frame, at most 64 KiB, per message). */
  wsMaxMessageBytes: number
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxReservations: 1024,
  maxReservationsPerIp: 32,
  reservationRatePerIp: 10,
  reservationRatePerPeer: 30,
  maxCircuitsPerPeer: 16,
  circuitDurationMs: 30 * 60 * 1000,
  circuitDataBytes: 64n * 1024n * 1024n,
  reservationTtlMs: 60 * 60 * 1000,
  maxConnections: 2048,
  inboundConnectionsPerSecond: 25,
  maxConnectionsPerIp: 128,
  wsHandshakeTimeoutMs: 10_000,
  wsMaxMessageBytes: 256 * 1024
}


/** The IP address in a multiaddr, if any. */
function ipIn (addr: Multiaddr): string | undefined {
  return addr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}

/** The IP address of a peer's first direct (non-relayed) connection, if any. */
function ipOf (node: Libp2p, peer: PeerId): string | undefined {
  for (const conn of node.getConnections(peer)) {
    if (conn.limits != null) continue
    const host = ipIn(conn.remoteAddr)
    if (host !== undefined) return host
  }
  return undefined
}

type RelayLibp2p = Libp2p<{ relay: CircuitRelayService }>

/**
 * Drops `peer`'s reservation if it holds one and has no connection to the relay
 * left; returns true if it did. Uses only the circuit relay service's public
 * types: the reservation is deleted from `reservations` (a `PeerMap`) so that it
 * stops counting at once, and its expiry signal (`RelayReservation.signal`, a
 * `RetimeableAbortSignal`) is reset to fire now, which expires it the way a TTL
 * does: the library's own expiry handler removes it, any circuit bound to it
 * ends, and no timer of the old reservation is left to fire later against a
 * new reservation of the same peer.
 */
export function releaseReservation (node: RelayLibp2p, peer: PeerId, decisions?: Tally): boolean {
  const reservations = node.services.relay.reservations
  const reservation = reservations.get(peer)
  if (reservation === undefined || node.getConnections(peer).length > 0) return false
  reservations.delete(peer)
  reservation.signal.reset(0)
  decisions?.add('reservation_released')
  log.trace('released the reservation of %p: no connection left', peer)
  return true
}

/**
 * Releases a peer's reservation when its last connection to the relay closes
 * (`peer:disconnect`). A client's reservation lives only as long as its
 * connection (js-libp2p clients drop theirs on `connection:close` and reserve
 * again when they reconnect), so this costs a live client nothing. Returns a
 * function that stops listening.
 */
export function releaseReservationsOfLeavers (node: RelayLibp2p, decisions?: Tally): () => void {
  const onDisconnect = (evt: CustomEvent<PeerId>): void => { releaseReservation(node, evt.detail, decisions) }
  node.addEventListener('peer:disconnect', onDisconnect)
  return () => { node.removeEventListener('peer:disconnect', onDisconnect) }
}

/**
 * A connection gater enforcing the per-IP connection cap, the per-IP reservation cap, the per-IP and
 * per-peer reservation rates and the per-peer circuit cap, counting its
 * decisions in `decisions` (`reservation_denied_ip`, `reservation_denied_ip_rate`,
 * `reservation_denied_peer_rate`, `circuit_denied_peer`, `circuit_allowed`, `connection_denied_ip`, and
 * `reservation_released` for reservations of departed holders it finds).
 * `node` is filled in once libp2p exists (the gater is built before it).
 *
 * The per-IP cap counts reservations by the address they were made from
 * (`RelayReservation.addr`), whether or not the holder is still connected.
 */
export function relayGater (limits: RelayLimits, decisions: Tally, ref: { node?: RelayLibp2p }, circuits?: { allowed: (source: PeerId, destination: PeerId) => void }): ConnectionGater {
  // a burst of the per-IP cap (an office's agents coming back at once), then the rate
  const ipRate = new TokenBuckets<string>({ burst: limits.maxReservationsPerIp, rate: limits.reservationRatePerIp / 60 })
  const peerRate = new TokenBuckets<string>({ burst: limits.reservationRatePerPeer, rate: limits.reservationRatePerPeer / 60 })
  return {
    denyInboundConnection (maConn) {
      const node = ref.node
      const ip = ipIn(maConn.remoteAddr)
      if (node === undefined || ip === undefined) return false
      // the connection being decided is not among them yet; relayed ones come through a relay, not from this IP
      let count = 0
      for (const conn of node.getConnections()) {
        if (conn.limits == null && ipIn(conn.remoteAddr) === ip) count++
      }
      if (count >= limits.maxConnectionsPerIp) {
        decisions.add('connection_denied_ip')
        log('refused a connection from %s: %d connections from that IP already', ip, count)
        return true
      }
      return false
    },
    denyInboundRelayReservation (source) {
      const node = ref.node
      if (node === undefined) return false
      const reservations = node.services.relay.reservations
      const ip = ipOf(node, source)
      const refresh = reservations.has(source)
      // count this IP's reservations, releasing any whose holder has gone (one granted
      // while its holder was disconnecting would otherwise outlive it)
      let count = 0
      const gone: PeerId[] = []
      for (const [peer, reservation] of reservations.entries()) {
        if (peer.equals(source)) continue
        if (node.getConnections(peer).length === 0) { gone.push(peer); continue }
        if (ip !== undefined && ipIn(reservation.addr) === ip) count++
      }
      for (const peer of gone) releaseReservation(node, peer, decisions)
      if (ip !== undefined && count >= limits.maxReservationsPerIp) {
        decisions.add('reservation_denied_ip')
        return true
      }
      const now = Date.now()
      const peerKey = source.toString()
      if (!peerRate.allows(peerKey, now)) {
        decisions.add('reservation_denied_peer_rate')
        return true
      }
      // a refresh by a holder does not take a new slot: only the per-peer rate applies
      const chargeIp = ip !== undefined && !refresh
      if (chargeIp && !ipRate.allows(ip, now)) {
        decisions.add('reservation_denied_ip_rate')
        return true
      }
      peerRate.spend(peerKey, now)
      if (chargeIp) ipRate.spend(ip, now)
      return false
    },
    denyOutboundRelayedConnection (source, destination) {
      const node = ref.node
      if (node === undefined) return false
      // every open circuit from `source` holds one hop stream on its connection; the request
      // being decided is one of them
      let open = -1
      for (const conn of node.getConnections(source)) {
        for (const stream of conn.streams) if (stream.protocol === RELAY_HOP_PROTOCOL) open++
      }
      if (open >= limits.maxCircuitsPerPeer) {
        decisions.add('circuit_denied_peer')
        return true
      }
      decisions.add('circuit_allowed')
      circuits?.allowed(source, destination)
      return false
    }
  }
}
