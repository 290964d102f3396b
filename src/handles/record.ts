/**
 * Handle records: the signed, proof-of-work-stamped DHT value that maps an
 * `@handle` to the peer that holds it, with the peer's kind, X25519 key and
 * relay addresses. The normative spec is `protocols/handle-record/README.md`;
 * this module implements it: creation, validation (cheap checks first, the
 * signature last), the kad-dht selector, first-come-first-served succession
 * and the kad-dht glue.
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { createHandleRecord, validateHandleRecord, handleKey, handleDhtConfig } from 'parley-mesh/handles'
 * import { kadDHT } from '@libp2p/kad-dht'
 *
 * const identity = await createIdentity({ kind: 'agent' })
 * const dht = kadDHT({ ...handleDhtConfig() })            // validators.handle + selectors.handle
 * const { bytes } = await createHandleRecord(identity, { handle: '@alice', seq: 1, relays: [] })
 * // node.services.dht.put(handleKey('alice'), bytes)
 * const record = await validateHandleRecord(bytes, { key: handleKey('alice') })
 * record.peer // '12D3KooW…'
 * ```
 *
 * @packageDocumentation
 */
import { isJsonObject } from '../crypto/shape.js'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { HandleRecordError, HandleRecordErrorCode } from '../errors.js'
import { canonicalize } from '../crypto/canonical-json.js'
import { verifySignature } from '../crypto/signature.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
import { equalBytes, fromBase64url, fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { DEFAULT_POW_BITS, MAX_POW_BITS, MAX_POW_NONCE, checkPow, mintPowAsync, powBase } from './pow.js'

const Code = HandleRecordErrorCode

/** The record format version this module reads and writes. */
export const HANDLE_RECORD_VERSION = 1
/** DHT keys of handle records are `/handle/<handle>`; kad-dht routes them to `validators.handle`. */
export const HANDLE_KEY_PREFIX = '/handle/'
/** The kad-dht namespace (first key segment) of handle records. */
export const HANDLE_DHT_NAMESPACE = 'handle'
/** Handle syntax, without the leading `@`. */
export const HANDLE_PATTERN = /^[a-z0-9-]{3,32}$/
/** Largest encoded record accepted, in bytes. */
export const MAX_RECORD_BYTES = 4096
/** Most relay addresses a record may list. */
export const MAX_RELAYS = 8
/** Longest relay address string, in Unicode code points (characters). */
export const MAX_RELAY_LENGTH = 256
/** Lifetime of a record created without `ttlMs`: 24 h. */
export const DEFAULT_RECORD_TTL_MS = 24 * 60 * 60 * 1000
/** Furthest expiry a validator accepts by default: 7 days after its clock. */
export const DEFAULT_MAX_TTL_MS = 7 * 24 * 60 * 60 * 1000
/** Prefix of the message the owner signs. */
export const RECORD_SIGNATURE_DOMAIN = 'parley/handle-record/v1\n'
/** Prefix of the message the previous key signs on rotation. */
export const ROTATION_SIGNATURE_DOMAIN = 'parley/handle-rotation/v1\n'

const MAX_PEER_ID_LENGTH = 128
const MAX_INTEGER = Number.MAX_SAFE_INTEGER
const TOP_MEMBERS = ['v', 'handle', 'peer', 'kind', 'x25519', 'relays', 'seq', 'expires', 'pow', 'sig']

/** What a handle names. */
export type HandleKind = 'agent' | 'human'

/** A proof-of-work stamp. */
export interface HandleRecordPow {
  /** Claimed difficulty: leading zero bits of the digest, 0..64. */
  readonly bits: number
  /** The nonce, 0..2^53−1. */
  readonly nonce: number
}

/** Proof that the previous holder of the handle hands it to `peer`. */
export interface HandleRotation {
  /** Peer id of the previous key. */
  readonly prev: string
  /** base64url Ed25519 signature by `prev` over the rotation statement. */
  readonly sig: string
}

/** The JSON members of a handle record, exactly as on the wire. */
export interface HandleRecordJson {
  /** The record format version, {@link HANDLE_RECORD_VERSION}. */
  readonly v: 1
  /** The handle, without `@`. */
  readonly handle: string
  /** Canonical base58btc peer id of the owner's Ed25519 key: owner and signer. */
  readonly peer: string
  /** Whether the handle names an agent or a human. */
  readonly kind: HandleKind
  /** base64url (unpadded) X25519 public key for sealed payloads. */
  readonly x25519: string
  /** Multiaddrs through which the owner can be reached (0..8). */
  readonly relays: readonly string[]
  /** Sequence number: a newer record of the same owner has a higher one. */
  readonly seq: number
  /** Expiry, ms since the Unix epoch. */
  readonly expires: number
  /** The proof-of-work stamp over the other members. */
  readonly pow: HandleRecordPow
  /** Present when a previous key handed the handle over to `peer`. */
  readonly rotation?: HandleRotation
  /** base64url Ed25519 signature by `peer`. */
  readonly sig: string
}

/** A parsed handle record, with its encoding and decoded X25519 key alongside. */
export interface HandleRecord extends HandleRecordJson {
  /** The canonical encoding: the DHT value. */
  readonly bytes: Uint8Array
  /** `x25519`, decoded (32 bytes). */
  readonly x25519PublicKey: Uint8Array
}

/**
 * What creating a record needs from an identity. Parley's `Identity`
 * satisfies it; so does a test double.
 */
export interface HandleRecordSigner {
  /** Canonical peer id of the Ed25519 identity key. */
  readonly peerIdString: string
  /** The kind the record will publish. */
  readonly kind: HandleKind
  /** 32-byte X25519 public key published for sealed payloads. */
  readonly x25519PublicKey: Uint8Array
  /** Ed25519-signs `data` with the identity key. */
  sign: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array
}

/** The part of a signer that signs a rotation (the previous key). */
export type RotationSigner = Pick<HandleRecordSigner, 'peerIdString' | 'sign'>

function fail (code: HandleRecordErrorCode, message: string): never {
  throw new HandleRecordError(code, message)
}

/**
 * Parses a user-typed handle: `@alice` or `alice` gives `alice`. Nothing is
 * normalised (no case folding, no trimming); anything else throws
 * `ERR_INVALID_HANDLE`.
 */
export function parseHandle (input: string): string {
  const handle = typeof input === 'string' && input.startsWith('@') ? input.slice(1) : input
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) {
    fail(Code.INVALID_HANDLE, `invalid handle ${JSON.stringify(input)}: 3-32 of a-z 0-9 -`)
  }
  return handle
}

