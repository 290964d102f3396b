/**
 * An agent's mail (protocols/mailbox): what it cannot say on a live session
 * it seals to the recipient's X25519 key and deposits at the relays the
 * recipient's handle record lists, and it picks up its own mail from its
 * relays.
 *
 * Sending: each message is kept in the {@link Outbox} (durably, before
 * `send` returns) and deposited at every listed relay, in order per relay,
 * retried with backoff ({@link RETRY_MIN_MS} doubling to {@link RETRY_MAX_MS})
 * while the agent runs and after a restart; a relay that answers
 * `ERR_MAILBOX_STALE_RECORD` (the recipient rotated its key) makes the agent
 * resolve the handle afresh and seal the message again to the new key.
 *
 * Receiving: a `live` stream to each of its relays says when mail waits;
 * the agent pulls it in batches, one relay at a time, and for each envelope
 * checks it (signature, addressed to this peer, not seen before: a replay
 * cache kept in the datastore, so also across restarts), opens it, and hands
 * it to the same policy gate as live mail; only then does it acknowledge it
 * (the relay deletes it) and send the sender a signed `delivered` receipt, on
 * a live session if one opens, else by mail. Exactly once in effect:
 * duplicates (the same envelope from two relays, or again after a crash) are
 * acknowledged and answered with a receipt, never handled twice.
 */
import { logger } from '@libp2p/logger'
import type { Connection } from '@libp2p/interface'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { NamespaceDatastore } from 'datastore-core'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { EnvelopeError } from '../errors.js'
import { randomToken, verifyEnvelope } from '../envelope/envelope.js'
import type { Envelope } from '../envelope/envelope.js'
import { openSealed, signSealedEnvelope } from '../envelope/sealed.js'
import type { JsonRpcMessage, JsonRpcParams } from '../envelope/jsonrpc.js'
import type { Identity } from '../identity/identity.js'
import type { HandleRecord } from '../handles/record.js'
import { p2pPeerOf } from '../util/multiaddr.js'
import { CircuitBreakers } from '../util/breaker.js'
import { Serial } from '../util/serial.js'
import { ReplayStore } from '../store/replay-store.js'
import type { Caller, Session } from '../session/session.js'
import { MailboxError, MailboxErrorCode, retryable } from '../mailbox/errors.js'
import { RECEIPT_METHOD, DEFAULT_MAIL_TTL_MS, MAX_BATCH } from '../mailbox/constants.js'
import { ack, deposit, live, pull } from '../mailbox/client.js'
import type { LiveMail } from '../mailbox/client.js'
import { Outbox } from '../mailbox/outbox.js'
import type { OutboxEntry } from '../mailbox/outbox.js'
import type { MailObject } from '../mailbox/wire.js'

const log = logger('parley:agent:mail')

/** First wait before a relay that did not take our mail is tried again. */
export const RETRY_MIN_MS = 1000
/** Longest wait between tries. */
export const RETRY_MAX_MS = 60_000
/** Oldest mail an agent accepts (the relays' default keeping time, and a day of slack). */
export const MAIL_MAX_AGE_MS = DEFAULT_MAIL_TTL_MS + 24 * 3600 * 1000
/** How long `send` waits for the relays' answers before it reports what it has. */
export const SEND_WAIT_MS = 5000
/** Once one relay has stored a message, how much longer `send` waits for the others' answers. */
export const STRAGGLER_MS = 250
/** Where the ids of mail reported read are kept (each with when, as decimal text; forgotten after {@link MAIL_MAX_AGE_MS}). */
export const READ_PREFIX = '/parley/mail-read/'
/** Where mail's replay cache is kept in the agent's datastore. */
export const MAIL_REPLAY_NAMESPACE = '/parley/mail-replay'

/** What an offline send reports: stored at which relays (`queued`), or at none yet (`pending`: retried). */
export type MailSent = {
  /** `queued`: stored at `relays`; `pending`: none has taken it yet (the outbox keeps trying). */
  status: 'queued' | 'pending'
  /** The envelope's id (receipts name it). */
  id: string
  /** The relays (peer ids) that stored it. */
  relays: string[]
  /** The relays still to take it. */
  waiting: string[]
}

