/**
 * The human bridge of an agent node: what joins its desk (trust, policy,
 * approvals, inbox, log: `desk.ts`) to its sessions and negotiations.
 *
 * - {@link HumanBridge.gate} runs before a served method's handler: the
 *   policy allows it, queues a message, refuses it, or holds the exact
 *   envelope for the human (with the session's recent transcript).
 * - {@link HumanBridge.holdMove} is the same gate on a negotiation move, ours
 *   before it is sent or the other party's before it is applied.
 * - {@link HumanBridge.decide} carries out a human's decision: signs it (bound
 *   to the held bytes' hash), redeems it once, and lets the held work go
 *   ahead — or not — telling the other side.
 *
 * @example
 * ```ts
 * import { HumanBridge } from 'parley-mesh'
 * import type { BridgeHost } from 'parley-mesh'
 *
 * declare const host: BridgeHost
 * declare const approvalId: string
 * const bridge = new HumanBridge(host)
 * await bridge.decide(approvalId, 'approve', { reply: 'see you at 2' })
 * ```
 */
import { logger } from '@libp2p/logger'
import { RpcError, handlerParams } from '../session/session.js'
import type { Caller, EnvelopeRecord, Handler, HandlerContext, HandlerParams, Session } from '../session/session.js'
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromBase64url, fromUtf8, utf8 } from '../crypto/bytes.js'
import type { Identity } from '../identity/index.js'
import { amountOf, messageParams, METHODS } from '../methods/index.js'
import type { PendingApproval } from '../store/index.js'
import type { Negotiation } from '../negotiation/machine.js'
import type { Party, Terms, Transition } from '../negotiation/transition.js'
import type { Desk, InboxMessage } from './desk.js'
import type { Negotiations } from './negotiations.js'
import { lenientUtf8, lenientUtf8Prefix } from '../util/lenient-utf8.js'

const log = logger('parley:agent:bridge')

/** JSON-RPC error code of a request the node's policy refuses outright. */
export const POLICY_REFUSED = -32003
/** The stable code in `data.code` of a {@link POLICY_REFUSED} error. */
export const POLICY_REFUSED_CODE = 'ERR_POLICY_REFUSED'

/** What the bridge needs of the agent it serves. */
export interface BridgeHost {
  /** The agent's desk: policy, approvals, held requests, inbox and log. */
  readonly desk: Desk
  /** The agent's negotiations, resumed when a held move is decided. */
  readonly negotiations: Negotiations
  /** The agent's current key (it signs the human's decisions). */
  readonly identity: Identity
  /** The handlers as registered, without the gate. */
  readonly handlers: ReadonlyMap<string, Handler>
  /** An open session with `party`, or a new one. */
  sessionWith: (party: Party) => Promise<Session>
  /** A session's recent envelopes, for the transcript handed to the human. */
  history: (session: Session) => EnvelopeRecord[] | undefined
}

/**
 * Applies the desk's policy to an agent's incoming requests and negotiation
 * moves, and carries out the human's decisions on what it holds (see the
 * module documentation). Every {@link Agent} has one.
 */
export class HumanBridge {
  readonly #host: BridgeHost

  constructor (host: BridgeHost) {
    this.#host = host
  }

