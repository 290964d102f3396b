/**
 * The dashboard's view from an agent node: what the agent can honestly know.
 *
 * - **graph**: its own connections (one per peer, the most direct, as
 *   `connectionSummary` picks them), the relays it holds reservations on
 *   (shown verified: granting one proves the relay serves the hop protocol),
 *   the handle records it resolved (each validated when resolved), and the
 *   presence announcements it received, as checked — the same rules as a
 *   relay's (`mesh.ts`);
 * - **sessions**: every session it has open, both directions, and the last
 *   closed ones, each with a bounded timeline of the envelopes sent and
 *   received and the verdict on each (the session's `envelope` event);
 * - **negotiations**: `agent.negotiations`, each with its transitions (and
 *   their hashes), the latest offer's terms, and the agreement once
 *   confirmed;
 * - **approvals**: the desk's approvals store, pending first, with
 *   `decide` answering them through `agent.approve` / `agent.reject`;
 * - **inbox** and **contacts**: the latest messages delivered to the
 *   human (`agent.inbox()`, then each `message` event), and the trust
 *   store's contacts with their levels;
 * - **outbox**: the latest messages mailed to agents that were offline
 *   (`agent.outbox()`, then each `mail` event), with the relays holding
 *   each and its receipts — never the sealed envelope, record or params.
 *
 * @example
 * ```ts
 * import { DashboardServer, Router, agentSource, startHttp } from 'parley-mesh/dashboard'
 * import type { Agent } from 'parley-mesh'
 *
 * declare const agent: Agent
 * const source = agentSource(agent)        // after agent.start()
 * const dashboard = new DashboardServer({ source })
 * const http = await startHttp('127.0.0.1', 0, dashboard.mount(new Router()))
 * console.log(dashboard.url(http.url))
 * ```
 */
import { TypedEventEmitter } from 'main-event'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Agent } from '../agent/agent.js'
import type { EnvelopeRecord, Session } from '../session/session.js'
import { connectionSummary, transportOf } from '../util/transport.js'
import { handleView } from '../node/handle-store.js'
import { transitionHash } from '../negotiation/transition.js'
import type { Negotiation } from '../negotiation/machine.js'
import type { Transition } from '../negotiation/transition.js'
import { ApprovalError, ApprovalErrorCode } from '../store/errors.js'
import type { PendingApproval } from '../store/approvals.js'
import type { TrustEntry } from '../store/trust.js'
import type { InboxMessage } from '../agent/desk.js'
import type { OutboxEntry } from '../mailbox/outbox.js'
import { cardSkills } from '../handles/card.js'
import type { CardRecord } from '../handles/card.js'
import { fromUtf8 } from '../crypto/bytes.js'
import { MAX_DEPTH } from '../crypto/canonical-json.js'
import { lenientUtf8Prefix } from '../util/lenient-utf8.js'
import { guarded } from '../util/guard.js'
import { logger } from '@libp2p/logger'
import { MeshBuilder, RelayKinds, presenceCounts } from './mesh.js'
import type { ApprovalView, CardView, ContactView, DashboardSource, DashboardState, InboxView, MessageView, NegotiationView, OutboxView, SessionView, Transport } from './types.js'

/** Bounds on what {@link agentSource} keeps and shows; every one has a default. */
export interface AgentSourceOptions {
  /** Envelopes kept per session, the latest (default 100). */
  maxMessages?: number
  /** Closed sessions kept, the latest (default 20). */
  maxClosedSessions?: number
  /** Envelopes larger than this (JSON characters) are kept as a summary (default 16 384). */
  maxEnvelopeChars?: number
  /** Negotiations shown, the latest (default 100). */
  maxNegotiations?: number
  /** Decided approvals shown besides the pending ones, the latest (default 50). */
  maxDecidedApprovals?: number
  /** Inbox messages shown, the latest (default 50). */
  maxInbox?: number
  /** Outbox messages shown, the latest (default 50). */
  maxOutbox?: number
}

/** A {@link DashboardSource} that can be detached from its agent. */
export interface AgentDashboardSource extends DashboardSource {
  decide: (approvalId: string, decision: 'approve' | 'reject', reply?: string) => Promise<PendingApproval>
  /** Stops following the agent (sessions, events). */
  stop: () => void
}

interface Tracked {
  session: Session
  opened: number
  closed?: number
  transport: Transport
  messages: MessageView[]
  /** Envelopes seen, for naming frames that carry no readable id. */
  frames: number
  /** Stops following the session. */
  detach: () => void
}

