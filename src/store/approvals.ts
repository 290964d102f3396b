/**
 * Pending approvals: signed objects (envelopes, negotiation transitions) held
 * until a human decides, kept in a datastore under `/parley/approvals/<id>`.
 *
 * A pending approval holds the exact bytes awaiting the human and their
 * SHA-256 (the *subject*). The human's answer is a decision signed by an
 * accepted approver (`protocols/approval`) that names the approval and the
 * subject. {@link Approvals.redeem} lets the waiting work go ahead only with
 * a valid approving decision whose subject is both the hash of the bytes
 * about to be acted on and the approval's subject, and only once: an
 * approval can be neither moved to other bytes nor used twice.
 *
 * Lifecycle: `pending` → `approved` | `rejected` | `expired`; `approved` →
 * `used` (or `rejected`, when a valid rejection arrives before it was used).
 * `expired` ({@link Approvals.expire}) is for an approval whose subject can no
 * longer happen (a negotiation that expired): it is redeemed like a rejected one.
 *
 * Quotas: a request may carry the requesting peer's quota and the shared one
 * of a group it belongs to (the strangers); beyond either, or beyond the
 * node-wide `maxOpen`, it is refused with `ERR_APPROVAL_TOO_MANY` whose
 * `quota` says which. Asking again for bytes already held is never refused. A decision
 * made elsewhere (the human's phone, the CLI) can be handed in with
 * {@link Approvals.submit}, or presented directly to `redeem`.
 *
 * Every state change is written to the datastore before its promise
 * resolves and before its event fires, so approvals survive restarts.
 */
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { TypedEventEmitter } from 'main-event'
import { logger } from '@libp2p/logger'
import { fromBase64url, fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { canonicalize } from '../crypto/canonical-json.js'
import { randomToken } from '../crypto/random.js'
import { Serial } from '../util/serial.js'
import { AscendingMs } from '../util/ascending.js'
import { ApprovalError, ApprovalErrorCode as Code } from './errors.js'
import { isAmount } from '../methods/amount.js'
import type { Amount } from '../methods/amount.js'
import { describe, isPeerId, isPlainObject } from './signed.js'
import type { StoreSigner } from './signed.js'
import { APPROVAL_ID_PATTERN, signDecision, subjectHash, verifyDecision } from './approval-format.js'
import type { ApprovalDecision, DecisionKind } from './approval-format.js'

const log = logger('parley:store:approvals')

/** Datastore key prefix of approvals. */
export const APPROVAL_KEY_PREFIX = '/parley/approvals/'
/** Largest subject accepted, in bytes (1 MiB; envelopes are at most 256 KiB). */
export const MAX_SUBJECT_BYTES = 1024 * 1024

/** What kind of signed object awaits the human. */
export type SubjectKind = 'envelope' | 'transition'
/** Where an approval is in its life. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'used' | 'expired'

/** The exact signed object an approval is about. */
export interface ApprovalSubject {
  /** What kind of signed object it is. */
  kind: SubjectKind
  /** Base64url SHA-256 of {@link bytes}' decoded bytes. */
  hash: string
  /** Base64url of the exact signed bytes. */
  bytes: string
}

/** An approval as the store keeps it. */
export interface PendingApproval {
  /** Random id (16 bytes, base64url). */
  id: string
  /**
   * When it was requested, ms since the Unix epoch; strictly increasing
   * within a store (a request in the same millisecond as the one before it
   * is dated a millisecond later), so that oldest first is arrival order.
   */
  created: number
  /** The exact signed object held. */
  subject: ApprovalSubject
  /** The peer whose request or transition it is. */
  peer: string
  /** That peer's handle, when known. */
  handle?: string
  /** The method (or transition) held. */
  method: string
  /** What the human is asked, in words. */
  summary: string
  /** The amount at stake, if any. */
  amount?: Amount
  /** Where it is in its life. */
  status: ApprovalStatus
  /** The decision, once there is one. */
  decision?: ApprovalDecision
  /** When it was redeemed. */
  used?: number
}

/** What {@link Approvals.request} needs. */
export interface ApprovalRequest {
  /** What kind of signed object `bytes` holds. */
  subjectKind: SubjectKind
  /** The exact signed bytes (e.g. an envelope's wire bytes). */
  bytes: Uint8Array
  /** The peer whose request or transition it is (an Ed25519 peer id). */
  peer: string
  /** That peer's handle, when known (up to 32 characters). */
  handle?: string
  /** The method (or transition) held, 1-256 characters. */
  method: string
  /** What the human is asked, in words, 1-4096 characters. */
  summary: string
  /** The amount at stake, if any. */
  amount?: Amount
  /** Limits on the approvals open for this request's peer (none: only the node-wide `maxOpen`). */
  quota?: ApprovalQuota
}

/** The limits a request is held to (see {@link ApprovalRequest.quota}). */
export interface ApprovalQuota {
  /** Most approvals open at once for the request's `peer`. */
  perPeer: number
  /** A group the peer belongs to (the strangers) and the most approvals open at once for all its members together. */
  group?: {
    /** True for the peers of the group (checked when the request is made: e.g. those at trust level 0). */
    has: (peer: string) => boolean
    /** Most approvals open for the group's peers together. */
    max: number
  }
}

/** Options of {@link Approvals.open}. */
export interface ApprovalsOptions {
  /** The node's own peer id: the default approver. */
  self: string
  /** Peer ids whose decisions are accepted (default: `[self]`). */
  approvers?: Iterable<string>
  /** Most approvals open (pending, or approved and not used) at once; default 10 000. */
  maxOpen?: number
  /** The clock, ms since the Unix epoch (default `Date.now`). */
  now?: () => number
  /** Draws approval ids (default 16 random bytes, base64url); for tests and vectors. */
  randomId?: () => string
}

/** Events of {@link Approvals}; their detail is a copy of the approval after the change. */
export interface ApprovalEvents {
  /** A new approval awaits the human. */
  pending: CustomEvent<PendingApproval>
  /** An approval was approved or rejected: the waiting work can resume (or be refused). */
  decided: CustomEvent<{
    /** The approval after the decision. */
    approval: PendingApproval
    /** The signed decision. */
    decision: ApprovalDecision
  }>
  /** An approval was redeemed: the action it held went ahead. */
  used: CustomEvent<PendingApproval>
  /** A pending approval expired: what it held can no longer happen. */
  expired: CustomEvent<PendingApproval>
}

/**
 * A new approval id: a random token that does not start with `-`, so that a
 * human can pass it to the CLI (`parley approve <id>`) without `--`.
 */
export function approvalId (): string {
  let id = randomToken()
  while (id.startsWith('-')) id = randomToken()
  return id
}

const OPEN: ReadonlySet<ApprovalStatus> = new Set(['pending', 'approved'])

function invalid (message: string): ApprovalError {
  return new ApprovalError(Code.INVALID_ARGUMENT, message)
}

function checkText (name: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !value.isWellFormed()) {
    throw invalid(`${name} must be a string of 1-${max} characters`)
  }
  return value
}