/** The DHT key of a handle: UTF-8 `/handle/<handle>` (accepts `@alice` too). */
export function handleKey (handle: string): Uint8Array {
  return utf8(HANDLE_KEY_PREFIX + parseHandle(handle))
}

/** The JSON members of a parsed record (drops `bytes` and `x25519PublicKey`). */
export function handleRecordJson (record: HandleRecordJson): HandleRecordJson {
  const { v, handle, peer, kind, x25519, relays, seq, expires, pow, rotation, sig } = record
  return {
    v, handle, peer, kind, x25519, relays: [...relays], seq, expires,
    pow: { bits: pow.bits, nonce: pow.nonce },
    ...(rotation === undefined ? {} : { rotation: { prev: rotation.prev, sig: rotation.sig } }),
    sig
  }
}

function without (record: object, names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record }
  for (const name of names) delete out[name]
  return out
}

/**
 * The message the owner signs: UTF-8(`parley/handle-record/v1\n`) ‖ canonical
 * JSON of the record's members without `sig` (a `sig` member, if present, is
 * ignored). Takes JSON members, not a parsed {@link HandleRecord}.
 */
export function handleRecordSigningMessage (members: object): Uint8Array {
  return utf8(RECORD_SIGNATURE_DOMAIN + canonicalize(without(members, ['sig'])))
}

