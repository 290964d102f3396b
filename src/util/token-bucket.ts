/**
 * Per-key token buckets: `rate` tokens a second, up to `burst` saved; one
 * place for every per-peer or per-address rate in Parley. Two ways to use
 * them:
 *
 * - refuse: {@link TokenBuckets.allows} then {@link TokenBuckets.spend} (a
 *   relay refusing reservations past a rate);
 * - slow down: {@link TokenBuckets.wait} reserves a token and says how long
 *   to wait before going ahead (a session not reading a peer that pipelines
 *   faster than its share: backpressure), so that peer cannot starve others.
 *
 * At most `maxKeys` keys are held; past that the oldest is forgotten (it
 * starts again with a full bucket).
 */
import { BoundedCache } from './bounded-cache.js'

/** Options of {@link TokenBuckets}. */
export interface TokenBucketOptions {
  /** Tokens added a second. */
  rate: number
  /** Most tokens saved up (a burst allowed at once). */
  burst: number
  /** Keys held at most (default 10,000). */
  maxKeys?: number
}

/** Token buckets by key. */
export class TokenBuckets<K> {
  readonly #options: TokenBucketOptions
  readonly #buckets: BoundedCache<K, { tokens: number, at: number }>

  constructor (options: TokenBucketOptions) {
    this.#options = options
    this.#buckets = new BoundedCache(options.maxKeys ?? 10_000)
  }

  /** `key`'s tokens at `now` (negative while reserved ahead by {@link wait}). */
  #tokens (key: K, now: number): number {
    const b = this.#buckets.get(key)
    if (b === undefined) return this.#options.burst
    return Math.min(this.#options.burst, b.tokens + (now - b.at) * this.#options.rate / 1000)
  }

  /** True when `key` has a whole token to spend at `now`. */
  allows (key: K, now = Date.now()): boolean {
    return this.#tokens(key, now) >= 1
  }

  /** Spends one of `key`'s tokens (after {@link allows}). */
  spend (key: K, now = Date.now()): void {
    this.#buckets.set(key, { tokens: this.#tokens(key, now) - 1, at: now })
  }

  /** Spends one of `key`'s tokens, borrowing ahead if none is left: 0, or the ms until it will have been earned. */
  wait (key: K, now = Date.now()): number {
    const tokens = this.#tokens(key, now) - 1
    this.#buckets.set(key, { tokens, at: now })
    return tokens >= 0 ? 0 : Math.ceil(-tokens * 1000 / this.#options.rate)
  }
}
