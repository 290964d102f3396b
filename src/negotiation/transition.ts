/**
 * Transitions: the signed, self-standing steps of a negotiation
 * (`protocols/negotiation` §2-§4).
 *
 * A transition is a JSON object, hashed and signed in its RFC 8785 canonical
 * form. This module holds its types, its structural check
 * ({@link parseTransition}), the two hashes ({@link transitionHash},
 * {@link termsHash}), the signing input, and the check that needs nothing but
 * the transition itself ({@link verifyTransition}). The rules that need the
 * rest of the chain live in `machine.ts`.
 *
 * @example
 * ```ts
 * import { verifyTransition, transitionHash } from 'parley-mesh/negotiation'
 * declare const text: string // a transition as received
 *
 * const t = await verifyTransition(JSON.parse(text)) // structure, terms hash, signature
 * console.log(t.type, t.by, transitionHash(t))
 * ```
 */
import { isBase64urlOf, isPeerId, isPlainObject } from '../crypto/shape.js'
import { sha256Base64url } from '../crypto/hash.js'
import { canonicalize, CanonicalJsonError } from '../crypto/canonical-json.js'
import type { JsonObject } from '../crypto/canonical-json.js'
import { fromBase64url, toBase64url, utf8 } from '../crypto/bytes.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
import { signingInput, verifySignature } from '../crypto/signature.js'
import { HANDLE_PATTERN } from '../handles/record.js'
import { BoundedCache } from '../util/bounded-cache.js'
import {
  MAX_REASON_LENGTH, MAX_SUBJECT_LENGTH, MAX_TRANSITION_BYTES, NEGOTIATION_ID_BYTES,
  NEGOTIATION_SIGNING_CONTEXT, NEGOTIATION_VERSION, TRANSITION_TYPES
} from './constants.js'
import type { TransitionType } from './constants.js'
import { NegotiationErrorCode as Code, fail } from './errors.js'

/** A party of a negotiation: its peer id (which names its key) and, optionally, its handle. */
export interface Party {
  /** The party's peer id. */
  readonly peer: string
  /** The party's handle, without `@`. */
  readonly handle?: string
}

/** Terms: any JSON object. Its meaning is between the parties. */
export type Terms = JsonObject

/** What every transition carries. */
export interface TransitionBase {
  /** The format version, {@link NEGOTIATION_VERSION}. */
  readonly v: typeof NEGOTIATION_VERSION
  /** The negotiation id: 16 bytes, canonical base64url, chosen by the proposer. */
  readonly negotiation: string
  /** 0 for the propose, then one more for each transition. */
  readonly seq: number
  /** Which move this is. */
  readonly type: TransitionType
  /** {@link transitionHash} of the previous transition; absent exactly when `seq` is 0. */
  readonly prev?: string
  /** The signer's peer id. */
  readonly by: string
  /** The signer's clock, ms since the Unix epoch. */
  readonly ts: number
  /** Ed25519 signature by `by`, canonical base64url. */
  readonly sig: string
}

/** Opens a negotiation: who, about what, until when, and the first offer. */
export interface ProposeTransition extends TransitionBase {
  /** Always `'propose'`. */
  readonly type: 'propose'
  /** `[proposer, counterparty]`. */
  readonly parties: readonly [Party, Party]
  /** What the negotiation is about, in words (1-256 code points). */
  readonly subject: string
  /** The negotiation expires at this time (ms) unless confirmed before. */
  readonly expires: number
  /** The first offer. */
  readonly terms: Terms
  /** {@link termsHash} of `terms`. */
  readonly termsHash: string
}

/** A new offer from the party whose turn it is. */
export interface CounterTransition extends TransitionBase {
  /** Always `'counter'`. */
  readonly type: 'counter'
  /** The new offer. */
  readonly terms: Terms
  /** {@link termsHash} of `terms`. */
  readonly termsHash: string
}

