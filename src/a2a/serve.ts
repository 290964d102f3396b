/**
 * The server end of A2A over Parley: `a2a/<method>` requests handed to the
 * A2A SDK's own JSON-RPC handler (v1.0 names) or its v0.3 handler (v0.3
 * names), unchanged; a streaming call's events sent back as `a2a/stream`
 * notifications, numbered, in order, before the request's answer.
 */
import { RpcError } from '../session/session.js'
import type { Caller, Handler, HandlerContext } from '../session/session.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { A2A_HANDLER, A2A_NAMESPACE, A2A_STREAM_EVENT, A2A_STREAMING_METHODS } from './constants.js'
import { a2aStreamEvent } from './mapping.js'

/** A JSON-RPC answer of the SDK's handlers. */
export interface A2AJsonRpcAnswer {
  /** `'2.0'`. */
  jsonrpc: string
  /** The call's id. */
  id: string | number | null
  /** The result, on success. */
  result?: unknown
  /** The error, on failure. */
  error?: unknown
}

/** The SDK's `JsonRpcTransportHandler` (or `LegacyJsonRpcTransportHandler`), as the binding uses it. */
export interface A2AJsonRpcHandler<C> {
  /** Answers one JSON-RPC call: one answer, or a stream of them. */
  handle: (body: Record<string, unknown>, context: C) => Promise<A2AJsonRpcAnswer | AsyncGenerator<A2AJsonRpcAnswer, void, undefined>>
}

/** What {@link serveA2A} is given. */
export interface ServeA2AOptions<C> {
  /** `new JsonRpcTransportHandler(requestHandler)` from `@a2a-js/sdk/server`: serves v1.0 method names. */
  handler: A2AJsonRpcHandler<C>
  /** `new LegacyJsonRpcTransportHandler(requestHandler)` from `@a2a-js/sdk/compat/v0_3/server`: serves v0.3 names (`message/send`, …). */
  legacy?: A2AJsonRpcHandler<C>
  /**
   * The SDK's call context for one request: `new ServerCallContext({ requestedVersion: version, user })`,
   * given the verified caller (make a `User` of it to tell callers apart).
   */
  context: (call: { caller: Caller, version: '1.0' | '0.3' }) => C
}

/** What {@link serveA2A} needs of an agent. */
export interface A2AServeHost {
  /** Registers a handler (the binding's, under `a2a/*`). */
  handle: (method: string, handler: Handler) => unknown
}

/**
 * Serves A2A to every session: `a2a/<method>` requests go through the
 * agent's policy gate, then to the SDK's handler.
 *
 * @example
 * ```ts
 * import { JsonRpcTransportHandler, ServerCallContext, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server'
 * import type { AgentExecutor } from '@a2a-js/sdk/server'
 * import type { AgentCard } from '@a2a-js/sdk'
 * import { serveA2A } from 'parley-mesh'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent
 * declare const card: AgentCard
 * declare const executor: AgentExecutor
 *
 * const requests = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor)
 * serveA2A(agent, { handler: new JsonRpcTransportHandler(requests), context: ({ version }) => new ServerCallContext({ requestedVersion: version }) })
 * ```
 */
export function serveA2A<C> (host: A2AServeHost, options: ServeA2AOptions<C>): void {
  let nextId = 1
  host.handle(A2A_HANDLER, async (params, context: HandlerContext) => {
    const method = context.method.slice(A2A_NAMESPACE.length)
    if (context.method === A2A_STREAM_EVENT) return null // a stream's events are the client end's business
    const legacy = method.includes('/')
    const handler = legacy ? options.legacy : options.handler
    if (handler === undefined) throw new RpcError(-32601, `A2A v0.3 method ${method.slice(0, 64)} is not served (this agent speaks v1.0)`)
    const streaming = A2A_STREAMING_METHODS.has(method)
    const wrapped = params as { stream?: unknown, params?: JsonValue }
    if (streaming && typeof wrapped.stream !== 'string') throw new RpcError(-32602, 'a streaming A2A call names its stream: { stream, params }')
    const body = { jsonrpc: '2.0', id: nextId++, method, params: streaming ? (wrapped.params ?? {}) : params }
    const answer = await handler.handle(body, options.context({ caller: context.caller, version: legacy ? '0.3' : '1.0' }))
    if (Symbol.asyncIterator in answer) {
      let seq = 0
      for await (const event of answer) {
        await context.session.notify(A2A_STREAM_EVENT, { ...a2aStreamEvent(wrapped.stream as string, seq++, event as unknown as JsonValue) })
      }
      return { stream: wrapped.stream as string, events: seq }
    }
    if (answer.error !== undefined) {
      const e = answer.error as { code?: number, message?: string, data?: unknown }
      throw new RpcError(e.code ?? -32603, e.message ?? 'A2A error', e.data as JsonValue | undefined)
    }
    return (answer.result ?? null) as JsonValue
  })
}
