/**
 * The trust store: what the node's human decided about each contact, keyed
 * by peer id, kept in a datastore under `/parley/trust/<peer id>`.
 *
 * Levels ({@link TrustLevel}):
 *
 * - **0 unknown** — everyone not in the store: every action needs the human;
 *   free-text messages are held until the human accepts them.
 * - **1 known** — messages go to the inbox automatically; actions need the human.
 * - **2 trusted** — routine actions go ahead automatically within the
 *   contact's limits (amount, currency, methods); others need the human.
 *
 * Trust changes only by an explicit human decision ({@link TrustStore.set},
 * which names who decided). The store counts outcomes of interactions
 * ({@link TrustStore.recordOutcome}) and may *suggest* a higher level after
 * a run of successes, but it never changes a level by itself.
 *
 * Entries are held in memory (one small record per contact) so
 * {@link TrustStore.get} is synchronous for the policy gate; every change is
 * written through before its promise resolves.
 */
import { Key } from 'interface-datastore'
import { logger } from '@libp2p/logger'
import type { Datastore } from 'interface-datastore'
import { TypedEventEmitter } from 'main-event'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { canonicalize } from '../crypto/canonical-json.js'
import { Serial } from '../util/serial.js'
import { TrustError, TrustErrorCode as Code } from './errors.js'
import { isCurrency } from '../methods/amount.js'
import { describe, isCount, isPeerId, isPlainObject } from './signed.js'
import { HANDLE_PATTERN } from '../handles/record.js'

const log = logger('parley:store:trust')

/** Datastore key prefix of trust entries. */
export const TRUST_KEY_PREFIX = '/parley/trust/'

/** Trust levels by name. */
export const TrustLevel = {
  /** Not known: every action and every free-text message needs the human. */
  UNKNOWN: 0,
  /** Known: messages are queued to the inbox; actions need the human. */
  KNOWN: 1,
  /** Trusted: routine actions are automatic within the contact's limits. */
  TRUSTED: 2
} as const
export type TrustLevel = typeof TrustLevel[keyof typeof TrustLevel]

/** What a trusted (level 2) contact may do without asking. */
export interface TrustLimits {
  /** Largest amount of an automatic action, in {@link currency}. */
  maxAmount?: number
  /** ISO 4217 code of {@link maxAmount}; required with it. */
  currency?: string
  /** Methods allowed automatically; when absent, any method of class `action`. */
  methods?: string[]
}

/** Counts of interactions with a contact, kept for suggestions. */
export interface TrustOutcomes {
  /** Successful interactions, ever. */
  ok: number
  /** Failed interactions, ever. */
  failed: number
  /** Successes since the last failure or level change. */
  streak: number
}

/** What the store knows about one contact. */
export interface TrustEntry {
  /** The contact's peer id. */
  peer: string
  /** The contact's handle, as last remembered (informative: the peer id is the key). */
  handle?: string
  /** The contact's trust level. */
  level: TrustLevel
  /** What the contact may do without asking, at level 2. */
  limits?: TrustLimits
  /** When a human last set the level (ms since the epoch); 0 if never. */
  updated: number
  /** Who decided the level (a peer id or a name). */
  by?: string
  /** The human's note. */
  note?: string
  /** Counts of past interactions. */
  outcomes: TrustOutcomes
}

/** A level the store proposes for a human to confirm with {@link TrustStore.set}. */
export interface TrustSuggestion {
  /** The contact's peer id. */
  peer: string
  /** The contact's handle, when remembered. */
  handle?: string
  /** The contact's current level. */
  from: TrustLevel
  /** The level suggested. */
  to: TrustLevel
  /** The run of successes that prompted it. */
  streak: number
  /** Why, in words a human can read. */
  reason: string
}

/** Options of {@link TrustStore.open}. */
export interface TrustStoreOptions {
  /** The clock, ms since the Unix epoch (default `Date.now`). */
  now?: () => number
  /**
   * Successes in a row after which a level is suggested: `known` for 0 → 1
   * (default 3), `trusted` for 1 → 2 (default 10). `Infinity` disables one.
   */
  suggestAfter?: {
    /** Successes before suggesting 0 → 1 (default 3). */
    known?: number
    /** Successes before suggesting 1 → 2 (default 10). */
    trusted?: number
  }
}

/** Options of {@link TrustStore.set}. */
export interface SetTrustOptions {
  /** Who decided (a peer id or a name): required, trust comes from a decision. */
  by: string
  /** Limits of automatic actions (level 2). Replaces earlier limits; omit to clear them. */
  limits?: TrustLimits
  /** Remember the contact's handle. */
  handle?: string
  /** A note from the human. */
  note?: string
}

/** Events of a {@link TrustStore}. */
export interface TrustEvents {
  /** A human set a contact's level or limits. */
  change: CustomEvent<{
    /** The entry after the change. */
    entry: TrustEntry
    /** The level before it. */
    from: TrustLevel
  }>
  /** A run of successes reached a suggestion threshold. */
  suggestion: CustomEvent<TrustSuggestion>
}

