/**
 * Payloads larger than a session frame (protocols/blob): the sender offers
 * the bytes and puts their reference — id, length and SHA-256 — in a signed
 * message; the receiver, if it wants them and they are within its cap, pulls
 * them over a stream of their own on the same peers' connection. The
 * signature on the reference binds the bytes to the sender; the stream
 * carries them in order, the sender writing as fast as the transport drains;
 * the receiver copies each chunk into a buffer of the announced length as it
 * arrives, so it holds the payload and nothing more, and never takes more
 * than the reference says.
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { ParleyError } from '../errors.js'
import { sha256Base64url } from '../crypto/hash.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { randomToken } from '../envelope/envelope.js'
import { boundedChunks, drained, readFrames, writeFrame } from './frames.js'

const log = logger('parley:blob')

/** The stream protocol a receiver pulls an offered payload on. */
export const BLOB_PROTOCOL = '/parley/blob/1.0.0'
/** Bytes written per `send` (the transport cuts them further). */
export const BLOB_CHUNK_BYTES = 64 * 1024
/** Default cap on one payload a receiver pulls. */
export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024
/** How long an offer stays available to be pulled. */
export const DEFAULT_OFFER_TTL_MS = 120_000
/** Default bytes on offer to one peer at once: past it, a new offer fails (`ERR_BLOB_OFFERS_FULL`). */
export const DEFAULT_MAX_OFFERED_BYTES_PER_PEER = 256 * 1024 * 1024
/** Longest request frame (`{ "blob": id }`). */
const MAX_REQUEST_BYTES = 256

/** A payload on offer, as a signed message names it (protocols/blob §2). */
export interface BlobRef {
  /** The offer's id: 16 random bytes, unpadded base64url. */
  blob: string
  /** Its exact length in bytes. */
  bytes: number
  /** Unpadded base64url SHA-256 of the bytes. */
  sha256: string
}

/** Every reason a payload cannot be offered or pulled. */
export const BlobErrorCode = {
  /** The reference is not `{ blob, bytes, sha256 }` of the right shapes. */
  INVALID_REF: 'ERR_BLOB_INVALID_REF',
  /** The payload is over the receiver's cap: it was not pulled. */
  TOO_LARGE: 'ERR_BLOB_TOO_LARGE',
  /** The sender no longer offers it (expired, unknown, or offered to someone else), or the stream broke. */
  UNAVAILABLE: 'ERR_BLOB_UNAVAILABLE',
  /** What arrived differs from the reference in length or digest. */
  CORRUPT: 'ERR_BLOB_CORRUPT',
  /** The sender has too much on offer to that peer already. */
  OFFERS_FULL: 'ERR_BLOB_OFFERS_FULL'
} as const
export type BlobErrorCode = typeof BlobErrorCode[keyof typeof BlobErrorCode]

/** A payload could not be offered or pulled; `code` says why. */
export class BlobError extends ParleyError<BlobErrorCode> {
  static override readonly name = 'BlobError'
}

const ID = /^[A-Za-z0-9_-]{22}$/
const DIGEST = /^[A-Za-z0-9_-]{43}$/

/** Whether `value` is exactly a {@link BlobRef}. */
export function isBlobRef (value: unknown): value is BlobRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const v = value as Record<string, unknown>
  return Object.keys(v).length === 3 && typeof v.blob === 'string' && ID.test(v.blob) &&
    typeof v.bytes === 'number' && Number.isSafeInteger(v.bytes) && v.bytes >= 0 &&
    typeof v.sha256 === 'string' && DIGEST.test(v.sha256)
}

/** The reference of `bytes` under `id`. */
export function blobRef (id: string, bytes: Uint8Array): BlobRef {
  return { blob: id, bytes: bytes.byteLength, sha256: sha256Base64url(bytes) }
}

