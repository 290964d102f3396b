/**
 * A Parley session: one long-lived stream carrying signed JSON-RPC 2.0
 * envelopes in both directions (`protocols/session`).
 *
 * Opening exchanges `session/hello` frames; each side stamps the other's kind
 * (`agent` | `human` | `anon`) from the handle record it verified, never from
 * what was claimed. Then either side may `request` and `notify` at any time;
 * responses match by id, timeouts are explicit, JSON-RPC errors arrive as
 * {@link RpcError}. A frame that fails envelope verification is answered with
 * an error carrying its code, and the session goes on.
 *
 * @example
 * ```ts
 * const session = await agent.connect('@rapidplumb')
 * const slots = await session.request('schedule/availability', { date: '2026-11-21' })
 * session.notify('message', { text: 'thanks' })
 * ```
 */
import type { Stream } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { EnvelopeError, EnvelopeErrorCode } from '../errors.js'
import { signEnvelope, verifyEnvelope } from '../envelope/envelope.js'
import { openSealed } from '../envelope/sealed.js'
import type { Envelope, EnvelopeSigner, SealRecipient } from '../envelope/index.js'
import { ReplayGuard } from '../envelope/replay-guard.js'
import { isRequest, isResponse } from '../envelope/jsonrpc.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcParams, JsonRpcRequest } from '../envelope/jsonrpc.js'
import { DEFAULT_MAX_BYTES } from '../envelope/constants.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8 } from '../crypto/bytes.js'
import { readFrames, writeFrame } from './frames.js'
import {
  DEFAULT_REQUEST_TIMEOUT_MS, ENVELOPE_REJECTED, HARD_FRAME_FACTOR, INTERNAL_ERROR, METHOD_NOT_FOUND
} from './constants.js'

const log = logger('parley:session')

/** Who is on the other end, as verified: never as claimed. */
export interface Caller {
  peer: string
  /** Set only when the handle was verified (record valid, owned by this peer, current in the DHT). */
  handle?: string
  kind: 'agent' | 'human' | 'anon'
}

/** What a handler gets besides its params. */
export interface HandlerContext {
  caller: Caller
  session: Session
  envelope: Envelope
}

/** Serves one method. Return the result (JSON); throw {@link RpcError} to answer with an error. */
export type Handler = (params: JsonRpcParams | undefined, context: HandlerContext) => JsonValue | undefined | Promise<JsonValue | undefined>

/** A JSON-RPC error: received from the far side, or thrown by a handler to send one. */
export class RpcError extends Error {
  override readonly name = 'RpcError'
  readonly code: number
  readonly data: JsonValue | undefined

  constructor (code: number, message: string, data?: JsonValue) {
    super(message)
    this.code = code
    this.data = data
  }
}

/** A request got no response in time. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError'
  readonly code = 'ERR_TIMEOUT'
}

/** The session ended before the request was answered. */
export class SessionClosedError extends Error {
  override readonly name = 'SessionClosedError'
  readonly code = 'ERR_SESSION_CLOSED'
}

/** What a session needs from the node that owns it. */
export interface SessionHost {
  readonly signer: EnvelopeSigner & SealRecipient
  /** Our handle, when we have one. */
  readonly handle: string | undefined
  /** Our handle record as JSON, sent in our hello. */
  readonly record: () => JsonValue | undefined
  readonly handlers: ReadonlyMap<string, Handler>
  /** Verifies a hello's record for `remotePeer`; returns the stamped caller. */
  verifyHello: (remotePeer: string, claimedHandle: string | undefined, record: unknown) => Promise<Caller>
  readonly maxBytes?: number
  readonly requestTimeoutMs?: number
}

export interface SessionEvents {
  /** A frame was refused; `detail` is the envelope error code. */
  rejected: CustomEvent<string>
  /** A notification arrived (after its handler, if any, ran). */
  notification: CustomEvent<{ method: string, params: JsonRpcParams | undefined, caller: Caller }>
  close: CustomEvent<Error | undefined>
}

interface Pending {
  resolve: (value: JsonValue) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

const HELLO = 'session/hello'

export class Session extends TypedEventEmitter<SessionEvents> {
  readonly remotePeer: string
  readonly direction: 'inbound' | 'outbound'
  /** Resolves once both hellos are exchanged and the remote side is stamped. */
  readonly ready: Promise<Caller>
  #remote: Caller | undefined
  readonly #stream: Stream
  readonly #host: SessionHost
  readonly #guard = new ReplayGuard({ capacity: 10_000 })
  readonly #pending = new Map<JsonRpcId, Pending>()
  #nextId = 1
  #closed = false
  #markReady!: (caller: Caller) => void
  #failReady!: (err: Error) => void

