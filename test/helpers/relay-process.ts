/**
 * Starts `parley relay` as a real child process through its CLI, the way an
 * operator would, and reads its multiaddrs and HTTP URL from its output.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const PARLEY_BIN = ROOT + 'bin/parley.js'

export interface RelayProcess {
  child: ChildProcess
  multiaddrs: Multiaddr[]
  /** The TCP address (for Node peers). */
  tcp: Multiaddr
  /** The WebSocket address. */
  ws: Multiaddr
  peerId: string
  httpUrl: string
  /** The dashboard URL the relay printed, `#token=…` included. */
  dashboardUrl: string
  /** The dashboard token (from that URL). */
  dashboardToken: string
  stderr: () => string
  /** Sends a signal and resolves with the exit code and how long exiting took. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null, signal: NodeJS.Signals | null, ms: number }>
}

export interface StartRelayOptions {
  dataDir: string
  args?: string[]
  /** Low difficulty so tests mint records quickly. */
  minPowBits?: number
  env?: Record<string, string>
  /** Listen addresses (default: TCP and WebSocket on 127.0.0.1, ports picked by the OS). */
  listen?: string[]
  /** UDP port for STUN (default 0, none: relays of concurrent tests would all want 3478); `null` leaves the relay's default. */
  stunPort?: number | null
  /** A command the relay runs under, e.g. `['ip', 'netns', 'exec', 'ns1']`. */
  wrap?: string[]
}

export async function startRelayProcess (options: StartRelayOptions): Promise<RelayProcess> {
  const args = [
    PARLEY_BIN, 'relay',
    '--data-dir', options.dataDir,
    ...(options.listen ?? ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']).flatMap(l => ['--listen', l]),
    '--http-port', '0',
    '--min-pow-bits', String(options.minPowBits ?? 8),
    '--inbound-rate', '1000',
    '--log-level', 'error',
    ...(options.stunPort === null ? [] : ['--stun-port', String(options.stunPort ?? 0)]),
    ...(options.args ?? [])
  ]
  const [command, ...rest] = [...(options.wrap ?? []), process.execPath, ...args] as [string, ...string[]]
  const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => { resolve({ code, signal }) }))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`relay did not start in 20 s:\n${err}`)) }, 20_000)
    const check = (): void => {
      if (/ started; [^\n]*\n[^\n]*dashboard: \S+\n/.test(err)) { clearTimeout(timer); resolve() }
    }
    child.stderr?.on('data', check)
    void exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`relay exited with ${code}:\n${err}`)) })
  })
  const multiaddrs = out.trim().split('\n').map(line => multiaddr(line))
  const tcp = multiaddrs.find(m => !m.toString().includes('/ws'))
  const ws = multiaddrs.find(m => m.toString().includes('/ws'))
  const httpUrl = /metrics (http:\/\/[^/\s]+)\/metrics/.exec(err)?.[1]
  const dashboardUrl = /dashboard: (\S+)/.exec(err)?.[1]
  if (tcp === undefined || ws === undefined || httpUrl === undefined || dashboardUrl === undefined) throw new Error(`unexpected relay output:\n${out}\n${err}`)
  return {
    child,
    multiaddrs,
    tcp,
    ws,
    peerId: tcp.getComponents().find(c => c.name === 'p2p')?.value ?? '',
    httpUrl,
    dashboardUrl,
    dashboardToken: /#token=(\S+)/.exec(dashboardUrl)?.[1] ?? '',
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      const t0 = Date.now()
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const result = await exited
      return { ...result, ms: Date.now() - t0 }
    }
  }
}

/** Reads one sample from Prometheus text (`name{labels} value`); 0 when absent. */
export async function metric (httpUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(httpUrl + '/metrics')).text()
  const line = text.split('\n').find(l => l.startsWith(labels === '' ? name + ' ' : `${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort (): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => { resolve(port) })
    })
  })
}

/** A UDP port that was free a moment ago on 127.0.0.1 (for a relay's STUN server). */
export async function freeUdpPort (): Promise<number> {
  const { createSocket } = await import('node:dgram')
  const socket = createSocket('udp4')
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      const port = socket.address().port
      socket.close(() => { resolve(port) })
    })
  })
}