function tooMany (scope: 'peer' | 'strangers' | 'node', limit: number, message: string): ApprovalError {
  return new ApprovalError(Code.TOO_MANY, message, { quota: { scope, limit } })
}

function copy (approval: PendingApproval): PendingApproval {
  return structuredClone(approval)
}

function byCreated (a: PendingApproval, b: PendingApproval): number {
  return a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

function parseStored (bytes: Uint8Array): PendingApproval | undefined {
  try {
    const value: unknown = JSON.parse(fromUtf8(bytes))
    if (!isPlainObject(value) || typeof value.id !== 'string' || !isPlainObject(value.subject) || typeof value.status !== 'string') return undefined
    return value as unknown as PendingApproval
  } catch {
    return undefined
  }
}

/** The subject bytes of an approval (what the human approved), decoded. */
export function approvalSubjectBytes (approval: PendingApproval): Uint8Array {
  const bytes = fromBase64url(approval.subject.bytes)
  if (bytes === undefined) throw invalid('the approval\'s subject bytes are not base64url')
  return bytes
}

/**
 * The node's pending approvals. Open with {@link Approvals.open}.
 *
 * @example
 * ```ts
 * import { MemoryDatastore } from 'datastore-core'
 * import { createIdentity } from 'parley-mesh/identity'
 * import { Approvals } from 'parley-mesh/store'
 * declare const bob: string // the requester's peer id
 * declare const bytes: Uint8Array // bob's signed envelope
 *
 * const me = await createIdentity({ kind: 'human' })
 * const approvals = await Approvals.open(new MemoryDatastore(), { self: me.peerIdString })
 * const p = await approvals.request({ subjectKind: 'envelope', bytes, peer: bob, method: 'purchase', summary: 'Pay £180 to @rapidplumb' })
 * // later, the human says yes:
 * const decision = await approvals.decide(p.id, 'approve', me)
 * // the waiting work resumes with the exact bytes, once:
 * await approvals.redeem(decision, bytes)
 * ```
 */
export class Approvals extends TypedEventEmitter<ApprovalEvents> {
  /** The peers whose decisions are accepted. */
  readonly approvers: ReadonlySet<string>
  readonly #ds: Datastore
  readonly #now: () => number
  readonly #randomId: () => string
  readonly #maxOpen: number
  readonly #items = new Map<string, PendingApproval>()
  /** Open approvals per peer, and the open approval of each subject hash: kept by {@link #put}. */
  readonly #openByPeer = new Map<string, number>()
  readonly #openByHash = new Map<string, string>()
  #open = 0
  /** Dates requests: `created` only grows. */
  readonly #created = new AscendingMs()
  readonly #serial = new Serial()
  #closed = false

  private constructor (ds: Datastore, options: ApprovalsOptions) {
    super()
    if (!isPeerId(options?.self)) throw invalid(`self ${describe(options?.self)} is not an Ed25519 peer id`)
    const approvers = new Set(options.approvers ?? [options.self])
    for (const a of approvers) if (!isPeerId(a)) throw invalid(`approver ${describe(a)} is not an Ed25519 peer id`)
    if (approvers.size === 0) throw invalid('at least one approver is needed')
    this.approvers = approvers
    this.#ds = ds
    this.#now = options.now ?? Date.now
    this.#randomId = options.randomId ?? approvalId
    this.#maxOpen = options.maxOpen ?? 10_000
  }

  /** Opens the approvals kept in `datastore`. */
  static async open (datastore: Datastore, options: ApprovalsOptions): Promise<Approvals> {
    const store = new Approvals(datastore, options)
    for await (const { key, value } of datastore.query({ prefix: APPROVAL_KEY_PREFIX })) {
      const approval = parseStored(value)
      // a damaged record is skipped: its action can then never be approved, the safe direction
      if (approval !== undefined && key.toString() === approvalKey(approval.id).toString()) store.#index(approval)
      else log.error('skipping damaged approval record %s', key.toString())
    }
    return store
  }

  /**
   * Holds `req.bytes` for a human. Asking again for the same bytes while an
   * approval for them is open returns that approval (a retried message
   * makes one approval, not two) without a second `pending` event.
   *
   * @throws {ApprovalError} `ERR_APPROVAL_INVALID_ARGUMENT`,
   * `ERR_APPROVAL_TOO_MANY` when the peer's quota, its group's or the
   * node's `maxOpen` is reached (`quota` says which).
   */
  async request (req: ApprovalRequest): Promise<PendingApproval> {
    this.#checkOpen()
    if (req?.subjectKind !== 'envelope' && req?.subjectKind !== 'transition') throw invalid('subjectKind must be "envelope" or "transition"')
    if (!(req.bytes instanceof Uint8Array) || req.bytes.byteLength === 0 || req.bytes.byteLength > MAX_SUBJECT_BYTES) {
      throw invalid(`bytes must be 1-${MAX_SUBJECT_BYTES} bytes`)
    }
    if (!isPeerId(req.peer)) throw invalid(`peer ${describe(req.peer)} is not an Ed25519 peer id`)
    if (req.handle !== undefined) checkText('handle', req.handle, 32)
    checkText('method', req.method, 256)
    checkText('summary', req.summary, 4096)
    if (req.amount !== undefined && !isAmount(req.amount)) throw invalid(`amount ${describe(req.amount)} is not { value ≥ 0, currency: ISO 4217 }`)
    const quota = req.quota
    const hash = subjectHash(req.bytes)
    const bytes = toBase64url(req.bytes)
    return this.#serial.run(async () => {
      const same = this.#openByHash.get(hash)
      const existing = same === undefined ? undefined : this.#items.get(same)
      if (existing !== undefined) return copy(existing)
      // counted here, in the serial: concurrent requests of one peer cannot all pass the check at once
      if (quota !== undefined) {
        const mine = this.#openByPeer.get(req.peer) ?? 0
        if (mine >= quota.perPeer) throw tooMany('peer', quota.perPeer, `${req.peer} has ${mine} approvals open already (its quota is ${quota.perPeer})`)
        const group = quota.group
        if (group !== undefined && group.has(req.peer)) {
          let theirs = 0
          for (const [peer, n] of this.#openByPeer) if (group.has(peer)) theirs += n
          if (theirs >= group.max) throw tooMany('strangers', group.max, `peers of its group have ${theirs} approvals open already (their shared quota is ${group.max})`)
        }
      }
      if (this.#open >= this.#maxOpen) throw tooMany('node', this.#maxOpen, `${this.#open} approvals are open already`)
      const id = this.#randomId()
      if (!APPROVAL_ID_PATTERN.test(id) || this.#items.has(id)) throw invalid(`approval id ${describe(id)} is not a fresh id`)
      // mail picked up in a batch asks for many approvals in one millisecond: they keep their order
      const created = this.#created.next(this.#now())
      const approval: PendingApproval = {
        id,
        created,
        subject: { kind: req.subjectKind, hash, bytes },
        peer: req.peer,
        method: req.method,
        summary: req.summary,
        status: 'pending'
      }
      if (req.handle !== undefined) approval.handle = req.handle
      if (req.amount !== undefined) approval.amount = { value: req.amount.value, currency: req.amount.currency }
      await this.#put(approval)
      this.safeDispatchEvent('pending', { detail: copy(approval) })
      return copy(approval)
    })
  }

  /** How many approvals are open (pending, or approved and not used) for `peer`. */
  openFor (peer: string): number {
    return this.#openByPeer.get(peer) ?? 0
  }

  /**
   * Marks pending approval `id` expired (what it holds can no longer
   * happen); the `expired` event fires. Returns the approval, or `undefined`
   * when there is none or it is not pending (then nothing changes).
   */
  async expire (id: string): Promise<PendingApproval | undefined> {
    this.#checkOpen()
    return this.#serial.run(async () => {
      const approval = this.#items.get(id)
      if (approval?.status !== 'pending') return undefined
      const next: PendingApproval = { ...approval, status: 'expired' }
      await this.#put(next)
      log('approval %s expired', id)
      this.safeDispatchEvent('expired', { detail: copy(next) })
      return copy(next)
    })
  }

  /** Approvals awaiting a decision, oldest first. */
  pending (): PendingApproval[] {
    return [...this.#items.values()].filter(a => a.status === 'pending').sort(byCreated).map(copy)
  }

  /** Every approval the store holds, oldest first. */
  list (): PendingApproval[] {
    return [...this.#items.values()].sort(byCreated).map(copy)
  }

  /** The approval `id`, or `undefined`. */
  get (id: string): PendingApproval | undefined {
    const approval = this.#items.get(id)
    return approval === undefined ? undefined : copy(approval)
  }

  /**
   * A human decides: signs the decision as `signer` (an accepted approver)
   * and records it; the `decided` event fires.
   *
   * @throws {ApprovalError} `ERR_APPROVAL_NOT_FOUND`, `ERR_APPROVAL_NOT_PENDING`
   * (decided already), `ERR_APPROVAL_UNAUTHORIZED` (signer not an approver),
   * `ERR_APPROVAL_INVALID_ARGUMENT` (bad decision or reply).
   */
  async decide (id: string, decision: DecisionKind, signer: StoreSigner, options: { reply?: string } = {}): Promise<ApprovalDecision> {
    this.#checkOpen()
    if (decision !== 'approve' && decision !== 'reject') throw invalid('decision must be "approve" or "reject"')
    return this.#serial.run(async () => {
      const approval = this.#find(id)
      if (approval.status !== 'pending') throw new ApprovalError(Code.NOT_PENDING, `approval ${id} is ${approval.status}, not pending`)
      if (!this.approvers.has(signer.peerIdString)) throw new ApprovalError(Code.UNAUTHORIZED, `${signer.peerIdString} is not an accepted approver`)
      const draft = { approval: id, subject: approval.subject.hash, decision, ts: this.#now(), ...(options.reply === undefined ? {} : { reply: options.reply }) }
      const signed = await signDecision(signer, draft)
      await this.#decided(approval, signed)
      return signed
    })
  }

  /**
   * Records a decision signed elsewhere (by an accepted approver) on a
   * pending approval; the `decided` event fires.
   *
   * @throws {ApprovalError} as {@link verifyDecision}, then
   * `ERR_APPROVAL_NOT_FOUND`, `ERR_APPROVAL_SUBJECT_MISMATCH`,
   * `ERR_APPROVAL_NOT_PENDING`.
   */
  async submit (decision: unknown): Promise<PendingApproval> {
    this.#checkOpen()
    return this.#serial.run(async () => {
      const d = await verifyDecision(decision, { approvers: this.approvers })
      const approval = this.#find(d.approval)
      if (d.subject !== approval.subject.hash) throw new ApprovalError(Code.SUBJECT_MISMATCH, `the decision's subject is not approval ${d.approval}'s subject`)
      if (approval.status !== 'pending') throw new ApprovalError(Code.NOT_PENDING, `approval ${d.approval} is ${approval.status}, not pending`)
      return copy(await this.#decided(approval, d))
    })
  }

  /**
   * Lets the held action go ahead: checks, in this order, the decision
   * ({@link verifyDecision}: format, approver, signature), that its approval
   * exists (`ERR_APPROVAL_NOT_FOUND`), that its subject is SHA-256 of
   * `bytes` and the approval's subject (`ERR_APPROVAL_SUBJECT_MISMATCH`),
   * that the approval was not used (`ERR_APPROVAL_USED`) or rejected, and
   * that the decision approves (`ERR_APPROVAL_REJECTED`). Then marks the
   * approval used, so the same decision, or another for the same approval,
   * is refused from then on. A valid rejection presented here rejects the
   * approval (if not used yet) before it throws.
   *
   * @throws {ApprovalError}
   */
  async redeem (decision: unknown, bytes: Uint8Array): Promise<PendingApproval> {
    this.#checkOpen()
    if (!(bytes instanceof Uint8Array)) throw invalid('bytes must be a Uint8Array')
    return this.#serial.run(async () => {
      const d = await verifyDecision(decision, { approvers: this.approvers })
      const approval = this.#find(d.approval)
      if (d.subject !== subjectHash(bytes) || d.subject !== approval.subject.hash) {
        throw new ApprovalError(Code.SUBJECT_MISMATCH, `the decision does not approve these bytes for approval ${d.approval}`)
      }
      if (approval.status === 'used') throw new ApprovalError(Code.USED, `approval ${d.approval} was used already`)
      if (approval.status === 'rejected') throw new ApprovalError(Code.REJECTED, `approval ${d.approval} was rejected`)
      // an expired approval is as a rejected one: what it held can no longer go ahead
      if (approval.status === 'expired') throw new ApprovalError(Code.REJECTED, `approval ${d.approval} expired`)
      if (d.decision === 'reject') {
        await this.#decided(approval, d)
        throw new ApprovalError(Code.REJECTED, `the decision rejects approval ${d.approval}`)
      }
      const firstDecision = approval.status === 'pending'
      const next: PendingApproval = { ...approval, status: 'used', used: this.#now() }
      next.decision ??= d
      await this.#put(next)
      if (firstDecision) this.safeDispatchEvent('decided', { detail: { approval: copy(next), decision: d } })
      this.safeDispatchEvent('used', { detail: copy(next) })
      return copy(next)
    })
  }

  /**
   * Deletes finished approvals (used, rejected or expired) created before
   * `before`, except those `keep` names; returns how many. Open approvals are
   * never pruned.
   */
  async prune (before: number, keep: (id: string) => boolean = () => false): Promise<number> {
    this.#checkOpen()
    return this.#serial.run(async () => {
      const old = [...this.#items.values()].filter(a => !OPEN.has(a.status) && a.created < before && !keep(a.id))
      if (old.length === 0) return 0
      const batch = this.#ds.batch()
      for (const a of old) batch.delete(approvalKey(a.id))
      await batch.commit()
      for (const a of old) this.#unindex(a)
      return old.length
    })
  }

  /** Waits for pending writes and stops accepting changes. The datastore stays open. */
  async close (): Promise<void> {
    this.#closed = true
    await this.#serial.idle()
  }

  /** Records `decision` on `approval` (pending, or approved and being rejected) and announces it. */
  async #decided (approval: PendingApproval, decision: ApprovalDecision): Promise<PendingApproval> {
    const next: PendingApproval = { ...approval, status: decision.decision === 'approve' ? 'approved' : 'rejected', decision }
    await this.#put(next)
    log('approval %s %s by %s', next.id, next.status, decision.by)
    this.safeDispatchEvent('decided', { detail: { approval: copy(next), decision } })
    return next
  }

  #find (id: string): PendingApproval {
    const approval = this.#items.get(id)
    if (approval === undefined) throw new ApprovalError(Code.NOT_FOUND, `no approval ${describe(id)}`)
    return approval
  }

  async #put (approval: PendingApproval): Promise<void> {
    await this.#ds.put(approvalKey(approval.id), utf8(canonicalize(approval)))
    this.#index(approval)
  }

  /** Keeps `approval` in memory, with the counts of open approvals. */
  #index (approval: PendingApproval): void {
    this.#unindex(approval)
    this.#items.set(approval.id, approval)
    this.#created.see(approval.created)
    if (!OPEN.has(approval.status)) return
    this.#openByPeer.set(approval.peer, (this.#openByPeer.get(approval.peer) ?? 0) + 1)
    this.#openByHash.set(approval.subject.hash, approval.id)
    this.#open++
  }

  /** Forgets the version of approval `approval.id` kept in memory, if any. */
  #unindex (approval: PendingApproval): void {
    const old = this.#items.get(approval.id)
    if (old === undefined) return
    this.#items.delete(old.id)
    if (!OPEN.has(old.status)) return
    const n = (this.#openByPeer.get(old.peer) ?? 1) - 1
    if (n > 0) this.#openByPeer.set(old.peer, n)
    else this.#openByPeer.delete(old.peer)
    if (this.#openByHash.get(old.subject.hash) === old.id) this.#openByHash.delete(old.subject.hash)
    this.#open--
  }

  #checkOpen (): void {
    if (this.#closed) throw new ApprovalError(Code.CLOSED, 'the approvals store is closed')
  }
}

/** The datastore key of approval `id`. */
export function approvalKey (id: string): Key {
  return new Key(APPROVAL_KEY_PREFIX + id)
}
