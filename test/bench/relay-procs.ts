/**
 * The two relays the relay benchmarks compare, each as its own child process
 * on 127.0.0.1 so that its memory is its own: `parley relay` started through
 * the CLI (test/helpers/relay-process.ts) and the unmodified js-libp2p relay
 * in plain-relay.ts. Memory is read from `/proc/<pid>/status` of the process
 * that actually runs the relay (bin/parley.js re-executes itself under the
 * bundled Node 22 when started by an older Node; then the relay is its child).
 */
import { spawn } from 'node:child_process'
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess, metric } from '../helpers/relay-process.js'

/** New inbound connections per second per host, for both relays: every bench client shares 127.0.0.1. */
export const INBOUND_RATE = 1000
/** Parley's per-IP reservation cap, raised for the same reason (its default is 32). */
export const RESERVATIONS_PER_IP = 100_000

export type RelayKind = 'parley' | 'plain'
export const RELAY_NAMES: Record<RelayKind, string> = { parley: 'Parley relay', plain: 'js-libp2p relay (defaults)' }

export interface BenchRelay {
  kind: RelayKind
  name: string
  /** TCP address, ending in `/p2p/<relay id>`. */
  tcp: Multiaddr
  peerId: string
  /** The pid whose memory is read (the process running the relay). */
  pid: number
  /** How `pid` was found to be the relay process. */
  pidNote: string
  /** `{ rss, hwm }` in MiB from /proc/<pid>/status (VmRSS, VmHWM). */
  memory: () => Promise<{ rss: number, hwm: number }>
  /** Circuits open as the relay counts them (Parley's metric), or undefined when the relay has no such count. */
  circuits: () => Promise<number | undefined>
  stop: () => Promise<void>
}

/** The pid running the relay: `pid` itself, or its only child when the launcher re-executed. */
async function relayPid (pid: number): Promise<number> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim()
  const child = children === '' ? undefined : Number(children.split(/\s+/)[0])
  return child ?? pid
}

async function memoryOf (pid: number): Promise<{ rss: number, hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 }
}

async function startParley (): Promise<BenchRelay> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-relay-'))
  const relay = await startRelayProcess({
    dataDir: dir,
    args: ['--max-reservations-per-ip', String(RESERVATIONS_PER_IP), '--max-connections-per-ip', '100000', '--inbound-rate', String(INBOUND_RATE), '--reservation-rate-per-peer', '1000']
  }).catch(async (err: unknown) => { await rm(dir, { recursive: true, force: true }); throw err })
  const stop = async (): Promise<void> => {
    await relay.stop('SIGTERM')
    await rm(dir, { recursive: true, force: true })
  }
  const launcher = relay.child.pid ?? NaN
  const pid = await relayPid(launcher)
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ')
  if (!cmdline.includes(' relay ')) {
    await stop()
    throw new Error(`pid ${pid} does not look like the relay: ${cmdline}`)
  }
  return {
    kind: 'parley',
    name: RELAY_NAMES.parley,
    tcp: relay.tcp,
    peerId: relay.peerId,
    pid,
    pidNote: pid === launcher ? 'bin/parley.js itself (no re-exec under Node 22)' : `the Node 22 child (pid ${pid}) that bin/parley.js re-executed`,
    memory: async () => memoryOf(pid),
    circuits: async () => metric(relay.httpUrl, 'parley_relay_circuits_open'),
    stop
  }
}

/** The library relay; `raised`: with Parley's circuit limits instead of the defaults (for long round-trip runs). */
export async function startPlain (raised = false): Promise<BenchRelay> {
  const program = fileURLToPath(new URL('./plain-relay.js', import.meta.url))
  const child = spawn(process.execPath, [program, String(INBOUND_RATE), ...(raised ? ['raised'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  let out = ''
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`plain relay did not start in 20 s:\n${err}`)) }, 20_000)
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d
        if (/^ready$/m.test(out)) { clearTimeout(timer); resolve() }
      })
      void exited.then(() => { clearTimeout(timer); reject(new Error(`plain relay exited:\n${err}`)) })
    })
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
  const tcp = multiaddr(out.split('\n').find(l => l.startsWith('/ip4/') && !l.includes('/ws')) ?? '')
  const pid = child.pid ?? NaN
  return {
    kind: 'plain',
    name: RELAY_NAMES.plain,
    tcp,
    peerId: tcp.getComponents().find(c => c.name === 'p2p')?.value ?? '',
    pid,
    pidNote: 'the plain-relay.js child',
    memory: async () => memoryOf(pid),
    circuits: async () => undefined,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
  }
}

export async function startRelay (kind: RelayKind): Promise<BenchRelay> {
  return kind === 'parley' ? startParley() : startPlain()
}

/** Runs `fn` with a fresh relay of `kind`, stopping the relay afterwards even on failure. */
export async function withRelay<T> (kind: RelayKind, fn: (relay: BenchRelay) => Promise<T>): Promise<T> {
  const relay = await startRelay(kind)
  try {
    return await fn(relay)
  } finally {
    await relay.stop()
  }
}
