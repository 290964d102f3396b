import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { EventLog, EventType, verifyLog, logKey, logEntryHash, EventLogErrorCode } from '../../src/store/index.js'
import type { ExportedLog, LogEntry } from '../../src/store/index.js'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { fromUtf8, toBase64url, utf8 } from '../../src/crypto/bytes.js'
import { CountingDatastore, LevelDir } from './helpers.js'

/** The code (and seq) of the EventLogError `run` throws. */
async function failure (run: () => Promise<unknown>): Promise<{ code: string, seq: number | undefined }> {
  try {
    await run()
  } catch (err) {
    expect(err).to.have.property('name', 'EventLogError')
    return { code: (err as { code: string }).code, seq: (err as { seq?: number }).seq }
  }
  throw new Error('expected an EventLogError')
}

async function fill (log: EventLog, n: number, from = 0): Promise<LogEntry[]> {
  const out: LogEntry[] = []
  for (let i = from; i < from + n; i++) out.push(await log.append(EventType.REQUEST_IN, { i }))
  return out
}

/** Signs `entry` again, as it now is, with `signer`. */
async function resign (entry: LogEntry, signer: Identity): Promise<void> {
  const unsigned: Record<string, unknown> = { ...entry }
  delete unsigned.sig
  entry.sig = toBase64url(await signer.sign(utf8('parley/event-log/v1\n' + canonicalize(unsigned))))
}

function clone (log: ExportedLog): ExportedLog {
  return structuredClone(log)
}

