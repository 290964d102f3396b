/**
 * What the adversarial suites share: a stock js-libp2p attacker with its own
 * framing (protocols/session §1, written here without Parley's code), a raw
 * session stream as the attacker sees it, a `parley agent` child process
 * to attack, and the victim's resident memory under a flood.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { expect } from 'chai'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { PARLEY_BIN, startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

/** The session protocol id, as protocols/session names it (not imported: the attacker brings its own). */
export const SESSION = '/parley/session/1.0.0'
/** Proof-of-work bits for the test network (low, so records mint quickly). */
export const BITS = 8

// --- the attacker's own framing (protocols/session §1: unsigned LEB128 length, then the bytes)

export function varint (n: number): Uint8Array {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Uint8Array.from(out)
}

export function frame (bytes: Uint8Array): Uint8Array {
  const prefix = varint(bytes.byteLength)
  const out = new Uint8Array(prefix.byteLength + bytes.byteLength)
  out.set(prefix, 0)
  out.set(bytes, prefix.byteLength)
  return out
}

/** A session stream as the attacker sees it: raw frames out, frames in. */
export class RawSession {
  readonly stream: Stream
  readonly frames: Uint8Array[] = []
  /** Resolves when the stream has ended (closed or reset by the far side), with the time it did. */
  readonly ended: Promise<number>
  #buffer = new Uint8Array(0)
  #ended = false
  #waiters: Array<() => void> = []

  constructor (stream: Stream) {
    this.stream = stream
    this.ended = this.#read()
  }

  async #read (): Promise<number> {
    try {
      for await (const chunk of this.stream) {
        const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        const joined = new Uint8Array(this.#buffer.byteLength + bytes.byteLength)
        joined.set(this.#buffer, 0)
        joined.set(bytes, this.#buffer.byteLength)
        this.#buffer = joined
        this.#parse()
      }
    } catch {
      // reset by the far side
    }
    this.#ended = true
    this.#wake()
    return Date.now()
  }

  /** True once the stream has ended. */
  get isEnded (): boolean { return this.#ended }

  #parse (): void {
    while (true) {
      let length = 0
      let shift = 1
      let i = 0
      for (; i < this.#buffer.byteLength; i++) {
        const b = this.#buffer[i] as number
        length += (b & 0x7f) * shift
        shift *= 128
        if ((b & 0x80) === 0) break
      }
      if (i >= this.#buffer.byteLength || this.#buffer.byteLength < i + 1 + length) return
      this.frames.push(this.#buffer.slice(i + 1, i + 1 + length))
      this.#buffer = this.#buffer.slice(i + 1 + length)
      this.#wake()
    }
  }

  #wake (): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  /** Sends `bytes` as one frame. */
  send (bytes: Uint8Array): void {
    this.stream.send(frame(bytes))
  }

  /** Sends bytes as they are (no length prefix). */
  sendRaw (bytes: Uint8Array): void {
    this.stream.send(bytes)
  }

  /** The `n`th frame received (0-based), parsed as JSON. */
  async frame (n: number, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    while (this.frames.length <= n) {
      if (this.#ended) throw new Error(`the stream ended after ${this.frames.length} frames`)
      if (Date.now() > deadline) throw new Error(`no frame ${n} within ${timeoutMs} ms`)
      await new Promise<void>(resolve => { this.#waiters.push(resolve); setTimeout(resolve, 100) })
    }
    return JSON.parse(new TextDecoder().decode(this.frames[n])) as Record<string, unknown>
  }
}

// --- the agent under attack, as a child process

export interface AgentProcess {
  child: ChildProcess
  peer: string
  dataDir: string
  stderr: () => string
  /** The JSON lines it printed on stdout so far. */
  events: () => Array<Record<string, unknown> & { event?: string }>
  alive: () => boolean
  stop: () => Promise<void>
}

export async function startAgentProcess (relay: RelayProcess, handle: string, dataDir: string, args: string[] = []): Promise<AgentProcess> {
  return spawnAgent([
    PARLEY_BIN, 'agent', '--handle', handle, '--relay', relay.tcp.toString(), '--data-dir', dataDir, '--pow-bits', String(BITS), '--min-pow-bits', String(BITS), ...args
  ], dataDir)
}

/**
 * A victim agent with `options` (given to `createAgent`, with the relay, a
 * low proof of work and no WebRTC unless they say otherwise) in a process of
 * its own, serving `slow`, `release` and `big` besides (./victim.ts).
 */
export async function startVictimProcess (relay: RelayProcess, handle: string, dataDir: string, options: Record<string, unknown> = {}): Promise<AgentProcess> {
  const script = fileURLToPath(new URL('./victim.js', import.meta.url))
  return spawnAgent([script, JSON.stringify({ handle, relays: [relay.tcp.toString()], dataDir, powBits: BITS, minPowBits: BITS, webrtc: false, ...options })], dataDir)
}

async function spawnAgent (args: string[], dataDir: string): Promise<AgentProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: 'parley:*' } })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  const alive = (): boolean => child.exitCode === null && child.signalCode === null
  const events = (): Array<Record<string, unknown> & { event?: string }> => out.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown> & { event?: string })
  const deadline = Date.now() + 25_000
  let ready: Record<string, unknown> | undefined
  while (ready === undefined) {
    if (!alive()) throw new Error(`the agent exited with ${child.exitCode}:\n${err.slice(-4000)}`)
    if (Date.now() > deadline) throw new Error(`the agent was not ready in 25 s:\n${out}\n${err.slice(-4000)}`)
    ready = events().find(l => l.event === 'ready')
    if (ready === undefined) await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    child,
    peer: typeof ready.peer === 'string' ? ready.peer : '',
    dataDir,
    stderr: () => err,
    events,
    alive,
    stop: async () => {
      if (alive()) child.kill('SIGKILL')
      await exited
    }
  }
}

/** How {@link createAttacker}'s node differs from the stock one. */
export interface AttackerOptions {
  /**
   * Caps how far yamux lets a stream's receive window grow (its default grows
   * it up to 16 MiB), so that a paused stream stops the far side's sends after
   * a known number of bytes.
   */
  maxStreamWindowSize?: number
  /** Outbound identify streams it may open at once (identify's own default is 1). */
  maxIdentifyStreams?: number
  /** A relay to reserve on (it listens on `<relay>/p2p-circuit`). */
  reserveOn?: Multiaddr
  /** Start it at once (default true); a node that reserves may want to be started, and its refusal caught, by the caller. */
  start?: boolean
}

/** A stock js-libp2p node: TCP, Noise, yamux, circuit relay transport, identify (a random key when `privateKey` is undefined). */
export async function createAttacker (privateKey: PrivateKey | undefined, options: AttackerOptions = {}): Promise<Libp2p> {
  return createLibp2p({
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(options.start === undefined ? {} : { start: options.start }),
    ...(options.reserveOn === undefined ? {} : { addresses: { listen: [options.reserveOn.encapsulate('/p2p-circuit').toString()] } }),
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(options.maxStreamWindowSize === undefined ? {} : { streamOptions: { maxStreamWindowSize: options.maxStreamWindowSize } })],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(options.maxIdentifyStreams === undefined ? {} : { maxOutboundStreams: options.maxIdentifyStreams }) }
  })
}

