/**
 * Per-key circuit breakers: after `failures` failures in a row a key's
 * breaker opens for `openMs` (doubling on each failure while open, up to
 * `maxOpenMs`); while open, {@link CircuitBreakers.allows} says no, so the
 * caller skips what keeps failing (an agent mails a peer that does not answer
 * instead of dialing it each time). Once the wait is over one try is allowed
 * (half-open): a success closes the breaker, a failure opens it again for
 * longer. At most `maxKeys` keys are held (the oldest forgotten, closed).
 */
import { BoundedCache } from './bounded-cache.js'

/** Options of {@link CircuitBreakers}. */
export interface CircuitBreakerOptions {
  /** Failures in a row that open a breaker (default 2). */
  failures?: number
  /** How long a breaker stays open first (default 30 s). */
  openMs?: number
  /** The longest it stays open (default 10 min). */
  maxOpenMs?: number
  /** Most keys held (default 4096). */
  maxKeys?: number
  /** The clock (default `Date.now`). */
  clock?: () => number
}

interface State { failures: number, until: number, openMs: number }

/** A circuit breaker per key (see the module documentation). */
export class CircuitBreakers<K> {
  readonly #states: BoundedCache<K, State>
  readonly #failures: number
  readonly #openMs: number
  readonly #maxOpenMs: number
  readonly #clock: () => number

  constructor (options: CircuitBreakerOptions = {}) {
    this.#failures = options.failures ?? 2
    this.#openMs = options.openMs ?? 30_000
    this.#maxOpenMs = options.maxOpenMs ?? 600_000
    this.#clock = options.clock ?? Date.now
    this.#states = new BoundedCache(options.maxKeys ?? 4096)
  }

  /** Whether `key` may be tried now (its breaker is closed, or its wait is over). */
  allows (key: K): boolean {
    const s = this.#states.get(key)
    return s === undefined || s.until <= this.#clock()
  }

  /** Whether `key`'s breaker is open now. */
  isOpen (key: K): boolean {
    return !this.allows(key)
  }

  /** A try of `key` succeeded: its breaker closes. */
  success (key: K): void {
    this.#states.delete(key)
  }

  /** A try of `key` failed: counted; at the threshold the breaker opens, and a failed half-open try opens it for twice as long. */
  failure (key: K): void {
    const s = this.#states.get(key) ?? { failures: 0, until: 0, openMs: 0 }
    s.failures++
    if (s.failures >= this.#failures) {
      s.openMs = s.openMs === 0 ? this.#openMs : Math.min(this.#maxOpenMs, s.openMs * 2)
      s.until = this.#clock() + s.openMs
    }
    this.#states.set(key, s)
  }
}
