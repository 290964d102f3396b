/**
 * The graph both dashboard sources draw (`peers` and `links` of a
 * {@link DashboardState}), with the honesty rules in one place:
 *
 * - a peer is `relay` when it said (identify) it serves the circuit relay hop
 *   protocol, or holds our reservation; `agent` / `human` only when a
 *   verified handle record, or a valid presence announcement whose handle
 *   checked out, names it; otherwise `anon`;
 * - a presence announcement is shown against its gossipsub publisher, as
 *   checked; only valid ones name a handle or contribute links;
 * - the node's own knowledge of a link wins over a peer's announcement of it.
 *
 * @example
 * ```ts
 * import { MeshBuilder, RelayKinds } from 'parley-mesh/dashboard'
 * import type { RecordInfo } from 'parley-mesh/dashboard'
 * import type { Presence } from 'parley-mesh/presence'
 * import type { Libp2p } from '@libp2p/interface'
 * declare const libp2p: Libp2p
 * declare const records: RecordInfo[]
 * declare const presence: Presence
 *
 * const relays = new RelayKinds(libp2p)
 * const mesh = new MeshBuilder(libp2p.peerId.toString())
 * mesh.connections(libp2p.getConnections(), id => relays.has(id))
 * mesh.records(records)
 * mesh.presence(presence.entries())
 * const { peers, links } = mesh
 * ```
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import { RELAY_HOP_PROTOCOL } from '../node/constants.js'
import { transportOf } from '../util/transport.js'
import type { PresenceEntry } from '../presence/presence.js'
import type { LinkView, PeerView } from './types.js'

/** A handle record as the graph needs it. */
export interface RecordInfo {
  /** The handle, without `@`. */
  handle: string
  /** The holder's peer id. */
  peer: string
  /** The kind the record names. */
  kind: 'agent' | 'human'
  /** The record's sequence number. */
  seq: number
  /** Valid now (signature, proof of work, expiry). Only verified records name peers. */
  verified: boolean
}

/** Builds the peers and links of one state. */
export class MeshBuilder {
  /** The node's own peer id. */
  readonly self: string
  readonly #peers = new Map<string, PeerView>()
  readonly #links = new Map<string, LinkView>()

  constructor (self: string) {
    this.self = self
  }

  /** The view of peer `id`, created `anon` and unverified. */
  peer (id: string): PeerView {
    let view = this.#peers.get(id)
    if (view === undefined) {
      view = { peer: id, kind: 'anon', verified: false, sources: [] }
      this.#peers.set(id, view)
    }
    return view
  }

  /** Notes where a peer is known from. */
  source (view: PeerView, s: PeerView['sources'][number]): void {
    if (!view.sources.includes(s)) view.sources.push(s)
  }

  /** Adds a link (one per pair and transport; the node's own knowledge wins over a peer's announcement). */
  link (l: LinkView): void {
    const [a, b] = l.from < l.to ? [l.from, l.to] : [l.to, l.from]
    const key = `${a} ${b} ${l.transport}`
    const seen = this.#links.get(key)
    if (seen === undefined || (seen.source === 'presence' && l.source !== 'presence')) this.#links.set(key, l)
  }

  /** The node's own open connections: a link each, transport read from the remote address. */
  connections (connections: Iterable<Connection>, isRelay: (peer: string) => boolean, platform: (peer: string) => 'browser' | 'node' | undefined = () => undefined): void {
    for (const c of connections) {
      if (c.status !== 'open') continue
      const remote = c.remotePeer.toString()
      const view = this.peer(remote)
      this.source(view, 'connection')
      if (isRelay(remote)) view.kind = 'relay'
      const runsOn = platform(remote)
      if (runsOn !== undefined) view.platform = runsOn
      this.link({ from: this.self, to: remote, transport: transportOf(c.remoteAddr), source: 'connection', direction: c.direction })
    }
  }

