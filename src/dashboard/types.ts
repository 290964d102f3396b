/**
 * The dev dashboard's data contract: what a node tells the page about the
 * mesh, as JSON (`GET /api/state`, and the `state` events of `GET /api/events`).
 *
 * A node fills a {@link DashboardState} from what it can honestly know: its
 * own connections, what it relays, the handle records it holds or resolved,
 * presence announcements it checked, and its own sessions, negotiations and
 * approvals. Every claim that could be forged carries its verification
 * (`verified`, `presence.status`, `MessageView.verified`): the page never
 * shows an unverified claim as verified.
 *
 * @example
 * ```ts
 * const source: DashboardSource = {
 *   state: () => ({ node, peers: [], links: [], handles: [], sessions: [], negotiations: [], approvals: [], metrics: {}, ts: Date.now() }),
 *   onChange: (listener) => { emitter.on('change', listener); return () => emitter.off('change', listener) }
 * }
 * ```
 *
 * @packageDocumentation
 */

/** Everything the page shows, at time `ts`. */
export interface DashboardState {
  node: NodeView
  /** Other peers (not the node itself). */
  peers: PeerView[]
  /** Edges of the graph; `from` / `to` are peer ids, the node's own included. */
  links: LinkView[]
  handles: HandleView[]
  sessions: SessionView[]
  negotiations: NegotiationView[]
  approvals: ApprovalView[]
  /** Messages delivered to the node's human, newest first (agents only). */
  inbox?: InboxView[]
  /** The peers the node's trust store knows, and the level its human gave each (agents only). */
  contacts?: ContactView[]
  relay?: RelayView
  /** Numbers to plot over time (the page keeps the history): name → current value. */
  metrics: Record<string, number>
  /** When the state was taken, ms since the Unix epoch. */
  ts: number
}

/** The node serving the dashboard. */
export interface NodeView {
  peer: string
  handle?: string
  role: 'relay' | 'agent'
  kind?: 'agent' | 'human'
  addrs: string[]
  /** When the node started, ms since the Unix epoch. */
  started: number
}

export type PeerKind = 'relay' | 'agent' | 'human' | 'anon'
export type Transport = 'tcp' | 'websocket' | 'circuit' | 'webrtc'

/** A peer the node knows of, and how. */
export interface PeerView {
  peer: string
  /** Set only when verified: a valid handle record names this peer. */
  handle?: string
  /** `agent` / `human` only from a verified handle record; `relay` from the protocols it serves; otherwise `anon`. */
  kind: PeerKind
  /** True when the handle and kind shown were verified (a valid record naming this peer, or a valid presence). */
  verified: boolean
  sources: Array<'connection' | 'reservation' | 'dht' | 'presence'>
  /** The last presence announcement received from this peer, as checked. */
  presence?: {
    status: 'valid' | 'invalid' | 'unsigned'
    capabilities?: string[]
    ts: number
    /** What the announcement claimed (shown as a claim, never as verified unless `status` is `valid`). */
    handle?: string
    kind?: string
    /** Why it is not valid: an error code such as `ERR_BAD_SIGNATURE` or `ERR_HANDLE_MISMATCH`. */
    reason?: string
  }
}

/** An edge of the graph. */
export interface LinkView {
  from: string
  to: string
  transport: Transport
  /**
   * `connection`: the node's own connection. `reservation`: what the relay
   * relays (a circuit between two of its clients; `via` names the relay).
   * `presence`: a connection a peer announced in a valid presence announcement.
   */
  source: 'connection' | 'reservation' | 'presence'
  /** The relay a circuit runs through. */
  via?: string
  /** Connection direction seen from `from`. */
  direction?: 'inbound' | 'outbound'
}

/** A handle record the node holds (relay: its DHT store) or resolved (agent). */
export interface HandleView {
  handle: string
  peer: string
  kind: 'agent' | 'human'
  /** Record expiry, ms since the Unix epoch. */
  expires: number
  seq: number
  /** The record validated now: signature, proof of work, expiry. */
  verified: boolean
  /** Why it did not validate (error code), when `verified` is false. */
  reason?: string
}

/** One envelope of a session, as received or sent. */
export interface MessageView {
  dir: 'in' | 'out'
  ts: number
  type: 'request' | 'response' | 'notification' | 'error'
  method?: string
  rpcId?: string | number
  envelopeId: string
  /** `true` when the envelope's signature and signer checked out; otherwise the error code. */
  verified: true | string
  /** The envelope as JSON, for the inspector. */
  envelope: unknown
}

export interface SessionView {
  id: string
  remote: { peer: string, handle?: string, kind: 'agent' | 'human' | 'anon' }
  direction: 'inbound' | 'outbound'
  transport: Transport
  opened: number
  closed?: number
  messages: MessageView[]
}

export interface NegotiationView {
  id: string
  subject: string
  parties: Array<{ peer: string, handle?: string }>
  state: string
  seq: number
  terms?: unknown
  transitions: Array<{ seq: number, type: string, by: string, ts: number, hash: string }>
  agreement?: unknown
}

export interface ApprovalView {
  id: string
  created: number
  peer: string
  handle?: string
  method: string
  summary: string
  amount?: { value: number, currency: string }
  /** `pending`, or what became of it (`approved`, `rejected`, `expired`, …). */
  status: string
}

/** A `message` delivered to the human (protocols/methods §3). */
export interface InboxView {
  /** The id of the envelope that carried it. */
  id: string
  at: number
  peer: string
  /** Set only when verified (the sender's session stamped it). */
  handle?: string
  kind: 'agent' | 'human' | 'anon'
  text: string
  urgency?: 'low' | 'normal' | 'high'
  conversation?: string
  /** Set when it was held for the human first (a stranger's), by that approval. */
  approval?: string
}

/** A contact in the trust store: 0 unknown, 1 known, 2 trusted (protocols/approval). */
export interface ContactView {
  peer: string
  /** As last remembered (informative: the peer id is the key). */
  handle?: string
  level: 0 | 1 | 2
  limits?: { maxAmount?: number, currency?: string, methods?: string[] }
  /** When a human last set the level; 0 if never. */
  updated: number
  note?: string
}

/** What a relay relays. */
export interface RelayView {
  reservations: number
  circuits: number
  /** Bytes relayed through circuits: `in` from the dialing side, `out` back to it. */
  bytes: { in: number, out: number }
  /** Handle records refused, by error code. */
  rejectedRecords: Record<string, number>
}

/**
 * Where the dashboard server gets its data. `state()` is called at most a few
 * times a second while a page is open; `onChange` says when something worth
 * showing at once happened (the server also polls every few seconds).
 * `decide` answers a pending approval; without it, approval actions are 404.
 * It may resolve with the approval after the decision (a JSON object), which
 * the server then answers with; otherwise the answer is `{ id, decision, status }`.
 * It should reject with an error whose `code` is `ERR_UNKNOWN_APPROVAL`
 * (answered 404) or `ERR_ALREADY_DECIDED` (answered 409), or which carries
 * the HTTP `status` (4xx) to answer, its own `code` kept.
 */
export interface DashboardSource {
  state: () => DashboardState | Promise<DashboardState>
  onChange: (listener: () => void) => () => void
  decide?: (approvalId: string, decision: 'approve' | 'reject', reply?: string) => Promise<unknown>
}
