/**
 * The event log format (`protocols/event-log`): entries, their canonical
 * bytes and hash chain, the export, and {@link verifyLog}, which a third
 * party runs offline on an export.
 */
import { canonicalize, CanonicalJsonError } from '../crypto/canonical-json.js'
import type { JsonObject } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { EventLogError, EventLogErrorCode as Code } from './errors.js'
import {
  describe, isBase64urlOf, isCount, isPeerId, isPlainObject, sha256Base64url, unknownMembers, verifyObject
} from './signed.js'

/** The entry and export version (`v`). */
export const LOG_VERSION = 1
/** Domain separation of entry signatures: prefixed to the canonical JSON before signing. */
export const LOG_SIGNING_CONTEXT = 'parley/event-log/v1\n'
/** `type` of an export. */
export const LOG_EXPORT_TYPE = 'parley/event-log'
/** Event type syntax: a lower-case letter, then up to 63 of `[a-z0-9._/-]`. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9._/-]{0,63}$/
/** Largest canonical entry a writer produces, in bytes (1 MiB). */
export const MAX_ENTRY_BYTES = 1024 * 1024

/**
 * The event types a Parley node writes. `data` is a JSON object whose
 * members the spec recommends per type; other types matching
 * {@link EVENT_TYPE_PATTERN} may be used too.
 */
export const EventType = {
  /** A session opened: `{ session, peer, handle?, kind, direction, transport? }`. */
  SESSION_OPEN: 'session.open',
  /** A session closed: `{ session, peer, reason? }`. */
  SESSION_CLOSE: 'session.close',
  /** A request received: `{ session?, peer, envelope }` (the envelope as JSON). */
  REQUEST_IN: 'request.in',
  /** A request sent: `{ session?, peer, envelope }`. */
  REQUEST_OUT: 'request.out',
  /** A response received: `{ session?, peer, envelope }`. */
  RESPONSE_IN: 'response.in',
  /** A response sent: `{ session?, peer, envelope }`. */
  RESPONSE_OUT: 'response.out',
  /** A notification received: `{ session?, peer, envelope }`. */
  NOTIFICATION_IN: 'notification.in',
  /** A notification sent: `{ session?, peer, envelope }`. */
  NOTIFICATION_OUT: 'notification.out',
  /** A negotiation changed state: `{ negotiation, from, to, envelope? }`. */
  NEGOTIATION_TRANSITION: 'negotiation.transition',
  /** An action was held for a human: `{ approval, subject, peer, method, summary, amount? }`. */
  APPROVAL_REQUEST: 'approval.request',
  /** A human decided: `{ approval, decision }` (the signed decision as JSON). */
  APPROVAL_DECISION: 'approval.decision',
  /** An approval was redeemed and the action went ahead: `{ approval, subject }`. */
  APPROVAL_USED: 'approval.used',
  /** A contact's trust level or limits changed: `{ peer, handle?, from, to, limits?, by }`. */
  TRUST_CHANGE: 'trust.change',
  /** The key signing the log hands it to another (a key rotation): `{ next }`, signed by the key handing over (§3.1). */
  LOG_HANDOVER: 'log.handover'
} as const
export type EventType = typeof EventType[keyof typeof EventType]

/** One signed entry of an event log. */
export interface LogEntry {
  /** The format version, {@link LOG_VERSION}. */
  v: typeof LOG_VERSION
  /** Position in the log: 0, 1, 2… */
  seq: number
  /** Writer's clock, ms since the Unix epoch; never decreases along the log. */
  ts: number
  /** What happened (see {@link EventType}). */
  type: string
  /** Details, a JSON object. */
  data: JsonObject
  /** Base64url SHA-256 of the previous entry's canonical bytes; absent iff `seq` is 0. */
  prev?: string
  /** Peer id of the node whose log this is (it signs the log). */
  by: string
  /**
   * Base64url Ed25519 signature (see `protocols/event-log` §3). Optional: a
   * signed entry covers, through `prev`, every entry before it, so a writer
   * signs the last entry of each batch it writes; the last entry of a log
   * is always signed.
   */
  sig?: string
}

/** The last entry of a log: its position, hash and time. */
export interface LogHead {
  /** The entry's position. */
  seq: number
  /** Base64url SHA-256 of the entry's canonical bytes (the next entry's `prev`). */
  hash: string
  /** The entry's `ts`, ms since the Unix epoch. */
  ts: number
}

/** A whole log as one JSON document, for a third party to verify offline. */
export interface ExportedLog {
  /** The format version, {@link LOG_VERSION}. */
  v: typeof LOG_VERSION
  /** Always {@link LOG_EXPORT_TYPE}. */
  type: typeof LOG_EXPORT_TYPE
  /** The peer whose log it is. */
  peer: string
  /** Every entry, in `seq` order from 0. */
  entries: LogEntry[]
}

/** What {@link verifyLog} found. */
export interface LogVerification {
  /** The peer whose log it is: the key that began it. */
  peer: string
  /** The key its last entries are signed by: `peer`, or the last key a `log.handover` named. */
  signer: string
  /** Number of entries. */
  count: number
  /** The last entry, or `undefined` for an empty log. */
  head: LogHead | undefined
}

