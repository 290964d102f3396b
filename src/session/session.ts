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
import { BlobError, BlobErrorCode } from './blob.js'
import type { BlobRef, Blobs } from './blob.js'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { EnvelopeError, EnvelopeErrorCode } from '../errors.js'
import { signEnvelope, verifyEnvelope } from '../envelope/envelope.js'
import { openSealed } from '../envelope/sealed.js'
import type { Envelope, EnvelopeSigner, SealRecipient } from '../envelope/index.js'
import type { ReplayCheck } from '../envelope/replay-guard.js'
import { isRequest, isResponse } from '../envelope/jsonrpc.js'
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcParams, JsonRpcRequest } from '../envelope/jsonrpc.js'
import { DEFAULT_MAX_BYTES, ID_PATTERN } from '../envelope/constants.js'
import { RpcError } from '../envelope/rpc-error.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { fromUtf8 } from '../crypto/bytes.js'
import { boundedChunks, drained, encodeFrame, readFrames, SessionLimitError, writeFrame } from './frames.js'
import type { Frame } from './frames.js'
import { randomToken } from '../envelope/envelope.js'
import {
  DEFAULT_FRAME_TIMEOUT_MS, DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_WRITE_BUFFER_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_WRITE_TIMEOUT_MS, ENVELOPE_REJECTED, ERR_TOO_MANY_REQUESTS, HARD_FRAME_FACTOR,
  INTERNAL_ERROR, MAX_ECHOED_CHARS, METHOD_NOT_FOUND, TOO_MANY_REQUESTS,
  READ_AHEAD_BYTES, WRITE_AHEAD_BYTES, DEFAULT_RESUME_WINDOW_MS, RESUME_BACKOFF_MS,
  ANSWER_CACHE_ENTRIES, ANSWER_CACHE_BYTES, INVALID_REQUEST
} from './constants.js'

export { SessionLimitError } from './frames.js'
export type { SessionLimitCode } from './frames.js'

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
  /** The method called (what a namespace handler, `mcp/*`, serves). */
  method: string
}

/**
 * The handler for `method` in `handlers`: its own, else its namespace's
 * (`mcp/*` serves `mcp/tools/call`), else none.
 */
export function handlerFor<H> (handlers: ReadonlyMap<string, H>, method: string): H | undefined {
  const own = handlers.get(method)
  if (own !== undefined) return own
  const slash = method.indexOf('/')
  return slash > 0 ? handlers.get(`${method.slice(0, slash)}/*`) : undefined
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

export { RpcError } from '../envelope/rpc-error.js'

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
  /**
   * The node's replay guard, shared by all its sessions (protocols/session §3):
   * an envelope accepted on one session is `ERR_REPLAYED` on every other. An
   * agent with a data dir keeps it in a journal there, so it also holds
   * across restarts. A frame is acted on only once its check resolved
   * `fresh`; the check is told whether the key must be durable first: not
   * for a frame whose effect stays within this session (the hello, a
   * response, `session/ping`, `session/resume`; protocols/envelope §6.1). A
   * check that rejects (the guard could not record the key) ends the
   * session with that error, the frame not acted on.
   */
  readonly replayGuard: ReplayCheck
  /** Verifies a hello's record for `remotePeer`; returns the stamped caller. */
  verifyHello: (remotePeer: string, claimedHandle: string | undefined, record: unknown) => Promise<Caller>
  /** Payloads larger than a frame (protocols/blob): {@link Session.offerBlob}, {@link Session.fetchBlob}. */
  readonly blobs?: Blobs
  readonly maxBytes?: number
  readonly requestTimeoutMs?: number
  /** Silence after which a `session/ping` is sent (default 30 s; 0 disables). */
  readonly keepAliveMs?: number
  /** Time a new session stream's first frame (the peer's hello) has to arrive whole (default 10 s; 0 disables). */
  readonly helloTimeoutMs?: number
  /** Time a frame has to arrive whole once its first byte is awaited (default 10 s; 0 disables); idle time between frames is not limited. */
  readonly frameTimeoutMs?: number
  /** Incoming requests handled at once per session (default 64); more are answered `ERR_TOO_MANY_REQUESTS`. `session/ping` is not counted. */
  readonly maxInFlight?: number
  /** Time our outgoing side may stay blocked by a peer that does not read before the session is closed (default 10 s; 0 disables). */
  readonly writeTimeoutMs?: number
  /** Bytes queued for a peer that does not read (beyond one frame) before the session is closed (default 1 MiB). */
  readonly maxWriteBufferBytes?: number
  /**
   * Called before each frame of `peer` after the hello is verified: how many
   * ms to wait first (0: go ahead). The agent shares one rate among all of a
   * peer's sessions (protocols/session §6.1, `maxFramesPerSecond`).
   */
  readonly admit?: (peer: string) => number
  /**
   * True when the connection that carried `stream` is gone (a relay crashed,
   * a NAT binding expired), as opposed to the peer resetting the stream on a
   * connection still open. Only then does a session wait to be resumed on a
   * new stream (protocols/session §5.1); without this hook it ends at once.
   */
  readonly lost?: (stream: Stream) => boolean
  /**
   * Opens a new session stream to the session's peer (dialling it again, as
   * it was reached first): the side that opened a session calls this to
   * resume it after its connection was lost.
   */
  readonly reconnect?: (session: Session, signal: AbortSignal) => Promise<Stream>
  /** How long a session whose connection was lost waits to be resumed before it ends (default 30 s; 0: it ends at once). */
  readonly resumeWindowMs?: number
}