  /**
   * Handle records: the verified one with the highest seq names each peer
   * (kind and handle, verified), unless the peer is a relay. Peers known
   * only from a record are added (the page draws them faded).
   */
  records (records: Iterable<RecordInfo>): void {
    const byPeer = new Map<string, RecordInfo>()
    for (const r of records) {
      if (!r.verified) continue
      const seen = byPeer.get(r.peer)
      if (seen === undefined || r.seq > seen.seq) byPeer.set(r.peer, r)
    }
    for (const [id, r] of byPeer) {
      if (id === this.self) continue
      const view = this.peer(id)
      this.source(view, 'dht')
      if (view.kind !== 'relay') {
        view.kind = r.kind
        view.handle = r.handle
        view.verified = true
      }
    }
  }

  /** Presence: each publisher's last announcement as checked; handle, kind and links only from valid ones. */
  presence (entries: Iterable<PresenceEntry>): void {
    for (const entry of entries) {
      if (entry.from === this.self) continue
      const view = this.peer(entry.from)
      this.source(view, 'presence')
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
        if (c.peer !== this.self) this.source(this.peer(c.peer), 'presence')
        this.link({ from: entry.from, to: c.peer, transport: c.transport, source: 'presence' })
      }
    }
  }

  /** Every peer but the node itself. */
  get peers (): PeerView[] {
    return [...this.#peers.values()].filter(p => p.peer !== this.self)
  }

  /** Every link, the node's own connections included. */
  get links (): LinkView[] {
    return [...this.#links.values()]
  }
}

/** Counts of checked presence announcements among `peers`, for the metrics panel. */
export function presenceCounts (peers: PeerView[]): {
  /** Valid announcements. */
  valid: number
  /** Invalid or unsigned ones. */
  invalid: number
} {
  let valid = 0
  let invalid = 0
  for (const p of peers) {
    if (p.presence === undefined) continue
    if (p.presence.status === 'valid') valid++
    else invalid++
  }
  return { valid, invalid }
}

/** Most peers whose identify answer is remembered. */
const MAX_IDENTIFIED = 8192

/**
 * Remembers which peers said, in identify, that they serve the circuit relay
 * hop protocol. (The peer store also lists protocols we opened to a peer
 * ourselves, so it would call every client of a relay a relay.)
 */
export class RelayKinds {
  readonly #relays = new Map<string, { relay: boolean, platform: 'browser' | 'node' | undefined }>()
  readonly #libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>
  readonly #onIdentify = (evt: CustomEvent<{ peerId: { toString: () => string }, protocols: string[], agentVersion?: string }>): void => {
    const id = evt.detail.peerId.toString()
    this.#relays.delete(id)
    this.#relays.set(id, { relay: evt.detail.protocols.includes(RELAY_HOP_PROTOCOL), platform: platformOf(evt.detail.agentVersion) })
    if (this.#relays.size > MAX_IDENTIFIED) this.#relays.delete(this.#relays.keys().next().value ?? '')
  }

  constructor (libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>) {
    this.#libp2p = libp2p
    libp2p.addEventListener('peer:identify', this.#onIdentify)
  }

  /** True when `peer` said it serves the hop protocol. */
  has (peer: string): boolean {
    return this.#relays.get(peer)?.relay === true
  }

  /** What `peer`'s libp2p said it runs on, in its identify agent version. */
  platform (peer: string): 'browser' | 'node' | undefined {
    return this.#relays.get(peer)?.platform
  }

  /** Stops listening to identify events. */
  stop (): void {
    this.#libp2p.removeEventListener('peer:identify', this.#onIdentify)
  }
}

/**
 * The platform in a js-libp2p agent version: `libp2p/3.3.11 browser/Mozilla…`
 * in a tab, `libp2p/3.3.11 node/22.…` in Node (libp2p's user-agent modules).
 */
export function platformOf (agentVersion: string | undefined): 'browser' | 'node' | undefined {
  if (agentVersion === undefined) return undefined
  if (/ browser\//.test(agentVersion)) return 'browser'
  if (/ node\//.test(agentVersion)) return 'node'
  return undefined
}
