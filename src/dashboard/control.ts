/**
 * The local control API of a long-running agent node (`parley agent`): what
 * the CLI (`parley send`, `pending`, `approve`, `reject`, `trust`, `log`)
 * and the dashboard's buttons call. Served on the node's HTTP endpoint
 * (127.0.0.1 by default) next to the dev dashboard, with one token: every
 * control route needs `Authorization: Bearer <token>`, and so do the
 * dashboard's actions.
 *
 * | route | body | answer |
 * |---|---|---|
 * | `GET /api/status` | | handle, peer id, kind, relays |
 * | `POST /api/send` | `{ to, text }` | the `message` result |
 * | `GET /api/pending` | | pending approvals |
 * | `POST /api/approvals/<id>` | `{ decision: "approve" \| "reject", reply? }` | the approval after the decision (the dashboard's route, see below) |
 * | `POST /api/trust` | `{ who, level, limits? }` | the trust entry |
 * | `GET /api/inbox` | | messages for the human (senders of those that came by mail get a `read` receipt) |
 * | `GET /api/outbox` | | outgoing mail: where each message is queued, and its receipts |
 * | `GET /api/log?limit=N` | | the last N event log entries |
 * | `GET /api/log/export` | | the whole log, for `parley verify` |
 * | `GET /api/negotiations` | | every negotiation's state |
 * | `POST /api/negotiations/<id>` | `{ move: "counter" \| "accept" \| "reject" \| "cancel", terms?, reason? }` | the move's result |
 *
 * Errors are `{ error: { code, message } }` with a 4xx/5xx status, except on
 * the approvals route, which is the dashboard server's (`server.ts`:
 * `{ error: message, code }`; 404 unknown, 409 decided already). One route
 * per path: {@link agentEndpoint} mounts both on one router.
 *
 * @example
 * ```ts
 * import { Router, agentEndpoint, dashboardToken, startHttp } from 'parley-mesh/dashboard'
 * import type { Agent } from 'parley-mesh'
 * declare const agent: Agent // started
 *
 * const { router, dashboard } = agentEndpoint(new Router(), agent, { token: dashboardToken() })
 * const http = await startHttp('127.0.0.1', 0, router)
 * console.log(dashboard.url(http.url)) // the dashboard, with the token in the fragment
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { presentsToken, readBody, sendJson } from '../node/http.js'
import type { Router } from '../node/http.js'
import type { Agent } from '../agent/agent.js'
import { DashboardServer } from './server.js'
import { agentSource } from './agent-source.js'
import type { AgentDashboardSource } from './agent-source.js'
import type { TrustLevel } from '../store/index.js'
import type { MoveKind } from '../agent/negotiations.js'
import type { Terms } from '../negotiation/transition.js'

/** Largest request body accepted (64 KiB). */
const MAX_BODY = 64 * 1024

/** A control API failure with its HTTP status. */
class ControlError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) { super(message) }
}

async function body (req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req, MAX_BODY)
  if (text === undefined) throw new ControlError(413, 'ERR_TOO_LARGE', `request body over ${MAX_BODY} bytes`)
  try {
    const value = JSON.parse(text) as unknown
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object')
    return value as Record<string, unknown>
  } catch {
    throw new ControlError(400, 'ERR_BAD_REQUEST', 'the body must be a JSON object')
  }
}

type Handler = (req: IncomingMessage, rest: string, url: URL) => Promise<unknown>

/**
 * Mounts an agent's whole local endpoint on `router`: the dev dashboard
 * (page, state, events, and `POST /api/approvals/<id>`, over
 * {@link agentSource}) and the control routes, all under one `token`.
 * `host` is the address the endpoint binds (the dashboard refuses non-loopback
 * `Host` headers when it is a loopback address).
 */
