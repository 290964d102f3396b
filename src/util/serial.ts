/**
 * Runs asynchronous tasks one at a time, in the order they were queued: a
 * mutex for read-modify-write sequences on a datastore. A task that fails
 * rejects its own promise only; the tasks after it still run.
 */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve()

  /** Queues `task`; resolves or rejects as it does, after every task queued before it. */
  run<T> (task: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(task)
    this.#tail = result.catch(() => {})
    return result
  }

  /** Resolves once every task queued so far has settled. */
  async idle (): Promise<void> {
    await this.#tail
  }
}

/**
 * A {@link Serial} per key: tasks on one key run one at a time, in order;
 * tasks on different keys do not wait for each other. A key is forgotten
 * once its last task has settled, so the map holds only busy keys.
 */
export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Queues `task` behind the tasks queued on `key`; resolves or rejects as it does. */
  async run<T> (key: string, task: () => T | Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(task)
    const tail = result.catch(() => {})
    this.#tails.set(key, tail)
    try {
      return await result
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }
}
