/**
 * MCP over a Parley session (protocols/mcp): each MCP request is a signed
 * Parley request in the `mcp/` namespace and its result the signed
 * response; notifications are Parley notifications. The classes here
 * implement the MCP TypeScript SDK's `Transport` structurally (no import of
 * the SDK), so an unmodified SDK `Client` or `Server` connects to them.
 */
import { logger } from '@libp2p/logger'
import { RpcError } from '../session/session.js'
import type { Caller, Handler, HandlerContext, Session } from '../session/session.js'
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { DEFAULT_MAX_RESULT_BYTES, HELD_PROGRESS_INTERVAL_MS, MCP_BLOB_RESULT, MCP_HANDLER, MCP_INLINE_RESULT_BYTES, MCP_REQUEST_TIMEOUT_MS } from './constants.js'
import { fromUtf8, utf8 } from '../crypto/bytes.js'
import { McpBindingError, McpBindingErrorCode } from './errors.js'
import { blobResult, fromParley, toParley } from './mapping.js'
import { heldApproval, outcomeOf } from '../methods/held.js'
import type { OutcomeSource } from '../methods/held.js'
import type { McpMessage, McpRequestId } from './mapping.js'

const log = logger('parley:mcp')

/** The SDK's `AuthInfo`: what a transport may pass as `extra.authInfo`. */
export interface McpAuthInfo {
  /** The credential the request came with. */
  token: string
  /** Who the client is. */
  clientId: string
  /** What it may do. */
  scopes: string[]
  /** When the credential expires, in seconds since the epoch. */
  expiresAt?: number
  /** Anything else the transport knows of the caller. */
  extra?: Record<string, unknown>
}

/** The verified caller as MCP server handlers see it (`extra.authInfo`). */
export interface ParleyAuthInfo extends McpAuthInfo {
  /** The session id: there is no bearer token, the session is the credential. */
  token: string
  /** The caller's peer id, verified by Noise and its signatures. */
  clientId: string
  /** None: what a caller may do is the policy gate's business. */
  scopes: string[]
  /** The verified caller. */
  extra: {
    /** The caller's verified handle, if any. */
    handle?: string
    /** `agent`, `human` or `anon`. */
    kind: Caller['kind']
    /** The Parley envelope id of this request. */
    envelope: string
  }
}

/** What the SDK passes beside a message (`MessageExtraInfo`). */
export interface McpMessageExtra {
  /** The verified caller (server transports only). */
  authInfo?: McpAuthInfo
}

/** The SDK's `TransportSendOptions`, as far as a Parley transport uses them. */
export interface McpSendOptions {
  /** The incoming request this message belongs to (unused: the session keeps order). */
  relatedRequestId?: McpRequestId
}

/**
 * Where transports register so that `mcp/…` requests arriving on a session
 * reach them, and hear the outcomes of held calls: an agent or a `parley()`
 * service.
 */
export interface McpHost extends OutcomeSource {
  /** Registers a handler (the router's, under `mcp/*`). */
  handle: (method: string, handler: Handler) => unknown
}

/** Options of a transport. */
export interface McpTransportOptions {
  /** How often a held call reports progress to the SDK, in ms (default 10 s). */
  heldProgressMs?: number
  /** Largest result pulled when the far side sends one as a blob (default 64 MiB); a larger one is an error, and is not pulled. */
  maxResultBytes?: number
}

/** An MCP answer being waited for by the far side: the Parley handler's promise. */
interface Inbound {
  resolve: (result: JsonValue) => void
  reject: (err: Error) => void
}

/**
 * One end of MCP on one Parley session. Use {@link ParleyClientTransport}
 * or {@link McpRouter.serve}, which make these.
 */
