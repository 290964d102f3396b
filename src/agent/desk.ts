/**
 * The human's desk of an agent node: the persisted trust store, the policy
 * gate, pending approvals, the inbox of messages for the human, and the
 * signed, hash-chained event log — all in the node's datastore.
 *
 * The agent consults the desk for every incoming request and every
 * negotiation move; what the policy says to ask about waits here until the
 * human approves or rejects it (from the library, the CLI through the
 * control API, or the dashboard).
 *
 * @example
 * ```ts
 * import { createAgent } from 'parley-mesh'
 *
 * const relays = [process.env.PARLEY_RELAY ?? ''] // a relay's multiaddr, with /p2p/<id>
 * const agent = await createAgent({ handle: 'rapidplumb', relays, dataDir: './plumber', policy: { amountThreshold: { value: 100, currency: 'GBP' } } })
 * await agent.start()
 * for (const a of agent.pending()) console.log(a.id, a.summary)
 * const [first] = agent.pending()
 * if (first !== undefined) await agent.approve(first.id, { reply: 'See you at 2pm' })
 * ```
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { EventLog, TrustStore, Approvals, policyGate, resolveQuotas, forLevel } from '../store/index.js'
import type { NodePolicy, PolicyVerdict, PendingApproval, Amount, LogEntry, StoreSigner, Quotas, ApprovalQuota } from '../store/index.js'
import type { Caller } from '../session/session.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'

const log = logger('parley:desk')
/** Longest an event waits before it is written to the log (with those recorded meanwhile). */
export const LOG_BATCH_MS = 10
const INBOX = '/parley/inbox/'
const HELD = '/parley/held/'
/** Requests of ours that a peer's node holds for its human: the `approval/outcome` we await from it. */
const AWAITING = '/parley/awaiting/'
/** Most notifications of ours remembered (the oldest are forgotten first): see {@link Desk.notified}. */
const MAX_NOTIFIED = 10_000
/** Most peers whose refusals are counted apart; beyond, new peers share one count (under the peer `*`). */
const MAX_COUNTED_PEERS = 10_000

/**
 * Event types that record a refusal of what a peer sent: {@link Desk.record}
 * rate-limits them per peer (`data.peer`), as {@link Desk.recordRefusal} does.
 */
export const REFUSAL_EVENT_TYPES: ReadonlySet<string> = new Set(['frame.in', 'negotiation.refused', 'quota.refused', 'outcome.ignored'])
/** The event summing up the refusals of one peer not recorded in a window (protocols/event-log §4). */
export const REFUSALS_SUPPRESSED = 'refusals.suppressed'

/** A message for the human, as the inbox keeps it. */
export interface InboxMessage {
  /** The id of the envelope that carried it. */
  id: string
  /** When it arrived (ms). */
  at: number
  /** Who sent it, as verified by the session. */
  from: Caller
  /** The text. */
  text: string
  /** The sender's conversation id. */
  conversation?: string
  /** The id of the envelope it answers. */
  inReplyTo?: string
  /** How soon the human should see it. */
  urgency?: 'low' | 'normal' | 'high'
  /** The approval it was held for (trust level 0), if it was. */
  approval?: string
  /** `mail`: it came sealed through a relay while we were away (protocols/mailbox), not on a session. */
  via?: 'mail'
}

/** What the desk remembers about a held request, to answer it once decided. */
export interface HeldRequest {
  /** The approval it waits for. */
  approval: string
  /** Who asked. */
  caller: Caller
  /** The method asked for. */
  method: string
  /** The envelope id of the request. */
  request: string
  /**
   * The session it arrived on: the outcome goes back on it while it is open,
   * after the held answer on the same stream, so it cannot overtake it.
   */
  session?: string
  /**
   * What is sent back as `approval/outcome` once the decision was carried out;
   * kept until the requester has it (it may be offline), then the whole
   * record goes.
   */
  outcome?: HeldOutcome
}

