/**
 * Relay capacity on this machine: how many concurrent reservations one relay
 * holds, then how many concurrent relayed circuits, with the relay's memory.
 *
 * Light clients (relay-util.ts `createRampClient`, all in this process)
 * reserve a slot as they start; they are added in steps (at most 8 starting
 * at once, under the relay's 10 pending inbound connections) until the target
 * or until the relay refuses a reservation, and the relay's RSS is read
 * after each step. Then each reserved client dials the next one's circuit
 * address (a ring: one circuit per pair of neighbours, R circuits for R
 * clients), all held open together; circuits still open after a second are
 * counted from the clients' side (and by the relay's own metric for Parley).
 */
import type { Connection, Libp2p } from '@libp2p/interface'
import type { BenchRelay } from './relay-procs.js'
import { createRampClient, pool } from './relay-util.js'
import { errorText } from './harness.js'

export interface CapacityOptions { target: number, step: number }

export interface CapacityResult {
  idleRss: number
  steps: Array<{ reservations: number, rss: number }>
  reserved: number
  /** The first refusal, when the relay refused a reservation. */
  refused: string | undefined
  refusedCount: number
  circuitsTried: number
  circuitsOpen: number
  relayCountsCircuits: number | undefined
  circuitFailures: string[]
  rssWithCircuits: number
  peakRss: number
}

const CONCURRENCY = 8

/** The relay's answer when a client could not start: `RESERVATION_REFUSED` sits deep in libp2p's listen error. */
function refusal (err: unknown): string {
  const status = /reservation failed with status (\w+)/.exec(err instanceof Error ? err.message : String(err))?.[1]
  return status ?? errorText(err)
}
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

export async function benchCapacity (relay: BenchRelay, options: CapacityOptions): Promise<CapacityResult> {
  await sleep(1000)
  const idleRss = (await relay.memory()).rss
  const steps = [{ reservations: 0, rss: idleRss }]
  const clients: Libp2p[] = []
  let refused: string | undefined
  let refusedCount = 0
  try {
    while (clients.length < options.target && refused === undefined) {
      const n = Math.min(options.step, options.target - clients.length)
      const started = await pool(Array.from({ length: n }), CONCURRENCY, async () => createRampClient(relay.tcp))
      for (const r of started) {
        if (r.status === 'fulfilled') clients.push(r.value)
        else { refusedCount++; refused ??= refusal(r.reason) }
      }
      await sleep(300)
      steps.push({ reservations: clients.length, rss: (await relay.memory()).rss })
    }

    const ring = clients.length >= 3 ? clients : clients.slice(0, clients.length === 2 ? 1 : 0)
    const dials = await pool(ring, CONCURRENCY, async (client, i) => {
      const target = clients[(i + 1) % clients.length] as Libp2p
      return client.dial(relay.tcp.encapsulate(`/p2p-circuit/p2p/${target.peerId.toString()}`), { signal: AbortSignal.timeout(10_000) })
    })
    await sleep(1000)
    const open = dials.filter((d): d is PromiseFulfilledResult<Connection> => d.status === 'fulfilled' && d.value.status === 'open' && d.value.limits !== undefined)
    const failures = dials.filter((d): d is PromiseRejectedResult => d.status === 'rejected').map(d => errorText(d.reason))
    const memory = await relay.memory()
    return {
      idleRss,
      steps,
      reserved: clients.length,
      refused,
      refusedCount,
      circuitsTried: ring.length,
      circuitsOpen: open.length,
      relayCountsCircuits: await relay.circuits(),
      circuitFailures: [...new Set(failures)],
      rssWithCircuits: memory.rss,
      peakRss: memory.hwm
    }
  } finally {
    await pool(clients, 16, async c => c.stop())
  }
}
