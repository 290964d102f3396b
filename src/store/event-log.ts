/**
 * The node's event log: append-only, hash-chained, signed by the node
 * (`protocols/event-log`): the last entry of every batch written carries a
 * signature, which covers the entries before it through the chain. Entries live in a datastore under
 * `/parley/log/<seq, 16 digits>`, as their canonical bytes.
 *
 * Appends are serialized: they take their `seq` and `prev` in call order, so
 * any number of concurrent `append` calls still form one chain. Appends that
 * arrive while a write is in flight are written together in one datastore
 * batch (group commit) under one signature, on the batch's last entry; a
 * lone append costs one signature and one `put`.
 *
 * Durability: `append` resolves only after the datastore's `put` (or the
 * batch's `commit`) holding that entry resolved, so an entry a caller has
 * seen is as durable as the datastore makes its writes. With
 * `LevelDatastore` that is LevelDB's write-ahead log without fsync: it
 * survives the process crashing, not necessarily the machine losing power.
 * When the write fails, that append (and any batched with it) rejects and
 * the log's head stays where it was.
 */
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { canonicalize, CanonicalJsonError } from '../crypto/canonical-json.js'
import { fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { EventLogError, EventLogErrorCode as Code } from './errors.js'
import { describe, isCount, isPlainObject, sha256Base64url } from './signed.js'
import type { StoreSigner } from './signed.js'
import {
  checkEntryShape, entryBytes, entrySignatureValid, entryText, handoverNext, verifyLog, EventType,
  EVENT_TYPE_PATTERN, LOG_EXPORT_TYPE, LOG_SIGNING_CONTEXT, LOG_VERSION, MAX_ENTRY_BYTES
} from './log-format.js'
import type { ExportedLog, LogEntry, LogHead, LogVerification } from './log-format.js'

function settleVoid (_text: string, resolve: () => void): void { resolve() }

/** The canonical text of event data; data that has none is `ERR_LOG_INVALID_ARGUMENT`. */
function dataTextOf (data: Record<string, unknown>): string {
  if (!isPlainObject(data)) throw new EventLogError(Code.INVALID_ARGUMENT, 'event data must be a plain JSON object')
  try {
    return canonicalize(data)
  } catch (cause) {
    if (cause instanceof CanonicalJsonError) throw new EventLogError(Code.INVALID_ARGUMENT, `event data is not JSON: ${cause.message}`, { cause })
    throw cause
  }
}

/** Datastore key prefix of the log's entries. */
export const LOG_KEY_PREFIX = '/parley/log/'
/** Most entries written in one batch. */
const MAX_BATCH = 256
/** Room for every member but `data` in an entry's canonical bytes (they need under 400). */
const ENTRY_OVERHEAD = 512

/** The datastore key of entry `seq`. */
export function logKey (seq: number): Key {
  return new Key(LOG_KEY_PREFIX + String(seq).padStart(16, '0'))
}

/** Options of {@link EventLog.open}. */
export interface EventLogOptions {
  /** The clock, ms since the Unix epoch (default `Date.now`). */
  now?: () => number
  /**
   * Verify every stored entry on open (one signature check each), not only
   * the last one. Default `false`.
   */
  verify?: boolean
}

/** Which entries {@link EventLog.entries} yields. */
export interface EntriesQuery {
  /** First `seq` to yield (inclusive). Default 0. */
  since?: number
  /** Only entries of this type, or of one of these types. */
  type?: string | readonly string[]
  /** Yield at most this many entries. */
  limit?: number
}

interface Queued {
  type: string
  dataText: string
  /** For a handover: the key that signs the entries after it. */
  next?: StoreSigner
  /** Called with the entry's canonical text once it is durable. */
  resolve: (text: string) => void
  reject: (err: unknown) => void
}

/**
 * A node's event log. Open one with {@link EventLog.open}.
 *
 * @example
 * ```ts
 * import { MemoryDatastore } from 'datastore-core'
 * import { createIdentity } from 'parley-mesh/identity'
 * import { EventLog, EventType } from 'parley-mesh/store'
 * declare const bob: string // a peer id
 *
 * const identity = await createIdentity({ kind: 'agent' })
 * const log = await EventLog.open(new MemoryDatastore(), identity)
 * await log.append(EventType.SESSION_OPEN, { session: 's1', peer: bob })
 * for await (const e of log.entries({ type: 'session.open' })) console.log(e.seq, e.data)
 * const proof = await log.export() // verifyLog(proof) anywhere, offline
 * ```
 */
export class EventLog {
  /** The peer whose log this is: the key that began it (exports name it; see {@link handOver}). */
  readonly peer: string
  readonly #ds: Datastore
  #signer: StoreSigner
  readonly #now: () => number
  #head: LogHead | undefined
  #queue: Queued[] = []
  #draining: Promise<void> | undefined
  #closed = false

  private constructor (ds: Datastore, signer: StoreSigner, now: () => number, head: LogHead | undefined, origin: string) {
    this.peer = origin
    this.#ds = ds
    this.#signer = signer
    this.#now = now
    this.#head = head
  }

  /**
   * Opens the log kept in `datastore`, signed by `signer`; an existing log
   * continues its chain. The last stored entry is checked (members, owner,
   * signature), or every entry with `options.verify`.
   *
   * A log handed over to `signer` (its last entry by `signer`, or the
   * `log.handover` naming it) goes on under `signer`.
   *
   * @throws {EventLogError} when the stored log is damaged (code and `seq` as
   * {@link verifyLog}) or belongs to another key (`ERR_LOG_WRONG_SIGNER`).
   */
  static async open (datastore: Datastore, signer: StoreSigner, options: EventLogOptions = {}): Promise<EventLog> {
    const last = await lastSeq(datastore)
    let head: LogHead | undefined
    let unsignedHead = false
    /** Entry 0's key, when entry 0 is the one just read. */
    let first: string | undefined
    if (last >= 0) {
      const bytes = await datastore.get(logKey(last))
      const entry = parseStored(bytes, last)
      if (entry.seq !== last) throw new EventLogError(Code.SEQ, `entry ${last}: stored under seq ${last} but says ${entry.seq}`, { seq: last })
      if (entry.sig !== undefined && !await entrySignatureValid(entry)) throw new EventLogError(Code.BAD_SIGNATURE, `entry ${last}: the signature does not verify`, { seq: last })
      const handedTo = entry.type === EventType.LOG_HANDOVER ? handoverNext(entry, last) : undefined
      // a log handed over opens under the key it was handed to, and no longer under the one that gave it away
      if ((handedTo ?? entry.by) !== signer.peerIdString) {
        throw new EventLogError(Code.WRONG_SIGNER, `the log in this datastore belongs to ${handedTo ?? entry.by}, not ${signer.peerIdString}`, { seq: last })
      }
      head = { seq: last, hash: sha256Base64url(bytes), ts: entry.ts }
      if (last === 0) first = entry.by
      unsignedHead = entry.sig === undefined
    }
    // exports name the key that began the log, which a handover does not change
    const origin = last > 0 ? parseStored(await datastore.get(logKey(0)), 0).by : (first ?? signer.peerIdString)
    const log = new EventLog(datastore, signer, options.now ?? Date.now, head, origin)
    // a batch that reached the datastore without its signed last entry (a crash between writes cannot do
    // this: a batch is one write; but an older writer could have): seal it with a signed entry
    if (unsignedHead) await log.append('log.checkpoint', { reason: 'opened with an unsigned last entry' })
    if (options.verify === true) await log.verify()
    return log
  }

  /** The last durable entry, or `undefined` while the log is empty. */
  get head (): LogHead | undefined {
    return this.#head === undefined ? undefined : { ...this.#head }
  }

  /** Number of durable entries. */
  get length (): number {
    return this.#head === undefined ? 0 : this.#head.seq + 1
  }

  /**
   * Hands the log to another key (a key rotation): appends a `log.handover`
   * entry `{ next }` signed by the current key, after which entries are
   * signed by `next` (protocols/event-log §3.1); a datastore whose log was
   * handed over opens with `next` as its signer. Resolves with the entry
   * once durable.
   */
  async handOver (next: StoreSigner): Promise<LogEntry> {
    if (next.peerIdString === this.#signer.peerIdString) throw new EventLogError(Code.INVALID_ARGUMENT, 'a log can only be handed to another key')
    return this.#enqueue(EventType.LOG_HANDOVER, dataTextOf({ next: next.peerIdString }), (text, resolve: (entry: LogEntry) => void) => { resolve(JSON.parse(text) as LogEntry) }, next)
  }

  /**
   * Appends an event; resolves with the signed entry once it is durable (see
   * the module doc). `data` is copied: later changes to it do not reach the log.
   *
   * @throws {EventLogError} `ERR_LOG_INVALID_ARGUMENT` for a type that does
   * not match {@link EVENT_TYPE_PATTERN}, `data` that is not a JSON object
   * of I-JSON values or would make the entry larger than
   * {@link MAX_ENTRY_BYTES}; `ERR_LOG_CLOSED` after {@link close}. Signer
   * and datastore failures reject as they are.
   */
  async append (type: string, data: Record<string, unknown>): Promise<LogEntry> {
    return this.#enqueue(type, dataTextOf(data), (text, resolve: (entry: LogEntry) => void) => { resolve(JSON.parse(text) as LogEntry) })
  }

  /**
   * {@link append} for a writer that does not need the entry back (a busy
   * node's fire-and-forget events): resolves once durable, without
   * building the entry object.
   */
  async record (type: string, data: Record<string, unknown>): Promise<void> {
    return this.#enqueue(type, dataTextOf(data), settleVoid)
  }

  /**
   * {@link record} for data whose canonical text the caller already holds,
   * such as an object around an envelope's verified wire bytes (which are
   * its RFC 8785 text): `dataText` must be the canonical JSON of an object.
   * It is not parsed or canonicalized again, which is the point; a text
   * that is not canonical would leave an entry that fails verification.
   *
   * @throws {EventLogError} as {@link record}; `ERR_LOG_INVALID_ARGUMENT`
   * also for a text that is not an object's.
   */
  async recordCanonical (type: string, dataText: string): Promise<void> {
    if (typeof dataText !== 'string' || !dataText.startsWith('{') || !dataText.endsWith('}')) {
      throw new EventLogError(Code.INVALID_ARGUMENT, 'event data must be the canonical JSON of an object')
    }
    return this.#enqueue(type, dataText, settleVoid)
  }

  async #enqueue<T> (type: string, dataText: string, settle: (text: string, resolve: (value: T) => void) => void, next?: StoreSigner): Promise<T> {
    if (this.#closed) throw new EventLogError(Code.CLOSED, 'the event log is closed')
    if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) {
      throw new EventLogError(Code.INVALID_ARGUMENT, `event type ${describe(type)} does not match ${String(EVENT_TYPE_PATTERN)}`)
    }
    const size = utf8(dataText).byteLength
    if (size + ENTRY_OVERHEAD > MAX_ENTRY_BYTES) {
      throw new EventLogError(Code.INVALID_ARGUMENT, `event data of ${size} bytes would make an entry over ${MAX_ENTRY_BYTES} bytes`)
    }
    return new Promise<T>((resolve, reject) => {
      // queued synchronously: concurrent appends take their places in call order
      this.#queue.push({ type, dataText, resolve: (text) => { settle(text, resolve) }, reject, ...(next === undefined ? {} : { next }) })
      // start draining after the current task, so that appends made together are written (and signed) together
      this.#draining ??= Promise.resolve().then(async () => { await this.#drain() })
    })
  }

  /** Writes queued appends, a batch at a time, until the queue is empty. */
  async #drain (): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH)
      const written: string[] = []
      let head = this.#head
      let signer = this.#signer
      try {
        const pairs: Array<[Key, Uint8Array]> = []
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i] as (typeof batch)[number]
          const seq = head === undefined ? 0 : head.seq + 1
          // the log's time never runs backwards, even when the clock does
          const ts = Math.max(Math.floor(this.#now()), head?.ts ?? 0)
          const fields = { by: signer.peerIdString, dataText: item.dataText, prev: head?.hash, seq, ts, type: item.type }
          // one signature per batch, on its last entry: it covers the others through their hashes; a
          // handover is signed itself, by the key handing over, and the entries after it by the next key
          const sig = i === batch.length - 1 || item.next !== undefined ? toBase64url(await signer.sign(utf8(LOG_SIGNING_CONTEXT + entryText(fields)))) : undefined
          if (item.next !== undefined) signer = item.next
          const text = entryText(sig === undefined ? fields : { ...fields, sig })
          const bytes = utf8(text)
          pairs.push([logKey(seq), bytes])
          written.push(text)
          head = { seq, hash: sha256Base64url(bytes), ts }
        }
        await this.#write(pairs)
        this.#head = head
        this.#signer = signer
        for (let i = 0; i < batch.length; i++) batch[i]?.resolve(written[i] as string)
      } catch (err) {
        for (const item of batch) item.reject(err)
      }
    }
    this.#draining = undefined
  }

  async #write (pairs: Array<[Key, Uint8Array]>): Promise<void> {
    if (pairs.length === 1) {
      const [key, bytes] = pairs[0] as [Key, Uint8Array]
      await this.#ds.put(key, bytes)
      return
    }
    const batch = this.#ds.batch()
    for (const [key, bytes] of pairs) batch.put(key, bytes)
    await batch.commit()
  }

  /** Resolves once every append made so far has settled. */
  async flush (): Promise<void> {
    while (this.#draining !== undefined) await this.#draining
  }

  /** The entry at `seq`, or `undefined` past the head. */
  async get (seq: number): Promise<LogEntry | undefined> {
    this.#checkOpen()
    if (!isCount(seq)) throw new EventLogError(Code.INVALID_ARGUMENT, `seq ${describe(seq)} is not an integer in [0, 2^53 - 1]`)
    if (this.#head === undefined || seq > this.#head.seq) return undefined
    return this.#read(seq)
  }

  async #read (seq: number): Promise<LogEntry> {
    return JSON.parse(fromUtf8(await this.#ds.get(logKey(seq)))) as LogEntry
  }

  /**
   * The durable entries in `seq` order, from `since`, optionally of some
   * types only, at most `limit`. Entries appended during the iteration are
   * included.
   */
  async * entries (query: EntriesQuery = {}): AsyncGenerator<LogEntry> {
    this.#checkOpen()
    const { since = 0, limit = Number.MAX_SAFE_INTEGER } = query
    if (!isCount(since)) throw new EventLogError(Code.INVALID_ARGUMENT, `since ${describe(since)} is not an integer in [0, 2^53 - 1]`)
    if (!isCount(limit)) throw new EventLogError(Code.INVALID_ARGUMENT, `limit ${describe(limit)} is not an integer in [0, 2^53 - 1]`)
    const types = query.type === undefined ? undefined : new Set(typeof query.type === 'string' ? [query.type] : query.type)
    let yielded = 0
    for (let seq = since; yielded < limit; seq++) {
      const head = this.#head
      if (head === undefined || seq > head.seq) return
      const entry = await this.#read(seq)
      if (types !== undefined && !types.has(entry.type)) continue
      yielded++
      yield entry
    }
  }

  /**
   * The whole durable log as one JSON document (`protocols/event-log` §5),
   * for {@link verifyLog}. Appends still in flight are not included.
   */
  async export (): Promise<ExportedLog> {
    const entries: LogEntry[] = []
    const end = this.length
    for await (const entry of this.entries()) {
      if (entry.seq >= end) break
      entries.push(entry)
    }
    return { v: LOG_VERSION, type: LOG_EXPORT_TYPE, peer: this.peer, entries }
  }

  /** Verifies the stored log as a third party would ({@link verifyLog} of {@link export}). */
  async verify (): Promise<LogVerification> {
    return verifyLog(await this.export())
  }

  /**
   * Stops accepting appends and waits for those queued to settle. The
   * datastore stays open: it belongs to the caller.
   */
  async close (): Promise<void> {
    this.#closed = true
    await this.flush()
  }

  #checkOpen (): void {
    if (this.#closed) throw new EventLogError(Code.CLOSED, 'the event log is closed')
  }
}

/** Parses and checks a stored entry's bytes (they are always canonical: this module wrote them). */
function parseStored (bytes: Uint8Array, seq: number): LogEntry {
  let value: unknown
  try {
    value = JSON.parse(fromUtf8(bytes))
  } catch (cause) {
    throw new EventLogError(Code.MALFORMED, `entry ${seq}: stored bytes are not UTF-8 JSON`, { seq, cause })
  }
  const entry = checkEntryShape(value, seq)
  const canonical = entryBytes(entry, seq)
  if (fromUtf8(canonical) !== fromUtf8(bytes)) throw new EventLogError(Code.MALFORMED, `entry ${seq}: stored bytes are not canonical`, { seq })
  return entry
}

/**
 * The highest stored `seq`, or -1 for an empty log. Entries are stored
 * without gaps from 0, so a galloping search finds the end in about
 * 2·log₂(n) key lookups and the hot path needs no separate head record.
 */
async function lastSeq (ds: Datastore): Promise<number> {
  if (!await ds.has(logKey(0))) return -1
  let lo = 0
  let step = 1
  while (await ds.has(logKey(lo + step))) {
    lo += step
    step *= 2
  }
  let hi = lo + step
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (await ds.has(logKey(mid))) lo = mid
    else hi = mid
  }
  return lo
}
