/**
 * The events the Parley service (and so an agent) emits, shared by the
 * service and both assemblies.
 */
import type { OutboxEntry } from '../mailbox/outbox.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import type { Session, Caller } from '../session/session.js'
import type { PendingApproval, TrustSuggestion } from '../store/index.js'
import type { InboxMessage } from './desk.js'
import type { IcePath } from './ice-path.js'

/** The events an agent (and its Parley service) emits; each `detail` is the payload given. */
export interface AgentEvents {
  /** An incoming session, after its hello: `detail.remote` is the verified caller. */
  session: CustomEvent<Session>
  /** An outgoing session opened by {@link Agent.connect}, after its hello. */
  connected: CustomEvent<Session>
  /** Something waits for the human's approval (see {@link Agent.approve}). */
  pending: CustomEvent<PendingApproval>
  /** A message reached the human's inbox. */
  message: CustomEvent<InboxMessage>
  /** An outgoing message by mail changed: queued at a relay, delivered, read or failed (protocols/mailbox). */
  mail: CustomEvent<OutboxEntry>
  /** After a run of settled negotiations with a contact, the node suggests trusting it more (the human decides: {@link Agent.setTrust}). */
  suggestion: CustomEvent<TrustSuggestion>
  /**
   * A session moved onto a direct WebRTC connection (either side): `path` is
   * the ICE candidate pair it runs on, e.g. `srflx` to `srflx` when both
   * agents are behind NATs, `host` to `host` on one LAN (when it can be read).
   */
  direct: CustomEvent<{
    /** The session that moved. */
    session: Session
    /** The peer id at the other end. */
    peer: string
    /** The ICE candidate pair the connection runs on, when it could be read. */
    path?: IcePath
  }>
  /**
   * A session of ours stays on the relay: no direct connection could be made
   * (every attempt failed, e.g. a NAT that maps each destination to a new
   * port, a symmetric NAT, on either side). It goes on working, relayed.
   */
  relayed: CustomEvent<{
    /** The session that stays on the relay. */
    session: Session
    /** The peer id at the other end. */
    peer: string
    /** How many direct connections were tried. */
    attempts: number
    /** Why the last attempt failed. */
    reason: string
  }>
  /** The far side's human decided on a request of ours that was held (`approval/outcome`). */
  outcome: CustomEvent<{
    /** The peer that sent the outcome, as its session verified it. */
    from: Caller
    /** The id of the approval on the far side that held our request. */
    approval: string
    /** The envelope id of our request that was held. */
    request: string
    /** What the far side's human decided. */
    decision: 'approve' | 'reject'
    /** The human's free-text reply, if they gave one. */
    reply?: string
    /** The handler's result, when the request was approved and ran. */
    result?: JsonValue
    /** The id of the session the outcome arrived on. */
    session?: string
  }>
}

/** Every event name of {@link AgentEvents}, so that an assembly can forward them all. */
export const AGENT_EVENTS = ['session', 'connected', 'pending', 'message', 'mail', 'suggestion', 'direct', 'relayed', 'outcome'] as const satisfies ReadonlyArray<keyof AgentEvents>

/** An Agent Card checked against its handle's current record (protocols/agent-card). */
export interface VerifiedCard {
  /** The handle, without `@`. */
  handle: string
  /** Its owner, who signed the card. */
  peer: string
  /** The kind the handle record states. */
  kind: 'agent' | 'human'
  /** The A2A Agent Card, as published. */
  card: { [key: string]: JsonValue }
  /** The card record's sequence number. */
  seq: number
}