/** The `approval/outcome` a held request's requester is owed (protocols/methods §7). */
export interface HeldOutcome {
  /** The approval id. */
  approval: string
  /** The envelope id of the request decided. */
  request: string
  /** What the human decided. */
  decision: 'approve' | 'reject'
  /** The human's words to the requester, if any. */
  reply?: string
  /** The method's result (or `{ status: 'delivered' }` for a message), when approved. */
  result?: JsonValue
}

/** Events of a {@link Desk}. */
export interface DeskEvents {
  /** A message reached the inbox. */
  message: CustomEvent<InboxMessage>
  /** Something waits for the human. */
  pending: CustomEvent<PendingApproval>
}

/** Options of {@link Desk.open}. */
export interface DeskOptions {
  /** Node-wide policy: method classes, an amount threshold, quotas (`policy.quotas`, over `DEFAULT_QUOTAS`). */
  policy?: NodePolicy
}

/** One peer's refusals in the current window. */
interface RefusalCount {
  /** When the window started (ms). */
  since: number
  /** Refusals recorded in it. */
  recorded: number
  /** Refusals counted and not recorded, by event type. */
  suppressed: Map<string, number>
}

/** The human's desk: see the module documentation. */
export class Desk extends TypedEventEmitter<DeskEvents> {
  /** The node's signed event log. */
  readonly log: EventLog
  /** The human's trust in each contact. */
  readonly trust: TrustStore
  /** What waits for the human's decision. */
  readonly approvals: Approvals
  #policy: NodePolicy
  /** The policy as the gate applies it: unclassed served methods are `routine` unless it says otherwise. */
  #effective: NodePolicy
  readonly #datastore: Datastore
  /** Events waiting for the next batch: their data, or its canonical text ({@link recordCanonical}). */
  readonly #deferred: Array<[string, Record<string, unknown> | string]> = []
  #scheduled: ReturnType<typeof setTimeout> | undefined
  #quotas: Quotas
  /** Refusals per peer in the current window (see {@link recordRefusal}). */
  readonly #refusals = new Map<string, RefusalCount>()
  #refusalTimer: ReturnType<typeof setTimeout> | undefined
  /** `approval/outcome` notifications ignored: not from the peer that holds our request, or for no request of ours. */
  #ignoredOutcomes = 0
  /** The `at` of the last message delivered, and how many before it had the same one (inbox keys keep arrival order). */
  #lastAt = 0
  #sameMs = 0
  /** Notifications of ours a peer may hold for its human: envelope id → that peer (no answer says whether it did). */
  readonly #notified = new Map<string, string>()
  /** Writes of {@link awaitOutcome} under way, by approval id. */
  readonly #awaitWrites = new Map<string, Promise<void>>()

  private constructor (datastore: Datastore, log: EventLog, trust: TrustStore, approvals: Approvals, policy: NodePolicy) {
    super()
    this.#datastore = datastore
    this.log = log
    this.trust = trust
    this.approvals = approvals
    this.#policy = policy
    this.#effective = withRoutineDefault(policy)
    this.#quotas = resolveQuotas(policy.quotas)
    approvals.addEventListener('pending', (e) => { this.safeDispatchEvent('pending', { detail: e.detail }) })
  }

  /** Opens (or reopens, after a restart) the desk kept in `datastore`. */
  static async open (datastore: Datastore, signer: StoreSigner, options: DeskOptions = {}): Promise<Desk> {
    const eventLog = await EventLog.open(datastore, signer)
    const trust = await TrustStore.open(datastore)
    const approvals = await Approvals.open(datastore, { self: signer.peerIdString })
    return new Desk(datastore, eventLog, trust, approvals, options.policy ?? {})
  }

