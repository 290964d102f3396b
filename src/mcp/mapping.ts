/**
 * The MCP binding's mapping (protocols/mcp §2–3), pure: an MCP message to
 * the Parley method and params that carry it, and back.
 */
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { MCP_BLOB_RESULT, MCP_NAMESPACE } from './constants.js'
import { isBlobRef } from '../session/blob.js'
import type { BlobRef } from '../session/blob.js'
import { McpBindingError, McpBindingErrorCode } from './errors.js'

/** An MCP JSON-RPC id. */
export type McpRequestId = string | number

/** An MCP JSON-RPC message, as the SDK hands it to a transport (`JSONRPCMessage`). */
export type McpMessage = McpRequest | McpNotification | McpResult | McpError

/** An MCP request. */
export interface McpRequest {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** The sender's id for it. */
  id: McpRequestId
  /** The MCP method, e.g. `tools/call`. */
  method: string
  /** Its params. */
  params?: Record<string, unknown>
}

/** An MCP notification. */
export interface McpNotification {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** The MCP method, e.g. `notifications/progress`. */
  method: string
  /** Its params. */
  params?: Record<string, unknown>
}

/** An MCP result. */
export interface McpResult {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** The id of the request answered. */
  id: McpRequestId
  /** The result. */
  result: Record<string, unknown>
}

/** An MCP error response. */
export interface McpError {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** The id of the request answered, when known. */
  id?: McpRequestId | null
  /** The JSON-RPC error. */
  error: {
    /** The JSON-RPC error code. */
    code: number
    /** What went wrong. */
    message: string
    /** More about it. */
    data?: unknown
  }
}

/** A Parley method and params carrying an MCP message. */
export interface CarriedMcp {
  /** `mcp/` and the MCP method. */
  method: string
  /** The MCP params, unchanged. */
  params?: JsonRpcParams
}

/** The Parley method and params carrying an MCP request or notification: `tools/call` → `mcp/tools/call`, params as they are. */
export function toParley (message: McpMessage): CarriedMcp {
  if (!('method' in message) || typeof message.method !== 'string' || message.method.length === 0) {
    throw new McpBindingError(McpBindingErrorCode.INVALID_MESSAGE, 'only requests and notifications are carried as Parley methods')
  }
  const params = message.params
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
    throw new McpBindingError(McpBindingErrorCode.INVALID_MESSAGE, 'MCP params are an object')
  }
  return params === undefined ? { method: MCP_NAMESPACE + message.method } : { method: MCP_NAMESPACE + message.method, params: params as { [key: string]: JsonValue } }
}

/**
 * The MCP message a Parley `mcp/…` request (with the receiver's local `id`)
 * or notification (without) stands for.
 */
export function fromParley (method: string, params: JsonRpcParams | undefined, id?: number): McpMessage {
  if (!method.startsWith(MCP_NAMESPACE) || method.length === MCP_NAMESPACE.length) {
    throw new McpBindingError(McpBindingErrorCode.INVALID_MESSAGE, `not an MCP method: ${method.slice(0, 64)}`)
  }
  if (params !== undefined && Array.isArray(params)) {
    throw new McpBindingError(McpBindingErrorCode.INVALID_MESSAGE, 'MCP params are an object')
  }
  const mcpMethod = method.slice(MCP_NAMESPACE.length)
  const base = params === undefined ? { jsonrpc: '2.0' as const, method: mcpMethod } : { jsonrpc: '2.0' as const, method: mcpMethod, params: params as Record<string, unknown> }
  return id === undefined ? base : { ...base, id }
}

/** The blob reference when `result` is a result carried as a blob (`{ "parley/blob": ref }`, protocols/mcp §3); undefined otherwise. */
export function blobResult (result: JsonValue): BlobRef | undefined {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return undefined
  const keys = Object.keys(result)
  const ref = result[MCP_BLOB_RESULT]
  return keys.length === 1 && isBlobRef(ref) ? ref : undefined
}

// the held answer is the approval protocol's, shared with A2A: defined with the methods
export { heldApproval } from '../methods/held.js'
