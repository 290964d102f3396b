/**
 * Agent Card records (protocols/agent-card): an agent's A2A Agent Card,
 * signed by its key and stored in the DHT under its handle, like its handle
 * record. A card is believed for `@handle` only when the handle's current
 * record names the same peer (the relays refuse a card from any other peer,
 * and a resolver checks it again).
 *
 * @example
 * ```ts
 * import { createCardRecord, validateCardRecord, createIdentity } from 'parley-mesh'
 *
 * const alice = await createIdentity({ kind: 'agent' })
 * const { bytes } = await createCardRecord(alice, { handle: 'alice', seq: 1, card: { name: 'alice', skills: [{ id: 'count' }] } })
 * const record = await validateCardRecord(bytes)
 * ```
 */
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import { ParleyError } from '../errors.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { signingInput, verifySignature } from '../crypto/signature.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
import { equalBytes, fromBase64url, fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { isJsonObject } from '../crypto/shape.js'
import { HANDLE_PATTERN } from './record.js'

/** The version this implementation writes and reads. */
export const CARD_RECORD_VERSION = 1
/** DHT keys of card records: `/a2a-card/<handle>`. */
export const CARD_KEY_PREFIX = '/a2a-card/'
/** The kad-dht namespace of card records. */
export const CARD_DHT_NAMESPACE = 'a2a-card'
/** Largest card record, in bytes. */
export const MAX_CARD_RECORD_BYTES = 16 * 1024
/** Longest a card record may live (7 days). */
export const MAX_CARD_TTL_MS = 7 * 24 * 60 * 60 * 1000
/** Default lifetime of a card record (1 day). */
export const DEFAULT_CARD_TTL_MS = 24 * 60 * 60 * 1000
/** The signature's domain. */
export const CARD_SIGNATURE_DOMAIN = 'parley/agent-card/v1\n'
/** The gossipsub topic cards are announced on. */
export const CARD_TOPIC = '/parley/agent-card/1.0.0'

/** A signed Agent Card record. */
export interface CardRecord {
  /** Always 1. */
  v: 1
  /** The handle, without `@`. */
  handle: string
  /** The signing peer: the handle's owner. */
  peer: string
  /** The A2A Agent Card (its JSON form). */
  card: { [key: string]: JsonValue }
  /** Grows with each new card of the same owner. */
  seq: number
  /** Ms since the epoch after which the record is dead. */
  expires: number
  /** Unpadded base64url Ed25519 signature (protocols/agent-card §3). */
  sig: string
}

/** Every reason a card record is refused. */
export const CardRecordErrorCode = {
  /** More than {@link MAX_CARD_RECORD_BYTES}. */
  OVERSIZE: 'ERR_OVERSIZE',
  /** Not a card record of §2. */
  MALFORMED: 'ERR_MALFORMED',
  /** Not its own canonical JSON. */
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  /** `v` is not 1. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** Stored under another handle's key. */
  KEY_MISMATCH: 'ERR_KEY_MISMATCH',
  /** Expired, or expiring further away than {@link MAX_CARD_TTL_MS}. */
  EXPIRED: 'ERR_EXPIRED',
  /** The signature does not verify with `peer`'s key. */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** The handle's current record names another peer. */
  NOT_OWNER: 'ERR_NOT_OWNER'
} as const
export type CardRecordErrorCode = typeof CardRecordErrorCode[keyof typeof CardRecordErrorCode]

/** A card record was refused; `code` says why. */
export class CardRecordError extends ParleyError<CardRecordErrorCode> {
  static override readonly name = 'CardRecordError'
}

const fail = (code: CardRecordErrorCode, message: string): never => { throw new CardRecordError(code, message) }

/** The DHT key of `handle`'s card. */
export function cardKey (handle: string): Uint8Array {
  return utf8(CARD_KEY_PREFIX + handle.replace(/^@/, ''))
}

/** What signs a card record: an identity. */
export interface CardSigner {
  /** Canonical peer id of the Ed25519 key. */
  readonly peerIdString: string
  /** Ed25519-signs `data`. */
  sign: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array
}

/** Makes and signs a card record. */
export async function createCardRecord (signer: CardSigner, options: { handle: string, card: { [key: string]: JsonValue }, seq: number, ttlMs?: number, now?: number }): Promise<{
  /** The validated record. */
  record: CardRecord
  /** Its canonical encoding: the DHT value and the gossipsub message. */
  bytes: Uint8Array
}> {
  const now = options.now ?? Date.now()
  const unsigned = { v: CARD_RECORD_VERSION, handle: options.handle.replace(/^@/, ''), peer: signer.peerIdString, card: options.card, seq: options.seq, expires: now + (options.ttlMs ?? DEFAULT_CARD_TTL_MS) }
  const sig = toBase64url(await signer.sign(signingInput(CARD_SIGNATURE_DOMAIN, unsigned)))
  const bytes = utf8(canonicalize({ ...unsigned, sig }))
  return { record: await validateCardRecord(bytes, { now }), bytes }
}

/**
 * Checks a card record (protocols/agent-card §4): size, shape, canonical
 * form, version, key, expiry, signature. Ownership of the handle is the
 * caller's to check against the handle record ({@link CardRecordErrorCode.NOT_OWNER}).
 */
export async function validateCardRecord (bytes: Uint8Array, options: { key?: Uint8Array, now?: number } = {}): Promise<CardRecord> {
  if (bytes.byteLength > MAX_CARD_RECORD_BYTES) fail(CardRecordErrorCode.OVERSIZE, `a card record of ${bytes.byteLength} bytes (at most ${MAX_CARD_RECORD_BYTES})`)
  let value: unknown
  let text: string
  try {
    text = fromUtf8(bytes)
    value = JSON.parse(text)
  } catch {
    return fail(CardRecordErrorCode.MALFORMED, 'not UTF-8 JSON')
  }
  if (!isJsonObject(value)) return fail(CardRecordErrorCode.MALFORMED, 'not a JSON object')
  const r = value
  const keys = Object.keys(r).sort().join()
  if (keys !== 'card,expires,handle,peer,seq,sig,v') fail(CardRecordErrorCode.MALFORMED, 'members are v, handle, peer, card, seq, expires, sig')
  if (r.v !== CARD_RECORD_VERSION) fail(CardRecordErrorCode.UNSUPPORTED_VERSION, `version ${String(r.v)}`)
  if (typeof r.handle !== 'string' || !HANDLE_PATTERN.test(r.handle)) fail(CardRecordErrorCode.MALFORMED, 'handle')
  if (typeof r.peer !== 'string') fail(CardRecordErrorCode.MALFORMED, 'peer')
  const publicKey = ed25519KeyOfPeer(r.peer as string)
  if (publicKey === undefined) return fail(CardRecordErrorCode.MALFORMED, 'peer is not the peer id of an Ed25519 key')
  if (!isJsonObject(r.card)) fail(CardRecordErrorCode.MALFORMED, 'card is a JSON object')
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 0) fail(CardRecordErrorCode.MALFORMED, 'seq')
  if (typeof r.expires !== 'number' || !Number.isSafeInteger(r.expires)) fail(CardRecordErrorCode.MALFORMED, 'expires')
  if (typeof r.sig !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(r.sig)) fail(CardRecordErrorCode.MALFORMED, 'sig')
  if (canonicalize(r) !== text) fail(CardRecordErrorCode.NON_CANONICAL, 'not its own canonical JSON')
  const record = r as unknown as CardRecord
  if (options.key !== undefined && !equalBytes(options.key, cardKey(record.handle))) fail(CardRecordErrorCode.KEY_MISMATCH, `the card of @${record.handle} under another key`)
  const now = options.now ?? Date.now()
  if (record.expires <= now) fail(CardRecordErrorCode.EXPIRED, `the card of @${record.handle} expired`)
  if (record.expires > now + MAX_CARD_TTL_MS) fail(CardRecordErrorCode.EXPIRED, `the card of @${record.handle} expires too far ahead`)
  if (!await verifySignature(publicKey, signingInput(CARD_SIGNATURE_DOMAIN, record), fromBase64url(record.sig) ?? new Uint8Array())) fail(CardRecordErrorCode.BAD_SIGNATURE, 'the card\'s signature does not verify')
  return record
}

