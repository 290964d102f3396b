/** The A2A binding's mapping (protocols/a2a §2–3), pure. */
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { A2A_NAMESPACE, A2A_STREAMING_METHODS, A2A_URL_SCHEME } from './constants.js'

/** The handle or peer id a `parley:` URL names (`parley:@handle`, `parley://@handle/`). */
export function a2aTarget (url: string): string {
  if (!url.startsWith(A2A_URL_SCHEME)) throw new TypeError(`not a Parley A2A URL (parley:@handle): ${url.slice(0, 80)}`)
  const target = url.slice(A2A_URL_SCHEME.length).replace(/^\/\//, '').split(/[/?#]/)[0] ?? ''
  if (target === '') throw new TypeError(`a Parley A2A URL names a handle or a peer id: ${url.slice(0, 80)}`)
  return target
}

/** A Parley request carrying an A2A call. */
export interface A2ACall {
  /** `a2a/` and the A2A method. */
  method: string
  /** The A2A params, or `{ stream, params }` for a streaming method. */
  params: JsonRpcParams
}

/** The params of an `a2a/stream` notification. */
export interface A2AStreamEventParams {
  /** The stream the caller named. */
  stream: string
  /** The event's place in the stream, from 0. */
  seq: number
  /** The SDK's JSON-RPC answer for this event. */
  event: JsonValue
}

/**
 * The Parley request carrying an A2A JSON-RPC call: `a2a/<method>` with the
 * params unchanged, or, for a streaming method, `{ stream, params }` naming
 * the stream its events will carry.
 */
export function a2aCall (method: string, params: JsonValue | undefined, stream?: string): A2ACall {
  const p = (params ?? {}) as JsonRpcParams
  if (!A2A_STREAMING_METHODS.has(method)) return { method: A2A_NAMESPACE + method, params: p }
  if (stream === undefined) throw new TypeError(`${method} streams: name the stream`)
  return { method: A2A_NAMESPACE + method, params: { stream, params: p as JsonValue } }
}

/** The params of the `a2a/stream` notification carrying event `seq` of `stream`: the SDK's JSON-RPC answer for it, as it is. */
export function a2aStreamEvent (stream: string, seq: number, event: JsonValue): A2AStreamEventParams {
  return { stream, seq, event }
}
