/**
 * The relay's mail, kept in its datastore (protocols/mailbox §5): one
 * datastore entry per message, its metadata in the key and the envelope's
 * canonical bytes as the value, and an in-memory index rebuilt from the keys
 * alone on start. Counters (per sender, per recipient, in total) are
 * reserved before the write and released if it fails, so concurrent
 * deposits cannot overrun a quota.
 *
 * Key: `/parley/mailbox/m/<seq>/<to>/<from>/<id>/<received>/<expires>/<bytes>`,
 * `seq` 16 decimal digits, so that key order is store order. `seq` starts
 * from the clock (ms × 1024) and only grows, so a cursor handed out before a
 * restart still sorts before mail stored after it.
 */
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { logger } from '@libp2p/logger'
import { DEFAULT_MAILBOX_QUOTAS } from './constants.js'
import { MailboxError, MailboxErrorCode } from './errors.js'

const log = logger('parley:mailbox:store')

/** Where mail lives in the datastore. */
export const MAILBOX_KEY_PREFIX = '/parley/mailbox/m'
const SEQ_DIGITS = 16
const PEER = /^[A-Za-z0-9]{1,128}$/
const ID = /^[A-Za-z0-9_-]{1,64}$/
const NUMBER = /^\d{1,16}$/

/** The quotas a {@link MailStore} enforces (protocols/mailbox §5). */
export interface MailboxQuotas {
  /** Messages stored from one sender, across all recipients. */
  perSender: number
  /** Messages stored for one recipient. */
  perRecipient: number
  /** Envelope bytes stored for one recipient. */
  perRecipientBytes: number
  /** Messages stored in all. */
  total: number
  /** Envelope bytes stored in all. */
  totalBytes: number
}

/** One stored message as the index knows it (the envelope stays in the datastore). */
export interface MailEntry {
  /** Store order; the cursor is its 16-digit form. */
  readonly seq: number
  /** The recipient's peer id. */
  readonly to: string
  /** The sender's peer id. */
  readonly from: string
  /** The envelope id. */
  readonly id: string
  /** When it was stored, ms since the Unix epoch. */
  readonly received: number
  /** When it is deleted unacknowledged. */
  readonly expires: number
  /** The envelope's canonical JSON length in bytes. */
  readonly bytes: number
}

/** What waits for one recipient. */
interface Box {
  /** By seq, in store order (a Map keeps insertion order, and seqs only grow). */
  entries: Map<number, MailEntry>
  /** Envelope ids, for dedupe and ack. */
  ids: Map<string, MailEntry>
  bytes: number
}

/** The cursor of `seq`: what `pull` hands out and takes back as `after`. */
export function cursorOf (seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0')
}

/** The seq a cursor names, or undefined when the relay did not make it. */
export function seqOfCursor (cursor: string): number | undefined {
  return /^\d{16}$/.test(cursor) ? Number(cursor) : undefined
}

function keyOf (e: MailEntry): Key {
  return new Key(`${MAILBOX_KEY_PREFIX}/${cursorOf(e.seq)}/${e.to}/${e.from}/${e.id}/${e.received}/${e.expires}/${e.bytes}`, false)
}

function entryOfKey (key: Key): MailEntry | undefined {
  const parts = key.toString().slice(MAILBOX_KEY_PREFIX.length + 1).split('/')
  if (parts.length !== 7) return undefined
  const [seq, to, from, id, received, expires, bytes] = parts as [string, string, string, string, string, string, string]
  if (!/^\d{16}$/.test(seq) || !PEER.test(to) || !PEER.test(from) || !ID.test(id) || !NUMBER.test(received) || !NUMBER.test(expires) || !NUMBER.test(bytes)) return undefined
  return { seq: Number(seq), to, from, id, received: Number(received), expires: Number(expires), bytes: Number(bytes) }
}

/** Options of a {@link MailStore}. */
export interface MailStoreOptions {
  /** Quotas; unset fields take `DEFAULT_MAILBOX_QUOTAS`. */
  quotas?: Partial<MailboxQuotas>
  /** The clock, ms since the Unix epoch (default `Date.now`). */
  clock?: () => number
}

/** A message to store. */
export interface NewMail {
  /** The recipient's peer id. */
  to: string
  /** The sender's peer id. */
  from: string
  /** The envelope id. */
  id: string
  /** The envelope's canonical JSON bytes. */
  envelope: Uint8Array
  /** When it expires, ms since the Unix epoch. */
  expires: number
}

/** A stored message read back for `pull`. */
export interface ReadMail {
  /** Its index entry. */
  entry: MailEntry
  /** The envelope's canonical JSON bytes. */
  envelope: Uint8Array
}

/** What {@link MailStore.put} did. */
export interface PutResult {
  /** The stored message's index entry (for a duplicate, the one stored first). */
  entry: MailEntry
  /** Whether the message was stored already (nothing was written). */
  duplicate: boolean
}