export abstract class ParleyMcpTransport {
  /** The Parley session this transport carries MCP on. */
  readonly session: Session
  /** Set by the SDK: called once when the transport closes (its session closed, or `close()`). */
  onclose?: () => void
  /** Set by the SDK: a problem that does not close the transport. */
  onerror?: (error: Error) => void
  /** Set by the SDK: each MCP message from the far side, with the verified caller on a server. */
  onmessage?: (message: McpMessage, extra?: McpMessageExtra) => void
  readonly #router: McpRouter
  readonly #inbound = new Map<number, Inbound>()
  #nextInbound = 1
  #closed = false
  readonly #heldProgressMs: number
  readonly #maxResultBytes: number
  readonly #onSessionClose = (): void => { this.#finish() }

  constructor (router: McpRouter, session: Session, options: McpTransportOptions = {}) {
    this.#router = router
    this.#heldProgressMs = options.heldProgressMs ?? HELD_PROGRESS_INTERVAL_MS
    this.#maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES
    this.session = session
    router.attach(session, this)
    session.addEventListener('close', this.#onSessionClose)
  }

  /** The Parley session id. */
  get sessionId (): string | undefined { return this.session.id }

  /** Waits for the session's hellos (the SDK calls it from `connect`). */
  async start (): Promise<void> {
    if (this.session.closed) throw new McpBindingError(McpBindingErrorCode.SESSION_CLOSED, 'the Parley session is closed')
    await this.session.ready
  }

  /** Sends one MCP message: a request or a notification goes out; a response answers the far side's request. */
  async send (message: McpMessage, _options?: McpSendOptions): Promise<void> {
    if (this.#closed) throw new McpBindingError(McpBindingErrorCode.SESSION_CLOSED, 'the MCP transport is closed')
    if ('method' in message) {
      const { method, params } = toParley(message)
      if ('id' in message) void this.#request(message.id, method, params)
      else await this.session.notify(method, params)
      return
    }
    // a response: to one of the far side's requests, by our local id
    const inbound = typeof message.id === 'number' ? this.#inbound.get(message.id) : undefined
    if (inbound === undefined) {
      this.onerror?.(new McpBindingError(McpBindingErrorCode.UNKNOWN_REQUEST, `a response to no request of the far side: ${String(message.id)}`))
      return
    }
    this.#inbound.delete(message.id as number)
    if ('error' in message) {
      inbound.reject(new RpcError(message.error.code, message.error.message, message.error.data as JsonValue | undefined))
      return
    }
    // a result longer than a frame goes as a blob the far side pulls (protocols/mcp §3)
    const json = JSON.stringify(message.result)
    // a UTF-16 unit is at most 3 UTF-8 bytes: only a result that may be over the limit is encoded to measure it
    if (json.length * 3 > MCP_INLINE_RESULT_BYTES) {
      const bytes = utf8(json)
      if (bytes.byteLength > MCP_INLINE_RESULT_BYTES) {
        try {
          inbound.resolve({ [MCP_BLOB_RESULT]: { ...this.session.offerBlob(bytes) } })
        } catch (err) {
          inbound.reject(err as Error)
        }
        return
      }
    }
    inbound.resolve(message.result as JsonValue)
  }

  /** Stops carrying MCP on the session (the session itself stays open); requests of the far side still unanswered fail. */
  async close (): Promise<void> {
    this.#finish()
  }

  /** An `mcp/…` request or notification of the far side on our session (from {@link McpRouter}). */
  async receive (params: JsonRpcParams | undefined, context: HandlerContext, isRequest: boolean): Promise<JsonValue | undefined> {
    const extra = this.extraOf(context)
    if (!isRequest) {
      this.onmessage?.(fromParley(context.method, params), extra)
      return undefined
    }
    const id = this.#nextInbound++
    const answer = new Promise<JsonValue>((resolve, reject) => { this.#inbound.set(id, { resolve, reject }) })
    this.onmessage?.(fromParley(context.method, params, id), extra)
    return answer
  }

  /** What the SDK is given beside each message from the far side. */
  protected extraOf (_context: HandlerContext): McpMessageExtra | undefined {
    return undefined
  }

  async #request (id: McpRequestId, method: string, params: JsonRpcParams | undefined): Promise<void> {
    let result: JsonValue
    try {
      result = await this.session.request(method, params, { timeoutMs: MCP_REQUEST_TIMEOUT_MS })
      const held = heldApproval(result)
      if (held !== undefined) result = await this.#waitForHuman(id, held, params)
      const blob = blobResult(result)
      if (blob !== undefined) result = JSON.parse(fromUtf8(await this.session.fetchBlob(blob, { maxBytes: this.#maxResultBytes }))) as JsonValue
    } catch (err) {
      if (this.#closed) return
      const e = err as Error & { code?: unknown, data?: unknown }
      const code = err instanceof RpcError ? err.code : -32603
      this.onmessage?.({ jsonrpc: '2.0', id, error: { code, message: e.message, ...(err instanceof RpcError && e.data !== undefined ? { data: e.data } : {}) } })
      return
    }
    if (!this.#closed) this.onmessage?.({ jsonrpc: '2.0', id, result: result as Record<string, unknown> })
  }

  /**
   * The far side's policy held our request for its human: wait for the
   * `approval/outcome` (the agent's `outcome` event) and answer with its result. Meanwhile
   * report progress to the SDK every `heldProgressMs`
   * (when the request asked for progress), so a client called with
   * `resetTimeoutOnProgress` stays alive until the human decides.
   */
  async #waitForHuman (id: McpRequestId, approval: string, params: JsonRpcParams | undefined): Promise<JsonValue> {
    const token = progressTokenOf(params)
    const since = Date.now()
    const timer = token === undefined
      ? undefined
      : setInterval(() => {
        const seconds = Math.round((Date.now() - since) / 1000)
        this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: seconds, message: `held for the far side's human (approval ${approval}), ${seconds} s` } })
      }, this.#heldProgressMs)
    const closed = new AbortController()
    const onClose = (): void => { closed.abort(new McpBindingError(McpBindingErrorCode.SESSION_CLOSED, 'the session closed while the call was held')) }
    this.session.addEventListener('close', onClose)
    log('request %s held for approval %s', String(id), approval)
    try {
      return await outcomeOf(this.#router.host, { peer: this.session.remotePeer, approval, signal: closed.signal })
    } finally {
      clearInterval(timer)
      this.session.removeEventListener('close', onClose)
    }
  }

  #finish (): void {
    if (this.#closed) return
    this.#closed = true
    this.session.removeEventListener('close', this.#onSessionClose)
    this.#router.detach(this.session, this)
    for (const inbound of this.#inbound.values()) inbound.reject(new McpBindingError(McpBindingErrorCode.SESSION_CLOSED, 'the MCP transport closed'))
    this.#inbound.clear()
    this.onclose?.()
  }
}

function progressTokenOf (params: JsonRpcParams | undefined): string | number | undefined {
  const token = (params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken
  return typeof token === 'string' || typeof token === 'number' ? token : undefined
}

/**
 * The client end: an SDK `Client` on a Parley session it opened
 * (`agent.connect('@handle')`).
 *
 * @example
 * ```ts
 * import { Client } from '@modelcontextprotocol/sdk/client/index.js'
 * import { ParleyClientTransport } from 'parley-mesh'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent
 *
 * const client = new Client({ name: 'my-host', version: '1.0.0' })
 * await client.connect(new ParleyClientTransport(agent, await agent.connect('@weather')))
 * const { tools } = await client.listTools()
 * ```
 */
export class ParleyClientTransport extends ParleyMcpTransport {
  constructor (host: McpHost, session: Session, options: McpTransportOptions = {}) {
    super(McpRouter.of(host), session, options)
  }
}

/** The server end, made by {@link McpRouter.serve} for each session that opens MCP. */
export class ParleyServerTransport extends ParleyMcpTransport {
  protected override extraOf (context: HandlerContext): McpMessageExtra {
    const { caller } = context
    return {
      authInfo: {
        token: this.session.id ?? '',
        clientId: caller.peer,
        scopes: [],
        extra: { ...(caller.handle === undefined ? {} : { handle: caller.handle }), kind: caller.kind, envelope: context.envelope.id }
      }
    }
  }
}

/** Connects an SDK server to a transport (`Server`, `McpServer`: anything with `connect`). */
export interface McpServerLike {
  /** Binds the server to one transport. */
  connect: (transport: ParleyServerTransport) => Promise<void>
}

/**
 * Routes the `mcp/` namespace of one agent's sessions: each session's
 * messages to the transport on it, or, for a session that has none, to a
 * new server from the factory given to {@link serve}.
 */
export class McpRouter {
  static readonly #routers = new WeakMap<McpHost, McpRouter>()
  /** The agent (or service) whose `mcp/*` handler this is. */
  readonly host: McpHost
  readonly #bySession = new Map<Session, ParleyMcpTransport>()
  #factory: (() => McpServerLike | Promise<McpServerLike>) | undefined
  readonly #starting = new Map<Session, Promise<ParleyMcpTransport>>()

  private constructor (host: McpHost) {
    this.host = host
  }

  /** The router of `host`, registered as its `mcp/*` handler on first use. */
  static of (host: McpHost): McpRouter {
    let router = McpRouter.#routers.get(host)
    if (router === undefined) {
      const made = router = new McpRouter(host)
      McpRouter.#routers.set(host, made)
      host.handle(MCP_HANDLER, async (params, context) => made.#route(params as JsonRpcParams, context))
    }
    return router
  }

  /**
   * Serves MCP to every session that asks: `factory` makes one SDK server
   * per session (as the SDK's servers take one transport each).
   */
  serve (factory: () => McpServerLike | Promise<McpServerLike>): void {
    this.#factory = factory
  }

  /** Tracks `transport` as the MCP end of `session`. */
  attach (session: Session, transport: ParleyMcpTransport): void {
    if (this.#bySession.has(session)) throw new McpBindingError(McpBindingErrorCode.ALREADY_ATTACHED, 'this session already carries MCP')
    this.#bySession.set(session, transport)
  }

  /** Forgets `transport` as the MCP end of `session`. */
  detach (session: Session, transport: ParleyMcpTransport): void {
    if (this.#bySession.get(session) === transport) this.#bySession.delete(session)
  }

  async #route (params: JsonRpcParams | undefined, context: HandlerContext): Promise<JsonValue | undefined> {
    const isRequest = context.envelope.body !== undefined && 'id' in context.envelope.body
    const transport = this.#bySession.get(context.session) ?? await this.#server(context.session)
    return transport.receive(params, context, isRequest)
  }

  async #server (session: Session): Promise<ParleyMcpTransport> {
    const factory = this.#factory
    if (factory === undefined) throw new RpcError(-32601, 'this agent serves no MCP')
    let starting = this.#starting.get(session)
    if (starting === undefined) {
      starting = (async () => {
        const transport = new ParleyServerTransport(this, session)
        await (await factory()).connect(transport)
        return transport
      })()
      this.#starting.set(session, starting)
      void starting.finally(() => this.#starting.delete(session)).catch(() => {})
    }
    return starting
  }
}

/**
 * Serves an MCP server to every Parley session that opens MCP with this
 * agent: `factory` is called once per session.
 *
 * @example
 * ```ts
 * import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
 * import { serveMcp } from 'parley-mesh'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent
 *
 * serveMcp(agent, () => {
 *   const server = new McpServer({ name: 'weather', version: '1.0.0' })
 *   server.registerTool('forecast', { description: 'Tomorrow, in one word' }, async () => ({ content: [{ type: 'text', text: 'sunny' }] }))
 *   return server
 * })
 * ```
 */
export function serveMcp (host: McpHost, factory: () => McpServerLike | Promise<McpServerLike>): McpRouter {
  const router = McpRouter.of(host)
  router.serve(factory)
  return router
}
