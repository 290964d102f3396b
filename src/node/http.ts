/**
 * A node's local HTTP endpoint: Prometheus `/metrics`, `/healthz` and the dev
 * dashboard, bound to 127.0.0.1 by default.
 *
 * Routing is deliberately small: a route is a method, a path and a handler;
 * the path matches exactly, or as a prefix when it ends in `/*`. A path no
 * route matches is 404; a path matched only under other methods is 405 with
 * an `Allow` header. A `GET` route answers `HEAD` too. A method and path
 * take one route: adding a second throws, so two parts of a node cannot
 * both claim a path (the agent's control API and its dashboard share one).
 *
 * @example
 * ```ts
 * import { Router, startHttp } from 'parley-mesh/dashboard'
 *
 * const router = new Router()
 *   .get('/healthz', (_req, res) => { res.writeHead(200).end('ok\n') })
 *   .get('/files/*', (_req, res, { rest }) => { res.writeHead(200).end(`you asked for ${rest}\n`) })
 *   .post('/api/approvals/*', async (_req, res, { rest }) => { res.writeHead(204).end() }) // rest: the approval id
 * const http = await startHttp('127.0.0.1', 9090, router)
 * ```
 */
import { createServer } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { logger } from '@libp2p/logger'

const log = logger('parley:http')

/** What a handler learns from the match: the path, and for a prefix route what follows the prefix. */
export interface RouteMatch {
  /** The request path (no query string), percent-encoding kept. */
  path: string
  /** For a prefix route, the rest of the path after the prefix (`/assets/*` and `/assets/app.js` give `app.js`). */
  rest: string
  /** The parsed request URL. */
  url: URL
}

/** A route's handler; a rejection is answered 500 with its message. */
export type Route = (req: IncomingMessage, res: ServerResponse, match: RouteMatch) => void | Promise<void>

/** The HTTP methods a {@link Router} routes. */
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'

interface Entry {
  method: Method
  /** Exact path, or the prefix (ending in `/`) for prefix routes. */
  path: string
  prefix: boolean
  handler: Route
}

/** Method + exact path or prefix routes; see the module comment for the rules. */
export class Router {
  readonly #entries: Entry[] = []
  readonly #closers: Array<() => void | Promise<void>> = []

  /**
   * Adds a route. `path` is exact, or a prefix when it ends in `/*`
   * (`/assets/*` matches `/assets/x` and `/assets/a/b`, not `/assets`).
   * Exact routes win over prefix routes; the longest prefix wins.
   *
   * @throws Error when `method` and `path` have a route already.
   */
  add (method: Method, path: string, handler: Route): this {
    const prefix = path.endsWith('/*')
    const at = prefix ? path.slice(0, -1) : path
    // one route per method and path: a second would silently shadow the first
    if (this.#entries.some(e => e.method === method && e.path === at && e.prefix === prefix)) throw new Error(`a route for ${method} ${path} exists already`)
    this.#entries.push({ method, path: at, prefix, handler })
    // exact first, then longer prefixes first
    this.#entries.sort((a, b) => Number(a.prefix) - Number(b.prefix) || b.path.length - a.path.length)
    return this
  }

  /** Adds a `GET` route (which answers `HEAD` too); see {@link Router.add}. */
  get (path: string, handler: Route): this { return this.add('GET', path, handler) }
  /** Adds a `POST` route; see {@link Router.add}. */
  post (path: string, handler: Route): this { return this.add('POST', path, handler) }

  /** Runs `fn` when the endpoint closes, before connections are cut (to end long-lived responses cleanly). */
  onClose (fn: () => void | Promise<void>): this {
    this.#closers.push(fn)
    return this
  }

  /** @internal runs the close hooks */
  async closing (): Promise<void> {
    await Promise.allSettled(this.#closers.map(async fn => fn()))
  }

  /**
   * The route for `method` and `path`, or why there is none (404, or 405 with the allowed methods).
   *
   * @internal used by {@link handle}
   */
  match (method: string, path: string): { entry: Entry, rest: string } | { status: 404 } | { status: 405, allow: string[] } {
    const allow = new Set<string>()
    for (const entry of this.#entries) {
      const hit = entry.prefix ? path.startsWith(entry.path) && path.length > entry.path.length : path === entry.path
      if (!hit) continue
      const m = method === 'HEAD' ? 'GET' : method
      if (entry.method === m) return { entry, rest: entry.prefix ? path.slice(entry.path.length) : '' }
      allow.add(entry.method)
      if (entry.method === 'GET') allow.add('HEAD')
    }
    return allow.size === 0 ? { status: 404 } : { status: 405, allow: [...allow] }
  }

  /** Handles one request (the server's request listener). */
  handle (req: IncomingMessage, res: ServerResponse): void {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n')
      return
    }
    const found = this.match(req.method ?? 'GET', url.pathname)
    if ('status' in found) {
      res.writeHead(found.status, { 'content-type': 'text/plain', ...(found.status === 405 ? { allow: found.allow.join(', ') } : {}) })
        .end(found.status === 404 ? 'not found\n' : 'method not allowed\n')
      return
    }
    // a handler that throws, synchronously or not, is answered 500: nothing may escape the
    // server's request listener (an exception there would end the process)
    const fail = (err: unknown): void => {
      log.error('%s %s failed: %e', req.method, url.pathname, err)
      try {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`error: ${err instanceof Error ? err.message : 'internal error'}\n`)
      } catch {
        res.destroy()
      }
    }
    try {
      Promise.resolve(found.entry.handler(req, res, { path: url.pathname, rest: found.rest, url })).catch(fail)
    } catch (err) {
      fail(err)
    }
  }
}

/** A running HTTP endpoint. */
export interface HttpEndpoint {
  /** The Node.js server. */
  readonly server: Server
  /** `http://host:port` as bound (with the real port when 0 was asked for). */
  readonly url: string
  /** The bound port. */
  readonly port: number
  /** Runs the router's close hooks, cuts open connections and closes the server. */
  close: () => Promise<void>
}

/**
 * Starts an HTTP server on `host:port` with `routes`: a {@link Router}, or a
 * map of exact paths to `GET` handlers. Rejects if the port is unusable.
 */
export async function startHttp (host: string, port: number, routes: Router | Record<string, Route>): Promise<HttpEndpoint> {
  let router: Router
  if (routes instanceof Router) {
    router = routes
  } else {
    router = new Router()
    for (const [path, handler] of Object.entries(routes)) router.get(path, handler)
  }
  const server = createServer((req, res) => { router.handle(req, res) })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const addr = server.address() as AddressInfo
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    server,
    url: `http://${shown}:${addr.port}`,
    port: addr.port,
    close: async () => {
      await router.closing()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/** Answers `value` as JSON, never cached; `headers` are added (or override). */
export function sendJson (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(value) + '\n')
}

/** The request body as UTF-8 text, or undefined when it is over `max` bytes. */
export async function readBody (req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > max) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Whether `req` presents `token`: as `Authorization: Bearer <token>`, or
 * else as `queryToken` when the route accepts one (compared in constant time).
 */
export function presentsToken (req: IncomingMessage, token: string, queryToken?: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')
  const presented = m?.[1] ?? queryToken
  if (presented === undefined) return false
  const given = Buffer.from(presented)
  const expected = Buffer.from(token)
  return given.byteLength === expected.byteLength && timingSafeEqual(given, expected)
}
