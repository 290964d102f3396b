/**
 * Making transitions: {@link propose}, {@link counter}, {@link accept},
 * {@link reject} and {@link cancel} build, sign and check a transition, and
 * return it signed. Each is checked as the other party will check it (with
 * the transition's own `ts` as the clock), so a move that is not allowed
 * fails here, with the code the far end would give, and not there.
 *
 * Making a transition does not apply it: send it to the other party, and
 * apply it to your own {@link Negotiation} (with `now: null`) once the other
 * party has acknowledged it (spec §6).
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { Negotiation, propose, counter } from 'parley-mesh/negotiation'
 *
 * const alice = await createIdentity({ kind: 'agent' })
 * const bob = await createIdentity({ kind: 'agent' })
 * const p = await propose(alice, { counterparty: { peer: bob.peerIdString, handle: 'bob' }, subject: 'plumbing call-out', terms: { price: 180 } })
 * const n = await Negotiation.open(p, { now: Date.now() })
 * const c = await counter(bob, n, { price: 200 })
 * ```
 */
import { toBase64url } from '../crypto/bytes.js'
import { randomBytes } from '../crypto/random.js'
import { HANDLE_PATTERN } from '../handles/record.js'
import { NEGOTIATION_ID_BYTES, NEGOTIATION_VERSION } from './constants.js'
import { Negotiation } from './machine.js'
import { NegotiationErrorCode as Code, fail } from './errors.js'
import { signTransition, termsHash } from './transition.js'
import type {
  AcceptTransition, CancelTransition, CounterTransition, NegotiationSigner, Party, ProposeTransition,
  RejectTransition, Terms
} from './transition.js'

/** A default lifetime for {@link propose}: 24 hours. Not part of the protocol. */
export const DEFAULT_NEGOTIATION_TTL_MS = 86_400_000

/** What {@link propose} needs. */
export interface ProposeOptions {
  /** The other party: a peer id, or a peer id with a handle. */
  counterparty: string | Party
  /** The proposer's own handle, if it wants it named. */
  handle?: string
  /** What the negotiation is about, in words (1-256 code points). */
  subject: string
  /** The first offer. */
  terms: Terms
  /** Expiry, ms since the Unix epoch. Default: `ts` + {@link DEFAULT_NEGOTIATION_TTL_MS}. */
  expires?: number
  /** Default `Date.now()`. */
  ts?: number
  /** The negotiation id. Default: 16 fresh random bytes, base64url. */
  negotiation?: string
}

/** Options common to the answers. */
export interface MoveOptions {
  /** Default `Date.now()`. */
  ts?: number
}

/** Options of {@link reject} and {@link cancel}. */
export interface EndOptions extends MoveOptions {
  /** Why, in a few words (1-1024 code points). */
  reason?: string
}

/** A fresh negotiation id: 16 random bytes, base64url. */
export function newNegotiationId (): string {
  return toBase64url(randomBytes(NEGOTIATION_ID_BYTES))
}

function party (p: string | Party): Party {
  return typeof p === 'string' ? { peer: p } : p.handle === undefined ? { peer: p.peer } : { peer: p.peer, handle: p.handle }
}

/**
 * Opens a negotiation: signs a propose with the first offer. Returns the
 * transition; open your own copy with `Negotiation.open(p, { now: null })`.
 *
 * @example
 * ```ts
 * import { propose } from 'parley-mesh/negotiation'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const me: Identity
 * declare const plumber: string // the counterparty's peer id, 12D3KooW…
 *
 * const p = await propose(me, { counterparty: plumber, subject: 'plumbing call-out', terms: { price: 180, currency: 'GBP' }, expires: Date.now() + 3_600_000 })
 * ```
 */
export async function propose (signer: NegotiationSigner, options: ProposeOptions): Promise<ProposeTransition> {
  const ts = options.ts ?? Date.now()
  if (options.handle !== undefined && !HANDLE_PATTERN.test(options.handle)) fail(Code.MALFORMED, 'handle is not a handle')
  const me: Party = options.handle === undefined ? { peer: signer.peerIdString } : { peer: signer.peerIdString, handle: options.handle }
  const t = await signTransition(signer, {
    v: NEGOTIATION_VERSION,
    negotiation: options.negotiation ?? newNegotiationId(),
    seq: 0,
    type: 'propose',
    by: signer.peerIdString,
    ts,
    parties: [me, party(options.counterparty)],
    subject: options.subject,
    expires: options.expires ?? ts + DEFAULT_NEGOTIATION_TTL_MS,
    terms: options.terms,
    termsHash: termsHash(options.terms)
  })
  await Negotiation.open(t, { now: ts })
  return t
}

function next (signer: NegotiationSigner, n: Negotiation, ts: number | undefined): { v: typeof NEGOTIATION_VERSION, negotiation: string, seq: number, prev: string, by: string, ts: number } {
  return { v: NEGOTIATION_VERSION, negotiation: n.id, seq: n.seq + 1, prev: n.lastHash, by: signer.peerIdString, ts: ts ?? Date.now() }
}

/**
 * Answers the latest offer with new terms.
 *
 * @example
 * ```ts
 * import { counter } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const bob: Identity
 * declare const n: Negotiation // bob's copy, on bob's turn
 *
 * const c = await counter(bob, n, { price: 200, currency: 'GBP' })
 * ```
 */
export async function counter (signer: NegotiationSigner, n: Negotiation, terms: Terms, options: MoveOptions = {}): Promise<CounterTransition> {
  const t = await signTransition(signer, { ...next(signer, n, options.ts), type: 'counter' as const, terms, termsHash: termsHash(terms) })
  await n.check(t, { now: t.ts })
  return t
}

/**
 * Accepts the latest offer: confirms the negotiation once applied.
 *
 * @example
 * ```ts
 * import { accept } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const alice: Identity
 * declare const n: Negotiation // alice's copy, on alice's turn
 *
 * const a = await accept(alice, n)
 * ```
 */
export async function accept (signer: NegotiationSigner, n: Negotiation, options: MoveOptions = {}): Promise<AcceptTransition> {
  const t = await signTransition(signer, { ...next(signer, n, options.ts), type: 'accept' as const, termsHash: n.offer.termsHash })
  await n.check(t, { now: t.ts })
  return t
}

/**
 * Refuses the latest offer and ends the negotiation.
 *
 * @example
 * ```ts
 * import { reject } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const bob: Identity
 * declare const n: Negotiation // bob's copy, on bob's turn
 *
 * const r = await reject(bob, n, { reason: 'too far' })
 * ```
 */
export async function reject (signer: NegotiationSigner, n: Negotiation, options: EndOptions = {}): Promise<RejectTransition> {
  const t = await signTransition(signer, { ...next(signer, n, options.ts), type: 'reject' as const, ...(options.reason === undefined ? {} : { reason: options.reason }) })
  await n.check(t, { now: t.ts })
  return t
}

/**
 * Ends the negotiation, by either party, while it is not over.
 *
 * @example
 * ```ts
 * import { cancel } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const alice: Identity
 * declare const n: Negotiation // alice's copy, not yet over
 *
 * const c = await cancel(alice, n, { reason: 'found someone else' })
 * ```
 */
export async function cancel (signer: NegotiationSigner, n: Negotiation, options: EndOptions = {}): Promise<CancelTransition> {
  const t = await signTransition(signer, { ...next(signer, n, options.ts), type: 'cancel' as const, ...(options.reason === undefined ? {} : { reason: options.reason }) })
  await n.check(t, { now: t.ts })
  return t
}
