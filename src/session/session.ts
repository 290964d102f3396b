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
 * import type { Agent } from 'parley-mesh'
 *
 * declare const agent: Agent
 * const session = await agent.connect('@rapidplumb')
 * const slots = await session.request('schedule/availability', { date: '2026-11-21' })
 * console.log(slots)
 * await session.notify('message', { text: 'thanks' })
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
import { DEFAULT_MAX_BYTES, ID_PATTERN } from '../envelope/constants.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8 } from '../crypto/bytes.js'
import { readFrames, writeFrame } from './frames.js'
import type { Frame } from './frames.js'
import { randomToken } from '../envelope/envelope.js'
import {
  DEFAULT_REQUEST_TIMEOUT_MS, ENVELOPE_REJECTED, HARD_FRAME_FACTOR, INTERNAL_ERROR, METHOD_NOT_FOUND
} from './constants.js'

const log = logger('parley:session')

/** Who is on the other end, as verified: never as claimed. */
export interface Caller {
  /** The remote peer id (authenticated by the connection). */
  peer: string
  /** Set only when the handle was verified (record valid, owned by this peer, current in the DHT). */
  handle?: string
  /** The kind its verified handle record states; `anon` when no handle was verified. */
  kind: 'agent' | 'human' | 'anon'
}

/** What a handler gets besides its params. */
export interface HandlerContext {
  /** Who sent the request, as verified. */
  caller: Caller
  /** The session the request arrived on (to call the caller back, for one). */
  session: Session
  /** The verified envelope that carried the request. */
  envelope: Envelope
}

/**
 * A request's params as a handler sees them: the JSON object the caller sent
 * (`{}` when it sent none), each member unchecked — validate before use. A
 * caller that sent positional params (an array) gets the array itself.
 */
export type HandlerParams = { readonly [key: string]: JsonValue | undefined }

/** What a handler is given for a request's `params` (see {@link HandlerParams}). */
export function handlerParams (params: JsonRpcParams | undefined): HandlerParams {
  return (params ?? {}) as HandlerParams
}

/** Serves one method. Return the result (JSON); throw {@link RpcError} to answer with an error. */
export type Handler = (params: HandlerParams, context: HandlerContext) => JsonValue | undefined | Promise<JsonValue | undefined>

/** A JSON-RPC error: received from the far side, or thrown by a handler to send one. */
export class RpcError extends Error {
  /** Always `'RpcError'`. */
  override readonly name = 'RpcError'
  /** The JSON-RPC error code (e.g. -32601, method not found). */
  readonly code: number
  /** The error's `data` member, when it has one. */
  readonly data: JsonValue | undefined

  constructor (code: number, message: string, data?: JsonValue) {
    super(message)
    this.code = code
    this.data = data
  }
}

/** A request got no response in time. */
export class RequestTimeoutError extends Error {
  /** Always `'RequestTimeoutError'`. */
  override readonly name = 'RequestTimeoutError'
  /** Always `'ERR_TIMEOUT'`. */
  readonly code = 'ERR_TIMEOUT'
}

/** The session ended before the request was answered. */
export class SessionClosedError extends Error {
  /** Always `'SessionClosedError'`. */
  override readonly name = 'SessionClosedError'
  /** Always `'ERR_SESSION_CLOSED'`. */
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
  /** Silence after which a `session/ping` is sent (default 30 s; 0 disables). */
  readonly keepAliveMs?: number
}

