/**
 * What the node's persistent replay guards share, whatever they write to:
 * the `ReplayStore` (any datastore: LevelDB, IndexedDB, memory) and
 * the Node-only `ReplayJournal` (an append-only file in the data dir).
 *
 * Each wraps one pure {@link ReplayGuard} (`src/envelope`), which stays the
 * one place for the window, capacity and floor logic; this base holds it,
 * checks the key's form and the closed state, puts keys loaded from storage
 * back (`restore`), and hands a fresh key to the backend
 * (`record`) with the caller's `durable` flag: true when
 * acting on the envelope has an effect that must happen at most once (the
 * key must be durable first), false when its effect stays within its
 * session (protocols/envelope §6.1: a response, the session's own hello,
 * ping or resume), which a backend may then write behind.
 *
 * No IO here: this module is safe in a browser build.
 */
import { ReplayGuard } from '../envelope/replay-guard.js'
import type { ReplayCheck, ReplayVerdict } from '../envelope/replay-guard.js'
import { DEFAULT_REPLAY_CAPACITY } from '../envelope/constants.js'
import { ReplayStoreError, ReplayStoreErrorCode as Code } from './errors.js'

/** What a key may be: the signer, id and nonce of an envelope, `/`-separated, each `[A-Za-z0-9_-]`. */
export const REPLAY_KEY_PATTERN = /^[A-Za-z0-9_-]{1,128}(?:\/[A-Za-z0-9_-]{1,128}){0,3}$/

/** Options of a persistent replay guard (`ReplayStore.open`, `ReplayJournal.open`). */
export interface ReplayStoreOptions {
  /** How far back `ts` may lie (default 5 min): the verifier's `maxAgeMs`. */
  windowMs?: number
  /** Most keys held, in memory and (about) on disk (default 100 000). */
  capacity?: number
  /** Bucket width (default windowMs / 30). */
  bucketMs?: number
  /** The clock used on open, to tell expired keys (default `Date.now`). */
  now?: () => number
}

/**
 * A {@link ReplayCheck} kept in storage: the shared part of
 * `ReplayStore` and `ReplayJournal` (see the module documentation).
 */
export abstract class ReplayRecord implements ReplayCheck {
  /** How far back `ts` may lie, in ms. */
  readonly windowMs: number
  /** Most keys held at once. */
  readonly capacity: number
  /** The window, capacity and floor logic: what is in memory; the backend keeps a copy on disk. */
  protected readonly guard: ReplayGuard
  #closed = false

  protected constructor (options: ReplayStoreOptions, floor: number) {
    this.guard = new ReplayGuard({
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
      capacity: options.capacity ?? DEFAULT_REPLAY_CAPACITY,
      ...(options.bucketMs === undefined ? {} : { bucketMs: options.bucketMs }),
      floor,
      onDrop: (keys) => { this.dropped(keys) }
    })
    this.windowMs = this.guard.windowMs
    this.capacity = this.guard.capacity
  }

  /** Keys held now. */
  get size (): number { return this.guard.size }

  /** The lowest `ts` accepted because of load (−Infinity when the full window applies). */
  get floor (): number { return this.guard.floor }

  /** True once {@link close} was called. */
  get closed (): boolean { return this.#closed }

  /**
   * Records `key` (an envelope's `signer/id/nonce`, seen with timestamp
   * `ts` at the receiver's time `now`) unless it was seen already.
   * `replayed` and `too-old` come at once; `fresh` once the key is durable
   * (`durable`, the default) or at once, the key then written behind
   * (`durable` false). Rejects with {@link ReplayStoreError}:
   * `ERR_REPLAY_WRITE` when a durable key could not be written (it is then
   * forgotten: act on nothing), `ERR_REPLAY_CLOSED`,
   * `ERR_REPLAY_INVALID_ARGUMENT` (a key not of that form, a `ts` not a
   * non-negative integer).
   */
  check (key: string, ts: number, now: number, durable = true): ReplayVerdict | Promise<ReplayVerdict> {
    if (this.#closed) return Promise.reject(new ReplayStoreError(Code.CLOSED, 'the replay store is closed'))
    if (!REPLAY_KEY_PATTERN.test(key)) return Promise.reject(new ReplayStoreError(Code.INVALID_ARGUMENT, 'a replay key is /-separated segments of [A-Za-z0-9_-]'))
    // what is recorded must load back: an envelope's ts is a non-negative integer (ms)
    if (!Number.isSafeInteger(ts) || ts < 0) return Promise.reject(new ReplayStoreError(Code.INVALID_ARGUMENT, 'a replay ts is a non-negative integer'))
    const verdict = this.guard.check(key, ts, now)
    if (verdict !== 'fresh') {
      this.refused(now)
      return verdict
    }
    return this.record(key, ts, now, durable)
  }

  /** Resolves once every write under way has settled. */
  abstract flush (): Promise<void>

  /** Waits for the writes under way, then refuses further checks (`ERR_REPLAY_CLOSED`). */
  async close (): Promise<void> {
    await this.flush()
    this.#closed = true
  }

  /**
   * Writes `key`, just recorded by the guard as fresh: the verdict (`fresh`)
   * once durable, or at once when `durable` is false; on a failed durable
   * write, forgets the key and rejects with `ERR_REPLAY_WRITE`.
   */
  protected abstract record (key: string, ts: number, now: number, durable: boolean): ReplayVerdict | Promise<ReplayVerdict>

  /** The guard forgot `keys` (their bucket expired, or was dropped at capacity, raising the floor first). */
  protected dropped (_keys: readonly string[]): void {}

  /** A check at time `now` was refused (`replayed`, `too-old`): it may have expired buckets all the same. */
  protected refused (_now: number): void {}

  /**
   * Puts back a key loaded from storage, recorded with `ts`: true when the
   * guard holds it now; false when it is not worth keeping (not a key, not
   * a `ts`, older than the window or the floor, or there already).
   */
  protected restore (key: string, ts: number, now: number): boolean {
    return Number.isSafeInteger(ts) && ts >= 0 && REPLAY_KEY_PATTERN.test(key) && this.guard.check(key, ts, now) === 'fresh'
  }

  /** A {@link ReplayStoreError} `ERR_REPLAY_WRITE` for `count` keys that could not be written because of `cause`. */
  protected static writeError (count: number, cause: unknown): ReplayStoreError {
    return new ReplayStoreError(Code.WRITE, `could not record ${count} envelope key${count === 1 ? '' : 's'}: ${(cause as Error)?.message ?? String(cause)}`, { cause })
  }
}