describe('event log (src/store/event-log)', () => {
  let me: Identity
  let mallory: Identity

  before(async () => {
    me = await createIdentity({ kind: 'agent' })
    mallory = await createIdentity({ kind: 'agent' })
  })

  describe('a key handover (§3.1)', () => {
    it('the old key signs the handover; later entries, a reopened log and the export go on under the new key', async () => {
      const ds = new MemoryDatastore()
      const next = await createIdentity({ kind: 'agent' })
      const log = await EventLog.open(ds, me)
      await log.append(EventType.SESSION_OPEN, { session: 's1', peer: mallory.peerIdString, kind: 'agent' })
      // appended together with the handover: the entry queued after it is the new key's
      const [handover, after] = await Promise.all([log.handOver(next), log.append(EventType.SESSION_CLOSE, { session: 's1' })])
      expect(handover).to.include({ type: 'log.handover', by: me.peerIdString })
      expect(handover.sig, 'signed by the key handing over').to.be.a('string')
      expect(handover.data).to.deep.equal({ next: next.peerIdString })
      expect(after.by).to.equal(next.peerIdString)
      await log.close()
      try {
        await EventLog.open(ds, me)
        expect.fail('the old key reopened a log it handed over')
      } catch (err) {
        expect(err).to.have.property('code', EventLogErrorCode.WRONG_SIGNER)
      }
      const reopened = await EventLog.open(ds, next, { verify: true })
      expect(reopened.peer, 'the log is still the one the first key began').to.equal(me.peerIdString)
      await reopened.append(EventType.TRUST_CHANGE, { peer: mallory.peerIdString, from: 0, to: 1 })
      const result = await verifyLog(await reopened.export())
      expect(result).to.include({ peer: me.peerIdString, signer: next.peerIdString, count: 4 })
    })

    it('a log whose last entry is the handover opens under the key it names, and only that one', async () => {
      const ds = new MemoryDatastore()
      const next = await createIdentity({ kind: 'agent' })
      const log = await EventLog.open(ds, me)
      await log.append(EventType.SESSION_OPEN, { session: 's1', peer: mallory.peerIdString, kind: 'agent' })
      await log.handOver(next)
      await log.close()
      for (const who of [me, mallory]) {
        try {
          await EventLog.open(ds, who)
          expect.fail('opened by a key the log was not handed to')
        } catch (err) {
          expect(err).to.have.property('code', EventLogErrorCode.WRONG_SIGNER)
        }
      }
      const reopened = await EventLog.open(ds, next)
      expect((await reopened.append(EventType.SESSION_CLOSE, { session: 's1' })).by).to.equal(next.peerIdString)
      try {
        await reopened.handOver(next)
        expect.fail('handed over to itself')
      } catch (err) {
        expect(err).to.have.property('code', EventLogErrorCode.INVALID_ARGUMENT)
      }
    })
  })

  describe('append and verify', () => {
    it('chains signed entries that a third party verifies', async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      expect(log.head).to.equal(undefined)
      expect(log.length).to.equal(0)
      const a = await log.append(EventType.SESSION_OPEN, { session: 's1', peer: mallory.peerIdString, kind: 'agent' })
      const b = await log.append(EventType.REQUEST_IN, { session: 's1', envelope: { body: { jsonrpc: '2.0', id: 1, method: 'ping' } } })
      const c = await log.append(EventType.SESSION_CLOSE, { session: 's1' })
      expect([a.seq, b.seq, c.seq]).to.deep.equal([0, 1, 2])
      expect(a).to.not.have.property('prev')
      expect(b.prev).to.equal(logEntryHash(a))
      expect(c.prev).to.equal(logEntryHash(b))
      expect(a.by).to.equal(me.peerIdString)
      expect(log.head).to.deep.equal({ seq: 2, hash: logEntryHash(c), ts: c.ts })

      const exported = await log.export()
      expect(exported).to.deep.equal({ v: 1, type: 'parley/event-log', peer: me.peerIdString, entries: [a, b, c] })
      expect(await verifyLog(exported)).to.deep.equal({ peer: me.peerIdString, signer: me.peerIdString, count: 3, head: log.head })
      // as JSON text too, pretty-printed or not
      expect((await verifyLog(JSON.stringify(exported, null, 2))).count).to.equal(3)
      expect((await verifyLog(utf8(JSON.stringify(exported)))).count).to.equal(3)
    })

    it('stores each entry as its canonical bytes under /parley/log/<16-digit seq>', async () => {
      const ds = new MemoryDatastore()
      const log = await EventLog.open(ds, me)
      const entry = await log.append('custom.thing', { z: 1, a: [true, null, 'é'] })
      expect(logKey(0).toString()).to.equal('/parley/log/0000000000000000')
      expect(fromUtf8(await ds.get(logKey(0)))).to.equal(canonicalize(entry))
    })

    it('copies data: later changes to the caller\'s object do not reach the log', async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      const data = { n: 1, nested: { k: 'v' } as Record<string, unknown> }
      const entry = await log.append('x.y', data)
      data.nested.k = 'changed'
      expect(entry.data).to.deep.equal({ n: 1, nested: { k: 'v' } })
      expect((await log.get(0))?.data).to.deep.equal({ n: 1, nested: { k: 'v' } })
      await verifyLog(await log.export())
    })

    it('refuses bad types and data with ERR_LOG_INVALID_ARGUMENT', async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      for (const type of ['', 'Session.Open', '1abc', 'a b', 'x'.repeat(65)]) {
        expect((await failure(async () => log.append(type, {}))).code, type).to.equal(EventLogErrorCode.INVALID_ARGUMENT)
      }
      for (const data of [[1], null, 'text', new Date(), { n: NaN }, { s: '\ud800' }, { big: 'x'.repeat(1024 * 1024) }]) {
        expect((await failure(async () => log.append('x', data as Record<string, unknown>))).code).to.equal(EventLogErrorCode.INVALID_ARGUMENT)
      }
      expect(log.length).to.equal(0)
    })

    it('recordCanonical writes the entry record would write for the parsed text, without parsing it; a text that is not an object\'s is refused', async () => {
      const [a, b] = [new MemoryDatastore(), new MemoryDatastore()]
      const clock = (): number => 1_800_000_000_000
      const [viaData, viaText] = await Promise.all([EventLog.open(a, me, { now: clock }), EventLog.open(b, me, { now: clock })])
      const text = canonicalize({ envelope: { body: { id: 1, jsonrpc: '2.0', method: 'ping' }, v: 1 }, peer: mallory.peerIdString, session: 's1', verified: true })
      await viaData.record(EventType.REQUEST_IN, JSON.parse(text) as Record<string, unknown>)
      await viaText.recordCanonical(EventType.REQUEST_IN, text)
      expect(fromUtf8(await b.get(logKey(0)))).to.equal(fromUtf8(await a.get(logKey(0))))
      expect((await verifyLog(await viaText.export())).count).to.equal(1)
      for (const bad of ['[1]', '"text"', '', 'null']) {
        expect((await failure(async () => viaText.recordCanonical('x', bad))).code, bad).to.equal(EventLogErrorCode.INVALID_ARGUMENT)
      }
      expect(viaText.length).to.equal(1)
    })

    it('keeps ts from running backwards when the clock does', async () => {
      const times = [1000, 2000, 1500, 2500]
      const log = await EventLog.open(new MemoryDatastore(), me, { now: () => times.shift() ?? 0 })
      const entries = await fill(log, 4)
      expect(entries.map(e => e.ts)).to.deep.equal([1000, 2000, 2000, 2500])
      await verifyLog(await log.export())
    })

    it('lists entries from a seq, of some types, up to a limit', async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      for (let i = 0; i < 10; i++) await log.append(i % 2 === 0 ? 'even.one' : 'odd.one', { i })
      const seqs = async (q: Parameters<EventLog['entries']>[0]): Promise<number[]> => {
        const out: number[] = []
        for await (const e of log.entries(q)) out.push(e.seq)
        return out
      }
      expect(await seqs({})).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(await seqs({ since: 7 })).to.deep.equal([7, 8, 9])
      expect(await seqs({ type: 'odd.one' })).to.deep.equal([1, 3, 5, 7, 9])
      expect(await seqs({ type: ['odd.one', 'even.one'], since: 3, limit: 4 })).to.deep.equal([3, 4, 5, 6])
      expect(await seqs({ since: 10 })).to.deep.equal([])
      expect(await seqs({ limit: 0 })).to.deep.equal([])
      expect((await log.get(4))?.data).to.deep.equal({ i: 4 })
      expect(await log.get(10)).to.equal(undefined)
    })
  })

  describe('durability and restarts', () => {
    it('a reopened LevelDB log keeps its entries and continues the chain', async () => {
      const dir = new LevelDir()
      try {
        let ds = await dir.open()
        let log = await EventLog.open(ds, me)
        await fill(log, 3)
        const head = log.head
        await log.close()
        await ds.close()

        ds = await dir.open()
        log = await EventLog.open(ds, me, { verify: true })
        expect(log.head).to.deep.equal(head)
        const next = await log.append(EventType.SESSION_CLOSE, { after: 'restart' })
        expect(next.seq).to.equal(3)
        expect(next.prev).to.equal(head?.hash)
        await fill(log, 2, 4)
        const result = await verifyLog(await log.export())
        expect(result.count).to.equal(6)
        await log.close()
        await ds.close()
      } finally {
        dir.remove()
      }
    })

    it('finds the head of logs of every length on reopen', async () => {
      const ds = new MemoryDatastore()
      let log = await EventLog.open(ds, me)
      for (let n = 1; n <= 40; n++) {
        await log.append('tick', { n })
        log = await EventLog.open(ds, me)
        expect(log.length, `length ${n}`).to.equal(n)
      }
      await verifyLog(await log.export())
    })

    it('refuses to continue a log that belongs to another peer', async () => {
      const ds = new MemoryDatastore()
      await fill(await EventLog.open(ds, me), 2)
      expect(await failure(async () => EventLog.open(ds, mallory))).to.deep.equal({ code: EventLogErrorCode.WRONG_SIGNER, seq: 1 })
    })

    it('notices damaged storage: the last entry on open, any entry with verify', async () => {
      const ds = new MemoryDatastore()
      await fill(await EventLog.open(ds, me), 5)
      const tamper = async (seq: number): Promise<void> => {
        const entry = JSON.parse(fromUtf8(await ds.get(logKey(seq)))) as LogEntry
        entry.data = { i: 99 }
        await ds.put(logKey(seq), utf8(canonicalize(entry)))
      }
      await tamper(2)
      await EventLog.open(ds, me) // only the last entry is checked by default
      expect(await failure(async () => EventLog.open(ds, me, { verify: true }))).to.deep.equal({ code: EventLogErrorCode.BAD_SIGNATURE, seq: 2 })
      await tamper(4)
      expect(await failure(async () => EventLog.open(ds, me))).to.deep.equal({ code: EventLogErrorCode.BAD_SIGNATURE, seq: 4 })
    })

    it('a failed write rejects its append and leaves the head where it was', async () => {
      const ds = new CountingDatastore()
      const log = await EventLog.open(ds, me)
      await fill(log, 2)
      const head = log.head
      ds.failures = 1
      let error: unknown
      await log.append('x', { lost: true }).catch(err => { error = err })
      expect(String(error)).to.include('disk full')
      expect(log.head).to.deep.equal(head)
      const next = await log.append('x', { kept: true })
      expect(next.seq).to.equal(2)
      expect((await verifyLog(await log.export())).count).to.equal(3)
    })

    it('a lone append is one put; appends arriving during a write are one batch', async () => {
      const ds = new CountingDatastore()
      const log = await EventLog.open(ds, me)
      await log.append('x', {})
      expect([ds.puts, ds.commits]).to.deep.equal([1, 0])
      await Promise.all(Array.from({ length: 50 }, async (_, i) => log.append('x', { i })))
      expect(ds.puts + ds.commits).to.be.lessThan(10)
      expect(log.length).to.equal(51)
    })

    it('close waits for queued appends, then refuses more', async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      const pending = Array.from({ length: 20 }, async (_, i) => log.append('x', { i }))
      await log.close()
      expect(log.length).to.equal(20)
      await Promise.all(pending)
      expect((await failure(async () => log.append('x', {}))).code).to.equal(EventLogErrorCode.CLOSED)
    })
  })

  describe('concurrency', () => {
    it('many concurrent appends form one chain, in call order', async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      const entries = await Promise.all(Array.from({ length: 500 }, async (_, i) => log.append(EventType.REQUEST_IN, { i })))
      entries.forEach((e, i) => {
        expect(e.seq).to.equal(i)
        expect(e.data).to.deep.equal({ i })
      })
      expect((await verifyLog(await log.export())).count).to.equal(500)
    })

    it('concurrent appends on LevelDB, interleaved with reads, survive a reopen', async () => {
      const dir = new LevelDir()
      try {
        let ds = await dir.open()
        let log = await EventLog.open(ds, me)
        const work: Array<Promise<unknown>> = []
        for (let i = 0; i < 200; i++) {
          work.push(log.append('x', { i }))
          if (i % 50 === 0) work.push(log.export())
        }
        await Promise.all(work)
        await log.close()
        await ds.close()
        ds = await dir.open()
        log = await EventLog.open(ds, me, { verify: true })
        expect(log.length).to.equal(200)
        const exported = await log.export()
        expect(exported.entries.map(e => e.data.i)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i))
        await ds.close()
      } finally {
        dir.remove()
      }
    })
  })

  describe('tampered exports', () => {
    let good: ExportedLog

    before(async () => {
      const log = await EventLog.open(new MemoryDatastore(), me)
      await fill(log, 6)
      good = await log.export()
    })

    const cases: Array<[string, (x: ExportedLog) => void | Promise<void>, string, number | undefined]> = [
      ['changed data', x => { (x.entries[2] as LogEntry).data = { i: 42 } }, 'ERR_LOG_BAD_SIGNATURE', 2],
      ['changed type', x => { (x.entries[5] as LogEntry).type = 'other.thing' }, 'ERR_LOG_BAD_SIGNATURE', 5],
      ['changed ts', x => { (x.entries[1] as LogEntry).ts += 1 }, 'ERR_LOG_BAD_SIGNATURE', 1],
      ['removed entry', x => { x.entries.splice(3, 1) }, 'ERR_LOG_SEQ', 3],
      ['removed first entry', x => { x.entries.shift() }, 'ERR_LOG_SEQ', 0],
      ['reordered entries', x => { x.entries.reverse() }, 'ERR_LOG_SEQ', 0],
      ['swapped neighbours', x => { const [a, b] = x.entries.splice(1, 2); x.entries.splice(1, 0, b as LogEntry, a as LogEntry) }, 'ERR_LOG_SEQ', 1],
      ['flipped signature', x => {
        const e = x.entries[4] as LogEntry
        const sig = Buffer.from(e.sig ?? '', 'base64url')
        sig[40] = (sig[40] as number) ^ 0x10
        e.sig = toBase64url(sig)
      }, 'ERR_LOG_BAD_SIGNATURE', 4],
      ['swapped signer', async x => {
        const e = x.entries[3] as LogEntry
        e.by = mallory.peerIdString
        await resign(e, mallory)
      }, 'ERR_LOG_WRONG_SIGNER', 3],
      ['whole log claimed by another peer', x => { x.peer = mallory.peerIdString }, 'ERR_LOG_WRONG_SIGNER', 0],
      ['rewritten and re-signed by the owner', async x => {
        const e = x.entries[2] as LogEntry
        e.data = { i: 'rewritten' }
        await resign(e, me)
      }, 'ERR_LOG_BROKEN_CHAIN', 3],
      ['trailing garbage entry', x => { (x.entries as unknown[]).push({ note: 'appended' }) }, 'ERR_LOG_MALFORMED', 6],
      ['extra export member', x => { (x as unknown as Record<string, unknown>).signature = 'x' }, 'ERR_LOG_MALFORMED', undefined],
      ['extra entry member', x => { (x.entries[0] as unknown as Record<string, unknown>).note = 'x' }, 'ERR_LOG_MALFORMED', 0]
    ]

    for (const [name, tamper, code, seq] of cases) {
      it(`${name}: ${code}${seq === undefined ? '' : ` at ${seq}`}`, async () => {
        const x = clone(good)
        await tamper(x)
        expect(await failure(async () => verifyLog(x))).to.deep.equal({ code, seq })
      })
    }

    it('trailing text after the JSON: ERR_LOG_MALFORMED', async () => {
      expect((await failure(async () => verifyLog(JSON.stringify(good) + '{}'))).code).to.equal('ERR_LOG_MALFORMED')
    })

    it('a cut-short log verifies alone, but not against the head seen before', async () => {
      const x = clone(good)
      const last = x.entries.pop() as LogEntry
      const known = { seq: last.seq, hash: logEntryHash(last) }
      expect((await verifyLog(x)).count).to.equal(5)
      expect(await failure(async () => verifyLog(x, { knownHead: known }))).to.deep.equal({ code: 'ERR_LOG_HEAD_MISMATCH', seq: 5 })
      expect((await verifyLog(good, { knownHead: known })).count).to.equal(6)
    })
  })
})
