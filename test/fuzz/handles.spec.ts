/**
 * Fuzzing the handle record decoders (src/handles): `parseHandleRecord` and
 * `validateHandleRecord` on arbitrary bytes and on mutations of the valid
 * vectors, `selectHandleRecord` on any list of records, and `succession` /
 * `chooseRecord` on records with arbitrary owners, sequences, expiries and
 * rotations. Refusals are `HandleRecordError`s with the codes of
 * protocols/handle-record; an accepted mutation is the original record.
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import {
  HandleRecordErrorCode, chooseRecord, parseHandleRecord, selectHandleRecord, succession, validateHandleRecord
} from '../../src/handles/index.js'
import type { HandleRecordJson, ValidateHandleRecordOptions } from '../../src/handles/index.js'
import vectors from '../../protocols/handle-record/vectors.json' with { type: 'json' }
import {
  TIMEOUT, anyString, deepArrayText, deepObjectText, junkBytes, mutatedJsonBytes, outcome, params, utf8, withinLimit
} from './helpers.js'

const CODES = Object.values(HandleRecordErrorCode)
const NAMES = ['v', 'handle', 'peer', 'kind', 'x25519', 'relays', 'seq', 'expires', 'pow', 'bits', 'nonce', 'rotation', 'prev', 'sig']

interface Case { name: string, key: string, options: ValidateHandleRecordOptions, expect: string, bytes?: string }
const valid = (vectors.validation as Case[]).filter(c => c.expect === 'valid' && c.bytes !== undefined)
const validTexts = valid.map(c => c.bytes as string)
const records = validTexts.map(t => parseHandleRecord(utf8(t)))
const peers = [...new Set([...records.map(r => r.peer), ...vectors.keys.map(k => k.peer)])]
const KEY = utf8('/handle/alice')

const record = (text: string): Uint8Array => utf8(text)

describe('fuzz: handle records', function () {
  this.timeout(TIMEOUT)

  before(async () => {
    const c = valid[0] as Case
    await validateHandleRecord(record(c.bytes as string), { ...c.options, key: c.key })
  })

  it('parseHandleRecord / validateHandleRecord: arbitrary bytes are refused with a typed code', async () => {
    const c = valid[0] as Case
    await fc.assert(fc.asyncProperty(junkBytes(600), async bytes => {
      expect((await outcome(() => parseHandleRecord(bytes), 'HandleRecordError', CODES)).ok).to.equal(false)
      expect((await outcome(() => validateHandleRecord(bytes, { ...c.options, key: c.key }), 'HandleRecordError', CODES)).ok).to.equal(false)
    }), params(800))
  })

  it('a mutated valid record is refused with a typed code, or is the original record of the original owner', async () => {
    const arb = fc.constantFrom(...valid).chain(c => fc.tuple(fc.constant(c), mutatedJsonBytes(c.bytes as string, NAMES)))
    await fc.assert(fc.asyncProperty(arb, async ([c, bytes]) => {
      const original = parseHandleRecord(record(c.bytes as string))
      const parsed = await outcome(() => parseHandleRecord(bytes), 'HandleRecordError', CODES)
      const validated = await outcome(() => validateHandleRecord(bytes, { ...c.options, key: c.key }), 'HandleRecordError', CODES)
      if (validated.ok) {
        expect(Buffer.from(bytes).toString(), 'an accepted mutation').to.equal(c.bytes)
        expect(validated.value.peer).to.equal(original.peer)
        expect(parsed.ok, 'what validates parses').to.equal(true)
      }
    }), params(800))
  })

  it('selectHandleRecord: any non-empty list gives an index in range, a parsed record beating every junk one', async () => {
    const item = fc.oneof(fc.constantFrom(...validTexts).map(utf8), junkBytes(200), fc.constantFrom(...validTexts).chain(t => mutatedJsonBytes(t, NAMES)))
    await fc.assert(fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 6 }), async list => {
      const got = await outcome(() => selectHandleRecord(KEY, list), 'HandleRecordError', CODES)
      expect(got.ok).to.equal(true)
      const i = (got as { value: number }).value
      expect(i).to.be.within(0, list.length - 1)
      const parses = (b: Uint8Array): boolean => { try { parseHandleRecord(b); return true } catch { return false } }
      if (list.some(parses)) expect(parses(list[i] as Uint8Array), 'a parsed record wins over junk').to.equal(true)
    }), params(500))
    expect(() => selectHandleRecord(KEY, [])).to.throw(RangeError) // documented: an empty list is the caller's bug
  })

  /** A record of the vectors with arbitrary owner, seq, expiry and rotation. */
  const looseRecord: fc.Arbitrary<HandleRecordJson> = fc.record({
    base: fc.constantFrom(...records),
    peer: fc.oneof(fc.constantFrom(...peers), anyString(10)),
    seq: fc.oneof(fc.nat(5), fc.constantFrom(0, Number.MAX_SAFE_INTEGER)),
    expires: fc.oneof(fc.integer({ min: 1_799_999_000_000, max: 1_800_100_000_000 }), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 8.64e15, 8.64e15 + 1)),
    prev: fc.option(fc.oneof(fc.constantFrom(...peers), anyString(10)), { nil: undefined })
  }).map(({ base, peer, seq, expires, prev }) => {
    const rest: Record<string, unknown> = { ...base }
    delete rest.rotation
    return { ...rest, peer, seq, expires, ...(prev === undefined ? {} : { rotation: { prev, sig: base.sig } }) } as unknown as HandleRecordJson
  })

  it('succession: accept, ignore, or a typed ERR_HANDLE_TAKEN / ERR_KEY_MISMATCH, for any pair of records and clock', async () => {
    await fc.assert(fc.asyncProperty(fc.option(looseRecord, { nil: undefined }), looseRecord, fc.oneof(fc.integer({ min: 1_799_999_000_000, max: 1_800_100_000_000 }), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, -1, Number.NaN)), async (existing, incoming, now) => {
      const got = await outcome(() => succession(existing, incoming, now), 'HandleRecordError', [HandleRecordErrorCode.HANDLE_TAKEN, HandleRecordErrorCode.KEY_MISMATCH])
      if (got.ok) expect(['accept', 'ignore']).to.include(got.value)
    }), params(800))
  })

  it('succession: a holder whose expiry is beyond what a Date holds is ERR_HANDLE_TAKEN (it was a RangeError)', async () => {
    const [a, b] = [records[0], records.find(r => r.peer !== records[0]?.peer && r.handle === records[0]?.handle)]
    if (a === undefined || b === undefined) return expect.fail('the vectors have two owners of one handle')
    const got = await outcome(() => succession({ ...a, expires: Number.MAX_SAFE_INTEGER }, { ...b, seq: a.seq }, 1_800_000_000_000), 'HandleRecordError', CODES)
    expect(got.ok ? 'ok' : got.code).to.equal(HandleRecordErrorCode.HANDLE_TAKEN)
  })

  it('chooseRecord: never throws; the record it picks is an unexpired answer, the servers are among those that answered', async () => {
    const answers = fc.array(fc.record({ server: fc.constantFrom<string>('s1', 's2', 's3', 's4', 's5'), record: looseRecord }), { maxLength: 7 })
    await fc.assert(fc.asyncProperty(answers, fc.integer({ min: 1_799_999_000_000, max: 1_800_100_000_000 }), async (list, now) => {
      const start = performance.now()
      const choice = chooseRecord(list, now)
      expect(performance.now() - start).to.be.below(1000)
      const answered = new Set(list.map(a => a.server))
      for (const s of choice.servers) expect(answered.has(s)).to.equal(true)
      if (choice.record !== undefined) {
        expect(list.map(a => a.record)).to.include(choice.record)
        expect(choice.record.expires).to.be.above(now)
        expect(choice.code).to.equal(undefined)
      } else {
        expect([HandleRecordErrorCode.NOT_FOUND, HandleRecordErrorCode.HANDLE_CONFLICT]).to.include(choice.code)
      }
    }), params(800))
  })

  it('large inputs are refused within a second: 1 MB, 100,000-deep nesting', async () => {
    const c = valid[0] as Case
    const original = JSON.parse(c.bytes as string) as Record<string, unknown>
    for (const bytes of [
      new Uint8Array(1024 * 1024).fill(0x20),
      utf8(deepArrayText(100_000)),
      utf8(deepObjectText(100_000)),
      utf8(JSON.stringify({ ...original, relays: JSON.parse(deepArrayText(1000)) as unknown }))
    ]) {
      const got = await withinLimit(() => outcome(() => validateHandleRecord(bytes, { ...c.options, key: c.key }), 'HandleRecordError', CODES))
      expect(got?.ok).to.equal(false)
    }
    await withinLimit(() => selectHandleRecord(KEY, Array.from({ length: 1000 }, () => new Uint8Array(4097))))
  })
})
