/**
 * Relay resource limits and the connection gater that enforces the ones
 * circuit relay v2 does not (per-IP reservations, circuits per peer).
 *
 * The library defaults (15 reservations; 2 minutes and 128 KiB per circuit)
 * suit a relay that only helps peers punch holes. Parley sessions may stay
 * relayed when a direct WebRTC upgrade fails, and a negotiation of a few
 * dozen envelopes must not be cut mid-way, so the defaults here are sized for
 * agents: see relay/README.md for the reasoning.
 */
import type { ConnectionGater, PeerId, Libp2p } from '@libp2p/interface'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { RELAY_HOP_PROTOCOL } from './constants.js'
import type { Tally } from '../util/tally.js'

/** A relay's resource limits (defaults: `DEFAULT_RELAY_LIMITS`). */
export interface RelayLimits {
  /** Reservations held at once (library default 15). */
  maxReservations: number
  /** Reservations held at once by peers connecting from one IP address. */
  maxReservationsPerIp: number
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
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxReservations: 1024,
  maxReservationsPerIp: 32,
  maxCircuitsPerPeer: 16,
  circuitDurationMs: 30 * 60 * 1000,
  circuitDataBytes: 64n * 1024n * 1024n,
  reservationTtlMs: 60 * 60 * 1000,
  maxConnections: 2048,
  inboundConnectionsPerSecond: 25
}


/** The IP address of a peer's first direct (non-relayed) connection, if any. */
function ipOf (node: Libp2p, peer: PeerId): string | undefined {
  for (const conn of node.getConnections(peer)) {
    if (conn.limits != null) continue
    const host = conn.remoteAddr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
    if (host !== undefined) return host
  }
  return undefined
}

/**
 * A connection gater enforcing the per-IP reservation cap and the per-peer
 * circuit cap, counting its decisions in `decisions` (`reservation_denied_ip`,
 * `circuit_denied_peer`, `circuit_allowed`). `node` is filled in once libp2p
 * exists (the gater is built before it).
 */
export function relayGater (limits: RelayLimits, decisions: Tally, ref: { node?: Libp2p<{ relay: CircuitRelayService }> }): ConnectionGater {
  return {
    denyInboundRelayReservation (source) {
      const node = ref.node
      if (node === undefined) return false
      const ip = ipOf(node, source)
      if (ip === undefined) return false
      let count = 0
      for (const peer of node.services.relay.reservations.keys()) {
        if (!peer.equals(source) && ipOf(node, peer) === ip) count++
      }
      if (count >= limits.maxReservationsPerIp) {
        decisions.add('reservation_denied_ip')
        return true
      }
      return false
    },
    denyOutboundRelayedConnection (source) {
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
      return false
    }
  }
}