/** A request to the agent child's control API (src/dashboard/control.ts), with its token: GET, or POST with `body`. */
export async function control<T = unknown> (agent: AgentProcess, path: string, body?: unknown): Promise<T> {
  const { url, token } = JSON.parse(await readFile(join(agent.dataDir, 'control.json'), 'utf8')) as { url: string, token: string }
  const res = await fetch(url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const answer = await res.json() as T
  if (!res.ok) throw Object.assign(new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`), { status: res.status, answer })
  return answer
}

// --- the victim's memory under a flood

/** The bound every flood is held to: the victim's peak RSS below this many times its idle RSS. */
export const RSS_BOUND = 1.5

/** A process's resident set size in bytes (VmRSS in /proc/<pid>/status: Linux). */
export function rssOf (pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (line === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(line[1]) * 1024
}

const mb = (bytes: number): string => (bytes / 1048576).toFixed(0)

/**
 * Samples `pid`'s RSS every `everyMs` from now on (the first sample at once);
 * `peak()` is the highest so far, `stop()` ends sampling and returns it. A
 * process that has exited is no longer sampled.
 */
export function sampleRss (pid: number, everyMs = 20): { peak: () => number, stop: () => number } {
  let peak = 0
  const sample = (): void => {
    try { peak = Math.max(peak, rssOf(pid)) } catch { clearInterval(timer) }
  }
  const timer = setInterval(sample, everyMs)
  timer.unref()
  sample()
  return { peak: () => peak, stop: () => { clearInterval(timer); sample(); return peak } }
}

/**
 * Runs `flood` against the process `pid` while sampling its RSS, then checks
 * the peak stayed below {@link RSS_BOUND} × `idle` (measured beforehand, once
 * the victim was warmed up by a legitimate round trip) and prints the figures
 * once, e.g. `victim RSS idle 148 MB, peak 171 MB (1.16×): 200 held requests`.
 */
export async function underFlood<T> (what: string, pid: number, idle: number, flood: () => Promise<T>): Promise<T> {
  const sampler = sampleRss(pid)
  let result: T
  try {
    result = await flood()
  } finally {
    sampler.stop()
  }
  withinBound(what, idle, sampler.peak())
  return result
}

/** Prints the figures of a flood (see {@link underFlood}) and throws unless `peak` < {@link RSS_BOUND} × `idle`. */
export function withinBound (what: string, idle: number, peak: number): void {
  console.log(`      victim RSS idle ${mb(idle)} MB, peak ${mb(peak)} MB (${(peak / idle).toFixed(2)}×): ${what}`)
  if (!(peak < RSS_BOUND * idle)) throw new Error(`the victim's RSS reached ${mb(peak)} MB under ${what}: more than ${RSS_BOUND} × its idle ${mb(idle)} MB`)
}

// --- the usual target: a relay and a `parley agent` victim as processes, a legitimate client and an attacker here

/** What most adversarial specs start from (see {@link startAgentTarget}). */
export interface AgentTarget {
  relay: RelayProcess
  victim: AgentProcess
  /** The victim's handle. */
  handle: string
  /** A legitimate agent in this process. */
  client: Agent
  /** The attacker's key and its stock js-libp2p node. */
  key: PrivateKey
  attacker: Libp2p
  /** The victim's RSS once warmed up (one legitimate ping answered). */
  idle: number
  /** The victim is up and a legitimate client's ping is answered; resolves with how long the ping took (ms). */
  stillServes: () => Promise<number>
  /** Stops everything and deletes the temporary directory. */
  stop: () => Promise<void>
}

/** How a suite's target differs from the usual one. */
export interface AgentTargetOptions {
  /** The victim is ./victim.ts (`startVictimProcess`) with these `createAgent` options, not `parley agent`. */
  victim?: Record<string, unknown>
  /** More arguments for `parley relay`. */
  relayArgs?: string[]
  /** The attacker's node (see {@link createAttacker}). */
  attacker?: AttackerOptions
}

/** A legitimate client's `ping` to `@handle` in a session of its own: resolves with how long the ping took (ms) once `pong` came back. */
export async function pingTime (client: Agent, handle: string): Promise<number> {
  const session = await client.connect(`@${handle}`)
  try {
    const start = performance.now()
    expect(await session.request('ping')).to.equal('pong')
    return performance.now() - start
  } finally {
    await session.close()
  }
}

/**
 * Starts a relay and a victim agent named `name-…` (child processes), a
 * client and an attacker, in a fresh temporary directory; warms the victim up
 * with a legitimate ping before measuring its idle RSS. What it started is
 * stopped again if a later step fails.
 */
export async function startAgentTarget (name: string, options: AgentTargetOptions = {}): Promise<AgentTarget> {
  const dir = await mkdtemp(join(tmpdir(), `parley-adv-${name}-`))
  const handle = `${name}-${Math.random().toString(36).slice(2, 8)}`
  /** What to undo, the last started first. */
  const undo: Array<() => Promise<unknown>> = [async () => { await rm(dir, { recursive: true, force: true }) }]
  const stop = async (): Promise<void> => {
    for (const step of undo.splice(0)) await step()
  }
  try {
    const relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS, ...(options.relayArgs === undefined ? {} : { args: options.relayArgs }) })
    undo.unshift(async () => relay.stop('SIGKILL'))
    const victim = options.victim === undefined
      ? await startAgentProcess(relay, handle, join(dir, handle))
      : await startVictimProcess(relay, handle, join(dir, handle), options.victim)
    undo.unshift(victim.stop)
    const client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    undo.unshift(async () => { await client.stop() })
    await client.start()
    const key = await generateKeyPair('Ed25519')
    const attacker = await createAttacker(key, options.attacker)
    undo.unshift(async () => { await attacker.stop() })
    const stillServes = async (): Promise<number> => {
      expect(victim.alive(), `the agent exited:\n${victim.stderr().slice(-3000)}`).to.equal(true)
      return pingTime(client, handle)
    }
    await stillServes()
    return { relay, victim, handle, client, key, attacker, idle: rssOf(victim.child.pid ?? 0), stillServes, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * The calling suite's target: started by {@link startAgentTarget} in a
 * `before` hook, stopped in an `after` hook. The object returned is empty
 * until that `before` hook has run; its fields are the target's from then on.
 */
export function useAgentTarget (name: string, options: AgentTargetOptions = {}): AgentTarget {
  const target = {} as AgentTarget
  let started: AgentTarget | undefined
  before(async () => {
    started = await startAgentTarget(name, options)
    Object.assign(target, started)
  })
  after(async () => { await started?.stop() })
  return target
}
