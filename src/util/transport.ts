/**
 * Which transport a connection runs on, read from its remote multiaddr, in
 * the four words the dashboard and presence announcements use.
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A connection's transport, read from its remote multiaddr. */
export type Transport = 'tcp' | 'websocket' | 'circuit' | 'webrtc'

/**
 * `webrtc` for WebRTC (direct or signalled through a relay), `circuit` for a
 * relayed connection, `websocket` for `/ws` or `/wss`, otherwise `tcp`.
 */
export function transportOf (addr: Multiaddr | string): Transport {
  const s = typeof addr === 'string' ? addr : addr.toString()
  if (/\/webrtc(-direct)?(\/|$)/.test(s)) return 'webrtc'
  if (/\/p2p-circuit(\/|$)/.test(s)) return 'circuit'
  if (/\/(ws|wss|tls\/ws)(\/|$)/.test(s)) return 'websocket'
  return 'tcp'
}

/** Rank used to pick one connection per peer: a direct connection beats a relayed one. */
const RANK: Record<Transport, number> = { webrtc: 3, tcp: 2, websocket: 2, circuit: 1 }

/** One open connection per remote peer (the most direct), with its transport. */
export function connectionSummary (node: Pick<Libp2p, 'getConnections'>): Array<{
  /** The remote peer id. */
  peer: string
  /** The connection's transport. */
  transport: Transport
  /** The connection. */
  connection: Connection
}> {
  const best = new Map<string, { peer: string, transport: Transport, connection: Connection }>()
  for (const connection of node.getConnections()) {
    if (connection.status !== 'open') continue
    const peer = connection.remotePeer.toString()
    const transport = transportOf(connection.remoteAddr)
    const seen = best.get(peer)
    if (seen === undefined || RANK[transport] > RANK[seen.transport]) best.set(peer, { peer, transport, connection })
  }
  return [...best.values()]
}
