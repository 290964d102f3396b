/**
 * The node's replay guard, kept in its datastore: one for all of the node's
 * sessions, and still there after a restart (a `kill -9` included), so an
 * envelope accepted once inside the freshness window is refused as
 * `ERR_REPLAYED` on any session, before or after the node restarted
 * (protocols/envelope §6).
 *
 * It wraps the pure, bounded {@link ReplayGuard} (`src/envelope`) and writes
 * what that guard records and forgets: each accepted key under
 * `/parley/replay/<signer>/<id>/<nonce>` with its `ts`, and the guard's
 * floor under `/parley/replay-floor` once a full guard has raised it. The rule is
 * that an envelope is not acted on before its key is durable: `check`
 * answers `fresh` only once the datastore write holding the key has
 * completed (with `LevelDatastore`, LevelDB's log without fsync: it survives
 * the process being killed, not necessarily the machine losing power).
 * Writes are group-committed: keys recorded while a write is in flight go
 * out together in the next datastore batch, so a busy node makes one write
 * per batch, not one per envelope. A write that fails rejects every check
 * waiting on it with {@link ReplayStoreError} `ERR_REPLAY_WRITE`, and their
 * keys are forgotten again (none of those envelopes was acted on).
 *
 * The disk holds what memory holds, no more: keys leave it when their
 * bucket expires or is dropped at capacity (in the same batch as the floor
 * that then covers them), and {@link ReplayStore.open} deletes any key older
 * than the window or below the floor. Loading puts the rest back, so a
 * restarted node refuses what it accepted before; a store holding more than
 * `capacity` keys (a lower capacity than last run) raises the floor as the
 * guard does.
 *
 * @example
 * ```ts
 * import { MemoryDatastore } from 'datastore-core'
 * import { ReplayStore } from 'parley-mesh/store'
 * import { verifyEnvelope } from 'parley-mesh/envelope'
 * declare const bytes: Uint8Array // an envelope, as received from `peer`
 * declare const peer: string
 *
 * const replayGuard = await ReplayStore.open(new MemoryDatastore())
 * // resolves once the envelope's key is durable; a second time: ERR_REPLAYED
 * const { envelope } = await verifyEnvelope(bytes, { expectedSigner: peer, replayGuard })
 * await replayGuard.close()
 * ```
 */
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { logger } from '@libp2p/logger'
import { ReplayGuard } from '../envelope/replay-guard.js'
import type { ReplayCheck, ReplayVerdict } from '../envelope/replay-guard.js'
import { DEFAULT_REPLAY_CAPACITY } from '../envelope/constants.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { ReplayStoreError, ReplayStoreErrorCode as Code } from './errors.js'

const log = logger('parley:store:replay')

/** Datastore key prefix of the recorded keys: `/parley/replay/<signer>/<id>/<nonce>`, value the `ts` in decimal. */
export const REPLAY_KEY_PREFIX = '/parley/replay/'
/** Datastore key of the guard's floor (decimal ms), written when the guard raised it at capacity. */
export const REPLAY_FLOOR_KEY = '/parley/replay-floor'
/** What a key may be: the signer, id and nonce of an envelope, `/`-separated, each `[A-Za-z0-9_-]`. */
const KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}(?:\/[A-Za-z0-9_-]{1,128}){0,3}$/
/** Deletes per batch while sweeping on open. */
const SWEEP_BATCH = 4096

/** The datastore key of replay key `key`. */
export function replayKey (key: string): Key {
  return new Key(REPLAY_KEY_PREFIX + key)
}

/** Options of {@link ReplayStore.open}. */
export interface ReplayStoreOptions {
  /** How far back `ts` may lie (default 5 min): the verifier's `maxAgeMs`. */
  windowMs?: number
  /** Most keys held, in memory and on disk (default 100 000). */
  capacity?: number
  /** Bucket width (default windowMs / 30). */
  bucketMs?: number
  /** The clock used on open, to tell expired keys (default `Date.now`). */
  now?: () => number
}

interface Waiting {
  promise: Promise<ReplayVerdict>
  resolve: (verdict: ReplayVerdict) => void
  reject: (err: Error) => void
  /** The keys of the checks waiting: forgotten again if the write fails. */
  keys: string[]
}

/**
 * A {@link ReplayCheck} that persists what it records in a datastore (see
 * the module documentation). Open one with {@link ReplayStore.open}; one per
 * node, shared by its sessions.
 */
export class ReplayStore implements ReplayCheck {
  /** How far back `ts` may lie, in ms. */
  readonly windowMs: number
  /** Most keys held at once. */
  readonly capacity: number
  readonly #ds: Datastore
  readonly #guard: ReplayGuard
  /** The next batch: key → its `ts` to put, or `null` to delete it. The last word on a key wins. */
  #ops = new Map<string, number | null>()
  /** The checks that answer `fresh` once the next batch is written. */
  #waiting: Waiting | undefined
  #draining: Promise<void> | undefined
  /** The floor last written (−Infinity: none). */
  #durableFloor: number
  #closed = false
  /** Datastore batches written (for tests and benchmarks). */
  #commits = 0