const log = logger('parley:dashboard:agent')

/** The most of an unreadable frame a timeline shows (its first bytes, as text). */
const FRAME_TEXT_BYTES = 2048

/**
 * What a refused frame claims to be (unverified: shown only next to its
 * refusal code): a JSON object nested no deeper than envelopes may be
 * ({@link MAX_DEPTH}), or nothing — a peer's frame parsed as far as
 * `JSON.parse` goes could be too deep for `JSON.stringify` to send on.
 */
function looseEnvelope (bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(fromUtf8(bytes)) as unknown
    return typeof value === 'object' && value !== null && !Array.isArray(value) && nestedWithin(value, MAX_DEPTH) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** True when `value` nests arrays and objects at most `depth` deep (the walk never goes deeper). */
function nestedWithin (value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true
  if (depth === 0) return false
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (!nestedWithin(item, depth - 1)) return false
  return true
}

/** One envelope of a session's timeline, from the session's `envelope` event. */
export function messageView (e: EnvelopeRecord, n: number, maxChars = 16_384): MessageView {
  const claimed = e.envelope as unknown as Record<string, unknown> | undefined ?? looseEnvelope(e.bytes)
  const body = (e.body ?? claimed?.body) as Record<string, unknown> | undefined
  const type: MessageView['type'] = body === undefined || typeof body !== 'object'
    ? 'notification'
    : typeof body.method === 'string'
      ? (body.id !== undefined && body.id !== null ? 'request' : 'notification')
      : body.error !== undefined ? 'error' : 'response'
  const method = typeof body?.method === 'string' ? body.method : undefined
  const rpcId = typeof body?.id === 'string' || typeof body?.id === 'number' ? body.id : undefined
  const envelopeId = typeof claimed?.id === 'string' ? claimed.id : `frame-${n}`
  // a peer's bytes, valid UTF-8 or not, cut at a character boundary: shown, never a reason to throw
  let envelope: unknown = claimed ?? { frame: lenientUtf8Prefix(e.bytes, FRAME_TEXT_BYTES) }
  if (e.size !== undefined) {
    envelope = { bytes: e.size, note: 'over the size limit: skipped unread' }
  } else if (e.bytes.byteLength > maxChars) {
    envelope = { id: envelopeId, from: claimed?.from, to: claimed?.to, ts: claimed?.ts, bytes: e.bytes.byteLength, note: `larger than ${maxChars} bytes: not kept` }
  }
  return { dir: e.dir, ts: e.at, type, ...(method === undefined ? {} : { method }), ...(rpcId === undefined ? {} : { rpcId }), envelopeId, verified: e.verified, envelope }
}

/** Maps the approval store's errors to what the dashboard server answers (404, 409, 400). */
function decideError (err: unknown): unknown {
  if (!(err instanceof ApprovalError)) return err
  const status = err.code === ApprovalErrorCode.NOT_FOUND
    ? 404
    : err.code === ApprovalErrorCode.NOT_PENDING || err.code === ApprovalErrorCode.USED || err.code === ApprovalErrorCode.REJECTED
      ? 409
      : err.code === ApprovalErrorCode.INVALID_ARGUMENT ? 400 : undefined
  return status === undefined ? err : Object.assign(err, { status })
}

function approvalView (a: PendingApproval): ApprovalView {
  return {
    id: a.id,
    created: a.created,
    peer: a.peer,
    ...(a.handle === undefined ? {} : { handle: a.handle }),
    method: a.method,
    summary: a.summary,
    ...(a.amount === undefined ? {} : { amount: { value: a.amount.value, currency: a.amount.currency } }),
    status: a.status
  }
}

/** A {@link DashboardSource} over a started {@link Agent}. */
export function agentSource (agent: Agent, options: AgentSourceOptions = {}): AgentDashboardSource {
  const maxMessages = options.maxMessages ?? 100
  const maxClosed = options.maxClosedSessions ?? 20
  const maxChars = options.maxEnvelopeChars ?? 16_384
  const maxNegotiations = options.maxNegotiations ?? 100
  const maxDecided = options.maxDecidedApprovals ?? 50
  const maxInbox = options.maxInbox ?? 50
  const maxOutbox = options.maxOutbox ?? 50
  const changes = new TypedEventEmitter<{ change: CustomEvent }>()
  const changed = (): void => { changes.safeDispatchEvent('change') }
  const sessions = new Map<Session, Tracked>()
  /** Transition hashes per negotiation (a chain only grows). */
  const hashes = new Map<string, string[]>()
  const agreements = new Map<string, unknown>()
  let approvals: ApprovalView[] | undefined

  // --- sessions: a timeline each, from the moment we follow it
  function follow (session: Session): void {
    if (sessions.has(session)) return
    // listeners on what a peer sent: a throw here would be an uncaught exception (util/guard)
    const onEnvelope = guarded(log, 'adding an envelope to a timeline', (e: CustomEvent<EnvelopeRecord>): void => {
      tracked.messages.push(messageView(e.detail, ++tracked.frames, maxChars))
      if (tracked.messages.length > maxMessages) tracked.messages.shift()
      changed()
    })
    const onClose = guarded(log, 'closing a timeline', (): void => {
      tracked.closed = Date.now()
      const closed = [...sessions.values()].filter(t => t.closed !== undefined)
      for (const old of closed.slice(0, Math.max(0, closed.length - maxClosed))) {
        old.detach()
        sessions.delete(old.session)
      }
      changed()
    })
    const following = new AbortController()
    const tracked: Tracked = {
      session,
      opened: Date.now(),
      transport: 'circuit',
      messages: [],
      frames: 0,
      detach: () => { following.abort() }
    }
    sessions.set(session, tracked)
    const { signal } = following
    session.addEventListener('envelope', onEnvelope, { signal })
    session.addEventListener('upgrade', changed, { signal })
    session.addEventListener('close', onClose, { once: true, signal })
    if (session.closed) tracked.closed = Date.now()
    changed()
  }
  // every listener below goes when the source stops
  const stopped = new AbortController()
  const always = { signal: stopped.signal }
  const onSession = (e: CustomEvent<Session>): void => { follow(e.detail) }
  agent.addEventListener('session', onSession, always)
  agent.addEventListener('connected', onSession, always)
  for (const s of agent.sessions) follow(s)

  // --- negotiations, approvals, and everything else worth an update
  const negotiations = agent.negotiations
  const store = agent.desk.approvals
  const onApprovals = (): void => { approvals = undefined; changed() }
  negotiations.addEventListener('transition', changed, always)
  negotiations.addEventListener('confirmed', changed, always)
  for (const type of ['pending', 'decided', 'used'] as const) store.addEventListener(type, onApprovals, always)
  agent.addEventListener('outcome', changed, always)

  // --- the human's inbox (newest first: what arrives, then what was there) and contacts
  let inbox: InboxView[] = []
  const addInbox = (messages: InboxMessage[]): void => {
    const known = new Set(inbox.map(m => m.id))
    inbox = [...inbox, ...messages.filter(m => !known.has(m.id)).map(inboxView)].sort((a, b) => b.at - a.at).slice(0, maxInbox)
    changed()
  }
  agent.addEventListener('message', (e) => { addInbox([e.detail]) }, always)
  agent.inbox().then(addInbox, () => {})
  agent.desk.trust.addEventListener('change', changed, always)

  // --- the outbox: messages mailed to agents that were away (newest first; an entry changes as it goes)
  let outbox: OutboxView[] = []
  const addOutbox = (entries: OutboxEntry[]): void => {
    const shown = entries.filter(e => e.method !== 'mail/receipt')
    if (shown.length === 0) return
    const updated = new Map(shown.map(e => [e.id, outboxView(e)]))
    outbox = [...outbox.filter(m => !updated.has(m.id)), ...updated.values()].sort((a, b) => b.created - a.created).slice(0, maxOutbox)
    changed()
  }
  agent.addEventListener('mail', (e) => { addOutbox([e.detail]) }, always)
  try {
    addOutbox(agent.outbox())
  } catch (err) {
    log('no outbox to show: %s', (err as Error).message)
  }

  // --- the node (its libp2p and presence are new after a restart, e.g. rotateKey)
  let libp2p: Libp2p | undefined
  let relays: RelayKinds | undefined
  let presence: Agent['presence']
  let onNode = new AbortController()
  let onPresence = new AbortController()
  function attach (): Libp2p | undefined {
    let current: Libp2p | undefined
    try { current = agent.libp2p } catch { current = undefined }
    if (current !== libp2p) {
      relays?.stop()
      onNode.abort()
      onNode = new AbortController()
      libp2p = current
      relays = current === undefined ? undefined : new RelayKinds(current)
      current?.addEventListener('connection:open', changed, { signal: onNode.signal })
      current?.addEventListener('connection:close', changed, { signal: onNode.signal })
    }
    if (agent.presence !== presence) {
      onPresence.abort()
      onPresence = new AbortController()
      presence = agent.presence
      presence?.addEventListener('change', changed, { signal: onPresence.signal })
    }
    return libp2p
  }
  attach()

  function negotiationView (n: Negotiation): NegotiationView {
    const transitions = n.transitions
    let known = hashes.get(n.id)
    if (known === undefined || known.length > transitions.length) { known = []; hashes.set(n.id, known) }
    for (let i = known.length; i < transitions.length; i++) known.push(transitionHash(transitions[i] as Transition))
    let agreement: unknown
    if (n.state === 'confirmed') {
      agreement = agreements.get(n.id)
      if (agreement === undefined) {
        try { agreement = negotiations.agreement(n.id) } catch { agreement = undefined }
        if (agreement !== undefined) agreements.set(n.id, agreement)
      }
    }
    return {
      id: n.id,
      subject: n.subject,
      parties: n.parties.map(p => ({ peer: p.peer, ...(p.handle === undefined ? {} : { handle: p.handle }) })),
      state: n.state,
      seq: n.seq,
      terms: n.offer.terms,
      transitions: transitions.map((t, i) => ({ seq: t.seq, type: t.type, by: t.by, ts: t.ts, hash: known[i] as string })),
      ...(agreement === undefined ? {} : { agreement })
    }
  }

  function approvalViews (): ApprovalView[] {
    if (approvals !== undefined) return approvals
    const all = store.list()
    const pending = all.filter(a => a.status === 'pending')
    const decided = all.filter(a => a.status !== 'pending').slice(-maxDecided).reverse()
    approvals = [...pending, ...decided].map(approvalView)
    return approvals
  }

  function sessionViews (connections: Connection[]): SessionView[] {
    const out: SessionView[] = []
    for (const t of sessions.values()) {
      const s = t.session
      if (!s.closed) {
        const carrying = connections.find(c => c.streams.includes(s.stream))
        if (carrying !== undefined) t.transport = transportOf(carrying.remoteAddr)
      }
      let remote: SessionView['remote'] = { peer: s.remotePeer, kind: 'anon' }
      try {
        const r = s.remote
        remote = { peer: r.peer, kind: r.kind, ...(r.handle === undefined ? {} : { handle: r.handle }) }
      } catch {
        // not ready yet: nothing verified about the far side
      }
      out.push({
        id: s.id ?? `unnamed-${out.length}`,
        remote,
        direction: s.direction,
        transport: t.transport,
        opened: t.opened,
        ...(t.closed === undefined ? {} : { closed: t.closed }),
        messages: [...t.messages]
      })
    }
    return out
  }

  function state (): DashboardState {
    const now = Date.now()
    const node = attach()
    const self = agent.peerId
    const mesh = new MeshBuilder(self)
    const connections = node?.getConnections() ?? []
    const addrs = node?.getMultiaddrs().map(String) ?? []
    // the relays holding our reservation: our circuit addresses name them
    const reserved = new Set<string>()
    for (const a of addrs) {
      const m = /\/p2p\/([^/]+)\/p2p-circuit\/p2p\/([^/]+)$/.exec(a)
      if (m?.[2] === self && m[1] !== undefined) reserved.add(m[1])
    }
    if (node !== undefined) mesh.connections(connectionSummary(node).map(c => c.connection), id => reserved.has(id) || relays?.has(id) === true, id => relays?.platform(id))
    // a relay that granted us a reservation has shown it serves the hop protocol: that kind is verified
    for (const id of reserved) {
      const view = mesh.peer(id)
      mesh.source(view, 'reservation')
      view.kind = 'relay'
      view.verified = true
    }
    const records = agent.resolvedHandles()
    const handles = records.map(r => handleView(r, now)).sort((a, b) => a.handle.localeCompare(b.handle))
    mesh.records(handles)
    mesh.presence(agent.presence?.entries() ?? [])
    const peers = mesh.peers
    const sessionList = sessionViews(connections)
    const negotiationList = negotiations.list().slice(-maxNegotiations).map(negotiationView)
    if (hashes.size > negotiationList.length) {
      // forget what is no longer shown
      const shown = new Set(negotiationList.map(n => n.id))
      for (const id of hashes.keys()) if (!shown.has(id)) { hashes.delete(id); agreements.delete(id) }
    }
    const approvalList = approvalViews()
    const counts = presenceCounts(peers)
    const handle = agent.record === undefined ? undefined : agent.handleName
    return {
      node: { peer: self, ...(handle === undefined ? {} : { handle }), role: 'agent', kind: agent.identity.kind, addrs, started: agent.started ?? now },
      peers,
      links: mesh.links,
      handles,
      sessions: sessionList,
      negotiations: negotiationList,
      approvals: approvalList,
      inbox,
      outbox,
      ...(agent.presence === undefined ? {} : { cards: cardViews(agent.heardCards(), records) }),
      contacts: agent.desk.trust.list().map(contactView).sort((a, b) => b.level - a.level || (a.handle ?? a.peer).localeCompare(b.handle ?? b.peer)),
      metrics: {
        connections: connections.filter(c => c.status === 'open').length,
        peers: peers.length,
        sessions_open: sessionList.filter(s => s.closed === undefined).length,
        messages: sessionList.reduce((n, s) => n + s.messages.length, 0),
        negotiations_open: negotiationList.filter(n => !['confirmed', 'rejected', 'cancelled', 'expired'].includes(n.state)).length,
        approvals_pending: approvalList.filter(a => a.status === 'pending').length,
        handles: handles.filter(h => h.verified).length,
        presence_valid: counts.valid,
        presence_invalid: counts.invalid,
        heap_mib: Math.round(process.memoryUsage().heapUsed / 1048576 * 10) / 10
      },
      ts: now
    }
  }

  return {
    state,
    onChange (listener) {
      const fire = guarded(log, 'a dashboard change listener', (): void => { listener() })
      changes.addEventListener('change', fire)
      return () => { changes.removeEventListener('change', fire) }
    },
    async decide (id, decision, reply) {
      try {
        const options = reply === undefined ? {} : { reply }
        return decision === 'approve' ? await agent.approve(id, options) : await agent.reject(id, options)
      } catch (err) {
        throw decideError(err)
      }
    },
    stop () {
      for (const t of sessions.values()) t.detach()
      stopped.abort()
      onNode.abort()
      onPresence.abort()
      relays?.stop()
      libp2p = undefined
      relays = undefined
    }
  }
}

function inboxView (m: InboxMessage): InboxView {
  return {
    id: m.id,
    at: m.at,
    peer: m.from.peer,
    ...(m.from.handle === undefined ? {} : { handle: m.from.handle }),
    kind: m.from.kind,
    text: m.text,
    ...(m.urgency === undefined ? {} : { urgency: m.urgency }),
    ...(m.conversation === undefined ? {} : { conversation: m.conversation }),
    ...(m.approval === undefined ? {} : { approval: m.approval }),
    ...(m.via === 'mail' ? { via: m.via } : {})
  }
}

/** What a relay or a recipient said, as far as the page shows it. */
const MAX_SAID = 256

/** An outbox entry as the page sees it: no envelope, record or params. */
function outboxView (e: OutboxEntry): OutboxView {
  return {
    id: e.id,
    created: e.created,
    to: { peer: e.to.peer, ...(e.to.handle === undefined ? {} : { handle: e.to.handle }) },
    status: e.status,
    text: e.text ?? '',
    relays: Object.entries(e.relays).map(([relay, state]) => ({ relay, state: String(state).slice(0, MAX_SAID) })),
    ...(e.delivered === undefined ? {} : { delivered: e.delivered }),
    ...(e.read === undefined ? {} : { read: e.read }),
    ...(e.error === undefined ? {} : { error: e.error.slice(0, MAX_SAID) })
  }
}

function contactView (e: TrustEntry): ContactView {
  return {
    peer: e.peer,
    ...(e.handle === undefined ? {} : { handle: e.handle }),
    level: e.level,
    ...(e.limits === undefined ? {} : { limits: { ...e.limits } }),
    updated: e.updated,
    ...(e.note === undefined ? {} : { note: e.note })
  }
}

/** Cards heard, each marked by whether the handle record this agent holds names its signer. */
function cardViews (cards: CardRecord[], records: ReadonlyArray<{ handle: string, peer: string }>): CardView[] {
  const owners = new Map(records.map(r => [r.handle, r.peer]))
  return cards.map(c => {
    const owner = owners.get(c.handle)
    return {
      handle: c.handle,
      peer: c.peer,
      name: typeof c.card.name === 'string' ? c.card.name.slice(0, 128) : '',
      skills: cardSkills(c.card).slice(0, 32),
      ...(owner === undefined ? {} : { verified: owner === c.peer }),
      expires: c.expires
    }
  }).sort((a, b) => a.handle.localeCompare(b.handle))
}