/** Checks what arrived against its reference (protocols/blob §4). */
export function checkBlob (ref: BlobRef, bytes: Uint8Array): void {
  if (bytes.byteLength !== ref.bytes) throw new BlobError(BlobErrorCode.CORRUPT, `${bytes.byteLength} bytes arrived, the reference says ${ref.bytes}`)
  if (sha256Base64url(bytes) !== ref.sha256) throw new BlobError(BlobErrorCode.CORRUPT, 'the bytes do not match the reference\'s SHA-256')
}

/** What {@link Blobs} needs from the node: a new stream to a peer on a connection it has. */
export interface BlobHost {
  newStream: (peer: string, protocol: string, signal: AbortSignal) => Promise<Stream>
}

/** Options of {@link Blobs}. */
export interface BlobsOptions {
  /** How long an offer stays available (default 2 min). */
  offerTtlMs?: number
  /** Bytes on offer to one peer at once (default 256 MiB). */
  maxOfferedBytesPerPeer?: number
}

interface Offer {
  peer: string
  bytes: Uint8Array
  timer: ReturnType<typeof setTimeout>
}

/** Offers and pulls of one node (protocols/blob). */
export class Blobs {
  readonly #host: BlobHost
  readonly #offers = new Map<string, Offer>()
  readonly #offeredBytes = new Map<string, number>()
  readonly #ttl: number
  readonly #maxPerPeer: number

  constructor (host: BlobHost, options: BlobsOptions = {}) {
    this.#host = host
    this.#ttl = options.offerTtlMs ?? DEFAULT_OFFER_TTL_MS
    this.#maxPerPeer = options.maxOfferedBytesPerPeer ?? DEFAULT_MAX_OFFERED_BYTES_PER_PEER
  }

