/**
 * The negotiation state machine (`protocols/negotiation` §5-§7).
 *
 * A {@link Negotiation} is opened from a verified propose and advanced by
 * {@link Negotiation.apply}, which runs every check of the spec in the spec's
 * order and either appends the transition or throws a
 * {@link NegotiationError} and leaves the negotiation exactly as it was. Two
 * parties that apply the same transitions in the same order hold equal
 * negotiations (`toJSON()` deep-equal).
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { Negotiation, propose, accept } from 'parley-mesh/negotiation'
 *
 * const alice = await createIdentity({ kind: 'agent' })
 * const bob = await createIdentity({ kind: 'agent' })
 * const offer = await propose(alice, { counterparty: bob.peerIdString, subject: 'plumbing call-out', terms: { price: 180 } })
 * const atBob = await Negotiation.open(offer, { now: Date.now() })      // bob receives it
 * const yes = await accept(bob, atBob)                                 // bob's answer, checked
 * const atAlice = await Negotiation.open(offer, { now: null })         // alice's own copy
 * await atAlice.apply(yes, { now: Date.now() })                        // alice receives it
 * atAlice.state // 'confirmed'
 * ```
 */
import { NEGOTIATION_MAX_SKEW_MS, isTerminalState } from './constants.js'
import type { NegotiationState } from './constants.js'
import { NegotiationError, NegotiationErrorCode as Code, fail } from './errors.js'
import { checkOwnTermsHash, checkSignature, parseTransition, transitionHash } from './transition.js'
import type { OfferTransition, Party, ProposeTransition, Terms, Transition } from './transition.js'

/** The applier's clock. */
export interface ClockOptions {
  /**
   * The applier's clock in ms, or `null` for no clock. A party receiving a
   * transition from the other MUST pass its clock: late transitions
   * (`now ≥ expires`) and transitions dated more than the skew ahead of it
   * are refused. `null` is for a party's own transition once the other party
   * has acknowledged it, and for chains read back from storage (§6).
   */
  now: number | null
}

/** Options of {@link Negotiation.apply} and {@link Negotiation.check}. */
export interface ApplyOptions extends ClockOptions {
  /**
   * The applier's own transition that it has sent and not yet seen
   * acknowledged, if any. When the incoming transition competes with it for
   * the same `seq`, the move of the party whose turn it is wins (§6.3):
   * if that is `pending`, the incoming transition is refused with
   * `ERR_CONFLICT`; otherwise the incoming one applies and `pending` is void.
   */
  pending?: Transition
}

/** What applying (or checking) a transition gives. */
export interface TransitionResult {
  /** The state after the transition. */
  readonly state: NegotiationState
  /** The transition's `seq`, now the last. */
  readonly seq: number
  /** The transition as applied (normalised, frozen). */
  readonly transition: Transition
  /** Its {@link transitionHash}. */
  readonly hash: string
}

/** The latest offer on the table. */
export interface Offer {
  /** The `seq` of the propose or counter that made it. */
  readonly seq: number
  /** The peer id of the party who made it. */
  readonly by: string
  /** The terms offered. */
  readonly terms: Terms
  /** {@link termsHash} of `terms`. */
  readonly termsHash: string
}

/** {@link Negotiation.toJSON}: the whole state as JSON. */
export interface NegotiationJson {
  /** The negotiation id. */
  id: string
  /** What it is about. */
  subject: string
  /** `[proposer, counterparty]`. */
  parties: readonly [Party, Party]
  /** When it expires unless confirmed, in ms since the Unix epoch. */
  expires: number
  /** The current state. */
  state: NegotiationState
  /** The `seq` of the last transition. */
  seq: number
  /** The party who may counter, accept or reject; `null` once terminal. */
  turn: string | null
  /** The latest offer. */
  offer: Offer
  /** Every transition applied, propose first. */
  transitions: readonly Transition[]
}

/** Options of {@link Negotiation.fromTransitions}. */
export interface RebuildOptions {
  /** When given, the rebuilt negotiation is expired if `now ≥ expires` and it is not over. */
  now?: number
}

let construct: (propose: ProposeTransition, hash: string) => Negotiation

/**
 * One negotiation, as one party holds it. Obtain one with
 * {@link Negotiation.open} or {@link Negotiation.fromTransitions}.
 */
export class Negotiation {
  static {
    construct = (propose, hash) => new Negotiation(propose, hash)
  }

  /** The negotiation id (the propose's `negotiation`). */
  readonly id: string
  /** `[proposer, counterparty]`, from the propose. */
  readonly parties: readonly [Party, Party]
  /** What it is about, from the propose. */
  readonly subject: string
  /** When it expires unless confirmed (ms since the Unix epoch). */
  readonly expires: number

