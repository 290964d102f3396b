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
import { RpcError, handlerFor, handlerParams } from '../session/session.js'
import type { Caller, EnvelopeRecord, Handler, HandlerContext, HandlerParams, Session } from '../session/session.js'
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import { openSealed } from '../envelope/sealed.js'
import type { Envelope } from '../envelope/envelope.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromBase64url, fromUtf8, utf8 } from '../crypto/bytes.js'
import type { Identity } from '../identity/identity.js'
import { amountOf, messageParams, METHODS } from '../methods/index.js'
import { ApprovalError, ApprovalErrorCode, QUOTA_EXCEEDED, QUOTA_EXCEEDED_CODE } from '../store/index.js'
import type { ApprovalRequest, PendingApproval } from '../store/index.js'
import type { Negotiation } from '../negotiation/machine.js'
import type { Party, Terms, Transition } from '../negotiation/transition.js'
import type { Desk, InboxMessage } from './desk.js'
import type { Negotiations } from './negotiations.js'
import { lenientUtf8, lenientUtf8Prefix } from '../util/lenient-utf8.js'
import { MCP_TOOL_CALL } from '../mcp/constants.js'

const log = logger('parley:agent:bridge')

/** JSON-RPC error code of a request the node's policy refuses outright. */
export const POLICY_REFUSED = -32003
/** The stable code in `data.code` of a {@link POLICY_REFUSED} error. */
export const POLICY_REFUSED_CODE = 'ERR_POLICY_REFUSED'

/**
 * The JSON-RPC refusal of a request over a quota: `-32005` with
 * `data: { code: 'ERR_QUOTA', scope, limit, reason }` (protocols/methods §1).
 */
export function quotaRefusal (scope: string, limit: number, reason: string): RpcError {
  return new RpcError(QUOTA_EXCEEDED, `refused: ${reason}`, { code: QUOTA_EXCEEDED_CODE, scope, limit, reason })
}

