/**
 * JSON-RPC 2.0 message validation (a single message; batches are not part
 * of Parley). The Parley profile is slightly stricter than the JSON-RPC
 * text: request ids are strings or integers (never null or fractions) and
 * unknown top-level members are refused, so that every implementation reads
 * a message the same way.
 */
import { isJsonObject } from '../crypto/shape.js'
import { EnvelopeError, EnvelopeErrorCode } from '../errors.js'
import type { JsonValue } from '../crypto/canonical-json.js'

/** A request id: a string or a safe integer. */
export type JsonRpcId = string | number

/** Parameters: by name or by position. */
export type JsonRpcParams = { [key: string]: JsonValue } | JsonValue[]

/** A JSON-RPC 2.0 request: it has an `id` and expects a response. */
export interface JsonRpcRequest {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** Echoed in the response. */
  id: JsonRpcId
  /** The method's name, non-empty. */
  method: string
  /** The method's parameters. */
  params?: JsonRpcParams
}

/** A JSON-RPC 2.0 notification: no `id`, no response. */
export interface JsonRpcNotification {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** The method's name, non-empty. */
  method: string
  /** The method's parameters. */
  params?: JsonRpcParams
}

/** The `error` member of a failed response. */
export interface JsonRpcErrorObject {
  /** An integer error code, e.g. `-32602` for invalid params. */
  code: number
  /** A short description. */
  message: string
  /** Anything more, as JSON. */
  data?: JsonValue
}

/** A successful JSON-RPC 2.0 response. */
export interface JsonRpcSuccess {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** The id of the request answered. */
  id: JsonRpcId
  /** The method's result. */
  result: JsonValue
}

/** A failed JSON-RPC 2.0 response. */
export interface JsonRpcFailure {
  /** Always `'2.0'`. */
  jsonrpc: '2.0'
  /** `null` only when the request's id could not be read. */
  id: JsonRpcId | null
  /** What went wrong. */
  error: JsonRpcErrorObject
}

/** A JSON-RPC 2.0 response, success or failure. */
export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure
/** Any single JSON-RPC 2.0 message an envelope can carry. */
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse

function fail (why: string): never {
  throw new EnvelopeError(EnvelopeErrorCode.MALFORMED_JSONRPC, `malformed JSON-RPC: ${why}`)
}


function isId (v: unknown): v is JsonRpcId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v))
}

function onlyMembers (o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k in o) if (!allowed.includes(k)) fail(`unexpected member "${k}"`)
}

const REQUEST_MEMBERS = ['jsonrpc', 'id', 'method', 'params'] as const
const SUCCESS_MEMBERS = ['jsonrpc', 'id', 'result'] as const
const FAILURE_MEMBERS = ['jsonrpc', 'id', 'error'] as const
const ERROR_MEMBERS = ['code', 'message', 'data'] as const

/**
 * Checks that `value` is one JSON-RPC 2.0 request, notification or response
 * and returns it typed; throws {@link EnvelopeError} `ERR_MALFORMED_JSONRPC`.
 */
export function validateJsonRpc (value: unknown): JsonRpcMessage {
  if (!isJsonObject(value)) fail('not an object')
  if (value.jsonrpc !== '2.0') fail('"jsonrpc" must be "2.0"')
  if ('method' in value) {
    if (typeof value.method !== 'string' || value.method.length === 0) fail('"method" must be a non-empty string')
    onlyMembers(value, REQUEST_MEMBERS)
    if ('params' in value && !(Array.isArray(value.params) || isJsonObject(value.params))) fail('"params" must be an object or an array')
    if ('id' in value && !isId(value.id)) fail('"id" must be a string or a safe integer')
    return value as unknown as JsonRpcRequest | JsonRpcNotification
  }
  if (!('id' in value)) fail('neither "method" nor "id"')
  if ('result' in value) {
    if ('error' in value) fail('both "result" and "error"')
    onlyMembers(value, SUCCESS_MEMBERS)
    if (!isId(value.id)) fail('"id" must be a string or a safe integer')
    return value as unknown as JsonRpcSuccess
  }
  if (!('error' in value)) fail('a response needs "result" or "error"')
  onlyMembers(value, FAILURE_MEMBERS)
  if (value.id !== null && !isId(value.id)) fail('"id" must be a string, a safe integer or null')
  const error = value.error
  if (!isJsonObject(error)) fail('"error" must be an object')
  onlyMembers(error, ERROR_MEMBERS)
  if (typeof error.code !== 'number' || !Number.isSafeInteger(error.code)) fail('"error.code" must be an integer')
  if (typeof error.message !== 'string') fail('"error.message" must be a string')
  return value as unknown as JsonRpcFailure
}

/** True for a request (has `method` and `id`). */
export function isRequest (m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m
}

/** True for a notification (has `method`, no `id`). */
export function isNotification (m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m)
}

/** True for a response (`result` or `error`). */
export function isResponse (m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m)
}
