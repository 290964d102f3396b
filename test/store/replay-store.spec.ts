import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import type { Batch, Datastore } from 'interface-datastore'
import { ReplayStore, ReplayStoreErrorCode, REPLAY_FLOOR_KEY, REPLAY_KEY_PREFIX, replayKey } from '../../src/store/index.js'
import { signEnvelope, verifyEnvelope } from '../../src/envelope/index.js'
import type { ReplayCheck } from '../../src/envelope/index.js'
import type { EnvelopeRecord } from '../../src/session/session.js'
import { createIdentity } from '../../src/identity/index.js'
import { fromUtf8 } from '../../src/crypto/bytes.js'
import { sessionPair } from '../helpers/session-pair.js'
import type { PairHost } from '../helpers/session-pair.js'
import { CountingDatastore, LevelDir } from './helpers.js'

const WINDOW = 60_000
const T = 1_800_000_000_000

async function codeOf (run: () => unknown): Promise<string> {
  try {
    await run()
  } catch (err) {
    expect(err).to.have.property('name', 'ReplayStoreError')
    return (err as { code: string }).code
  }
  throw new Error('expected a ReplayStoreError')
}

/** The replay keys in `ds`, without the prefix, with their `ts`. */
async function onDisk (ds: Datastore): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for await (const { key, value } of ds.query({ prefix: REPLAY_KEY_PREFIX })) out[key.toString().slice(REPLAY_KEY_PREFIX.length)] = Number(fromUtf8(value))
  return out
}

/** A memory datastore whose batch commits wait until `release()` (to see what happens before a write completes). */
class GatedDatastore extends MemoryDatastore {
  #gate: Promise<void> | undefined
  #open: (() => void) | undefined