  /**
   * The policy's verdict on `method` from `caller` (and the amount at stake,
   * if any). A method the node serves that no class map names is `routine`:
   * the developer chose to serve it; binding ones are classed `action` in
   * the policy (protocols/methods §1).
   */
  gate (caller: Caller, method: string, amount?: Amount): PolicyVerdict {
    const entry = this.trust.get(caller.peer)
    return policyGate({ trust: { level: entry.level, ...(entry.limits === undefined ? {} : { limits: entry.limits }) }, method, ...(amount === undefined ? {} : { amount }) }, this.#effective)
  }

  /** The node's policy (method classes, an amount threshold); replace it to change what is asked. */
  get policy (): NodePolicy { return this.#policy }
  /** Replaces the node's policy; it applies to the next request or move. */
  set policy (policy: NodePolicy) {
    const quotas = resolveQuotas(policy.quotas)
    this.#policy = policy
    this.#effective = withRoutineDefault(policy)
    this.#quotas = quotas
  }

  /** The quotas in force: `DEFAULT_QUOTAS` overlaid with the policy's `quotas`. */
  get quotas (): Readonly<Quotas> { return this.#quotas }

  /**
   * The quota an approval held for `peer`'s request is held to: its own, by
   * its trust level, and for a stranger (level 0) also the strangers' shared
   * ceiling (contacts never count against it).
   */
  approvalQuota (peer: string): ApprovalQuota {
    const q = this.#quotas
    const level = this.trust.get(peer).level
    return {
      perPeer: forLevel(q.approvalsPerPeer, level),
      ...(level === 0 ? { group: { has: (p: string) => this.trust.get(p).level === 0, max: q.strangerApprovals } } : {})
    }
  }

  /** Most negotiations `peer` may have open with this node, by its trust level. */
  negotiationQuota (peer: string): number {
    return forLevel(this.#quotas.negotiationsPerPeer, this.trust.get(peer).level)
  }

  /**
   * Appends to the event log without waiting: failures are logged, never
   * thrown at the caller. Entries are gathered for up to
   * {@link LOG_BATCH_MS} and written in call order as one batch under one
   * signature (protocols/event-log §3), so that a conversation's messages
   * are not held up by its own log.
   */
  record (type: string, data: Record<string, unknown>): void {
    if (REFUSAL_EVENT_TYPES.has(type) && typeof data.peer === 'string') this.recordRefusal(type, data.peer, data)
    else this.#defer([type, data])
  }

  /**
   * Records a refusal of what `peer` sent, rate-limited per peer: at
   * most `quotas.refusalsLoggedPerPeer` entries per peer per
   * `quotas.refusalWindowMs`; the refusals beyond are only counted, and
   * one `refusals.suppressed` entry `{ peer, count, types, since, until }`
   * sums them up when the window ends. A peer flooding the node with what it
   * refuses so grows the log by a bounded amount. `data` is the entry's
   * data, its canonical text, or a function giving either (called only when
   * recorded). Returns true when recorded.
   */
  recordRefusal (type: string, peer: string, data: Record<string, unknown> | string | (() => Record<string, unknown> | string)): boolean {
    const now = Date.now()
    const q = this.#quotas
    const key = this.#refusals.has(peer) || this.#refusals.size < MAX_COUNTED_PEERS ? peer : '*'
    let count = this.#refusals.get(key)
    if (count !== undefined && now - count.since >= q.refusalWindowMs) {
      this.#summarise(key, count, now)
      count = undefined
    }
    if (count === undefined) {
      count = { since: now, recorded: 0, suppressed: new Map() }
      this.#refusals.set(key, count)
      this.#scheduleRefusalSweep(q.refusalWindowMs)
    }
    if (count.recorded < q.refusalsLoggedPerPeer) {
      count.recorded++
      this.#defer([type, typeof data === 'function' ? data() : data])
      return true
    }
    count.suppressed.set(type, (count.suppressed.get(type) ?? 0) + 1)
    return false
  }

  /** Writes the summary of a window's suppressed refusals, if any. */
  #summarise (peer: string, count: RefusalCount, until: number): void {
    this.#refusals.delete(peer)
    if (count.suppressed.size === 0) return
    let total = 0
    const types: Record<string, number> = {}
    for (const [type, n] of count.suppressed) { types[type] = n; total += n }
    this.#defer([REFUSALS_SUPPRESSED, { peer, count: total, types, since: count.since, until }])
  }

  /** Ends the windows that are over (summing them up), and comes back while any is open. */
  #scheduleRefusalSweep (delay: number): void {
    if (this.#refusalTimer !== undefined) return
    this.#refusalTimer = setTimeout(() => {
      this.#refusalTimer = undefined
      this.#sweepRefusals(Date.now())
    }, Math.max(delay, 10))
    this.#refusalTimer.unref?.()
  }

  #sweepRefusals (now: number, all = false): void {
    const window = this.#quotas.refusalWindowMs
    let next: number | undefined
    for (const [peer, count] of [...this.#refusals]) {
      if (all || now - count.since >= window) this.#summarise(peer, count, now)
      else next = Math.min(next ?? Infinity, count.since + window - now)
    }
    if (next !== undefined) this.#scheduleRefusalSweep(next)
  }

  /** Remembers that `awaited.peer` holds our request for its human: its `approval/outcome` for it will be accepted (once). */
  async awaitOutcome (awaited: {
    /** The approval id the peer's node answered with (`{ status: 'held', approval }`). */
    approval: string
    /** The peer our request went to. */
    peer: string
    /** The envelope id of our request. */
    request: string
    /** When the peer answered that it holds it (ms). */
    at: number
  }): Promise<void> {
    // takeOutcome waits for this write: the outcome may follow the held answer at once
    const write = Promise.resolve(this.#datastore.put(new Key(AWAITING + awaited.approval), utf8(JSON.stringify(awaited)))).then(() => {})
    this.#awaitWrites.set(awaited.approval, write)
    try {
      await write
    } finally {
      if (this.#awaitWrites.get(awaited.approval) === write) this.#awaitWrites.delete(awaited.approval)
    }
  }

  /**
   * Remembers a notification of ours (envelope `id`, to `peer`): a
   * notification gets no answer, so whether the peer holds it for its human
   * shows only when its `approval/outcome` names it. Kept in memory, the
   * last 10 000.
   */
  notified (id: string, peer: string): void {
    this.#notified.set(id, peer)
    if (this.#notified.size > MAX_NOTIFIED) this.#notified.delete(this.#notified.keys().next().value as string)
  }

  /**
   * Whether an `approval/outcome` from `peer` about `approval` and our
   * request `request` is one we await (then it is awaited no longer): a
   * request `peer` answered as held under that approval id, or a
   * notification we sent `peer`.
   */
  async takeOutcome (peer: string, approval: unknown, request: unknown): Promise<boolean> {
    if (typeof request === 'string' && this.#notified.get(request) === peer) {
      this.#notified.delete(request)
      return true
    }
    if (typeof approval === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(approval)) {
      await this.#awaitWrites.get(approval)?.catch(() => {})
      const key = new Key(AWAITING + approval)
      try {
        const awaited = JSON.parse(fromUtf8(await this.#datastore.get(key))) as { peer?: unknown, request?: unknown }
        if (awaited.peer === peer && awaited.request === request) {
          await this.#datastore.delete(key)
          return true
        }
      } catch {
        // not awaited
      }
    }
    return false
  }

  /** Counts an `approval/outcome` notification ignored ({@link ignoredOutcomes}). */
  countIgnoredOutcome (): void { this.#ignoredOutcomes++ }

  /** How many `approval/outcome` notifications were ignored since the desk opened. */
  get ignoredOutcomes (): number { return this.#ignoredOutcomes }

  /**
   * {@link record} for data given as its canonical JSON text (see
   * `EventLog.recordCanonical`); with `peer`, a refusal of one of
   * `REFUSAL_EVENT_TYPES` is rate-limited as {@link recordRefusal} says.
   */
  recordCanonical (type: string, dataText: string, peer?: string): void {
    if (peer !== undefined && REFUSAL_EVENT_TYPES.has(type)) this.recordRefusal(type, peer, dataText)
    else this.#defer([type, dataText])
  }

  #defer (event: [string, Record<string, unknown> | string]): void {
    this.#deferred.push(event)
    if (this.#scheduled === undefined) {
      this.#scheduled = setTimeout(() => { this.#appendDeferred() }, LOG_BATCH_MS)
      this.#scheduled.unref?.()
    }
  }

  #appendDeferred (): void {
    this.#scheduled = undefined
    for (const [type, data] of this.#deferred.splice(0)) {
      const appended = typeof data === 'string' ? this.log.recordCanonical(type, data) : this.log.record(type, data)
      appended.catch((err: Error) => { log.error('event log append (%s) failed: %e', type, err) })
    }
  }

  /** Resolves once everything recorded so far is in the log. */
  async flush (): Promise<void> {
    if (this.#scheduled !== undefined) { clearTimeout(this.#scheduled); this.#appendDeferred() }
    await this.log.flush()
  }

  /**
   * Hands the event log to `next` (a key rotation): what is pending is
   * written first, then a `log.handover` signed by the current key; later
   * entries, and the log reopened, are `next`'s.
   */
  async handOver (next: StoreSigner): Promise<void> {
    await this.flush()
    await this.log.handOver(next)
  }

  /** Approvals waiting for the human, oldest first. */
  pending (): PendingApproval[] { return this.approvals.pending() }

  /** Puts a message in the inbox. */
  async deliver (message: InboxMessage): Promise<void> {
    // keys sort in arrival order: by time, then by a counter among messages of the same millisecond
    // (mail picked up in a batch arrives many to a millisecond, and its order is each sender's)
    if (message.at === this.#lastAt) this.#sameMs++
    else { this.#lastAt = message.at; this.#sameMs = 0 }
    await this.#datastore.put(new Key(`${INBOX}${String(message.at).padStart(15, '0')}-${String(this.#sameMs).padStart(6, '0')}-${message.id}`), utf8(JSON.stringify(message)))
    this.record('message.inbox', { id: message.id, from: message.from as unknown as Record<string, unknown>, text: message.text })
    this.safeDispatchEvent('message', { detail: message })
  }

  /** The inbox, oldest first (in arrival order within a millisecond). */
  async inbox (): Promise<InboxMessage[]> {
    const out: InboxMessage[] = []
    for await (const { value } of this.#datastore.query({ prefix: INBOX })) out.push(JSON.parse(fromUtf8(value)) as InboxMessage)
    return out.sort((a, b) => a.at - b.at)
  }

  /** Remembers who to answer once a held request is decided. */
  async hold (held: HeldRequest): Promise<void> {
    await this.#datastore.put(new Key(HELD + held.approval), utf8(JSON.stringify(held)))
  }

  /** The held request of an approval (and forgets it when `take`). */
  async held (approval: string, take = false): Promise<HeldRequest | undefined> {
    const key = new Key(HELD + approval)
    try {
      const held = JSON.parse(fromUtf8(await this.#datastore.get(key))) as HeldRequest
      if (take) await this.#datastore.delete(key)
      return held
    } catch {
      return undefined
    }
  }

  /**
   * Deletes finished approvals created before `before` (the agent passes now
   * minus the policy's `quotas.finishedKeptMs`), except those whose held
   * request or outcome still waits to be carried out; returns how many went.
   */
  async prune (before: number): Promise<number> {
    const held = new Set<string>()
    for await (const key of this.#datastore.queryKeys({ prefix: HELD })) held.add(key.toString().slice(HELD.length))
    return this.approvals.prune(before, id => held.has(id))
  }

  /** The last `limit` log entries, oldest first. */
  async recent (limit = 50): Promise<LogEntry[]> {
    await this.flush()
    const head = this.log.head
    const since = head === undefined ? 0 : Math.max(0, head.seq - limit + 1)
    const out: LogEntry[] = []
    for await (const entry of this.log.entries({ since })) out.push(entry)
    return out
  }

  /** Writes the events still waiting, then closes the log, trust store and approvals (the datastore stays open). */
  async close (): Promise<void> {
    clearTimeout(this.#refusalTimer)
    this.#refusalTimer = undefined
    this.#sweepRefusals(Date.now(), true)
    await this.flush().catch(() => {})
    await Promise.allSettled([this.log.close(), this.trust.close(), this.approvals.close()])
  }
}

function withRoutineDefault (policy: NodePolicy): NodePolicy {
  return policy.defaultClass === undefined ? { ...policy, defaultClass: 'routine' } : policy
}
