/**
 * The dev dashboard's HTTP side, mounted on a node's local HTTP endpoint:
 *
 * | route | what |
 * |-------|------|
 * | `GET /` | the page |
 * | `GET /assets/*` | the page's bundled files |
 * | `GET /api/state` | the {@link DashboardState} as JSON |
 * | `GET /api/events` | server-sent events: `state` (the full state) on change, at most 4 a second, and every few seconds; comment heartbeats |
 * | `POST /api/approvals/:id` | `{ "decision": "approve" \| "reject", "reply"?: string }`, with `Authorization: Bearer <token>`; answers the approval after the decision (as the source gives it) |
 *
 * Reading needs no token (the endpoint is bound to 127.0.0.1 by default, and
 * requests naming another host are refused, against DNS rebinding); acting
 * does. The token is random per start unless configured, and travels in the
 * printed URL's fragment (`#token=…`), which browsers never send to servers.
 *
 * @example
 * ```ts
 * import { startMesh } from 'parley-mesh/demo'
 * import { DashboardServer, Router, relaySource, startHttp } from 'parley-mesh/dashboard'
 *
 * const { relay } = await startMesh() // a relay on loopback
 * const dashboard = new DashboardServer({ source: relaySource(relay) })
 * const http = await startHttp('127.0.0.1', 9090, dashboard.mount(new Router()))
 * console.log(dashboard.url(http.url)) // http://127.0.0.1:9090/#token=…
 * ```
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { logger } from '@libp2p/logger'
import { presentsToken, readBody, sendJson } from '../node/http.js'
import type { Router } from '../node/http.js'
import type { DashboardSource, DashboardState } from './types.js'

const log = logger('parley:dashboard')

/** Where `npm run build` puts the bundled page. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url))

/** Options of {@link DashboardServer}. */
export interface DashboardServerOptions {
  /** Where the state comes from, and where approval decisions go. */
  source: DashboardSource
  /** The token actions need (default: 32 random bytes, base64url, new each start). */
  token?: string
  /** The bundled page's directory (default {@link DEFAULT_ASSETS_DIR}). */
  assetsDir?: string
  /**
   * The host the HTTP endpoint is bound to. When it is a loopback address,
   * requests whose `Host` names anything but loopback are refused (403).
   */
  host?: string
  /**
   * Reading needs the token too (default false): `GET /api/state` and
   * `/api/events` then answer 401 without it, given as a bearer token or as
   * `?token=` (an `EventSource` cannot set headers). An agent's state holds
   * its conversations, so other local users must not read it; a relay's is
   * what the mesh already sees.
   */
  readToken?: boolean
  /** A state event at least this often while a page is open (default 2000 ms). */
  pollMs?: number
  /** Least time between two state events (default 250 ms: at most 4 a second). */
  minIntervalMs?: number
  /** Comment heartbeat period on the event stream (default 15 s). */
  heartbeatMs?: number
}

/** A fresh token: 32 random bytes, base64url. */
export function dashboardToken (): string {
  return randomBytes(32).toString('base64url')
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2'
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}

/** A file name under the assets directory: plain segments only, so no traversal. */
const ASSET = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
const MAX_BODY_BYTES = 16 * 1024

function isLoopback (host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function json (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, value, { ...SECURITY_HEADERS, ...headers })
}

/** Serves the dashboard page, its state and its event stream from a {@link DashboardSource}; mount it on a {@link Router}. */
export class DashboardServer {
  /** The bearer token that actions (and reads, with `readToken`) need. */
  readonly token: string
  readonly #source: DashboardSource
  readonly #options: DashboardServerOptions
  readonly #assets: string
  readonly #clients = new Set<ServerResponse>()
  #unsubscribe: (() => void) | undefined
  #poll: ReturnType<typeof setInterval> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #scheduled: ReturnType<typeof setTimeout> | undefined
  #computing = false
  #again = false
  #lastSent = 0
  #last: string | undefined
  #closed = false

  constructor (options: DashboardServerOptions) {
    this.#options = options
    this.#source = options.source
    this.token = options.token ?? dashboardToken()
    this.#assets = options.assetsDir ?? DEFAULT_ASSETS_DIR
  }

  /** The URL to open: the endpoint's URL with the token in the fragment. */
  url (httpUrl: string): string {
    return `${httpUrl.replace(/\/$/, '').replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:')}/#token=${this.token}`
  }

