/**
 * A node's local HTTP endpoint: Prometheus `/metrics` and `/healthz`, bound
 * to 127.0.0.1 by default. (The dev dashboard will be served here too.)
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse, Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface HttpEndpoint {
  readonly server: Server
  /** `http://host:port` as bound (with the real port when 0 was asked for). */
  readonly url: string
  close: () => Promise<void>
}

/** Starts an HTTP server with exact-path routes; anything else is 404. Rejects if the port is unusable. */
export async function startHttp (host: string, port: number, routes: Record<string, Route>): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const route = routes[path]
    if (route === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(route === undefined ? 404 : 405, { 'content-type': 'text/plain' }).end(route === undefined ? 'not found\n' : 'method not allowed\n')
      return
    }
    Promise.resolve(route(req, res)).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`error: ${err.message}\n`)
    })
  })
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
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}
