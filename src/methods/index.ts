/**
 * Parley's methods of the AI2AI family (`protocols/methods`): names, policy
 * classes, and param checks that answer bad params with JSON-RPC `-32602`.
 *
 * @example
 * ```ts
 * import { METHODS, messageParams } from 'parley-mesh'
 * agent.handle(METHODS.message, (params) => {
 *   const { text } = messageParams(params) // throws RpcError(-32602) on bad params
 *   return { status: 'delivered' }
 * })
 * ```
 *
 * @packageDocumentation
 */
import { RpcError } from '../session/session.js'
import { INVALID_PARAMS } from '../session/constants.js'
import { TRANSITION_METHOD } from '../negotiation/constants.js'
import type { JsonValue, JsonObject } from '../crypto/canonical-json.js'
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import { isAmount } from '../store/amount.js'
import type { Amount } from '../store/amount.js'

/** Method names (protocols/methods). */
export const METHODS = Object.freeze({
  ping: 'ping',
  message: 'message',
  infoRequest: 'info/request',
  taskDelegate: 'task/delegate',
  transition: TRANSITION_METHOD,
  applied: 'negotiation/applied',
  outcome: 'approval/outcome'
} as const)

/** JSON-RPC "invalid params". */
export { INVALID_PARAMS }

// Policy classes of these methods: DEFAULT_METHOD_CLASSES in src/store/policy.ts.

export interface MessageParams { text: string, conversation?: string, inReplyTo?: string, urgency?: 'low' | 'normal' | 'high' }
export interface MessageResult { status: 'delivered' | 'queued' | 'held', approval?: string }
export interface InfoRequestParams { topic: string, question?: string, fields?: string[], context?: JsonObject }
export interface InfoResult { topic: string, data?: JsonValue, confidence?: number, source?: string, asOf?: number, status?: 'held', approval?: string }
export interface DelegateParams { task: string, input?: JsonValue, deadline?: number, chain?: string[] }
export interface DelegateResult { task: string, output: JsonValue, by: string, chain: string[] }

function invalid (message: string): never {
  throw new RpcError(INVALID_PARAMS, `invalid params: ${message}`)
}

function object (params: JsonRpcParams | undefined): Record<string, unknown> {
  if (params === undefined || params === null || typeof params !== 'object' || Array.isArray(params)) invalid('expected an object')
  return params as Record<string, unknown>
}

function text (o: Record<string, unknown>, name: string, max: number, required: true): string
function text (o: Record<string, unknown>, name: string, max: number, required: false): string | undefined
function text (o: Record<string, unknown>, name: string, max: number, required: boolean): string | undefined {
  const v = o[name]
  if (v === undefined && !required) return undefined
  if (typeof v !== 'string' || v.length === 0 || v.length > max) invalid(`"${name}" must be a string of 1-${max} characters`)
  return v
}

function only (o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) invalid(`unexpected member "${k}"`)
}

/** Checks `message` params. */
export function messageParams (params: JsonRpcParams | undefined): MessageParams {
  const o = object(params)
  only(o, ['text', 'conversation', 'inReplyTo', 'urgency'])
  const out: MessageParams = { text: text(o, 'text', 10_000, true) }
  const conversation = text(o, 'conversation', 200, false)
  const inReplyTo = text(o, 'inReplyTo', 64, false)
  if (conversation !== undefined) out.conversation = conversation
  if (inReplyTo !== undefined) out.inReplyTo = inReplyTo
  if (o.urgency !== undefined) {
    if (o.urgency !== 'low' && o.urgency !== 'normal' && o.urgency !== 'high') invalid('"urgency" must be low, normal or high')
    out.urgency = o.urgency
  }
  return out
}

/** Checks `info/request` params. */
export function infoRequestParams (params: JsonRpcParams | undefined): InfoRequestParams {
  const o = object(params)
  only(o, ['topic', 'question', 'fields', 'context'])
  const out: InfoRequestParams = { topic: text(o, 'topic', 200, true) }
  const question = text(o, 'question', 10_000, false)
  if (question !== undefined) out.question = question
  if (o.fields !== undefined) {
    if (!Array.isArray(o.fields) || o.fields.length > 100 || !o.fields.every(f => typeof f === 'string' && f.length > 0 && f.length <= 200)) invalid('"fields" must be a list of up to 100 names')
    out.fields = o.fields as string[]
  }
  if (o.context !== undefined) {
    if (o.context === null || typeof o.context !== 'object' || Array.isArray(o.context)) invalid('"context" must be an object')
    out.context = o.context as JsonObject
  }
  return out
}

/** Checks `task/delegate` params. */
export function delegateParams (params: JsonRpcParams | undefined): DelegateParams {
  const o = object(params)
  only(o, ['task', 'input', 'deadline', 'chain'])
  const out: DelegateParams = { task: text(o, 'task', 200, true) }
  if (o.input !== undefined) out.input = o.input as JsonValue
  if (o.deadline !== undefined) {
    if (typeof o.deadline !== 'number' || !Number.isSafeInteger(o.deadline) || o.deadline < 0) invalid('"deadline" must be a time in ms since the Unix epoch')
    out.deadline = o.deadline
  }
  if (o.chain !== undefined) {
    if (!Array.isArray(o.chain) || o.chain.length > 32 || !o.chain.every(h => typeof h === 'string' && h.length > 0 && h.length <= 128)) invalid('"chain" must be a list of up to 32 handles')
    out.chain = o.chain as string[]
  }
  return out
}

/** The amount named by negotiation terms (`price`), if any (protocols/methods §6). */
export function amountOf (terms: unknown): Amount | undefined {
  if (terms === null || typeof terms !== 'object') return undefined
  const price = (terms as { price?: unknown }).price
  if (price === null || typeof price !== 'object') return undefined
  return isAmount(price) ? { value: price.value, currency: price.currency } : undefined
}
