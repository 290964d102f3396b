/**
 * Remembers which envelopes were accepted recently so that a replay inside
 * the freshness window is refused, in bounded memory.
 *
 * Keys are filed in time buckets by the envelope's `ts`. Buckets older than
 * the window are dropped whole: envelopes that old are refused as stale
 * anyway, so forgetting them loses nothing. When the guard holds `capacity`
 * entries it drops its oldest bucket early and raises its floor to that
 * bucket's end: from then on anything older than the floor is refused as
 * too old. The guard may thus narrow the window under load, but it never
 * forgets a key while still accepting its `ts`, so a replay cannot slip
 * through.
 *
 * The guard is pure (no IO): it is the one place for the window, capacity
 * and floor logic. A node keeps one for all its sessions, and keeps it
 * across restarts by wrapping it: `ReplayJournal` (a Node agent with a data
 * dir: an append-only file) or `ReplayStore` (`parley-mesh/store`: any
 * datastore, for a browser build) write what this guard records, and its
 * floor; {@link ReplayCheck} is what `verifyEnvelope` needs of any of them.
 *
 * @example
 * ```ts
 * import { ReplayGuard } from 'parley-mesh/envelope'
 *
 * const guard = new ReplayGuard({ windowMs: 300_000 })
 * const ts = Date.now() // the envelope's `ts`
 * guard.check('peer/id/nonce', ts, Date.now()) // 'fresh'
 * guard.check('peer/id/nonce', ts, Date.now()) // 'replayed'
 * ```
 */
import { DEFAULT_MAX_AGE_MS, DEFAULT_REPLAY_CAPACITY } from './constants.js'

/** Options of {@link ReplayGuard}. */
export interface ReplayGuardInit {
  /** How far back `ts` may lie and still be accepted (default 5 min). Match the verifier's `maxAgeMs`. */
  windowMs?: number
  /** Most keys held at once (default 100 000). */
  capacity?: number
  /** Bucket width; smaller is finer eviction at a little more overhead (default windowMs / 30). */
  bucketMs?: number
  /** A floor to start from (one a guard reached before, restored after a restart); default none. */
  floor?: number
  /**
   * Called with the keys the guard forgets when it drops a bucket (expired,
   * or early at capacity, which raises the floor first), so a copy of its
   * keys elsewhere can forget them too. Must not throw.
   */
  onDrop?: (keys: readonly string[]) => void
}

/** `fresh`: first sight, now recorded; `replayed`: seen before; `too-old`: older than the window or the guard's floor. */
export type ReplayVerdict = 'fresh' | 'replayed' | 'too-old'

/**
 * What `verifyEnvelope` needs of a replay guard: records `key` (the
 * envelope's signer, id and nonce, seen with timestamp `ts`, at the
 * receiver's time `now`) and says whether it was fresh. A guard that keeps
 * its record across restarts answers `fresh` only once the key is durable
 * when `durable` is true (the default: acting on the envelope has an effect
 * that must happen at most once), returning a promise if that takes IO (and
 * rejecting if it cannot be made durable, the envelope then not to be acted
 * on). With `durable` false (the envelope's effect stays within its session,
 * protocols/envelope §6.1) it may answer at once and write the key behind.
 */
export interface ReplayCheck {
  /** `fresh` (now recorded), `replayed` or `too-old`; see {@link ReplayVerdict}. */
  check: (key: string, ts: number, now: number, durable?: boolean) => ReplayVerdict | Promise<ReplayVerdict>
}

/** A bounded-memory record of recently accepted envelopes, keyed by signer, id and nonce, that refuses replays inside the window. */
export class ReplayGuard implements ReplayCheck {
  /** How far back `ts` may lie, in ms. */
  readonly windowMs: number
  /** Most keys held at once. */
  readonly capacity: number
  readonly #bucketMs: number
  readonly #onDrop: ((keys: readonly string[]) => void) | undefined
  /** key → its `ts` (its bucket is `floor(ts / bucketMs)`). */
  readonly #seen = new Map<string, number>()
  /** bucket number → keys filed there; insertion order is not time order, so the oldest is tracked. */
  readonly #buckets = new Map<number, string[]>()
  #floor = -Infinity
  #expiredBelow = -Infinity

  constructor (init: ReplayGuardInit = {}) {
    this.windowMs = init.windowMs ?? DEFAULT_MAX_AGE_MS
    this.capacity = init.capacity ?? DEFAULT_REPLAY_CAPACITY
    this.#bucketMs = Math.max(1, init.bucketMs ?? Math.ceil(this.windowMs / 30))
    this.#floor = init.floor ?? -Infinity
    this.#onDrop = init.onDrop
  }

  /** Keys currently held. */
  get size (): number { return this.#seen.size }

  /** The lowest `ts` currently accepted because of load (−Infinity when the full window applies). */
  get floor (): number { return this.#floor }

  /** The keys held, each with the `ts` it was recorded with (to write them out afresh). */
  * entries (): IterableIterator<[key: string, ts: number]> {
    yield * this.#seen
  }

  /**
   * Records `key` (seen with timestamp `ts`) unless it was seen already.
   * `now` is the receiver's clock, used to drop buckets past the window.
   * Memory is all there is to this guard: a key is as durable as it gets
   * at once, so it takes no `durable` flag ({@link ReplayCheck}).
   */
  check (key: string, ts: number, now: number): ReplayVerdict {
    this.#expire(now - this.windowMs)
    if (ts < this.#floor || ts < now - this.windowMs) return 'too-old'
    if (this.#seen.has(key)) return 'replayed'
    while (this.#seen.size >= this.capacity) this.#dropOldest()
    if (ts < this.#floor) return 'too-old'
    const bucket = Math.floor(ts / this.#bucketMs)
    this.#seen.set(key, ts)
    const list = this.#buckets.get(bucket)
    if (list === undefined) this.#buckets.set(bucket, [key])
    else list.push(key)
    return 'fresh'
  }

  /**
   * Forgets `key`, recorded by a `check` whose envelope was then not acted
   * on (its record could not be made durable), so that the envelope can be
   * accepted once later. Does not raise the floor.
   */
  forget (key: string): void {
    this.#seen.delete(key)
  }

  /** Forgets everything. */
  clear (): void {
    this.#seen.clear()
    this.#buckets.clear()
    this.#floor = -Infinity
    this.#expiredBelow = -Infinity
  }

  #expire (cutoff: number): void {
    const limit = Math.floor(cutoff / this.#bucketMs)
    if (limit <= this.#expiredBelow) return
    this.#expiredBelow = limit
    for (const bucket of this.#buckets.keys()) {
      if (bucket < limit) this.#drop(bucket)
    }
  }

  #dropOldest (): void {
    let oldest = Infinity
    for (const bucket of this.#buckets.keys()) if (bucket < oldest) oldest = bucket
    if (oldest === Infinity) return
    this.#floor = Math.max(this.#floor, (oldest + 1) * this.#bucketMs)
    this.#drop(oldest)
  }

  #drop (bucket: number): void {
    const keys = this.#buckets.get(bucket) ?? []
    this.#buckets.delete(bucket)
    // a key forgotten and recorded again since lives in another bucket now: keep it
    let dropped: string[] | undefined
    for (const key of keys) {
      const ts = this.#seen.get(key)
      if (ts === undefined || Math.floor(ts / this.#bucketMs) !== bucket) continue
      this.#seen.delete(key)
      if (this.#onDrop !== undefined) (dropped ??= []).push(key)
    }
    if (dropped !== undefined) this.#onDrop?.(dropped)
  }
}