/** The deadlines a session stream is read under (see {@link SessionHost}). */
export type FrameLimits = Pick<SessionHost, 'helloTimeoutMs' | 'frameTimeoutMs'>

/** The events a {@link Session} emits; each `detail` is the payload given. */
export interface SessionEvents {
  /** A frame was refused; `detail` is the envelope error code, or `ERR_TOO_MANY_REQUESTS` for a request or notification over the in-flight limit. */
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
   * The connection under the session was lost (`detail`: why): it waits to be
   * resumed on a new stream (the side that opened it redials), holding its
   * pending requests and what it has to send, or ends after `resumeWindowMs`.
   */
  detached: CustomEvent<Error>
  /** A session that was `detached` runs again on a new stream (`detail`); its unanswered requests were sent again under their envelope ids. */
  resumed: CustomEvent<Stream>
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
  /** What to send again, under the same envelope id, after the session is resumed. */
  body: JsonRpcRequest
  envelopeId: string
}

/** A request's answer kept for a retry of its envelope (protocols/session §5.2). */
interface Answer {
  method: string
  /** The response body (its `id` is the request's, the same in a retry). */
  response: Promise<JsonRpcMessage>
  /** Signed size once sent, counted against {@link ANSWER_CACHE_BYTES}. */
  bytes: number
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

/**
 * A session stream's frames, under the envelope limit `maxBytes` (and the
 * hard limit on a length prefix it implies) and the deadlines in `limits`
 * (protocols/session §6.1): the first frame within `helloTimeoutMs` (pass 0 for
 * a stream whose first frame may come late, like one we resumed a session
 * on), each frame whole within `frameTimeoutMs`. Missing limits take their
 * defaults (10 s each). A deadline passing throws {@link SessionLimitError}.
 */
export function framesOf (stream: Stream, maxBytes: number = DEFAULT_MAX_BYTES, limits: FrameLimits = {}): AsyncIterator<Frame> {
  return readFrames(boundedChunks(stream, READ_AHEAD_BYTES), maxBytes, maxBytes * HARD_FRAME_FACTOR, {
    firstFrameTimeoutMs: limits.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
    frameTimeoutMs: limits.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS
  })
}

interface Outgoing {
  frame: ReturnType<typeof encodeFrame>
  sent: () => void
  failed: (err: Error) => void
  /** The JSON-RPC id of the request this frame carries, if it is one. */
  request?: JsonRpcId
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
  readonly #pending = new Map<JsonRpcId, Pending>()
  #nextId = 1
  #closed = false
  #lastActivity = Date.now()
  #keepAlive: ReturnType<typeof setInterval> | undefined
  /** Incoming requests whose handlers are running. */
  #inFlight = 0
  /** Frames waiting to be handed to the stream (one writer; the stream is never given more while it asks us to wait). */
  readonly #outgoing: Outgoing[] = []
  #outgoingBytes = 0
  #writing = false
  /** Set while the connection is lost and the session waits to be resumed. */
  #detached: { error: Error, timer: ReturnType<typeof setTimeout> } | undefined
  /** Why the session last lost its connection: what it ends with if a resume is refused. */
  #detachedError: Error | undefined
  /** A stream we resumed the session on, until the far side sends on it (a refusal resets it unanswered). */
  #unconfirmed: Stream | undefined
  /** Answers by request envelope id, oldest first (protocols/session §5.2). */
  readonly #answers = new Map<string, Answer>()
  #answerBytes = 0
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
    this.#readLoop(stream, start.frames ?? framesOf(stream, this.#maxBytes, { helloTimeoutMs: host.helloTimeoutMs, frameTimeoutMs: host.frameTimeoutMs }), start.first).catch(err => { log.error('session read loop with %s failed: %e', remotePeer, err) })
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
    await this.#takeOver(stream)
  }