  /** Offers `bytes` to `peer` (and no one else): the reference to put in a signed message. */
  offer (peer: string, bytes: Uint8Array): BlobRef {
    const offered = this.#offeredBytes.get(peer) ?? 0
    if (offered + bytes.byteLength > this.#maxPerPeer) throw new BlobError(BlobErrorCode.OFFERS_FULL, `${offered} bytes are on offer to ${peer} already (at most ${this.#maxPerPeer})`)
    const id = randomToken()
    const timer = setTimeout(() => { this.#withdraw(id) }, this.#ttl)
    timer.unref?.()
    this.#offers.set(id, { peer, bytes, timer })
    this.#offeredBytes.set(peer, offered + bytes.byteLength)
    return blobRef(id, bytes)
  }

  /** Bytes on offer now, to anyone. */
  get offeredBytes (): number {
    let n = 0
    for (const v of this.#offeredBytes.values()) n += v
    return n
  }

  /**
   * Pulls what `peer` offered under `ref`: refused before any byte moves when
   * it is over `maxBytes`; checked against the reference once whole.
   */
  async fetch (peer: string, ref: BlobRef, options: { maxBytes?: number, signal?: AbortSignal } = {}): Promise<Uint8Array> {
    if (!isBlobRef(ref)) throw new BlobError(BlobErrorCode.INVALID_REF, 'not a blob reference: { blob, bytes, sha256 }')
    const max = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES
    if (ref.bytes > max) throw new BlobError(BlobErrorCode.TOO_LARGE, `the payload is ${ref.bytes} bytes, over this receiver's cap of ${max}`)
    const signal = options.signal ?? AbortSignal.timeout(Math.max(30_000, ref.bytes / 1024))
    let stream: Stream
    try {
      stream = await this.#host.newStream(peer, BLOB_PROTOCOL, signal)
    } catch (err) {
      throw new BlobError(BlobErrorCode.UNAVAILABLE, `no stream to ${peer} for the payload: ${(err as Error).message}`, { cause: err })
    }
    const out = new Uint8Array(ref.bytes)
    let got = 0
    try {
      // each chunk is copied into its place as it arrives: the receiver holds the payload's
      // length and no more (pausing the stream would not stop a WebRTC sender, whose data
      // channel has no receiver-driven flow control, so nothing is queued instead)
      const arrived = new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          stream.removeEventListener('message', onMessage)
          stream.removeEventListener('end', onEnd)
          stream.removeEventListener('close', onClose)
          signal.removeEventListener('abort', onAbort)
          if (err === undefined) resolve()
          else reject(err)
        }
        const onMessage = (evt: StreamMessageEvent): void => {
          const chunk = evt.data
          if (got + chunk.byteLength > out.byteLength) {
            done(new BlobError(BlobErrorCode.CORRUPT, `more than the ${ref.bytes} bytes the reference says arrived`))
            return
          }
          if (chunk instanceof Uint8Array) out.set(chunk, got)
          else { let at = got; for (const part of chunk) { out.set(part, at); at += part.byteLength } }
          got += chunk.byteLength
        }
        const onEnd = (): void => { done() }
        const onClose = (evt: StreamCloseEvent): void => { done(evt.error) }
        const onAbort = (): void => { done(signal.reason as Error) }
        stream.addEventListener('message', onMessage)
        stream.addEventListener('end', onEnd)
        stream.addEventListener('close', onClose)
        signal.addEventListener('abort', onAbort)
      })
      await writeFrame(stream, utf8(JSON.stringify({ blob: ref.blob })))
      await stream.close({ signal }) // our side is done writing
      await arrived
    } catch (err) {
      stream.abort(err as Error)
      if (err instanceof BlobError) throw err
      throw new BlobError(BlobErrorCode.UNAVAILABLE, `the payload's stream broke after ${got} of ${ref.bytes} bytes: ${(err as Error).message}`, { cause: err })
    }
    if (got < ref.bytes) throw new BlobError(BlobErrorCode.UNAVAILABLE, `the sender ended after ${got} of ${ref.bytes} bytes (it no longer offers the payload, or it was offered to someone else)`)
    checkBlob(ref, out)
    return out
  }

  /** Serves one pull (the {@link BLOB_PROTOCOL} handler): the offer's bytes to the peer it was made to, else a reset. */
  async serve (stream: Stream, remotePeer: string): Promise<void> {
    try {
      const frames = readFrames(boundedChunks(stream, MAX_REQUEST_BYTES * 2), MAX_REQUEST_BYTES, MAX_REQUEST_BYTES, { frameTimeoutMs: 10_000, firstFrameTimeoutMs: 10_000 })
      const first = await frames.next()
      if (first.done === true || 'oversize' in first.value) throw new Error('no request')
      const { blob } = JSON.parse(fromUtf8(first.value.bytes)) as { blob?: unknown }
      const offer = typeof blob === 'string' ? this.#offers.get(blob) : undefined
      if (offer === undefined || offer.peer !== remotePeer) throw new Error(`no offer ${String(blob).slice(0, 32)} to this peer`)
      for (let at = 0; at < offer.bytes.byteLength; at += BLOB_CHUNK_BYTES) {
        if (!stream.send(offer.bytes.subarray(at, at + BLOB_CHUNK_BYTES))) await drained(stream, AbortSignal.timeout(30_000))
      }
      await stream.close()
      // served whole: the offer is spent
      this.#withdraw(blob as string)
    } catch (err) {
      log('a pull from %s failed: %e', remotePeer, err)
      stream.abort(err as Error)
    }
  }

  /** Withdraws every offer (on stop). */
  clear (): void {
    for (const id of [...this.#offers.keys()]) this.#withdraw(id)
  }

  #withdraw (id: string): void {
    const offer = this.#offers.get(id)
    if (offer === undefined) return
    clearTimeout(offer.timer)
    this.#offers.delete(id)
    const left = (this.#offeredBytes.get(offer.peer) ?? 0) - offer.bytes.byteLength
    if (left > 0) this.#offeredBytes.set(offer.peer, left)
    else this.#offeredBytes.delete(offer.peer)
  }
}

