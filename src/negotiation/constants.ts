/**
 * Constants of the negotiation protocol (`protocols/negotiation`). Every
 * value here is part of the protocol: two implementations that disagree on
 * one of them disagree on which transitions are valid.
 *
 * @example
 * ```ts
 * import { TRANSITION_METHOD, isTerminalState } from 'parley-mesh/negotiation'
 *
 * console.log(TRANSITION_METHOD)                    // 'negotiation/transition'
 * isTerminalState('confirmed')                      // true
 * ```
 */
import { METHODS } from '../methods/names.js'

/** The transition and agreement format version this implementation speaks (`v`). */
export const NEGOTIATION_VERSION = 1

/** Domain separation for transition signatures: prefixed to the canonical JSON before signing. */
export const NEGOTIATION_SIGNING_CONTEXT = 'parley/negotiation/v1\n'

/**
 * How far a transition's `ts` may precede the previous transition's `ts`, and
 * how far ahead of a receiver's clock it may be, in ms. A protocol constant,
 * not an option, so that every replica judges a chain alike.
 */
export const NEGOTIATION_MAX_SKEW_MS = 60_000

/** Largest canonical encoding of one transition, in UTF-8 bytes (64 KiB). */
export const MAX_TRANSITION_BYTES = 65_536

/** Longest `subject`, in Unicode code points. */
export const MAX_SUBJECT_LENGTH = 256

/** Longest `reason`, in Unicode code points. */
export const MAX_REASON_LENGTH = 1024

/** Bytes of a negotiation id (`negotiation`), before base64url. */
export const NEGOTIATION_ID_BYTES = 16

/** The JSON-RPC method that carries a transition between the two parties (named with the others in src/methods). */
export const TRANSITION_METHOD = METHODS.transition

/** The JSON-RPC error code of a refused transition (`error.data.code` holds the reason). */
export const TRANSITION_REFUSED = -32002

/** The `type` of an agreement object. */
export const AGREEMENT_TYPE = 'parley/agreement'

/** Every transition type, in protocol order. */
export const TRANSITION_TYPES = Object.freeze(['propose', 'counter', 'accept', 'reject', 'cancel'] as const)

/** A transition type. */
export type TransitionType = typeof TRANSITION_TYPES[number]

/** Every state of a negotiation. */
export const NEGOTIATION_STATES = Object.freeze(['proposed', 'negotiating', 'confirmed', 'rejected', 'cancelled', 'expired'] as const)

/** A negotiation state. */
export type NegotiationState = typeof NEGOTIATION_STATES[number]

/** The states after which nothing applies. */
export const TERMINAL_STATES: readonly NegotiationState[] = Object.freeze(['confirmed', 'rejected', 'cancelled', 'expired'] as const)

/** True when nothing can follow `state`. */
export function isTerminalState (state: NegotiationState): boolean {
  return TERMINAL_STATES.includes(state)
}
