/**
 * Why a transition, a chain or an agreement is refused. The codes are part of
 * the wire contract: the spec (`protocols/negotiation/README.md` §7) lists
 * them with the order in which checks run, and the vectors pin them.
 *
 * @example
 * ```ts
 * import { NegotiationError, NegotiationErrorCode } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * declare const negotiation: Negotiation
 * declare const transition: unknown // as received
 *
 * try {
 *   await negotiation.apply(transition, { now: Date.now() })
 * } catch (err) {
 *   if (err instanceof NegotiationError && err.code === NegotiationErrorCode.NOT_YOUR_TURN) {
 *     // answer the JSON-RPC request with { code: -32002, data: { code: err.code } }
 *   }
 * }
 * ```
 */
import { ParleyError } from '../errors.js'

/** Every reason a negotiation refuses a transition or an agreement. */
export const NegotiationErrorCode = {
  /** Not a transition (or agreement): a missing or unknown member, a wrong type or range, too large, not I-JSON. */
  MALFORMED: 'ERR_MALFORMED',
  /** `v` is a number other than 1. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** A `termsHash` is not the hash of the terms it names: its own (propose, counter) or the latest offer's (accept). */
  TERMS_MISMATCH: 'ERR_TERMS_MISMATCH',
  /** `sig` does not verify under the key of `by`. */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** The transition belongs to another negotiation (or to none the receiver holds). */
  WRONG_NEGOTIATION: 'ERR_WRONG_NEGOTIATION',
  /** `by` is not a party (or a propose is not signed by the proposer it names). */
  NOT_PARTY: 'ERR_NOT_PARTY',
  /** This exact transition was already applied (on the wire a receiver answers it as a success: spec §6.2). */
  DUPLICATE: 'ERR_DUPLICATE',
  /** The negotiation is confirmed, rejected, cancelled or expired. */
  TERMINAL: 'ERR_TERMINAL',
  /** A propose inside a chain, or a chain that does not start with a propose at seq 0. */
  ILLEGAL_TRANSITION: 'ERR_ILLEGAL_TRANSITION',
  /** `seq` is not the next one, or `prev` is not the hash of the last transition. */
  OUT_OF_ORDER: 'ERR_OUT_OF_ORDER',
  /** `ts` is at or after `expires`, or the receiver's clock is. */
  EXPIRED: 'ERR_EXPIRED',
  /** `ts` precedes the previous transition's by more than the skew, or is ahead of the receiver's clock by more. */
  BAD_TIMESTAMP: 'ERR_BAD_TIMESTAMP',
  /** counter, accept or reject by the party whose offer is on the table. */
  NOT_YOUR_TURN: 'ERR_NOT_YOUR_TURN',
  /** Both parties moved at once and the receiver's own move wins (§6.3). */
  CONFLICT: 'ERR_CONFLICT',
  /** An agreement whose parts do not fit together. */
  AGREEMENT_INVALID: 'ERR_AGREEMENT_INVALID'
} as const
export type NegotiationErrorCode = typeof NegotiationErrorCode[keyof typeof NegotiationErrorCode]

/** A transition, chain or agreement was refused; `code` says why. */
export class NegotiationError extends ParleyError<NegotiationErrorCode> {
  static override readonly name = 'NegotiationError'
}

/** Throws a {@link NegotiationError}. */
export function fail (code: NegotiationErrorCode, message: string): never {
  throw new NegotiationError(code, message)
}
