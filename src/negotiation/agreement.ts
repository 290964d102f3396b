/**
 * Agreements (`protocols/negotiation` §8): the proof, verifiable offline by
 * anyone, that two parties agreed on the same terms. It carries the accepted
 * offer signed by one party and the accept signed by the other, both naming
 * the same terms hash, and the chain of transitions that binds them to the
 * propose (required when the accepted offer is a counter).
 *
 * @example
 * ```ts
 * import { agreementOf, verifyAgreement } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * declare const n: Negotiation // n.state === 'confirmed'
 *
 * const agreement = agreementOf(n)
 * const text = JSON.stringify(agreement)      // store it, mail it, print it
 * const { parties, terms } = await verifyAgreement(JSON.parse(text))
 * ```
 */
import { isJsonObject } from '../crypto/shape.js'
import { canonicalize } from '../crypto/canonical-json.js'
import { fromBase64url } from '../crypto/bytes.js'
import { AGREEMENT_TYPE, MAX_SUBJECT_LENGTH, NEGOTIATION_VERSION } from './constants.js'
import { NegotiationErrorCode as Code, fail } from './errors.js'
import { Negotiation } from './machine.js'
import { checkOwnTermsHash, checkParties, checkSignature, checkText, parseTransition, termsHash, transitionHash } from './transition.js'
import type { AcceptTransition, OfferTransition, Party, Terms, Transition } from './transition.js'

/** A confirmed negotiation's proof. */
export interface Agreement {
  /** The format version, {@link NEGOTIATION_VERSION}. */
  readonly v: typeof NEGOTIATION_VERSION
  /** Always {@link AGREEMENT_TYPE}. */
  readonly type: typeof AGREEMENT_TYPE
  /** The negotiation id. */
  readonly negotiation: string
  /** What was negotiated, from the propose. */
  readonly subject: string
  /** `[proposer, counterparty]`. */
  readonly parties: readonly [Party, Party]
  /** The terms agreed: the accepted offer's. */
  readonly terms: Terms
  /** {@link termsHash} of `terms`, named by both the offer and the accept. */
  readonly termsHash: string
  /** The accepted offer (propose or counter), as signed by its author. */
  readonly offer: OfferTransition
  /** The accept, as signed by the other party. */
  readonly accept: AcceptTransition
  /** Every transition, propose to accept. Required when `offer` is a counter. */
  readonly chain?: readonly Transition[]
}

/** Options of {@link agreementOf}. */
export interface AgreementOptions {
  /**
   * Include the whole chain (default `true`). `false` leaves it out only
   * where the format allows it, when the accepted offer is the propose; a
   * counter cannot be tied to its propose without the chain, so there it is
   * always included.
   */
  chain?: boolean
}

/** What {@link verifyAgreement} proves. */
export interface VerifiedAgreement {
  /** The negotiation id. */
  readonly negotiation: string
  /** What was negotiated. */
  readonly subject: string
  /** `[proposer, counterparty]`. */
  readonly parties: readonly [Party, Party]
  /** The terms agreed. */
  readonly terms: Terms
  /** {@link termsHash} of `terms`. */
  readonly termsHash: string
  /** The peer who made the accepted offer. */
  readonly offeredBy: string
  /** The peer who accepted it. */
  readonly acceptedBy: string
  /** The accept's `ts`: when the acceptor signed it. */
  readonly confirmedAt: number
}

const MEMBERS = new Set(['v', 'type', 'negotiation', 'subject', 'parties', 'terms', 'termsHash', 'offer', 'accept', 'chain'])

/**
 * The agreement of a confirmed negotiation. Throws `ERR_AGREEMENT_INVALID`
 * when `n` is not confirmed.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises'
 * import { agreementOf } from 'parley-mesh/negotiation'
 * import type { Negotiation } from 'parley-mesh/negotiation'
 * declare const n: Negotiation
 *
 * if (n.state === 'confirmed') await writeFile('agreement.json', JSON.stringify(agreementOf(n, { chain: false })))
 * ```
 */
export function agreementOf (n: Negotiation, options: AgreementOptions = {}): Agreement {
  if (n.state !== 'confirmed') fail(Code.AGREEMENT_INVALID, `the negotiation is ${n.state}, not confirmed`)
  const chain = n.transitions
  const accept = chain[chain.length - 1] as AcceptTransition
  const offer = chain[chain.length - 2] as OfferTransition
  const agreement: Agreement = {
    v: NEGOTIATION_VERSION,
    type: AGREEMENT_TYPE,
    negotiation: n.id,
    subject: n.subject,
    parties: n.parties,
    terms: offer.terms,
    termsHash: offer.termsHash,
    offer,
    accept
  }
  return options.chain === false && offer.seq === 0 ? agreement : { ...agreement, chain }
}


