/**
 * An agent's negotiations: the protocols/negotiation state machine carried
 * over sessions, persisted, and gated by the node's policy.
 *
 * Each move is a signed transition sent as a `negotiation/transition`
 * request. The receiver checks it against its copy of the negotiation and
 * applies it, or, when its policy asks its human first, holds it (answering
 * `applied: false` with the approval's id) and later applies it and sends
 * `negotiation/applied`, or sends `negotiation/declined`. The sender applies
 * its own move only once the receiver has: both copies move in lock-step.
 * A move of our own that policy gates waits, signed, for our human. An
 * incoming propose is gated like any other move (and may be held), and the
 * negotiations one peer may have open with this node are capped by its trust
 * level (`quotas.negotiationsPerPeer`).
 *
 * Expiry: {@link Negotiations.startExpiry} runs {@link Negotiations.expire}
 * on a timer, moving every negotiation past its `expires` to `expired`
 * (protocols/negotiation §6.4) — not one with a move of ours outstanding —
 * and with it the approvals of the moves held on it; the other party, whose
 * held move can then never apply, hears `negotiation/declined`.
 *
 * @example
 * ```ts
 * import type { Agent } from 'parley-mesh'
 * declare const buyer: Agent
 * declare const seller: Agent // @rapidplumb
 *
 * seller.negotiations.addEventListener('transition', ({ detail }) => {
 *   // the buyer's offer arrived: accept it (or counter, reject)
 *   if (detail.by === 'remote' && detail.transition.type === 'propose') void seller.negotiations.move(detail.negotiation.id, 'accept')
 * })
 * const sent = await buyer.propose('@rapidplumb', { subject: 'call-out', terms: { type: 'commerce.job', price: { value: 200, currency: 'GBP' } } })
 * ```
 */
import { KeyedSerial } from '../util/serial.js'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { NegotiationError, NegotiationErrorCode } from '../negotiation/errors.js'
import { Negotiation } from '../negotiation/machine.js'
import { propose, counter, accept, reject, cancel } from '../negotiation/actions.js'
import { agreementOf } from '../negotiation/agreement.js'
import type { Agreement } from '../negotiation/agreement.js'
import { transitionHash } from '../negotiation/transition.js'
import type { NegotiationSigner, Party, Terms, Transition } from '../negotiation/transition.js'
import { TRANSITION_METHOD, TRANSITION_REFUSED } from '../negotiation/constants.js'
import { RpcError } from '../session/session.js'
import type { HandlerContext, Session } from '../session/session.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { METHODS } from '../methods/index.js'
import { QUOTA_EXCEEDED, QUOTA_EXCEEDED_CODE } from '../store/quotas.js'

const log = logger('parley:negotiations')

/** Notification: a transition held for the receiver's human was declined. */
export const DECLINED_METHOD = 'negotiation/declined'
const PREFIX = '/parley/negotiations/'
/** How often {@link Negotiations.startExpiry} looks for negotiations past their expiry, by default (ms). */
export const EXPIRY_CHECK_MS = 1000
/** The `reason` of a `negotiation/declined` sent because the negotiation expired while the move waited for our human. */
export const EXPIRED_REASON = 'expired'

/** What the negotiations need from the agent that owns them. */
export interface NegotiationsHost {
  /** Signs our transitions (the agent's identity). */
  readonly signer: NegotiationSigner
  /** Us as a party (peer id and, when we have one, handle). */
  self: () => Party
  /** An open session with `party` (an existing one, or a new one by handle or peer id). */
  session: (party: Party) => Promise<Session>
  /**
   * The policy gate on our own move: undefined to send it now, or the id of
   * an approval it waits for (bound to the signed transition's bytes).
   */
  holdOutgoing: (n: Negotiation, t: Transition) => Promise<string | undefined>
  /** The gate on the other party's move: undefined to apply it now, or the approval it waits for. */
  holdIncoming: (n: Negotiation, t: Transition, context: HandlerContext) => Promise<string | undefined>
  /** Appends to the event log. */
  record: (type: string, data: Record<string, unknown>) => void
  /** Where negotiations are kept between runs. */
  readonly datastore: Datastore
  /** Most negotiations `peer` may have open with this node (not over yet); none: no limit. */
  quota?: (peer: string) => number
  /** Marks the approval of a held move expired (its negotiation expired). */
  expireApproval?: (approval: string) => Promise<void>
}

