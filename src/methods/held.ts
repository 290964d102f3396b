/**
 * A request the receiver's policy held for its human (protocols/approval):
 * how a caller recognises the held answer, and waits for the human's
 * decision, which comes as the agent's `outcome` event. One place for MCP
 * and A2A callers alike.
 */
import { RpcError, INTERNAL_ERROR } from '../envelope/rpc-error.js'
import type { JsonValue } from '../crypto/canonical-json.js'

/** JSON-RPC code of a call the far side's human declined; `data.code` is {@link ERR_DECLINED}. */
export const DECLINED = -32001
/** The `data.code` of a {@link DECLINED} error. */
export const ERR_DECLINED = 'ERR_DECLINED'

/** The far side's human decided on a request of ours it held (the agent's `outcome` event). */
export interface CallOutcome {
  /** The peer that decided, as verified. */
  from: {
    /** Its peer id. */
    peer: string
  }
  /** The approval on its side that held our request. */
  approval: string
  /** What its human decided. */
  decision: 'approve' | 'reject'
  /** The human's words, if any. */
  reply?: string
  /** The call's result, when approved. */
  result?: JsonValue
}

/** What emits outcomes: an agent, or a `parley()` service. */
export interface OutcomeSource {
  /** Listens for outcomes of held requests. */
  addEventListener: (type: 'outcome', listener: (event: CustomEvent<CallOutcome>) => void) => void
  /** Stops listening. */
  removeEventListener: (type: 'outcome', listener: (event: CustomEvent<CallOutcome>) => void) => void
}

/**
 * The approval id when `result` is Parley's answer to a request its
 * receiver's policy held for a human (`{ status: 'held', approval }`,
 * protocols/approval); undefined for any other result.
 */
export function heldApproval (result: JsonValue): string | undefined {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return undefined
  const keys = Object.keys(result)
  return keys.length === 2 && result.status === 'held' && typeof result.approval === 'string' ? result.approval : undefined
}

/**
 * Waits for `peer`'s decision on approval `approval`: the call's result when
 * its human approved and it ran, an {@link RpcError} when it then failed
 * (`INTERNAL_ERROR`) or the human declined ({@link DECLINED}, the reply in
 * the message); `signal`'s reason when it aborts first.
 */
export async function outcomeOf (source: OutcomeSource, held: { peer: string, approval: string, signal?: AbortSignal }): Promise<JsonValue> {
  const { peer, approval, signal } = held
  signal?.throwIfAborted()
  return new Promise<JsonValue>((resolve, reject) => {
    const done = (): void => {
      source.removeEventListener('outcome', onOutcome)
      signal?.removeEventListener('abort', onAbort)
    }
    // the outcome may come on any session with that peer (the one its agent finds or opens)
    const onOutcome = (e: CustomEvent<CallOutcome>): void => {
      const o = e.detail
      if (o.approval !== approval || o.from.peer !== peer) return
      done()
      if (o.decision !== 'approve') {
        reject(new RpcError(DECLINED, `the far side's human declined${typeof o.reply === 'string' ? `: ${o.reply}` : ''}`, { code: ERR_DECLINED, approval }))
        return
      }
      // an approved request whose handler then threw is carried as { error } (agent/bridge.ts)
      const failed = o.result !== null && typeof o.result === 'object' && !Array.isArray(o.result) && Object.keys(o.result).length === 1 && 'error' in o.result
      if (failed) reject(new RpcError(INTERNAL_ERROR, String((o.result as { error: JsonValue }).error)))
      else resolve(o.result ?? null)
    }
    const onAbort = (): void => { done(); reject(signal?.reason) }
    source.addEventListener('outcome', onOutcome)
    signal?.addEventListener('abort', onAbort)
  })
}
