/** A map with a size cap: inserting past `max` evicts the oldest entry (insertion order). */
export class BoundedCache<K, V> {
  readonly #map = new Map<K, V>()
  readonly max: number

  constructor (max: number) {
    this.max = max
  }

  get size (): number { return this.#map.size }

  get (key: K): V | undefined { return this.#map.get(key) }

  set (key: K, value: V): void {
    if (!this.#map.has(key) && this.#map.size >= this.max) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
    this.#map.set(key, value)
  }

  delete (key: K): boolean { return this.#map.delete(key) }

  /** The values, oldest first. */
  values (): IterableIterator<V> { return this.#map.values() }

  clear (): void { this.#map.clear() }
}
