/**
 * The policy gate: pure functions that decide what happens to an incoming
 * request or a negotiation transition, from the contact's trust entry, the
 * method's class and the amount at stake.
 *
 * | class       | level 0 (unknown) | level 1 (known) | level 2 (trusted)                |
 * |-------------|-------------------|-----------------|----------------------------------|
 * | `routine`   | allow             | allow           | allow                            |
 * | `message`   | ask               | queue           | queue                            |
 * | `action`    | ask               | ask             | allow within limits, else ask    |
 * | `forbidden` | deny              | deny            | deny                             |
 *
 * - **allow**: go ahead automatically; **queue**: deliver to the human's
 *   inbox without asking; **ask**: hold it as a pending approval;
 *   **deny**: refuse it.
 * - *Within limits* (level 2): the method is in the contact's
 *   `limits.methods` when that list is set, and an action carrying an amount
 *   is in the currency of `limits.maxAmount` and not above it. An action with
 *   an amount and no `maxAmount` set asks: trust without a limit is not a
 *   blank cheque.
 * - The node-wide `amountThreshold` comes first: an action above it, or in
 *   another currency (which cannot be compared), asks at every level.
 * - An amount that is not `{ value ≥ 0, currency: ISO 4217 }` is denied.
 *
 * Methods are classed by {@link DEFAULT_METHOD_CLASSES} overlaid with the
 * node's `classes`; a method in neither is `defaultClass` (`action` unless
 * set: what the node does not know is treated as binding). MCP's methods
 * arrive as `mcp/<method>` (protocols/mcp): those that only describe, and
 * `mcp/notifications/…`, are routine; an MCP tool call is classed by its tool
 * (`mcp/tools/call:<name>`) when the policy names it, else as `mcp/tools/call`.
 */
import { PolicyError, PolicyErrorCode } from './errors.js'
import { formatAmount, isAmount } from '../methods/amount.js'
import type { Amount } from '../methods/amount.js'
import type { TrustLevel, TrustLimits } from './trust.js'
import { describe } from './signed.js'
import { resolveQuotas } from './quotas.js'
import { MCP_NOTIFICATIONS, MCP_ROUTINE_METHODS } from '../mcp/constants.js'
import type { QuotaOptions } from './quotas.js'

/** How binding a method is. */
export type MethodClass = 'routine' | 'message' | 'action' | 'forbidden'
/** What the gate decides. */
export type PolicyDecision = 'allow' | 'queue' | 'ask' | 'deny'

/** The classes a node starts from: the methods of protocols/methods (§1). */
export const DEFAULT_METHOD_CLASSES: Readonly<Record<string, MethodClass>> = Object.freeze({
  ping: 'routine',
  'info/request': 'routine',
  'task/delegate': 'routine',
  'negotiation/propose': 'routine',
  'negotiation/counter': 'routine',
  'negotiation/reject': 'routine',
  'negotiation/cancel': 'routine',
  message: 'message',
  'negotiation/accept': 'action',
  // MCP over Parley (protocols/mcp): what only describes is routine; tools/call, resources/read, prompts/get are not listed
  ...Object.fromEntries(MCP_ROUTINE_METHODS.map(m => [m, 'routine' as const]))
})

/** A node's own policy. */
export interface NodePolicy {
  /** Any action above this amount asks the human, whatever the contact's trust. */
  amountThreshold?: Amount
  /** Method classes, overlaid on {@link DEFAULT_METHOD_CLASSES}. */
  classes?: Readonly<Record<string, MethodClass>>
  /** Class of methods in no map. Default `action`. */
  defaultClass?: MethodClass
  /** Per-peer quotas (pending approvals, open negotiations, refusals logged), over `DEFAULT_QUOTAS`; the gate itself ignores them. */
  quotas?: QuotaOptions
}

/** What the gate looks at. */
export interface PolicyInput {
  /** The contact's trust entry (a `TrustEntry` will do); absent: level 0. */
  trust?: {
    /** The contact's level. */
    level: TrustLevel
    /** The contact's limits (level 2). */
    limits?: TrustLimits
  } | undefined
  /** The request's method, the tool's name, or the transition's name. */
  method: string
  /** The amount at stake, if any. */
  amount?: Amount
}

/** The gate's answer. */
export interface PolicyVerdict {
  /** What happens to the request or transition. */
  decision: PolicyDecision
  /** Why, in words a human can read. */
  reason: string
  /** The method's class under the node's policy. */
  methodClass: MethodClass
  /** The contact's trust level the gate used (0 when no entry was given). */
  level: TrustLevel
}

const CLASSES: ReadonlySet<string> = new Set(['routine', 'message', 'action', 'forbidden'])

function badPolicy (message: string): PolicyError {
  return new PolicyError(PolicyErrorCode.INVALID_POLICY, message)
}

