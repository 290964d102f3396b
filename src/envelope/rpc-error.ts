/**
 * JSON-RPC errors as code sees them: the standard error codes Parley uses
 * and {@link RpcError}, which a session raises for a failed response and a
 * handler throws to send one. Here, below the session, so that the method
 * param checks (src/methods) can throw it without depending on sessions.
 */
import type { JsonValue } from '../crypto/canonical-json.js'

/** Standard JSON-RPC code: the method does not exist. */
export const METHOD_NOT_FOUND = -32601
/** Standard JSON-RPC code: invalid method params. */
export const INVALID_PARAMS = -32602
/** Standard JSON-RPC code: internal error. */
export const INTERNAL_ERROR = -32603

/** A JSON-RPC error: received from the far side, or thrown by a handler to send one. */
export class RpcError extends Error {
  /** Always `'RpcError'`. */
  override readonly name = 'RpcError'
  /** The JSON-RPC error code (e.g. -32601, method not found). */
  readonly code: number
  /** The error's `data` member, when it has one. */
  readonly data: JsonValue | undefined

  constructor (code: number, message: string, data?: JsonValue) {
    super(message)
    this.code = code
    this.data = data
  }
}
