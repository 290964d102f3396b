/**
 * Code that runs because a remote peer sent something — an event listener, a
 * stream handler, a timer callback — must never throw: Node reports an
 * exception thrown by an `EventTarget` listener or a timer, and a promise
 * nobody handles, as uncaught, which ends the process. One hostile frame
 * would then take down the node.
 *
 * {@link guarded} wraps such a callback: whatever it throws, or the promise
 * it returns rejects with, is logged on the caller's `parley:*` logger
 * (`<namespace>:error`) and goes no further.
 *
 * Inside this package (this module is not a public export):
 *
 * ```ts
 * const log = logger('parley:agent')
 * session.addEventListener('envelope', guarded(log, 'recording an envelope', (e) => {
 *   recordEnvelope(desk, session, e.detail)
 * }))
 * ```
 */
import type { Logger } from '@libp2p/interface'

/**
 * `fn` as a callback that never throws: an error it throws, or a rejection
 * of the promise it returns, is logged as `<what> failed` on `log.error`.
 */
export function guarded<A extends unknown[]> (log: Logger, what: string, fn: (...args: A) => unknown): (...args: A) => void {
  const fail = (err: unknown): void => {
    try {
      log.error('%s failed: %e', what, err)
    } catch {
      // a logger that throws (a formatter on a hostile value) must not undo the guard
    }
  }
  return (...args: A): void => {
    try {
      const result = fn(...args)
      if (isThenable(result)) result.then(undefined, fail)
    } catch (err) {
      fail(err)
    }
  }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
