/**
 * Presence on gossipsub: listens to `/parley/presence/1.0.0`, checks every
 * announcement (see {@link verifyPresence}) and keeps the latest verdict per
 * publisher; optionally announces this node on start, every `intervalMs`,
 * and soon after its connections or the topic's subscribers change or a
 * publisher it had not heard from appears (so newcomers learn of it quickly).
 *
 * The check runs as the topic's gossipsub validator, so a forged or
 * malformed announcement is recorded here (as invalid) but not forwarded to
 * other peers, and gossipsub counts it against the peer that sent it
 * ({@link PRESENCE_REJECTED}; the scoring is in `scoring.ts`). A refusal
 * that depends on this receiver — its clock, its view of the DHT (a handle
 * whose record may still be spreading), its per-publisher rate, a format
 * version it does not know — is not forwarded either, without penalising
 * the sender, which may be an honest relay that saw it otherwise.
 *
 * @example
 * ```ts
 * import { Presence } from 'parley-mesh/presence'
 * import type { HandleLookup } from 'parley-mesh/presence'
 * import type { GossipSub } from '@libp2p/gossipsub'
 * declare const pubsub: GossipSub // libp2p.services.pubsub
 * declare const peerId: string // this node's peer id
 * declare const resolve: HandleLookup // a DHT lookup of handle records
 *
 * const presence = new Presence(pubsub, { self: peerId, resolve })
 * presence.start()
 * presence.addEventListener('change', () => console.log(presence.entries()))
 * ```
 */