  /** Adds the dashboard's routes to `router` (and ends its event streams when the endpoint closes). */
  mount (router: Router): Router {
    return router
      .get('/', async (req, res) => { if (this.#hostOk(req, res)) await this.#asset(res, 'index.html') })
      .get('/assets/*', async (req, res, { rest }) => { if (this.#hostOk(req, res)) await this.#asset(res, rest) })
      .get('/api/state', async (req, res, { url }) => {
        if (!this.#hostOk(req, res) || !this.#readable(req, res, url)) return
        json(res, 200, await this.#source.state())
      })
      .get('/api/events', (req, res, { url }) => { if (this.#hostOk(req, res) && this.#readable(req, res, url)) this.#subscribe(req, res) })
      .post('/api/approvals/*', async (req, res, { rest }) => { if (this.#hostOk(req, res)) await this.#decide(req, res, rest) })
      .onClose(() => { this.close() })
  }

  /** Ends every event stream (with a `bye` event) and stops polling the source. */
  close (): void {
    this.#closed = true
    for (const res of this.#clients) {
      res.end('event: bye\ndata: {}\n\n')
    }
    this.#clients.clear()
    this.#idle()
  }

  #hostOk (req: IncomingMessage, res: ServerResponse): boolean {
    const bound = this.#options.host ?? '127.0.0.1'
    if (!isLoopback(bound)) return true
    let hostname: string
    try {
      hostname = new URL(`http://${req.headers.host ?? ''}`).hostname
    } catch {
      hostname = ''
    }
    if (isLoopback(hostname)) return true
    res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: this endpoint answers to loopback host names only\n')
    return false
  }

  async #asset (res: ServerResponse, name: string): Promise<void> {
    let decoded: string
    try {
      decoded = decodeURIComponent(name)
    } catch {
      decoded = ''
    }
    if (!ASSET.test(decoded) || decoded.split('/').some(s => s === '..' || s === '.')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    let body: Buffer
    try {
      body = await readFile(join(this.#assets, decoded))
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(decoded === 'index.html' ? 'dashboard not built: run npm run build\n' : 'not found\n')
      return
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(decoded)] ?? 'application/octet-stream',
      'content-length': body.byteLength,
      'cache-control': 'no-cache',
      ...SECURITY_HEADERS
    }).end(body)
  }

  /** With {@link DashboardServerOptions.readToken}, reads need the token (header or `?token=`). */
  #readable (req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (this.#options.readToken !== true || this.#authorized(req, url.searchParams.get('token') ?? undefined)) return true
    json(res, 401, { error: 'this node\'s state needs its token: open the URL the node printed' }, { 'www-authenticate': 'Bearer' })
    return false
  }

  #authorized (req: IncomingMessage, queryToken?: string): boolean {
    return presentsToken(req, this.token, queryToken)
  }

  async #decide (req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    if (!this.#authorized(req)) {
      json(res, 401, { error: 'a bearer token is required: open the URL the node printed' }, { 'www-authenticate': 'Bearer' })
      return
    }
    if (this.#source.decide === undefined) {
      json(res, 404, { error: 'this node has no approvals' })
      return
    }
    let id: string
    try {
      id = decodeURIComponent(rest)
    } catch {
      id = ''
    }
    if (id === '' || id.includes('/')) { json(res, 404, { error: 'no such approval' }); return }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      json(res, 415, { error: 'send application/json' })
      return
    }
    const text = await readBody(req, MAX_BODY_BYTES)
    if (text === undefined) { json(res, 413, { error: 'body too large' }); return }
    let body: unknown
    try { body = JSON.parse(text) } catch { body = undefined }
    const { decision, reply } = (typeof body === 'object' && body !== null ? body : {}) as { decision?: unknown, reply?: unknown }
    if ((decision !== 'approve' && decision !== 'reject') || (reply !== undefined && typeof reply !== 'string')) {
      json(res, 400, { error: 'expected { "decision": "approve" | "reject", "reply"?: string }' })
      return
    }
    let decided: unknown
    try {
      decided = await this.#source.decide(id, decision, reply)
    } catch (err) {
      const { code, status: given } = err as { code?: unknown, status?: unknown }
      const status = typeof given === 'number' && given >= 400 && given < 500
        ? given
        : code === 'ERR_UNKNOWN_APPROVAL' ? 404 : code === 'ERR_ALREADY_DECIDED' ? 409 : 500
      json(res, status, { error: (err as Error).message, ...(typeof code === 'string' ? { code } : {}) })
      return
    }
    json(res, 200, typeof decided === 'object' && decided !== null ? decided : { id, decision, status: decision === 'approve' ? 'approved' : 'rejected' })
    this.#schedule()
  }

  #subscribe (req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) { res.writeHead(503).end(); return }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS
    })
    res.write('retry: 2000\n\n')
    req.socket.setNoDelay(true)
    req.socket.setTimeout(0)
    this.#clients.add(res)
    res.on('close', () => {
      this.#clients.delete(res)
      if (this.#clients.size === 0) this.#idle()
    })
    if (this.#last !== undefined && Date.now() - this.#lastSent < (this.#options.minIntervalMs ?? 250) * 4) res.write(this.#last)
    if (this.#unsubscribe === undefined) {
      this.#unsubscribe = this.#source.onChange(() => { this.#schedule() })
      this.#poll = setInterval(() => { this.#schedule() }, this.#options.pollMs ?? 2000)
      this.#heartbeat = setInterval(() => { for (const c of this.#clients) c.write(': heartbeat\n\n') }, this.#options.heartbeatMs ?? 15_000)
      this.#poll.unref?.()
      this.#heartbeat.unref?.()
    }
    this.#schedule()
  }

  /** No page is watching: stop asking the source. */
  #idle (): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    clearInterval(this.#poll)
    clearInterval(this.#heartbeat)
    clearTimeout(this.#scheduled)
    this.#scheduled = undefined
  }

  /** Sends a state event as soon as the rate limit allows (coalescing). */
  #schedule (): void {
    if (this.#clients.size === 0 || this.#closed) return
    if (this.#computing) { this.#again = true; return }
    if (this.#scheduled !== undefined) return
    const wait = Math.max(0, this.#lastSent + (this.#options.minIntervalMs ?? 250) - Date.now())
    this.#scheduled = setTimeout(() => {
      this.#scheduled = undefined
      this.#push().catch(err => { log('dashboard push failed: %e', err) })
    }, wait)
  }

  async #push (): Promise<void> {
    this.#computing = true
    let text: string | undefined
    try {
      // serialised inside the try: state built from remote input must not end the process
      text = JSON.stringify(await this.#source.state() satisfies DashboardState)
    } catch (err) {
      log('dashboard state failed: %e', err)
    }
    this.#computing = false
    if (text !== undefined && !this.#closed) {
      this.#last = `event: state\ndata: ${text}\n\n`
      this.#lastSent = Date.now()
      for (const res of this.#clients) res.write(this.#last)
    }
    if (this.#again) {
      this.#again = false
      this.#schedule()
    }
  }
}