/** Where a move stands after {@link Negotiations.move}. */
export interface MoveResult {
  /** The negotiation id. */
  negotiation: string
  /** `sent`: applied on both sides; `held`: waits for our human; `awaiting`: waits for theirs. */
  status: 'sent' | 'held' | 'awaiting'
  /** The negotiation's state on our side (the move is applied only once `sent`). */
  state: string
  /** The `seq` of the last transition applied on our side. */
  seq: number
  /** The approval it waits for (ours when `held`, theirs when `awaiting`). */
  approval?: string
}

/** The detail of a `transition` event. */
export interface TransitionEvent {
  /** The negotiation, after the transition. */
  negotiation: Negotiation
  /** The transition applied. */
  transition: Transition
  /** `local`: our move; `remote`: the other party's. */
  by: 'local' | 'remote'
}

/** Events of {@link Negotiations}. */
export interface NegotiationsEvents {
  /** A transition was applied (on both sides, as far as this node knows). */
  transition: CustomEvent<TransitionEvent>
  /** A negotiation reached `confirmed`; `detail.agreement` carries both signatures. */
  confirmed: CustomEvent<{
    /** The confirmed negotiation. */
    negotiation: Negotiation
    /** Its agreement. */
    agreement: Agreement
  }>
  /** A negotiation reached `expired` on this node's clock (not a transition: protocols/negotiation §5). */
  expired: CustomEvent<{
    /** The expired negotiation. */
    negotiation: Negotiation
    /** The approvals of held moves that expired with it. */
    approvals: string[]
  }>
}

/** What a node keeps per negotiation besides the chain. */
interface Entry {
  n: Negotiation
  /** Our move, sent and not yet acknowledged (or held by their human). */
  sent?: Transition
  /** The other party's move, held for our human: the approval id. */
  heldIncoming?: { approval: string, transition: Transition }
  /** Our move, held for our human. */
  heldOutgoing?: { approval: string, transition: Transition }
}

interface Stored {
  transitions: Transition[]
  sent?: Transition
  heldIncoming?: { approval: string, transition: Transition }
  heldOutgoing?: { approval: string, transition: Transition }
}

/** The JSON-RPC refusal of a transition: the code, and the receiver's state when it holds the negotiation (protocols/negotiation §6.1). */
function refused (err: unknown, n?: Negotiation): never {
  if (err instanceof NegotiationError) {
    throw new RpcError(TRANSITION_REFUSED, `transition refused: ${err.message}`, { code: err.code, ...(n === undefined ? {} : { state: n.state, seq: n.seq }) })
  }
  throw err
}

/** A move on an open negotiation (a propose is {@link Negotiations.propose}). */
export type MoveKind = 'counter' | 'accept' | 'reject' | 'cancel'

/** The negotiations of one agent. */
export class Negotiations extends TypedEventEmitter<NegotiationsEvents> {
  readonly #host: NegotiationsHost
  readonly #entries = new Map<string, Entry>()
  /**
   * Our moves on one negotiation run one at a time, and so do the other
   * party's transitions we receive; but the two never wait for each other:
   * a move waits for the far side's answer, and that answer may depend on
   * the far side's own move, which we must be free to receive (both moved
   * at once: protocols/negotiation §6.3 settles it from `sent`).
   */
  readonly #moves = new KeyedSerial()
  readonly #incoming = new KeyedSerial()
  #expiryTimer: ReturnType<typeof setInterval> | undefined

  constructor (host: NegotiationsHost) {
    super()
    this.#host = host
  }

  /** Reads back every negotiation the datastore holds (after a restart). */
  async load (): Promise<void> {
    for await (const { key, value } of this.#host.datastore.query({ prefix: PREFIX })) {
      try {
        const s = JSON.parse(fromUtf8(value)) as Stored
        const n = await Negotiation.fromTransitions(s.transitions, { now: Date.now() })
        this.#entries.set(n.id, { n, ...(s.sent === undefined ? {} : { sent: s.sent }), ...(s.heldIncoming === undefined ? {} : { heldIncoming: s.heldIncoming }), ...(s.heldOutgoing === undefined ? {} : { heldOutgoing: s.heldOutgoing }) })
      } catch (err) {
        log.error('cannot read back negotiation %s: %e', key.toString(), err)
      }
    }
  }

