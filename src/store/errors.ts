/**
 * Typed errors of the node's stores. Each area has its own class (stable
 * `name`) and a const object of stable `code`s. The codes of the two signed
 * formats are part of their specs (`protocols/event-log`,
 * `protocols/approval`) and the vectors assert them.
 */
import { ParleyError } from '../errors.js'

/** Every reason an event log, or an export of one, is refused. */
export const EventLogErrorCode = {
  /** Not the format of `protocols/event-log` (members, types, encodings). */
  MALFORMED: 'ERR_LOG_MALFORMED',
  /** `v` of the export or of an entry is a number other than 1. */
  UNSUPPORTED_VERSION: 'ERR_LOG_UNSUPPORTED_VERSION',
  /** An entry is out of order: `seq` is not its position, or `ts` runs backwards. */
  SEQ: 'ERR_LOG_SEQ',
  /** An entry's `by` is not the log's key at that point (its peer, or the key a handover named). */
  WRONG_SIGNER: 'ERR_LOG_WRONG_SIGNER',
  /** A `log.handover` entry that is not signed, or whose `data.next` is not a peer id. */
  BAD_HANDOVER: 'ERR_LOG_BAD_HANDOVER',
  /** An entry's `prev` is not the hash of the entry before it. */
  BROKEN_CHAIN: 'ERR_LOG_BROKEN_CHAIN',
  /** An entry's signature does not verify under the log's peer key. */
  BAD_SIGNATURE: 'ERR_LOG_BAD_SIGNATURE',
  /** The last entry carries no signature: the entries after the last signed one are covered by none. */
  UNSIGNED_TAIL: 'ERR_LOG_UNSIGNED_TAIL',
  /** The log does not contain the head the verifier already knew (truncated or forked). */
  HEAD_MISMATCH: 'ERR_LOG_HEAD_MISMATCH',
  /** An argument of the API is not acceptable (event type, data, query). */
  INVALID_ARGUMENT: 'ERR_LOG_INVALID_ARGUMENT',
  /** The log was closed. */
  CLOSED: 'ERR_LOG_CLOSED'
} as const
export type EventLogErrorCode = typeof EventLogErrorCode[keyof typeof EventLogErrorCode]

/** An event log operation or verification failed; `code` says why, `seq` where. */
export class EventLogError extends ParleyError<EventLogErrorCode> {
  static override readonly name = 'EventLogError'
  /** The position (expected `seq`) of the first bad entry, when the failure is about one entry. */
  readonly seq: number | undefined

  constructor (code: EventLogErrorCode, message: string, options?: ErrorOptions & { seq?: number }) {
    super(code, message, options)
    this.seq = options?.seq
  }
}

/** Every reason an approval or its decision is refused. */
export const ApprovalErrorCode = {
  /** The decision is not the format of `protocols/approval`. */
  MALFORMED: 'ERR_APPROVAL_MALFORMED',
  /** The decision's `v` is a number other than 1. */
  UNSUPPORTED_VERSION: 'ERR_APPROVAL_UNSUPPORTED_VERSION',
  /** The decision's `by` is not one of the accepted approvers. */
  UNAUTHORIZED: 'ERR_APPROVAL_UNAUTHORIZED',
  /** The decision's signature does not verify under the key of `by`. */
  BAD_SIGNATURE: 'ERR_APPROVAL_BAD_SIGNATURE',
  /** No pending approval has the decision's (or the given) id. */
  NOT_FOUND: 'ERR_APPROVAL_NOT_FOUND',
  /** The decision's subject is not the hash of the bytes presented, or not the approval's subject. */
  SUBJECT_MISMATCH: 'ERR_APPROVAL_SUBJECT_MISMATCH',
  /** The approval was already redeemed. */
  USED: 'ERR_APPROVAL_USED',
  /** The approval was rejected, or the decision presented is a rejection. */
  REJECTED: 'ERR_APPROVAL_REJECTED',
  /** The approval was already decided (deciding twice). */
  NOT_PENDING: 'ERR_APPROVAL_NOT_PENDING',
  /** Too many approvals are open: the node's maximum, the requesting peer's quota, or the strangers' (see `ApprovalError.quota`). */
  TOO_MANY: 'ERR_APPROVAL_TOO_MANY',
  /** An argument of the API is not acceptable. */
  INVALID_ARGUMENT: 'ERR_APPROVAL_INVALID_ARGUMENT',
  /** The store was closed. */
  CLOSED: 'ERR_APPROVAL_CLOSED'
} as const
export type ApprovalErrorCode = typeof ApprovalErrorCode[keyof typeof ApprovalErrorCode]

/** Which approval quota a request reached (with `ERR_APPROVAL_TOO_MANY`). */
export interface ApprovalQuotaReached {
  /** `peer`: the requesting peer's own; `strangers`: the one the strangers share; `node`: the store's `maxOpen`. */
  scope: 'peer' | 'strangers' | 'node'
  /** The quota's value. */
  limit: number
}

/** An approval operation failed; `code` says why. */
export class ApprovalError extends ParleyError<ApprovalErrorCode> {
  static override readonly name = 'ApprovalError'
  /** With `ERR_APPROVAL_TOO_MANY`: which limit was reached, and its value. */
  readonly quota: ApprovalQuotaReached | undefined

  constructor (code: ApprovalErrorCode, message: string, options?: ErrorOptions & { quota?: ApprovalQuotaReached }) {
    super(code, message, options)
    this.quota = options?.quota
  }
}

/** Every reason a trust store operation is refused. */
export const TrustErrorCode = {
  /** An argument is not acceptable (peer id, level, limits, who decided). */
  INVALID_ARGUMENT: 'ERR_TRUST_INVALID_ARGUMENT',
  /** The store was closed. */
  CLOSED: 'ERR_TRUST_CLOSED'
} as const
export type TrustErrorCode = typeof TrustErrorCode[keyof typeof TrustErrorCode]

/** A trust store operation failed; `code` says why. */
export class TrustError extends ParleyError<TrustErrorCode> {
  static override readonly name = 'TrustError'
}

/** Every reason a policy is refused. */
export const PolicyErrorCode = {
  /** The node policy or a method-class map is not acceptable. */
  INVALID_POLICY: 'ERR_POLICY_INVALID'
} as const
export type PolicyErrorCode = typeof PolicyErrorCode[keyof typeof PolicyErrorCode]

/** A policy could not be used; `code` says why. */
export class PolicyError extends ParleyError<PolicyErrorCode> {
  static override readonly name = 'PolicyError'
}

/** Every reason the store-backed replay guard refuses to vouch for an envelope. */
export const ReplayStoreErrorCode = {
  /** The datastore write holding the envelope's key failed: the envelope must not be acted on. */
  WRITE: 'ERR_REPLAY_WRITE',
  /** A key is not `/`-separated segments of `[A-Za-z0-9_-]` (an envelope's signer, id and nonce are), or a `ts` not a non-negative integer. */
  INVALID_ARGUMENT: 'ERR_REPLAY_INVALID_ARGUMENT',
  /** The store was closed. */
  CLOSED: 'ERR_REPLAY_CLOSED'
} as const
export type ReplayStoreErrorCode = typeof ReplayStoreErrorCode[keyof typeof ReplayStoreErrorCode]

/** The replay store could not record a key; `code` says why. The envelope it was checked for is refused. */
export class ReplayStoreError extends ParleyError<ReplayStoreErrorCode> {
  static override readonly name = 'ReplayStoreError'
}
