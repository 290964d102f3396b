/**
 * Waiting on a promise no longer than an `AbortSignal` allows.
 */

/**
 * Resolves or rejects as `promise` does, unless `signal` aborts first: then
 * rejects with the signal's reason (the promise is left to settle on its own,
 * its rejection observed).
 */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {})
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}
