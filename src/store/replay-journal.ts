/**
 * A Node agent's replay guard, kept in an append-only journal in its data
 * dir (`<dataDir>/replay/`): one for all the node's sessions, and still
 * there after a restart (a `kill -9` included), so an envelope accepted once
 * inside the freshness window is refused as `ERR_REPLAYED` on any session,
 * before or after the node restarted (protocols/envelope §6.1).
 *
 * Node-only (`node:fs`): it is exported from the agent assembly
 * (`parley-mesh/agent`), which picks it, not from `src/store/index.ts`
 * (`parley-mesh/store`), which a browser build imports; a browser assembly
 * uses the datastore-backed `ReplayStore`.
 *
 * Each accepted key is one line, `<ts> <signer>/<id>/<nonce>\n`, appended
 * with a synchronous `writeSync` on a file opened for appending: `check`
 * answers `fresh` once the line is in the kernel (a few µs, no hop to the
 * thread pool), so the key survives the process being killed (like
 * LevelDB's log without fsync, not necessarily the machine losing power).
 * Every key is written at once, so the `durable` flag makes no difference
 * here, except when the write fails: a durable check then forgets its key
 * and rejects with {@link ReplayStoreError} `ERR_REPLAY_WRITE` (the envelope
 * is not acted on), one with `durable` false logs the failure and keeps its
 * key in memory (its envelope is acted on all the same).
 *
 * The journal is a series of segments, `<seq>.log` (seq a 12-digit
 * decimal), each opening with the line `parley-replay 1`. A new one is
 * started on each open and once the current one is `segmentMs` old (default
 * the window); when the full guard raises its floor the line `F <floor>` is
 * appended (and repeated at the head of each new segment). A whole segment
 * is deleted once every `ts` and floor in it is older than the window (or
 * below the floor): there is no rewriting of files to expire keys. So that a
 * flood of keys cannot grow the disk without bound while segments wait to
 * expire, once the live segments hold twice the capacity in lines the
 * journal is compacted: a new segment is written with the
 * floor and the keys the guard holds (at most `capacity`), then the older
 * segments are deleted. Loading thus reads at most about twice the capacity in
 * lines (~120 bytes each: ~24 MB at the default 100 000 keys; a few KB for
 * a node that saw a few hundred envelopes in the last window).
 *
 * {@link ReplayJournal.open} reads the segments, keeps the keys still inside
 * the window and above the highest floor found (through the same
 * {@link ReplayRecord} as the store: a journal holding more than `capacity`
 * keys raises the floor as the guard does), deletes segments with nothing
 * live left, and starts a new segment. It skips what it cannot read: a torn
 * last line (the process killed mid-write), a line that is not a record, a
 * file without the header. One process per directory: the agent holds
 * LevelDB's lock on the same data dir while the journal is open.
 *
 * @example
 * ```ts
 * import { ReplayJournal } from 'parley-mesh/agent'
 * import { verifyEnvelope } from 'parley-mesh/envelope'
 * declare const bytes: Uint8Array // an envelope, as received from `peer`
 * declare const peer: string
 *
 * const replayGuard = await ReplayJournal.open('/home/me/.parley/replay')
 * // the key is in the journal once this resolves; a second time: ERR_REPLAYED
 * const { envelope } = await verifyEnvelope(bytes, { expectedSigner: peer, replayGuard })
 * await replayGuard.close()
 * ```
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import type { ReplayVerdict } from '../envelope/replay-guard.js'
import { ReplayRecord } from './replay-record.js'
import type { ReplayStoreOptions } from './replay-record.js'

const log = logger('parley:store:replay-journal')

/** The first line of every segment: the format and its version. */
export const REPLAY_JOURNAL_HEADER = 'parley-replay 1'
/** A segment's file name. */
const SEGMENT_NAME = /^(\d{12})\.log$/
/** A key's record: `<ts> <key>` (the key is checked again by the guard's pattern). */
const RECORD_LINE = /^(\d{1,16}) (\S{1,600})$/
/** A floor: `F <floor>`. */
const FLOOR_LINE = /^F (\d{1,16})$/

/** Options of {@link ReplayJournal.open}. */
export interface ReplayJournalOptions extends ReplayStoreOptions {
  /** Age at which the current segment is closed and a new one started (default the window). */
  segmentMs?: number
  /**
   * Writes `text` (ASCII: one byte a character) to `fd` whole, throwing if
   * it cannot (default `writeSync` in a loop). For tests: a failing disk.
   *
   * @internal
   */
  write?: (fd: number, text: string) => void
}

interface Segment {
  seq: number
  path: string
  /** The highest `ts` or floor written to it: once older than the window (and the floor), the segment goes. */
  max: number
  /** Lines it holds (records and floors). */
  lines: number
}

/** Writes all of `text` (ASCII, so bytes written are characters written), as many `writeSync` calls as that takes. */
function writeAll (fd: number, text: string): void {
  for (let at = writeSync(fd, text); at < text.length;) at += writeSync(fd, text.slice(at))
}