  /**
   * Sends a signed `session/resume` as `stream`'s first frame and adopts the
   * stream. The far side closes the old stream once it has adopted the new
   * one: closing it from here could reach it first (another connection, no
   * ordering) and end the session there.
   */
  async #takeOver (stream: Stream): Promise<void> {
    const { bytes } = await signEnvelope(this.#host.signer, {
      ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }),
      to: this.#to(),
      body: { jsonrpc: '2.0', method: RESUME, params: { session: this.#id ?? '' } }
    })
    await writeFrame(stream, bytes)
    this.adopt(stream, framesOf(stream, this.#maxBytes, { helloTimeoutMs: 0, frameTimeoutMs: this.#host.frameTimeoutMs }), false)
  }

  /**
   * True when `bytes` is a signed `session/resume` for this session from its
   * peer, addressed to us: the first frame of a stream taking it over.
   *
   * @internal
   */
  async acceptsResume (bytes: Uint8Array): Promise<boolean> {
    if (this.#closed || this.#id === undefined || this.#remote === undefined) return false
    try {
      const { envelope } = await verifyEnvelope(bytes, {
        expectedSigner: this.remotePeer,
        self: { peer: this.#host.signer.peerIdString, handles: this.#host.handle === undefined ? [] : [this.#host.handle] },
        replayGuard: this.#host.replayGuard,
        // a resume moves this session to another stream, nothing beyond it (and is not acted on unless it is one)
        replayDurable: () => false,
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
    if (closeOld) void this.#closeStream(old)
    const detached = this.#detached
    if (detached !== undefined) {
      clearTimeout(detached.timer)
      this.#detached = undefined
      log('session %s with %s resumed', this.#id, this.remotePeer)
      this.safeDispatchEvent('resumed', { detail: stream })
      void this.#flush()
    }
    this.safeDispatchEvent('upgrade', { detail: stream })
  }

  /** The verified remote side (after {@link ready}). */
  get remote (): Caller {
    if (this.#remote === undefined) throw new Error('session not ready')
    return this.#remote
  }

  /**
   * Bytes waiting to be sent to the peer: queued by the session and held in
   * the stream's buffer. Bounded by `maxWriteBufferBytes` plus about two frames
   * (protocols/session §6.1): beyond that the session closes.
   */
  get bufferedBytes (): number { return this.#outgoingBytes + this.#stream.writeBufferLength }

  /** True once the session has ended, closed by either side or by a failure. */
  get closed (): boolean { return this.#closed }

  /** Sends a request and resolves with its result; rejects with {@link RpcError}, {@link RequestTimeoutError} or {@link SessionClosedError}. */
  async request (method: string, params?: JsonRpcParams, options: { timeoutMs?: number } = {}): Promise<JsonValue> {
    await this.ready
    const id = this.#nextId++
    const timeoutMs = options.timeoutMs ?? this.#host.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const body: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }
    const envelopeId = randomToken()
    const result = new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new RequestTimeoutError(`${method} got no response within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer, body, envelopeId })
    })
    try {
      await this.#send(body, envelopeId)
    } catch (err) {
      const p = this.#pending.get(id)
      if (p !== undefined) { clearTimeout(p.timer); this.#pending.delete(id) }
      throw err
    }
    return result
  }

  /**
   * Offers `bytes` to this session's peer (protocols/blob): put the returned
   * reference in a message; the peer pulls the bytes if it wants them.
   */
  offerBlob (bytes: Uint8Array): BlobRef {
    return this.#blobs().offer(this.remotePeer, bytes)
  }

  /**
   * Pulls a payload the peer offered (its reference came in a message of this
   * session, so the peer signed it): refused unpulled over `maxBytes`
   * (default 64 MiB), checked against the reference's length and SHA-256.
   */
  async fetchBlob (ref: BlobRef, options: { maxBytes?: number, signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.#blobs().fetch(this.remotePeer, ref, options)
  }

  #blobs (): Blobs {
    if (this.#host.blobs === undefined) throw new BlobError(BlobErrorCode.UNAVAILABLE, 'this node does not carry payloads beyond a frame')
    return this.#host.blobs
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
    await this.#closeStream(stream)
  }

  /** Ends the session at once: its stream is reset (the far side sees a reset, not a close), its pending requests fail. */
  abort (reason: Error = new SessionClosedError('session aborted')): void {
    if (this.#closed) return
    this.#abort(reason)
  }

  /** Closes `stream` gracefully, or resets it when that fails or takes longer than the write deadline (a peer that reads nothing). */
  async #closeStream (stream: Stream): Promise<void> {
    const writeTimeoutMs = this.#host.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS
    await stream.close(writeTimeoutMs > 0 ? { signal: AbortSignal.timeout(writeTimeoutMs) } : {}).catch(() => { stream.abort(new Error('close failed')) })
  }

  /** Sends raw frame bytes, bypassing signing (tests use it to inject hostile frames). */
  async sendRaw (bytes: Uint8Array): Promise<void> {
    await writeFrame(this.#stream, bytes)
  }

  /** Signs `body` (a request under `envelopeId`, the same when it is sent again) and sends it; resolves with the signed size once the stream took it. */
  async #send (body: JsonRpcMessage, envelopeId?: string): Promise<number> {
    if (this.#closed) throw new SessionClosedError('session is closed')
    const { envelope, bytes } = await signEnvelope(this.#host.signer, {
      ...(this.#host.handle === undefined ? {} : { handle: this.#host.handle }),
      ...(envelopeId === undefined ? {} : { id: envelopeId }),
      to: this.#to(),
      body
    })
    this.#lastActivity = Date.now()
    await this.#write(bytes, isRequest(body) ? body.id : undefined)
    if (this.listenerCount('envelope') > 0) this.safeDispatchEvent('envelope', { detail: { dir: 'out', at: this.#lastActivity, envelope, body, verified: true, bytes } })
    return bytes.byteLength
  }

  /**
   * Queues one frame for the stream and resolves once the stream has taken it.
   * One writer hands frames over in order; when the stream says its buffer is
   * full it waits for `drain`, at most `writeTimeoutMs`, and more than
   * `maxWriteBufferBytes` waiting (beyond one frame) closes the session: a peer
   * that does not read its responses costs us a bounded buffer, not memory
   * without end.
   */
  async #write (bytes: Uint8Array, request?: JsonRpcId): Promise<void> {
    if (this.#closed) throw new SessionClosedError('session is closed')
    const frame = encodeFrame(bytes)
    const max = this.#host.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER_BYTES
    if (this.#outgoing.length > 0 && this.#outgoingBytes + frame.byteLength > max) {
      const err = new SessionLimitError('ERR_WRITE_BUFFER_FULL', `more than ${max} bytes waiting to be sent: the peer is not reading`)
      this.#abort(err)
      throw new SessionClosedError(`session closed: ${err.message}`, { cause: err })
    }
    const sent = new Promise<void>((resolve, reject) => { this.#outgoing.push({ frame, sent: resolve, failed: reject, ...(request === undefined ? {} : { request }) }) })
    this.#outgoingBytes += frame.byteLength
    void this.#flush()
    return sent
  }

  async #flush (): Promise<void> {
    if (this.#writing) return
    this.#writing = true
    try {
      // while detached, frames wait for the stream that resumes the session
      while (this.#outgoing.length > 0 && !this.#closed && this.#detached === undefined) {
        const next = this.#outgoing.shift() as Outgoing
        this.#outgoingBytes -= next.frame.byteLength
        const stream = this.#stream
        let more: boolean
        try {
          more = stream.send(next.frame)
        } catch (err) {
          if (stream !== this.#stream) { this.#outgoing.unshift(next); this.#outgoingBytes += next.frame.byteLength; continue }
          if (this.#host.lost?.(stream) === true) {
            // the connection is gone: the frame waits for a resumed stream; the read loop, ended
            // by the same failure, detaches the session (or ends it)
            this.#outgoing.unshift(next)
            this.#outgoingBytes += next.frame.byteLength
            stream.abort(err as Error)
            break
          }
          next.failed(err as Error)
          this.#abort(err as Error)
          continue
        }
        next.sent()
        // a transport that asks for a drain after each message (a WebRTC data channel above its
        // low-water mark) may hold a little more first: waiting for every drain costs a round
        // trip of events per message; past WRITE_AHEAD_BYTES we wait
        if (more || stream.writeBufferLength <= WRITE_AHEAD_BYTES) continue
        const writeTimeoutMs = this.#host.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS
        const signal = writeTimeoutMs > 0 ? AbortSignal.timeout(writeTimeoutMs) : undefined
        try {
          await drained(stream, signal)
        } catch (err) {
          if (stream !== this.#stream || this.#closed) continue // replaced by an upgrade, or ended anyway
          this.#abort(signal?.aborted === true
            ? new SessionLimitError('ERR_WRITE_TIMEOUT', `the peer read nothing we sent for ${writeTimeoutMs} ms`)
            : err as Error)
        }
      }
    } finally {
      this.#writing = false
    }
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
      await this.#write(bytes)
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
        // each peer's frames are verified at its fair rate: one that pipelines faster waits
        // (and is not read meanwhile: backpressure), so it cannot starve other peers
        const wait = this.#host.admit?.(this.remotePeer) ?? 0
        if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
        if (this.#closed) break
        // the far side speaks on a stream we resumed on only once it took the session over
        if (this.#unconfirmed === stream) this.#unconfirmed = undefined
        await this.#receive(frame.bytes)
      }
    } catch (err) {
      error = err as Error
      log('session stream with %s ended: %e', this.remotePeer, err)
    }
    // a stream that ended in error (a broken prefix, a deadline) is reset; one the far side
    // closed is closed on our side too (a half-closed stream would otherwise stay held)
    if (error !== undefined) stream.abort(error)
    else if (stream.status === 'open') void this.#closeStream(stream)
    // a stream that was replaced by an upgrade ends quietly; the session goes on
    if (stream !== this.#stream) return
    if (this.#unconfirmed === stream) {
      // the far side reset the stream we resumed on without a word: it no longer has the session
      this.#finish(this.#detachedError ?? error)
    } else if (this.#resumable(stream, error)) {
      this.#detach(error ?? new Error('the connection under the session closed'))
    } else {
      this.#finish(error)
    }
  }

  /** Whether a session whose stream failed with `error` may wait to be resumed (protocols/session §5.1). */
  #resumable (stream: Stream, error: Error | undefined): boolean {
    if (this.#closed || this.#id === undefined || this.#remote === undefined) return false
    if (error instanceof SessionLimitError) return false // our own limit, not the network
    if ((this.#host.resumeWindowMs ?? DEFAULT_RESUME_WINDOW_MS) <= 0) return false
    return this.#host.lost?.(stream) === true
  }

  /** Holds the session for `resumeWindowMs` after its connection was lost; the side that opened it redials. */
  #detach (error: Error): void {
    const windowMs = this.#host.resumeWindowMs ?? DEFAULT_RESUME_WINDOW_MS
    log('session %s with %s lost its connection (%s): waiting up to %d ms to resume it', this.#id, this.remotePeer, error.message, windowMs)
    const timer = setTimeout(() => { this.#finish(error) }, windowMs)
    this.#detached = { error, timer }
    this.#detachedError = error
    this.safeDispatchEvent('detached', { detail: error })
    if (this.direction === 'outbound' && this.#host.reconnect !== undefined) {
      this.#redial(this.#host.reconnect, Date.now() + windowMs).catch(err => { log.error('resuming session %s failed: %e', this.#id, err) })
    }
  }

  /** Dials the peer again with backoff until the session runs on a new stream, or its window ends. */
  async #redial (reconnect: NonNullable<SessionHost['reconnect']>, deadline: number): Promise<void> {
    let wait = RESUME_BACKOFF_MS[0]
    while (this.#detached !== undefined && !this.#closed) {
      const left = deadline - Date.now()
      if (left <= 0) return
      try {
        const stream = await reconnect(this, AbortSignal.timeout(left))
        if (this.#closed || this.#detached === undefined) { stream.abort(new Error('session no longer waiting')); return }
        await this.#resumeOn(stream)
        return
      } catch (err) {
        log('redialling %s for session %s: %e', this.remotePeer, this.#id, err)
      }
      await new Promise(resolve => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - Date.now()))))
      wait = Math.min(wait * 2, RESUME_BACKOFF_MS[1])
    }
  }

  /**
   * Resumes a detached session on `stream`: a signed `session/resume` first,
   * then what waited to be sent, then every unanswered request again under
   * its envelope id (the far side answers one it already handled with its
   * first response), and a `session/ping` so that a refusal shows at once.
   */
  async #resumeOn (stream: Stream): Promise<void> {
    this.#unconfirmed = stream
    await this.#takeOver(stream)
    const queued = new Set(this.#outgoing.map(o => o.request))
    for (const p of this.#pending.values()) {
      if (queued.has(p.body.id) || p.body.method === PING) continue
      this.#send(p.body, p.envelopeId).catch(err => { log('could not send %s again: %e', clip(p.body.method), err) })
    }
    this.request(PING, undefined, { timeoutMs: Math.max(this.#host.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 5000) }).catch(() => {})
  }

  async #receive (bytes: Uint8Array): Promise<void> {
    this.#lastActivity = Date.now()
    let envelope: Envelope
    try {
      const decoded = await verifyEnvelope(bytes, {
        expectedSigner: this.remotePeer,
        self: { peer: this.#host.signer.peerIdString, handles: this.#host.handle === undefined ? [] : [this.#host.handle] },
        replayGuard: this.#host.replayGuard,
        replayDurable: this.#remote === undefined ? () => false : actsBeyondSession,
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

  get #maxInFlight (): number { return this.#host.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT }

  async #dispatch (envelope: Envelope, body: JsonRpcRequest | JsonRpcNotification): Promise<void> {
    const caller = this.remote
    const handler = handlerFor(this.#host.handlers, body.method)
    const request = isRequest(body) ? body : undefined
    if (request === undefined) {
      if (handler !== undefined) {
        // notification handlers share the in-flight budget; one over it is dropped (it cannot be answered)
        if (this.#inFlight >= this.#maxInFlight) {
          log('dropped a %s notification from %s: %d handlers already running', clip(body.method), this.remotePeer, this.#inFlight)
          this.safeDispatchEvent('rejected', { detail: ERR_TOO_MANY_REQUESTS })
          return
        }
        this.#inFlight++
        try {
          await handler(handlerParams(body.params), { caller, session: this, envelope, method: body.method })
        } catch (err) {
          log('notification handler %s failed: %e', clip(body.method), err)
        } finally {
          this.#inFlight--
        }
      }
      this.safeDispatchEvent('notification', { detail: { method: body.method, params: body.params, caller } })
      return
    }
    let response: JsonRpcMessage
    if (request.method === PING) {
      // answered by the session itself at once: not counted, so keep-alive works under load
      if (this.listenerCount('request') > 0) this.safeDispatchEvent('request', { detail: { id: request.id, method: request.method, params: request.params, caller } })
      response = { jsonrpc: '2.0', id: request.id, result: 'pong' }
    } else if (handler === undefined) {
      if (this.listenerCount('request') > 0) this.safeDispatchEvent('request', { detail: { id: request.id, method: request.method, params: request.params, caller } })
      response = errorResponse(request, METHOD_NOT_FOUND, `method not found: ${clip(request.method)}`)
    } else if (this.#inFlight >= this.#maxInFlight) {
      log('refused a %s request from %s: %d requests already being handled', clip(request.method), this.remotePeer, this.#inFlight)
      this.safeDispatchEvent('rejected', { detail: ERR_TOO_MANY_REQUESTS })
      response = errorResponse(request, TOO_MANY_REQUESTS, `too many requests: ${this.#maxInFlight} already being handled on this session`, { code: ERR_TOO_MANY_REQUESTS })
    } else {
      const retried = this.#answers.get(envelope.id)
      if (retried !== undefined) {
        // a retry of a request already handled or being handled (same envelope id, fresh nonce):
        // answered with its first response, never run twice (protocols/session §5.2)
        if (retried.method !== request.method) {
          response = errorResponse(request, INVALID_REQUEST, 'envelope id already used for another request', { code: 'ERR_DUPLICATE_ID' })
        } else {
          this.#inFlight++
          try {
            response = { ...(await retried.response), id: request.id } as JsonRpcMessage
          } finally {
            this.#inFlight--
          }
        }
        if (this.#closed) return
        await this.#send(response).catch(err => { log('could not answer %s again: %e', clip(request.method), err) })
        return
      }
      if (this.listenerCount('request') > 0) this.safeDispatchEvent('request', { detail: { id: request.id, method: request.method, params: request.params, caller } })
      this.#inFlight++
      const answer: Answer = { method: request.method, response: this.#run(handler, request, caller, envelope), bytes: 0 }
      this.#answers.set(envelope.id, answer)
      try {
        response = await answer.response
      } finally {
        this.#inFlight--
      }
      if (this.#closed) return
      const size = await this.#send(response).catch((err: Error) => { log('could not answer %s: %e', clip(request.method), err); return 0 })
      answer.bytes = size
      this.#answerBytes += size
      this.#trimAnswers()
      return
    }
    if (this.#closed) return
    await this.#send(response).catch(err => { log('could not answer %s: %e', clip(request.method), err) })
  }

  /** Runs `handler` for `request`: its response, an error response when it throws. */
  async #run (handler: Handler, request: JsonRpcRequest, caller: Caller, envelope: Envelope): Promise<JsonRpcMessage> {
    try {
      const result = await handler(handlerParams(request.params), { caller, session: this, envelope, method: request.method })
      return { jsonrpc: '2.0', id: request.id, result: result ?? null }
    } catch (err) {
      if (!(err instanceof RpcError)) log('handler %s failed: %e', clip(request.method), err)
      return err instanceof RpcError
        ? errorResponse(request, err.code, err.message, err.data)
        : errorResponse(request, INTERNAL_ERROR, 'internal error')
    }
  }

  /** Forgets the oldest answered requests beyond the answer cache's bounds (those still running stay). */
  #trimAnswers (): void {
    for (const [id, answer] of this.#answers) {
      if (this.#answers.size <= ANSWER_CACHE_ENTRIES && this.#answerBytes <= ANSWER_CACHE_BYTES) return
      if (answer.bytes === 0) continue // still running, or its answer was never sent
      this.#answers.delete(id)
      this.#answerBytes -= answer.bytes
    }
  }

  #reject (code: string, id: JsonRpcId | undefined, message: string): void {
    log('refused a frame from %s: %s %s', this.remotePeer, code, message)
    this.safeDispatchEvent('rejected', { detail: code })
    if (id === undefined || this.#remote === undefined) return
    void this.#send({ jsonrpc: '2.0', id, error: { code: ENVELOPE_REJECTED, message: `envelope rejected: ${clip(message)}`, data: { code } } }).catch(() => {})
  }

  #abort (err: Error): void {
    this.#stream.abort(err)
    this.#finish(err)
  }

  #finish (err: Error | undefined): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#keepAlive)
    if (this.#detached !== undefined) clearTimeout(this.#detached.timer)
    this.#detached = undefined
    this.#answers.clear()
    const closed = err === undefined ? new SessionClosedError('session closed') : new SessionClosedError(`session closed: ${err.message}`, { cause: err })
    this.#failReady(closed)
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(closed) }
    this.#pending.clear()
    for (const o of this.#outgoing.splice(0)) o.failed(closed)
    this.#outgoingBytes = 0
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

/** At most {@link MAX_ECHOED_CHARS} characters of `text` (what a peer sent, echoed back or logged). */
function clip (text: string): string {
  if (text.length <= MAX_ECHOED_CHARS) return text
  // never cut a surrogate pair in two
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_ECHOED_CHARS - 1)) ? MAX_ECHOED_CHARS - 1 : MAX_ECHOED_CHARS
  return `${text.slice(0, end)}… (${text.length} characters)`
}

function errorResponse (request: JsonRpcRequest, code: number, message: string, data?: JsonValue): JsonRpcMessage {
  return { jsonrpc: '2.0', id: request.id, error: data === undefined ? { code, message } : { code, message, data } }
}

/**
 * Whether acting on a verified envelope, received after the hello, has an
 * effect beyond its session, so that its replay key must be durable first
 * (protocols/envelope §6.1). No for a response (it resolves a request
 * pending in this session, or nothing: a replayed one finds nothing
 * pending) and for a `session/ping` request (answered by the session
 * itself); yes for every other request and notification (a handler runs, a
 * message is delivered), and for a sealed body, not opened yet.
 */
function actsBeyondSession (envelope: Envelope): boolean {
  const body = envelope.body
  if (body === undefined) return true
  if (!('method' in body)) return false
  return !(body.method === PING && isRequest(body))
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
