/**
 * A node's replay guard kept in a datastore: one for all of the node's
 * sessions, and still there after a restart (a `kill -9` included), so an
 * envelope accepted once inside the freshness window is refused as
 * `ERR_REPLAYED` on any session, before or after the node restarted
 * (protocols/envelope §6). It works on any `interface-datastore` (LevelDB,
 * IndexedDB in a browser, memory), so it is what a browser build uses; a
 * Node agent with a data dir uses the faster `ReplayJournal` (an
 * append-only file: no round trip to the thread pool), and one without a
 * data dir the bare in-memory {@link ReplayGuard}.
 *
 * It wraps the pure, bounded {@link ReplayGuard} (`src/envelope`, through
 * {@link ReplayRecord}) and writes what that guard records and forgets:
 * each accepted key under `/parley/replay/<signer>/<id>/<nonce>` with its
 * `ts`, and the guard's floor under `/parley/replay-floor` once a full
 * guard has raised it. The rule is that an envelope whose acceptance has an
 * effect is not acted on before its key is durable: `check` answers `fresh`
 * only once the datastore write holding the key has completed (with
 * `LevelDatastore`, LevelDB's log without fsync: it survives the process
 * being killed, not necessarily the machine losing power). A check with
 * `durable` false (a response, the session's own hello, ping or resume:
 * protocols/envelope §6.1) answers `fresh` at once and its key goes out
 * with the next write. Writes are group-committed: keys recorded while a
 * write is in flight go out together in the next datastore batch, so a busy
 * node makes one write per batch, not one per envelope. A write that fails
 * rejects every check waiting on it with {@link ReplayStoreError}
 * `ERR_REPLAY_WRITE`, and their keys are forgotten again (none of those
 * envelopes was acted on); keys written behind stay in memory (their
 * envelopes were acted on) and the failure is logged.
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
import type { ReplayVerdict } from '../envelope/replay-guard.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { ReplayRecord } from './replay-record.js'
import type { ReplayStoreOptions } from './replay-record.js'

export type { ReplayStoreOptions } from './replay-record.js'

const log = logger('parley:store:replay')

/** Datastore key prefix of the recorded keys: `/parley/replay/<signer>/<id>/<nonce>`, value the `ts` in decimal. */
export const REPLAY_KEY_PREFIX = '/parley/replay/'
/** Datastore key of the guard's floor (decimal ms), written when the guard raised it at capacity. */
export const REPLAY_FLOOR_KEY = '/parley/replay-floor'
/** Deletes per batch while sweeping on open. */
const SWEEP_BATCH = 4096

/** The datastore key of replay key `key`. */
export function replayKey (key: string): Key {
  return new Key(REPLAY_KEY_PREFIX + key)
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
export class ReplayStore extends ReplayRecord {
  readonly #ds: Datastore
  /** The next batch: key → its `ts` to put, or `null` to delete it. The last word on a key wins. */
  #ops = new Map<string, number | null>()
  /** The checks that answer `fresh` once the next batch is written. */
  #waiting: Waiting | undefined
  /** Keys of the next batch whose checks answered at once (written behind). */
  #behind = 0
  #draining: Promise<void> | undefined
  /** The floor last written (−Infinity: none). */
  #durableFloor: number
  /** Datastore batches written (for tests and benchmarks). */
  #commits = 0

  private constructor (ds: Datastore, options: ReplayStoreOptions, floor: number) {
    super(options, floor)
    this.#ds = ds
    this.#durableFloor = floor
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
    const stale: Key[] = []
    for await (const { key, value } of datastore.query({ prefix: REPLAY_KEY_PREFIX })) {
      if (!store.restore(key.toString().slice(REPLAY_KEY_PREFIX.length), Number(fromUtf8(value)), now)) stale.push(key)
    }
    for (let i = 0; i < stale.length; i += SWEEP_BATCH) {
      const batch = datastore.batch()
      for (const key of stale.slice(i, i + SWEEP_BATCH)) batch.delete(key)
      await batch.commit()
    }
    if (floor > -Infinity && floor < now - store.windowMs) await datastore.delete(floorKey)
    // keys the guard dropped because the store held more than its capacity, and the floor it raised
    if (store.#ops.size > 0 || store.guard.floor > store.#durableFloor) await store.#write(store.#ops)
    store.#ops = new Map()
    log('loaded %d replay keys, deleted %d expired', store.size, stale.length)
    return store
  }

  /** Datastore batches written so far. */
  get commits (): number { return this.#commits }

  /** Resolves once every write queued so far has settled. */
  async flush (): Promise<void> {
    while (this.#draining !== undefined) await this.#draining
  }

  protected record (key: string, ts: number, _now: number, durable: boolean): ReplayVerdict | Promise<ReplayVerdict> {
    this.#ops.set(key, ts)
    this.#schedule()
    if (!durable) {
      this.#behind++
      return 'fresh'
    }
    let waiting = this.#waiting
    if (waiting === undefined) {
      let resolve!: (verdict: ReplayVerdict) => void
      let reject!: (err: Error) => void
      const promise = new Promise<ReplayVerdict>((res, rej) => { resolve = res; reject = rej })
      waiting = this.#waiting = { promise, resolve, reject, keys: [] }
    }
    waiting.keys.push(key)
    return waiting.promise
  }

  protected override dropped (keys: readonly string[]): void {
    for (const k of keys) this.#ops.set(k, null)
  }

  /** Expired buckets dropped by a refused check: their deletes go out with the next write. */
  protected override refused (): void {
    if (this.#ops.size > 0) this.#schedule()
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
        const behind = this.#behind
        this.#ops = new Map()
        this.#waiting = undefined
        this.#behind = 0
        try {
          await this.#write(ops)
          waiting?.resolve('fresh')
        } catch (cause) {
          // none of the envelopes waiting is acted on: a later delivery of one may be, once
          for (const k of waiting?.keys ?? []) this.guard.forget(k)
          // those written behind were acted on already: kept in memory, lost on disk if the node stops now
          if (waiting === undefined || behind > 0) log.error('could not write a batch of %d replay keys and deletes (%d written behind): %e', ops.size, behind, cause)
          waiting?.reject(ReplayStore.writeError(waiting.keys.length, cause))
        }
      }
    } finally {
      this.#draining = undefined
    }
  }

  /** One datastore batch: `ops`, and the floor if it rose. */
  async #write (ops: ReadonlyMap<string, number | null>): Promise<void> {
    const floor = this.guard.floor
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
