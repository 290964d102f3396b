/**
 * The client end of A2A over Parley: a `fetch` for `parley:@handle` URLs
 * that the A2A SDK's own JSON-RPC transport uses unchanged. Each JSON-RPC
 * call it POSTs becomes a signed Parley request `a2a/<method>`; a streaming
 * call's events arrive as `a2a/stream` notifications, in order, and are
 * handed back as the server-sent events the SDK reads.
 */
import { RpcError } from '../session/session.js'
import type { Session } from '../session/session.js'
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { randomToken } from '../envelope/envelope.js'
import { A2A_PARLEY_BINDING, A2A_REQUEST_TIMEOUT_MS, A2A_STREAM_EVENT, A2A_STREAMING_METHODS } from './constants.js'
import { a2aCall, a2aTarget } from './mapping.js'
import { heldApproval, outcomeOf } from '../methods/held.js'
import type { OutcomeSource } from '../methods/held.js'

/** What the A2A client end needs of an agent: sessions by handle, and the outcomes of held calls. */
export interface A2AHost extends OutcomeSource {
  /** Opens (or reuses) a session with `@handle` or a peer id. */
  connect: (target: string) => Promise<Session>
}

/** A call the far side's policy held for its human: its result once approved, an error once declined (within the call's time). */
async function decided (host: A2AHost, peer: string, approval: string): Promise<JsonValue> {
  return outcomeOf(host, { peer, approval, signal: AbortSignal.timeout(A2A_REQUEST_TIMEOUT_MS) })
}

const json = (body: unknown): Response => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } })

/**
 * A `fetch` for the A2A SDK's JSON-RPC transport (`new JsonRpcTransportFactory({ fetchImpl })`)
 * that carries each call over a Parley session with the agent the URL names.
 */
export function parleyA2AFetch (host: A2AHost): typeof fetch {
  const sessions = new Map<string, Promise<Session>>()
  const sessionFor = async (target: string): Promise<Session> => {
    let s = sessions.get(target)
    const current = s === undefined ? undefined : await s.catch(() => undefined)
    if (s === undefined || current === undefined || current.closed) {
      s = host.connect(target)
      sessions.set(target, s)
    }
    return s
  }
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const body = JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as { id?: string | number, method?: unknown, params?: JsonValue }
    if (typeof body.method !== 'string') return json({ jsonrpc: '2.0', id: body.id ?? null, error: { code: -32600, message: 'not a JSON-RPC request' } })
    const session = await sessionFor(a2aTarget(url))
    if (!A2A_STREAMING_METHODS.has(body.method)) {
      const call = a2aCall(body.method, body.params)
      try {
        let result = await session.request(call.method, call.params, { timeoutMs: A2A_REQUEST_TIMEOUT_MS })
        const held = heldApproval(result)
        if (held !== undefined) result = await decided(host, session.remotePeer, held)
        return json({ jsonrpc: '2.0', id: body.id ?? null, result })
      } catch (err) {
        return json({ jsonrpc: '2.0', id: body.id ?? null, error: errorOf(err) })
      }
    }
    // a stream: its events come as notifications naming it, then the request's answer ends it
    const stream = randomToken()
    const call = a2aCall(body.method, body.params, stream)
    const encoder = new TextEncoder()
    let next = 0
    const events = new ReadableStream<Uint8Array>({
      start (controller) {
        const onEvent = (e: CustomEvent<{ method: string, params: JsonRpcParams | undefined }>): void => {
          const p = e.detail.params as { stream?: unknown, seq?: unknown, event?: unknown } | undefined
          if (e.detail.method !== A2A_STREAM_EVENT || p?.stream !== stream) return
          if (p.seq !== next) {
            finish(new Error(`stream event ${String(p.seq)} arrived when ${next} was due`))
            return
          }
          next++
          controller.enqueue(encoder.encode(`data: ${JSON.stringify({ ...(p.event as object), id: body.id ?? null })}\n\n`))
        }
        let finished = false
        const finish = (err?: unknown): void => {
          if (finished) return
          finished = true
          session.removeEventListener('notification', onEvent as EventListener)
          if (err !== undefined) controller.enqueue(encoder.encode(`data: ${JSON.stringify({ jsonrpc: '2.0', id: body.id ?? null, error: errorOf(err) })}\n\n`))
          controller.close()
        }
        session.addEventListener('notification', onEvent as EventListener)
        // the answer ends the stream; a held call's events come once its human approves
        session.request(call.method, call.params, { timeoutMs: A2A_REQUEST_TIMEOUT_MS })
          .then(async (result) => { const held = heldApproval(result); if (held !== undefined) await decided(host, session.remotePeer, held) })
          .then(() => { finish() }, (err) => { finish(err) })
      }
    })
    return new Response(events, { status: 200, headers: { 'content-type': 'text/event-stream' } })
  }
}

function errorOf (err: unknown): { code: number, message: string, data?: unknown } {
  if (err instanceof RpcError) return { code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) }
  return { code: -32603, message: (err as Error).message ?? String(err) }
}

/** The SDK's JSON-RPC transport factory, as {@link ParleyA2ATransportFactory} uses it. */
export interface JsonRpcTransportFactoryLike<T> {
  /** Makes the transport for `url`, as the card describes it. */
  create: (url: string, card: never) => Promise<T>
}

/**
 * An A2A SDK `TransportFactory` for the Parley binding: give it to the
 * SDK's `ClientFactory` (`transports`), and a card whose
 * `supportedInterfaces` lists `{ protocolBinding: A2A_PARLEY_BINDING, url: 'parley:@handle' }`
 * gets a client that talks to that agent over Parley.
 *
 * @example
 * ```ts
 * import { ClientFactory, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
 * import { ParleyA2ATransportFactory } from 'parley-mesh'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent
 *
 * const factory = new ClientFactory({ transports: [new ParleyA2ATransportFactory(agent, (fetchImpl) => new JsonRpcTransportFactory({ fetchImpl }))] })
 * ```
 */
export class ParleyA2ATransportFactory<T> {
  readonly #jsonRpc: JsonRpcTransportFactoryLike<T>

  constructor (host: A2AHost, makeJsonRpcFactory: (fetchImpl: typeof fetch) => JsonRpcTransportFactoryLike<T>) {
    this.#jsonRpc = makeJsonRpcFactory(parleyA2AFetch(host))
  }

  /** {@link A2A_PARLEY_BINDING}. */
  get protocolName (): string { return A2A_PARLEY_BINDING }

  /**
   * The SDK's JSON-RPC transport, its calls carried over Parley to the agent
   * `url` names. The JSON-RPC factory is shown the card's Parley interfaces
   * as JSON-RPC ones (that is what runs over the session), so it picks the
   * protocol version (v1.0, or v0.3 with `legacyCompat`) the card states.
   */
  async create (url: string, card: never): Promise<T> {
    a2aTarget(url)
    const c = card as { supportedInterfaces?: Array<{ protocolBinding?: string }> }
    const asJsonRpc = c.supportedInterfaces === undefined
      ? card
      : { ...c, supportedInterfaces: c.supportedInterfaces.map(i => i.protocolBinding === A2A_PARLEY_BINDING ? { ...i, protocolBinding: 'JSONRPC' } : i) }
    return this.#jsonRpc.create(url, asJsonRpc as never)
  }
}
