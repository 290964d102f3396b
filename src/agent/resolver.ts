/**
 * Handle resolution through the DHT, with a cache bounded by each record's
 * expiry. Every record is validated (signature, proof of work, expiry, key)
 * by the DHT's validator before selection and again here.
 */
import type { KadDHT } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'
import { HandleRecordError, HandleRecordErrorCode } from '../errors.js'
import { handleKey, parseHandle, succession } from '../handles/record.js'
import { chooseFromAnswers, lookupHandle } from '../handles/lookup.js'
import type { LookupHandleOptions, RawAnswer } from '../handles/lookup.js'
import type { HandleRecord } from '../handles/record.js'
import { BoundedCache } from '../util/bounded-cache.js'

const log = logger('parley:resolver')

/** How often one peer's claim to one handle may send {@link HandleResolver.confirm} back to the DHT. */
export const RECHECK_MS = 60_000

/** Options of a {@link HandleResolver}: those of each lookup, and the cache's size. */
export interface ResolverOptions extends LookupHandleOptions {
  /** Records cached at most (default 1024). */
  cacheSize?: number
  /**
   * Asks the trusted DHT servers the agent is connected to for a key, each
   * once (§15, "Asking connected servers"): tried before a DHT query, which
   * runs only when none of them holds a valid record, and for every fresh
   * lookup.
   */
  askConnected?: (key: Uint8Array) => Promise<RawAnswer[]>
}

/** Resolves `@handle` to its current, validated handle record through the DHT, with a cache bounded by each record's expiry. */
export class HandleResolver {
  readonly #dht: KadDHT
  readonly #options: ResolverOptions
  readonly #cache: BoundedCache<string, HandleRecord>
  /** `handle/peer` → when a claim of that peer to that handle last sent us to the DHT. */
  readonly #rechecked = new BoundedCache<string, number>(4096)

  constructor (dht: KadDHT, options: ResolverOptions) {
    this.#dht = dht
    this.#options = options
    this.#cache = new BoundedCache(options.cacheSize ?? 1024)
  }

  /**
   * The current record of `@handle`, for checking a claim by `peer`: when
   * the cached record names another peer, `peer` may hold the handle's new
   * key (a rotation), so the DHT is asked again, but at most once per
   * minute (`RECHECK_MS`) for each handle and peer: a peer that repeats a claim
   * the DHT refuted costs one lookup, not one per session.
   */
  async confirm (input: string, peer: string): Promise<HandleRecord> {
    const current = await this.resolve(input)
    if (current.peer === peer) return current
    const key = `${current.handle}/${peer}`
    const last = this.#rechecked.get(key)
    if (last !== undefined && Date.now() - last < RECHECK_MS) return current
    this.#rechecked.set(key, Date.now())
    return this.resolve(input, { fresh: true })
  }

  /** The current record of `@handle` (cached until it expires, unless `fresh`). */
  async resolve (input: string, options: { fresh?: boolean } = {}): Promise<HandleRecord> {
    const handle = parseHandle(input)
    const cached = this.#cache.get(handle)
    if (options.fresh !== true && cached !== undefined && cached.expires > Date.now()) return cached
    let record: HandleRecord | undefined
    try {
      record = await this.lookup(handle, options)
    } catch (err) {
      // servers disagree: keep what we have seen (§14), or say so
      if (cached !== undefined && cached.expires > Date.now()) return cached
      throw err
    }
    if (record === undefined) {
      if (cached !== undefined && cached.expires > Date.now()) return cached
      throw new HandleRecordError(HandleRecordErrorCode.NOT_FOUND, `@${handle} has no valid handle record in the DHT`)
    }
    if (cached !== undefined && !this.#succeeds(cached, record)) return cached
    this.#cache.set(handle, record)
    return record
  }

  /**
   * Whether `next` may replace the cached `current`: first come, first
   * served, as DHT servers decide it. A new key is followed only through a
   * successor record that the held key signed (`rotation.prev`).
   */
  #succeeds (current: HandleRecord, next: HandleRecord): boolean {
    try {
      return succession(current, next, Date.now()) === 'accept' || next.seq === current.seq
    } catch (err) {
      log('@%s: ignoring a record of %s while %s holds it: %e', current.handle, next.peer, current.peer, err)
      return false
    }
  }

  /**
   * Asks the DHT, without the cache: every trusted server's answer is
   * validated, and {@link chooseRecord} picks among them (protocols/handle-record
   * §15). Unless `fresh`, the trusted servers already connected are asked
   * first, and the DHT query runs only when none of them holds a valid record
   * (or they conflict). Undefined when no trusted server holds a valid
   * record; throws `ERR_HANDLE_CONFLICT` when they hold different owners'
   * records equally often.
   */
  async lookup (handle: string, options: { fresh?: boolean } = {}): Promise<HandleRecord | undefined> {
    const ask = this.#options.askConnected
    if (ask !== undefined && options.fresh !== true) {
      try {
        const record = await chooseFromAnswers(handle, await ask(handleKey(handle)), this.#options)
        if (record !== undefined) return record
      } catch (err) {
        log('@%s: the connected servers did not settle it (%e); asking the DHT', handle, err)
      }
    }
    return lookupHandle(this.#dht, handle, this.#options)
  }


  /** Drops a cached record (after a failed dial, or on rotation). */
  forget (handle: string): void {
    this.#cache.delete(handle)
  }

  /** The records held in the cache (each validated when it was resolved; some may have expired since). */
  records (): HandleRecord[] {
    return [...this.#cache.values()]
  }

  /** Remembers a record we know to be current (our own, just published). */
  remember (record: HandleRecord): void {
    this.#cache.set(record.handle, record)
  }
}
