/**
 * The relay side of the mailbox (protocols/mailbox §3): a libp2p service
 * that keeps sealed envelopes for offline agents whose handle records name
 * this relay, and hands them to the recipient alone.
 *
 * Every stream carries one request, which must arrive whole within 10 s;
 * malformed requests are answered with `ERR_MAILBOX_INVALID` and the stream
 * closed; nothing a peer sends grows memory beyond the quotas (a request is
 * at most `MAX_REQUEST_BYTES`, the index holds at most `quotas.total`
 * entries, one live stream per peer). The handler never throws.
 */
import { logger } from '@libp2p/logger'
import type { Connection, CounterGroup, Metrics, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import { lpStream } from '@libp2p/utils'
import type { Datastore } from 'interface-datastore'
import { canonicalize } from '../crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { verifyEnvelope } from '../envelope/envelope.js'
import { DEFAULT_MAX_BYTES as ENVELOPE_MAX_BYTES } from '../envelope/constants.js'
import { validateHandleRecord } from '../handles/record.js'
import type { HandleRecord } from '../handles/record.js'
import {
  DEFAULT_MAIL_TTL_MS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_PULL_LIMIT, MAILBOX_PROTOCOL,
  MAX_PULL_BYTES, MAX_REQUEST_BYTES, REQUEST_TIMEOUT_MS
} from './constants.js'
import { MailboxError, MailboxErrorCode } from './errors.js'
import { encodeFrame, parseRequest, refusal } from './wire.js'
import type { MailObject, MailboxRequest } from './wire.js'
import { MailStore, cursorOf, seqOfCursor } from './store.js'
import { BoundedCache } from '../util/bounded-cache.js'
import type { MailboxQuotas } from './store.js'

const log = logger('parley:mailbox')

/** A live stream that has not taken its frame within this long is closed. */
export const LIVE_WRITE_TIMEOUT_MS = 30_000
/** Recipients' records a mailbox remembers as checked (their canonical text, a few KiB each at most). */
export const RECORDS_CHECKED = 1024
/** Default streams of this protocol one connection may have open at once. */
export const DEFAULT_MAX_MAILBOX_STREAMS = 8
/** Default interval between sweeps of expired mail. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000

/** The newest record a relay holds for a handle: its sequence number and the peer it names. */
export interface NewerRecord {
  /** The record's `seq`. */
  seq: number
  /** The peer id it names. */
  peer: string
}

/** Options of {@link mailboxServer}. */
export interface MailboxServerInit {
  /**
   * The record this relay holds for `handle` (a verified, unexpired one), if
   * any: a deposit whose record is older and names another peer is refused
   * with `ERR_MAILBOX_STALE_RECORD` (§3.1 step 3). Default: none is held.
   */
  newerRecord?: (handle: string) => Promise<NewerRecord | undefined>
  /** Where mail is kept (default the node's datastore). Keys under `/parley/mailbox/`. */
  datastore?: Datastore
  /** How long unacknowledged mail is kept (default `DEFAULT_MAIL_TTL_MS`, 7 days). */
  ttlMs?: number
  /** Largest envelope kept, its canonical JSON in bytes (default 64 KiB, at most 256 KiB). */
  maxMessageBytes?: number
  /** Quotas; unset fields take `DEFAULT_MAILBOX_QUOTAS`. */
  quotas?: Partial<MailboxQuotas>
  /** Least proof-of-work difficulty accepted on the recipient's record (default that of `validateHandleRecord`). */
  minPowBits?: number
  /** Streams of this protocol one connection may have open at once (default {@link DEFAULT_MAX_MAILBOX_STREAMS}). */
  maxInboundStreams?: number
  /** Interval between sweeps of expired mail (default one minute). */
  sweepIntervalMs?: number
  /** The clock, ms since the Unix epoch (default `Date.now`). */
  clock?: () => number
}

/** What the mailbox server needs from the libp2p node. */
export interface MailboxServerComponents {
  /** The relay's peer id: records must list an address ending in `/p2p/<it>`. */
  peerId: PeerId
  /** Where the protocol is registered. */
  registrar: Registrar
  /** The node's datastore, used unless `init.datastore` is given. */
  datastore?: Datastore
  /** Metrics, when the node has them. */
  metrics?: Metrics
}

/** One open live stream (§3.5). */
interface Live {
  stream: Stream
  write: (count: number) => void
  close: () => void
}

/** The relay's mailbox service. */
export interface MailboxServer extends Startable {
  /** The mail it keeps. */
  readonly store: MailStore
  /** Deletes expired mail now; resolves with how many messages went. */
  sweep: () => Promise<number>
}

/** The libp2p service factory: `services: { mailbox: mailboxServer({ newerRecord }) }`. */
export function mailboxServer (init: MailboxServerInit = {}): (components: MailboxServerComponents) => MailboxServer {
  return (components) => new DefaultMailboxServer(components, init)
}

class DefaultMailboxServer implements MailboxServer {
  readonly [Symbol.toStringTag] = '@parley/mailbox-server'
  readonly store: MailStore
  readonly #components: MailboxServerComponents
  readonly #init: MailboxServerInit
  readonly #clock: () => number
  readonly #ttlMs: number
  readonly #maxMessageBytes: number
  readonly #relaySuffix: string
  readonly #live = new Map<string, Live>()
  /** Recipients' records that passed validation, by their canonical text. */
  readonly #records = new BoundedCache<string, HandleRecord>(RECORDS_CHECKED)
  readonly #deposits: CounterGroup | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #running = false

  constructor (components: MailboxServerComponents, init: MailboxServerInit) {
    this.#components = components
    this.#init = init
    this.#clock = init.clock ?? Date.now
    this.#ttlMs = init.ttlMs ?? DEFAULT_MAIL_TTL_MS
    this.#maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    if (!Number.isSafeInteger(this.#ttlMs) || this.#ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer')
    if (!Number.isSafeInteger(this.#maxMessageBytes) || this.#maxMessageBytes <= 0 || this.#maxMessageBytes > ENVELOPE_MAX_BYTES) {
      throw new RangeError(`maxMessageBytes must be from 1 to ${ENVELOPE_MAX_BYTES}`)
    }
    const datastore = init.datastore ?? components.datastore
    if (datastore === undefined) throw new RangeError('the mailbox server needs a datastore')
    this.store = new MailStore(datastore, { clock: this.#clock, ...(init.quotas === undefined ? {} : { quotas: init.quotas }) })
    this.#relaySuffix = '/p2p/' + components.peerId.toString()
    const metrics = components.metrics
    if (metrics !== undefined) {
      metrics.registerMetric('parley_mailbox_messages', { help: 'Mailbox messages stored now', calculate: () => this.store.count })
      metrics.registerMetric('parley_mailbox_bytes', { help: 'Envelope bytes stored in mailboxes now', calculate: () => this.store.bytes })
      this.#deposits = metrics.registerCounterGroup('parley_mailbox_deposits_total', { label: 'status', help: 'Mailbox deposits, by the status answered' })
    }
  }

  async start (): Promise<void> {
    const kept = await this.store.load()
    log('%d messages kept', kept)
    await this.#components.registrar.handle(MAILBOX_PROTOCOL, (stream, connection) => {
      // never throws out of the handler: anything unforeseen resets this stream alone
      this.#serve(stream, connection).catch(err => {
        log.error('mailbox stream from %p failed: %e', connection.remotePeer, err)
        stream.abort(err as Error)
      })
    }, {
      maxInboundStreams: this.#init.maxInboundStreams ?? DEFAULT_MAX_MAILBOX_STREAMS
    })
    this.#timer = setInterval(() => {
      this.sweep().catch(err => { log.error('sweep failed: %e', err) })
    }, this.#init.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS)
    this.#timer.unref?.()
    this.#running = true
  }

  async stop (): Promise<void> {
    this.#running = false
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#components.registrar.unhandle(MAILBOX_PROTOCOL).catch(() => {})
    for (const live of this.#live.values()) live.close()
    this.#live.clear()
    // a deposit being written finishes (or fails) before the datastore closes
    await this.store.settle()
  }

  async sweep (): Promise<number> {
    const n = await this.store.sweep()
    if (n > 0) log('expired %d messages', n)
    return n
  }

  async #serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES, maxBufferSize: MAX_REQUEST_BYTES + 16 })
    let bytes: Uint8Array
    try {
      bytes = (await lp.read({ signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).subarray()
    } catch (err) {
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') {
        await this.#answer(stream, lp, refusal(new MailboxError(MailboxErrorCode.INVALID, `the request is over ${MAX_REQUEST_BYTES} bytes`)))
      } else {
        log('no request from %s: %s', peer, (err as Error).message)
        stream.abort(err as Error)
      }
      return
    }
    let request: MailboxRequest
    try {
      request = parseRequest(bytes)
    } catch (err) {
      await this.#answer(stream, lp, refusal(err))
      return
    }
    try {
      if (request.op === 'live') { await this.#startLive(stream, lp, peer); return }
      const answer = await this.#handle(request, peer)
      await this.#answer(stream, lp, answer)
    } catch (err) {
      if (!(err instanceof MailboxError)) log.error('%s from %s failed: %e', request.op, peer, err)
      if (request.op === 'deposit') this.#deposits?.increment({ [err instanceof MailboxError ? err.code : 'error']: true })
      await this.#answer(stream, lp, err instanceof MailboxError ? refusal(err) : { status: MailboxErrorCode.FULL, message: 'the relay could not store or read mail just now' })
    }
  }

  async #answer (stream: Stream, lp: ReturnType<typeof lpStream>, answer: object): Promise<void> {
    try {
      await lp.write(encodeFrame(answer), { signal: AbortSignal.timeout(LIVE_WRITE_TIMEOUT_MS) })
      await stream.close({ signal: AbortSignal.timeout(LIVE_WRITE_TIMEOUT_MS) })
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  async #handle (request: Exclude<MailboxRequest, { op: 'live' }>, peer: string): Promise<object> {
    switch (request.op) {
      case 'deposit': {
        const answer = await this.#deposit(request.envelope, request.record, peer)
        this.#deposits?.increment({ stored: true })
        return answer
      }
      case 'status':
        return { status: 'ok', ...await this.store.status(peer) }
      case 'pull': {
        let after = -1
        if (request.after !== undefined) {
          const seq = seqOfCursor(request.after)
          if (seq === undefined) throw new MailboxError(MailboxErrorCode.INVALID, '"after" is not a cursor this relay made')
          after = seq
        }
        const { messages, remaining } = await this.store.pull(peer, request.limit ?? DEFAULT_PULL_LIMIT, MAX_PULL_BYTES, after)
        return {
          status: 'ok',
          messages: messages.map(m => ({ envelope: JSON.parse(fromUtf8(m.envelope)) as MailObject, cursor: cursorOf(m.entry.seq), received: m.entry.received })),
          remaining
        }
      }
      case 'ack':
        return { status: 'ok', deleted: await this.store.ack(peer, request.ids) }
    }
  }

  /** §3.1, every check in order. */
  async #deposit (envelope: MailObject, record: MailObject, depositor: string): Promise<object> {
    // 1. the envelope
    let envelopeBytes: Uint8Array
    try {
      envelopeBytes = utf8(canonicalize(envelope))
    } catch {
      throw new MailboxError(MailboxErrorCode.INVALID, 'the envelope is not JSON data')
    }
    if (envelopeBytes.byteLength > this.#maxMessageBytes) {
      throw new MailboxError(MailboxErrorCode.TOO_LARGE, `the envelope is ${envelopeBytes.byteLength} bytes; this relay keeps at most ${this.#maxMessageBytes}`, { limit: this.#maxMessageBytes })
    }
    let to: string
    let id: string
    try {
      const { envelope: e } = await verifyEnvelope(envelopeBytes, {
        maxBytes: this.#maxMessageBytes,
        expectedSigner: depositor,
        now: this.#clock(),
        // mail is old by nature (§3.1): neither its age nor its clock is checked
        maxAgeMs: Number.MAX_SAFE_INTEGER,
        maxSkewMs: Number.MAX_SAFE_INTEGER
      })
      if (e.sealed === undefined || e.body !== undefined) throw new MailboxError(MailboxErrorCode.INVALID, 'the envelope is not sealed')
      if (e.to.peer === undefined) throw new MailboxError(MailboxErrorCode.INVALID, 'the envelope names no to.peer')
      to = e.to.peer
      id = e.id
    } catch (err) {
      if (err instanceof MailboxError) throw err
      throw new MailboxError(MailboxErrorCode.INVALID, `the envelope is refused: ${(err as Error).message}`)
    }
    // 2. the recipient's record
    const recordText = canonicalize(record)
    // a sender deposits many messages with one record: its signature and proof of work are checked once
    // (BoundedCache: at most RECORDS_CHECKED kept); an entry past its expiry is validated again, and refused
    let rec = this.#records.get(recordText)
    if (rec === undefined || rec.expires <= this.#clock()) {
      try {
        rec = await validateHandleRecord(utf8(recordText), {
          now: this.#clock(),
          ...(this.#init.minPowBits === undefined ? {} : { minPowBits: this.#init.minPowBits })
        })
      } catch (err) {
        throw new MailboxError(MailboxErrorCode.UNKNOWN_RECIPIENT, `the recipient's record is refused: ${(err as Error).message}`)
      }
      this.#records.set(recordText, rec)
    }
    if (rec.peer !== to) throw new MailboxError(MailboxErrorCode.UNKNOWN_RECIPIENT, 'the record names another peer than to.peer')
    if (!rec.relays.some(r => r.endsWith(this.#relaySuffix))) throw new MailboxError(MailboxErrorCode.UNKNOWN_RECIPIENT, 'the recipient\'s record does not list this relay')
    // 3. a newer record naming another peer
    const newer = await this.#init.newerRecord?.(rec.handle)
    if (newer !== undefined && newer.seq > rec.seq && newer.peer !== rec.peer) {
      throw new MailboxError(MailboxErrorCode.STALE_RECORD, `@${rec.handle} has a newer record (seq ${newer.seq}) naming another peer`)
    }
    // 4. and 5. dedupe, quotas, then the durable write
    const { entry, duplicate } = await this.store.put({ to, from: depositor, id, envelope: envelopeBytes, expires: this.#clock() + this.#ttlMs })
    if (!duplicate) void this.#notify(to)
    return { status: 'stored', id: entry.id, expires: entry.expires }
  }

  async #notify (to: string): Promise<void> {
    const live = this.#live.get(to)
    if (live === undefined) return
    try {
      const { count } = await this.store.status(to)
      live.write(count)
    } catch (err) {
      log('could not count mail for %s: %e', to, err)
    }
  }

  async #startLive (stream: Stream, lp: ReturnType<typeof lpStream>, peer: string): Promise<void> {
    if (!this.#running) { stream.abort(new Error('the mailbox is stopping')); return }
    this.#live.get(peer)?.close()
    /** The count to send next: at most one frame waits, carrying the latest count. */
    let queued: number | undefined
    let first = true
    let ready = false
    let writing = false
    let closed = false
    const forget = (): void => {
      closed = true
      if (this.#live.get(peer) === live) this.#live.delete(peer)
    }
    const close = (): void => {
      if (closed) return
      forget()
      stream.close({ signal: AbortSignal.timeout(LIVE_WRITE_TIMEOUT_MS) }).catch(err => { stream.abort(err as Error) })
    }
    const flush = async (): Promise<void> => {
      writing = true
      try {
        while (queued !== undefined && !closed) {
          const frame = first ? { status: 'ok', count: queued } : { new: queued }
          first = false
          queued = undefined
          await lp.write(encodeFrame(frame), { signal: AbortSignal.timeout(LIVE_WRITE_TIMEOUT_MS) })
        }
      } catch (err) {
        // a reader that does not drain within the timeout loses its live stream, never a deposit
        log('live stream of %s closed: %s', peer, (err as Error).message)
        forget()
        stream.abort(err as Error)
      } finally {
        writing = false
      }
    }
    const live: Live = {
      stream,
      write: (count) => {
        if (closed) return
        queued = count
        if (ready && !writing) void flush()
      },
      close
    }
    this.#live.set(peer, live)
    stream.addEventListener('remoteCloseWrite', close)
    stream.addEventListener('close', forget)
    const { count } = await this.store.status(peer)
    // a deposit counted meanwhile has the later count
    queued ??= count
    ready = true
    if (!writing) void flush()
  }
}
