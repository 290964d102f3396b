/**
 * Publishing an agent's handle record: first come, first served, decided
 * before the proof of work is minted; republished at half its lifetime.
 */
import { logger } from '@libp2p/logger'
import type { KadDHT } from '@libp2p/kad-dht'
import { HandleRecordError, HandleRecordErrorCode } from '../errors.js'
import { DEFAULT_RECORD_TTL_MS, createHandleRecord, handleKey, succession } from '../handles/record.js'
import type { HandleRecord, HandleRotation } from '../handles/record.js'
import { DEFAULT_POW_BITS } from '../handles/pow.js'
import { fromUtf8 } from '../crypto/bytes.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import type { Identity } from '../identity/identity.js'
import type { HandleResolver } from './resolver.js'
import { PUBLISH_TIMEOUT_MS } from './constants.js'

const log = logger('parley:agent:publish')

/** What to do about `ERR_HANDLE_TAKEN`. */
export const TAKEN_HINT = 'Keep the key that registered it between runs (the dataDir option, or --data-dir), or pick another handle.'

export interface PublisherInit {
  handle: string
  identity: Identity
  dht: () => KadDHT
  resolver: HandleResolver
  /** The relays that hold a reservation for us now (the record lists up to 8). */
  relays: () => string[]
  recordTtlMs?: number
  powBits?: number
  /** The previous key's hand-over of our handle, carried in our records after a key rotation. */
  rotation?: HandleRotation
}

/** How long reservations must stay as they are before a record that lists other relays is republished. */
export const RELAYS_SETTLE_MS = 1000

export class HandlePublisher {
  readonly #init: PublisherInit
  #record: HandleRecord | undefined
  #recordJson: JsonValue | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  #changeTimer: ReturnType<typeof setTimeout> | undefined

  constructor (init: PublisherInit) {
    this.#init = init
  }

  /** Our published record, once published. */
  get record (): HandleRecord | undefined { return this.#record }
  /** The record as JSON, as hellos carry it (parsed once per publish, not per session). */
  get json (): JsonValue | undefined { return this.#recordJson }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    clearTimeout(this.#changeTimer)
  }

  /**
   * Our reservations changed: when the relays that hold one for us are no
   * longer those the published record lists (a second relay took us after
   * the record went out, or one was lost and came back), republish after
   * {@link RELAYS_SETTLE_MS}, so that callers and mail find the relays we
   * are on now.
   */
  relaysChanged (): void {
    if (this.#stopped || this.#record === undefined) return
    clearTimeout(this.#changeTimer)
    this.#changeTimer = setTimeout(() => {
      const listed = this.#record?.relays ?? []
      const now = this.#init.relays().slice(0, 8)
      if (now.length === 0 || (now.length === listed.length && now.every(r => listed.includes(r)))) return
      log('@%s: relays now %o (the record lists %o): republishing', this.#init.handle, now, listed)
      this.publish().catch(err => { log('republish of @%s failed: %e', this.#init.handle, err) })
    }, RELAYS_SETTLE_MS)
    this.#changeTimer.unref?.()
  }

  /** Publishes (or republishes) the record; a handle held by another key is `ERR_HANDLE_TAKEN`. */
  async publish (): Promise<HandleRecord> {
    const { handle, identity, resolver } = this.#init
    const existing = await resolver.lookup(handle)
    const ttlMs = this.#init.recordTtlMs ?? DEFAULT_RECORD_TTL_MS
    const seq = Math.max(Date.now(), (this.#record?.seq ?? 0) + 1, (existing?.seq ?? 0) + 1)
    if (existing !== undefined) {
      try {
        succession(existing, { ...existing, peer: identity.peerIdString, seq, rotation: this.#init.rotation }, Date.now())
      } catch (err) {
        if (!(err instanceof HandleRecordError) || err.code !== HandleRecordErrorCode.HANDLE_TAKEN) throw err
        throw new HandleRecordError(HandleRecordErrorCode.HANDLE_TAKEN, `${err.message}, a key other than this agent's (${identity.peerIdString}). ${TAKEN_HINT}`)
      }
    }
    const { record, bytes } = await createHandleRecord(identity, {
      handle,
      relays: this.#init.relays().slice(0, 8),
      seq,
      ttlMs,
      powBits: this.#init.powBits ?? DEFAULT_POW_BITS,
      ...(this.#init.rotation === undefined ? {} : { rotation: this.#init.rotation })
    })
    let accepted = 0
    for await (const event of this.#init.dht().put(handleKey(handle), bytes, { signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted++
    }
    if (accepted === 0) {
      throw new HandleRecordError(HandleRecordErrorCode.HANDLE_TAKEN, `no DHT server accepted the record for @${handle} (the handle may be held by another key). ${TAKEN_HINT}`)
    }
    this.#record = record
    this.#recordJson = JSON.parse(fromUtf8(bytes)) as JsonValue
    resolver.remember(record)
    clearTimeout(this.#timer)
    if (!this.#stopped) {
      this.#timer = setTimeout(() => { this.publish().catch(err => { log('republish of @%s failed: %e', handle, err) }) }, Math.max(1000, ttlMs / 2))
      this.#timer.unref?.()
    }
    log('published @%s (seq %d) on %d DHT servers', handle, record.seq, accepted)
    return record
  }
}
