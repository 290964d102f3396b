/**
 * Two `parley relay` processes on fixed loopback ports (so a relay killed and
 * restarted on its data dir is found where agents' records say), and agents
 * with data dirs on both: the world the agent-level mail specs run in.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Polls `check` every 100 ms; throws after `timeoutMs`. */
export async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** The two relays and the agents a spec started. */
export interface TwoRelays {
  /** The spec's temporary directory (relays' and agents' data dirs under it). */
  readonly dir: string
  /** The relays, by index. */
  readonly relays: RelayProcess[]
  /** (Re)starts relay `i` on its data dir and ports. */
  startRelay: (i: number) => Promise<RelayProcess>
  /** Starts an agent with a handle on both relays; resolves once its record lists them both. */
  agent: (handle: string) => Promise<Agent>
  /** Closes an agent the spec started. */
  close: (a: Agent) => Promise<void>
}

/** Registers `before` / `after` hooks that start two relays and clean everything up; the world is ready in the tests. */
export function useTwoRelays (prefix: string): TwoRelays {
  const relays: RelayProcess[] = []
  const ports: number[] = []
  const running = new Set<Agent>()
  let dir = ''
  const world: TwoRelays = {
    get dir () { return dir },
    relays,
    startRelay: async (i) => {
      const others = relays.filter((r, j) => j !== i && r !== undefined && r.child.exitCode === null && r.child.signalCode === null)
      relays[i] = await startRelayProcess({
        dataDir: join(dir, `relay-${i}`),
        listen: [`/ip4/127.0.0.1/tcp/${ports[i] ?? 0}`, `/ip4/127.0.0.1/tcp/${ports[i + 2] ?? 0}/ws`],
        args: others.flatMap(r => ['--bootstrap', r.tcp.toString()])
      })
      return relays[i] as RelayProcess
    },
    agent: async (handle) => {
      const a = await createAgent({ handle, dataDir: join(dir, handle), relays: relays.map(r => r.tcp.toString()), powBits: 8, minPowBits: 8, webrtc: false, connectTimeoutMs: 3000 })
      await a.start()
      running.add(a)
      await until(`${handle}'s record to list both relays`, () => a.record?.relays.length === relays.length, 30_000)
      return a
    },
    close: async (a) => { running.delete(a); await a.close() }
  }
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix))
    ports.push(await freePort(), await freePort(), await freePort(), await freePort())
    await world.startRelay(0)
    await world.startRelay(1)
  })
  after(async () => {
    for (const a of running) await a.close().catch(() => {})
    for (const r of relays) await r?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })
  return world
}