  /** A negotiation this node takes part in. */
  get (id: string): Negotiation | undefined { return this.#entries.get(id)?.n }

  /** Every negotiation, newest last. */
  list (): Negotiation[] { return [...this.#entries.values()].map(e => e.n) }

  /** The agreement of a confirmed negotiation. */
  agreement (id: string): Agreement {
    const n = this.#need(id)
    return agreementOf(n)
  }

  /** Opens a negotiation with `party` (resolved by the caller) and sends the first offer. */
  async propose (party: Party, options: { subject: string, terms: Terms, ttlMs?: number }): Promise<MoveResult> {
    const self = this.#host.self()
    const t = await propose(this.#host.signer, {
      counterparty: party,
      ...(self.handle === undefined ? {} : { handle: self.handle }),
      subject: options.subject,
      terms: options.terms,
      expires: Date.now() + (options.ttlMs ?? 24 * 60 * 60 * 1000)
    })
    const n = await Negotiation.open(t, { now: null })
    // the negotiation exists locally from the start; the propose is its first transition (both sides open it from the same bytes)
    const entry: Entry = { n }
    this.#entries.set(n.id, entry)
    return this.#moves.run(n.id, async () => this.#send(entry, t, true))
  }

  /** Makes a move on a negotiation: a counter-offer, or accept, reject or cancel. */
  async move (id: string, kind: MoveKind, options: { terms?: Terms, reason?: string } = {}): Promise<MoveResult> {
    return this.#moves.run(id, async () => {
      const entry = this.#entries.get(id)
      if (entry === undefined) throw new NegotiationError(NegotiationErrorCode.WRONG_NEGOTIATION, `no negotiation ${id}`)
      if (entry.sent !== undefined || entry.heldOutgoing !== undefined) {
        throw new NegotiationError(NegotiationErrorCode.CONFLICT, 'a move of ours on this negotiation is still waiting')
      }
      if (entry.heldIncoming?.transition.seq === 0) {
        throw new NegotiationError(NegotiationErrorCode.CONFLICT, 'the propose that opens this negotiation waits for our human')
      }
      const signer = this.#host.signer
      const n = entry.n
      const end = options.reason === undefined ? {} : { reason: options.reason }
      let t: Transition
      if (kind === 'counter') {
        if (options.terms === undefined) throw new TypeError('a counter needs terms')
        t = await counter(signer, n, options.terms)
      } else if (kind === 'accept') t = await accept(signer, n)
      else if (kind === 'reject') t = await reject(signer, n, end)
      else t = await cancel(signer, n, end)
      // (each helper has run the far side's checks on its transition)
      return this.#send(entry, t, false)
    })
  }