const LEVELS: readonly number[] = [0, 1, 2]
const MAX_TEXT = 1024

function invalid (message: string): TrustError {
  return new TrustError(Code.INVALID_ARGUMENT, message)
}

function checkPeer (peer: unknown): string {
  if (!isPeerId(peer)) throw invalid(`${describe(peer)} is not an Ed25519 peer id`)
  return peer
}

function checkLimits (limits: unknown): TrustLimits | undefined {
  if (limits === undefined) return undefined
  if (!isPlainObject(limits)) throw invalid('limits must be an object')
  const { maxAmount, currency, methods, ...rest } = limits
  if (Object.keys(rest).length > 0) throw invalid(`unknown limit ${describe(Object.keys(rest)[0])}`)
  const out: TrustLimits = {}
  if (maxAmount !== undefined) {
    if (typeof maxAmount !== 'number' || !Number.isFinite(maxAmount) || maxAmount < 0) throw invalid('limits.maxAmount must be a finite number ≥ 0')
    if (currency === undefined) throw invalid('limits.maxAmount needs limits.currency: amounts in different currencies are never compared')
    out.maxAmount = maxAmount
  }
  if (currency !== undefined) {
    if (!isCurrency(currency)) throw invalid(`limits.currency ${describe(currency)} is not an ISO 4217 code`)
    out.currency = currency
  }
  if (methods !== undefined) {
    if (!Array.isArray(methods) || !methods.every(m => typeof m === 'string' && m.length > 0 && m.length <= 256)) {
      throw invalid('limits.methods must be an array of method names')
    }
    out.methods = [...new Set(methods as string[])]
  }
  return out
}

function checkText (name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT) throw invalid(`${name} must be a string of 1-${MAX_TEXT} characters`)
  return value
}

function checkHandle (handle: unknown): string | undefined {
  if (handle === undefined) return undefined
  if (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle)) throw invalid(`${describe(handle)} is not a handle (without the @)`)
  return handle
}

function checkThreshold (name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (value === Infinity || (isCount(value) && value > 0)) return value
  throw invalid(`suggestAfter.${name} must be a positive integer or Infinity`)
}

function parseStored (bytes: Uint8Array): TrustEntry | undefined {
  try {
    const value: unknown = JSON.parse(fromUtf8(bytes))
    if (!isPlainObject(value) || !isPeerId(value.peer) || !LEVELS.includes(value.level as number) || !isPlainObject(value.outcomes)) return undefined
    return value as unknown as TrustEntry
  } catch {
    return undefined
  }
}

function defaultEntry (peer: string): TrustEntry {
  return { peer, level: 0, updated: 0, outcomes: { ok: 0, failed: 0, streak: 0 } }
}

function copy (entry: TrustEntry): TrustEntry {
  return structuredClone(entry)
}

/**
 * The node's trust in its contacts. Open one with {@link TrustStore.open}.
 *
 * @example
 * ```ts
 * import { MemoryDatastore } from 'datastore-core'
 * import { TrustStore } from 'parley-mesh/store'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const me: Identity
 * declare const bob: string // a contact's peer id
 *
 * const trust = await TrustStore.open(new MemoryDatastore())
 * trust.get(bob).level // 0 for anyone not in the store
 * const hint = await trust.recordOutcome(bob, true) // after 3 successes: { from: 0, to: 1, … }
 * await trust.set(bob, 2, { by: me.peerIdString, limits: { maxAmount: 200, currency: 'GBP' } })
 * ```
 */
export class TrustStore extends TypedEventEmitter<TrustEvents> {
  readonly #ds: Datastore
  readonly #now: () => number
  readonly #after: { known: number, trusted: number }
  readonly #entries = new Map<string, TrustEntry>()
  readonly #serial = new Serial()
  #closed = false