/**
 * The 32-byte PoW base of a record: SHA-256(UTF-8(`parley/handle-pow/v1\n`) ‖
 * canonical JSON of the members without `sig` and `pow`).
 */
export function handleRecordPowBase (members: object): Uint8Array {
  return powBase(utf8(canonicalize(without(members, ['sig', 'pow']))))
}

/**
 * The message the previous key signs to hand `handle` to `next`:
 * UTF-8(`parley/handle-rotation/v1\n`) ‖ canonical JSON of
 * `{"handle","next","prev","v":1}`.
 */
export function rotationSigningMessage (handle: string, prev: string, next: string): Uint8Array {
  return utf8(ROTATION_SIGNATURE_DOMAIN + canonicalize({ handle, next, prev, v: 1 }))
}

// ---------------------------------------------------------------------------
// Decoding: steps 1-6 of the validation (no key, clock, hashing or signatures)

interface Decoded {
  record: HandleRecord
  /** The parsed JSON value (exactly the wire members). */
  json: Record<string, unknown>
  publicKey: Uint8Array
  sig: Uint8Array
  rotationSig?: Uint8Array
}


function exactMembers (value: unknown, required: string[], optional: string[], where: string): Record<string, unknown> {
  if (!isJsonObject(value)) fail(Code.MALFORMED_RECORD, `${where} is not an object`)
  for (const name of Object.keys(value)) {
    if (!required.includes(name) && !optional.includes(name)) fail(Code.MALFORMED_RECORD, `unknown member ${JSON.stringify(name)} in ${where}`)
  }
  for (const name of required) {
    if (!Object.hasOwn(value, name)) fail(Code.MALFORMED_RECORD, `missing member ${JSON.stringify(name)} in ${where}`)
  }
  return value
}

function integer (value: unknown, max: number, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    fail(Code.MALFORMED_RECORD, `${name} must be an integer in 0..${max}`)
  }
  return value
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

function base64url (value: unknown, length: number, name: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64URL.test(value) || value.length % 4 === 1) {
    fail(Code.MALFORMED_RECORD, `${name} is not unpadded base64url`)
  }
  const bytes = fromBase64url(value)
  if (bytes === undefined) fail(Code.NON_CANONICAL, `${name} is not canonical base64url (non-zero trailing bits)`)
  if (bytes.byteLength !== length) fail(Code.MALFORMED_RECORD, `${name} must encode ${length} bytes`)
  return bytes
}

function peerIdString (value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length > MAX_PEER_ID_LENGTH) fail(Code.MALFORMED_RECORD, `${name} is not a peer id`)
  return value
}

/** True when `s` has at most `max` Unicode code points (a surrogate pair counts once). */
function withinCodePoints (s: string, max: number): boolean {
  if (s.length <= max) return true
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i)
    // a high surrogate followed by a low one is one code point
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    if (++n > max) return false
  }
  return true
}

function relayAddress (value: unknown): string {
  if (typeof value !== 'string' || !withinCodePoints(value, MAX_RELAY_LENGTH)) {
    fail(Code.MALFORMED_RECORD, `a relay is not a string of at most ${MAX_RELAY_LENGTH} characters`)
  }
  let text: string | undefined
  try {
    text = multiaddr(value).toString()
  } catch {
    // not a multiaddr: text stays undefined
  }
  if (text !== value) fail(Code.MALFORMED_RECORD, `relay ${JSON.stringify(value)} is not a multiaddr in canonical string form`)
  return value
}