/** What the mail worker needs of its agent. */
export interface MailHost {
  /** Our current key. */
  identity: () => Identity
  /** Our handle (without `@`), when we have one. */
  handle: () => string | undefined
  /** The multiaddrs of our own relays (where our mail waits). */
  ownRelays: () => readonly string[]
  /** A connection to the relay at `address` (a multiaddr ending in `/p2p/<id>`). */
  connect: (address: string, signal: AbortSignal) => Promise<Connection>
  /** The handle record of `handle` (`fresh`: asking the network again). */
  resolve: (handle: string, options?: { fresh?: boolean }) => Promise<HandleRecord>
  /** A live session with `peer` (reached by handle when given), or a failure. */
  session: (peer: string, handle: string | undefined, signal: AbortSignal) => Promise<Session>
  /** Hands picked-up mail to the policy gate and its handler (a `message`: the inbox, or the human). */
  deliver: (body: JsonRpcMessage & { method: string }, caller: Caller, envelope: Envelope) => Promise<JsonValue | undefined>
  /** Writes to the event log. */
  record: (type: string, data: Record<string, unknown>) => void
  /** Tells listeners an outbox entry changed. */
  changed: (entry: OutboxEntry) => void
}

interface Retry { delay: number, timer?: ReturnType<typeof setTimeout> }

/** An agent's mail: its outbox, deposits and pickup (see the module documentation). */
export class Mail {
  /** Our outgoing mail and how far each message got. */
  readonly outbox: Outbox
  readonly #host: MailHost
  readonly #replay: ReplayStore
  /** Peers whose live path failed lately: mailed at once instead of dialed (a `CircuitBreakers` per peer id). */
  readonly breakers = new CircuitBreakers<string>()
  readonly #depositing = new Set<string>()
  readonly #retries = new Map<string, Retry>()
  readonly #pickup = new Serial()
  readonly #drainQueued = new Set<string>()
  readonly #live = new Map<string, LiveMail>()
  /** Messages being sealed again to a recipient's new key, by id. */
  readonly #resealing = new Map<string, Promise<void>>()
  #running = true

  readonly #datastore: Datastore
  /** Ids of mail reported read (what the datastore's read markers hold), so listing the inbox reads nothing again. */
  readonly #read: Set<string>

  private constructor (host: MailHost, outbox: Outbox, replay: ReplayStore, datastore: Datastore, read: Set<string>) {
    this.#host = host
    this.outbox = outbox
    this.#replay = replay
    this.#datastore = datastore
    this.#read = read
  }

  /** Opens the outbox and mail's replay cache kept in `datastore`. */
  static async open (datastore: Datastore, host: MailHost): Promise<Mail> {
    const outbox = await Outbox.open(datastore)
    const replay = await ReplayStore.open(new NamespaceDatastore(datastore, new Key(MAIL_REPLAY_NAMESPACE)), { windowMs: MAIL_MAX_AGE_MS, capacity: 100_000 })
    // read markers past the age of any mail that could still come are forgotten: they stay bounded
    const cutoff = Date.now() - MAIL_MAX_AGE_MS
    const read = new Set<string>()
    for await (const { key, value } of datastore.query({ prefix: READ_PREFIX })) {
      const at = Number(fromUtf8(value))
      if (at >= cutoff) read.add(key.toString().slice(READ_PREFIX.length))
      else await datastore.delete(key)
    }
    return new Mail(host, outbox, replay, datastore, read)
  }