  /** Runs `handler` for `method` if the policy allows it now; otherwise queues or holds the request for the human. */
  async gate (method: string, handler: Handler, params: HandlerParams, context: HandlerContext): Promise<JsonValue | undefined> {
    const desk = this.#host.desk
    const amount = amountOf(params)
    // a node may class one topic of a method on its own (`info/request:dispute`)
    const topic = (params as { topic?: unknown } | undefined)?.topic
    const classed = typeof topic === 'string' && desk.policy.classes?.[`${method}:${topic}`] !== undefined ? `${method}:${topic}` : method
    const verdict = desk.gate(context.caller, classed, amount)
    if (verdict.decision === 'allow') return handler(params, context)
    desk.record('policy.verdict', { method, peer: context.caller.peer, decision: verdict.decision, reason: verdict.reason, request: context.envelope.id })
    if (verdict.decision === 'deny') throw new RpcError(POLICY_REFUSED, `refused by policy: ${verdict.reason}`, { code: POLICY_REFUSED_CODE, reason: verdict.reason })
    if (verdict.decision === 'queue' && method === METHODS.message) return handler(params, context)
    const who = context.caller.handle === undefined ? context.caller.peer : `@${context.caller.handle}`
    const approval = await desk.approvals.request({
      subjectKind: 'envelope',
      bytes: utf8(canonicalize(context.envelope)),
      peer: context.caller.peer,
      ...(context.caller.handle === undefined ? {} : { handle: context.caller.handle }),
      method,
      summary: clip((method === METHODS.message ? `${who} says: ${messageParams(params).text}` : `${who} asks ${method} ${canonicalize(params ?? null).slice(0, 300)} (${verdict.reason})`) +
        transcriptOf(this.#host.history(context.session))),
      ...(amount === undefined ? {} : { amount })
    })
    await desk.hold({ approval: approval.id, caller: context.caller, method, request: context.envelope.id })
    desk.record('approval.request', { approval: approval.id, method, peer: context.caller.peer, request: context.envelope.id })
    return { status: 'held', approval: approval.id }
  }

  /** The policy on a negotiation move: ours (`transition`) or theirs (`envelope`); the approval id when it must wait. */
  async holdMove (n: Negotiation, t: Transition, bytes: () => Uint8Array, kind: 'transition' | 'envelope', caller?: Caller): Promise<string | undefined> {
    const desk = this.#host.desk
    const other = n.parties.find(p => p.peer !== this.#host.identity.peerIdString) ?? n.parties[1]
    const subjectCaller: Caller = caller ?? { peer: other.peer, ...(other.handle === undefined ? {} : { handle: other.handle }), kind: 'agent' }
    const terms = t.type === 'accept' ? n.offer.terms : (t as { terms?: Terms }).terms
    const amount = amountOf(terms)
    const method = `negotiation/${t.type}`
    const verdict = desk.gate(subjectCaller, method, amount)
    if (verdict.decision === 'allow' || verdict.decision === 'queue') return undefined
    desk.record('policy.verdict', { method, negotiation: n.id, seq: t.seq, direction: kind === 'transition' ? 'out' : 'in', decision: verdict.decision, reason: verdict.reason })
    if (verdict.decision === 'deny') throw new RpcError(POLICY_REFUSED, `refused by policy: ${verdict.reason}`, { code: POLICY_REFUSED_CODE, reason: verdict.reason })
    const who = other.handle === undefined ? other.peer : `@${other.handle}`
    const summary = kind === 'transition'
      ? `${t.type} ${n.subject} with ${who}${terms === undefined ? '' : ': ' + canonicalize(terms)} (${verdict.reason})`
      : `${who} wants to ${t.type} ${n.subject}${terms === undefined ? '' : ': ' + canonicalize(terms)} (${verdict.reason})`
    const approval = await desk.approvals.request({
      subjectKind: kind, bytes: bytes(), peer: other.peer, ...(other.handle === undefined ? {} : { handle: other.handle }), method, summary, ...(amount === undefined ? {} : { amount })
    })
    desk.record('approval.request', { approval: approval.id, method, negotiation: n.id, seq: t.seq })
    return approval.id
  }

  /** Carries out the human's decision on approval `id` (see the module documentation). */
  async decide (id: string, decision: 'approve' | 'reject', options: { reply?: string }): Promise<PendingApproval> {
    const desk = this.#host.desk
    const signed = await desk.approvals.decide(id, decision, this.#host.identity, options.reply === undefined ? {} : { reply: options.reply })
    const approval = desk.approvals.get(id) as PendingApproval
    desk.record('approval.decision', { approval: id, decision: signed as unknown as Record<string, unknown> })
    const bytes = fromBase64url(approval.subject.bytes) as Uint8Array
    const approved = decision === 'approve'
    if (approved) await desk.approvals.redeem(signed, bytes)
    const subject = JSON.parse(fromUtf8(bytes)) as Record<string, unknown>
    if (approval.subject.kind === 'transition') {
      await this.#host.negotiations.resumeOutgoing(subject.negotiation as string, id, approved, options.reply)
      return desk.approvals.get(id) as PendingApproval
    }
    const body = subject.body as { method?: string, params?: JsonRpcParams } | undefined
    if (body?.method === METHODS.transition) {
      const negotiation = (body.params as { transition?: { negotiation?: string } } | undefined)?.transition?.negotiation ?? ''
      await this.#host.negotiations.resumeIncoming(negotiation, id, approved, options.reply)
      return desk.approvals.get(id) as PendingApproval
    }
    const held = await desk.held(id, true)
    if (held === undefined || body?.method === undefined) return desk.approvals.get(id) as PendingApproval
    const party: Party = { peer: held.caller.peer, ...(held.caller.handle === undefined ? {} : { handle: held.caller.handle }) }
    let result: JsonValue | undefined
    if (approved) {
      const session = await this.#host.sessionWith(party)
      const handler = this.#host.handlers.get(held.method)
      if (held.method === METHODS.message) {
        await desk.deliver({ ...inboxMessage(body.params, { caller: held.caller, envelope: subject as never }), approval: id })
        result = { status: 'delivered' }
      } else if (handler !== undefined) {
        try {
          result = await handler(handlerParams(body.params), { caller: held.caller, session, envelope: subject as never }) ?? null
        } catch (err) {
          result = { error: err instanceof RpcError ? err.message : 'internal error' }
        }
      }
    }
    const outcome = { approval: id, request: held.request, decision, ...(options.reply === undefined ? {} : { reply: options.reply }), ...(result === undefined ? {} : { result }) }
    try {
      const session = await this.#host.sessionWith(party)
      await session.notify(METHODS.outcome, outcome)
    } catch (err) {
      log('could not tell %s the outcome of %s: %e', held.caller.handle ?? held.caller.peer, id, err)
    }
    return desk.approvals.get(id) as PendingApproval
  }
}

/** A `message` request as the inbox keeps it. */
export function inboxMessage (params: unknown, context: Pick<HandlerContext, 'caller' | 'envelope'>): InboxMessage {
  const p = messageParams(params)
  return { id: context.envelope.id, at: Date.now(), from: context.caller, ...p }
}

/** One line of a session's recent history: who asked what, or what came back. */
function historyLine (e: EnvelopeRecord): string | undefined {
  const body = e.body as { method?: string, params?: unknown, result?: unknown, error?: { message: string } } | undefined
  if (body === undefined || body.method?.startsWith('session/') === true) return undefined
  const arrow = e.dir === 'in' ? '←' : '→'
  const text = body.method !== undefined ? `${body.method} ${JSON.stringify(body.params ?? null)}` : body.error !== undefined ? `error ${body.error.message}` : `result ${JSON.stringify(body.result ?? null)}`
  return `${arrow} ${text.length > 160 ? text.slice(0, 159) + '…' : text}`
}

/** Keeps a summary within what the approval store takes (4096 characters). */
function clip (text: string): string {
  return text.length <= 4000 ? text : text.slice(0, 3999) + '…'
}

function transcriptOf (history: EnvelopeRecord[] | undefined): string {
  const lines = (history ?? []).map(historyLine).filter((l): l is string => l !== undefined).slice(-20)
  return lines.length === 0 ? '' : '\nTranscript of the session so far:\n' + lines.map(l => '  ' + l).join('\n')
}

/**
 * The most of a refused frame the event log keeps (its first bytes, as text):
 * escaped control characters take up to 6 bytes each, and an entry may not
 * exceed 1 MiB (protocols/event-log §7), so a larger record would be refused
 * and the refusal go unrecorded.
 */
export const RECORDED_FRAME_BYTES = 65_536

/** Every envelope of a session goes to the event log, signed by its sender: a third party can check both signatures. */
export function recordEnvelope (desk: Desk, session: Session, e: EnvelopeRecord): void {
  // it runs in the session's `envelope` listener, on whatever a peer sent: it must not throw
  try {
    recordEnvelopeOnce(desk, session, e)
  } catch (err) {
    log.error('could not record a %s envelope of %s: %e', e.dir, session.remotePeer, err)
  }
}

function recordEnvelopeOnce (desk: Desk, session: Session, e: EnvelopeRecord): void {
  const body = e.body
  const kind = body === undefined ? 'frame' : 'method' in body ? ('id' in body ? 'request' : 'notification') : 'response'
  if (body !== undefined && 'method' in body && typeof body.method === 'string' && body.method.startsWith('session/')) return
  const type = `${kind}.${e.dir}`
  if (e.envelope === undefined) {
    // a refused frame is whatever the peer sent, valid UTF-8 or not: recorded as text decoded
    // leniently (each invalid sequence as U+FFFD), its first RECORDED_FRAME_BYTES only, so that
    // no frame can make the entry too large to log (protocols/event-log §4); never a reason to throw
    const cut = e.size === undefined && e.bytes.byteLength > RECORDED_FRAME_BYTES
    const bytes = cut ? lenientUtf8Prefix(e.bytes, RECORDED_FRAME_BYTES) : lenientUtf8(e.bytes)
    const size = e.size ?? (cut ? e.bytes.byteLength : undefined)
    desk.record(type, { bytes, peer: session.remotePeer, session: session.id ?? null, ...(size === undefined ? {} : { size }), verified: e.verified })
    return
  }
  // the bytes of an envelope that was signed here or passed verification are its canonical JSON
  // (protocols/envelope): spliced in as they are, members in canonical order, nothing parsed again;
  // the peer id (base58), the session id (base64url: protocols/session §2) and `verified` need no escaping
  desk.recordCanonical(type, '{"envelope":' + fromUtf8(e.bytes) + ',"peer":' + JSON.stringify(session.remotePeer) +
    ',"session":' + (session.id === undefined ? 'null' : JSON.stringify(session.id)) + ',"verified":' + JSON.stringify(e.verified) + '}')
}
