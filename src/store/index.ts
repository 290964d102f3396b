/**
 * The node's persistent stores, each kept in an `interface-datastore`
 * `Datastore` the caller opens and closes (`LevelDatastore` in the node's
 * data directory, `MemoryDatastore` for ephemeral nodes):
 *
 * - {@link EventLog}: the append-only, hash-chained, signed log of the
 *   node's sessions, requests and negotiations (`protocols/event-log`),
 *   exportable and checked offline by {@link verifyLog};
 * - {@link TrustStore}: trust levels (0 unknown, 1 known, 2 trusted) and
 *   limits per contact, changed only by a human decision;
 * - {@link Approvals}: signed objects held for a human, released once by a
 *   signed decision (`protocols/approval`);
 * - {@link ReplayStore}: a node's replay guard (one for all its sessions),
 *   persisted in a datastore so that a replay is refused after a restart
 *   too (what a browser build uses; a Node agent with a data dir uses the
 *   Node-only `ReplayJournal`, exported from `parley-mesh/agent`, not
 *   here, so that this module stays free of `node:fs`);
 * - {@link policyGate}: the pure function that says allow, queue, ask or
 *   deny for a request or transition.
 *
 * @example
 * ```ts
 * import { LevelDatastore } from 'datastore-level'
 * import { loadOrCreateIdentity } from 'parley-mesh/identity'
 * import { EventLog, EventType, TrustStore, Approvals, policyGate, verifyLog } from 'parley-mesh/store'
 * declare const caller: string // the peer id of the request's signer
 * declare const bytes: Uint8Array // the request's signed envelope, as received
 *
 * const me = await loadOrCreateIdentity({ dataDir: '/home/me/.parley', kind: 'agent' })
 * const ds = new LevelDatastore('/home/me/.parley/store')
 * await ds.open()
 * const log = await EventLog.open(ds, me)
 * const trust = await TrustStore.open(ds)
 * const approvals = await Approvals.open(ds, { self: me.peerIdString })
 *
 * const verdict = policyGate({ trust: trust.get(caller), method: 'purchase', amount: { value: 180, currency: 'GBP' } },
 *   { amountThreshold: { value: 100, currency: 'GBP' } })
 * if (verdict.decision === 'ask') {
 *   const held = await approvals.request({ subjectKind: 'envelope', bytes, peer: caller, method: 'purchase', summary: verdict.reason })
 *   await log.append(EventType.APPROVAL_REQUEST, { approval: held.id, subject: held.subject.hash, peer: caller, method: 'purchase', summary: verdict.reason })
 * }
 * await verifyLog(await log.export()) // { peer, count, head }
 * ```
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { EventLog, LOG_KEY_PREFIX, logKey } from './event-log.js'
export type { EventLogOptions, EntriesQuery } from './event-log.js'
export {
  verifyLog, logEntryHash, EventType, EVENT_TYPE_PATTERN, LOG_EXPORT_TYPE, LOG_SIGNING_CONTEXT, LOG_VERSION, MAX_ENTRY_BYTES
} from './log-format.js'
export type { LogEntry, LogHead, ExportedLog, LogVerification, VerifyLogOptions } from './log-format.js'
export { TrustStore, TrustLevel, TRUST_KEY_PREFIX, trustKey } from './trust.js'
export type { TrustLimits, TrustOutcomes, TrustEntry, TrustSuggestion, TrustStoreOptions, SetTrustOptions, TrustEvents } from './trust.js'
export { Approvals, APPROVAL_KEY_PREFIX, MAX_SUBJECT_BYTES, approvalKey, approvalSubjectBytes } from './approvals.js'
export type { SubjectKind, ApprovalStatus, ApprovalSubject, PendingApproval, ApprovalRequest, ApprovalQuota, ApprovalsOptions, ApprovalEvents } from './approvals.js'
export { DEFAULT_QUOTAS, QUOTA_EXCEEDED, QUOTA_EXCEEDED_CODE, resolveQuotas, forLevel } from './quotas.js'
export type { Quotas, QuotaOptions, QuotaScope, PerLevel } from './quotas.js'
export {
  signDecision, verifyDecision, subjectHash, APPROVAL_ID_PATTERN, APPROVAL_SIGNING_CONTEXT, APPROVAL_TYPE, APPROVAL_VERSION, MAX_REPLY_BYTES
} from './approval-format.js'
export type { ApprovalDecision, DecisionDraft, DecisionKind, VerifyDecisionOptions } from './approval-format.js'
export { ReplayStore, REPLAY_KEY_PREFIX, REPLAY_FLOOR_KEY, replayKey } from './replay-store.js'
export type { ReplayStoreOptions } from './replay-store.js'
export { ReplayRecord, REPLAY_KEY_PATTERN } from './replay-record.js'
export { policyGate, classifyMethod, DEFAULT_METHOD_CLASSES } from './policy.js'
export type { MethodClass, PolicyDecision, NodePolicy, PolicyInput, PolicyVerdict } from './policy.js'
export { CURRENCY_PATTERN, isAmount, formatAmount } from '../methods/amount.js'
export type { Amount } from '../methods/amount.js'
export type { StoreSigner } from './signed.js'
export type { ApprovalQuotaReached } from './errors.js'
export {
  EventLogError, EventLogErrorCode, ApprovalError, ApprovalErrorCode, TrustError, TrustErrorCode, PolicyError, PolicyErrorCode,
  ReplayStoreError, ReplayStoreErrorCode
} from './errors.js'