/** The events a {@link Session} emits; each `detail` is the payload given. */
export interface SessionEvents {
  /** A frame was refused; `detail` is the envelope error code. */
  rejected: CustomEvent<string>
  /** A request arrived (before its handler runs). */
  request: CustomEvent<{
    /** The request's JSON-RPC id. */
    id: JsonRpcId
    /** The method called. */
    method: string
    /** Its params as sent (unchecked). */
    params: JsonRpcParams | undefined
    /** Who sent it, as verified. */
    caller: Caller
  }>
  /** A notification arrived (after its handler, if any, ran). */
  notification: CustomEvent<{
    /** The method notified. */
    method: string
    /** Its params as sent (unchecked). */
    params: JsonRpcParams | undefined
    /** Who sent it, as verified. */
    caller: Caller
  }>
  /** The session ended: `detail` is the error that ended it, or `undefined` when it was closed or its stream ended cleanly. */
  close: CustomEvent<Error | undefined>
  /** The session moved to a new stream (`detail`), e.g. from a relayed circuit to WebRTC. */
  upgrade: CustomEvent<Stream>
  /**
   * Every envelope sent, and every frame received with the verdict on it: a
   * transcript (the dashboard and `parley demo` show it). Dispatched only
   * while someone listens. A refused frame's `bytes` are whatever the peer
   * sent, not necessarily UTF-8: decode them leniently (`util/lenient-utf8`).
   * Like every listener on what a peer sends, one here must not throw (Node
   * reports it as an uncaught exception): `util/guard` wraps one so.
   */
  envelope: CustomEvent<EnvelopeRecord>
}

/** One envelope of a session's transcript. */
export interface EnvelopeRecord {
  /** `in` for a frame received, `out` for an envelope sent. */
  dir: 'in' | 'out'
  /** Local receive or send time (ms). */
  at: number
  /** The envelope, when it decoded (a refused frame may not). */
  envelope?: Envelope
  /** The body, opened if it was sealed. */
  body?: JsonRpcMessage
  /** `true` when the envelope passed every check, else the refusal's code. */
  verified: true | string
  /** The exact wire bytes (none for a frame skipped unread: see {@link size}); a refused frame's may not be UTF-8. */
  bytes: Uint8Array
  /** The length of a frame over the size limit, which is skipped unread. */
  size?: number
}

interface Pending {
  resolve: (value: JsonValue) => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
}

const HELLO = 'session/hello'
/** Keep-alive request, answered by every session itself. */
export const PING = 'session/ping'
export const DEFAULT_KEEPALIVE_MS = 30_000
/** First frame of a new stream that takes over an existing session (after a transport upgrade). */
export const RESUME = 'session/resume'

/** Options for sessions built by a node that already read a stream's first frame. */
export interface SessionStart {
  /** The stream's frames, when some were already taken from it. */
  frames?: AsyncIterator<Frame>
  /** A first frame already read from `frames`, to process before the rest. */
  first?: Uint8Array
}

/** A session stream's frames, under the envelope limit `maxBytes` (and the hard limit on a length prefix it implies). */
export function framesOf (stream: Stream, maxBytes: number = DEFAULT_MAX_BYTES): AsyncIterator<Frame> {
  return readFrames(stream, maxBytes, maxBytes * HARD_FRAME_FACTOR)
}

/**
 * A session with one peer (see the module documentation). Sessions come from
 * {@link Agent.connect} (outbound) and the agent's `session` event (inbound).
 */
export class Session extends TypedEventEmitter<SessionEvents> {
  /** The peer id of the other end (authenticated by the connection). */
  readonly remotePeer: string
  /** `outbound` for a session this node opened, `inbound` for one a peer opened to it. */
  readonly direction: 'inbound' | 'outbound'
  /** Resolves once both hellos are exchanged and the remote side is stamped. */
  readonly ready: Promise<Caller>
  #remote: Caller | undefined
  #stream: Stream
  /** Identifies the session to both sides, so that a new stream can take it over. */
  #id: string | undefined
  readonly #host: SessionHost
  readonly #guard = new ReplayGuard({ capacity: 10_000 })
  readonly #pending = new Map<JsonRpcId, Pending>()
  #nextId = 1
  #closed = false
  #lastActivity = Date.now()
  #keepAlive: ReturnType<typeof setInterval> | undefined
  #markReady!: (caller: Caller) => void
  #failReady!: (err: Error) => void