/** Accepts the latest offer, named by its terms hash. */
export interface AcceptTransition extends TransitionBase {
  /** Always `'accept'`. */
  readonly type: 'accept'
  /** The `termsHash` of the offer accepted. */
  readonly termsHash: string
}

/** Refuses the latest offer and ends the negotiation. */
export interface RejectTransition extends TransitionBase {
  /** Always `'reject'`. */
  readonly type: 'reject'
  /** Why, in a few words (1-1024 code points). */
  readonly reason?: string
}

/** Ends the negotiation, by either party, at any time before it is over. */
export interface CancelTransition extends TransitionBase {
  /** Always `'cancel'`. */
  readonly type: 'cancel'
  /** Why, in a few words (1-1024 code points). */
  readonly reason?: string
}

/** Any signed transition. */
export type Transition = ProposeTransition | CounterTransition | AcceptTransition | RejectTransition | CancelTransition

/** A transition that carries an offer. */
export type OfferTransition = ProposeTransition | CounterTransition

/** `T` without its `sig` member, taken from each member of a union in turn. */
export type WithoutSig<T> = T extends unknown ? Omit<T, 'sig'> : never
/** A transition before it is signed. */
export type UnsignedTransition = WithoutSig<Transition>

/** What signing a transition needs of an identity (an `Identity` has it; `sign` may be sync or async). */
export interface NegotiationSigner {
  /** The signer's peer id: the transition's `by`. */
  readonly peerIdString: string
  /** Signs `data` with the Ed25519 key named by `peerIdString`. */
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

const COMMON = ['v', 'negotiation', 'seq', 'type', 'prev', 'by', 'ts', 'sig']
/** The members each type allows besides {@link COMMON}. */
const EXTRA: Record<TransitionType, readonly string[]> = {
  propose: ['parties', 'subject', 'expires', 'terms', 'termsHash'],
  counter: ['terms', 'termsHash'],
  accept: ['termsHash'],
  reject: ['reason'],
  cancel: ['reason']
}
const REQUIRED_EXTRA: Record<TransitionType, readonly string[]> = {
  propose: EXTRA.propose,
  counter: EXTRA.counter,
  accept: EXTRA.accept,
  reject: [],
  cancel: []
}
const MEMBERS = Object.fromEntries(TRANSITION_TYPES.map(t => [t, new Set([...COMMON, ...EXTRA[t]])])) as Record<TransitionType, Set<string>>


function isTimestamp (v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/** Unicode code points in `s` (a surrogate pair is one). */
function codePoints (s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    // the low half of a pair: the pair was counted at its high half
    if (c >= 0xdc00 && c <= 0xdfff && i > 0 && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800) n--
  }
  return n
}

function checkBytes (value: unknown, name: string, length: number): void {
  if (!isBase64urlOf(value, length)) fail(Code.MALFORMED, `"${name}" must be canonical base64url of ${length} bytes`)
}

function checkPeer (value: unknown, name: string): void {
  if (!isPeerId(value)) fail(Code.MALFORMED, `"${name}" must be the peer id of an Ed25519 key`)
}

/** A string of 1 to `max` code points, or `ERR_MALFORMED` (internal). */
export function checkText (value: unknown, name: string, max: number): void {
  if (typeof value !== 'string' || value.length === 0 || codePoints(value) > max) {
    fail(Code.MALFORMED, `"${name}" must be a string of 1-${max} code points`)
  }
}

/** Two distinct parties, or `ERR_MALFORMED` (internal). */
export function checkParties (value: unknown): void {
  if (!Array.isArray(value) || value.length !== 2) fail(Code.MALFORMED, '"parties" must be an array of two parties')
  value.forEach((p: unknown, i) => {
    if (!isPlainObject(p)) fail(Code.MALFORMED, `"parties[${i}]" must be an object`)
    for (const k in p) if (k !== 'peer' && k !== 'handle') fail(Code.MALFORMED, `unexpected member "parties[${i}].${k}"`)
    checkPeer(p.peer, `parties[${i}].peer`)
    if (p.handle !== undefined && (typeof p.handle !== 'string' || !HANDLE_PATTERN.test(p.handle))) {
      fail(Code.MALFORMED, `"parties[${i}].handle" is not a handle`)
    }
  })
  if ((value[0] as Party).peer === (value[1] as Party).peer) fail(Code.MALFORMED, 'the two parties must be distinct peers')
}

/**
 * Checks the structure of a transition (spec §3, check 1) and returns a
 * normalised, deeply frozen copy: parsed back from its canonical JSON, so it
 * holds nothing but JSON data, members in canonical order. Members whose
 * value is `undefined` count as absent. Throws {@link NegotiationError}
 * (`ERR_MALFORMED`, `ERR_UNSUPPORTED_VERSION`).
 */
export function parseTransition (value: unknown): Transition {
  if (!isPlainObject(value)) fail(Code.MALFORMED, 'a transition must be a JSON object')
  if (typeof value.v !== 'number') fail(Code.MALFORMED, '"v" must be a number')
  if (value.v !== NEGOTIATION_VERSION) fail(Code.UNSUPPORTED_VERSION, `unsupported version ${value.v}`)
  const type = value.type
  if (typeof type !== 'string' || !(TRANSITION_TYPES as readonly string[]).includes(type)) {
    fail(Code.MALFORMED, '"type" must be one of ' + TRANSITION_TYPES.join(', '))
  }
  const t = type as TransitionType
  for (const k in value) {
    if (value[k] !== undefined && !MEMBERS[t].has(k)) fail(Code.MALFORMED, `unexpected member "${k}" in a ${t}`)
  }
  for (const k of REQUIRED_EXTRA[t]) if (value[k] === undefined) fail(Code.MALFORMED, `a ${t} needs "${k}"`)
  checkBytes(value.negotiation, 'negotiation', NEGOTIATION_ID_BYTES)
  if (!isTimestamp(value.seq)) fail(Code.MALFORMED, '"seq" must be a non-negative integer')
  if (value.seq === 0) {
    if (value.prev !== undefined) fail(Code.MALFORMED, '"prev" must be absent at seq 0')
  } else {
    checkBytes(value.prev, 'prev', 32)
  }
  checkPeer(value.by, 'by')
  if (!isTimestamp(value.ts)) fail(Code.MALFORMED, '"ts" must be a non-negative integer (ms since the Unix epoch)')
  if (t === 'propose') {
    checkParties(value.parties)
    checkText(value.subject, 'subject', MAX_SUBJECT_LENGTH)
    if (!isTimestamp(value.expires)) fail(Code.MALFORMED, '"expires" must be a non-negative integer (ms since the Unix epoch)')
  }
  if (value.terms !== undefined && !isPlainObject(value.terms)) fail(Code.MALFORMED, '"terms" must be a JSON object')
  if (value.termsHash !== undefined) checkBytes(value.termsHash, 'termsHash', 32)
  if (value.reason !== undefined) checkText(value.reason, 'reason', MAX_REASON_LENGTH)
  checkBytes(value.sig, 'sig', 64)
  let text: string
  try {
    text = canonicalize(value)
  } catch (err) {
    if (err instanceof CanonicalJsonError) fail(Code.MALFORMED, `a transition must be I-JSON: ${err.message}`)
    throw err
  }
  if (utf8(text).byteLength > MAX_TRANSITION_BYTES) fail(Code.MALFORMED, `a transition must be at most ${MAX_TRANSITION_BYTES} bytes`)
  return deepFreeze(JSON.parse(text) as Transition)
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

function hash (value: unknown): string {
  return sha256Base64url(utf8(canonicalize(value)))
}

/**
 * `base64url(SHA-256(UTF-8(JCS(terms))))`: what `termsHash` holds.
 *
 * @example
 * ```ts
 * import { termsHash } from 'parley-mesh/negotiation'
 *
 * termsHash({ price: 180, currency: 'GBP' }) // 43 characters of base64url
 * ```
 */
export function termsHash (terms: Terms): string {
  return hash(terms)
}

/**
 * `base64url(SHA-256(UTF-8(JCS(transition))))`, `sig` included: what the
 * next transition's `prev` holds, and the transition's name.
 */
export function transitionHash (transition: Transition): string {
  let h = hashes.get(transition)
  if (h === undefined) {
    h = hash(transition)
    if (Object.isFrozen(transition)) hashes.set(transition, h)
  }
  return h
}

/**
 * Hashes already computed, per transition object: the machine, the
 * signature check and agreements ask for the same ones. Only frozen
 * transitions (what {@link parseTransition} returns) are kept: their hash
 * cannot go stale.
 */
const hashes = new WeakMap<Transition, string>()

/** The bytes a transition's signature covers: context ‖ JCS(transition without `sig`). */
export function transitionSigningInput (transition: UnsignedTransition | Transition): Uint8Array {
  return signingInput(NEGOTIATION_SIGNING_CONTEXT, transition)
}

/**
 * Signs an unsigned transition. `unsigned.by` must be the signer. The result
 * is checked for structure only: the rules of the chain are the machine's
 * (the helpers in `actions.ts` check those too).
 */
export async function signTransition<T extends UnsignedTransition> (signer: NegotiationSigner, unsigned: T): Promise<T & {
  /** Ed25519 signature by `by`, canonical base64url. */
  sig: string
}> {
  if (unsigned.by !== signer.peerIdString) throw new TypeError('the signer must be the transition\'s "by"')
  const signed = signer.sign(transitionSigningInput(unsigned))
  const sig = toBase64url(signed instanceof Uint8Array ? signed : await signed)
  return parseTransition({ ...unsigned, sig }) as unknown as T & { sig: string }
}

/** Check 2: a propose's or counter's `termsHash` is the hash of its `terms`. */
export function checkOwnTermsHash (t: Transition): void {
  if ((t.type === 'propose' || t.type === 'counter') && t.termsHash !== termsHash(t.terms)) {
    fail(Code.TERMS_MISMATCH, `the ${t.type}'s termsHash is not the hash of its terms`)
  }
}

/**
 * Transitions whose signature this process has verified (or made), by
 * {@link transitionHash}: the hash covers every member and the signature,
 * so an entry vouches for exactly those bytes. A transition is typically
 * checked several times on its way (the sender's checks, the receiver's
 * check then apply); it is verified once.
 */
const verified = new BoundedCache<string, true>(4096)

/** Check 3: `sig` verifies under the key `by` names (the Parley signature rule). */
export async function checkSignature (t: Transition): Promise<void> {
  const h = transitionHash(t)
  if (verified.get(h) === true) return
  const key = ed25519KeyOfPeer(t.by) as Uint8Array
  const sig = fromBase64url(t.sig) as Uint8Array
  if (!await verifySignature(key, transitionSigningInput(t), sig)) fail(Code.BAD_SIGNATURE, `the ${t.type} at seq ${t.seq} is not signed by ${t.by}`)
  verified.set(h, true)
}

/**
 * Checks 1-3 of the spec: everything that can be known of a transition
 * without the rest of its chain (structure, its own terms hash, its
 * signature). Returns the normalised transition ({@link parseTransition}).
 *
 * @example
 * ```ts
 * import { verifyTransition, NegotiationError } from 'parley-mesh/negotiation'
 * declare const value: unknown // a transition as received
 *
 * try {
 *   const t = await verifyTransition(value)
 * } catch (err) {
 *   if (err instanceof NegotiationError) console.log(err.code) // e.g. ERR_BAD_SIGNATURE
 * }
 * ```
 */
export async function verifyTransition (value: unknown): Promise<Transition> {
  const t = parseTransition(value)
  checkOwnTermsHash(t)
  await checkSignature(t)
  return t
}
