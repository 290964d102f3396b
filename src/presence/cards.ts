/**
 * Agent Cards announced on gossipsub (protocols/agent-card §5): each node
 * that subscribes checks every card record published on the topic (size,
 * shape, signature; a bad one is rejected and counts against the peer that
 * sent it), and keeps the newest card per handle and peer, a bounded number,
 * until each expires. Relays subscribe to route; agents to be found and to
 * find. Whether a card's peer owns its handle is checked by whoever uses it
 * (against the handle record), not here.
 */
import { logger } from '@libp2p/logger'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { CARD_TOPIC, validateCardRecord } from '../handles/card.js'
import type { CardRecord } from '../handles/card.js'

const log = logger('parley:cards')

/** Cards a board keeps at most (the oldest goes first). */
export const DEFAULT_MAX_CARDS = 4096
/** How often a node re-announces its own card (newcomers hear no earlier messages). */
export const CARD_ANNOUNCE_INTERVAL_MS = 30_000

/** The cards heard on the topic, and this node's own, announced. */
export class CardBoard {
  readonly #pubsub: GossipSub
  readonly #cards = new Map<string, CardRecord>()
  readonly #max: number
  #own: Uint8Array | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #started = false
  #rejected = 0

  constructor (pubsub: GossipSub, options: { maxCards?: number } = {}) {
    this.#pubsub = pubsub
    this.#max = options.maxCards ?? DEFAULT_MAX_CARDS
  }

  /** Card records rejected on the topic. */
  get rejected (): number { return this.#rejected }

  /** Subscribes and installs the validator. Idempotent. */
  start (): void {
    if (this.#started) return
    this.#started = true
    const validate: TopicValidatorFn = async (_from, message) => this.#validate(message)
    this.#pubsub.topicValidators.set(CARD_TOPIC, validate)
    this.#pubsub.subscribe(CARD_TOPIC)
    this.#timer = setInterval(() => { void this.#announce() }, CARD_ANNOUNCE_INTERVAL_MS)
    this.#timer.unref?.()
  }

  stop (): void {
    if (!this.#started) return
    this.#started = false
    clearInterval(this.#timer)
    try {
      this.#pubsub.topicValidators.delete(CARD_TOPIC)
      this.#pubsub.unsubscribe(CARD_TOPIC)
    } catch {
      // the pubsub service may already be stopped
    }
  }

  /** Announces `bytes` (our card record) now and every {@link CARD_ANNOUNCE_INTERVAL_MS}. */
  async announce (bytes: Uint8Array): Promise<void> {
    this.#own = bytes
    await this.#announce()
  }

  /** The live cards heard (ours included once announced). */
  cards (): CardRecord[] {
    const now = Date.now()
    for (const [id, r] of this.#cards) if (r.expires <= now) this.#cards.delete(id)
    return [...this.#cards.values()]
  }

  async #announce (): Promise<void> {
    if (!this.#started || this.#own === undefined) return
    try {
      await this.#pubsub.publish(CARD_TOPIC, this.#own)
    } catch (err) {
      log('card not announced: %e', err)
    }
    await this.#keep(this.#own).catch(() => {})
  }

  async #validate (message: Message): Promise<TopicValidatorResult> {
    try {
      await this.#keep(message.data)
      return TopicValidatorResult.Accept
    } catch (err) {
      this.#rejected++
      log('rejected a card: %e', err)
      return TopicValidatorResult.Reject
    }
  }

  async #keep (bytes: Uint8Array): Promise<void> {
    const record = await validateCardRecord(bytes)
    // one card per handle and peer: an impostor's card for a handle sits beside the owner's, and loses when ownership is checked on use
    const id = `${record.handle} ${record.peer}`
    const held = this.#cards.get(id)
    if (held !== undefined && held.seq >= record.seq) return
    this.#cards.delete(id)
    this.#cards.set(id, record)
    if (this.#cards.size > this.#max) this.#cards.delete(this.#cards.keys().next().value as string)
  }
}