function segmentName (seq: number): string {
  return String(seq).padStart(12, '0') + '.log'
}

/** Reads one segment: its records and the highest floor in it; `undefined` if it is not a journal segment. */
function readSegment (path: string): { records: Array<[key: string, ts: number]>, floor: number, max: number, lines: number } | undefined {
  const text = readFileSync(path, 'utf8')
  const lines = text.split('\n')
  // the last piece is what follows the last newline: empty, or a line torn by a kill mid-write
  lines.pop()
  if (lines[0] !== REPLAY_JOURNAL_HEADER) return undefined
  const records: Array<[string, number]> = []
  let floor = -Infinity
  let max = -Infinity
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string
    const record = RECORD_LINE.exec(line)
    if (record !== null) {
      const ts = Number(record[1])
      records.push([record[2] as string, ts])
      if (ts > max) max = ts
      continue
    }
    const f = FLOOR_LINE.exec(line)
    if (f !== null) {
      const value = Number(f[1])
      if (value > floor) floor = value
      if (value > max) max = value
    }
    // anything else (a line torn by a failed write, junk) is skipped
  }
  return { records, floor, max, lines: lines.length - 1 }
}

/** Closes a segment's file: everything was written already (synchronously), so a failure loses nothing. */
function closeQuietly (fd: number): void {
  try {
    closeSync(fd)
  } catch (err) {
    log.error('could not close a replay journal segment: %e', err)
  }
}

/** Deletes a file whose content is dead; one that stays (a failing disk) is read and deleted again on the next open. */
function unlinkQuietly (path: string): void {
  try {
    unlinkSync(path)
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') log.error('could not delete %s: %e', path, err)
  }
}

/**
 * A {@link ReplayCheck} that persists what it records in an append-only
 * journal (see the module documentation). Open one with
 * {@link ReplayJournal.open}; one per node, shared by its sessions.
 */
export class ReplayJournal extends ReplayRecord {
  /** The directory the segments are in. */
  readonly dir: string
  readonly #segmentMs: number
  readonly #maxRecords: number
  readonly #write: (fd: number, text: string) => void
  /** Older segments, oldest first; the current one is not among them. */
  #older: Segment[] = []
  #current: Segment
  #fd: number
  /** When the current segment was started (by the clock of the checks). */
  #started: number
  /** The floor last written to the current segment. */
  #writtenFloor: number
  /** Lines in all live segments. */
  #lines = 0
  /** The last write failed, maybe halfway through a line: the next starts on a new line. */
  #torn = false
  /** When to look for segments past the window again. */
  #nextSweep = -Infinity
  /** Segments deleted so far (for tests and benchmarks). */
  #deleted = 0
  /** Compactions so far (for tests and benchmarks). */
  #compactions = 0

  private constructor (dir: string, options: ReplayJournalOptions, floor: number, write: (fd: number, text: string) => void) {
    super(options, floor)
    this.dir = dir
    this.#segmentMs = Math.max(1, options.segmentMs ?? this.windowMs)
    this.#maxRecords = 2 * this.capacity + 16
    this.#write = write
    // set for real by open (#startSegment)
    this.#current = { seq: 0, path: '', max: -Infinity, lines: 0 }
    this.#fd = -1
    this.#started = -Infinity
    this.#writtenFloor = -Infinity
  }

