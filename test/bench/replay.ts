/**
 * What the node's persistent replay guard costs (`npm run bench -- --only replay`).
 *
 * 1. One request round trip (`session.request('echo')`) between two sessions
 *    on a direct loopback connection (TCP, Noise, yamux; no relay, so the
 *    difference is not lost in network noise: test/helpers/session-pair.ts).
 *    Both sides use the same kind of guard, so a round trip checks two
 *    envelopes (the request at the callee, the response at the caller):
 *    - memory: the pure `ReplayGuard`, what each session had before;
 *    - store, memory datastore: `ReplayStore` on a `MemoryDatastore` (an
 *      agent without a data dir);
 *    - store, LevelDB: `ReplayStore` on a `LevelDatastore` in a temporary
 *      directory (an agent with a data dir): each check waits for its write.
 *    The three alternate round trip by round trip, so load changes hit all
 *    alike.
 * 2. The check alone on LevelDB: one at a time (each waits for its own
 *    write), and 64 at once (they share batches: group commit), with the
 *    number of datastore batches written.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { ReplayGuard } from '../../src/envelope/index.js'
import type { ReplayCheck } from '../../src/envelope/index.js'
import { ReplayStore } from '../../src/store/index.js'
import { sessionPair } from '../helpers/session-pair.js'
import type { PairHost, SessionPair } from '../helpers/session-pair.js'
import { msStats, mdTable } from './agent-util.js'
import { fmt } from './harness.js'

function host (replayGuard: ReplayCheck): PairHost {
  return {
    handle: undefined,
    record: () => undefined,
    handlers: new Map([['echo', (params) => params.text ?? null]]),
    replayGuard,
    verifyHello: async (peer) => ({ peer, kind: 'anon' }),
    keepAliveMs: 0,
    requestTimeoutMs: 10_000
  }
}

export async function benchReplay (quick: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-replay-'))
  const stores: LevelDatastore[] = []
  const level = async (name: string): Promise<LevelDatastore> => {
    const ds = new LevelDatastore(join(dir, name))
    await ds.open()
    stores.push(ds)
    return ds
  }
  const pairs: SessionPair[] = []
  const out: string[] = []
  try {
    const kinds: Array<{ name: string, make: () => Promise<ReplayCheck> }> = [
      { name: 'memory (`ReplayGuard`)', make: async () => new ReplayGuard() },
      { name: 'store, memory datastore', make: async () => ReplayStore.open(new MemoryDatastore()) },
      { name: 'store, LevelDB', make: async () => ReplayStore.open(await level(`rt-${Math.random().toString(36).slice(2)}`)) }
    ]
    for (const k of kinds) pairs.push(await sessionPair(host(await k.make()), host(await k.make())))
    const rounds = quick ? 1000 : 5000
    const warmup = quick ? 200 : 1000
    const samples: number[][] = kinds.map(() => [])
    for (let i = 0; i < warmup + rounds; i++) {
      // a different order each round, so that none is always first after a pause
      for (let j = 0; j < pairs.length; j++) {
        const at = (i + j) % pairs.length
        const pair = pairs[at] as SessionPair
        const t0 = process.hrtime.bigint()
        await pair.caller.request('echo', { text: 'hello' })
        if (i >= warmup) samples[at]?.push(Number(process.hrtime.bigint() - t0) / 1000)
      }
    }
    const base = msStats(samples[0] ?? [])
    out.push(mdTable(['guard on both sides', 'round trips', 'mean µs', 'p50 µs', 'p99 µs', 'p50 − memory µs'], kinds.map((k, i) => {
      const s = msStats(samples[i] ?? [])
      return [k.name, String(s.n), fmt(s.mean), fmt(s.p50), fmt(s.p99), i === 0 ? '–' : fmt(s.p50 - base.p50)]
    })))

    const checks = quick ? 2000 : 10_000
    const ds = await level('checks')
    const store = await ReplayStore.open(ds)
    const now = Date.now()
    const serial: number[] = []
    for (let i = 0; i < checks; i++) {
      const t0 = process.hrtime.bigint()
      await store.check(`12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba/serial${i}/AAECAwQFBgcICQoLDA0ODw`, now, now)
      serial.push(Number(process.hrtime.bigint() - t0) / 1000)
    }
    const serialCommits = store.commits
    const concurrent: number[] = []
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < checks; i += 64) {
      const t1 = process.hrtime.bigint()
      await Promise.all(Array.from({ length: 64 }, async (_, j) => store.check(`12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba/burst${i + j}/AAECAwQFBgcICQoLDA0ODw`, now, now)))
      concurrent.push(Number(process.hrtime.bigint() - t1) / 1000)
    }
    const totalMs = Number(process.hrtime.bigint() - t0) / 1e6
    const s = msStats(serial)
    const c = msStats(concurrent)
    const burstKeys = Math.ceil(checks / 64) * 64
    out.push('', mdTable(['`ReplayStore.check` on LevelDB', 'checks', 'batches', 'p50 µs', 'p99 µs', 'checks/s'], [
      ['one at a time', String(checks), String(serialCommits), fmt(s.p50), fmt(s.p99), fmt(checks / (s.mean * checks / 1e6), 0)],
      ['64 at once (µs per 64)', String(burstKeys), String(store.commits - serialCommits), fmt(c.p50), fmt(c.p99), fmt(burstKeys / (totalMs / 1000), 0)]
    ]))
    await store.close()
  } finally {
    for (const p of pairs) await p.stop()
    for (const ds of stores) await ds.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
  return out.join('\n')
}