  #state: NegotiationState = 'proposed'
  readonly #transitions: Transition[]
  readonly #hashes: string[]
  #offer: OfferTransition

  private constructor (propose: ProposeTransition, hash: string) {
    this.id = propose.negotiation
    this.parties = propose.parties
    this.subject = propose.subject
    this.expires = propose.expires
    this.#transitions = [propose]
    this.#hashes = [hash]
    this.#offer = propose
  }

  /**
   * Verifies a propose and opens the negotiation it starts. Checks, in order
   * (spec §7.1): structure, terms hash, signature, a propose at seq 0
   * (`ERR_ILLEGAL_TRANSITION`), signed by `parties[0]` (`ERR_NOT_PARTY`),
   * `ts < expires` and, with a clock, `now < expires` (`ERR_EXPIRED`), and
   * `ts ≤ now + skew` (`ERR_BAD_TIMESTAMP`).
   */
  static async open (value: unknown, options: ClockOptions): Promise<Negotiation> {
    const t = parseTransition(value)
    checkOwnTermsHash(t)
    await checkSignature(t)
    if (t.type !== 'propose' || t.seq !== 0) fail(Code.ILLEGAL_TRANSITION, `a negotiation opens with a propose at seq 0, not a ${t.type} at seq ${t.seq}`)
    if (t.by !== t.parties[0].peer) fail(Code.NOT_PARTY, 'a propose must be signed by the proposer, parties[0]')
    checkExpiry(t, t.expires, options.now)
    checkFuture(t, options.now)
    return construct(t, transitionHash(t))
  }

  /**
   * Rebuilds and verifies a whole chain, without a clock (the transitions are
   * history): opens with the first, applies the rest. Throws the first
   * failure's error, its message prefixed with the index.
   */
  static async fromTransitions (list: readonly unknown[], options: RebuildOptions = {}): Promise<Negotiation> {
    if (!Array.isArray(list) || list.length === 0) fail(Code.MALFORMED, 'a chain is a non-empty array of transitions')
    let n: Negotiation
    try {
      n = await Negotiation.open(list[0], { now: null })
    } catch (err) {
      throw at(err, 0)
    }
    for (let i = 1; i < list.length; i++) {
      try {
        await n.apply(list[i], { now: null })
      } catch (err) {
        throw at(err, i)
      }
    }
    if (options.now !== undefined) n.expire(options.now)
    return n
  }

