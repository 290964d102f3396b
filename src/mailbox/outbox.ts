/**
 * An agent's outgoing mail, kept in its datastore so that nothing it accepted
 * to send is lost when it restarts: each sealed envelope with the relays it
 * goes to and how far it got at each (`pending`, `stored`, or the code a relay
 * refused it with), and the receipts that came back. The agent's mail worker
 * (`src/agent/mail.ts`) drives the deposits; this module only keeps state.
 *
 * Bounded: at most `maxPending` entries not yet delivered (past it a new one
 * is `ERR_OUTBOX_FULL`) and `maxFinished` delivered, read or failed ones (the
 * oldest are forgotten).
 */
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { ParleyError } from '../errors.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { KeyedSerial } from '../util/serial.js'
import { AscendingMs } from '../util/ascending.js'
import type { MailObject } from './wire.js'
import type { JsonValue } from '../crypto/canonical-json.js'

/** Where outbox entries are kept in the datastore. */
export const OUTBOX_PREFIX = '/parley/outbox/'

/** How far a message got. */
export type OutboxStatus = 'pending' | 'queued' | 'delivered' | 'read' | 'failed'

/** One relay's part: not yet stored there, stored, or refused (the relay's code). */
export type RelayState = 'pending' | 'stored' | string

/** One outgoing message. */
export interface OutboxEntry {
  /** The envelope's id. */
  id: string
  /**
   * When the agent accepted it, ms since the Unix epoch; strictly increasing
   * within an outbox (one added in the same millisecond as the one before it
   * is dated a millisecond later), so that deposits keep the order of sending
   * after a restart too.
   */
  created: number
  /** The recipient. */
  to: {
    /** Its peer id. */
    peer: string
    /** Its handle, without `@`. */
    handle?: string
  }
  /** The JSON-RPC method it carries (`message`, `mail/receipt`). */
  method: string
  /** The params it carries, kept to seal them again if the recipient rotates its key (they never leave the agent unsealed). */
  params: JsonValue
  /** A message's text, for the sender's own outbox view. */
  text?: string
  /** The sealed, signed envelope. */
  envelope: MailObject
  /** The recipient's handle record it was sealed by (deposits carry it). */
  record: MailObject
  /** The recipient's mailbox relays (peer ids) and how far it got at each. */
  relays: Record<string, RelayState>
  /** Overall: pending (stored nowhere yet), queued (stored at a relay), delivered, read, failed. */
  status: OutboxStatus
  /** When the delivered receipt came. */
  delivered?: number
  /** When the read receipt came. */
  read?: number
  /** Why it failed (a relay's refusal, or the recipient's `refused` receipt code), or the last error while pending. */
  error?: string
}

/** Why the outbox refused something. */
export const OutboxErrorCode = {
  /** Too many messages wait to be delivered already. */
  FULL: 'ERR_OUTBOX_FULL'
} as const
export type OutboxErrorCode = typeof OutboxErrorCode[keyof typeof OutboxErrorCode]

/** The outbox refused a message; `code` says why. */
export class OutboxError extends ParleyError<OutboxErrorCode> {
  static override readonly name = 'OutboxError'
}

/** Options of {@link Outbox.open}. */
export interface OutboxOptions {
  /** Most entries not yet delivered (default 10,000). */
  maxPending?: number
  /** Most finished entries kept for display (default 1,000). */
  maxFinished?: number
}

const FINISHED = new Set<OutboxStatus>(['delivered', 'read', 'failed'])

/** The outgoing mail of an agent (see the module documentation). */
export class Outbox {
  readonly #ds: Datastore
  readonly #entries = new Map<string, OutboxEntry>()
  /** Dates entries: `created` only grows. */
  readonly #created = new AscendingMs()
  readonly #writes = new KeyedSerial()
  readonly #maxPending: number
  readonly #maxFinished: number

  private constructor (ds: Datastore, options: OutboxOptions) {
    this.#ds = ds
    this.#maxPending = options.maxPending ?? 10_000
    this.#maxFinished = options.maxFinished ?? 1000
  }

