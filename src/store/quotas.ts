/**
 * Per-peer quotas of a node's desk: how much of the node's attention (its
 * human's pending approvals, its open negotiations, its event log) one peer
 * can take. Quotas are counted per peer and by the peer's trust level, so that
 * one peer's flood never locks out another; the strangers (level 0) also share
 * one node-wide ceiling of pending approvals, which contacts are not counted
 * against, so that strangers together cannot lock out a contact either.
 *
 * {@link DEFAULT_QUOTAS} holds every default; a node overrides any of them
 * with its policy's `quotas` (`NodePolicy.quotas`).
 *
 * @example
 * ```ts
 * import { createAgent } from 'parley-mesh'
 *
 * const relays = [process.env.PARLEY_RELAY ?? '']
 * // strangers get 5 pending approvals each, 100 between them
 * const agent = await createAgent({ relays, policy: { quotas: { approvalsPerPeer: [5, 100, 200], strangerApprovals: 100 } } })
 * ```
 */
import { describe } from './signed.js'

/** Per-level limits: `[level 0 (unknown), level 1 (known), level 2 (trusted)]`. */
export type PerLevel = readonly [number, number, number]

/** Every quota of a desk. */
export interface Quotas {
  /** Approvals one peer may have open (pending, or approved and not yet used) at once, by its trust level. */
  approvalsPerPeer: PerLevel
  /** Approvals all strangers (level 0) together may have open at once; contacts are not counted. */
  strangerApprovals: number
  /** Negotiations (not yet over) one peer may have open with this node at once, by its trust level; counted when it proposes. */
  negotiationsPerPeer: PerLevel
  /** Refusals of one peer (refused frames, quota and policy refusals, refused transitions) recorded in the event log per window; the rest are counted and summed up in one entry. */
  refusalsLoggedPerPeer: number
  /** The window of {@link refusalsLoggedPerPeer}, in ms. */
  refusalWindowMs: number
  /**
   * How long finished approvals (used, rejected, expired) and negotiations
   * that are over are kept after they ended, in ms; then they are deleted
   * (the event log keeps their record). 0 keeps them forever.
   */
  finishedKeptMs: number
}

/** The quotas a node starts from. */
export const DEFAULT_QUOTAS: Readonly<Quotas> = Object.freeze({
  approvalsPerPeer: Object.freeze([20, 100, 200] as const),
  strangerApprovals: 500,
  negotiationsPerPeer: Object.freeze([10, 100, 500] as const),
  refusalsLoggedPerPeer: 20,
  refusalWindowMs: 60_000,
  finishedKeptMs: 30 * 24 * 60 * 60 * 1000
})

/** Overrides of {@link DEFAULT_QUOTAS} (`NodePolicy.quotas`). */
export type QuotaOptions = Partial<Quotas>

/** JSON-RPC error code of a request refused because the caller (or the strangers as a group) is over a quota. */
export const QUOTA_EXCEEDED = -32005
/** The stable code in `data.code` of a {@link QUOTA_EXCEEDED} error. */
export const QUOTA_EXCEEDED_CODE = 'ERR_QUOTA'

/** Which quota was reached: the caller's own, the strangers' shared one, or the node's overall ceiling. */
export type QuotaScope = 'peer' | 'strangers' | 'node'

function isLimit (value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

/**
 * The quotas `options` give, over the defaults.
 *
 * @throws {TypeError} naming the first quota that is not a non-negative integer (or, per level, three of them).
 */
export function resolveQuotas (options: QuotaOptions = {}): Quotas {
  const q: Quotas = { ...DEFAULT_QUOTAS, ...options }
  for (const key of ['approvalsPerPeer', 'negotiationsPerPeer'] as const) {
    const v: unknown = q[key]
    if (!Array.isArray(v) || v.length !== 3 || !v.every(isLimit)) throw new TypeError(`quotas.${key} must be three non-negative integers (levels 0, 1, 2), not ${describe(v)}`)
  }
  for (const key of ['strangerApprovals', 'refusalsLoggedPerPeer', 'refusalWindowMs', 'finishedKeptMs'] as const) {
    if (!isLimit(q[key])) throw new TypeError(`quotas.${key} must be a non-negative integer, not ${describe(q[key])}`)
  }
  return q
}

/** The limit of `perLevel` for a contact at `level` (anything but 1 or 2 is level 0). */
export function forLevel (perLevel: PerLevel, level: number): number {
  return level === 1 || level === 2 ? perLevel[level] : perLevel[0]
}