  /** The current state. */
  get state (): NegotiationState { return this.#state }

  /** True once confirmed, rejected, cancelled or expired. */
  get terminal (): boolean { return isTerminalState(this.#state) }

  /** The `seq` of the last transition. */
  get seq (): number { return this.#transitions.length - 1 }

  /** The last transition. */
  get last (): Transition { return this.#transitions[this.#transitions.length - 1] as Transition }

  /** {@link transitionHash} of the last transition: the next one's `prev`. */
  get lastHash (): string { return this.#hashes[this.#hashes.length - 1] as string }

  /** Every transition so far, propose first (a frozen copy). */
  get transitions (): readonly Transition[] { return Object.freeze([...this.#transitions]) }

  /** The latest offer (propose or counter). */
  get offer (): Offer {
    const o = this.#offer
    return { seq: o.seq, by: o.by, terms: o.terms, termsHash: o.termsHash }
  }

  /** The latest offer as signed. */
  get offerTransition (): OfferTransition { return this.#offer }

  /** The party who may counter, accept or reject: the one whose offer is not on the table. `undefined` once terminal. */
  get turn (): string | undefined {
    if (this.terminal) return undefined
    return this.#other(this.#offer.by)
  }

  /** The party with peer id `peer`, if it is one. */
  partyOf (peer: string): Party | undefined {
    return this.parties.find(p => p.peer === peer)
  }

  /** The other party's peer id (`peer` must be a party). */
  #other (peer: string): string {
    return this.parties[0].peer === peer ? this.parties[1].peer : this.parties[0].peer
  }

  /**
   * Runs every check {@link apply} runs, without applying: the result is
   * what applying would give. Throws the same {@link NegotiationError}.
   */
  async check (value: unknown, options: ApplyOptions): Promise<TransitionResult> {
    const t = parseTransition(value)
    checkOwnTermsHash(t)
    await checkSignature(t)
    return this.#rules(t, options)
  }

  /**
   * Verifies `value` against this negotiation and appends it, or throws a
   * {@link NegotiationError} and changes nothing. Checks run in the order of
   * spec §7.2; the rules are evaluated after the signature, against the
   * state at that moment, and the append follows synchronously, so
   * concurrent calls cannot interleave.
   */
  async apply (value: unknown, options: ApplyOptions): Promise<TransitionResult> {
    const t = parseTransition(value)
    checkOwnTermsHash(t)
    await checkSignature(t)
    const result = this.#rules(t, options)
    this.#transitions.push(result.transition)
    this.#hashes.push(result.hash)
    if (t.type === 'counter') this.#offer = t
    this.#state = result.state
    return result
  }

  /** Checks 4-14 of §7.2 (everything after the signature). */
  #rules (t: Transition, options: ApplyOptions): TransitionResult {
    if (t.negotiation !== this.id) fail(Code.WRONG_NEGOTIATION, `transition of negotiation ${t.negotiation}, not ${this.id}`)
    if (this.partyOf(t.by) === undefined) fail(Code.NOT_PARTY, `${t.by} is not a party`)
    const hash = transitionHash(t)
    if (t.seq < this.#hashes.length && this.#hashes[t.seq] === hash) fail(Code.DUPLICATE, `the ${t.type} at seq ${t.seq} is already applied`)
    if (this.terminal) fail(Code.TERMINAL, `the negotiation is ${this.#state}`)
    if (t.type === 'propose') fail(Code.ILLEGAL_TRANSITION, 'a propose cannot continue a negotiation')
    if (t.seq !== this.seq + 1) fail(Code.OUT_OF_ORDER, `seq ${t.seq}, expected ${this.seq + 1}`)
    if (t.prev !== this.lastHash) fail(Code.OUT_OF_ORDER, 'prev is not the hash of the last transition')
    checkExpiry(t, this.expires, options.now)
    if (t.ts < this.last.ts - NEGOTIATION_MAX_SKEW_MS) fail(Code.BAD_TIMESTAMP, 'ts precedes the previous transition\'s by more than the skew')
    checkFuture(t, options.now)
    if (t.type !== 'cancel' && t.by === this.#offer.by) fail(Code.NOT_YOUR_TURN, `a ${t.type} must come from the party whose offer is not on the table`)
    if (t.type === 'accept' && t.termsHash !== this.#offer.termsHash) fail(Code.TERMS_MISMATCH, 'the accept names other terms than the latest offer\'s')
    const pending = options.pending
    if (pending !== undefined && pending.seq === t.seq && pending.negotiation === this.id &&
        pending.by !== t.by && pending.by !== this.#offer.by) {
      fail(Code.CONFLICT, `both parties moved at seq ${t.seq}; the move of the party whose turn it is (${pending.by}) stands`)
    }
    return { state: nextState(t), seq: t.seq, transition: t, hash }
  }

  /**
   * Moves the negotiation to `expired` if it is not over and `now ≥ expires`.
   * Returns true when it did.
   */
  expire (now: number): boolean {
    // written so that a clock that is not a number never expires anything
    if (this.terminal || !(now >= this.expires)) return false
    this.#state = 'expired'
    return true
  }

  /** The whole state as plain JSON; equal for two parties that applied the same chain. */
  toJSON (): NegotiationJson {
    return {
      id: this.id,
      subject: this.subject,
      parties: this.parties,
      expires: this.expires,
      state: this.#state,
      seq: this.seq,
      turn: this.turn ?? null,
      offer: this.offer,
      transitions: this.transitions
    }
  }
}

function nextState (t: Transition): NegotiationState {
  switch (t.type) {
    case 'counter': return 'negotiating'
    case 'accept': return 'confirmed'
    case 'reject': return 'rejected'
    case 'cancel': return 'cancelled'
    default: return 'proposed'
  }
}

function checkExpiry (t: Transition, expires: number, now: number | null): void {
  if (t.ts >= expires) fail(Code.EXPIRED, 'ts is at or after the negotiation\'s expiry')
  // !(now < expires): a clock that is not a number refuses rather than accepts
  if (now !== null && !(now < expires)) fail(Code.EXPIRED, 'the negotiation has expired')
}

function checkFuture (t: Transition, now: number | null): void {
  if (now !== null && !(t.ts <= now + NEGOTIATION_MAX_SKEW_MS)) fail(Code.BAD_TIMESTAMP, 'ts is ahead of the receiver\'s clock')
}

function at (err: unknown, index: number): unknown {
  if (!(err instanceof NegotiationError)) return err
  return new NegotiationError(err.code, `transition ${index}: ${err.message}`, { cause: err })
}