  /** Opens the outbox kept in `datastore`, loading what is there (unreadable entries are skipped). */
  static async open (datastore: Datastore, options: OutboxOptions = {}): Promise<Outbox> {
    const outbox = new Outbox(datastore, options)
    const loaded: OutboxEntry[] = []
    for await (const { value } of datastore.query({ prefix: OUTBOX_PREFIX })) {
      try {
        const entry = JSON.parse(fromUtf8(value)) as OutboxEntry
        if (typeof entry.id === 'string' && typeof entry.created === 'number' && typeof entry.envelope === 'object') loaded.push(entry)
      } catch {
        // a damaged entry: skipped
      }
    }
    loaded.sort((a, b) => a.created - b.created)
    for (const e of loaded) { outbox.#entries.set(e.id, e); outbox.#created.see(e.created) }
    return outbox
  }

  /** Every entry, oldest first (copies). */
  list (): OutboxEntry[] {
    return [...this.#entries.values()].map(e => structuredClone(e))
  }

  /** Entry `id` (a copy), or undefined. */
  get (id: string): OutboxEntry | undefined {
    const e = this.#entries.get(id)
    return e === undefined ? undefined : structuredClone(e)
  }

  /** The oldest entry still to be stored at `relay` (entries must be deposited there in order), or undefined. */
  nextAt (relay: string): OutboxEntry | undefined {
    for (const e of this.#entries.values()) {
      if (e.relays[relay] === 'pending' && !FINISHED.has(e.status)) return structuredClone(e)
    }
    return undefined
  }

  /** Every relay some entry still waits for. */
  relaysWaiting (): Set<string> {
    const out = new Set<string>()
    for (const e of this.#entries.values()) {
      if (FINISHED.has(e.status)) continue
      for (const [relay, state] of Object.entries(e.relays)) if (state === 'pending') out.add(relay)
    }
    return out
  }

  /** Adds a new entry, durably; `ERR_OUTBOX_FULL` past `maxPending`. */
  async add (entry: OutboxEntry): Promise<void> {
    let waiting = 0
    for (const e of this.#entries.values()) if (!FINISHED.has(e.status)) waiting++
    if (waiting >= this.#maxPending) throw new OutboxError(OutboxErrorCode.FULL, `${waiting} messages wait to be delivered already (at most ${this.#maxPending})`)
    const added = structuredClone(entry)
    // a burst of sends in one millisecond keeps its order when the outbox is loaded again
    added.created = this.#created.next(entry.created)
    this.#entries.set(entry.id, added)
    await this.#write(entry.id)
  }

  /** Changes entry `id` with `change` and writes it; the entry after, or undefined when there is none. */
  async update (id: string, change: (entry: OutboxEntry) => void): Promise<OutboxEntry | undefined> {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    change(entry)
    if (entry.status === 'pending' && Object.values(entry.relays).includes('stored')) entry.status = 'queued'
    await this.#write(id)
    if (FINISHED.has(entry.status)) await this.#prune()
    return structuredClone(entry)
  }

  /**
   * A receipt from `from` for `ids`: each entry sent to `from` moves to
   * `delivered` (or `read`); the entries changed. Ids of entries sent to
   * someone else are ignored.
   */
  async receipt (from: string, status: 'delivered' | 'read' | 'refused', ids: readonly string[], at = Date.now(), code?: string): Promise<OutboxEntry[]> {
    const changed: OutboxEntry[] = []
    for (const id of ids) {
      const e = this.#entries.get(id)
      if (e === undefined || e.to.peer !== from) continue
      if (status === 'delivered' && (e.delivered !== undefined || e.status === 'failed')) continue
      if (status === 'read' && e.read !== undefined) continue
      if (status === 'refused' && (e.status === 'failed' || e.delivered !== undefined)) continue
      const after = await this.update(id, x => {
        if (status === 'refused') {
          // the recipient got it and would not take it: final, and the sender is told why
          x.status = 'failed'
          x.error = `refused by the recipient: ${code ?? 'no reason given'}`
          return
        }
        if (status === 'delivered') x.delivered = at
        else { x.read = at; x.delivered ??= at }
        x.status = x.read !== undefined ? 'read' : 'delivered'
        delete x.error
      })
      if (after !== undefined) changed.push(after)
    }
    return changed
  }

  async #write (id: string): Promise<void> {
    await this.#writes.run(id, async () => {
      const e = this.#entries.get(id)
      if (e === undefined) await this.#ds.delete(new Key(OUTBOX_PREFIX + id))
      else await this.#ds.put(new Key(OUTBOX_PREFIX + id), utf8(JSON.stringify(e)))
    })
  }

  async #prune (): Promise<void> {
    const finished = [...this.#entries.values()].filter(e => FINISHED.has(e.status))
    for (const e of finished.slice(0, Math.max(0, finished.length - this.#maxFinished))) {
      this.#entries.delete(e.id)
      await this.#write(e.id)
    }
  }
}
