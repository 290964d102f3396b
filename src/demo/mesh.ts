/**
 * A local mesh for `parley demo` and the scenario tests: one relay node on
 * 127.0.0.1 (ephemeral port, data in a temporary directory) and as many
 * agents as a scenario needs, none of them listening on anything but the
 * relay's circuits and WebRTC.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRelayNode } from '../node/relay.js'
import type { RelayNode } from '../node/relay.js'
import { createAgent } from '../agent/agent.js'
import type { Agent, AgentOptions } from '../agent/agent.js'

/** Proof of work minted in demo records: enough to exercise it, quick to mint. */
export const DEMO_POW_BITS = 8

/** A running local mesh: one relay on loopback and the agents started on it. */
export interface DemoMesh {
  /** The relay node. */
  readonly relay: RelayNode
  /** The relay's TCP address, with `/p2p/<id>`. */
  readonly relayAddr: string
  /** A temporary directory, removed by {@link stop}. */
  readonly dir: string
  /** Creates and starts an agent on this mesh. */
  agent: (options: Partial<AgentOptions>) => Promise<Agent>
  /** The agents started so far. */
  readonly agents: Agent[]
  /** Closes every agent, stops the relay and removes the temporary directory (unless it was given). */
  stop: () => Promise<void>
}

/** Starts a relay on loopback; agents join it with {@link DemoMesh.agent}. */
export async function startMesh (options: { dir?: string } = {}): Promise<DemoMesh> {
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'parley-demo-'))
  const relay = await createRelayNode({ dataDir: join(dir, 'relay'), listen: ['/ip4/127.0.0.1/tcp/0'], minPowBits: DEMO_POW_BITS, metrics: false })
  const relayAddr = relay.multiaddrs().find(a => a.toString().includes('/tcp/'))?.toString()
  if (relayAddr === undefined) throw new Error('the demo relay has no TCP address')
  const agents: Agent[] = []
  const rtcConfiguration = { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration
  return {
    relay,
    relayAddr,
    dir,
    agents,
    async agent (o) {
      const a = await createAgent({ relays: [relayAddr], powBits: DEMO_POW_BITS, minPowBits: DEMO_POW_BITS, rtcConfiguration, ...o })
      agents.push(a)
      await a.start()
      return a
    },
    async stop () {
      await Promise.allSettled(agents.map(async a => a.close()))
      await relay.stop()
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true })
    }
  }
}