/** Steps 1-4: size, UTF-8 JSON, canonical form, version. */
function decodeJson (bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength > MAX_RECORD_BYTES) fail(Code.OVERSIZE, `record is ${bytes.byteLength} bytes; the limit is ${MAX_RECORD_BYTES}`)
  let value: unknown
  try {
    value = JSON.parse(fromUtf8(bytes))
  } catch {
    fail(Code.MALFORMED_RECORD, 'record is not UTF-8 JSON text')
  }
  let canonical: string
  try {
    canonical = canonicalize(value)
  } catch {
    fail(Code.MALFORMED_RECORD, 'record has no canonical form (not I-JSON)')
  }
  // compare bytes, not text: a decoder may drop a byte order mark
  if (!equalBytes(utf8(canonical), bytes)) fail(Code.NON_CANONICAL, 'record is not in RFC 8785 canonical form')
  if (!isJsonObject(value)) fail(Code.MALFORMED_RECORD, 'record is not a JSON object')
  if (!Object.hasOwn(value, 'v')) fail(Code.MALFORMED_RECORD, 'missing member "v"')
  if (value.v !== HANDLE_RECORD_VERSION) fail(Code.UNSUPPORTED_VERSION, `unsupported record version ${JSON.stringify(value.v)}`)
  return value
}

/** Steps 5-6: members and their values, then the owner key. */
function decodeShape (json: Record<string, unknown>, bytes: Uint8Array): Decoded {
  const o = exactMembers(json, TOP_MEMBERS, ['rotation'], 'record')
  if (typeof o.handle !== 'string') fail(Code.MALFORMED_RECORD, 'handle is not a string')
  const handle = o.handle
  if (!HANDLE_PATTERN.test(handle)) fail(Code.INVALID_HANDLE, `invalid handle ${JSON.stringify(handle)}`)
  const peer = peerIdString(o.peer, 'peer')
  if (o.kind !== 'agent' && o.kind !== 'human') fail(Code.MALFORMED_RECORD, 'kind must be "agent" or "human"')
  const kind = o.kind
  const x25519PublicKey = base64url(o.x25519, 32, 'x25519')
  if (!Array.isArray(o.relays) || o.relays.length > MAX_RELAYS) fail(Code.MALFORMED_RECORD, `relays must be an array of at most ${MAX_RELAYS}`)
  const relays = (o.relays as unknown[]).map(relayAddress)
  const seq = integer(o.seq, MAX_INTEGER, 'seq')
  const expires = integer(o.expires, MAX_INTEGER, 'expires')
  const p = exactMembers(o.pow, ['bits', 'nonce'], [], 'pow')
  const pow = { bits: integer(p.bits, MAX_POW_BITS, 'pow.bits'), nonce: integer(p.nonce, MAX_POW_NONCE, 'pow.nonce') }
  let rotation: HandleRotation | undefined
  let rotationSig: Uint8Array | undefined
  if (Object.hasOwn(o, 'rotation')) {
    const r = exactMembers(o.rotation, ['prev', 'sig'], [], 'rotation')
    rotation = { prev: peerIdString(r.prev, 'rotation.prev'), sig: r.sig as string }
    rotationSig = base64url(r.sig, 64, 'rotation.sig')
  }
  const sig = base64url(o.sig, 64, 'sig')
  const publicKey = ed25519KeyOfPeer(peer)
  if (publicKey === undefined) fail(Code.MALFORMED_RECORD, 'peer is not the canonical peer id of an Ed25519 key')
  const record: HandleRecord = {
    v: 1, handle, peer, kind, x25519: o.x25519 as string, relays, seq, expires, pow,
    ...(rotation === undefined ? {} : { rotation }),
    sig: o.sig as string,
    bytes,
    x25519PublicKey
  }
  return { record, json, publicKey, sig, ...(rotationSig === undefined ? {} : { rotationSig }) }
}

function decode (bytes: Uint8Array): Decoded {
  return decodeShape(decodeJson(bytes), bytes)
}

/**
 * Parses a record without checking key, clock, proof of work or signatures
 * (validation steps 1-6 of the spec). For records already validated, e.g. by kad-dht
 * before selection, or read back from a trusted store. Throws
 * {@link HandleRecordError}.
 */
