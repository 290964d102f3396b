/**
 * Millisecond timestamps that only grow: what a store dates its entries with
 * when it lists them oldest first, so that entries made in one millisecond
 * keep the order they were made in (their other key is a random id).
 */
export class AscendingMs {
  #last = 0

  /** `now`, or a millisecond after the last timestamp given or seen when `now` is not later. */
  next (now: number): number {
    this.#last = Math.max(now, this.#last + 1)
    return this.#last
  }

  /** Takes note of a timestamp given before (an entry loaded from storage). */
  see (at: number): void {
    this.#last = Math.max(this.#last, at)
  }
}
