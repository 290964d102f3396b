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
 * const relay = await createRelayNode({ dataDir })
 * const dashboard = new DashboardServer({ source: relaySource(relay) })
 * ```
 */
import type { Connection } from '@libp2p/interface'
import { transportOf } from '../node/transport.js'
import type { RelayNode } from '../node/relay.js'
import { RELAY_HOP_PROTOCOL } from '../node/constants.js'
import type { StoredHandle } from '../node/handle-store.js'
import type { DashboardSource, DashboardState, LinkView, PeerView, Transport } from './types.js'

/** Most peers whose identify answer is remembered. */
const MAX_IDENTIFIED = 8192

/** A {@link DashboardSource} over a running relay node. */
export function relaySource (relay: RelayNode): DashboardSource {
  const libp2p = relay.libp2p
  const self = libp2p.peerId.toString()
  // What each peer said it serves, from identify (the peer store also lists protocols we opened
  // to it ourselves, so it would call every client a relay)
  const relays = new Map<string, boolean>()
  libp2p.addEventListener('peer:identify', (evt) => {
    const id = evt.detail.peerId.toString()
    relays.delete(id)
    relays.set(id, evt.detail.protocols.includes(RELAY_HOP_PROTOCOL))
    if (relays.size > MAX_IDENTIFIED) relays.delete(relays.keys().next().value ?? '')
  })

  async function state (): Promise<DashboardState> {
    const now = Date.now()
    const peers = new Map<string, PeerView>()
    const links = new Map<string, LinkView>()
    const peer = (id: string): PeerView => {
      let view = peers.get(id)
      if (view === undefined) {
        view = { peer: id, kind: 'anon', verified: false, sources: [] }
        peers.set(id, view)
      }
      return view
    }
    const source = (view: PeerView, s: PeerView['sources'][number]): void => {
      if (!view.sources.includes(s)) view.sources.push(s)
    }
    const link = (l: LinkView): void => {
      const [a, b] = l.from < l.to ? [l.from, l.to] : [l.to, l.from]
      const key = `${a} ${b} ${l.transport}`
      const seen = links.get(key)
      // the node's own knowledge wins over a peer's announcement
      if (seen === undefined || (seen.source === 'presence' && l.source !== 'presence')) links.set(key, l)
    }

    // handle records held here: the verified, unexpired one with the highest seq names each peer
    const handles = await relay.handles.list()
    const byPeer = new Map<string, StoredHandle>()
    for (const h of handles) {
      if (!h.verified) continue
      const seen = byPeer.get(h.peer)
      if (seen === undefined || h.seq > seen.seq) byPeer.set(h.peer, h)
    }

    // own connections
    const connected: Connection[] = libp2p.getConnections().filter(c => c.status === 'open')
    for (const c of connected) {
      const remote = c.remotePeer.toString()
      source(peer(remote), 'connection')
      link({ from: self, to: remote, transport: transportOf(c.remoteAddr), source: 'connection', direction: c.direction })
    }
    for (const c of connected) if (relays.get(c.remotePeer.toString()) === true) peer(c.remotePeer.toString()).kind = 'relay'

    // reservations and circuits
    const reservations = libp2p.services.relay.reservations
    for (const id of reservations.keys()) source(peer(id.toString()), 'reservation')
    const circuits = relay.circuits.list()
    for (const c of circuits) {
      peer(c.src)
      peer(c.dst)
      link({ from: c.src, to: c.dst, transport: 'circuit', source: 'reservation', via: self })
    }

    // records: kinds of connected peers, and peers known only from the DHT
    for (const [id, h] of byPeer) {
      if (id === self) continue
      const view = peer(id)
      source(view, 'dht')
      if (view.kind !== 'relay') {
        view.kind = h.kind
        view.handle = h.handle
        view.verified = true
      }
    }

    // presence: the publisher's own entry; links only from valid announcements
    for (const entry of relay.presence?.entries() ?? []) {
      if (entry.from === self) continue
      const view = peer(entry.from)
      source(view, 'presence')
      const a = entry.verdict.announcement
      view.presence = {
        status: entry.verdict.status,
        ts: a?.ts ?? entry.received,
        ...(a === undefined ? {} : { capabilities: a.capabilities, kind: a.kind }),
        ...(a?.handle === undefined ? {} : { handle: a.handle }),
        ...(entry.verdict.reason === undefined ? {} : { reason: entry.verdict.reason })
      }
      if (entry.verdict.status !== 'valid' || a === undefined) continue
      if (a.handle !== undefined && view.kind !== 'relay') {
        view.handle = a.handle
        view.kind = a.kind
      }
      view.verified = true
      for (const c of a.connections) {
        if (c.peer === entry.from) continue
        if (c.peer !== self) {
          const other = peer(c.peer)
          source(other, 'presence')
        }
        link({ from: entry.from, to: c.peer, transport: c.transport as Transport, source: 'presence' })
      }
    }
    peers.delete(self)

    const bytes = { in: relay.relayedBytes.get('from_source'), out: relay.relayedBytes.get('to_source') }
    const rejectedRecords = Object.fromEntries(relay.rejections.counts)
    const presence = [...peers.values()].filter(p => p.presence !== undefined)
    return {
      node: { peer: self, role: 'relay', addrs: relay.multiaddrs().map(String), started: relay.started },
      peers: [...peers.values()],
      links: [...links.values()],
      handles: handles.map(h => ({ handle: h.handle, peer: h.peer, kind: h.kind, expires: h.expires, seq: h.seq, verified: h.verified, ...(h.reason === undefined ? {} : { reason: h.reason }) })),
      sessions: [],
      negotiations: [],
      approvals: [],
      relay: { reservations: reservations.size, circuits: circuits.length, bytes, rejectedRecords },
      metrics: {
        connections: connected.length,
        peers: peers.size,
        reservations: reservations.size,
        circuits: circuits.length,
        handles: handles.filter(h => h.verified).length,
        presence_valid: presence.filter(p => p.presence?.status === 'valid').length,
        presence_invalid: presence.filter(p => p.presence?.status !== 'valid').length,
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
      const fire = (): void => { listener() }
      libp2p.addEventListener('connection:open', fire)
      libp2p.addEventListener('connection:close', fire)
      relay.circuits.addEventListener('change', fire)
      relay.presence?.addEventListener('change', fire)
      return () => {
        libp2p.removeEventListener('connection:open', fire)
        libp2p.removeEventListener('connection:close', fire)
        relay.circuits.removeEventListener('change', fire)
        relay.presence?.removeEventListener('change', fire)
      }
    }
  }
}