  /** @internal Built by the agent node: get sessions from {@link Agent.connect} and the `session` event. */
  constructor (host: SessionHost, stream: Stream, remotePeer: string, direction: 'inbound' | 'outbound', start: SessionStart = {}) {
    super()
    this.#host = host
    this.#stream = stream
    this.remotePeer = remotePeer
    this.direction = direction
    if (direction === 'outbound') this.#id = randomToken()
    this.ready = new Promise<Caller>((resolve, reject) => { this.#markReady = resolve; this.#failReady = reject })
    this.ready.catch(() => {}) // observed by whoever awaits it; avoid unhandled rejections otherwise
    // nothing a peer sends may reject these unobserved (an unhandled rejection ends the process)
    this.#readLoop(stream, start.frames ?? framesOf(stream, this.#maxBytes), start.first).catch(err => { log.error('session read loop with %s failed: %e', remotePeer, err) })
    if (direction === 'outbound') this.#sendHello().catch(err => { log.error('session hello to %s failed: %e', remotePeer, err) })
    const keepAliveMs = host.keepAliveMs ?? DEFAULT_KEEPALIVE_MS
    if (keepAliveMs > 0) {
      this.#keepAlive = setInterval(() => { this.#ping(keepAliveMs) }, Math.max(10, Math.floor(keepAliveMs / 3)))
      this.#keepAlive.unref?.()
    }
  }

  /** After `keepAliveMs` of silence, a ping; no answer in time means the peer is gone. */
  #ping (keepAliveMs: number): void {
    if (this.#remote === undefined || Date.now() - this.#lastActivity < keepAliveMs) return
    this.#lastActivity = Date.now()
    this.request(PING, undefined, { timeoutMs: Math.max(keepAliveMs, 5000) }).catch((err: Error) => {
      if (err instanceof RequestTimeoutError) this.#abort(new Error('peer stopped answering keep-alive pings'))
    })
  }

  /** The session id both sides agreed in the hello (the caller chooses it). */
  get id (): string | undefined { return this.#id }

  /** The stream carrying the session now (it changes on upgrade). */
  get stream (): Stream { return this.#stream }

  get #maxBytes (): number { return this.#host.maxBytes ?? DEFAULT_MAX_BYTES }

  /**
   * Moves the session to `stream` (a new stream to the same peer, typically on
   * a direct WebRTC connection replacing a relayed one): sends a signed
   * `session/resume` on it, sends everything after on it, keeps reading the
   * old stream until the far side closes it, then closes it. Requests in
   * flight are answered on whichever stream the answer arrives.
   */
  async upgrade (stream: Stream): Promise<void> {
    await this.ready
    if (this.#closed) throw new SessionClosedError('session is closed')
    const { bytes } = await signEnvelope(this.#host.signer, {
      ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }),
      to: this.#to(),
      body: { jsonrpc: '2.0', method: RESUME, params: { session: this.#id ?? '' } }
    })
    await writeFrame(stream, bytes)
    // the far side closes the old stream once it has adopted the new one: closing it from
    // here could reach it first (another connection, no ordering) and end the session there
    this.adopt(stream, framesOf(stream, this.#maxBytes), false)
  }

  /**
   * True when `bytes` is a signed `session/resume` for this session from its
   * peer, addressed to us: the first frame of a stream taking it over.
   *
   * @internal
   */
  async acceptsResume (bytes: Uint8Array): Promise<boolean> {
    if (this.#closed || this.#id === undefined) return false
    try {
      const { envelope } = await verifyEnvelope(bytes, {
        expectedSigner: this.remotePeer,
        self: { peer: this.#host.signer.peerIdString, handles: this.#host.handle === undefined ? [] : [this.#host.handle] },
        replayGuard: this.#guard,
        maxBytes: this.#maxBytes
      })
      const body = envelope.body
      return body !== undefined && 'method' in body && body.method === RESUME && !isRequest(body) &&
        (body.params as { session?: unknown } | undefined)?.session === this.#id
    } catch {
      return false
    }
  }

  /**
   * Takes over `stream` for this session (the far side sent `session/resume`
   * on it, or we did): later frames go out on it, its frames are read, and
   * (on the side that received the resume) the old stream is closed.
   *
   * @internal
   */
  adopt (stream: Stream, frames: AsyncIterator<Frame>, closeOld = true): void {
    const old = this.#stream
    this.#stream = stream
    this.#readLoop(stream, frames).catch(err => { log.error('session read loop with %s failed: %e', this.remotePeer, err) })
    if (closeOld) void old.close().catch(() => { old.abort(new Error('replaced')) })
    this.safeDispatchEvent('upgrade', { detail: stream })
  }

  /** The verified remote side (after {@link ready}). */
  get remote (): Caller {
    if (this.#remote === undefined) throw new Error('session not ready')
    return this.#remote
  }

  /** True once the session has ended, closed by either side or by a failure. */
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
    const stream = this.#stream
    this.#finish(undefined)
    await stream.close().catch(() => { stream.abort(new Error('close failed')) })
  }

  /** Sends raw frame bytes, bypassing signing (tests use it to inject hostile frames). */
  async sendRaw (bytes: Uint8Array): Promise<void> {
    await writeFrame(this.#stream, bytes)
  }

  async #send (body: JsonRpcMessage): Promise<void> {
    if (this.#closed) throw new SessionClosedError('session is closed')
    const { envelope, bytes } = await signEnvelope(this.#host.signer, { ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }), to: this.#to(), body })
    this.#lastActivity = Date.now()
    await writeFrame(this.#stream, bytes)
    if (this.listenerCount('envelope') > 0) this.safeDispatchEvent('envelope', { detail: { dir: 'out', at: this.#lastActivity, envelope, body, verified: true, bytes } })
  }

  #to (): { peer: string, handle?: string } {
    return this.#remote?.handle === undefined ? { peer: this.remotePeer } : { peer: this.remotePeer, handle: this.#remote.handle }
  }

  async #sendHello (): Promise<void> {
    const record = this.#host.record()
    try {
      const to = { peer: this.remotePeer }
      const params = { session: this.#id ?? '', ...(record === undefined ? {} : { record }) }
      const body: JsonRpcMessage = { jsonrpc: '2.0', method: HELLO, params }
      const { bytes } = await signEnvelope(this.#host.signer, { ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }), to, body })
      await writeFrame(this.#stream, bytes)
    } catch (err) {
      this.#failReady(err as Error)
      this.#stream.abort(err as Error)
    }
  }

  async #readLoop (stream: Stream, frames: AsyncIterator<Frame>, first?: Uint8Array): Promise<void> {
    let error: Error | undefined
    try {
      if (first !== undefined) await this.#receive(first)
      while (true) {
        const next = await frames.next()
        if (next.done === true) break
        const frame = next.value
        if ('oversize' in frame) {
          if (this.listenerCount('envelope') > 0) this.safeDispatchEvent('envelope', { detail: { dir: 'in', at: Date.now(), verified: EnvelopeErrorCode.OVERSIZE, bytes: new Uint8Array(0), size: frame.oversize } })
          this.#reject(EnvelopeErrorCode.OVERSIZE, undefined, `frame of ${frame.oversize} bytes`)
          continue
        }
        await this.#receive(frame.bytes)
      }
    } catch (err) {
      error = err as Error
      log('session stream with %s ended: %e', this.remotePeer, err)
    }
    // a stream that was replaced by an upgrade ends quietly; the session goes on
    if (stream === this.#stream) this.#finish(error)
  }

  async #receive (bytes: Uint8Array): Promise<void> {
    this.#lastActivity = Date.now()
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
      if (this.listenerCount('envelope') > 0) this.safeDispatchEvent('envelope', { detail: { dir: 'in', at: Date.now(), verified: err.code, bytes } })
      this.#reject(err.code, requestIdOf(bytes), err.message)
      if (this.#remote === undefined) this.#abort(err)
      return
    }
    let body: JsonRpcMessage
    try {
      body = envelope.body ?? openSealed(envelope, this.#host.signer)
    } catch (err) {
      const code = (err as EnvelopeError).code ?? 'ERR_UNSEALABLE'
      if (this.listenerCount('envelope') > 0) this.safeDispatchEvent('envelope', { detail: { dir: 'in', at: this.#lastActivity, envelope, verified: code, bytes } })
      this.#reject(code, undefined, (err as Error).message)
      return
    }
    if (this.listenerCount('envelope') > 0) this.safeDispatchEvent('envelope', { detail: { dir: 'in', at: this.#lastActivity, envelope, body, verified: true, bytes } })
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
    this.#dispatch(envelope, body as JsonRpcRequest | JsonRpcNotification).catch(err => { log.error('dispatching a frame from %s failed: %e', this.remotePeer, err) })
  }

  async #receiveHello (envelope: Envelope, body: JsonRpcMessage): Promise<void> {
    if (!('method' in body) || body.method !== HELLO || isRequest(body)) {
      this.#abort(new Error('the first frame of a session must be a session/hello notification'))
      return
    }
    const params = (body.params ?? {}) as Record<string, unknown>
    if (this.direction === 'inbound') {
      this.#id = helloSessionId(body)
      if (this.#id === undefined) {
        this.#abort(new Error('the hello names no session id (8-64 characters of [A-Za-z0-9_-])'))
        return
      }
    }
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
        await handler?.(handlerParams(body.params), { caller, session: this, envelope })
      } catch (err) {
        log('notification handler %s failed: %e', body.method, err)
      }
      this.safeDispatchEvent('notification', { detail: { method: body.method, params: body.params, caller } })
      return
    }
    if (this.listenerCount('request') > 0) this.safeDispatchEvent('request', { detail: { id: request.id, method: request.method, params: request.params, caller } })
    let response: JsonRpcMessage
    if (request.method === PING) {
      response = { jsonrpc: '2.0', id: request.id, result: 'pong' }
    } else if (handler === undefined) {
      response = errorResponse(request, METHOD_NOT_FOUND, `method not found: ${request.method}`)
    } else {
      try {
        const result = await handler(handlerParams(request.params), { caller, session: this, envelope })
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
    void this.#send({ jsonrpc: '2.0', id, error: { code: ENVELOPE_REJECTED, message: `envelope rejected: ${message}`, data: { code } } }).catch(() => {})
  }

  #abort (err: Error): void {
    this.#stream.abort(err)
    this.#finish(err)
  }

  #finish (err: Error | undefined): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#keepAlive)
    const closed = new SessionClosedError(err === undefined ? 'session closed' : `session closed: ${err.message}`)
    this.#failReady(closed)
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(closed) }
    this.#pending.clear()
    this.safeDispatchEvent('close', { detail: err })
  }
}

/**
 * The session id a `session/hello` names (protocols/session §2), or undefined
 * when it names none fit to be one: 8-64 characters of base64url, the shape
 * of an envelope id. A callee closes a session whose hello names none.
 */
export function helloSessionId (body: JsonRpcMessage): string | undefined {
  const session = 'method' in body ? (body.params as { session?: unknown } | undefined)?.session : undefined
  return typeof session === 'string' && ID_PATTERN.test(session) ? session : undefined
}

function errorResponse (request: JsonRpcRequest, code: number, message: string, data?: JsonValue): JsonRpcMessage {
  return { jsonrpc: '2.0', id: request.id, error: data === undefined ? { code, message } : { code, message, data } }
}

/**
 * The JSON-RPC body of a frame, read without any check (to answer a refused
 * request, or route a resume to its session); undefined if unreadable.
 */
export function peekBody (bytes: Uint8Array): { id?: unknown, method?: unknown, params?: { session?: unknown } } | undefined {
  try {
    return (JSON.parse(fromUtf8(bytes)) as { body?: { id?: unknown, method?: unknown, params?: { session?: unknown } } }).body
  } catch {
    return undefined
  }
}

/** The id of a refused frame's request, if it can be read at all (to answer it). */
function requestIdOf (bytes: Uint8Array): JsonRpcId | undefined {
  const body = peekBody(bytes)
  const id = body?.id
  if (typeof body?.method === 'string' && (typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)))) return id
  return undefined
}