  /** Gate, then send (or hold) our transition `t`. */
  async #send (entry: Entry, t: Transition, opening: boolean): Promise<MoveResult> {
    const n = entry.n
    const approval = opening ? undefined : await this.#host.holdOutgoing(n, t)
    if (approval !== undefined) {
      entry.heldOutgoing = { approval, transition: t }
      await this.#save(entry)
      return { negotiation: n.id, status: 'held', state: n.state, seq: n.seq, approval }
    }
    return this.#deliver(entry, t, opening)
  }

  /** Sends our move and applies it once the other side has. */
  async #deliver (entry: Entry, t: Transition, opening: boolean): Promise<MoveResult> {
    const n = entry.n
    const other = n.parties[0].peer === this.#host.signer.peerIdString ? n.parties[1] : n.parties[0]
    if (!opening) entry.sent = t
    await this.#save(entry)
    let answer: { applied?: boolean, held?: string, state?: string, seq?: number }
    try {
      const session = await this.#host.session(other)
      answer = await session.request(TRANSITION_METHOD, { transition: t as unknown as JsonValue }) as typeof answer
    } catch (err) {
      const code = err instanceof RpcError && err.code === TRANSITION_REFUSED ? (err.data as { code?: string } | undefined)?.code : undefined
      if (code !== NegotiationErrorCode.DUPLICATE) {
        delete entry.sent
        if (opening) this.#entries.delete(n.id)
        await this.#save(entry, opening)
        if (code !== undefined) throw new NegotiationError(code as NegotiationErrorCode, `the other party refused the ${t.type}: ${(err as Error).message}`)
        throw err
      }
      // the other party already holds this very transition (a retry after a lost answer): acknowledged
      answer = { applied: true }
    }
    if (answer.applied === false) {
      if (opening) {
        // the other side's human decides whether to take it up: it stays outstanding until then
        entry.sent = t
        await this.#save(entry)
      }
      return { negotiation: n.id, status: 'awaiting', state: n.state, seq: n.seq, ...(answer.held === undefined ? {} : { approval: answer.held }) }
    }
    if (!opening) await this.#applyOwn(entry, t)
    else { this.#record(n, t, 'local'); this.#emit(n, t, 'local') } // the propose was saved before it was sent: nothing changed since
    return { negotiation: n.id, status: 'sent', state: n.state, seq: n.seq }
  }

  /** Applies our own acknowledged transition `t`, once (the answer and the far side building on it may both say so). */
  async #applyOwn (entry: Entry, t: Transition): Promise<void> {
    if (entry.sent !== t) return
    delete entry.sent
    // a propose that was held opened the negotiation here already: nothing to apply
    if (t.seq !== 0) await entry.n.apply(t, { now: null })
    this.#record(entry.n, t, 'local')
    await this.#save(entry)
    this.#emit(entry.n, t, 'local')
  }

  /** Our own move that our human has approved: send it. Declined: drop it (an accept becomes a reject). */
  async resumeOutgoing (id: string, approval: string, approved: boolean, reason?: string): Promise<MoveResult | undefined> {
    const entry = this.#entries.get(id)
    if (entry?.heldOutgoing?.approval !== approval) return undefined
    const t = entry.heldOutgoing.transition
    delete entry.heldOutgoing
    await this.#save(entry)
    if (approved) return this.#moves.run(id, async () => this.#deliver(entry, t, false))
    this.#host.record('negotiation.declined', { negotiation: id, seq: t.seq, type: t.type, by: 'local' })
    if (t.type === 'accept') return this.move(id, 'reject', { reason: reason ?? 'declined by the human' })
    return undefined
  }

  /** The other party's move that our human has decided on: apply it and say so, or decline it. */
  async resumeIncoming (id: string, approval: string, approved: boolean, reason?: string): Promise<void> {
    await this.#incoming.run(id, async () => this.#resumeIncoming(id, approval, approved, reason))
  }

  async #resumeIncoming (id: string, approval: string, approved: boolean, reason?: string): Promise<void> {
    const entry = this.#entries.get(id)
    if (entry?.heldIncoming?.approval !== approval) return
    const t = entry.heldIncoming.transition
    delete entry.heldIncoming
    const other = entry.n.partyOf(t.by) ?? entry.n.parties[1]
    const opening = t.seq === 0
    const now = Date.now()
    if (approved && !(now < entry.n.expires)) {
      // approved too late: the negotiation expired meanwhile (§6.5), and the move with it
      entry.n.expire(now)
      await this.#save(entry)
      this.#host.record('negotiation.expired', { negotiation: id })
      this.safeDispatchEvent('expired', { detail: { negotiation: entry.n, approvals: [] } })
      await this.#notify(other, DECLINED_METHOD, { negotiation: id, seq: t.seq, hash: transitionHash(t), reason: EXPIRED_REASON })
      return
    }
    if (approved) {
      // a held propose opened the negotiation here already: it is entry.n's first transition
      if (!opening) await entry.n.apply(t, { now })
      this.#record(entry.n, t, 'remote')
      await this.#save(entry)
      this.#emit(entry.n, t, 'remote')
      await this.#notify(other, METHODS.applied, { negotiation: id, seq: t.seq, hash: transitionHash(t) })
    } else {
      // a declined propose leaves nothing to negotiate
      if (opening) this.#entries.delete(id)
      await this.#save(entry, opening)
      this.#host.record('negotiation.declined', { negotiation: id, seq: t.seq, type: t.type, by: 'remote' })
      await this.#notify(other, DECLINED_METHOD, { negotiation: id, seq: t.seq, hash: transitionHash(t), ...(reason === undefined ? {} : { reason }) })
    }
  }

  async #notify (party: Party, method: string, params: Record<string, JsonValue>): Promise<void> {
    try {
      const session = await this.#host.session(party)
      await session.notify(method, params)
    } catch (err) {
      log('could not tell %s (%s): %e', party.handle ?? party.peer, method, err)
    }
  }

  /** `negotiation/transition`: the other party's move. */
  async onTransition (params: unknown, context: HandlerContext): Promise<JsonValue> {
    const value = (params as { transition?: unknown } | undefined)?.transition
    const raw = value as Partial<Transition> | undefined
    const id = typeof raw?.negotiation === 'string' ? raw.negotiation : ''
    return this.#incoming.run(id, async () => {
      const now = Date.now()
      const entry = this.#entries.get(id)
      let t: Transition
      try {
        if (raw?.type === 'propose' && entry === undefined) {
          const n = await Negotiation.open(value, { now })
          if (n.parties[1].peer !== this.#host.signer.peerIdString) throw new NegotiationError(NegotiationErrorCode.NOT_PARTY, 'this node is not the counterparty named by the propose')
          if (n.parties[0].peer !== context.caller.peer) throw new NegotiationError(NegotiationErrorCode.NOT_PARTY, 'the propose is not signed by the peer on this session')
          return await this.#opened(n, context)
        }
        // the same propose again, while our human decides on it: still held
        if (raw?.type === 'propose' && entry?.heldIncoming?.transition.seq === 0 && entry.n.transitions.length === 1 && raw.sig === entry.n.last.sig) {
          return { applied: false, held: entry.heldIncoming.approval }
        }
        if (entry === undefined) throw new NegotiationError(NegotiationErrorCode.WRONG_NEGOTIATION, `no negotiation ${id}`)
        // the other side built on our move: it has applied it, so apply it here first
        if (entry.sent !== undefined && raw?.prev === transitionHash(entry.sent) && raw.seq === entry.sent.seq + 1) await this.#applyOwn(entry, entry.sent)
        t = (await entry.n.check(value, { now, ...(entry.sent === undefined ? {} : { pending: entry.sent }) })).transition
        if (t.by !== context.caller.peer) throw new NegotiationError(NegotiationErrorCode.NOT_PARTY, 'the transition is not signed by the peer on this session')
      } catch (err) {
        if (err instanceof RpcError) throw err // over quota, or refused by policy: recorded already
        this.#host.record('negotiation.refused', { negotiation: id, peer: context.caller.peer, code: (err as { code?: string }).code ?? 'ERR_INTERNAL', request: context.envelope.id })
        return refused(err, entry?.n)
      }
      if (entry.heldIncoming !== undefined) {
        return refused(new NegotiationError(NegotiationErrorCode.CONFLICT, 'a move of yours on this negotiation already waits for our human'), entry.n)
      }
      const approval = await this.#host.holdIncoming(entry.n, t, context)
      if (approval !== undefined) {
        entry.heldIncoming = { approval, transition: t }
        await this.#save(entry)
        return { state: entry.n.state, seq: entry.n.seq, applied: false, held: approval }
      }
      await entry.n.apply(t, { now, ...(entry.sent === undefined ? {} : { pending: entry.sent }) })
      if (entry.sent !== undefined && entry.sent.seq <= t.seq) delete entry.sent // void: the other party's move won (§6.3)
      this.#record(entry.n, t, 'remote')
      await this.#save(entry)
      this.#emit(entry.n, t, 'remote')
      return { state: entry.n.state, seq: entry.n.seq, applied: true }
    })
  }

  /**
   * A propose that opens negotiation `n` with the peer on the session: within
   * that peer's quota of open negotiations, and through the policy gate like
   * any move (it may be held for our human, or refused).
   */
  async #opened (n: Negotiation, context: HandlerContext): Promise<JsonValue> {
    const peer = context.caller.peer
    const t = n.last
    const limit = this.#host.quota?.(peer)
    // counted and taken at once (no await between): concurrent proposes of one peer cannot all pass
    if (limit !== undefined) {
      const open = this.openWith(peer)
      if (open >= limit) {
        this.#host.record('quota.refused', { peer, method: TRANSITION_METHOD, negotiation: n.id, scope: 'peer', limit, request: context.envelope.id })
        const reason = `you have ${open} negotiations open with this node already (at most ${limit})`
        throw new RpcError(QUOTA_EXCEEDED, `refused: ${reason}`, { code: QUOTA_EXCEEDED_CODE, scope: 'peer', limit, reason })
      }
    }
    const entry: Entry = { n }
    this.#entries.set(n.id, entry)
    let approval: string | undefined
    try {
      approval = await this.#host.holdIncoming(n, t, context)
    } catch (err) {
      this.#entries.delete(n.id)
      throw err
    }
    if (approval !== undefined) {
      entry.heldIncoming = { approval, transition: t }
      await this.#save(entry)
      return { applied: false, held: approval }
    }
    this.#record(n, t, 'remote')
    await this.#save(entry)
    this.#emit(n, t, 'remote')
    return { state: n.state, seq: n.seq, applied: true }
  }

  /** How many negotiations with `peer` are not over (those held for our human included). */
  openWith (peer: string): number {
    let open = 0
    for (const { n } of this.#entries.values()) if (!n.terminal && n.parties.some(p => p.peer === peer)) open++
    return open
  }

  /** `negotiation/applied` or `negotiation/declined`: the other side's human decided on our move. */
  async onDecided (params: unknown, context: HandlerContext, applied: boolean): Promise<void> {
    const p = params as { negotiation?: unknown, seq?: unknown, hash?: unknown } | undefined
    if (typeof p?.negotiation !== 'string') return
    const id = p.negotiation
    await this.#incoming.run(id, async () => {
      const entry = this.#entries.get(id)
      const sent = entry?.sent
      const other = entry?.n.parties.find(x => x.peer !== this.#host.signer.peerIdString)
      if (entry === undefined || sent === undefined || other?.peer !== context.caller.peer || p.hash !== transitionHash(sent)) return
      if (applied) await this.#applyOwn(entry, sent)
      else {
        delete entry.sent
        this.#host.record('negotiation.declined', { negotiation: id, seq: sent.seq, type: sent.type, by: 'remote' })
        if (sent.seq === 0 && entry.n.expire(Date.now())) {
          // our propose, declined because it expired: expired here too
          await this.#save(entry)
          this.#host.record('negotiation.expired', { negotiation: id })
          this.safeDispatchEvent('expired', { detail: { negotiation: entry.n, approvals: [] } })
        } else if (sent.seq === 0) {
          // our propose, declined: the other side holds nothing to negotiate
          this.#entries.delete(id)
          await this.#save(entry, true)
        } else {
          await this.#save(entry)
        }
      }
    })
  }

  /**
   * Moves every negotiation past its expiry to `expired` (protocols/negotiation
   * §6.4): not one with a move of ours outstanding (its answer may yet confirm
   * it). A move of ours held for our human is dropped and its approval
   * expired; a move of theirs held likewise, and they hear
   * `negotiation/declined` (reason `expired`) so that they stop waiting for it.
   * Returns the ids of the negotiations it expired.
   */
  async expire (now = Date.now()): Promise<string[]> {
    const due = [...this.#entries.values()].filter(e => !e.n.terminal && e.sent === undefined && !(now < e.n.expires)).map(e => e.n.id)
    const expired: string[] = []
    for (const id of due) {
      try {
        if (await this.#incoming.run(id, async () => this.#expireOne(id, now))) expired.push(id)
      } catch (err) {
        log.error('could not expire negotiation %s: %e', id, err)
      }
    }
    return expired
  }

  async #expireOne (id: string, now: number): Promise<boolean> {
    const entry = this.#entries.get(id)
    if (entry === undefined || entry.sent !== undefined || !entry.n.expire(now)) return false
    const incoming = entry.heldIncoming
    const outgoing = entry.heldOutgoing
    delete entry.heldIncoming
    delete entry.heldOutgoing
    await this.#save(entry)
    const approvals = [incoming?.approval, outgoing?.approval].filter((a): a is string => a !== undefined)
    this.#host.record('negotiation.expired', { negotiation: id, ...(approvals.length === 0 ? {} : { approvals }) })
    for (const approval of approvals) {
      await this.#host.expireApproval?.(approval).catch((err: Error) => { log.error('could not expire approval %s: %e', approval, err) })
    }
    this.safeDispatchEvent('expired', { detail: { negotiation: entry.n, approvals } })
    if (incoming !== undefined) {
      const t = incoming.transition
      const other = entry.n.partyOf(t.by) ?? entry.n.parties[0]
      void this.#notify(other, DECLINED_METHOD, { negotiation: id, seq: t.seq, hash: transitionHash(t), reason: EXPIRED_REASON })
    }
    return true
  }

  /**
   * Deletes negotiations that ended before `before` (over, and holding no
   * move for a human); returns how many. A negotiation ends at its last
   * transition, or at its expiry if it expired.
   */
  async prune (before: number): Promise<number> {
    let n = 0
    for (const entry of [...this.#entries.values()]) {
      if (!entry.n.terminal || entry.heldIncoming !== undefined || entry.heldOutgoing !== undefined) continue
      const last = entry.n.transitions.at(-1)?.ts ?? 0
      const ended = entry.n.state === 'expired' ? Math.max(last, entry.n.expires) : last
      if (ended >= before) continue
      await this.#incoming.run(entry.n.id, async () => {
        if (this.#entries.get(entry.n.id) !== entry) return
        await this.#save(entry, true)
        this.#entries.delete(entry.n.id)
        n++
      })
    }
    return n
  }

  /** Runs {@link expire} every `intervalMs` (default `EXPIRY_CHECK_MS`, 1 s) until {@link stopExpiry}; the timer does not keep the process alive. */
  startExpiry (intervalMs = EXPIRY_CHECK_MS): void {
    this.stopExpiry()
    let running = false
    this.#expiryTimer = setInterval(() => {
      if (running) return
      running = true
      this.expire().catch((err: Error) => { log.error('expiry failed: %e', err) }).finally(() => { running = false })
    }, intervalMs)
    this.#expiryTimer.unref?.()
  }

  /** Stops the timer of {@link startExpiry}. */
  stopExpiry (): void {
    clearInterval(this.#expiryTimer)
    this.#expiryTimer = undefined
  }

  #need (id: string): Negotiation {
    const n = this.#entries.get(id)?.n
    if (n === undefined) throw new NegotiationError(NegotiationErrorCode.WRONG_NEGOTIATION, `no negotiation ${id}`)
    return n
  }

  #record (n: Negotiation, t: Transition, by: 'local' | 'remote'): void {
    this.#host.record('negotiation.transition', { negotiation: n.id, by, state: n.state, transition: t as unknown as JsonValue })
  }

  #emit (n: Negotiation, t: Transition, by: 'local' | 'remote'): void {
    // after the response to the transition is on its way: a listener that moves next must not overtake it
    setTimeout(() => {
      this.safeDispatchEvent('transition', { detail: { negotiation: n, transition: t, by } })
      if (t.type === 'accept' && n.state === 'confirmed') this.safeDispatchEvent('confirmed', { detail: { negotiation: n, agreement: agreementOf(n) } })
    }, 0)
  }

  async #save (entry: Entry, remove = false): Promise<void> {
    const key = new Key(PREFIX + entry.n.id)
    if (remove) { await this.#host.datastore.delete(key); return }
    const s: Stored = { transitions: [...entry.n.transitions] }
    if (entry.sent !== undefined) s.sent = entry.sent
    if (entry.heldIncoming !== undefined) s.heldIncoming = entry.heldIncoming
    if (entry.heldOutgoing !== undefined) s.heldOutgoing = entry.heldOutgoing
    await this.#host.datastore.put(key, utf8(JSON.stringify(s)))
  }
}
