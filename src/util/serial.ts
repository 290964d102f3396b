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
