/**
 * The dashboard's view from a relay node: only what the relay can honestly
 * know.
 *
 * - its own connections (transport read from each remote address);
 * - the reservations it holds and the circuits it relays (who dials whom);
 * - the handle records in its DHT store, each validated now;
 * - presence announcements it received on gossipsub, as checked (a forged or
 *   unsigned one marks its publisher, never the peer it names; only valid
 *   ones contribute links);
 * - its counters: bytes relayed, records refused by reason.
 *
 * A peer's kind is `relay` when it said (identify) it serves the circuit relay hop protocol,
 * `agent` / `human` when a valid handle record names it, otherwise `anon`.
 *
 * @example
 * ```ts
 * import { startMesh } from 'parley-mesh/demo'
 * import { DashboardServer, relaySource } from 'parley-mesh/dashboard'
 *
 * const { relay } = await startMesh() // a relay on loopback
 * const dashboard = new DashboardServer({ source: relaySource(relay) })
 * ```
 */
import type { Connection } from '@libp2p/interface'
import type { RelayNode } from '../node/relay.js'
import { MeshBuilder, RelayKinds, presenceCounts } from './mesh.js'
import type { DashboardSource, DashboardState } from './types.js'
import { guarded } from '../util/guard.js'
import { logger } from '@libp2p/logger'

const log = logger('parley:dashboard:relay')

/** A {@link DashboardSource} over a running relay node. */
export function relaySource (relay: RelayNode): DashboardSource {
  const libp2p = relay.libp2p
  const self = libp2p.peerId.toString()
  const relays = new RelayKinds(libp2p)

  async function state (): Promise<DashboardState> {
    const now = Date.now()
    const mesh = new MeshBuilder(self)
    const handles = await relay.handles.list()

    // own connections
    const connected: Connection[] = libp2p.getConnections().filter(c => c.status === 'open')
    mesh.connections(connected, id => relays.has(id), id => relays.platform(id))

    // reservations and circuits
    const reservations = libp2p.services.relay.reservations
    for (const id of reservations.keys()) mesh.source(mesh.peer(id.toString()), 'reservation')
    const circuits = relay.circuits.list()
    for (const c of circuits) {
      mesh.peer(c.src)
      mesh.peer(c.dst)
      mesh.link({ from: c.src, to: c.dst, transport: 'circuit', source: 'reservation', via: self })
    }

    // handle records held here: kinds of connected peers, and peers known only from the DHT
    mesh.records(handles)
    // presence: the publisher's own entry; links only from valid announcements
    mesh.presence(relay.presence?.entries() ?? [])
    const peers = mesh.peers

    const bytes = { in: relay.relayedBytes.get('from_source'), out: relay.relayedBytes.get('to_source') }
    const rejectedRecords = Object.fromEntries(relay.rejections.counts)
    const presence = presenceCounts(peers)
    return {
      node: { peer: self, role: 'relay', addrs: relay.multiaddrs().map(String), started: relay.started },
      peers,
      links: mesh.links,
      handles,
      sessions: [],
      negotiations: [],
      approvals: [],
      relay: { reservations: reservations.size, circuits: circuits.length, bytes, rejectedRecords },
      metrics: {
        connections: connected.length,
        peers: peers.length,
        reservations: reservations.size,
        circuits: circuits.length,
        handles: handles.filter(h => h.verified).length,
        presence_valid: presence.valid,
        presence_invalid: presence.invalid,
        bytes_relayed: bytes.in + bytes.out,
        records_rejected: [...relay.rejections.counts.values()].reduce((a, b) => a + b, 0),
        heap_mib: Math.round(process.memoryUsage().heapUsed / 1048576 * 10) / 10
      },
      ts: now
    }
  }

  return {
    state,
    onChange (listener) {
      // called from libp2p, circuit and presence events, which peers cause: it must not throw (util/guard)
      const fire = guarded(log, 'a dashboard change listener', (): void => { listener() })
      const listening = new AbortController()
      const { signal } = listening
      libp2p.addEventListener('connection:open', fire, { signal })
      libp2p.addEventListener('connection:close', fire, { signal })
      relay.circuits.addEventListener('change', fire, { signal })
      relay.presence?.addEventListener('change', fire, { signal })
      return () => { listening.abort() }
    }
  }
}