  /** Starts deposits still waiting (after a restart) and pickup from our relays. */
  start (): void {
    this.#running = true
    for (const relay of this.outbox.relaysWaiting()) this.#kick(relay)
    for (const address of this.#host.ownRelays()) void this.#listen(address, RETRY_MIN_MS)
  }

  /** Stops retries and live streams; what is in the outbox waits for the next start. */
  async stop (): Promise<void> {
    this.#running = false
    for (const r of this.#retries.values()) clearTimeout(r.timer)
    this.#retries.clear()
    for (const l of this.#live.values()) l.close()
    this.#live.clear()
    await this.#pickup.idle()
    await this.#replay.close?.()
  }

  // ---------------------------------------------------------------------------
  // sending

  /**
   * Seals `method(params)` to `record`'s key and deposits it at its relays;
   * resolves once the outbox holds it and the relays answered (or
   * {@link SEND_WAIT_MS} passed). `ERR_MAILBOX_UNKNOWN_RECIPIENT` when the
   * record lists no relay; `ERR_OUTBOX_FULL` when too much waits already.
   */
  async send (record: HandleRecord, method: string, params: JsonRpcParams, text?: string): Promise<MailSent> {
    const entry = await this.#seal(record, method, params, randomToken(), Date.now(), text)
    await this.outbox.add(entry)
    this.#host.changed(this.outbox.get(entry.id) ?? entry)
    const relays = Object.keys(entry.relays)
    for (const relay of relays) this.#kick(relay)
    // until every relay answered; once one has stored it, the others get STRAGGLER_MS more (one that
    // is down is retried in the background, and the caller need not wait for it)
    let deadline = Date.now() + SEND_WAIT_MS
    while (Date.now() < deadline && this.#running) {
      const now = this.outbox.get(entry.id)
      // a relay waiting to be retried (it was down a moment ago) is not waited for
      if (now === undefined || Object.entries(now.relays).every(([r, s]) => s !== 'pending' || this.#retries.get(r)?.timer !== undefined)) break
      if (Object.values(now.relays).includes('stored')) deadline = Math.min(deadline, Date.now() + STRAGGLER_MS)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    return this.#sent(entry.id)
  }

  #sent (id: string): MailSent {
    const e = this.outbox.get(id)
    const states = Object.entries(e?.relays ?? {})
    const stored = states.filter(([, s]) => s === 'stored').map(([r]) => r)
    return { status: stored.length > 0 ? 'queued' : 'pending', id, relays: stored, waiting: states.filter(([, s]) => s === 'pending').map(([r]) => r) }
  }

  async #seal (record: HandleRecord, method: string, params: JsonRpcParams, id: string, created: number, text?: string): Promise<OutboxEntry> {
    const relays: Record<string, 'pending'> = {}
    for (const address of record.relays) {
      const peer = p2pPeerOf(address)
      if (peer === undefined || relays[peer] !== undefined) continue
      relays[peer] = 'pending'
    }
    if (Object.keys(relays).length === 0) throw new MailboxError(MailboxErrorCode.UNKNOWN_RECIPIENT, `@${record.handle} lists no relay to keep its mail`)
    const identity = this.#host.identity()
    const handle = this.#host.handle()
    const { envelope } = await signSealedEnvelope(identity, {
      id,
      to: { peer: record.peer, handle: record.handle },
      ...(handle === undefined ? {} : { handle }),
      body: method === RECEIPT_METHOD ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id, method, params },
      recipientKey: record.x25519PublicKey
    })
    return {
      id,
      created,
      to: { peer: record.peer, handle: record.handle },
      method,
      params: params as JsonValue,
      ...(text === undefined ? {} : { text }),
      envelope: envelope as unknown as MailObject,
      record: JSON.parse(fromUtf8(record.bytes)) as MailObject,
      relays,
      status: 'pending'
    }
  }

  /** Deposits what waits for `relay`, unless a run for it is under way or waiting to retry. */
  #kick (relay: string): void {
    if (!this.#running || this.#depositing.has(relay) || this.#retries.get(relay)?.timer !== undefined) return
    this.#depositing.add(relay)
    this.#depositAll(relay).catch(err => { log.error('deposits at %s: %e', relay, err) }).finally(() => { this.#depositing.delete(relay) })
  }

  async #depositAll (relay: string): Promise<void> {
    while (this.#running) {
      const next = this.outbox.nextAt(relay)
      if (next === undefined) return
      // the relay's address as the recipient's record gives it (the record travels with the entry, across restarts too)
      const addr = (next.record.relays as string[]).find(a => p2pPeerOf(a) === relay)
      try {
        if (addr === undefined) throw new MailboxError(MailboxErrorCode.UNKNOWN_RECIPIENT, 'no address for the relay')
        const connection = await this.#host.connect(addr, AbortSignal.timeout(10_000))
        const stored = await deposit(connection, next.envelope, next.record, AbortSignal.timeout(15_000))
        this.#retries.delete(relay)
        const after = await this.outbox.update(next.id, e => { e.relays[relay] = 'stored'; delete e.error })
        if (after !== undefined) this.#host.changed(after)
        log('%s stored at %s until %d', next.id, relay, stored.expires)
      } catch (err) {
        const code = err instanceof MailboxError ? err.code : MailboxErrorCode.UNREACHABLE
        if (retryable(code)) {
          this.#retryLater(relay, next.id, err as Error)
          return
        }
        if (code === MailboxErrorCode.STALE_RECORD) {
          await this.#reseal(next, relay)
          continue
        }
        const after = await this.outbox.update(next.id, e => {
          e.relays[relay] = code
          e.error = `${relay}: ${code}`
          if (e.status === 'pending' && Object.values(e.relays).every(s => s !== 'pending' && s !== 'stored')) e.status = 'failed'
        })
        if (after !== undefined) this.#host.changed(after)
      }
    }
  }

  #retryLater (relay: string, id: string, err: Error): void {
    const delay = Math.min(RETRY_MAX_MS, (this.#retries.get(relay)?.delay ?? RETRY_MIN_MS / 2) * 2)
    log('relay %s did not take %s (%s): again in %d ms', relay, id, err.message, delay)
    void this.outbox.update(id, e => { e.error = `${relay}: ${err.message}` }).then(after => { if (after !== undefined) this.#host.changed(after) })
    const retry: Retry = { delay }
    retry.timer = setTimeout(() => { retry.timer = undefined; this.#kick(relay) }, delay)
    retry.timer.unref?.()
    this.#retries.set(relay, retry)
  }

  /** The recipient's record changed key: seal the message again (same id) to the record the network has now. */
  async #reseal (entry: OutboxEntry, relay: string): Promise<void> {
    // another relay's refusal may be having it sealed again: then this relay takes the new envelope
    const under = this.#resealing.get(entry.id)
    if (under !== undefined) { await under; return }
    if (this.outbox.get(entry.id)?.to.peer !== entry.to.peer) return
    const done = this.#resealOnce(entry, relay)
    this.#resealing.set(entry.id, done)
    try { await done } finally { this.#resealing.delete(entry.id) }
  }

  async #resealOnce (entry: OutboxEntry, relay: string): Promise<void> {
    const handle = entry.to.handle
    let fresh: HandleRecord | undefined
    try {
      fresh = handle === undefined ? undefined : await this.#host.resolve(handle, { fresh: true })
    } catch (err) {
      log('re-resolving @%s failed: %e', handle, err)
    }
    if (fresh === undefined || fresh.peer === entry.to.peer) {
      const after = await this.outbox.update(entry.id, e => { e.relays[relay] = MailboxErrorCode.STALE_RECORD; e.error = 'the recipient rotated its key and its new record cannot be found yet' })
      if (after !== undefined) this.#host.changed(after)
      return
    }
    const resealed = await this.#seal(fresh, entry.method, entry.params as JsonRpcParams, entry.id, entry.created, entry.text)
    this.#host.record('mail.resealed', { id: entry.id, from: entry.to.peer, to: fresh.peer, handle: fresh.handle })
    const after = await this.outbox.update(entry.id, e => { Object.assign(e, { to: resealed.to, envelope: resealed.envelope, record: resealed.record, relays: resealed.relays, status: 'pending' }); delete e.error })
    if (after !== undefined) this.#host.changed(after)
    for (const r of Object.keys(resealed.relays)) if (r !== relay) this.#kick(r)
  }

  // ---------------------------------------------------------------------------
  // receiving

  /** Keeps a live stream open to our relay at `address`, draining on each count; reopened with backoff. */
  async #listen (address: string, delay: number): Promise<void> {
    if (!this.#running) return
    const relay = p2pPeerOf(address) ?? address
    try {
      const connection = await this.#host.connect(address, AbortSignal.timeout(10_000))
      const stream = await live(connection, (count) => { if (count > 0) this.#drain(relay, address) })
      this.#live.set(relay, stream)
      delay = RETRY_MIN_MS
      await stream.closed
    } catch (err) {
      log('live mail from %s: %e', relay, err)
    }
    this.#live.delete(relay)
    if (!this.#running) return
    const timer = setTimeout(() => { void this.#listen(address, Math.min(RETRY_MAX_MS, delay * 2)) }, delay)
    timer.unref?.()
  }

  /** Pulls what waits at `relay`, after whatever pickup runs now (one relay at a time keeps each sender's order). */
  #drain (relay: string, address: string): void {
    if (this.#drainQueued.has(relay)) return
    this.#drainQueued.add(relay)
    this.#pickup.run(async () => {
      this.#drainQueued.delete(relay)
      await this.#drainNow(address)
    }).catch(err => { log.error('picking up mail from %s: %e', relay, err) })
  }

  /** Picks up everything waiting at each of our relays now (what `live` does on its own). */
  async pickUp (): Promise<void> {
    for (const address of this.#host.ownRelays()) await this.#pickup.run(async () => { await this.#drainNow(address) })
  }

  async #drainNow (address: string): Promise<void> {
    const connection = await this.#host.connect(address, AbortSignal.timeout(10_000))
    while (this.#running) {
      const batch = await pull(connection, { limit: MAX_BATCH }, AbortSignal.timeout(30_000))
      if (batch.messages.length === 0) return
      const done: string[] = []
      /** Receipts to send, one per sender, status and refusal code. */
      const receipts = new Map<string, { peer: string, handle?: string, status: 'delivered' | 'refused', code?: string, ids: string[] }>()
      const callers = new Map<string, Promise<Caller>>()
      for (const m of batch.messages) {
        const outcome = await this.#open(m.envelope, callers)
        done.push(outcome.id)
        const to = outcome.receipt
        if (to === undefined) continue
        const key = `${to.peer} ${outcome.refused ?? ''}`
        const r = receipts.get(key) ?? { peer: to.peer, ids: [], status: outcome.refused === undefined ? 'delivered' : 'refused', ...(outcome.refused === undefined ? {} : { code: outcome.refused }), ...(to.handle === undefined ? {} : { handle: to.handle }) }
        r.ids.push(outcome.id)
        receipts.set(key, r)
      }
      await ack(connection, done, AbortSignal.timeout(30_000))
      for (const r of receipts.values()) this.#sendReceipt(r.peer, r.handle, { status: r.status, ids: r.ids, ...(r.code === undefined ? {} : { code: r.code }) })
      if (batch.remaining === 0) return
    }
  }

  /**
   * Checks, opens and handles one picked-up envelope; what to acknowledge
   * (its id) and whom to send a receipt. Throws only when its replay key
   * cannot be written (then it is not acknowledged, and comes again).
   */
  async #open (object: MailObject, callers: Map<string, Promise<Caller>>): Promise<{ id: string, receipt?: { peer: string, handle?: string }, refused?: string }> {
    const id = typeof object.id === 'string' ? object.id : ''
    const identity = this.#host.identity()
    const handle = this.#host.handle()
    let envelope: Envelope
    try {
      envelope = (await verifyEnvelope(utf8(canonicalize(object)), {
        self: { peer: identity.peerIdString, ...(handle === undefined ? {} : { handles: [handle] }) },
        maxAgeMs: MAIL_MAX_AGE_MS,
        replayGuard: this.#replay
      })).envelope
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err
      const from = (object.from as { peer?: unknown, handle?: unknown } | undefined)
      if (err.code === 'ERR_REPLAYED' && typeof from?.peer === 'string') {
        // a copy from another relay, or again after a crash: already handled; the receipt again
        return { id, receipt: { peer: from.peer, ...(typeof from.handle === 'string' ? { handle: from.handle } : {}) } }
      }
      this.#host.record('mail.refused', { id: id.slice(0, 64), code: err.code, peer: typeof from?.peer === 'string' ? from.peer : null })
      return { id }
    }
    let body: JsonRpcMessage
    try {
      body = openSealed(envelope, identity)
    } catch (err) {
      this.#host.record('mail.refused', { id, code: (err as EnvelopeError).code ?? 'ERR_UNSEALABLE', peer: envelope.from.peer })
      return { id }
    }
    const from = envelope.from
    if (!('method' in body) || typeof body.method !== 'string') {
      this.#host.record('mail.refused', { id, code: 'ERR_MAIL_NOT_A_REQUEST', peer: from.peer })
      return { id }
    }
    if (body.method === RECEIPT_METHOD) {
      await this.receipt(from.peer, body.params)
      return { id }
    }
    let caller = callers.get(from.peer)
    if (caller === undefined) {
      caller = this.#caller(from.peer, from.handle)
      callers.set(from.peer, caller)
    }
    const verified = await caller
    this.#host.record('mail.in', { id, peer: from.peer, ...(verified.handle === undefined ? {} : { handle: verified.handle }), method: body.method })
    const receipt = { peer: from.peer, ...(verified.handle === undefined ? {} : { handle: verified.handle }) }
    try {
      await this.#host.deliver(body as JsonRpcMessage & { method: string }, verified, envelope)
    } catch (err) {
      // refused by the policy gate (a quota, the policy, a method mail cannot carry): the sender hears why
      const e = err as { code?: unknown, data?: { code?: unknown } }
      const code = typeof e.data?.code === 'string' ? e.data.code : typeof e.code === 'string' ? e.code : 'ERR_INTERNAL'
      this.#host.record('mail.refused', { id, code, peer: from.peer, message: (err as Error).message.slice(0, 200) })
      return { id, receipt, refused: code.slice(0, 64) }
    }
    return { id, receipt }
  }

  /** Who sent mail, as far as can be checked: its handle only when that handle's record names this peer. */
  async #caller (peer: string, handle: string | undefined): Promise<Caller> {
    if (handle === undefined) return { peer, kind: 'anon' }
    try {
      const record = await this.#host.resolve(handle)
      if (record.peer === peer) return { peer, handle: record.handle, kind: record.kind }
    } catch (err) {
      log('mail from %s claims @%s, which does not resolve: %e', peer, handle, err)
    }
    return { peer, kind: 'anon' }
  }

  /** A `mail/receipt` from `from` (on a session or by mail): the outbox entries it names move on. */
  async receipt (from: string, params: unknown): Promise<void> {
    const p = params as { status?: unknown, ids?: unknown, code?: unknown } | undefined
    if ((p?.status !== 'delivered' && p?.status !== 'read' && p?.status !== 'refused') || !Array.isArray(p.ids) || p.ids.length === 0 || p.ids.length > MAX_BATCH ||
      !p.ids.every(i => typeof i === 'string') || (p.code !== undefined && (typeof p.code !== 'string' || p.code.length > 64))) {
      this.#host.record('mail.refused', { code: 'ERR_MAIL_BAD_RECEIPT', peer: from })
      return
    }
    for (const entry of await this.outbox.receipt(from, p.status, p.ids as string[], Date.now(), p.code as string | undefined)) this.#host.changed(entry)
  }

  /**
   * The human has seen these messages: each that came by mail and was not
   * reported read yet gets a `read` receipt to its sender (once: remembered
   * in the datastore).
   */
  async markRead (messages: ReadonlyArray<{ id: string, from: Caller, via?: 'mail' }>): Promise<number> {
    const bySender = new Map<string, { handle?: string, ids: string[] }>()
    for (const m of messages) {
      if (m.via !== 'mail') continue
      if (this.#read.has(m.id)) continue
      await this.#datastore.put(new Key(READ_PREFIX + m.id), utf8(String(Date.now())))
      this.#read.add(m.id)
      const r = bySender.get(m.from.peer) ?? { ids: [], ...(m.from.handle === undefined ? {} : { handle: m.from.handle }) }
      r.ids.push(m.id)
      bySender.set(m.from.peer, r)
    }
    let sent = 0
    for (const [peer, r] of bySender) {
      for (let i = 0; i < r.ids.length; i += MAX_BATCH) this.#sendReceipt(peer, r.handle, { status: 'read', ids: r.ids.slice(i, i + MAX_BATCH) })
      sent += r.ids.length
    }
    return sent
  }

  /** Sends `peer` a receipt: on a live session if one opens, else by mail (to its handle's relays). */
  #sendReceipt (peer: string, handle: string | undefined, receipt: { status: 'delivered' | 'read' | 'refused', ids: string[], code?: string }): void {
    void (async () => {
      if (this.breakers.allows(peer)) {
        try {
          const session = await this.#host.session(peer, handle, AbortSignal.timeout(5000))
          await session.notify(RECEIPT_METHOD, receipt)
          this.breakers.success(peer)
          return
        } catch (err) {
          this.breakers.failure(peer)
          log('receipt to %s: no live session (%e), by mail', peer, err)
        }
      }
      if (handle === undefined) {
        log('receipt to %s: it has no handle to mail it at', peer)
        return
      }
      const record = await this.#host.resolve(handle)
      if (record.peer !== peer) return
      await this.send(record, RECEIPT_METHOD, receipt)
    })().catch(err => { log('receipt to %s: %e', peer, err) })
  }
}