import { TypedEventEmitter } from 'main-event'
import { logger } from '@libp2p/logger'
import type { GossipSub, Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { PRESENCE_TOPIC, PresenceErrorCode, verifyPresence } from './announcement.js'
import type { HandleLookup, PresenceVerdict } from './announcement.js'
import { cachedLookup } from './lookup-cache.js'
import { TokenBuckets } from '../util/token-bucket.js'

const log = logger('parley:presence')

/** Default announcement period. */
export const DEFAULT_PRESENCE_INTERVAL_MS = 10_000

/**
 * Announcements checked per publisher per minute: six at the default period,
 * twice that for the extra ones a new connection prompts.
 */
export const DEFAULT_PRESENCE_RATE = 12

/**
 * Refusals every node running this version reaches alike, whoever forwarded
 * the announcement: the validator rejects them, and gossipsub counts each
 * against the peer it came from (P4). An honest peer validates before it
 * forwards, so it never sends one. Every other refusal is ignored (not
 * forwarded, not penalised): stale or future `ts` (the receiver's clock), an
 * unresolved or mismatched handle (the receiver's view of the DHT, cached
 * for a minute), an unknown `v` (a newer format a newer relay may forward),
 * and an announcement past its publisher's rate (never checked).
 */
export const PRESENCE_REJECTED: ReadonlySet<PresenceErrorCode> = new Set<PresenceErrorCode>([
  PresenceErrorCode.OVERSIZE,
  PresenceErrorCode.MALFORMED,
  PresenceErrorCode.NON_CANONICAL,
  PresenceErrorCode.UNSIGNED,
  PresenceErrorCode.SIGNER_MISMATCH,
  PresenceErrorCode.BAD_SIGNATURE
])

/** What the presence validator tells gossipsub about an announcement with this verdict: Accept, Reject ({@link PRESENCE_REJECTED}) or Ignore. */
export function presenceAcceptance (verdict: PresenceVerdict): TopicValidatorResult {
  if (verdict.status === 'valid') return TopicValidatorResult.Accept
  return verdict.reason !== undefined && PRESENCE_REJECTED.has(verdict.reason) ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
}

/** The latest announcement of one publisher, as checked. */
export interface PresenceEntry {
  /** The gossipsub publisher (authenticated by gossipsub's own message signature). */
  from: string
  /** What the check concluded. */
  verdict: PresenceVerdict
  /** When it arrived here. */
  received: number
}

/** Options of {@link Presence}. */
export interface PresenceOptions {
  /** This node's peer id (its own announcements are not tracked). */
  self: string
  /** Resolves claimed handles to their DHT record's holder and kind. */
  resolve: HandleLookup
  /** Makes this node's announcement (signed bytes); without it the node only listens. */
  announcement?: () => Promise<Uint8Array>
  /** Announcement period (default 10 s). */
  intervalMs?: number
  /** Entries not refreshed for this long are dropped (default 3.5 periods). */
  ttlMs?: number
  /** Announcements checked per publisher per minute (default {@link DEFAULT_PRESENCE_RATE}); the rest are ignored unchecked. */
  maxPerMinute?: number
  /** Publishers remembered at most (default 10,000; the oldest goes first). */
  maxEntries?: number
}

/** Events of {@link Presence}. */
export interface PresenceEvents {
  /** An announcement was checked and recorded, or entries expired. */
  change: CustomEvent<PresenceEntry | undefined>
}

/** Tracks the presence announcements on gossipsub and, when given an `announcement`, publishes this node's. */
export class Presence extends TypedEventEmitter<PresenceEvents> {
  readonly #pubsub: GossipSub
  readonly #options: PresenceOptions
  readonly #entries = new Map<string, PresenceEntry>()
  readonly #resolve: HandleLookup
  readonly #rate: TokenBuckets<string>
  #limited = 0
  #validations = 0
  #rejected = 0
  #timer: ReturnType<typeof setInterval> | undefined
  #soon: ReturnType<typeof setTimeout> | undefined
  #started = false
  readonly #onSubscription = (): void => { this.announceSoon() }

  constructor (pubsub: GossipSub, options: PresenceOptions) {
    super()
    this.#pubsub = pubsub
    this.#options = options
    // one DHT query per handle a minute at most, however many announcements name it
    this.#resolve = cachedLookup(options.resolve)
    const perMinute = options.maxPerMinute ?? DEFAULT_PRESENCE_RATE
    this.#rate = new TokenBuckets({ burst: perMinute, rate: perMinute / 60, maxKeys: options.maxEntries ?? 10_000 })
  }

  /** Announcements ignored unchecked because their publisher exceeded its rate. */
  get limited (): number { return this.#limited }

  /** Announcements of other peers that reached the validator (checked, or ignored for rate). Gossipsub drops a graylisted peer's before they get here. */
  get validations (): number { return this.#validations }

  /** Announcements rejected ({@link PRESENCE_REJECTED}): each counts against the peer that sent it in gossipsub's score. */
  get rejected (): number { return this.#rejected }

  /** The announcement period in ms (default {@link DEFAULT_PRESENCE_INTERVAL_MS}). */
  get intervalMs (): number { return this.#options.intervalMs ?? DEFAULT_PRESENCE_INTERVAL_MS }

  /** Subscribes to the topic, installs the validator and, when announcing, announces now and every period. Idempotent. */
  start (): void {
    if (this.#started) return
    this.#started = true
    const validate: TopicValidatorFn = async (_propagator, message) => this.#validate(message)
    this.#pubsub.topicValidators.set(PRESENCE_TOPIC, validate)
    this.#pubsub.subscribe(PRESENCE_TOPIC)
    this.#timer = setInterval(() => { this.#tick() }, this.intervalMs)
    this.#timer.unref?.()
    if (this.#options.announcement !== undefined) {
      this.#pubsub.addEventListener('subscription-change', this.#onSubscription)
      this.announceSoon(0)
    }
  }

  /** Stops announcing, removes the validator and unsubscribes. Idempotent. */
  stop (): void {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#timer)
    clearTimeout(this.#soon)
    this.#pubsub.removeEventListener('subscription-change', this.#onSubscription)
    try {
      this.#pubsub.topicValidators.delete(PRESENCE_TOPIC)
      this.#pubsub.unsubscribe(PRESENCE_TOPIC)
    } catch {
      // the pubsub service may already be stopped
    }
  }

  /** The latest verdict per publisher, expired ones left out. */
  entries (): PresenceEntry[] {
    this.#expire()
    return [...this.#entries.values()]
  }

  /** Announces within `delayMs` (coalescing calls), e.g. after a connection opened. */
  announceSoon (delayMs = 500): void {
    if (!this.#started || this.#options.announcement === undefined || this.#soon !== undefined) return
    this.#soon = setTimeout(() => {
      this.#soon = undefined
      void this.announce()
    }, delayMs)
    this.#soon.unref?.()
  }

  /** Publishes this node's announcement now. */
  async announce (): Promise<void> {
    const make = this.#options.announcement
    if (make === undefined || !this.#started) return
    try {
      await this.#pubsub.publish(PRESENCE_TOPIC, await make())
    } catch (err) {
      log('presence announcement not published: %e', err)
    }
  }

  #tick (): void {
    if (this.#expire()) this.safeDispatchEvent('change', { detail: undefined })
    void this.announce()
  }

  /** Drops stale entries; true if any went. */
  #expire (): boolean {
    const cutoff = Date.now() - (this.#options.ttlMs ?? this.intervalMs * 3.5)
    let dropped = false
    for (const [from, entry] of this.#entries) {
      if (entry.received < cutoff) { this.#entries.delete(from); dropped = true }
    }
    return dropped
  }

  async #validate (message: Message): Promise<TopicValidatorResult> {
    const from = message.type === 'signed' ? message.from.toString() : ''
    if (from === this.#options.self) return TopicValidatorResult.Accept
    this.#validations++
    // a publisher's announcements past its rate are not checked at all (no signature check, no DHT lookup)
    if (!this.#rate.allows(from)) { this.#limited++; return TopicValidatorResult.Ignore }
    this.#rate.spend(from)
    const verdict = await verifyPresence(message.data, { from, resolve: this.#resolve })
    if (from !== '') {
      const previous = this.#entries.get(from)
      const older = previous?.verdict.status === 'valid' && verdict.status === 'valid' &&
        (verdict.announcement?.ts ?? 0) < (previous.verdict.announcement?.ts ?? 0)
      if (!older) {
        const entry = { from, verdict, received: Date.now() }
        // a newcomer has not heard us yet: answer soon rather than at the next period
        if (previous === undefined && verdict.status === 'valid') this.announceSoon(200 + Math.floor(Math.random() * 800))
        if (previous === undefined && this.#entries.size >= (this.#options.maxEntries ?? 10_000)) {
          const oldest = this.#entries.keys().next()
          if (oldest.done !== true) this.#entries.delete(oldest.value)
        }
        this.#entries.set(from, entry)
        this.safeDispatchEvent('change', { detail: entry })
      }
    }
    const acceptance = presenceAcceptance(verdict)
    if (acceptance === TopicValidatorResult.Reject) this.#rejected++
    if (verdict.status !== 'valid') log('presence from %s is %s: %s', from, verdict.status, verdict.reason)
    return acceptance
  }
}