  private constructor (ds: Datastore, options: TrustStoreOptions) {
    super()
    this.#ds = ds
    this.#now = options.now ?? Date.now
    this.#after = {
      known: checkThreshold('known', options.suggestAfter?.known, 3),
      trusted: checkThreshold('trusted', options.suggestAfter?.trusted, 10)
    }
  }

  /** Opens the trust store kept in `datastore` and loads its entries. */
  static async open (datastore: Datastore, options: TrustStoreOptions = {}): Promise<TrustStore> {
    const store = new TrustStore(datastore, options)
    for await (const { key, value } of datastore.query({ prefix: TRUST_KEY_PREFIX })) {
      const entry = parseStored(value)
      // a damaged record is skipped, which leaves that contact at level 0: the safe direction
      if (entry?.peer !== undefined && key.toString() === trustKey(entry.peer).toString()) store.#entries.set(entry.peer, entry)
      else log.error('skipping damaged trust record %s', key.toString())
    }
    return store
  }

  /** The entry of `peer`: level 0 with no history when the store has none. */
  get (peer: string): TrustEntry {
    const entry = this.#entries.get(checkPeer(peer))
    return entry === undefined ? defaultEntry(peer) : copy(entry)
  }

  /** `peer`'s trust level alone (0 for a peer the store does not hold): no copy, no check, for hot paths. */
  level (peer: string): TrustLevel {
    return this.#entries.get(peer)?.level ?? 0
  }

  /** Every contact the store holds (decided or with recorded outcomes), by peer id. */
  list (): TrustEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0).map(copy)
  }

  /**
   * Records a human's decision: `peer`'s level becomes `level`, with
   * `options.limits` (replacing earlier limits). This is the only way a
   * level changes. The run of successes restarts.
   *
   * @throws {TrustError} `ERR_TRUST_INVALID_ARGUMENT` for a bad peer id,
   * level, limits, handle or missing `by`.
   */
  async set (peer: string, level: TrustLevel, options: SetTrustOptions): Promise<TrustEntry> {
    this.#checkOpen()
    checkPeer(peer)
    if (!LEVELS.includes(level)) throw invalid(`trust level ${describe(level)} is not 0, 1 or 2`)
    const by = checkText('by', options?.by)
    if (by === undefined) throw invalid('a trust decision must say who made it (options.by)')
    const limits = checkLimits(options.limits)
    const handle = checkHandle(options.handle)
    const note = checkText('note', options.note)
    return this.#serial.run(async () => {
      const old = this.#entries.get(peer) ?? defaultEntry(peer)
      const entry: TrustEntry = {
        peer,
        level,
        updated: this.#now(),
        by,
        outcomes: { ...old.outcomes, streak: 0 }
      }
      const remembered = handle ?? old.handle
      if (remembered !== undefined) entry.handle = remembered
      if (limits !== undefined) entry.limits = limits
      if (note !== undefined) entry.note = note
      await this.#put(entry)
      this.safeDispatchEvent('change', { detail: { entry: copy(entry), from: old.level } })
      return copy(entry)
    })
  }

  /**
   * Counts one interaction with `peer` (`ok`: it went well). Returns the
   * current suggestion, if the run of successes reached a threshold; the
   * `suggestion` event fires when it first does. The level never changes here.
   */
  async recordOutcome (peer: string, ok: boolean, options: { handle?: string } = {}): Promise<TrustSuggestion | undefined> {
    this.#checkOpen()
    checkPeer(peer)
    const handle = checkHandle(options.handle)
    return this.#serial.run(async () => {
      const old = this.#entries.get(peer) ?? defaultEntry(peer)
      const entry = copy(old)
      if (handle !== undefined) entry.handle = handle
      if (ok) {
        entry.outcomes.ok++
        entry.outcomes.streak++
      } else {
        entry.outcomes.failed++
        entry.outcomes.streak = 0
      }
      await this.#put(entry)
      const suggestion = this.#suggest(entry)
      if (suggestion !== undefined && entry.outcomes.streak === this.#threshold(entry.level)) {
        this.safeDispatchEvent('suggestion', { detail: suggestion })
      }
      return suggestion
    })
  }

  /** The level the store would suggest for `peer` now, if any. */
  suggestion (peer: string): TrustSuggestion | undefined {
    const entry = this.#entries.get(checkPeer(peer))
    return entry === undefined ? undefined : this.#suggest(entry)
  }

  /** Every current suggestion. */
  suggestions (): TrustSuggestion[] {
    return this.list().map(e => this.#suggest(e)).filter((s): s is TrustSuggestion => s !== undefined)
  }

  /** Forgets `peer` entirely: it is unknown (level 0) again. */
  async forget (peer: string): Promise<void> {
    this.#checkOpen()
    checkPeer(peer)
    await this.#serial.run(async () => {
      await this.#ds.delete(trustKey(peer))
      this.#entries.delete(peer)
    })
  }

  /** Waits for pending writes and stops accepting changes. The datastore stays open. */
  async close (): Promise<void> {
    this.#closed = true
    await this.#serial.idle()
  }

  #threshold (level: TrustLevel): number {
    return level === 0 ? this.#after.known : level === 1 ? this.#after.trusted : Infinity
  }

  #suggest (entry: TrustEntry): TrustSuggestion | undefined {
    const { level, outcomes: { streak } } = entry
    if (level === 2 || streak < this.#threshold(level)) return undefined
    const to: TrustLevel = level === 0 ? 1 : 2
    const suggestion: TrustSuggestion = {
      peer: entry.peer,
      from: level,
      to,
      streak,
      reason: `${streak} successful interactions in a row at level ${level}: consider ${to === 1 ? 'known (messages delivered automatically)' : 'trusted (routine actions automatic within limits you set)'}`
    }
    if (entry.handle !== undefined) suggestion.handle = entry.handle
    return suggestion
  }

  async #put (entry: TrustEntry): Promise<void> {
    await this.#ds.put(trustKey(entry.peer), utf8(canonicalize(entry)))
    this.#entries.set(entry.peer, entry)
  }

  #checkOpen (): void {
    if (this.#closed) throw new TrustError(Code.CLOSED, 'the trust store is closed')
  }
}

/** The datastore key of `peer`'s entry. */
export function trustKey (peer: string): Key {
  return new Key(TRUST_KEY_PREFIX + peer)
}
