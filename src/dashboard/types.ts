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
 * import { EventEmitter } from 'node:events'
 * import type { DashboardSource, NodeView } from 'parley-mesh/dashboard'
 *
 * const node: NodeView = { peer: '12D3KooW…', role: 'agent', addrs: [], started: Date.now() }
 * const emitter = new EventEmitter() // emits 'change' when something worth showing happens
 * const source: DashboardSource = {
 *   state: () => ({ node, peers: [], links: [], handles: [], sessions: [], negotiations: [], approvals: [], metrics: {}, ts: Date.now() }),
 *   onChange: (listener) => { emitter.on('change', listener); return () => emitter.off('change', listener) }
 * }
 * ```
 *
 * @packageDocumentation
 */
import type { Transport } from '../util/transport.js'
import type { HandleView } from '../handles/view.js'

// defined below the dashboard, where the nodes and presence that produce them may import them
export type { Transport, HandleView }

/** An A2A Agent Card heard on gossipsub (protocols/agent-card). */
export interface CardView {
  /** The handle it is published under. */
  handle: string
  /** Its signer. */
  peer: string
  /** The card's `name`. */
  name: string
  /** What it offers: skill ids and tags. */
  skills: string[]
  /** True when the handle record this node holds names the signer; false when it names another peer; absent when the handle is not resolved here. */
  verified?: boolean
  /** When the card record expires, ms since the epoch. */
  expires: number
}

/** Everything the page shows, at time `ts`. */
export interface DashboardState {
  /** The node serving the dashboard. */
  node: NodeView
  /** Other peers (not the node itself). */
  peers: PeerView[]
  /** Edges of the graph; `from` / `to` are peer ids, the node's own included. */
  links: LinkView[]
  /** Handle records the node holds or resolved. */
  handles: HandleView[]
  /** The node's sessions, open and recently closed (agents). */
  sessions: SessionView[]
  /** The node's negotiations (agents). */
  negotiations: NegotiationView[]
  /** Approvals held for the node's human (agents). */
  approvals: ApprovalView[]
  /** Messages delivered to the node's human, newest first (agents only). */
  inbox?: InboxView[]
  /** Messages the node mailed to agents that were offline, newest first (agents only; protocols/mailbox). */
  outbox?: OutboxView[]
  /** The peers the node's trust store knows, and the level its human gave each (agents only). */
  contacts?: ContactView[]
  /** A2A Agent Cards heard on gossipsub (agents with presence on). */
  cards?: CardView[]
  /** What the node relays (relays only). */
  relay?: RelayView
  /** Numbers to plot over time (the page keeps the history): name → current value. */
  metrics: Record<string, number>
  /** When the state was taken, ms since the Unix epoch. */
  ts: number
}

/** The node serving the dashboard. */
export interface NodeView {
  /** The node's peer id. */
  peer: string
  /** The node's handle, when it has one. */
  handle?: string
  /** What the node is. */
  role: 'relay' | 'agent'
  /** An agent node's identity kind. */
  kind?: 'agent' | 'human'
  /** The multiaddrs the node listens on or is reachable at. */
  addrs: string[]
  /** When the node started, ms since the Unix epoch. */
  started: number
}

/** What a peer is known to be; `anon` when nothing verified says. */
export type PeerKind = 'relay' | 'agent' | 'human' | 'anon'

/** A peer the node knows of, and how. */
export interface PeerView {
  /** The peer's id. */
  peer: string
  /** Set only when verified: a valid handle record names this peer. */
  handle?: string
  /** `agent` / `human` only from a verified handle record; `relay` from the protocols it serves; otherwise `anon`. */
  kind: PeerKind
  /** True when the handle and kind shown were verified (a valid record naming this peer, or a valid presence). */
  verified: boolean
  /** Where the node knows the peer from: a connection, a relay reservation, a DHT record, a presence announcement. */
  sources: Array<'connection' | 'reservation' | 'dht' | 'presence'>
  /**
   * What the peer's libp2p says it runs on (identify's agent version: js-libp2p
   * in a browser tab says `browser/…`, in Node `node/…`). A claim, shown as one.
   */
  platform?: 'browser' | 'node'
  /** The last presence announcement received from this peer, as checked. */
  presence?: {
    /** The verdict of the check. */
    status: 'valid' | 'invalid' | 'unsigned'
    /** The capabilities it announced. */
    capabilities?: string[]
    /** The announcement's `ts`, ms since the Unix epoch. */
    ts: number
    /** What the announcement claimed (shown as a claim, never as verified unless `status` is `valid`). */
    handle?: string
    /** The kind the announcement claimed. */
    kind?: string
    /** Why it is not valid: an error code such as `ERR_BAD_SIGNATURE` or `ERR_HANDLE_MISMATCH`. */
    reason?: string
  }
}

/** An edge of the graph. */
export interface LinkView {
  /** One end's peer id. */
  from: string
  /** The other end's peer id. */
  to: string
  /** The connection's transport. */
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

/** One envelope of a session, as received or sent. */
export interface MessageView {
  /** Received (`in`) or sent (`out`). */
  dir: 'in' | 'out'
  /** When it was received or sent, ms since the Unix epoch. */
  ts: number
  /** The kind of JSON-RPC message it carried; `error` is a failed response. */
  type: 'request' | 'response' | 'notification' | 'error'
  /** The JSON-RPC method, for requests and notifications. */
  method?: string
  /** The JSON-RPC id, for requests and responses. */
  rpcId?: string | number
  /** The envelope's `id` (or `frame-<n>` for a frame that had none). */
  envelopeId: string
  /** `true` when the envelope's signature and signer checked out; otherwise the error code. */
  verified: true | string
  /** The envelope as JSON, for the inspector. */
  envelope: unknown
}

/** A session of the node with another peer. */
export interface SessionView {
  /** The session id. */
  id: string
  /** The other peer; `handle` and `kind` only as verified. */
  remote: {
    /** Its peer id. */
    peer: string
    /** Its handle. */
    handle?: string
    /** Its kind. */
    kind: 'agent' | 'human' | 'anon'
  }
  /** Who opened the session. */
  direction: 'inbound' | 'outbound'
  /** The transport it runs on. */
  transport: Transport
  /** When it opened, ms since the Unix epoch. */
  opened: number
  /** When it closed, ms since the Unix epoch; absent while open. */
  closed?: number
  /** The envelopes sent and received, oldest first (a bounded timeline). */
  messages: MessageView[]
}

/** A negotiation the node takes part in. */
export interface NegotiationView {
  /** The negotiation id. */
  id: string
  /** What it is about. */
  subject: string
  /** `[proposer, counterparty]`. */
  parties: Array<{
    /** Peer id. */
    peer: string
    /** Handle. */
    handle?: string
  }>
  /** The negotiation's state (`proposed`, `negotiating`, `confirmed`, …). */
  state: string
  /** The `seq` of the last transition. */
  seq: number
  /** The latest offer's terms. */
  terms?: unknown
  /** Every transition so far. */
  transitions: Array<{
    /** Its `seq`. */
    seq: number
    /** Its type. */
    type: string
    /** Signer's peer id. */
    by: string
    /** Signer's clock, ms. */
    ts: number
    /** Its transition hash. */
    hash: string
  }>
  /** The agreement, once confirmed. */
  agreement?: unknown
}

/** An approval held for the node's human. */
export interface ApprovalView {
  /** The approval's id. */
  id: string
  /** When it was requested, ms since the Unix epoch. */
  created: number
  /** The peer whose request or transition it is. */
  peer: string
  /** That peer's handle, when known. */
  handle?: string
  /** The method (or transition) held. */
  method: string
  /** What the human is asked, in words. */
  summary: string
  /** The amount at stake, if any. */
  amount?: {
    /** The amount. */
    value: number
    /** ISO 4217 code. */
    currency: string
  }
  /** `pending`, or what became of it (`approved`, `rejected`, `expired`, …). */
  status: string
}

/** A `message` delivered to the human (protocols/methods §3). */
export interface InboxView {
  /** The id of the envelope that carried it. */
  id: string
  /** When it arrived, ms since the Unix epoch. */
  at: number
  /** The sender's peer id. */
  peer: string
  /** Set only when verified (the sender's session stamped it). */
  handle?: string
  /** The sender's kind, as verified. */
  kind: 'agent' | 'human' | 'anon'
  /** The message text. */
  text: string
  /** The urgency the sender gave. */
  urgency?: 'low' | 'normal' | 'high'
  /** The sender's conversation id. */
  conversation?: string
  /** Set when it was held for the human first (a stranger's), by that approval. */
  approval?: string
  /** `mail`: it came sealed through a relay while the node was away (protocols/mailbox), not on a session. */
  via?: 'mail'
}

/**
 * A `message` the node mailed to an agent that was offline (protocols/mailbox),
 * and how far it got. Receipts the node sends are not listed; the sealed
 * envelope, the record and the params never leave the agent.
 */
export interface OutboxView {
  /** The id of the envelope that carries it. */
  id: string
  /** When the agent accepted it, ms since the Unix epoch. */
  created: number
  /** The recipient. */
  to: {
    /** Its peer id. */
    peer: string
    /** Its handle, without `@`. */
    handle?: string
  }
  /** Overall: `pending` (stored at no relay yet), `queued` (stored at a relay), `delivered`, `read` (the recipient's receipts), `failed`. */
  status: 'pending' | 'queued' | 'delivered' | 'read' | 'failed'
  /** The message text. */
  text: string
  /** The recipient's mailbox relays and how far it got at each: `pending`, `stored`, or the code the relay refused it with. */
  relays: Array<{
    /** The relay's peer id. */
    relay: string
    /** `pending`, `stored`, or the relay's refusal code. */
    state: string
  }>
  /** When the delivered receipt came, ms since the Unix epoch. */
  delivered?: number
  /** When the read receipt came, ms since the Unix epoch. */
  read?: number
  /** Why it failed, or the last error while pending. */
  error?: string
}

/** A contact in the trust store: 0 unknown, 1 known, 2 trusted (protocols/approval). */
export interface ContactView {
  /** The contact's peer id. */
  peer: string
  /** As last remembered (informative: the peer id is the key). */
  handle?: string
  /** The trust level the human gave. */
  level: 0 | 1 | 2
  /** What a trusted contact may do without asking. */
  limits?: {
    /** Largest automatic amount. */
    maxAmount?: number
    /** Its ISO 4217 code. */
    currency?: string
    /** Methods allowed automatically. */
    methods?: string[]
  }
  /** When a human last set the level; 0 if never. */
  updated: number
  /** The human's note. */
  note?: string
}

/** What a relay relays. */
export interface RelayView {
  /** Reservations the relay holds for its clients. */
  reservations: number
  /** Circuits open through it. */
  circuits: number
  /** Bytes relayed through circuits: `in` from the dialing side, `out` back to it. */
  bytes: {
    /** From the dialing side. */
    in: number
    /** Back to it. */
    out: number
  }
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
  /** The current state. */
  state: () => DashboardState | Promise<DashboardState>
  /** Registers `listener` for changes; returns the function that removes it. */
  onChange: (listener: () => void) => () => void
  /** Decides pending approval `approvalId` for the human, with an optional reply. */
  decide?: (approvalId: string, decision: 'approve' | 'reject', reply?: string) => Promise<unknown>
}