  private constructor (ds: Datastore, options: ReplayStoreOptions, floor: number) {
    this.#ds = ds
    this.#durableFloor = floor
    this.#guard = new ReplayGuard({
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
      capacity: options.capacity ?? DEFAULT_REPLAY_CAPACITY,
      ...(options.bucketMs === undefined ? {} : { bucketMs: options.bucketMs }),
      floor,
      onDrop: (keys) => { for (const k of keys) this.#ops.set(k, null) }
    })
    this.windowMs = this.#guard.windowMs
    this.capacity = this.#guard.capacity
  }

  /**
   * Opens the replay record kept in `datastore`: loads the keys still inside
   * the window (and above the stored floor) and deletes the others.
   */
  static async open (datastore: Datastore, options: ReplayStoreOptions = {}): Promise<ReplayStore> {
    const now = (options.now ?? Date.now)()
    const floorKey = new Key(REPLAY_FLOOR_KEY)
    const stored = await datastore.has(floorKey) ? Number(fromUtf8(await datastore.get(floorKey))) : NaN
    const floor = Number.isFinite(stored) ? stored : -Infinity
    const store = new ReplayStore(datastore, options, floor)
    const cutoff = Math.max(now - store.windowMs, floor)
    const stale: Key[] = []
    for await (const { key, value } of datastore.query({ prefix: REPLAY_KEY_PREFIX })) {
      const k = key.toString().slice(REPLAY_KEY_PREFIX.length)
      const ts = Number(fromUtf8(value))
      if (!Number.isSafeInteger(ts) || ts < cutoff || !KEY_PATTERN.test(k) || store.#guard.check(k, ts, now) !== 'fresh') stale.push(key)
    }
    for (let i = 0; i < stale.length; i += SWEEP_BATCH) {
      const batch = datastore.batch()
      for (const key of stale.slice(i, i + SWEEP_BATCH)) batch.delete(key)
      await batch.commit()
    }
    if (floor > -Infinity && floor < now - store.windowMs) await datastore.delete(floorKey)
    // keys the guard dropped because the store held more than its capacity, and the floor it raised
    if (store.#ops.size > 0 || store.#guard.floor > store.#durableFloor) await store.#write(store.#ops)
    store.#ops = new Map()
    log('loaded %d replay keys, deleted %d expired', store.size, stale.length)
    return store
  }

  /** Keys held now (the same in memory and, once written, on disk). */
  get size (): number { return this.#guard.size }

  /** The lowest `ts` accepted because of load (−Infinity when the full window applies). */
  get floor (): number { return this.#guard.floor }

  /** Datastore batches written so far. */
  get commits (): number { return this.#commits }

  /**
   * Records `key` (an envelope's `signer/id/nonce`, seen with timestamp
   * `ts` at the receiver's time `now`) unless it was seen already.
   * `replayed` and `too-old` come at once; `fresh` once the key is durable.
   * Rejects with {@link ReplayStoreError}: `ERR_REPLAY_WRITE` when the write
   * failed (the key is then forgotten: act on nothing), `ERR_REPLAY_CLOSED`,
   * `ERR_REPLAY_INVALID_ARGUMENT`.
   */
  check (key: string, ts: number, now: number): ReplayVerdict | Promise<ReplayVerdict> {
    if (this.#closed) return Promise.reject(new ReplayStoreError(Code.CLOSED, 'the replay store is closed'))
    if (!KEY_PATTERN.test(key)) return Promise.reject(new ReplayStoreError(Code.INVALID_ARGUMENT, 'a replay key is /-separated segments of [A-Za-z0-9_-]'))
    const verdict = this.#guard.check(key, ts, now)
    if (verdict !== 'fresh') {
      // expired buckets dropped by this check: their deletes go out with the next write
      if (this.#ops.size > 0) this.#schedule()
      return verdict
    }
    this.#ops.set(key, ts)
    let waiting = this.#waiting
    if (waiting === undefined) {
      let resolve!: (verdict: ReplayVerdict) => void
      let reject!: (err: Error) => void
      const promise = new Promise<ReplayVerdict>((res, rej) => { resolve = res; reject = rej })
      waiting = this.#waiting = { promise, resolve, reject, keys: [] }
    }
    waiting.keys.push(key)
    this.#schedule()
    return waiting.promise
  }

  /** Resolves once every write queued so far has settled. */
  async flush (): Promise<void> {
    while (this.#draining !== undefined) await this.#draining
  }

  /** Waits for the writes under way, then refuses further checks (`ERR_REPLAY_CLOSED`). Does not close the datastore. */
  async close (): Promise<void> {
    await this.flush()
    this.#closed = true
  }

  /** Starts a write after the current task, so checks made together are written together. */
  #schedule (): void {
    this.#draining ??= Promise.resolve().then(async () => { await this.#drain() })
  }

  /** Writes the queued batch, then the one gathered meanwhile, until none is left (group commit). */
  async #drain (): Promise<void> {
    try {
      while (this.#ops.size > 0 || this.#waiting !== undefined) {
        const ops = this.#ops
        const waiting = this.#waiting
        this.#ops = new Map()
        this.#waiting = undefined
        try {
          await this.#write(ops)
          waiting?.resolve('fresh')
        } catch (cause) {
          const err = new ReplayStoreError(Code.WRITE, `could not record ${waiting?.keys.length ?? 0} envelope keys: ${(cause as Error)?.message ?? String(cause)}`, { cause })
          // none of these envelopes is acted on: a later delivery of one may be, once
          for (const k of waiting?.keys ?? []) this.#guard.forget(k)
          if (waiting === undefined) log.error('could not delete expired replay keys: %e', cause)
          else waiting.reject(err)
        }
      }
    } finally {
      this.#draining = undefined
    }
  }

  /** One datastore batch: `ops`, and the floor if it rose. */
  async #write (ops: ReadonlyMap<string, number | null>): Promise<void> {
    const floor = this.#guard.floor
    const batch = this.#ds.batch()
    for (const [k, ts] of ops) {
      if (ts === null) batch.delete(replayKey(k))
      else batch.put(replayKey(k), utf8(String(ts)))
    }
    if (floor > this.#durableFloor) batch.put(new Key(REPLAY_FLOOR_KEY), utf8(String(floor)))
    await batch.commit()
    this.#commits++
    if (floor > this.#durableFloor) this.#durableFloor = floor
  }
}