  hold (): void { this.#gate = new Promise(resolve => { this.#open = resolve }) }
  release (): void { this.#open?.(); this.#gate = undefined }

  override batch (): Batch {
    const inner = super.batch()
    return {
      put: (key, value) => { inner.put(key, value) },
      delete: (key) => { inner.delete(key) },
      commit: async () => {
        await this.#gate
        await inner.commit()
      }
    }
  }
}

/** `bytes`, checked by `replayGuard` as the envelope of a response from `signer`, is ERR_REPLAYED. */
async function expectReplayed (bytes: Uint8Array, signer: string, replayGuard: ReplayCheck): Promise<void> {
  try {
    await verifyEnvelope(bytes, { expectedSigner: signer, replayGuard, replayDurable: () => false })
  } catch (err) {
    expect((err as { code: string }).code).to.equal('ERR_REPLAYED')
    return
  }
  expect.fail('a replay was accepted')
}

describe('replay store (src/store/replay-store)', () => {
  it('fresh once the key is written, replayed after, too-old outside the window', async () => {
    const ds = new MemoryDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW })
    expect(await store.check('peer/id1/nonce1', T, T)).to.equal('fresh')
    expect(await onDisk(ds)).to.deep.equal({ 'peer/id1/nonce1': T })
    expect(await store.check('peer/id1/nonce1', T, T + 1000)).to.equal('replayed')
    expect(await store.check('peer/id1/nonce2', T, T + 1000)).to.equal('fresh')
    expect(await store.check('peer/id2/nonce1', T - WINDOW - 1, T)).to.equal('too-old')
    expect(store.size).to.equal(2)
  })

  it('answers fresh only after the datastore write completed; a replay meanwhile is refused at once', async () => {
    const ds = new GatedDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW })
    ds.hold()
    let settled: string | undefined
    const first = Promise.resolve(store.check('peer/id/n', T, T)).then(v => { settled = v; return v })
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(settled, 'answered before its write completed').to.equal(undefined)
    expect(await ds.has(replayKey('peer/id/n'))).to.equal(false)
    expect(store.check('peer/id/n', T, T), 'a replay while the first is being written').to.equal('replayed')
    ds.release()
    expect(await first).to.equal('fresh')
    expect(await ds.has(replayKey('peer/id/n'))).to.equal(true)
  })

  it('durable false (an envelope whose effect stays within its session): fresh at once, the key written behind', async () => {
    const ds = new GatedDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW })
    ds.hold()
    expect(store.check('peer/response/n', T, T, false), 'answered at once, not a promise').to.equal('fresh')
    expect(store.check('peer/response/n', T, T, false), 'a replay meanwhile').to.equal('replayed')
    expect(store.check('peer/response/n', T, T), 'a replay, durable or not').to.equal('replayed')
    // a durable check made meanwhile still waits for the write
    let settled: string | undefined
    const request = Promise.resolve(store.check('peer/request/n', T, T)).then(v => { settled = v; return v })
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(settled).to.equal(undefined)
    expect(await ds.has(replayKey('peer/response/n'))).to.equal(false)
    ds.release()
    expect(await request).to.equal('fresh')
    await store.flush()
    expect(await onDisk(ds)).to.deep.equal({ 'peer/response/n': T, 'peer/request/n': T })
  })

  it('a key written behind whose write fails stays in memory (its envelope was acted on): a replay is still refused', async () => {
    const ds = new CountingDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW })
    ds.failures = 1
    expect(store.check('peer/response/n', T, T, false)).to.equal('fresh')
    await store.flush()
    expect(await onDisk(ds)).to.deep.equal({})
    expect(store.check('peer/response/n', T, T, false)).to.equal('replayed')
    // the next write goes on
    expect(await store.check('peer/request/n', T, T)).to.equal('fresh')
    expect(await onDisk(ds)).to.deep.equal({ 'peer/request/n': T })
  })

  it('group-commits: keys checked while a write is in flight share the next batch', async () => {
    const ds = new CountingDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW })
    const before = ds.commits
    const verdicts = await Promise.all(Array.from({ length: 500 }, async (_, i) => store.check(`peer/id${i}/n`, T, T)))
    expect(verdicts.every(v => v === 'fresh')).to.equal(true)
    expect(ds.commits - before, 'batches for 500 keys checked at once').to.equal(1)
    // a stream of checks, each made while the previous write is in flight
    const spread: Array<Promise<unknown>> = []
    for (let i = 0; i < 200; i++) {
      spread.push(Promise.resolve(store.check(`peer/more${i}/n`, T, T)))
      if (i % 10 === 0) await Promise.resolve()
    }
    await Promise.all(spread)
    expect(ds.commits - before - 1).to.be.below(200)
    expect(Object.keys(await onDisk(ds))).to.have.length(700)
  })

  it('holds at most capacity keys, on disk too: dropped keys are deleted and the raised floor is kept', async () => {
    const ds = new MemoryDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW, capacity: 100, bucketMs: 1000 })
    for (let i = 0; i < 100; i++) expect(await store.check(`peer/k${i}/n`, T + Math.floor(i / 10) * 1000, T + 20_000)).to.equal('fresh')
    expect(await store.check('peer/new/n', T + 19_000, T + 20_000)).to.equal('fresh')
    expect(store.size).to.equal(91)
    expect(store.floor).to.equal(T + 1000)
    const disk = await onDisk(ds)
    expect(Object.keys(disk)).to.have.length(91)
    expect(disk['peer/k0/n'], 'a dropped key').to.equal(undefined)
    expect(fromUtf8(await ds.get(new Key(REPLAY_FLOOR_KEY)))).to.equal(String(T + 1000))
    // after a restart the floor still covers the keys it dropped
    const again = await ReplayStore.open(ds, { windowMs: WINDOW, capacity: 100, bucketMs: 1000, now: () => T + 21_000 })
    expect(again.size).to.equal(91)
    expect(again.floor).to.equal(T + 1000)
    expect(await again.check('peer/k0/n', T, T + 21_000)).to.equal('too-old')
    expect(await again.check('peer/k10/n', T + 1000, T + 21_000)).to.equal('replayed')
  })

  it('loads the keys still inside the window on open (LevelDB, closed and reopened)', async () => {
    const dir = new LevelDir()
    try {
      let ds = await dir.open()
      let store = await ReplayStore.open(ds, { windowMs: WINDOW, now: () => T })
      expect(await store.check('peer/a/n', T, T)).to.equal('fresh')
      expect(await store.check('peer/b/n', T + 10_000, T + 10_000)).to.equal('fresh')
      await store.close()
      await ds.close()
      ds = await dir.open()
      store = await ReplayStore.open(ds, { windowMs: WINDOW, now: () => T + 30_000 })
      expect(store.size).to.equal(2)
      expect(await store.check('peer/a/n', T, T + 30_000)).to.equal('replayed')
      expect(await store.check('peer/b/n', T + 10_000, T + 30_000)).to.equal('replayed')
      expect(await store.check('peer/c/n', T + 30_000, T + 30_000)).to.equal('fresh')
      await store.close()
      await ds.close()
    } finally {
      dir.remove()
    }
  })

  it('deletes expired keys from the datastore: on open, and as their buckets expire', async () => {
    const ds = new MemoryDatastore()
    let store = await ReplayStore.open(ds, { windowMs: WINDOW, now: () => T })
    await store.check('peer/old/n', T, T)
    await store.check('peer/newer/n', T + 50_000, T + 50_000)
    // a check past the old key's window drops its bucket: the delete goes out with the next write
    expect(await store.check('peer/newest/n', T + 70_000, T + 70_000)).to.equal('fresh')
    expect(Object.keys(await onDisk(ds)).sort()).to.deep.equal(['peer/newer/n', 'peer/newest/n'])
    // a replayed check that expires a bucket writes its delete too
    expect(await store.check('peer/newest/n', T + 70_000, T + 115_000)).to.equal('replayed')
    await store.flush()
    expect(Object.keys(await onDisk(ds))).to.deep.equal(['peer/newest/n'])
    await store.close()
    // on open, keys past the window (and junk under the prefix) are deleted, not loaded
    await ds.put(new Key(REPLAY_KEY_PREFIX + 'peer/junk/n'), new TextEncoder().encode('not a number'))
    store = await ReplayStore.open(ds, { windowMs: WINDOW, now: () => T + 200_000 })
    expect(store.size).to.equal(0)
    expect(await onDisk(ds)).to.deep.equal({})
  })

  it('a failed write is ERR_REPLAY_WRITE for every check waiting on it, and their keys are forgotten', async () => {
    const ds = new CountingDatastore()
    const store = await ReplayStore.open(ds, { windowMs: WINDOW })
    ds.failures = 1
    const [a, b] = await Promise.allSettled([store.check('peer/a/n', T, T), store.check('peer/b/n', T, T)])
    for (const r of [a, b]) {
      expect(r?.status).to.equal('rejected')
      const err = (r as PromiseRejectedResult).reason as { name: string, code: string, cause: Error }
      expect(err.name).to.equal('ReplayStoreError')
      expect(err.code).to.equal(ReplayStoreErrorCode.WRITE)
      expect(err.cause.message).to.equal('disk full (test)')
    }
    expect(await onDisk(ds)).to.deep.equal({})
    expect(store.size).to.equal(0)
    // none of them was acted on: delivered again once the disk is back, each is accepted once
    expect(await store.check('peer/a/n', T, T)).to.equal('fresh')
    expect(await store.check('peer/a/n', T, T)).to.equal('replayed')
  })

  it('verifyEnvelope rejects with the store\'s error, not the envelope, when the key cannot be written', async () => {
    const alice = await createIdentity({ kind: 'agent' })
    const ds = new CountingDatastore()
    const replayGuard = await ReplayStore.open(ds)
    const { bytes } = await signEnvelope(alice, { to: { handle: 'bob' }, body: { jsonrpc: '2.0', id: 1, method: 'ping' } })
    ds.failures = 1
    expect(await codeOf(async () => verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard }))).to.equal(ReplayStoreErrorCode.WRITE)
    const { envelope } = await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard })
    expect(envelope.body).to.deep.equal({ jsonrpc: '2.0', id: 1, method: 'ping' })
    try {
      await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard })
      expect.fail('a replay was accepted')
    } catch (err) {
      expect((err as { code: string }).code).to.equal('ERR_REPLAYED')
    }
  })

  it('refuses keys that are not signer/id/nonce, a ts that is not an integer, and every check once closed', async () => {
    const store = await ReplayStore.open(new MemoryDatastore())
    for (const bad of ['', 'a//b', '/a', 'a/b/', 'a b', 'a/../b', 'x'.repeat(200)]) {
      expect(await codeOf(async () => store.check(bad, T, T)), JSON.stringify(bad)).to.equal(ReplayStoreErrorCode.INVALID_ARGUMENT)
    }
    // what is recorded must load back: a ts is a non-negative integer
    for (const ts of [1.5, -1, NaN, Infinity]) expect(await codeOf(async () => store.check('peer/id/n', ts, T)), String(ts)).to.equal(ReplayStoreErrorCode.INVALID_ARGUMENT)
    await store.close()
    expect(await codeOf(async () => store.check('peer/id/n', T, T))).to.equal(ReplayStoreErrorCode.CLOSED)
  })

  describe('in sessions', function () {
    this.timeout(30_000)

    function host (store: ReplayStore, handled: string[]): PairHost {
      return {
        handle: undefined,
        record: () => undefined,
        handlers: new Map([['work', (params) => { handled.push(String(params.n)); return 'done' }]]),
        replayGuard: store,
        verifyHello: async (peer) => ({ peer, kind: 'anon' }),
        keepAliveMs: 0
      }
    }

    it('one store shared by a node\'s sessions: an envelope accepted on one is ERR_REPLAYED on another', async () => {
      const handled: string[] = []
      const pair = await sessionPair(host(await ReplayStore.open(new MemoryDatastore()), []), host(await ReplayStore.open(new MemoryDatastore()), handled))
      try {
        const sent: EnvelopeRecord[] = []
        pair.caller.addEventListener('envelope', (e) => { if (e.detail.dir === 'out') sent.push(e.detail) })
        expect(await pair.caller.request('work', { n: 1 })).to.equal('done')
        const request = sent.find(r => r.body !== undefined && 'method' in r.body && r.body.method === 'work')
        if (request === undefined) throw new Error('the request was not seen')
        const second = await pair.another()
        // (its own request id 1 first, so the refusal of the replayed id 1 answers nothing pending)
        expect(await second.caller.request('work', { n: 2 })).to.equal('done')
        const rejected = new Promise<string>(resolve => { second.callee.addEventListener('rejected', (e) => { resolve(e.detail) }, { once: true }) })
        await second.caller.sendRaw(request.bytes)
        expect(await rejected).to.equal('ERR_REPLAYED')
        expect(await second.caller.request('work', { n: 3 }), 'the second session goes on').to.equal('done')
        expect(handled).to.deep.equal(['1', '2', '3'])
      } finally {
        await pair.stop()
      }
    })

    it('a request waits for its key to be durable; a response and a session/ping do not', async () => {
      const handled: string[] = []
      const callerDs = new GatedDatastore()
      const calleeDs = new GatedDatastore()
      const pair = await sessionPair(host(await ReplayStore.open(callerDs), []), host(await ReplayStore.open(calleeDs), handled))
      try {
        // the caller's store cannot write: the responses it receives are acted on all the same
        callerDs.hold()
        expect(await pair.caller.request('work', { n: 1 }), 'a response, its key not written yet').to.equal('done')
        expect(await pair.caller.request('session/ping'), 'a pong').to.equal('pong')
        callerDs.release()
        // the callee's store cannot write: it answers a ping, but its handler does not run until it can
        // (and the frames behind that request wait with it: a session acts on its frames in order)
        calleeDs.hold()
        expect(await pair.caller.request('session/ping'), 'a session/ping, its key not written yet').to.equal('pong')
        const answer = pair.caller.request('work', { n: 2 })
        await new Promise(resolve => setTimeout(resolve, 50))
        expect(handled, 'handled before the key was written').to.deep.equal(['1'])
        calleeDs.release()
        expect(await answer).to.equal('done')
        expect(handled).to.deep.equal(['1', '2'])
      } finally {
        callerDs.release()
        calleeDs.release()
        await pair.stop()
      }
    })

    it('a replayed response is refused (ERR_REPLAYED) on its session, on another, and after the store is reopened', async () => {
      const callerDs = new MemoryDatastore()
      const callerStore = await ReplayStore.open(callerDs)
      const pair = await sessionPair(host(callerStore, []), host(await ReplayStore.open(new MemoryDatastore()), []))
      try {
        const responses: EnvelopeRecord[] = []
        pair.callee.addEventListener('envelope', (e) => { if (e.detail.dir === 'out' && e.detail.body !== undefined && !('method' in e.detail.body)) responses.push(e.detail) })
        expect(await pair.caller.request('work', { n: 1 })).to.equal('done')
        const response = responses[0]
        if (response === undefined) throw new Error('the response was not seen')
        const refusals = (session: typeof pair.caller): string[] => {
          const seen: string[] = []
          session.addEventListener('rejected', (e) => { seen.push(e.detail) })
          return seen
        }
        const first = refusals(pair.caller)
        await pair.callee.sendRaw(response.bytes)
        // a request made since (id 2) is not resolved by the replayed response to id 1
        expect(await pair.caller.request('work', { n: 2 })).to.equal('done')
        expect(first).to.deep.equal(['ERR_REPLAYED'])
        // another session of the caller's node, with its own request id 1 pending
        const second = await pair.another()
        const secondRefusals = refusals(second.caller)
        const pending = second.caller.request('work', { n: 3 })
        await second.callee.sendRaw(response.bytes)
        expect(await pending).to.equal('done')
        for (let i = 0; i < 100 && secondRefusals.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
        expect(secondRefusals).to.deep.equal(['ERR_REPLAYED'])
        // written behind, and there once the write is done: a reopened store (a restart) refuses it too
        await callerStore.flush()
        const reopened = await ReplayStore.open(callerDs)
        await expectReplayed(response.bytes, pair.calleeIdentity.peerIdString, reopened)
      } finally {
        await pair.stop()
      }
    })

    it('a key that cannot be written: the request is not handled, and the session ends with ERR_REPLAY_WRITE', async () => {
      const handled: string[] = []
      const ds = new CountingDatastore()
      const pair = await sessionPair(host(await ReplayStore.open(new MemoryDatastore()), []), host(await ReplayStore.open(ds), handled))
      try {
        const closed = new Promise<Error | undefined>(resolve => { pair.callee.addEventListener('close', (e) => { resolve(e.detail) }, { once: true }) })
        ds.failures = 1
        const answer = await pair.caller.request('work', { n: 1 }, { timeoutMs: 5000 }).then(() => 'answered', (err: Error) => err.name)
        expect(answer).to.equal('SessionClosedError')
        const err = await closed as Error & { code?: string }
        expect(err?.name).to.equal('ReplayStoreError')
        expect(err?.code).to.equal(ReplayStoreErrorCode.WRITE)
        expect(handled, 'requests handled').to.deep.equal([])
      } finally {
        await pair.stop()
      }
    })
  })
})