  /**
   * Opens the journal in `dir` (created if missing): loads the keys still
   * inside the window and above the highest floor recorded, deletes the
   * segments with nothing live left and files that are not segments of
   * this format, and starts a new segment.
   */
  static async open (dir: string, options: ReplayJournalOptions = {}): Promise<ReplayJournal> {
    const now = (options.now ?? Date.now)()
    mkdirSync(dir, { recursive: true })
    const found: Array<Segment & { records: Array<[string, number]> }> = []
    let floor = -Infinity
    let malformed = 0
    let last = 0
    for (const name of readdirSync(dir).sort()) {
      const m = SEGMENT_NAME.exec(name)
      if (m === null) continue
      last = Number(m[1])
      const path = join(dir, name)
      const read = readSegment(path)
      if (read === undefined) {
        log('deleting %s: not a replay journal segment', path)
        malformed++
        unlinkQuietly(path)
        continue
      }
      if (read.floor > floor) floor = read.floor
      found.push({ seq: Number(m[1]), path, max: read.max, lines: read.lines, records: read.records })
    }
    const journal = new ReplayJournal(dir, options, floor, options.write ?? writeAll)
    let loaded = 0
    for (const segment of found) {
      for (const [key, ts] of segment.records) if (journal.restore(key, ts, now)) loaded++
      segment.records = []
    }
    journal.#older = found.map(({ seq, path, max, lines }) => ({ seq, path, max, lines }))
    journal.#lines = found.reduce((n, s) => n + s.lines, 0)
    const before = found.length
    journal.#sweep(now)
    // a journal holding more lines than it may (a lower capacity than last run): compacted at once
    journal.#startSegment(last + 1, now, journal.#lines >= journal.#maxRecords)
    log('loaded %d replay keys from %d segments; deleted %d past the window and %d malformed', loaded, before, before - journal.#older.length, malformed)
    return journal
  }

  /** Segments on disk now, the current one included. */
  get segments (): number { return this.#older.length + 1 }

  /** Lines in the live segments. */
  get lines (): number { return this.#lines }

  /** Segments deleted since open, past the window or compacted away. */
  get deleted (): number { return this.#deleted }

  /** Compactions since open. */
  get compactions (): number { return this.#compactions }

  /** Nothing to wait for: every write is done when `check` returns. */
  async flush (): Promise<void> {}

  /** Refuses further checks and closes the current segment's file. */
  override async close (): Promise<void> {
    if (this.closed) return
    await super.close()
    closeQuietly(this.#fd)
  }

  protected record (key: string, ts: number, now: number, durable: boolean): ReplayVerdict | Promise<ReplayVerdict> {
    try {
      if (now - this.#started >= this.#segmentMs || this.#lines >= this.#maxRecords) this.#roll(now)
      else if (now >= this.#nextSweep) this.#sweep(now)
      this.#append(`${ts} ${key}\n`, ts)
    } catch (cause) {
      if (!durable) {
        // its envelope is acted on (its effect stays within its session): kept in memory, not on disk
        log.error('could not write a replay key written behind: %e', cause)
        return 'fresh'
      }
      this.guard.forget(key)
      return Promise.reject(ReplayJournal.writeError(1, cause))
    }
    return 'fresh'
  }

  protected override refused (now: number): void {
    if (now >= this.#nextSweep) this.#sweep(now)
  }

  /** Appends `text` (whole lines) to the current segment, with the floor first if it rose. */
  #append (text: string, ts: number): void {
    const floor = this.guard.floor
    const floorLine = floor > this.#writtenFloor
    if (floorLine) text = `F ${floor}\n${text}`
    if (this.#torn) text = '\n' + text
    try {
      this.#write(this.#fd, text)
    } catch (err) {
      this.#torn = true
      throw err
    }
    this.#torn = false
    const lines = floorLine ? 2 : 1
    this.#current.lines += lines
    this.#lines += lines
    if (floorLine) this.#writtenFloor = floor
    this.#current.max = Math.max(this.#current.max, ts, floorLine ? floor : -Infinity)
  }

  /** Starts a new segment: compacted (holding every key the guard holds) once the journal holds too many lines, then the older ones go. */
  #roll (now: number): void {
    const compact = this.#lines >= this.#maxRecords
    this.#startSegment(this.#current.seq + 1, now, compact)
  }

  /**
   * Creates segment `seq` with the header and the floor (and, to compact,
   * every key the guard holds), makes it the current one, then deletes what
   * it replaces: every older segment when compacting, else those past the
   * window. If writing it fails, it is removed and the current one stays.
   */
  #startSegment (seq: number, now: number, compact: boolean): void {
    const path = join(this.dir, segmentName(seq))
    const floor = this.guard.floor
    let text = REPLAY_JOURNAL_HEADER + '\n'
    let lines = 0
    let max = -Infinity
    if (floor > -Infinity) { text += `F ${floor}\n`; lines++; max = floor }
    if (compact) {
      const parts = [text]
      for (const [key, ts] of this.guard.entries()) {
        parts.push(`${ts} ${key}\n`)
        if (ts > max) max = ts
      }
      lines += parts.length - 1
      text = parts.join('')
    }
    const fd = openSync(path, 'ax')
    try {
      this.#write(fd, text)
    } catch (err) {
      closeQuietly(fd)
      unlinkQuietly(path)
      throw err
    }
    const previous = this.#fd === -1 ? undefined : this.#current
    if (previous !== undefined) {
      closeQuietly(this.#fd)
      this.#older.push(previous)
    }
    this.#current = { seq, path, max, lines }
    this.#fd = fd
    this.#started = now
    this.#writtenFloor = floor
    this.#torn = false
    if (compact) {
      for (const s of this.#older) this.#unlink(s)
      this.#older = []
      this.#lines = lines
      this.#compactions++
      log('compacted the replay journal into %s: %d keys', path, lines)
    } else {
      this.#lines += lines
      this.#sweep(now)
    }
  }

  /** Deletes the older segments with nothing in them at or above the window's start and the floor. */
  #sweep (now: number): void {
    this.#nextSweep = now + Math.ceil(this.windowMs / 30)
    const cutoff = Math.max(now - this.windowMs, this.guard.floor)
    const kept: Segment[] = []
    for (const s of this.#older) {
      if (s.max < cutoff) this.#unlink(s)
      else kept.push(s)
    }
    this.#older = kept
  }

  /** Deletes a segment whose lines are all dead (past the window, or copied by a compaction). */
  #unlink (segment: Segment): void {
    unlinkQuietly(segment.path)
    this.#lines -= segment.lines
    this.#deleted++
  }
}