/** Options of {@link verifyLog}. */
export interface VerifyLogOptions {
  /**
   * A head the verifier saw before (a receipt, an earlier export): the log
   * must still contain exactly that entry, else `ERR_LOG_HEAD_MISMATCH`.
   * This is what detects a log cut short or rewritten from some point on.
   */
  knownHead?: {
    /** The entry's position. */
    seq: number
    /** Base64url SHA-256 of its canonical bytes. */
    hash: string
  }
}

const ENTRY_MEMBERS = ['v', 'seq', 'ts', 'type', 'data', 'prev', 'by', 'sig'] as const
const EXPORT_MEMBERS = ['v', 'type', 'peer', 'entries'] as const

/** The members of an entry other than `data`, which is given as its canonical text. */
export interface EntryFields {
  by: string
  dataText: string
  prev: string | undefined
  seq: number
  sig?: string
  ts: number
  type: string
}

/**
 * The canonical text of an entry, written directly: members in JCS order
 * (`by`, `data`, `prev`, `seq`, `sig`, `ts`, `type`, `v`), `data` already
 * canonical, every other member a peer id, base64url, an integer or an
 * event type, whose JSON text is their JCS text.
 */
export function entryText (f: EntryFields): string {
  let s = '{"by":' + JSON.stringify(f.by) + ',"data":' + f.dataText
  if (f.prev !== undefined) s += ',"prev":"' + f.prev + '"'
  s += ',"seq":' + String(f.seq)
  if (f.sig !== undefined) s += ',"sig":"' + f.sig + '"'
  return s + ',"ts":' + String(f.ts) + ',"type":' + JSON.stringify(f.type) + ',"v":1}'
}

/** The hash that names `entry`: base64url SHA-256 of UTF-8(JCS(entry)), `sig` included. */
export function logEntryHash (entry: LogEntry): string {
  return sha256Base64url(utf8(canonicalize(entry)))
}

function fail (code: Code, seq: number, message: string): EventLogError {
  return new EventLogError(code, `entry ${seq}: ${message}`, { seq })
}

/**
 * Checks the members of one entry (not its order, chain or signature).
 * `position` is where it sits, for the error's `seq`.
 */
export function checkEntryShape (value: unknown, position: number): LogEntry {
  if (!isPlainObject(value)) throw fail(Code.MALFORMED, position, 'not a JSON object')
  const extra = unknownMembers(value, ENTRY_MEMBERS)
  if (extra.length > 0) throw fail(Code.MALFORMED, position, `unknown member ${describe(extra[0])}`)
  if (typeof value.v !== 'number') throw fail(Code.MALFORMED, position, '"v" is missing or not a number')
  if (value.v !== LOG_VERSION) throw fail(Code.UNSUPPORTED_VERSION, position, `unsupported version ${describe(value.v)}`)
  if (!isCount(value.seq)) throw fail(Code.MALFORMED, position, '"seq" is not an integer in [0, 2^53 - 1]')
  if (!isCount(value.ts)) throw fail(Code.MALFORMED, position, '"ts" is not an integer in [0, 2^53 - 1]')
  if (typeof value.type !== 'string' || !EVENT_TYPE_PATTERN.test(value.type)) throw fail(Code.MALFORMED, position, `"type" ${describe(value.type)} is not an event type`)
  if (!isPlainObject(value.data)) throw fail(Code.MALFORMED, position, '"data" is not a JSON object')
  if (value.seq === 0 ? value.prev !== undefined : !isBase64urlOf(value.prev, 32)) {
    throw fail(Code.MALFORMED, position, value.seq === 0 ? 'entry 0 has a "prev"' : '"prev" is not base64url of 32 bytes')
  }
  if (!isPeerId(value.by)) throw fail(Code.MALFORMED, position, '"by" is not an Ed25519 peer id')
  if (value.sig !== undefined && !isBase64urlOf(value.sig, 64)) throw fail(Code.MALFORMED, position, '"sig" is not base64url of 64 bytes')
  return value as unknown as LogEntry
}

/** Canonical bytes of an entry that passed {@link checkEntryShape}; non-I-JSON data is `ERR_LOG_MALFORMED`. */
export function entryBytes (entry: LogEntry, position: number): Uint8Array {
  try {
    return utf8(canonicalize(entry))
  } catch (err) {
    if (err instanceof CanonicalJsonError) throw fail(Code.MALFORMED, position, `not I-JSON: ${err.message}`)
    throw err
  }
}

/** Verifies an entry's signature under the peer `by` names (false for an entry without one). */
export async function entrySignatureValid (entry: LogEntry): Promise<boolean> {
  return entry.sig !== undefined && verifyObject(LOG_SIGNING_CONTEXT, entry as LogEntry & { sig: string }, entry.by)
}

function parseExport (input: unknown): unknown {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return input
  try {
    return JSON.parse(typeof input === 'string' ? input : fromUtf8(input))
  } catch (cause) {
    throw new EventLogError(Code.MALFORMED, 'the export is not UTF-8 JSON text', { cause })
  }
}