export function agentEndpoint (router: Router, agent: Agent, options: { token: string, host?: string }): {
  /** `router`, with the routes added. */
  router: Router
  /** The dashboard server; `dashboard.url(http.url)` is the page to open. */
  dashboard: DashboardServer
  /** The dashboard's source over `agent` (stopped when the endpoint closes). */
  source: AgentDashboardSource
} {
  const source = agentSource(agent)
  // an agent's state is its conversations: reading it needs the token as acting does
  const dashboard = new DashboardServer({ source, token: options.token, readToken: true, ...(options.host === undefined ? {} : { host: options.host }) })
  dashboard.mount(router).onClose(() => { source.stop() })
  controlRoutes(router, agent, options.token)
  return { router, dashboard, source }
}

/**
 * Adds the control routes for `agent` to `router`, guarded by `token`:
 * everything in the table above but the approvals route, which the
 * dashboard serves ({@link agentEndpoint} mounts both).
 */
export function controlRoutes (router: Router, agent: Agent, token: string): Router {
  const guard = (handler: Handler) => async (req: IncomingMessage, res: ServerResponse, match: { rest: string, url: URL }): Promise<void> => {
    if (!presentsToken(req, token)) { sendJson(res, 401, { error: { code: 'ERR_UNAUTHORIZED', message: 'missing or wrong bearer token' } }); return }
    try {
      sendJson(res, 200, await handler(req, match.rest, match.url))
    } catch (err) {
      const e = err as { status?: number, code?: string, message?: string }
      const status = err instanceof ControlError ? err.status : (typeof e.code === 'string' && /NOT_FOUND/.test(e.code) ? 404 : 400)
      sendJson(res, status, { error: { code: e.code ?? 'ERR_INTERNAL', message: e.message ?? String(err) } })
    }
  }
  const text = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v.length === 0) throw new ControlError(400, 'ERR_BAD_REQUEST', `"${name}" must be a non-empty string`)
    return v
  }
  return router
    .get('/api/status', guard(async () => ({ handle: agent.handleName ?? null, peer: agent.peerId, kind: agent.identity.kind, relays: agent.record?.relays ?? [], expires: agent.record?.expires ?? null })))
    .post('/api/send', guard(async (req) => {
      const b = await body(req)
      return agent.send(text(b.to, 'to'), text(b.text, 'text'))
    }))
    .get('/api/pending', guard(async () => agent.pending()))
    .post('/api/trust', guard(async (req) => {
      const b = await body(req)
      const level = b.level
      if (level !== 0 && level !== 1 && level !== 2) throw new ControlError(400, 'ERR_BAD_REQUEST', '"level" must be 0, 1 or 2')
      return agent.setTrust(text(b.who, 'who'), level as TrustLevel, b.limits === undefined ? {} : { limits: b.limits as never })
    }))
    // the human lists the inbox (`parley inbox`): mail in it has been read, and its senders hear so
    .get('/api/inbox', guard(async () => {
      const inbox = await agent.inbox()
      agent.markRead(inbox).catch(() => {})
      return inbox
    }))
    .get('/api/outbox', guard(async () => agent.outbox().map(({ envelope: _e, record: _r, params: _p, ...rest }) => rest)))
    .get('/api/log', guard(async (_req, _rest, url) => agent.logEntries(Math.min(10_000, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50)))))
    .get('/api/log/export', guard(async () => agent.exportLog()))
    .get('/api/negotiations', guard(async () => agent.negotiations.list().map(n => n.toJSON())))
    .post('/api/negotiations/*', guard(async (req, id) => {
      const b = await body(req)
      const move = b.move
      if (move !== 'counter' && move !== 'accept' && move !== 'reject' && move !== 'cancel') throw new ControlError(400, 'ERR_BAD_REQUEST', '"move" must be counter, accept, reject or cancel')
      return agent.negotiations.move(decodeURIComponent(id), move as MoveKind, {
        ...(b.terms === undefined ? {} : { terms: b.terms as Terms }),
        ...(b.reason === undefined ? {} : { reason: text(b.reason, 'reason') })
      })
    }))
}
