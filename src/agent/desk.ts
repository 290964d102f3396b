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
import { EventLog, TrustStore, Approvals, policyGate } from '../store/index.js'
import type { NodePolicy, PolicyVerdict, PendingApproval, Amount, LogEntry, StoreSigner } from '../store/index.js'
import type { Caller } from '../session/session.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'

const log = logger('parley:desk')
/** Longest an event waits before it is written to the log (with those recorded meanwhile). */
export const LOG_BATCH_MS = 10
const INBOX = '/parley/inbox/'
const HELD = '/parley/held/'

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
  /** Node-wide policy: method classes, an amount threshold. */
  policy?: NodePolicy
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

  private constructor (datastore: Datastore, log: EventLog, trust: TrustStore, approvals: Approvals, policy: NodePolicy) {
    super()
    this.#datastore = datastore
    this.log = log
    this.trust = trust
    this.approvals = approvals
    this.#policy = policy
    this.#effective = withRoutineDefault(policy)
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
    this.#policy = policy
    this.#effective = withRoutineDefault(policy)
  }

  /**
   * Appends to the event log without waiting: failures are logged, never
   * thrown at the caller. Entries are gathered for up to
   * {@link LOG_BATCH_MS} and written in call order as one batch under one
   * signature (protocols/event-log §3), so that a conversation's messages
   * are not held up by its own log.
   */
  record (type: string, data: Record<string, unknown>): void {
    this.#defer([type, data])
  }

  /** {@link record} for data given as its canonical JSON text (see `EventLog.recordCanonical`). */
  recordCanonical (type: string, dataText: string): void {
    this.#defer([type, dataText])
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

  /** Approvals waiting for the human, oldest first. */
  pending (): PendingApproval[] { return this.approvals.pending() }

  /** Puts a message in the inbox. */
  async deliver (message: InboxMessage): Promise<void> {
    await this.#datastore.put(new Key(`${INBOX}${String(message.at).padStart(15, '0')}-${message.id}`), utf8(JSON.stringify(message)))
    this.record('message.inbox', { id: message.id, from: message.from as unknown as Record<string, unknown>, text: message.text })
    this.safeDispatchEvent('message', { detail: message })
  }

  /** The inbox, oldest first. */
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
    await this.flush().catch(() => {})
    await Promise.allSettled([this.log.close(), this.trust.close(), this.approvals.close()])
  }
}

function withRoutineDefault (policy: NodePolicy): NodePolicy {
  return policy.defaultClass === undefined ? { ...policy, defaultClass: 'routine' } : policy
}
