import { expect } from 'chai'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ReplayJournal, REPLAY_JOURNAL_HEADER } from '../../src/agent/index.js'
import type { ReplayJournalOptions } from '../../src/agent/index.js'
import { ReplayStoreErrorCode } from '../../src/store/index.js'
import { signEnvelope, verifyEnvelope } from '../../src/envelope/index.js'
import { createIdentity } from '../../src/identity/index.js'
import { sessionPair } from '../helpers/session-pair.js'
import type { PairHost } from '../helpers/session-pair.js'

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

/** A disk that fails the next `failures` writes, the first `partial` bytes of each written before it fails. */
class FailingDisk {
  failures = 0
  partial = 0
  readonly write = (fd: number, text: string): void => {
    if (this.failures > 0) {
      this.failures--
      if (this.partial > 0) writeSync(fd, text.slice(0, this.partial))
      throw new Error('disk full (test)')
    }
    writeSync(fd, text)
  }
}

describe('replay journal (src/store/replay-journal)', () => {
  let dir: string

  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'parley-journal-')) })
  afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

  /** The segment files, oldest first. */
  const segments = (): string[] => readdirSync(dir).filter(n => n.endsWith('.log')).sort()
  /** Every line of every segment. */
  const lines = (): string[] => segments().flatMap(n => readFileSync(join(dir, n), 'utf8').split('\n').filter(l => l !== ''))
  const open = async (options: ReplayJournalOptions = {}): Promise<ReplayJournal> => ReplayJournal.open(dir, { windowMs: WINDOW, now: () => T, ...options })

  it('fresh (the line is in the file when check returns, no promise), replayed after, too-old outside the window', async () => {
    const journal = await open()
    expect(journal.check('peer/id1/nonce1', T, T), 'synchronous').to.equal('fresh')
    expect(lines()).to.deep.equal([REPLAY_JOURNAL_HEADER, `${T} peer/id1/nonce1`])
    expect(journal.check('peer/id1/nonce1', T, T + 1000)).to.equal('replayed')
    expect(journal.check('peer/id1/nonce2', T, T + 1000, false), 'durable or not, written at once').to.equal('fresh')
    expect(journal.check('peer/id2/nonce1', T - WINDOW - 1, T)).to.equal('too-old')
    expect(journal.size).to.equal(2)
    expect(lines()).to.have.length(3)
    await journal.close()
  })

  it('loads the keys still inside the window on open: after close, and after a kill (the file simply left as it was)', async () => {
    let journal = await open()
    expect(journal.check('peer/a/n', T, T)).to.equal('fresh')
    expect(journal.check('peer/b/n', T + 10_000, T + 10_000)).to.equal('fresh')
    await journal.close()
    journal = await open({ now: () => T + 30_000 })
    expect(journal.size).to.equal(2)
    expect(journal.check('peer/a/n', T, T + 30_000)).to.equal('replayed')
    expect(journal.check('peer/b/n', T + 10_000, T + 30_000)).to.equal('replayed')
    expect(journal.check('peer/c/n', T + 30_000, T + 30_000)).to.equal('fresh')
    // not closed: as if killed; a second process opens the same directory
    const after = await open({ now: () => T + 40_000 })
    expect(after.size).to.equal(3)
    expect(after.check('peer/c/n', T + 30_000, T + 40_000)).to.equal('replayed')
    // a window later, a's key is gone (too old to matter) and c's kept
    const later = await open({ now: () => T + WINDOW + 5000 })
    expect(later.size).to.equal(2)
    expect(later.check('peer/a/n', T, T + WINDOW + 5000)).to.equal('too-old')
    await Promise.all([journal.close(), after.close(), later.close()])
  })

  it('tolerates a torn last line (a kill mid-write), junk lines and files that are not segments', async () => {
    const journal = await open()
    journal.check('peer/a/n', T, T)
    journal.check('peer/b/n', T, T)
    const last = join(dir, segments().at(-1) as string)
    appendFileSync(last, `${T} peer/torn/n`) // no newline: the write was cut
    await journal.close()
    // a segment with junk between good lines, one without the header, and a file of someone else's
    writeFileSync(join(dir, '000000000007.log'), `${REPLAY_JOURNAL_HEADER}\nnot a record\n${T} peer/c/n\n${T} bad key with spaces\n99999999999999999999 peer/big/n\nF x\n\n${T} peer/d/n\n`)
    writeFileSync(join(dir, '000000000008.log'), `${T} peer/no-header/n\n`)
    writeFileSync(join(dir, 'notes.txt'), 'left alone')
    const again = await open({ now: () => T + 1000 })
    expect(again.size).to.equal(4)
    for (const k of ['peer/a/n', 'peer/b/n', 'peer/c/n', 'peer/d/n']) expect(again.check(k, T, T + 1000), k).to.equal('replayed')
    expect(again.check('peer/torn/n', T, T + 1000), 'the torn line was not a record').to.equal('fresh')
    expect(segments(), 'the file without the header is deleted; a new segment is started').to.not.include('000000000008.log')
    expect(segments().at(-1)).to.equal('000000000009.log')
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).to.equal('left alone')
    await again.close()
  })

  it('a new segment per segmentMs; whole segments are deleted once everything in them is past the window, on open too', async () => {
    const journal = await open({ segmentMs: 20_000 })
    expect(journal.segments).to.equal(1)
    journal.check('peer/s1/n', T, T)
    journal.check('peer/s2/n', T + 20_000, T + 20_000)
    journal.check('peer/s3/n', T + 40_000, T + 40_000)
    expect(journal.segments).to.equal(3)
    // s1 (ts T) is past the window at T + 60 001: its segment goes with the next check (a refused one too)
    expect(journal.check('peer/s2/n', T + 20_000, T + 60_001)).to.equal('replayed')
    expect(journal.segments).to.equal(2)
    expect(journal.deleted).to.equal(1)
    expect(lines().filter(l => l.includes('s1'))).to.deep.equal([])
    journal.check('peer/s4/n', T + 60_001, T + 70_000)
    await journal.close()
    // on open, 3 segments are left past the window but the last: deleted, and a new one started
    const again = await open({ now: () => T + 101_000 })
    expect(segments()).to.have.length(2)
    expect(again.size).to.equal(1)
    expect(again.check('peer/s4/n', T + 60_001, T + 101_000)).to.equal('replayed')
    await again.close()
  })

  it('holds at most capacity keys; the floor it raises is in the journal and kept across reopen', async () => {
    const journal = await open({ capacity: 100, bucketMs: 1000 })
    for (let i = 0; i < 100; i++) expect(journal.check(`peer/k${i}/n`, T + Math.floor(i / 10) * 1000, T + 20_000)).to.equal('fresh')
    expect(journal.check('peer/new/n', T + 19_000, T + 20_000)).to.equal('fresh')
    expect(journal.size).to.equal(91)
    expect(journal.floor).to.equal(T + 1000)
    expect(lines()).to.include(`F ${T + 1000}`)
    await journal.close()
    const again = await open({ capacity: 100, bucketMs: 1000, now: () => T + 21_000 })
    expect(again.size).to.equal(91)
    expect(again.floor).to.equal(T + 1000)
    expect(again.check('peer/k0/n', T, T + 21_000)).to.equal('too-old')
    expect(again.check('peer/k10/n', T + 1000, T + 21_000)).to.equal('replayed')
    await again.close()
    // a lower capacity than last run: the floor rises on load, the journal is compacted at once
    const smaller = await open({ capacity: 40, bucketMs: 1000, now: () => T + 22_000 })
    expect(smaller.size).to.be.at.most(40)
    expect(smaller.floor).to.be.above(T + 1000)
    expect(smaller.compactions).to.equal(1)
    expect(segments()).to.have.length(1)
    await smaller.close()
    const third = await open({ capacity: 40, bucketMs: 1000, now: () => T + 23_000 })
    expect(third.floor).to.equal(smaller.floor)
    expect(third.size).to.equal(smaller.size)
    await third.close()
  })

  it('a flood cannot grow the disk: past twice the capacity in lines, the journal is compacted into one segment', async () => {
    const journal = await open({ capacity: 100, bucketMs: 1000 })
    // keys dated ahead of the clock, so no segment expires by time; the full guard drops its oldest bucket
    for (let i = 0; i < 1000; i++) expect(journal.check(`peer/flood${i}/n`, T + 50_000 + i * 10, T)).to.equal('fresh')
    expect(journal.compactions).to.be.at.least(3)
    // compacted once it holds 2 × capacity + 16 lines; a check may append a floor and its key
    expect(journal.lines).to.be.at.most(2 * 100 + 16 + 1)
    expect(lines().length).to.equal(journal.lines + segments().length)
    const held = journal.size
    await journal.close()
    const again = await open({ capacity: 100, bucketMs: 1000 })
    expect(again.size).to.equal(held)
    expect(again.check('peer/flood999/n', T + 59_990, T)).to.equal('replayed')
    await again.close()
  })

  it('a failed write is ERR_REPLAY_WRITE, the key forgotten (not acted on); a line torn by it does not spoil the next', async () => {
    const disk = new FailingDisk()
    const journal = await open({ write: disk.write })
    disk.failures = 1
    disk.partial = 10
    expect(await codeOf(async () => journal.check('peer/a/n', T, T))).to.equal(ReplayStoreErrorCode.WRITE)
    expect(journal.size).to.equal(0)
    // delivered again once the disk is back: accepted once
    expect(journal.check('peer/a/n', T, T)).to.equal('fresh')
    expect(journal.check('peer/a/n', T, T)).to.equal('replayed')
    // a key written behind (durable false) whose write fails: its envelope is acted on, so it stays in memory
    disk.failures = 1
    expect(journal.check('peer/b/n', T, T, false)).to.equal('fresh')
    expect(journal.check('peer/b/n', T, T, false)).to.equal('replayed')
    journal.check('peer/c/n', T, T)
    await journal.close()
    const again = await open()
    expect(again.size).to.equal(2)
    expect(again.check('peer/a/n', T, T)).to.equal('replayed')
    expect(again.check('peer/c/n', T, T)).to.equal('replayed')
    await again.close()
  })

  it('verifyEnvelope rejects with the journal\'s error when the key cannot be written, and accepts once after', async () => {
    const alice = await createIdentity({ kind: 'agent' })
    const disk = new FailingDisk()
    const replayGuard = await ReplayJournal.open(dir, { write: disk.write })
    const { bytes } = await signEnvelope(alice, { to: { handle: 'bob' }, body: { jsonrpc: '2.0', id: 1, method: 'ping' } })
    disk.failures = 1
    expect(await codeOf(async () => verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard }))).to.equal(ReplayStoreErrorCode.WRITE)
    const { envelope } = await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard })
    expect(envelope.body).to.deep.equal({ jsonrpc: '2.0', id: 1, method: 'ping' })
    try {
      await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard })
      expect.fail('a replay was accepted')
    } catch (err) {
      expect((err as { code: string }).code).to.equal('ERR_REPLAYED')
    }
    await replayGuard.close()
  })

  it('refuses keys that are not signer/id/nonce, a ts that is not an integer, and every check once closed', async () => {
    const journal = await open()
    for (const bad of ['', 'a//b', '/a', 'a b', 'a\nb', 'x'.repeat(200)]) {
      expect(await codeOf(async () => journal.check(bad, T, T)), JSON.stringify(bad)).to.equal(ReplayStoreErrorCode.INVALID_ARGUMENT)
    }
    expect(await codeOf(async () => journal.check('peer/id/n', 1.5, T))).to.equal(ReplayStoreErrorCode.INVALID_ARGUMENT)
    await journal.close()
    expect(await codeOf(async () => journal.check('peer/id/n', T, T))).to.equal(ReplayStoreErrorCode.CLOSED)
  })

  describe('in sessions', function () {
    this.timeout(30_000)

    function host (journal: ReplayJournal, handled: string[]): PairHost {
      return {
        handle: undefined,
        record: () => undefined,
        handlers: new Map([['work', (params) => { handled.push(String(params.n)); return 'done' }]]),
        replayGuard: journal,
        verifyHello: async (peer) => ({ peer, kind: 'anon' }),
        keepAliveMs: 0
      }
    }

    it('a key that cannot be written: the request is not handled, and the session ends with ERR_REPLAY_WRITE', async () => {
      const handled: string[] = []
      const disk = new FailingDisk()
      const callerDir = mkdtempSync(join(tmpdir(), 'parley-journal-'))
      const pair = await sessionPair(host(await ReplayJournal.open(callerDir), []), host(await ReplayJournal.open(dir, { write: disk.write }), handled))
      try {
        const closed = new Promise<Error | undefined>(resolve => { pair.callee.addEventListener('close', (e) => { resolve(e.detail) }, { once: true }) })
        disk.failures = 1
        const answer = await pair.caller.request('work', { n: 1 }, { timeoutMs: 5000 }).then(() => 'answered', (err: Error) => err.name)
        expect(answer).to.equal('SessionClosedError')
        const err = await closed as Error & { code?: string }
        expect(err?.name).to.equal('ReplayStoreError')
        expect(err?.code).to.equal(ReplayStoreErrorCode.WRITE)
        expect(handled, 'requests handled').to.deep.equal([])
      } finally {
        await pair.stop()
        rmSync(callerDir, { recursive: true, force: true })
      }
    })
  })
})
