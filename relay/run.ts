/**
 * `parley relay`: start a relay node from flags, environment and config
 * file, print its multiaddrs, serve /metrics and /healthz, and stop cleanly
 * on SIGINT / SIGTERM.
 */
import { writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { enable } from '@libp2p/logger'
import { createRelayNode } from '../src/node/relay.js'
import type { RelayNode } from '../src/node/relay.js'
import { openCircuits } from '../src/node/relay-metrics.js'
import { Router, startHttp } from '../src/node/http.js'
import type { HttpEndpoint } from '../src/node/http.js'
import { DashboardServer } from '../src/dashboard/server.js'
import { relaySource } from '../src/dashboard/relay-source.js'
import { loadRelayConfig } from './config.js'
import type { LogLevel } from './config.js'

/** Longest a clean shutdown may take before the process exits anyway. */
export const SHUTDOWN_TIMEOUT_MS = 4000

const LOG_NAMESPACES: Record<LogLevel, string | undefined> = {
  error: undefined,
  info: 'parley:*,-parley:*:trace',
  debug: 'parley:*,libp2p:*,-*:trace',
  trace: 'parley:*,libp2p:*'
}

/** A failure to start, reported as one line (exit code 1). */
export class StartError extends Error {
  override readonly name = 'StartError'
}

/** One line saying why starting failed (libp2p's listen errors span several lines with stacks). */
function reason (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const inUse = /EADDRINUSE: address already in use (\S+)/.exec(text)
  if (inUse !== null) return `address already in use: ${inUse[1]}`
  const denied = /EACCES: permission denied (\S+)/.exec(text)
  if (denied !== null) return `permission denied: ${denied[1]}`
  const notAvailable = /EADDRNOTAVAIL: address not available (\S+)/.exec(text)
  if (notAvailable !== null) return `address not available on this machine: ${notAvailable[1]}`
  return text.split('\n')[0] ?? text
}

/** Runs the relay until a signal; resolves with the exit code. */
export async function runRelay (argv: string[]): Promise<number> {
  const config = loadRelayConfig(argv)
  if (config === undefined) return 0
  const namespaces = process.env.DEBUG ?? LOG_NAMESPACES[config.logLevel]
  if (namespaces !== undefined) enable(namespaces)

  let relay: RelayNode
  try {
    relay = await createRelayNode(config)
  } catch (err) {
    throw new StartError(`cannot start the relay: ${reason(err)}`)
  }
  let http: HttpEndpoint
  const dashboard = new DashboardServer({ source: relaySource(relay), host: config.httpHost, ...(config.dashboardToken === undefined ? {} : { token: config.dashboardToken }) })
  try {
    const router = dashboard.mount(new Router())
      .get('/metrics', async (_req, res) => {
        const registry = relay.registry
        if (registry === undefined) { res.writeHead(404).end(); return }
        res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics())
      })
      .get('/healthz', (_req, res) => {
        const ok = relay.libp2p.status === 'started'
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({
          status: ok ? 'ok' : relay.libp2p.status,
          peerId: relay.peerId.toString(),
          uptimeSeconds: Math.round(process.uptime()),
          connections: relay.libp2p.getConnections().length,
          reservations: relay.libp2p.services.relay.reservations.size,
          circuits: openCircuits(relay.libp2p)
        }) + '\n')
      })
    http = await startHttp(config.httpHost, config.httpPort, router)
  } catch (err) {
    await relay.stop()
    throw new StartError(`cannot serve HTTP on ${config.httpHost}:${config.httpPort}: ${reason(err)}`)
  }

  const addrs = relay.multiaddrs().map(String)
  const file = join(config.dataDir, 'multiaddrs')
  await writeFile(file + '.tmp', addrs.join('\n') + '\n')
  await rename(file + '.tmp', file)
  for (const a of addrs) process.stdout.write(a + '\n')
  const stun = relay.stun === undefined ? 'no STUN' : `STUN on UDP ${relay.stun.addresses.join(', ')} port ${relay.stun.port}`
  process.stderr.write(`parley relay ${relay.peerId.toString()} started; data in ${config.dataDir}; ${stun}; metrics ${http.url}/metrics, health ${http.url}/healthz\n` +
    `parley relay dashboard: ${dashboard.url(http.url)}\n`)

  // keep the handlers for the whole shutdown: a second signal (a supervisor signalling the
  // process group, or Ctrl-C reaching both the launcher and the relay) must not kill it mid-way
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.on('SIGINT', resolve)
    process.on('SIGTERM', resolve)
  })
  process.stderr.write(`parley relay: ${signal}, stopping\n`)
  const timer = setTimeout(() => {
    process.stderr.write(`parley relay: did not stop within ${SHUTDOWN_TIMEOUT_MS} ms, exiting\n`)
    process.exit(1)
  }, SHUTDOWN_TIMEOUT_MS)
  timer.unref()
  await Promise.allSettled([http.close(), relay.stop()])
  clearTimeout(timer)
  return 0
}
