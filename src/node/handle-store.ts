/**
 * The handle records a DHT server holds in its datastore, read back and
 * validated for display (the dev dashboard's handle directory) and for
 * checking handle claims (presence announcements) without a network query.
 * Validation results are cached per record text, so re-reading the store
 * every few seconds costs a datastore scan, not a signature check per record.
 */
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { HandleRecordError } from '../errors.js'
import { HANDLE_KEY_PREFIX, handleKey, parseHandleRecord, validateHandleRecord } from '../handles/record.js'
import type { HandleRecord } from '../handles/record.js'
import { fromUtf8 } from '../crypto/bytes.js'
import { BoundedCache } from '../util/bounded-cache.js'
import { DHT_RECORD_PREFIX } from './constants.js'
import type { HandleView } from '../handles/view.js'

/** One stored record, as checked now: what the dashboard's handle directory shows. */
export type StoredHandle = HandleView

/** How a {@link HandleStore} checks the records it reads. */
export interface HandleStoreOptions {
  /** Least proof-of-work difficulty accepted (default `DEFAULT_POW_BITS`). */
  minPowBits?: number
  /** The time records are checked against, ms since the Unix epoch (default `Date.now`). */
  clock?: () => number
}

type Checked = { record: HandleRecord } | { code: string, record?: HandleRecord }

/** The handle records in a DHT server's datastore, read back and validated. */
export class HandleStore {
  readonly #datastore: Datastore
  readonly #options: HandleStoreOptions
  readonly #checked = new BoundedCache<string, Checked>(4096)

  constructor (datastore: Datastore, options: HandleStoreOptions = {}) {
    this.#datastore = datastore
    this.#options = options
  }

  /** Every handle record in the store, checked now. */
  async list (): Promise<StoredHandle[]> {
    const out: StoredHandle[] = []
    for await (const { value } of this.#datastore.query({ prefix: DHT_RECORD_PREFIX })) {
      const shown = await this.#check(value)
      if (shown !== undefined) out.push(shown)
    }
    return out.sort((a, b) => a.handle.localeCompare(b.handle))
  }

  /** The stored record of `handle`, checked now, or undefined when none is stored. */
  async get (handle: string): Promise<StoredHandle | undefined> {
    const key = new Key(`${DHT_RECORD_PREFIX}/${uint8ArrayToString(handleKey(handle), 'base32')}`, false)
    let value: Uint8Array
    try {
      value = await this.#datastore.get(key)
    } catch {
      return undefined
    }
    return this.#check(value)
  }

  async #check (stored: Uint8Array): Promise<StoredHandle | undefined> {
    let dht: DhtRecord
    try {
      dht = DhtRecord.deserialize(stored)
    } catch {
      return undefined
    }
    let key: string
    try {
      key = fromUtf8(dht.key)
    } catch {
      return undefined
    }
    if (!key.startsWith(HANDLE_KEY_PREFIX)) return undefined
    const now = (this.#options.clock ?? Date.now)()
    let text: string
    try {
      text = fromUtf8(dht.value)
    } catch {
      return undefined
    }
    let checked = this.#checked.get(key + '\n' + text)
    if (checked === undefined) {
      try {
        checked = { record: await validateHandleRecord(dht.value, { key, now, ...(this.#options.minPowBits === undefined ? {} : { minPowBits: this.#options.minPowBits }) }) }
      } catch (err) {
        let record: HandleRecord | undefined
        try { record = parseHandleRecord(dht.value) } catch { record = undefined }
        checked = { code: err instanceof HandleRecordError ? err.code : 'ERR_OTHER', ...(record === undefined ? {} : { record }) }
      }
      this.#checked.set(key + '\n' + text, checked)
    }
    return checked.record === undefined ? undefined : handleView(checked.record, now, 'code' in checked ? checked.code : undefined)
  }
}

/** A record as the handle directory shows it: verified unless refused (`code`) or expired at `now`. */
export function handleView (record: HandleRecord, now: number, code?: string): HandleView {
  const base = { handle: record.handle, peer: record.peer, kind: record.kind, expires: record.expires, seq: record.seq }
  if (code !== undefined) return { ...base, verified: false, reason: code }
  if (record.expires <= now) return { ...base, verified: false, reason: 'ERR_EXPIRED' }
  return { ...base, verified: true }
}