/** What waits for one recipient. */
export interface MailCount {
  /** Messages. */
  count: number
  /** Their envelope bytes. */
  bytes: number
}

/** One batch of a recipient's mail. */
export interface PullBatch {
  /** Oldest first. */
  messages: ReadMail[]
  /** How many wait beyond this batch. */
  remaining: number
}

/** The mail a relay keeps, durable in a datastore, indexed in memory. */
export class MailStore {
  readonly #datastore: Datastore
  readonly #clock: () => number
  /** The quotas in force. */
  readonly quotas: MailboxQuotas
  readonly #boxes = new Map<string, Box>()
  readonly #senders = new Map<string, number>()
  /** Deposits being written, by `to\nid`: a concurrent duplicate waits for the first. */
  readonly #writing = new Map<string, Promise<MailEntry>>()
  #count = 0
  #bytes = 0
  #lastSeq = 0

  constructor (datastore: Datastore, options: MailStoreOptions = {}) {
    this.#datastore = datastore
    this.#clock = options.clock ?? Date.now
    this.quotas = { ...DEFAULT_MAILBOX_QUOTAS, ...options.quotas }
  }

  /** Messages stored (written or being written). */
  get count (): number { return this.#count }
  /** Envelope bytes stored (written or being written). */
  get bytes (): number { return this.#bytes }

  /**
   * Rebuilds the index from the datastore's keys, deleting expired mail;
   * a key it cannot read (another format) is left alone. Returns the count kept.
   */
  async load (): Promise<number> {
    this.#boxes.clear()
    this.#senders.clear()
    this.#count = 0
    this.#bytes = 0
    const now = this.#clock()
    const drop: Key[] = []
    let unreadable = 0
    for await (const key of this.#datastore.queryKeys({ prefix: MAILBOX_KEY_PREFIX + '/' })) {
      const entry = entryOfKey(key)
      if (entry === undefined) { unreadable++; continue }
      this.#lastSeq = Math.max(this.#lastSeq, entry.seq)
      if (entry.expires <= now) { drop.push(key); continue }
      this.#add(entry)
    }
    await this.#deleteKeys(drop)
    if (drop.length > 0) log('deleted %d expired messages on load', drop.length)
    if (unreadable > 0) log.error('left %d mailbox keys it cannot read', unreadable)
    return this.#count
  }

  #add (e: MailEntry): void {
    let box = this.#boxes.get(e.to)
    if (box === undefined) this.#boxes.set(e.to, box = { entries: new Map(), ids: new Map(), bytes: 0 })
    box.entries.set(e.seq, e)
    box.ids.set(e.id, e)
    box.bytes += e.bytes
    this.#senders.set(e.from, (this.#senders.get(e.from) ?? 0) + 1)
    this.#count++
    this.#bytes += e.bytes
  }

  #remove (e: MailEntry): boolean {
    const box = this.#boxes.get(e.to)
    if (box?.entries.get(e.seq) !== e) return false
    box.entries.delete(e.seq)
    box.ids.delete(e.id)
    box.bytes -= e.bytes
    if (box.entries.size === 0) this.#boxes.delete(e.to)
    const sent = (this.#senders.get(e.from) ?? 1) - 1
    if (sent <= 0) this.#senders.delete(e.from)
    else this.#senders.set(e.from, sent)
    this.#count--
    this.#bytes -= e.bytes
    return true
  }

  async #deleteKeys (keys: Key[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = this.#datastore.batch()
      for (const key of keys.slice(i, i + 1000)) batch.delete(key)
      await batch.commit()
    }
  }

  /** The stored (or being stored) message for `to` with envelope id `id`. */
  find (to: string, id: string): MailEntry | undefined {
    return this.#boxes.get(to)?.ids.get(id)
  }

  /**
   * Stores a message durably: resolves once the datastore's `put` returned.
   * A message already stored under the same `to` and `id` is not stored
   * again: its entry comes back. Throws `ERR_MAILBOX_QUOTA` (`scope`,
   * `limit`) or `ERR_MAILBOX_FULL`.
   */
  async put (mail: NewMail): Promise<PutResult> {
    const dupKey = mail.to + '\n' + mail.id
    const writing = this.#writing.get(dupKey)
    if (writing !== undefined) return { entry: await writing, duplicate: true }
    const stored = this.find(mail.to, mail.id)
    if (stored !== undefined) return { entry: stored, duplicate: true }
    const size = mail.envelope.byteLength
    const q = this.quotas
    if ((this.#senders.get(mail.from) ?? 0) >= q.perSender) throw new MailboxError(MailboxErrorCode.QUOTA, `the sender has ${q.perSender} messages stored here`, { scope: 'sender', limit: q.perSender })
    const box = this.#boxes.get(mail.to)
    if ((box?.entries.size ?? 0) >= q.perRecipient) throw new MailboxError(MailboxErrorCode.QUOTA, `the recipient has ${q.perRecipient} messages waiting here`, { scope: 'recipient', limit: q.perRecipient })
    if ((box?.bytes ?? 0) + size > q.perRecipientBytes) throw new MailboxError(MailboxErrorCode.QUOTA, `the recipient's mail would pass ${q.perRecipientBytes} bytes`, { scope: 'recipient', limit: q.perRecipientBytes })
    if (this.#count >= q.total) throw new MailboxError(MailboxErrorCode.FULL, `the relay holds ${q.total} messages`, { limit: q.total })
    if (this.#bytes + size > q.totalBytes) throw new MailboxError(MailboxErrorCode.FULL, `the relay's mail would pass ${q.totalBytes} bytes`, { limit: q.totalBytes })
    const now = this.#clock()
    const seq = this.#lastSeq = Math.max(this.#lastSeq + 1, now * 1024)
    const entry: MailEntry = { seq, to: mail.to, from: mail.from, id: mail.id, received: now, expires: mail.expires, bytes: size }
    // counted (and findable) before the write, so that quotas hold under concurrency
    this.#add(entry)
    const write = (async () => {
      try {
        await this.#datastore.put(keyOf(entry), mail.envelope)
        return entry
      } catch (err) {
        this.#remove(entry)
        throw err
      } finally {
        this.#writing.delete(dupKey)
      }
    })()
    this.#writing.set(dupKey, write)
    return { entry: await write, duplicate: false }
  }

  /** Whether `entry` is written (not still being written). */
  #durable (entry: MailEntry): boolean {
    return !this.#writing.has(entry.to + '\n' + entry.id)
  }

  /** Deletes `to`'s expired mail; resolves once the datastore forgot it. */
  async #expire (to: string, now: number): Promise<void> {
    const box = this.#boxes.get(to)
    if (box === undefined) return
    const gone: MailEntry[] = []
    for (const e of box.entries.values()) if (e.expires <= now && this.#durable(e)) gone.push(e)
    for (const e of gone) this.#remove(e)
    await this.#deleteKeys(gone.map(keyOf))
  }

  /** What waits for `to` (expired mail deleted first). */
  async status (to: string): Promise<MailCount> {
    await this.#expire(to, this.#clock())
    const box = this.#boxes.get(to)
    let count = 0
    let bytes = 0
    for (const e of box?.entries.values() ?? []) {
      if (!this.#durable(e)) continue
      count++
      bytes += e.bytes
    }
    return { count, bytes }
  }

  /**
   * `to`'s oldest messages after seq `after`: at most `limit` and at most
   * `maxBytes` of envelopes (at least one), and how many wait beyond them.
   */
  async pull (to: string, limit: number, maxBytes: number, after = -1): Promise<PullBatch> {
    const now = this.#clock()
    await this.#expire(to, now)
    const box = this.#boxes.get(to)
    const messages: ReadMail[] = []
    let remaining = 0
    let bytes = 0
    let full = false
    for (const e of box?.entries.values() ?? []) {
      if (e.seq <= after || !this.#durable(e)) continue
      if (full || messages.length >= limit || (messages.length > 0 && bytes + e.bytes > maxBytes)) { full = true; remaining++; continue }
      let envelope: Uint8Array
      try {
        envelope = await this.#datastore.get(keyOf(e))
      } catch (err) {
        // acknowledged or expired meanwhile, or unreadable: skip it
        log('could not read message %s for %s: %e', e.id, to, err)
        continue
      }
      messages.push({ entry: e, envelope })
      bytes += e.bytes
    }
    return { messages, remaining }
  }

  /** Deletes `to`'s messages with these envelope ids; resolves with how many were deleted. */
  async ack (to: string, ids: readonly string[]): Promise<number> {
    const box = this.#boxes.get(to)
    if (box === undefined) return 0
    const gone: MailEntry[] = []
    for (const id of new Set(ids)) {
      const e = box.ids.get(id)
      if (e !== undefined && this.#durable(e)) gone.push(e)
    }
    for (const e of gone) this.#remove(e)
    await this.#deleteKeys(gone.map(keyOf))
    return gone.length
  }

  /** Deletes all expired mail; resolves with how much. */
  async sweep (): Promise<number> {
    const now = this.#clock()
    const gone: MailEntry[] = []
    for (const box of this.#boxes.values()) {
      for (const e of box.entries.values()) if (e.expires <= now && this.#durable(e)) gone.push(e)
    }
    for (const e of gone) this.#remove(e)
    await this.#deleteKeys(gone.map(keyOf))
    return gone.length
  }

  /** Resolves once every write under way has finished (one way or the other). */
  async settle (): Promise<void> {
    await Promise.allSettled([...this.#writing.values()])
  }
}
