/**
 * Parley's methods of the AI2AI family (`protocols/methods`): names, policy
 * classes, and param checks that answer bad params with JSON-RPC `-32602`.
 *
 * @example
 * ```ts
 * import { METHODS, messageParams } from 'parley-mesh'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent
 *
 * agent.handle(METHODS.message, (params) => {
 *   const { text } = messageParams(params) // throws RpcError(-32602) on bad params
 *   return { status: 'delivered' }
 * })
 * ```
 *
 * @packageDocumentation
 */
import { RpcError, INVALID_PARAMS } from '../envelope/rpc-error.js'
import type { JsonValue, JsonObject } from '../crypto/canonical-json.js'
import { isAmount } from './amount.js'
import type { Amount } from './amount.js'

export { METHODS } from './names.js'

/** JSON-RPC "invalid params". */
export { INVALID_PARAMS }

// Policy classes of these methods: DEFAULT_METHOD_CLASSES in src/store/policy.ts.

/** Params of `message` (protocols/methods §3). */
export interface MessageParams {
  /** The text, 1-10 000 characters. */
  text: string
  /** A conversation id of the sender's choosing (up to 200 characters). */
  conversation?: string
  /** The id of the envelope this message answers. */
  inReplyTo?: string
  /** How soon the human should see it. */
  urgency?: 'low' | 'normal' | 'high'
}
/** Result of `message`. */
export interface MessageResult {
  /** `delivered`: a live handler took it; `queued`: in the human's inbox; `held`: waiting for the human to accept it. */
  status: 'delivered' | 'queued' | 'held'
  /** The pending approval's id, when `held`. */
  approval?: string
}
/** Params of `info/request` (protocols/methods §4). */
export interface InfoRequestParams {
  /** What the request is about, 1-200 characters. */
  topic: string
  /** The question in words. */
  question?: string
  /** Names of the fields wanted (up to 100). */
  fields?: string[]
  /** Any context the answerer may need, as a JSON object. */
  context?: JsonObject
}
/** Result of `info/request`. */
export interface InfoResult {
  /** The topic asked about. */
  topic: string
  /** The answer, any JSON. */
  data?: JsonValue
  /** How sure the answerer is, in [0, 1]. */
  confidence?: number
  /** Where the data comes from. */
  source?: string
  /** When the data was true, in ms since the Unix epoch. */
  asOf?: number
  /** `held`: the topic waits for the human; the answer follows as `approval/outcome`. */
  status?: 'held'
  /** The pending approval's id, when `held`. */
  approval?: string
}
/** Params of `task/delegate` (protocols/methods §5). */
export interface DelegateParams {
  /** The task's name, 1-200 characters. */
  task: string
  /** The task's input, any JSON. */
  input?: JsonValue
  /** When the task must be done, in ms since the Unix epoch. */
  deadline?: number
  /** Handles the task has passed through, outermost first (up to 32); a node refuses a task whose chain holds its own handle. */
  chain?: string[]
}
/** Result of `task/delegate`. */
export interface DelegateResult {
  /** The task's name. */
  task: string
  /** The task's output, any JSON. */
  output: JsonValue
  /** Handle or peer id of the node that did the work. */
  by: string
  /** The handles the task passed through, the worker's appended. */
  chain: string[]
}

function invalid (message: string): never {
  throw new RpcError(INVALID_PARAMS, `invalid params: ${message}`)
}

function object (params: unknown): Record<string, unknown> {
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

/** Checks `message` params and returns them typed; throws {@link RpcError} `-32602` (invalid params) when they do not match. */
export function messageParams (params: unknown): MessageParams {
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

/** Checks `info/request` params and returns them typed; throws {@link RpcError} `-32602` (invalid params) when they do not match. */
export function infoRequestParams (params: unknown): InfoRequestParams {
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

/** Checks `task/delegate` params and returns them typed; throws {@link RpcError} `-32602` (invalid params) when they do not match. */
export function delegateParams (params: unknown): DelegateParams {
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

export { heldApproval, outcomeOf, DECLINED, ERR_DECLINED } from './held.js'
export type { CallOutcome, OutcomeSource } from './held.js'