export function parseHandleRecord (bytes: Uint8Array): HandleRecord {
  return decode(bytes).record
}

// ---------------------------------------------------------------------------
// Validation

/** Options of {@link validateHandleRecord}. */
export interface ValidateHandleRecordOptions {
  /** The DHT key the record was stored under; must be `/handle/<handle>` (bytes or string). */
  key?: Uint8Array | string
  /** The validator's clock, ms since the epoch (default `Date.now()`). */
  now?: number
  /** Least difficulty accepted (default {@link DEFAULT_POW_BITS}). */
  minPowBits?: number
  /** Furthest expiry accepted, in ms after `now` (default 7 days). */
  maxTtlMs?: number
}

/** A validator option must be a number (NaN would make every comparison pass). */
function finite (value: number, name: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`${name} must be a number`)
  return value
}

/**
 * Validates the bytes of a handle record and returns it parsed. Checks run
 * cheapest first and the signatures last, so junk costs little: size, UTF-8
 * JSON, canonical form, version, shape, owner key, DHT key, expiry, PoW
 * difficulty, PoW digest, signature, rotation. The first failure throws a
 * {@link HandleRecordError} whose `code` names it. A NaN option is a
 * `RangeError`.
 */
export async function validateHandleRecord (bytes: Uint8Array, options: ValidateHandleRecordOptions = {}): Promise<HandleRecord> {
  const { record, json, publicKey, sig, rotationSig } = decode(bytes)
  const { key } = options
  if (key !== undefined) {
    const expected = HANDLE_KEY_PREFIX + record.handle
    const matches = typeof key === 'string' ? key === expected : equalBytes(key, utf8(expected))
    if (!matches) fail(Code.KEY_MISMATCH, `record for @${record.handle} stored under another key (name/owner mismatch)`)
  }
  const now = finite(options.now ?? Date.now(), 'now')
  const maxTtlMs = finite(options.maxTtlMs ?? DEFAULT_MAX_TTL_MS, 'maxTtlMs')
  const minBits = finite(options.minPowBits ?? DEFAULT_POW_BITS, 'minPowBits')
  if (record.expires <= now) fail(Code.EXPIRED, `record for @${record.handle} expired`)
  if (record.expires > now + maxTtlMs) fail(Code.EXPIRY_TOO_FAR, `record for @${record.handle} expires too far in the future`)
  if (record.pow.bits < minBits) fail(Code.INSUFFICIENT_POW, `proof of work of ${record.pow.bits} bits; at least ${minBits} required`)
  if (!checkPow(handleRecordPowBase(json), record.pow.bits, record.pow.nonce)) fail(Code.BAD_POW, 'proof of work does not verify')
  if (!await verifySignature(publicKey, handleRecordSigningMessage(json), sig)) fail(Code.BAD_SIGNATURE, 'record signature does not verify')
  if (record.rotation !== undefined && rotationSig !== undefined) {
    const { prev } = record.rotation
    const prevKey = ed25519KeyOfPeer(prev)
    if (prev === record.peer) fail(Code.BAD_ROTATION, 'rotation.prev is the record\'s own peer')
    if (prevKey === undefined) fail(Code.BAD_ROTATION, 'rotation.prev is not the peer id of an Ed25519 key')
    if (!await verifySignature(prevKey, rotationSigningMessage(record.handle, prev, record.peer), rotationSig)) {
      fail(Code.BAD_ROTATION, 'rotation signature does not verify')
    }
  }
  return record
}

// ---------------------------------------------------------------------------
// Creation

/** Options of {@link createHandleRecord}. */
export interface CreateHandleRecordOptions {
  /** `alice` or `@alice`. */
  handle: string
  /** Relay multiaddrs (default none). */
  relays?: readonly string[]
  /** Sequence number; must exceed that of the owner's previous record. */
  seq: number
  /** Lifetime in ms (default 24 h). */
  ttlMs?: number
  /** Clock, ms since the epoch (default `Date.now()`). */
  now?: number
  /** Difficulty to mint (default {@link DEFAULT_POW_BITS}). */
  powBits?: number
  /** Rotation proof from the previous key ({@link createRotation}). */
  rotation?: HandleRotation
  /** Aborts minting. */
  signal?: AbortSignal
}

