/**
 * Negotiation: two parties reach signed agreement on terms through a
 * hash-linked chain of signed transitions (propose, counter, accept, reject,
 * cancel), and the result is an agreement anyone can verify offline. Pure
 * library: no networking. The normative spec is
 * `protocols/negotiation/README.md`.
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { Negotiation, propose, counter, accept, agreementOf, verifyAgreement } from 'parley-mesh/negotiation'
 *
 * const alice = await createIdentity({ kind: 'agent' })
 * const bob = await createIdentity({ kind: 'agent' })
 * const p = await propose(alice, { counterparty: bob.peerIdString, subject: 'plumbing call-out', terms: { price: 180 } })
 * const atBob = await Negotiation.open(p, { now: Date.now() })
 * const atAlice = await Negotiation.open(p, { now: null })
 *
 * const c = await counter(bob, atBob, { price: 200 })   // bob sends it…
 * await atAlice.apply(c, { now: Date.now() })            // …alice receives it…
 * await atBob.apply(c, { now: null })                    // …bob applies his own once she acknowledged
 *
 * const a = await accept(alice, atAlice)
 * await atBob.apply(a, { now: Date.now() })
 * await atAlice.apply(a, { now: null })
 *
 * const { terms } = await verifyAgreement(agreementOf(atAlice)) // { price: 200 }
 * ```
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export {
  NEGOTIATION_VERSION, NEGOTIATION_SIGNING_CONTEXT, NEGOTIATION_MAX_SKEW_MS, MAX_TRANSITION_BYTES,
  MAX_SUBJECT_LENGTH, MAX_REASON_LENGTH, NEGOTIATION_ID_BYTES, TRANSITION_METHOD, TRANSITION_REFUSED,
  AGREEMENT_TYPE, TRANSITION_TYPES, NEGOTIATION_STATES, TERMINAL_STATES, isTerminalState
} from './constants.js'
export type { TransitionType, NegotiationState } from './constants.js'
export { NegotiationError, NegotiationErrorCode } from './errors.js'
export {
  parseTransition, verifyTransition, transitionHash, termsHash, transitionSigningInput, signTransition
} from './transition.js'
export type {
  Party, Terms, TransitionBase, ProposeTransition, CounterTransition, AcceptTransition, RejectTransition,
  CancelTransition, Transition, OfferTransition, UnsignedTransition, NegotiationSigner, WithoutSig
} from './transition.js'
export { Negotiation } from './machine.js'
export type { ClockOptions, ApplyOptions, TransitionResult, Offer, NegotiationJson, RebuildOptions } from './machine.js'
export { propose, counter, accept, reject, cancel, newNegotiationId, DEFAULT_NEGOTIATION_TTL_MS } from './actions.js'
export type { ProposeOptions, MoveOptions, EndOptions } from './actions.js'
export { agreementOf, verifyAgreement } from './agreement.js'
export type { Agreement, AgreementOptions, VerifiedAgreement } from './agreement.js'
