import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { TrustStore, TrustErrorCode, trustKey } from '../../src/store/index.js'
import type { TrustSuggestion } from '../../src/store/index.js'
import { createIdentity } from '../../src/identity/index.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { LevelDir } from './helpers.js'

async function code (run: () => unknown): Promise<string> {
  try {
    await run()
  } catch (err) {
    expect(err).to.have.property('name', 'TrustError')
    return (err as { code: string }).code
  }
  throw new Error('expected a TrustError')
}

describe('trust store (src/store/trust)', () => {
  let me: string
  let bob: string
  let carol: string

  before(async () => {
    [me, bob, carol] = (await Promise.all([1, 2, 3].map(async () => createIdentity({ kind: 'agent' })))).map(i => i.peerIdString) as [string, string, string]
  })

  it('anyone not in the store is unknown (level 0)', async () => {
    const trust = await TrustStore.open(new MemoryDatastore())
    expect(trust.get(bob)).to.deep.equal({ peer: bob, level: 0, updated: 0, outcomes: { ok: 0, failed: 0, streak: 0 } })
    expect(trust.list()).to.deep.equal([])
    expect(trust.suggestion(bob)).to.equal(undefined)
  })

  it('a human sets levels and limits; the change is announced', async () => {
    const trust = await TrustStore.open(new MemoryDatastore(), { now: () => 1234 })
    const changes: Array<[number, number]> = []
    trust.addEventListener('change', e => changes.push([e.detail.from, e.detail.entry.level]))
    await trust.set(bob, 1, { by: me, handle: 'bob', note: 'my plumber' })
    const entry = await trust.set(bob, 2, { by: me, limits: { maxAmount: 200, currency: 'GBP', methods: ['purchase', 'purchase'] } })
    expect(entry).to.deep.equal({
      peer: bob,
      handle: 'bob',
      level: 2,
      updated: 1234,
      by: me,
      limits: { maxAmount: 200, currency: 'GBP', methods: ['purchase'] },
      outcomes: { ok: 0, failed: 0, streak: 0 }
    })
    expect(trust.get(bob)).to.deep.equal(entry)
    expect(changes).to.deep.equal([[0, 1], [1, 2]])
    // lowering is a decision too, and clears limits not given again
    expect((await trust.set(bob, 0, { by: 'alice (laptop)' })).limits).to.equal(undefined)
    expect(trust.list().map(e => [e.peer, e.level])).to.deep.equal([[bob, 0]])
  })

  it('refuses bad arguments with ERR_TRUST_INVALID_ARGUMENT', async () => {
    const trust = await TrustStore.open(new MemoryDatastore())
    const bad: Array<() => unknown> = [
      () => trust.get('not-a-peer'),
      async () => trust.set('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', 1, { by: me }),
      async () => trust.set(bob, 3 as 0, { by: me }),
      async () => trust.set(bob, 1, {} as { by: string }),
      async () => trust.set(bob, 1, { by: '' }),
      async () => trust.set(bob, 2, { by: me, limits: { maxAmount: 100 } }),
      async () => trust.set(bob, 2, { by: me, limits: { maxAmount: -1, currency: 'GBP' } }),
      async () => trust.set(bob, 2, { by: me, limits: { maxAmount: Infinity, currency: 'GBP' } }),
      async () => trust.set(bob, 2, { by: me, limits: { maxAmount: 1, currency: 'gbp' } }),
      async () => trust.set(bob, 2, { by: me, limits: { methods: 'purchase' as unknown as string[] } }),
      async () => trust.set(bob, 2, { by: me, limits: { cap: 1 } as never }),
      async () => trust.set(bob, 1, { by: me, handle: '@Bob' }),
      async () => trust.recordOutcome('x', true),
      async () => TrustStore.open(new MemoryDatastore(), { suggestAfter: { known: 0 } })
    ]
    for (const run of bad) expect(await code(run)).to.equal(TrustErrorCode.INVALID_ARGUMENT)
    expect(trust.list()).to.deep.equal([])
  })

  it('suggests known after 3 successes in a row, never changing the level itself', async () => {
    const trust = await TrustStore.open(new MemoryDatastore())
    const events: TrustSuggestion[] = []
    trust.addEventListener('suggestion', e => events.push(e.detail))
    expect(await trust.recordOutcome(bob, true, { handle: 'bob' })).to.equal(undefined)
    expect(await trust.recordOutcome(bob, true)).to.equal(undefined)
    expect(await trust.recordOutcome(bob, false)).to.equal(undefined) // a failure restarts the run
    expect(await trust.recordOutcome(bob, true)).to.equal(undefined)
    expect(await trust.recordOutcome(bob, true)).to.equal(undefined)
    const hint = await trust.recordOutcome(bob, true)
    expect(hint).to.include({ peer: bob, handle: 'bob', from: 0, to: 1, streak: 3 })
    expect(hint?.reason).to.be.a('string').and.include('3 successful')
    expect((await trust.recordOutcome(bob, true))?.streak).to.equal(4)
    expect(events).to.have.length(1) // announced once, when reached
    expect(trust.get(bob).level).to.equal(0)
    expect(trust.get(bob).outcomes).to.deep.equal({ ok: 6, failed: 1, streak: 4 })
    expect(trust.suggestions().map(s => s.peer)).to.deep.equal([bob])

    // the human accepts: level 1, the run restarts; 10 more suggest trusted
    await trust.set(bob, 1, { by: me })
    expect(trust.suggestion(bob)).to.equal(undefined)
    for (let i = 0; i < 9; i++) expect(await trust.recordOutcome(bob, true)).to.equal(undefined)
    expect(await trust.recordOutcome(bob, true)).to.include({ from: 1, to: 2, streak: 10 })
    expect(trust.get(bob).level).to.equal(1)

    // nothing is suggested beyond trusted
    await trust.set(bob, 2, { by: me })
    for (let i = 0; i < 20; i++) expect(await trust.recordOutcome(bob, true)).to.equal(undefined)
  })

  it('suggestion thresholds are configurable, and Infinity turns one off', async () => {
    const trust = await TrustStore.open(new MemoryDatastore(), { suggestAfter: { known: 1, trusted: Infinity } })
    expect(await trust.recordOutcome(carol, true)).to.include({ from: 0, to: 1 })
    await trust.set(carol, 1, { by: me })
    for (let i = 0; i < 50; i++) expect(await trust.recordOutcome(carol, true)).to.equal(undefined)
  })

  it('concurrent outcomes are all counted', async () => {
    const trust = await TrustStore.open(new MemoryDatastore())
    await Promise.all(Array.from({ length: 40 }, async (_, i) => trust.recordOutcome(bob, i % 4 !== 0)))
    expect(trust.get(bob).outcomes.ok + trust.get(bob).outcomes.failed).to.equal(40)
    expect(trust.get(bob).outcomes.failed).to.equal(10)
  })

  it('hands out copies: changing one does not change the store', async () => {
    const trust = await TrustStore.open(new MemoryDatastore())
    const entry = await trust.set(bob, 2, { by: me, limits: { maxAmount: 10, currency: 'EUR' } })
    entry.level = 0
    if (entry.limits !== undefined) entry.limits.maxAmount = 1e9
    trust.get(bob).outcomes.ok = 99
    expect(trust.get(bob)).to.deep.include({ level: 2, limits: { maxAmount: 10, currency: 'EUR' } })
    expect(trust.get(bob).outcomes.ok).to.equal(0)
  })

  it('persists across a restart (LevelDB), and forgets on request', async () => {
    const dir = new LevelDir()
    try {
      let ds = await dir.open()
      let trust = await TrustStore.open(ds)
      await trust.set(bob, 2, { by: me, handle: 'bob', limits: { maxAmount: 150, currency: 'GBP' } })
      for (let i = 0; i < 3; i++) await trust.recordOutcome(carol, true)
      const before = trust.list()
      await trust.close()
      expect(await code(async () => trust.set(bob, 1, { by: me }))).to.equal(TrustErrorCode.CLOSED)
      await ds.close()

      ds = await dir.open()
      trust = await TrustStore.open(ds)
      expect(trust.list()).to.deep.equal(before)
      expect(trust.suggestion(carol)).to.include({ from: 0, to: 1 })
      await trust.forget(bob)
      await ds.close()

      ds = await dir.open()
      trust = await TrustStore.open(ds)
      expect(trust.get(bob).level).to.equal(0)
      expect(trust.list().map(e => e.peer)).to.deep.equal([carol])
      await ds.close()
    } finally {
      dir.remove()
    }
  })

  it('skips a damaged record on open: that contact is back to level 0', async () => {
    const ds = new MemoryDatastore()
    const trust = await TrustStore.open(ds)
    await trust.set(bob, 2, { by: me })
    await trust.set(carol, 1, { by: me })
    await ds.put(trustKey(bob), utf8('{"peer":'))
    const reopened = await TrustStore.open(ds)
    expect(reopened.get(bob).level).to.equal(0)
    expect(reopened.get(carol).level).to.equal(1)
  })
})