/**
 * Creates, stamps and signs a handle record. Checks every member before
 * minting (same codes as validation), mints without blocking the event loop,
 * and validates the result (so a signer whose key does not match its peer id
 * is caught here: `ERR_BAD_SIGNATURE`).
 */
export async function createHandleRecord (signer: HandleRecordSigner, options: CreateHandleRecordOptions): Promise<{
  /** The validated record. */
  record: HandleRecord
  /** Its canonical encoding: the DHT value. */
  bytes: Uint8Array
}> {
  const now = options.now ?? Date.now()
  const ttlMs = options.ttlMs ?? DEFAULT_RECORD_TTL_MS
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer')
  const bits = options.powBits ?? DEFAULT_POW_BITS
  const unsigned = {
    v: HANDLE_RECORD_VERSION,
    handle: parseHandle(options.handle),
    peer: signer.peerIdString,
    kind: signer.kind,
    x25519: toBase64url(signer.x25519PublicKey),
    relays: [...(options.relays ?? [])],
    seq: options.seq,
    expires: now + ttlMs,
    ...(options.rotation === undefined ? {} : { rotation: { prev: options.rotation.prev, sig: options.rotation.sig } })
  }
  // shape and size check with the longest possible stamp and a placeholder signature
  decode(encode({ ...unsigned, pow: { bits, nonce: MAX_POW_NONCE }, sig: toBase64url(new Uint8Array(64)) }))
  const nonce = await mintPowAsync(handleRecordPowBase(unsigned), bits, options.signal === undefined ? {} : { signal: options.signal })
  const stamped = { ...unsigned, pow: { bits, nonce } }
  const sig = await signer.sign(handleRecordSigningMessage(stamped))
  const bytes = encode({ ...stamped, sig: toBase64url(sig) })
  const record = await validateHandleRecord(bytes, { now, minPowBits: bits, maxTtlMs: ttlMs })
  return { record, bytes }
}

function encode (members: object): Uint8Array {
  try {
    return utf8(canonicalize(members))
  } catch {
    return fail(Code.MALFORMED_RECORD, 'record members are not JSON data')
  }
}

/**
 * Signs, with the previous key, the hand-over of `handle` to `nextPeerId`.
 * Put the result in the new key's record (`rotation` option of
 * {@link createHandleRecord}).
 */
export async function createRotation (oldSigner: RotationSigner, handle: string, nextPeerId: string): Promise<HandleRotation> {
  const name = parseHandle(handle)
  const prev = oldSigner.peerIdString
  if (prev === nextPeerId) fail(Code.BAD_ROTATION, 'a key cannot rotate to itself')
  const sig = await oldSigner.sign(rotationSigningMessage(name, prev, nextPeerId))
  return { prev, sig: toBase64url(sig) }
}

// ---------------------------------------------------------------------------
// Selection and succession

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return a.byteLength - b.byteLength
}

/**
 * kad-dht selector: the index of the best of `records` (all stored under the
 * same key). Parses only; kad-dht validates before selecting. Highest `seq`
 * wins; then the later `expires`; then the lexicographically smallest bytes;
 * records that do not parse rank below every record that does (among
 * themselves, smallest bytes first). Throws `RangeError` on an empty list.
 */
