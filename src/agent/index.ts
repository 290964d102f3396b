/**
 * The agent node: `createAgent`, sessions, handle resolution, negotiations,
 * the human bridge (desk, approvals), and Parley as libp2p services
 * (`parley()`, `parleyDHT()`) for a node made some other way.
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { AgentError, AgentErrorCode, ParleyError } from '../errors.js'
export { createAgent, Agent } from './agent.js'
export { offerAsDtlsClient, restoreOfferRole, activeSetup } from './dtls-role.js'
export { HumanBridge, POLICY_REFUSED, POLICY_REFUSED_CODE } from './bridge.js'
export type { BridgeHost, MailContext } from './bridge.js'
export { Mail, SEND_WAIT_MS, STRAGGLER_MS, MAIL_MAX_AGE_MS } from './mail.js'
export { CircuitBreakers } from '../util/breaker.js'
export type { CircuitBreakerOptions } from '../util/breaker.js'
export type { MailSent, MailHost } from './mail.js'
export type { OutboxEntry, OutboxStatus, RelayState, Outbox } from '../mailbox/outbox.js'
export type { MailObject } from '../mailbox/wire.js'
export { Desk, LOG_BATCH_MS } from './desk.js'
export type { InboxMessage, HeldRequest, HeldOutcome, DeskEvents, DeskOptions } from './desk.js'
export { Negotiations, DECLINED_METHOD } from './negotiations.js'
export type { MoveResult, MoveKind, TransitionEvent, NegotiationsEvents, NegotiationsHost } from './negotiations.js'
export type { AgentOptions, AgentEvents, AgentServices, AgentPlatform, AgentStores } from './agent.js'
export { parley, ParleyService } from './service.js'
export type { ParleyInit, ParleyComponents } from './service.js'
export { parleyDHT } from './dht.js'
export type { ParleyDHTInit } from './dht.js'
export { AGENT_EVENTS } from './events.js'
export type { VerifiedCard } from './events.js'
export { INBOUND_CONNECTIONS_PER_SECOND_PER_HOST, MAX_INCOMING_PENDING_CONNECTIONS } from './constants.js'
export type { IcePath, IceCandidate } from './ice-path.js'
export { HandleResolver } from './resolver.js'
// Node-only (node:fs), like the rest of this assembly: the store module (parley-mesh/store) stays free of it
export { ReplayJournal, REPLAY_JOURNAL_HEADER } from '../store/replay-journal.js'
export type { ReplayJournalOptions } from '../store/replay-journal.js'
export { WalkPacer, walkPacer, WALK_PACE_MIN_MS, WALK_PACE_MAX_MS } from './walk-pacer.js'
export type { ResolverOptions } from './resolver.js'
export type { AgentPresenceOption } from '../presence/agent.js'
export { Session, RpcError, RequestTimeoutError, SessionClosedError, SessionLimitError } from '../session/session.js'
export type { Caller, Handler, HandlerContext, HandlerParams, SessionEvents, EnvelopeRecord } from '../session/session.js'
export { BlobError, BlobErrorCode, BLOB_PROTOCOL, isBlobRef } from '../session/blob.js'
export type { BlobRef } from '../session/blob.js'
export type { SessionLimitCode } from '../session/frames.js'
export { SESSION_PROTOCOL } from '../session/constants.js'