  constructor (host: SessionHost, stream: Stream, remotePeer: string, direction: 'inbound' | 'outbound') {
    super()
    this.#host = host
    this.#stream = stream
    this.remotePeer = remotePeer
    this.direction = direction
    this.ready = new Promise<Caller>((resolve, reject) => { this.#markReady = resolve; this.#failReady = reject })
    this.ready.catch(() => {}) // observed by whoever awaits it; avoid unhandled rejections otherwise
    void this.#readLoop()
    if (direction === 'outbound') void this.#sendHello()
  }

  /** The verified remote side (after {@link ready}). */
  get remote (): Caller {
    if (this.#remote === undefined) throw new Error('session not ready')
    return this.#remote
  }

  get closed (): boolean { return this.#closed }

  /** Sends a request and resolves with its result; rejects with {@link RpcError}, {@link RequestTimeoutError} or {@link SessionClosedError}. */
  async request (method: string, params?: JsonRpcParams, options: { timeoutMs?: number } = {}): Promise<JsonValue> {
    await this.ready
    const id = this.#nextId++
    const timeoutMs = options.timeoutMs ?? this.#host.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const result = new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new RequestTimeoutError(`${method} got no response within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
    })
    try {
      await this.#send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })
    } catch (err) {
      const p = this.#pending.get(id)
      if (p !== undefined) { clearTimeout(p.timer); this.#pending.delete(id) }
      throw err
    }
    return result
  }

  /** Sends a notification (no response). */
  async notify (method: string, params?: JsonRpcParams): Promise<void> {
    await this.ready
    await this.#send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params })
  }

  /** Closes the stream; pending requests fail with {@link SessionClosedError}. */
  async close (): Promise<void> {
    if (this.#closed) return
    await this.#stream.close().catch(() => { this.#stream.abort(new Error('close failed')) })
    this.#finish(undefined)
  }

  /** Sends raw frame bytes, bypassing signing (tests use it to inject hostile frames). */
  async sendRaw (bytes: Uint8Array): Promise<void> {
    await writeFrame(this.#stream, bytes)
  }

  async #send (body: JsonRpcMessage): Promise<void> {
    if (this.#closed) throw new SessionClosedError('session is closed')
    const to = this.#remote?.handle === undefined ? { peer: this.remotePeer } : { peer: this.remotePeer, handle: this.#remote.handle }
    const { bytes } = await signEnvelope(this.#host.signer, { ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }), to, body })
    await writeFrame(this.#stream, bytes)
  }

  async #sendHello (): Promise<void> {
    const record = this.#host.record()
    try {
      const to = { peer: this.remotePeer }
      const body: JsonRpcMessage = record === undefined ? { jsonrpc: '2.0', method: HELLO, params: {} } : { jsonrpc: '2.0', method: HELLO, params: { record } }
      const { bytes } = await signEnvelope(this.#host.signer, { ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }), to, body })
      await writeFrame(this.#stream, bytes)
    } catch (err) {
      this.#failReady(err as Error)
      this.#stream.abort(err as Error)
    }
  }

  async #readLoop (): Promise<void> {
    const maxBytes = this.#host.maxBytes ?? DEFAULT_MAX_BYTES
    let error: Error | undefined
    try {
      for await (const frame of readFrames(this.#stream, maxBytes, maxBytes * HARD_FRAME_FACTOR)) {
        if ('oversize' in frame) {
          this.#reject(EnvelopeErrorCode.OVERSIZE, undefined, `frame of ${frame.oversize} bytes`)
          continue
        }
        await this.#receive(frame.bytes)
      }
    } catch (err) {
      error = err as Error
      log('session with %s ended: %e', this.remotePeer, err)
    }
    this.#finish(error)
  }

  async #receive (bytes: Uint8Array): Promise<void> {
    let envelope: Envelope
    try {
      const decoded = await verifyEnvelope(bytes, {
        expectedSigner: this.remotePeer,
        self: { peer: this.#host.signer.peerIdString, handles: this.#host.handle === undefined ? [] : [this.#host.handle] },
        replayGuard: this.#guard,
        maxBytes: this.#host.maxBytes ?? DEFAULT_MAX_BYTES
      })
      envelope = decoded.envelope
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err
      this.#reject(err.code, requestIdOf(bytes), err.message)
      if (this.#remote === undefined) this.#abort(err)
      return
    }
    let body: JsonRpcMessage
    try {
      body = envelope.body ?? openSealed(envelope, this.#host.signer)
    } catch (err) {
      this.#reject((err as EnvelopeError).code ?? 'ERR_UNSEALABLE', undefined, (err as Error).message)
      return
    }
    if (this.#remote === undefined) {
      await this.#receiveHello(envelope, body)
      return
    }
    if (isResponse(body)) {
      const p = body.id === null ? undefined : this.#pending.get(body.id)
      if (p === undefined) { log('response to unknown request %s from %s', body.id, this.remotePeer); return }
      this.#pending.delete(body.id as JsonRpcId)
      clearTimeout(p.timer)
      if ('error' in body) p.reject(new RpcError(body.error.code, body.error.message, body.error.data))
      else p.resolve(body.result)
      return
    }
    void this.#dispatch(envelope, body as JsonRpcRequest | JsonRpcNotification)
  }

  async #receiveHello (envelope: Envelope, body: JsonRpcMessage): Promise<void> {
    if (!('method' in body) || body.method !== HELLO || isRequest(body)) {
      this.#abort(new Error('the first frame of a session must be a session/hello notification'))
      return
    }
    const params = (body.params ?? {}) as Record<string, unknown>
    this.#remote = await this.#host.verifyHello(this.remotePeer, envelope.from.handle, params.record)
    if (this.direction === 'inbound') await this.#sendHello()
    this.#markReady(this.#remote)
  }

  async #dispatch (envelope: Envelope, body: JsonRpcRequest | JsonRpcNotification): Promise<void> {
    const caller = this.remote
    const handler = this.#host.handlers.get(body.method)
    const request = isRequest(body) ? body : undefined
    if (request === undefined) {
      try {
        await handler?.(body.params, { caller, session: this, envelope })
      } catch (err) {
        log('notification handler %s failed: %e', body.method, err)
      }
      this.safeDispatchEvent('notification', { detail: { method: body.method, params: body.params, caller } })
      return
    }
    let response: JsonRpcMessage
    if (handler === undefined) {
      response = errorResponse(request, METHOD_NOT_FOUND, `method not found: ${request.method}`)
    } else {
      try {
        const result = await handler(request.params, { caller, session: this, envelope })
        response = { jsonrpc: '2.0', id: request.id, result: result ?? null }
      } catch (err) {
        response = err instanceof RpcError
          ? errorResponse(request, err.code, err.message, err.data)
          : errorResponse(request, INTERNAL_ERROR, 'internal error')
        if (!(err instanceof RpcError)) log('handler %s failed: %e', request.method, err)
      }
    }
    await this.#send(response).catch(err => { log('could not answer %s: %e', request.method, err) })
  }

  #reject (code: string, id: JsonRpcId | undefined, message: string): void {
    log('refused a frame from %s: %s %s', this.remotePeer, code, message)
    this.safeDispatchEvent('rejected', { detail: code })
    if (id === undefined || this.#remote === undefined) return
    void this.#send({ jsonrpc: '2.0', id, error: { code: ENVELOPE_REJECTED, message: `envelope rejected: ${message}`, data: { reason: code } } }).catch(() => {})
  }

  #abort (err: Error): void {
    this.#stream.abort(err)
    this.#finish(err)
  }

  #finish (err: Error | undefined): void {
    if (this.#closed) return
    this.#closed = true
    const closed = new SessionClosedError(err === undefined ? 'session closed' : `session closed: ${err.message}`)
    this.#failReady(closed)
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(closed) }
    this.#pending.clear()
    this.safeDispatchEvent('close', { detail: err })
  }
}

function errorResponse (request: JsonRpcRequest, code: number, message: string, data?: JsonValue): JsonRpcMessage {
  return { jsonrpc: '2.0', id: request.id, error: data === undefined ? { code, message } : { code, message, data } }
}

/** The id of a refused frame's request, if it can be read at all (to answer it). */
function requestIdOf (bytes: Uint8Array): JsonRpcId | undefined {
  try {
    const body = (JSON.parse(fromUtf8(bytes)) as { body?: { id?: unknown, method?: unknown } }).body
    const id = body?.id
    if (typeof body?.method === 'string' && (typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)))) return id
  } catch {
    // unreadable: nothing to answer
  }
  return undefined
}