export function selectHandleRecord (_key: Uint8Array, records: Uint8Array[]): number {
  if (records.length === 0) throw new RangeError('no handle records to select from')
  const parsed = records.map(bytes => {
    try { return parseHandleRecord(bytes) } catch { return undefined }
  })
  let best = 0
  for (let i = 1; i < records.length; i++) {
    const a = parsed[i]
    const b = parsed[best]
    let order = 0 // > 0: i is better
    if ((a === undefined) !== (b === undefined)) order = a === undefined ? -1 : 1
    else if (a !== undefined && b !== undefined) order = (a.seq - b.seq) || (a.expires - b.expires)
    if (order === 0) order = compareBytes(records[best] ?? new Uint8Array(), records[i] ?? new Uint8Array())
    if (order > 0) best = i
  }
  return best
}

/** Verdict of {@link succession}. */
export type Succession = 'accept' | 'ignore'

/**
 * First come, first served. Decides whether `incoming` (already validated)
 * replaces `existing` for the same handle at time `now`:
 *
 * - no existing record, or it has expired (`expires <= now`): accept;
 * - same owner: accept iff `incoming.seq > existing.seq`, else ignore;
 * - another owner: accept iff `incoming.rotation.prev` is the existing owner
 *   and `incoming.seq > existing.seq`; otherwise throw `ERR_HANDLE_TAKEN`.
 *
 * Throws `ERR_KEY_MISMATCH` if the two records are for different handles.
 */
export function succession (existing: HandleRecordJson | undefined, incoming: HandleRecordJson, now: number): Succession {
  if (existing !== undefined && existing.handle !== incoming.handle) {
    fail(Code.KEY_MISMATCH, `records for @${existing.handle} and @${incoming.handle} compared`)
  }
  if (existing === undefined || existing.expires <= now) return 'accept'
  if (incoming.peer === existing.peer) return incoming.seq > existing.seq ? 'accept' : 'ignore'
  if (incoming.rotation?.prev === existing.peer && incoming.seq > existing.seq) return 'accept'
  // expires can be any safe integer, beyond what a Date holds (toISOString would throw a RangeError)
  const until = Number.isFinite(new Date(existing.expires).getTime()) ? new Date(existing.expires).toISOString() : `${existing.expires} ms`
  return fail(Code.HANDLE_TAKEN, `@${incoming.handle} is held by ${existing.peer} until ${until}`)
}

// ---------------------------------------------------------------------------
// kad-dht glue

/** Options of {@link handleValidator} and {@link handleDhtConfig}. */
export interface HandleValidatorOptions {
  /** Least difficulty accepted (default {@link DEFAULT_POW_BITS}). */
  minPowBits?: number
  /** Furthest expiry accepted, in ms from now (default 7 days). */
  maxTtlMs?: number
  /** Clock (default `Date.now`). */
  clock?: () => number
}

/** A kad-dht validator for `/handle/…` keys: resolves, or rejects with the {@link HandleRecordError}. */
export function handleValidator (options: HandleValidatorOptions = {}): ValidateFn {
  const clock = options.clock ?? Date.now
  return async (key: Uint8Array, value: Uint8Array): Promise<void> => {
    await validateHandleRecord(value, {
      key,
      now: clock(),
      ...(options.minPowBits === undefined ? {} : { minPowBits: options.minPowBits }),
      ...(options.maxTtlMs === undefined ? {} : { maxTtlMs: options.maxTtlMs })
    })
  }
}

/** The kad-dht selector for `/handle/…` keys ({@link selectHandleRecord}). */
export const handleSelector: SelectFn = (key, records) => selectHandleRecord(key, records)

/**
 * The `validators` and `selectors` entries to spread into `kadDHT({ … })`.
 * Merge with other namespaces if you have them.
 */
export function handleDhtConfig (options: HandleValidatorOptions = {}): {
  /** kad-dht validators by namespace. */
  validators: {
    /** {@link handleValidator} with `options`. */
    handle: ValidateFn
  }
  /** kad-dht selectors by namespace. */
  selectors: {
    /** {@link handleSelector}. */
    handle: SelectFn
  }
} {
  return {
    validators: { handle: handleValidator(options) },
    selectors: { handle: handleSelector }
  }
}