/** Check 1 of §8.2: the members and their structure. */
function parseAgreement (value: unknown): Agreement {
  if (!isJsonObject(value)) fail(Code.MALFORMED, 'an agreement must be a JSON object')
  if (typeof value.v !== 'number') fail(Code.MALFORMED, '"v" must be a number')
  if (value.v !== NEGOTIATION_VERSION) fail(Code.UNSUPPORTED_VERSION, `unsupported version ${value.v}`)
  for (const k in value) if (value[k] !== undefined && !MEMBERS.has(k)) fail(Code.MALFORMED, `unexpected member "${k}" in an agreement`)
  if (value.type !== AGREEMENT_TYPE) fail(Code.MALFORMED, `"type" must be "${AGREEMENT_TYPE}"`)
  if (typeof value.negotiation !== 'string' || fromBase64url(value.negotiation)?.byteLength !== 16) fail(Code.MALFORMED, '"negotiation" must be canonical base64url of 16 bytes')
  checkText(value.subject, 'subject', MAX_SUBJECT_LENGTH)
  checkParties(value.parties)
  if (!isJsonObject(value.terms)) fail(Code.MALFORMED, '"terms" must be a JSON object')
  if (typeof value.termsHash !== 'string' || fromBase64url(value.termsHash)?.byteLength !== 32) fail(Code.MALFORMED, '"termsHash" must be canonical base64url of 32 bytes')
  const offer = parseTransition(value.offer)
  if (offer.type !== 'propose' && offer.type !== 'counter') fail(Code.MALFORMED, `"offer" is a ${offer.type}, not a propose or counter`)
  const accept = parseTransition(value.accept)
  if (accept.type !== 'accept') fail(Code.MALFORMED, `"accept" is a ${accept.type}`)
  let chain: Transition[] | undefined
  if (value.chain !== undefined) {
    if (!Array.isArray(value.chain) || value.chain.length < 2) fail(Code.MALFORMED, '"chain" must be an array of at least two transitions')
    chain = value.chain.map(parseTransition)
  }
  try {
    canonicalize(value.terms)
  } catch {
    fail(Code.MALFORMED, 'an agreement must be I-JSON')
  }
  return { ...(value as unknown as Agreement), offer, accept, ...(chain === undefined ? {} : { chain }) }
}

/**
 * Verifies an agreement offline, by the checks of spec §8.2 in their order,
 * and returns what it proves. Any change to any member makes it fail:
 * `ERR_MALFORMED` / `ERR_UNSUPPORTED_VERSION` (structure),
 * `ERR_TERMS_MISMATCH` (terms and hashes), `ERR_BAD_SIGNATURE`,
 * `ERR_AGREEMENT_INVALID` (parts that do not fit together), or the code
 * of the chain check that fails.
 *
 * @example
 * ```ts
 * import { verifyAgreement } from 'parley-mesh/negotiation'
 * declare const text: string // an agreement's JSON, from anywhere
 *
 * const v = await verifyAgreement(JSON.parse(text))
 * console.log(v.parties[0].peer, 'and', v.parties[1].peer, 'agreed on', v.terms)
 * ```
 */
export async function verifyAgreement (value: unknown): Promise<VerifiedAgreement> {
  const a = parseAgreement(value)
  const { offer, accept } = a
  checkOwnTermsHash(offer)
  await checkSignature(offer)
  await checkSignature(accept)
  if (offer.negotiation !== a.negotiation || accept.negotiation !== a.negotiation) fail(Code.AGREEMENT_INVALID, 'the offer and the accept must belong to the agreement\'s negotiation')
  if (accept.prev !== transitionHash(offer)) fail(Code.AGREEMENT_INVALID, 'the accept does not follow the offer')
  if (a.termsHash !== termsHash(a.terms)) fail(Code.TERMS_MISMATCH, 'termsHash is not the hash of terms')
  if (offer.termsHash !== a.termsHash || accept.termsHash !== a.termsHash) fail(Code.TERMS_MISMATCH, 'the offer and the accept must name the agreement\'s termsHash')
  if (a.chain === undefined && offer.seq !== 0) fail(Code.AGREEMENT_INVALID, 'an agreement on a counter must carry its chain')
  const n = await Negotiation.fromTransitions(a.chain ?? [offer, accept])
  // a valid chain is hash-linked, so ending with the accept (whose prev is the offer's hash, above) ends with the offer too
  if (n.state !== 'confirmed' || n.lastHash !== transitionHash(accept)) {
    fail(Code.AGREEMENT_INVALID, 'the chain must end with the offer and the accept')
  }
  if (a.subject !== n.subject || canonicalize(a.parties) !== canonicalize(n.parties)) fail(Code.AGREEMENT_INVALID, 'subject and parties must be the propose\'s')
  return {
    negotiation: n.id,
    subject: n.subject,
    parties: n.parties,
    terms: offer.terms,
    termsHash: offer.termsHash,
    offeredBy: offer.by,
    acceptedBy: accept.by,
    confirmedAt: accept.ts
  }
}