function checkPolicy (policy: NodePolicy): void {
  if (policy.amountThreshold !== undefined && !isAmount(policy.amountThreshold)) {
    throw badPolicy(`amountThreshold ${describe(policy.amountThreshold)} is not { value ≥ 0, currency: ISO 4217 }`)
  }
  if (policy.defaultClass !== undefined && !CLASSES.has(policy.defaultClass)) throw badPolicy(`defaultClass ${describe(policy.defaultClass)} is not a method class`)
  for (const [method, cls] of Object.entries(policy.classes ?? {})) {
    if (!CLASSES.has(cls)) throw badPolicy(`class ${describe(cls)} of ${describe(method)} is not a method class`)
  }
  if (policy.quotas !== undefined) {
    try {
      resolveQuotas(policy.quotas)
    } catch (err) {
      throw badPolicy((err as Error).message)
    }
  }
}

/**
 * The class of `method` under `policy`.
 *
 * @throws {PolicyError} `ERR_POLICY_INVALID` for a policy that is not well formed.
 */
export function classifyMethod (method: string, policy: NodePolicy = {}): MethodClass {
  checkPolicy(policy)
  return classOf(method, policy)
}

function classOf (method: string, policy: NodePolicy): MethodClass {
  const own = policy.classes
  if (own !== undefined && Object.hasOwn(own, method)) return own[method] as MethodClass
  if (Object.hasOwn(DEFAULT_METHOD_CLASSES, method)) return DEFAULT_METHOD_CLASSES[method] as MethodClass
  // MCP notifications (progress, cancelled, list changes) report; they never act
  if (method.startsWith(MCP_NOTIFICATIONS)) return 'routine'
  return policy.defaultClass ?? 'action'
}

const LEVEL_NAMES = ['unknown', 'known', 'trusted'] as const

/**
 * Decides what happens to one request or transition (see the module doc).
 *
 * @example
 * ```ts
 * import { policyGate } from 'parley-mesh/store'
 * import type { TrustStore } from 'parley-mesh/store'
 * declare const trust: TrustStore
 * declare const peer: string // the caller's peer id
 *
 * const verdict = policyGate({ trust: trust.get(peer), method: 'purchase', amount: { value: 500, currency: 'GBP' } },
 *                            { amountThreshold: { value: 100, currency: 'GBP' } })
 * // { decision: 'ask', reason: 'purchase of 500 GBP is above the node\'s threshold of 100 GBP', … }
 * ```
 * @throws {PolicyError} `ERR_POLICY_INVALID` for a policy that is not well formed.
 */
export function policyGate (input: PolicyInput, policy: NodePolicy = {}): PolicyVerdict {
  checkPolicy(policy)
  const rawLevel = input.trust?.level ?? 0
  const level: TrustLevel = rawLevel === 1 || rawLevel === 2 ? rawLevel : 0
  const method = input.method
  const methodClass = classOf(method, policy)
  const who = `a contact at level ${level} (${LEVEL_NAMES[level]})`
  const verdict = (decision: PolicyDecision, reason: string): PolicyVerdict => ({ decision, reason, methodClass, level })
  const { amount } = input
  if (amount !== undefined && !isAmount(amount)) return verdict('deny', `${method}: the amount ${describe(amount)} is not { value ≥ 0, currency: ISO 4217 }`)

  switch (methodClass) {
    case 'forbidden':
      return verdict('deny', `${method} is not served by this node`)
    case 'routine':
      return verdict('allow', `${method} is routine: answered automatically at every level`)
    case 'message':
      return level === 0
        ? verdict('ask', `a message from ${who} is held until the human accepts it`)
        : verdict('queue', `a message from ${who} goes to the inbox`)
    case 'action':
      break
  }

  const what = amount === undefined ? method : `${method} of ${formatAmount(amount)}`
  const threshold = policy.amountThreshold
  if (threshold !== undefined && amount !== undefined) {
    if (amount.currency !== threshold.currency) {
      return verdict('ask', `${what} is in another currency than the node's threshold of ${formatAmount(threshold)}`)
    }
    if (amount.value > threshold.value) return verdict('ask', `${what} is above the node's threshold of ${formatAmount(threshold)}`)
  }
  if (level < 2) return verdict('ask', `${what} from ${who} needs the human's approval`)
  const limits = input.trust?.limits ?? {}
  if (limits.methods !== undefined && !limits.methods.includes(method)) {
    return verdict('ask', `${method} is not among the methods allowed automatically for this contact`)
  }
  if (amount !== undefined) {
    if (limits.maxAmount === undefined || limits.currency === undefined) return verdict('ask', `${what}: no amount limit is set for this contact`)
    if (amount.currency !== limits.currency) return verdict('ask', `${what} is not in the contact's limit currency (${limits.currency})`)
    if (amount.value > limits.maxAmount) return verdict('ask', `${what} is above the contact's limit of ${limits.maxAmount} ${limits.currency}`)
  }
  return verdict('allow', `${what} from ${who} is within the contact's limits`)
}