/**
 * Verifies an exported log offline: the export's members; then, entry by
 * entry in order, its members (`ERR_LOG_MALFORMED`,
 * `ERR_LOG_UNSUPPORTED_VERSION`), that `seq` is its position and `ts` does
 * not run backwards (`ERR_LOG_SEQ`), that `by` is the log's peer
 * (`ERR_LOG_WRONG_SIGNER`), that `prev` is the hash of the entry before
 * (`ERR_LOG_BROKEN_CHAIN`), and its signature if it has one
 * (`ERR_LOG_BAD_SIGNATURE`); finally that the last entry is signed
 * (`ERR_LOG_UNSIGNED_TAIL`), so that every entry is covered by a signature
 * on it or on a later entry whose `prev` chain reaches it. The first
 * failure throws, with `seq` set to the bad entry's position.
 *
 * `input` is the export as a value, or as JSON text or its UTF-8 bytes
 * (text with anything after the JSON value is refused).
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * import { verifyLog } from 'parley-mesh/store'
 *
 * const { peer, count, head } = await verifyLog(await readFile('exported-log.json', 'utf8'))
 * ```
 * @throws {EventLogError}
 */
export async function verifyLog (input: unknown, options: VerifyLogOptions = {}): Promise<LogVerification> {
  const value = parseExport(input)
  if (!isPlainObject(value)) throw new EventLogError(Code.MALFORMED, 'the export is not a JSON object')
  const extra = unknownMembers(value, EXPORT_MEMBERS)
  if (extra.length > 0) throw new EventLogError(Code.MALFORMED, `the export has an unknown member ${describe(extra[0])}`)
  if (typeof value.v !== 'number') throw new EventLogError(Code.MALFORMED, 'the export\'s "v" is missing or not a number')
  if (value.v !== LOG_VERSION) throw new EventLogError(Code.UNSUPPORTED_VERSION, `unsupported export version ${describe(value.v)}`)
  if (value.type !== LOG_EXPORT_TYPE) throw new EventLogError(Code.MALFORMED, `the export's "type" is not "${LOG_EXPORT_TYPE}"`)
  if (!isPeerId(value.peer)) throw new EventLogError(Code.MALFORMED, 'the export\'s "peer" is not an Ed25519 peer id')
  if (!Array.isArray(value.entries)) throw new EventLogError(Code.MALFORMED, 'the export\'s "entries" is not an array')
  const peer = value.peer
  // the key each entry must be by: the log's peer, then the key each signed handover names (§3.1)
  let signer = peer
  const known = options.knownHead
  let head: LogHead | undefined
  let knownHash: string | undefined
  for (let i = 0; i < value.entries.length; i++) {
    const entry = checkEntryShape(value.entries[i], i)
    if (entry.seq !== i) throw fail(Code.SEQ, i, `"seq" is ${entry.seq}, expected ${i}`)
    if (head !== undefined && entry.ts < head.ts) throw fail(Code.SEQ, i, `"ts" ${entry.ts} is earlier than the previous entry's ${head.ts}`)
    if (entry.by !== signer) throw fail(Code.WRONG_SIGNER, i, `"by" is ${entry.by}, not the log's key ${signer}${signer === peer ? '' : ' (handed over to)'}`)
    if (entry.prev !== head?.hash) throw fail(Code.BROKEN_CHAIN, i, '"prev" is not the hash of the previous entry')
    const bytes = entryBytes(entry, i)
    if (entry.sig !== undefined && !await entrySignatureValid(entry)) throw fail(Code.BAD_SIGNATURE, i, 'the signature does not verify')
    if (entry.type === EventType.LOG_HANDOVER) signer = handoverNext(entry, i)
    head = { seq: i, hash: sha256Base64url(bytes), ts: entry.ts }
    if (known?.seq === i) knownHash = head.hash
  }
  const last = value.entries.length - 1
  if (last >= 0 && (value.entries[last] as LogEntry).sig === undefined) {
    throw fail(Code.UNSIGNED_TAIL, last, 'the last entry is not signed: the entries since the last signed one are covered by no signature')
  }
  if (known !== undefined && (knownHash === undefined || knownHash !== known.hash)) {
    throw new EventLogError(Code.HEAD_MISMATCH,
      knownHash === undefined
        ? `the log ends before the known head ${known.seq}: it was cut short`
        : `entry ${known.seq} is not the known head: the log was rewritten from there`,
      { seq: known.seq })
  }
  return { peer, signer, count: value.entries.length, head }
}

/** The key a `log.handover` entry hands the log to; it must be signed by the key handing over (§3.1). */
export function handoverNext (entry: LogEntry, seq: number): string {
  if (entry.sig === undefined) throw new EventLogError(Code.BAD_HANDOVER, `entry ${seq}: a handover must carry its own signature`, { seq })
  const next = (entry.data as { next?: unknown }).next
  if (!isPeerId(next) || next === entry.by) throw new EventLogError(Code.BAD_HANDOVER, `entry ${seq}: "data.next" is not another Ed25519 peer id`, { seq })
  return next
}