/** What a request picked up by mail has instead of a {@link HandlerContext}: no session (protocols/mailbox). */
export type MailContext = Omit<HandlerContext, 'session'> & {
  /** None: mail came through a relay, not on a session. */
  session?: undefined
}

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
  /** An open session with `party` (`preferred`, by id, when it is open), or a new one. */
  sessionWith: (party: Party, preferred?: string) => Promise<Session>
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
  /** Decided requests waiting for their peer: the delay of the next try, and how to cancel it. */
  readonly #retries = new Map<string, { delay: number, stop: () => void }>()
  #stopped = false

  constructor (host: BridgeHost) {
    this.#host = host
  }

  /**
   * Runs `handler` for `method` if the policy allows it now; otherwise queues
   * or holds the request for the human. Mail picked up from a relay comes
   * through here too, with a {@link MailContext} (no session).
   */
  async gate<C extends HandlerContext | MailContext> (method: string, handler: (params: HandlerParams, context: C) => ReturnType<Handler>, params: HandlerParams, context: C): Promise<JsonValue | undefined> {
    const desk = this.#host.desk
    const amount = amountOf(params)
    // a node may class one topic of a method on its own (`info/request:dispute`),
    // and an MCP tool call is classed by its tool (`mcp/tools/call:book`)
    const topic = method === MCP_TOOL_CALL ? (params as { name?: unknown } | undefined)?.name : (params as { topic?: unknown } | undefined)?.topic
    const classed = typeof topic === 'string' && desk.policy.classes?.[`${method}:${topic}`] !== undefined ? `${method}:${topic}` : method
    const verdict = desk.gate(context.caller, classed, amount)
    if (verdict.decision === 'allow') return handler(params, context)
    const verdictEntry = { method, peer: context.caller.peer, decision: verdict.decision, reason: verdict.reason, request: context.envelope.id }
    if (verdict.decision === 'deny') {
      // a refusal: rate-limited per peer in the log
      desk.recordRefusal('policy.verdict', verdictEntry.peer, verdictEntry)
      throw new RpcError(POLICY_REFUSED, `refused by policy: ${verdict.reason}`, { code: POLICY_REFUSED_CODE, reason: verdict.reason })
    }
    if (verdict.decision === 'queue' && method === METHODS.message) {
      desk.record('policy.verdict', verdictEntry)
      return handler(params, context)
    }
    // the summary names the caller as its session verified it, never as it claims
    const who = context.caller.handle === undefined ? context.caller.peer : `@${context.caller.handle}`
    const approval = await this.#request(context.caller.peer, context.envelope.id, method, {
      subjectKind: 'envelope',
      bytes: utf8(canonicalize(context.envelope)),
      peer: context.caller.peer,
      ...(context.caller.handle === undefined ? {} : { handle: context.caller.handle }),
      method,
      summary: clip((method === METHODS.message ? `${who} says: ${messageParams(params).text}` : `${who} asks ${method} ${canonicalize(params ?? null).slice(0, 300)} (${verdict.reason})`) +
        transcriptOf(context.session === undefined ? undefined : this.#host.history(context.session))),
      ...(amount === undefined ? {} : { amount }),
      quota: desk.approvalQuota(context.caller.peer)
    })
    desk.record('policy.verdict', verdictEntry)
    await desk.hold({ approval: approval.id, caller: context.caller, method, request: context.envelope.id, ...(context.session?.id === undefined ? {} : { session: context.session.id }) })
    desk.record('approval.request', { approval: approval.id, method, peer: context.caller.peer, request: context.envelope.id })
    return { status: 'held', approval: approval.id }
  }

  /**
   * The policy on a negotiation move: ours (`transition`) or theirs
   * (`envelope`, with the `caller` its session verified); the approval id
   * when it must wait. A propose is gated like any other move.
   */
  async holdMove (n: Negotiation, t: Transition, bytes: () => Uint8Array, kind: 'transition' | 'envelope', caller?: Caller): Promise<string | undefined> {
    const desk = this.#host.desk
    const other = n.parties.find(p => p.peer !== this.#host.identity.peerIdString) ?? n.parties[1]
    // who the other party is, as far as verified: the session's caller for their move; for ours, the
    // handle in the parties only when we wrote it (we proposed, to a handle we resolved), else none
    const weProposed = n.parties[0].peer === this.#host.identity.peerIdString
    const verified: Caller = caller ?? { peer: other.peer, ...(weProposed && other.handle !== undefined ? { handle: other.handle } : {}), kind: 'agent' }
    const terms = t.type === 'accept' ? n.offer.terms : (t as { terms?: Terms }).terms
    const amount = amountOf(terms)
    const method = `negotiation/${t.type}`
    const verdict = desk.gate(verified, method, amount)
    if (verdict.decision === 'allow' || verdict.decision === 'queue') return undefined
    const verdictEntry = { method, peer: other.peer, negotiation: n.id, seq: t.seq, direction: kind === 'transition' ? 'out' : 'in', decision: verdict.decision, reason: verdict.reason }
    if (verdict.decision === 'deny') {
      if (kind === 'envelope') desk.recordRefusal('policy.verdict', verdictEntry.peer, verdictEntry)
      else desk.record('policy.verdict', verdictEntry)
      throw new RpcError(POLICY_REFUSED, `refused by policy: ${verdict.reason}`, { code: POLICY_REFUSED_CODE, reason: verdict.reason })
    }
    const who = verified.handle === undefined ? verified.peer : `@${verified.handle}`
    const summary = kind === 'transition'
      ? `${t.type} ${n.subject} with ${who}${terms === undefined ? '' : ': ' + canonicalize(terms)} (${verdict.reason})`
      : `${who} wants to ${t.type} ${n.subject}${terms === undefined ? '' : ': ' + canonicalize(terms)} (${verdict.reason})`
    const request: ApprovalRequest = {
      subjectKind: kind,
      bytes: bytes(),
      peer: other.peer,
      ...(verified.handle === undefined ? {} : { handle: verified.handle }),
      method,
      summary: clip(summary),
      ...(amount === undefined ? {} : { amount }),
      // our own moves are ours to hold: only the other party's count against its quota
      ...(kind === 'envelope' ? { quota: desk.approvalQuota(other.peer) } : {})
    }
    const approval = kind === 'envelope' && caller !== undefined
      ? await this.#request(caller.peer, undefined, method, request)
      : await desk.approvals.request(request)
    desk.record('policy.verdict', verdictEntry)
    desk.record('approval.request', { approval: approval.id, method, negotiation: n.id, seq: t.seq })
    return approval.id
  }

  /**
   * Holds a peer's request or move for the human, within its quotas; over
   * one, refuses it with {@link quotaRefusal} (recorded, rate-limited, as
   * `quota.refused`) rather than letting the store's error through as an
   * internal error.
   */
  async #request (peer: string, request: string | undefined, method: string, req: ApprovalRequest): Promise<PendingApproval> {
    const desk = this.#host.desk
    try {
      return await desk.approvals.request(req)
    } catch (err) {
      if (!(err instanceof ApprovalError) || err.code !== ApprovalErrorCode.TOO_MANY) throw err
      const scope = err.quota?.scope ?? 'node'
      const limit = err.quota?.limit ?? 0
      const reason = scope === 'peer'
        ? `too many requests of yours wait for the human already (at most ${limit})`
        : scope === 'strangers'
          ? `too many requests of unknown peers wait for the human already (at most ${limit})`
          : `too many requests wait for the human already (at most ${limit})`
      desk.recordRefusal('quota.refused', peer, { peer, method, scope, limit, ...(request === undefined ? {} : { request }) })
      throw quotaRefusal(scope, limit, reason)
    }
  }

  /**
   * An `approval/outcome` notification: true when it comes from the peer
   * that answered one of our requests `{ status: 'held', approval }`, for
   * that approval and that request, or from the peer we sent the
   * notification it names (once); anything else is ignored, counted
   * (`desk.ignoredOutcomes`) and recorded, rate-limited.
   */
  /**
   * Carries out a decided request (a held request or message, not a move):
   * nothing acknowledged is lost. A message goes to the inbox at once; a
   * request runs once its peer can be reached (its handler gets the session);
   * the approval is redeemed only then. The outcome is kept with the held
   * request until the peer has it, so a peer that is offline gets it later:
   * each step is retried with backoff ({@link RETRY_MIN_MS} doubling to
   * {@link RETRY_MAX_MS}) while the agent runs, and again after a restart
   * ({@link resume}). The held request goes only once the outcome is sent.
   */
  async #carryOut (id: string): Promise<void> {
    const desk = this.#host.desk
    const approval = desk.approvals.get(id)
    let held = await desk.held(id)
    if (approval === undefined || held === undefined || approval.decision === undefined) return
    const party: Party = { peer: held.caller.peer, ...(held.caller.handle === undefined ? {} : { handle: held.caller.handle }) }
    const reply = approval.decision.reply
    try {
      if (held.outcome === undefined) {
        const bytes = fromBase64url(approval.subject.bytes) as Uint8Array
        const subject = JSON.parse(fromUtf8(bytes)) as Record<string, unknown>
        const body = this.#bodyOf(subject)
        const approved = approval.decision.decision === 'approve'
        let result: JsonValue | undefined
        if (approved) {
          const handler = held.method === METHODS.message ? undefined : handlerFor(this.#host.handlers, held.method)
          // the handler gets the session, so its peer must be reachable first
          const session = handler === undefined ? undefined : await this.#host.sessionWith(party, held.session)
          if (approval.status !== 'used') await desk.approvals.redeem(approval.decision, bytes)
          if (held.method === METHODS.message) {
            await desk.deliver({ ...inboxMessage(body?.params, { caller: held.caller, envelope: subject as never }), approval: id })
            result = { status: 'delivered' }
          } else if (handler !== undefined && session !== undefined) {
            try {
              result = await handler(handlerParams(body?.params), { caller: held.caller, session, envelope: subject as never, method: held.method }) ?? null
            } catch (err) {
              result = { error: err instanceof RpcError ? err.message : 'internal error' }
            }
          }
        }
        held = { ...held, outcome: { approval: id, request: held.request, decision: approval.decision.decision, ...(reply === undefined ? {} : { reply }), ...(result === undefined ? {} : { result }) } }
        await desk.hold(held)
      }
      // on the session the request came on while it is open: the outcome then follows the held answer
      const session = await this.#host.sessionWith(party, held.session)
      await session.notify(METHODS.outcome, held.outcome as unknown as JsonRpcParams)
      await desk.held(id, true)
      this.#retries.get(id)?.stop()
      this.#retries.delete(id)
    } catch (err) {
      this.#retryLater(id, err)
    }
  }

  /**
   * The JSON-RPC body of a held envelope: its `body`, or for mail (sealed to
   * us, held as it came so the decision binds to the exact signed bytes) the
   * body it opens to.
   */
  #bodyOf (subject: Record<string, unknown>): { method?: string, params?: JsonRpcParams } | undefined {
    if (subject.sealed === undefined) return subject.body as { method?: string, params?: JsonRpcParams } | undefined
    try {
      return openSealed(subject as unknown as Envelope, this.#host.identity) as { method?: string, params?: JsonRpcParams }
    } catch (err) {
      log.error('a held sealed envelope does not open with our key: %e', err)
      return undefined
    }
  }

  /** Schedules another {@link #carryOut} of `id`, with backoff. */
  #retryLater (id: string, err: unknown): void {
    if (this.#stopped) return
    const delay = Math.min(RETRY_MAX_MS, (this.#retries.get(id)?.delay ?? RETRY_MIN_MS / 2) * 2)
    log('approval %s: its peer cannot be reached yet (%e); trying again in %d ms', id, err, delay)
    this.#retries.get(id)?.stop()
    const timer = setTimeout(() => { this.#carryOut(id).catch(e => { log.error('approval %s: %e', id, e) }) }, delay)
    timer.unref?.()
    this.#retries.set(id, { delay, stop: () => { clearTimeout(timer) } })
  }

  /** Carries on with every decided request that was not finished (after a restart). */
  async resume (): Promise<void> {
    this.#stopped = false
    for (const approval of this.#host.desk.approvals.list()) {
      if (approval.decision === undefined || approval.status === 'expired') continue
      if (await this.#host.desk.held(approval.id) !== undefined) await this.#carryOut(approval.id)
    }
  }

  /** Stops retrying (the agent stops); {@link resume} picks up again. */
  stop (): void {
    this.#stopped = true
    for (const r of this.#retries.values()) r.stop()
    this.#retries.clear()
  }

  /**
   * Whether an incoming `approval/outcome` is one this node awaits (from the
   * peer that holds that request of ours, once); anything else is counted
   * and logged (rate-limited) as `outcome.ignored`.
   */
  async acceptOutcome (params: unknown, context: HandlerContext): Promise<boolean> {
    const desk = this.#host.desk
    const p = params as { approval?: unknown, request?: unknown, decision?: unknown } | undefined
    const ok = (p?.decision === 'approve' || p?.decision === 'reject') && await desk.takeOutcome(context.caller.peer, p.approval, p.request)
    if (!ok) {
      desk.countIgnoredOutcome()
      desk.recordRefusal('outcome.ignored', context.caller.peer, { peer: context.caller.peer, approval: typeof p?.approval === 'string' ? p.approval.slice(0, 64) : null, notification: context.envelope.id })
      log('ignored an approval/outcome from %s for no request of ours it holds', context.caller.peer)
    }
    return ok
  }

  /** Marks pending approval `id` expired: what it held (a move on a negotiation that expired) can no longer happen. */
  async expire (id: string): Promise<void> {
    const desk = this.#host.desk
    const expired = await desk.approvals.expire(id)
    if (expired !== undefined) desk.record('approval.expired', { approval: id, subject: expired.subject.hash, peer: expired.peer, method: expired.method })
  }

  /** Carries out the human's decision on approval `id` (see the module documentation). */
  async decide (id: string, decision: 'approve' | 'reject', options: { reply?: string }): Promise<PendingApproval> {
    const desk = this.#host.desk
    const signed = await desk.approvals.decide(id, decision, this.#host.identity, options.reply === undefined ? {} : { reply: options.reply })
    const approval = desk.approvals.get(id) as PendingApproval
    desk.record('approval.decision', { approval: id, decision: signed as unknown as Record<string, unknown> })
    const bytes = fromBase64url(approval.subject.bytes) as Uint8Array
    const approved = decision === 'approve'
    const subject = JSON.parse(fromUtf8(bytes)) as Record<string, unknown>
    const body = this.#bodyOf(subject)
    // a held move goes ahead at once; a held request waits until its peer can hear the outcome (#carryOut)
    if (approved && (approval.subject.kind === 'transition' || body?.method === METHODS.transition)) await desk.approvals.redeem(signed, bytes)
    if (approval.subject.kind === 'transition') {
      await this.#host.negotiations.resumeOutgoing(subject.negotiation as string, id, approved, options.reply)
      return desk.approvals.get(id) as PendingApproval
    }
    if (body?.method === METHODS.transition) {
      const negotiation = (body.params as { transition?: { negotiation?: string } } | undefined)?.transition?.negotiation ?? ''
      await this.#host.negotiations.resumeIncoming(negotiation, id, approved, options.reply)
      return desk.approvals.get(id) as PendingApproval
    }
    await this.#carryOut(id)
    return desk.approvals.get(id) as PendingApproval
  }
}

/** First wait before a decided request's peer is tried again. */
export const RETRY_MIN_MS = 2000
/** Longest wait between tries. */
export const RETRY_MAX_MS = 300_000

/** A `message` request as the inbox keeps it. */
export function inboxMessage (params: unknown, context: Pick<HandlerContext, 'caller' | 'envelope'>): InboxMessage {
  const p = messageParams(params)
  // only mail is sealed: a session carries bodies in the clear (it is encrypted already)
  return { id: context.envelope.id, at: Date.now(), from: context.caller, ...p, ...(context.envelope.sealed === undefined ? {} : { via: 'mail' as const }) }
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

/** Our requests on each session not yet answered: JSON-RPC id (as JSON) → envelope id, to know which request a `held` answer is about. */
const outstanding = new WeakMap<Session, Map<string, string>>()
/** Most unanswered requests remembered per session (the oldest are forgotten first). */
const MAX_OUTSTANDING = 1024

/**
 * Notes our requests, and the answers saying the far side holds one for its
 * human (`{ status: 'held', approval }`): that peer's `approval/outcome` for
 * that approval and request is then awaited (the only one accepted).
 */
function trackHeld (desk: Desk, session: Session, e: EnvelopeRecord): void {
  const body = e.body as { id?: unknown, method?: unknown, result?: unknown } | undefined
  if (e.verified !== true || body === undefined || e.envelope === undefined) return
  if (e.dir === 'out' && typeof body.method === 'string' && !('id' in body)) {
    // a notification of a method the far side may hold (not one of the protocol's own)
    if (!/^(session|negotiation|approval)\//.test(body.method)) desk.notified(e.envelope.id, session.remotePeer)
    return
  }
  if (typeof body.id !== 'string' && typeof body.id !== 'number') return
  const rpcId = JSON.stringify(body.id)
  if (e.dir === 'out' && typeof body.method === 'string') {
    let mine = outstanding.get(session)
    if (mine === undefined) { mine = new Map(); outstanding.set(session, mine) }
    mine.set(rpcId, e.envelope.id)
    if (mine.size > MAX_OUTSTANDING) mine.delete(mine.keys().next().value as string)
    return
  }
  if (e.dir !== 'in' || body.method !== undefined) return
  const request = outstanding.get(session)?.get(rpcId)
  if (request === undefined) return
  outstanding.get(session)?.delete(rpcId)
  const result = body.result as { status?: unknown, approval?: unknown } | undefined
  if (result?.status !== 'held' || typeof result.approval !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(result.approval)) return
  desk.awaitOutcome({ approval: result.approval, peer: session.remotePeer, request, at: e.at }).catch((err: Error) => { log.error('could not remember the held request %s: %e', request, err) })
}

function recordEnvelopeOnce (desk: Desk, session: Session, e: EnvelopeRecord): void {
  const body = e.body
  const kind = body === undefined ? 'frame' : 'method' in body ? ('id' in body ? 'request' : 'notification') : 'response'
  if (body !== undefined && 'method' in body && typeof body.method === 'string' && body.method.startsWith('session/')) return
  trackHeld(desk, session, e)
  const type = `${kind}.${e.dir}`
  if (e.dir === 'in' && e.verified !== true) {
    // a refused frame: recorded as below, but at most so many per peer per window (Desk.recordRefusal)
    recordRefused(desk, session, e, type)
    return
  }
  // the bytes of an envelope that was signed here or passed verification are its canonical JSON
  // (protocols/envelope): spliced in as they are, members in canonical order, nothing parsed again;
  // the peer id (base58), the session id (base64url: protocols/session §2) and `verified` need no escaping
  if (e.envelope !== undefined) desk.recordCanonical(type, canonicalEntry(session, e))
}

function canonicalEntry (session: Session, e: EnvelopeRecord): string {
  return '{"envelope":' + fromUtf8(e.bytes) + ',"peer":' + JSON.stringify(session.remotePeer) +
    ',"session":' + (session.id === undefined ? 'null' : JSON.stringify(session.id)) + ',"verified":' + JSON.stringify(e.verified) + '}'
}

function recordRefused (desk: Desk, session: Session, e: EnvelopeRecord, type: string): void {
  const peer = session.remotePeer
  // Desk.record and recordCanonical (given the peer) rate-limit refusals per peer
  if (e.envelope !== undefined) {
    desk.recordCanonical(type, canonicalEntry(session, e), peer)
    return
  }
  // a refused frame is whatever the peer sent, valid UTF-8 or not: recorded as text decoded
  // leniently (each invalid sequence as U+FFFD), its first RECORDED_FRAME_BYTES only, so that
  // no frame can make the entry too large to log (protocols/event-log §4); never a reason to throw
  const cut = e.size === undefined && e.bytes.byteLength > RECORDED_FRAME_BYTES
  const bytes = cut ? lenientUtf8Prefix(e.bytes, RECORDED_FRAME_BYTES) : lenientUtf8(e.bytes)
  const size = e.size ?? (cut ? e.bytes.byteLength : undefined)
  desk.record(type, { bytes, peer, session: session.id ?? null, ...(size === undefined ? {} : { size }), verified: e.verified })
}
