/**
 * The mailbox's frames (protocols/mailbox §2–§4), parsed and checked the
 * same way on both sides: requests the relay reads, answers the client reads.
 * Parsing never trusts shapes: anything else is `ERR_MAILBOX_INVALID`.
 */
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { MAX_BATCH } from './constants.js'
import { MailboxError, MailboxErrorCode } from './errors.js'
import type { MailboxErrorCode as Code } from './errors.js'

/** A JSON object as it came off the wire. */
export type MailObject = { [key: string]: JsonValue }

/** One request (§3). */
export type MailboxRequest =
  | { op: 'deposit', envelope: MailObject, record: MailObject }
  | { op: 'status' }
  | { op: 'pull', limit?: number, after?: string }
  | { op: 'ack', ids: string[] }
  | { op: 'live' }

/** A message as `pull` hands it over. */
export interface PulledMail {
  /** The signed envelope, as deposited. */
  envelope: MailObject
  /** The relay's place for it, to pass back as `after`. */
  cursor: string
  /** When the relay stored it, ms since the Unix epoch. */
  received: number
}

/** The answer to a `deposit` the relay stored. */
export interface Stored { status: 'stored', id: string, expires: number }
/** The answer to a `status`. */
export interface MailStatus { status: 'ok', count: number, bytes: number }
/** The answer to a `pull`. */
export interface Pulled { status: 'ok', messages: PulledMail[], remaining: number }
/** The answer to an `ack`. */
export interface Acked { status: 'ok', deleted: number }
/** A refusal (§4). */
export interface Refusal { status: Exclude<Code, 'ERR_MAILBOX_UNREACHABLE'>, message: string, scope?: string, limit?: number }

const ENVELOPE_ID = /^[A-Za-z0-9_-]{1,64}$/
const CURSOR = /^[0-9A-Za-z_-]{1,64}$/
const REFUSALS = new Set<string>(Object.values(MailboxErrorCode).filter(c => c !== MailboxErrorCode.UNREACHABLE))

function invalid (message: string): never {
  throw new MailboxError(MailboxErrorCode.INVALID, message)
}

function isObject (value: unknown): value is MailObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function only (o: MailObject, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) if (!allowed.includes(key)) invalid(`unexpected member "${key}"`)
}

/** The UTF-8 JSON of a frame. */
export function encodeFrame (value: object): Uint8Array {
  return utf8(JSON.stringify(value))
}

function parseObject (bytes: Uint8Array): MailObject {
  let value: unknown
  try {
    value = JSON.parse(fromUtf8(bytes))
  } catch {
    invalid('the frame is not UTF-8 JSON')
  }
  if (!isObject(value)) invalid('the frame is not a JSON object')
  return value
}

function ids (value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BATCH) invalid(`"ids" must be an array of 1 to ${MAX_BATCH} envelope ids`)
  for (const id of value) if (typeof id !== 'string' || !ENVELOPE_ID.test(id)) invalid('an id is not an envelope id')
  return value as string[]
}

/** A request frame, checked; throws `ERR_MAILBOX_INVALID`. */
export function parseRequest (bytes: Uint8Array): MailboxRequest {
  const o = parseObject(bytes)
  switch (o.op) {
    case 'deposit':
      only(o, ['op', 'envelope', 'record'])
      if (!isObject(o.envelope)) invalid('"envelope" must be an object')
      if (!isObject(o.record)) invalid('"record" must be an object')
      return { op: 'deposit', envelope: o.envelope, record: o.record }
    case 'status':
    case 'live':
      only(o, ['op'])
      return { op: o.op }
    case 'pull': {
      only(o, ['op', 'limit', 'after'])
      if (o.limit !== undefined && (typeof o.limit !== 'number' || !Number.isInteger(o.limit) || o.limit < 1 || o.limit > MAX_BATCH)) invalid(`"limit" must be an integer from 1 to ${MAX_BATCH}`)
      if (o.after !== undefined && (typeof o.after !== 'string' || !CURSOR.test(o.after))) invalid('"after" is not a cursor')
      return { op: 'pull', ...(o.limit === undefined ? {} : { limit: o.limit }), ...(o.after === undefined ? {} : { after: o.after as string }) }
    }
    case 'ack':
      only(o, ['op', 'ids'])
      return { op: 'ack', ids: ids(o.ids) }
    default:
      return invalid('"op" must be deposit, status, pull, ack or live')
  }
}

/** The refusal frame for `err` (a {@link MailboxError}; anything else is `ERR_MAILBOX_INVALID`). */
export function refusal (err: unknown): Refusal {
  if (err instanceof MailboxError && err.code !== MailboxErrorCode.UNREACHABLE) {
    return { status: err.code, message: err.message, ...(err.scope === undefined ? {} : { scope: err.scope }), ...(err.limit === undefined ? {} : { limit: err.limit }) }
  }
  return { status: MailboxErrorCode.INVALID, message: 'invalid request' }
}

function count (value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) invalid(`"${name}" is not a count`)
  return value
}

/** Throws the {@link MailboxError} an answer carries, if it is a refusal. */
function refused (o: MailObject): void {
  if (o.status === 'ok' || o.status === 'stored') return
  if (typeof o.status !== 'string' || !REFUSALS.has(o.status)) invalid('the answer has no known status')
  const message = typeof o.message === 'string' ? o.message.slice(0, 500) : o.status
  throw new MailboxError(o.status as Code, message, {
    ...(typeof o.scope === 'string' ? { scope: o.scope.slice(0, 32) } : {}),
    ...(typeof o.limit === 'number' ? { limit: o.limit } : {})
  })
}

/** The answer to a `deposit`; a refusal throws its {@link MailboxError}. */
export function parseStored (bytes: Uint8Array): Stored {
  const o = parseObject(bytes)
  refused(o)
  if (o.status !== 'stored' || typeof o.id !== 'string' || !ENVELOPE_ID.test(o.id)) invalid('not a deposit\'s answer')
  return { status: 'stored', id: o.id, expires: count(o.expires, 'expires') }
}

/** The answer to a `status`; a refusal throws. */
export function parseStatus (bytes: Uint8Array): MailStatus {
  const o = parseObject(bytes)
  refused(o)
  return { status: 'ok', count: count(o.count, 'count'), bytes: count(o.bytes, 'bytes') }
}

/** The answer to a `pull`; a refusal throws. */
export function parsePulled (bytes: Uint8Array): Pulled {
  const o = parseObject(bytes)
  refused(o)
  if (!Array.isArray(o.messages) || o.messages.length > MAX_BATCH) invalid('"messages" is not a batch')
  const messages = o.messages.map(m => {
    if (!isObject(m) || !isObject(m.envelope) || typeof m.cursor !== 'string' || !CURSOR.test(m.cursor)) invalid('a message is not { envelope, cursor, received }')
    return { envelope: m.envelope, cursor: m.cursor, received: count(m.received, 'received') }
  })
  return { status: 'ok', messages, remaining: count(o.remaining, 'remaining') }
}

/** The answer to an `ack`; a refusal throws. */
export function parseAcked (bytes: Uint8Array): Acked {
  const o = parseObject(bytes)
  refused(o)
  return { status: 'ok', deleted: count(o.deleted, 'deleted') }
}

/** A frame of a `live` stream: the first (`status: ok`, `count`) or a later one (`new`); the count waiting. */
export function parseLive (bytes: Uint8Array): number {
  const o = parseObject(bytes)
  if (o.status === undefined && o.new !== undefined) return count(o.new, 'new')
  refused(o)
  return count(o.count, 'count')
}
