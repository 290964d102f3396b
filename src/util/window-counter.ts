/**
 * Counts events per key in fixed windows, with a cap on the keys it holds:
 * the building block of per-peer rates ("at most N announcements a minute
 * from one sender"). Keys past `maxKeys` evict the oldest, so a flood of new
 * keys costs bounded memory (a key evicted starts a fresh window).
 */
import { BoundedCache } from './bounded-cache.js'

/** Options of {@link WindowCounter}. */
export interface WindowCounterOptions {
  /** Events allowed per key per window. */
  limit: number
  /** Window length in ms. */
  windowMs: number
  /** Keys held at most (default 10,000). */
  maxKeys?: number
}

/** Per-key event counts in fixed windows. */
export class WindowCounter<K> {
  readonly #options: WindowCounterOptions
  readonly #windows: BoundedCache<K, { start: number, count: number }>

  constructor (options: WindowCounterOptions) {
    this.#options = options
    this.#windows = new BoundedCache(options.maxKeys ?? 10_000)
  }

  /** Counts one event for `key` at `now`; true while the key is within its limit for the current window. */
  take (key: K, now = Date.now()): boolean {
    let w = this.#windows.get(key)
    if (w === undefined || now - w.start >= this.#options.windowMs) {
      w = { start: now, count: 0 }
      this.#windows.set(key, w)
    }
    w.count++
    return w.count <= this.#options.limit
  }
}