/** The skills a card offers: each skill's `id` and `tags`. */
export function cardSkills (card: { [key: string]: JsonValue }): string[] {
  const skills = Array.isArray(card.skills) ? card.skills : []
  const out = new Set<string>()
  for (const s of skills) {
    if (!isJsonObject(s)) continue
    if (typeof s.id === 'string') out.add(s.id)
    if (Array.isArray(s.tags)) for (const t of s.tags) if (typeof t === 'string') out.add(t)
  }
  return [...out]
}

/** kad-dht validator of card records (ownership is checked where the handle record is held). */
export const cardValidator: ValidateFn = async (key, value) => { await validateCardRecord(value, { key }) }

/** kad-dht selector: the highest `seq`; among equal, the later `expires`; invalid records lose. */
export const cardSelector: SelectFn = (_key, values) => {
  let best = 0
  let bestRank: [number, number] = [-1, -1]
  values.forEach((bytes, i) => {
    try {
      const r = JSON.parse(fromUtf8(bytes)) as CardRecord
      const rank: [number, number] = [r.seq, r.expires]
      if (rank[0] > bestRank[0] || (rank[0] === bestRank[0] && rank[1] > bestRank[1])) { best = i; bestRank = rank }
    } catch {
      // not a card record: it loses
    }
  })
  return best
}
