/**
 * What the node's persistent replay guard costs (`npm run bench -- --only replay`).
 *
 * 1. One request round trip (`session.request('echo')`) between two sessions
 *    on a direct loopback connection (TCP, Noise, yamux; no relay, so the
 *    difference is not lost in network noise: test/helpers/session-pair.ts).
 *    Both sides use the same kind of guard, so a round trip checks two
 *    envelopes: the request at the callee (it has an effect: its key must be
 *    durable before the handler runs) and the response at the caller (no
 *    effect beyond the session: its key may be written behind,
 *    protocols/envelope §6.1):
 *    - memory: the pure `ReplayGuard` (an agent without a data dir);
 *    - journal: `ReplayJournal` in a temporary directory (an agent with a
 *      data dir): each key appended with `writeSync` before the check returns;
 *    - store, memory datastore: `ReplayStore` on a `MemoryDatastore`;
 *    - store, LevelDB: `ReplayStore` on a `LevelDatastore` (what an agent
 *      with a data dir had before the journal; a browser build's
 *      `ReplayStore` on IndexedDB is the same shape): the request waits for
 *      its write, the response does not;
 *    - store, LevelDB, every check awaited: the same, with the response's
 *      check made durable too (as before the rule of §6.1), to show what not
 *      awaiting it saves.
 *    The cases alternate round trip by round trip, so load changes hit all
 *    alike.
 * 2. The check alone: `ReplayStore` on LevelDB one at a time (each waits for
 *    its own write), 64 at once (they share batches: group commit), and one
 *    at a time written behind (`durable` false); `ReplayJournal` one at a time
 *    and 64 at once.
 * 3. Opening a journal holding 100 000 keys (the default capacity), as on a
 *    restart after a busy window.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { ReplayGuard } from '../../src/envelope/index.js'
import type { ReplayCheck } from '../../src/envelope/index.js'
import { ReplayStore } from '../../src/store/index.js'
import { ReplayJournal } from '../../src/agent/index.js'
import { sessionPair } from '../helpers/session-pair.js'
import type { PairHost, SessionPair } from '../helpers/session-pair.js'
import { fmt, mdTable, msStats } from './harness.js'

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

const SIGNER = '12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba'
const NONCE = 'AAECAwQFBgcICQoLDA0ODw'

/** Times `checks` checks made one at a time, and as many made 64 at once (`writes` read after each: the writes each made). */
async function timeChecks (guard: ReplayCheck, checks: number, prefix: string, durable = true, writes = (): number => 0): Promise<{ serial: number[], burst: number[], burstKeys: number, burstMs: number, serialWrites: number, burstWrites: number }> {
  const w0 = writes()
  const now = Date.now()
  const serial: number[] = []
  for (let i = 0; i < checks; i++) {
    const t0 = process.hrtime.bigint()
    await guard.check(`${SIGNER}/${prefix}serial${i}/${NONCE}`, now, now, durable)
    serial.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  const w1 = writes()
  const burst: number[] = []
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < checks; i += 64) {
    const t1 = process.hrtime.bigint()
    await Promise.all(Array.from({ length: 64 }, async (_, j) => guard.check(`${SIGNER}/${prefix}burst${i + j}/${NONCE}`, now, now, durable)))
    burst.push(Number(process.hrtime.bigint() - t1) / 1000)
  }
  const burstMs = Number(process.hrtime.bigint() - t0) / 1e6
  return { serial, burst, burstKeys: Math.ceil(checks / 64) * 64, burstMs, serialWrites: w1 - w0, burstWrites: writes() - w1 }
}

export async function benchReplay (quick: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-replay-'))
  const stores: LevelDatastore[] = []
  const journals: ReplayJournal[] = []
  const level = async (name: string): Promise<LevelDatastore> => {
    const ds = new LevelDatastore(join(dir, name))
    await ds.open()
    stores.push(ds)
    return ds
  }
  const journal = async (name: string): Promise<ReplayJournal> => {
    const j = await ReplayJournal.open(join(dir, name))
    journals.push(j)
    return j
  }
  const unique = (): string => Math.random().toString(36).slice(2)
  const pairs: SessionPair[] = []
  const out: string[] = []
  try {
    const kinds: Array<{ name: string, make: () => Promise<ReplayCheck> }> = [
      { name: 'memory (`ReplayGuard`: an agent without a data dir)', make: async () => new ReplayGuard() },
      { name: '`ReplayJournal` (an agent with a data dir)', make: async () => journal(`rt-${unique()}`) },
      { name: '`ReplayStore`, memory datastore', make: async () => ReplayStore.open(new MemoryDatastore()) },
      { name: '`ReplayStore`, LevelDB (response written behind)', make: async () => ReplayStore.open(await level(`rt-${unique()}`)) },
      {
        name: '`ReplayStore`, LevelDB, every check awaited (as before)',
        make: async () => {
          const store = await ReplayStore.open(await level(`rt-${unique()}`))
          return { check: (key, ts, now) => store.check(key, ts, now, true) }
        }
      }
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
    for (const p of pairs.splice(0)) await p.stop()

    const checks = quick ? 2000 : 10_000
    const rows: string[][] = []
    const row = (name: string, n: number, writes: string, samples: number[], perSecond: number): void => {
      const s = msStats(samples)
      rows.push([name, String(n), writes, fmt(s.p50), fmt(s.p99), fmt(perSecond, 0)])
    }
    const store = await ReplayStore.open(await level('checks'))
    const commits = (): number => store.commits
    const storeRun = await timeChecks(store, checks, 'a', true, commits)
    const behind = await timeChecks(store, checks, 'b', false, commits)
    const j = await journal('checks')
    const journalRun = await timeChecks(j, checks, 'a')
    const rate = (samples: number[]): number => samples.length / (samples.reduce((a, b) => a + b, 0) / 1e6)
    row('`ReplayStore` on LevelDB, one at a time', checks, `${storeRun.serialWrites} batches`, storeRun.serial, rate(storeRun.serial))
    row('`ReplayStore` on LevelDB, 64 at once (µs per 64)', storeRun.burstKeys, `${storeRun.burstWrites} batches`, storeRun.burst, storeRun.burstKeys / (storeRun.burstMs / 1000))
    row('`ReplayStore` on LevelDB, written behind, one at a time', checks, `${behind.serialWrites} batches`, behind.serial, rate(behind.serial))
    row('`ReplayJournal`, one at a time', checks, `${checks} appends`, journalRun.serial, rate(journalRun.serial))
    row('`ReplayJournal`, 64 at once (µs per 64)', journalRun.burstKeys, `${journalRun.burstKeys} appends`, journalRun.burst, journalRun.burstKeys / (journalRun.burstMs / 1000))
    out.push('', mdTable(['the check alone', 'checks', 'writes', 'p50 µs', 'p99 µs', 'checks/s'], rows))
    await store.close()

    // a restart after a busy window: a journal holding the default capacity of keys
    const full = await journal('full')
    const now = Date.now()
    const keys = 100_000
    for (let i = 0; i < keys; i++) full.check(`${SIGNER}/full${i}/${NONCE}`, now, now)
    await full.close()
    const t0 = process.hrtime.bigint()
    const reopened = await journal('full')
    const openMs = Number(process.hrtime.bigint() - t0) / 1e6
    out.push('', `Opening a journal of ${reopened.size} keys (${reopened.lines + reopened.segments} lines in ${reopened.segments} segments): ${fmt(openMs)} ms.`)
  } finally {
    for (const p of pairs) await p.stop()
    for (const j of journals) await j.close().catch(() => {})
    for (const ds of stores) await ds.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
  return out.join('\n')
}
