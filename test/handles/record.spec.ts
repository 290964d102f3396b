import { expect } from 'chai'
import { Ajv2020 } from 'ajv/dist/2020.js'
import schema from '../../protocols/handle-record/schema.json' with { type: 'json' }
import vectors from '../../protocols/handle-record/vectors.json' with { type: 'json' }
import {
  createHandleRecord, createRotation, handleDhtConfig, handleKey, handleRecordJson, handleRecordPowBase,
  handleRecordSigningMessage, handleSelector, handleValidator, parseHandle, parseHandleRecord, selectHandleRecord,
  succession, validateHandleRecord, DEFAULT_RECORD_TTL_MS, HANDLE_KEY_PREFIX, RECORD_SIGNATURE_DOMAIN
} from '../../src/handles/index.js'
import type { HandleRecord, HandleRecordSigner } from '../../src/handles/index.js'
import { powDigest } from '../../src/handles/pow.js'
import { HandleRecordErrorCode } from '../../src/errors.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { equalBytes, fromBase64url, fromHex, fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js'
import { createIdentity } from '../../src/identity/index.js'
import { testSigner, NOW, BITS, OPTIONS } from '../vectors/handle-record.js'

/** "valid", or the code of the HandleRecordError thrown; anything else is rethrown. */
async function verdict (run: () => unknown): Promise<string> {
  try {
    await run()
    return 'valid'
  } catch (err) {
    if ((err as Error).name !== 'HandleRecordError') throw err
    return (err as { code: string }).code
  }
}

const bytesOf = (v: { bytes?: string, bytesHex?: string }): Uint8Array => v.bytes !== undefined ? utf8(v.bytes) : fromHex(v.bytesHex ?? '')
const recordFromText = (text: string): HandleRecord => parseHandleRecord(utf8(text))
// ERR_HANDLE_TAKEN comes from succession, ERR_NOT_FOUND and ERR_HANDLE_CONFLICT from resolution, not from validating one record
const VALIDATION_CODES = Object.values(HandleRecordErrorCode).filter(c => c !== 'ERR_HANDLE_TAKEN' && c !== 'ERR_NOT_FOUND' && c !== 'ERR_HANDLE_CONFLICT') as string[]

describe('handle records (protocols/handle-record)', () => {
  describe('validation vectors', () => {
    for (const v of vectors.validation) {
      it(`${v.name}: ${v.expect}`, async () => {
        const bytes = bytesOf(v)
        expect(await verdict(async () => validateHandleRecord(bytes, { ...v.options, key: v.key }))).to.equal(v.expect)
        // the key may be given as bytes too, and the kad-dht validator reaches the same verdict
        expect(await verdict(async () => validateHandleRecord(bytes, { ...v.options, key: utf8(v.key) }))).to.equal(v.expect)
        const validator = handleValidator({ clock: () => v.options.now, minPowBits: v.options.minPowBits, maxTtlMs: v.options.maxTtlMs })
        expect(await verdict(async () => validator(utf8(v.key), bytes))).to.equal(v.expect)
      })
    }

    for (const v of vectors.validation.filter(v => v.expect === 'valid')) {
      it(`${v.name}: parsed members, encoding and intermediate values`, async () => {
        const bytes = bytesOf(v)
        const record = await validateHandleRecord(bytes, { ...v.options, key: v.key })
        expect(handleRecordJson(record)).to.deep.equal(v.record)
        expect(equalBytes(record.bytes, bytes)).to.equal(true)
        expect(toHex(record.x25519PublicKey)).to.equal(toHex(fromBase64url(record.x25519) ?? new Uint8Array()))
        expect(canonicalize(v.record)).to.equal(v.bytes)
        const details = v.details as Record<string, unknown>
        const members = v.record as object
        expect(fromUtf8(handleRecordSigningMessage(members))).to.equal(details.signingInput)
        expect(toHex(handleRecordPowBase(members))).to.equal(details.powBase)
        expect(toHex(powDigest(handleRecordPowBase(members), record.pow.bits, record.pow.nonce))).to.equal(details.powDigest)
      })
    }

    it('a NaN option is a RangeError, never a pass', async () => {
      const v = vectors.validation[0]
      if (v?.bytes === undefined) throw new Error('vector missing')
      for (const bad of [{ now: NaN }, { minPowBits: NaN }, { maxTtlMs: NaN }]) {
        const err = await validateHandleRecord(utf8(v.bytes), { ...v.options, ...bad }).then(() => undefined, (e: unknown) => e)
        expect(err).to.be.instanceOf(RangeError)
      }
    })

    it('cover every validation code, each at least once', () => {
      const seen = new Set(vectors.validation.map(v => v.expect))
      for (const code of VALIDATION_CODES) expect(seen.has(code), code).to.equal(true)
    })
  })

  describe('selection vectors', () => {
    for (const c of vectors.selection) {
      it(`${c.name}: index ${c.expect}`, async () => {
        const records = c.records.map(r => utf8(r))
        expect(selectHandleRecord(utf8(c.key), records)).to.equal(c.expect)
        expect(await handleSelector(utf8(c.key), records)).to.equal(c.expect)
      })
    }

    it('an empty list is a RangeError', () => {
      expect(() => selectHandleRecord(utf8('/handle/alice'), [])).to.throw(RangeError)
    })
  })

  describe('succession vectors', () => {
    for (const c of vectors.succession) {
      it(`${c.name}: ${c.expect}`, () => {
        const existing = c.existing === null ? undefined : recordFromText(c.existing)
        let got: string
        try {
          got = succession(existing, recordFromText(c.incoming), c.now)
        } catch (err) {
          expect((err as Error).name).to.equal('HandleRecordError')
          got = (err as { code: string }).code
        }
        expect(got).to.equal(c.expect)
      })
    }

    it('refuses to compare records of two different handles', () => {
      const [a, b] = vectors.validation.filter(v => v.expect === 'valid').map(v => recordFromText(v.bytes ?? ''))
      if (a === undefined || b === undefined) throw new Error('vectors missing')
      expect(a.handle).to.not.equal(b.handle)
      expect(() => succession(a, b, NOW)).to.throw().with.property('code', 'ERR_KEY_MISMATCH')
    })

    it('ERR_HANDLE_TAKEN names the handle', () => {
      const c = vectors.succession.find(c => c.expect === 'ERR_HANDLE_TAKEN')
      if (c?.existing == null) throw new Error('vectors missing')
      expect(() => succession(recordFromText(c.existing ?? ''), recordFromText(c.incoming), c.now))
        .to.throw().with.property('message').that.contains('@alice')
    })
  })

  describe('handles and keys', () => {
    it('parseHandle accepts "@alice" and "alice" and nothing else', async () => {
      expect(parseHandle('@alice')).to.equal('alice')
      expect(parseHandle('alice')).to.equal('alice')
      expect(parseHandle('a-1')).to.equal('a-1')
      expect(parseHandle('x'.repeat(32))).to.equal('x'.repeat(32))
      for (const bad of ['', '@', 'al', '@al', 'Alice', '@@alice', ' alice', 'alice ', 'al_ice', 'alicé', 'x'.repeat(33), 'a.b']) {
        expect(await verdict(() => parseHandle(bad)), JSON.stringify(bad)).to.equal('ERR_INVALID_HANDLE')
      }
    })

    it('handleKey is UTF-8 /handle/<handle>', () => {
      expect(fromUtf8(handleKey('@alice'))).to.equal('/handle/alice')
      expect(fromUtf8(handleKey('bob'))).to.equal(HANDLE_KEY_PREFIX + 'bob')
      expect(() => handleKey('B')).to.throw().with.property('code', 'ERR_INVALID_HANDLE')
    })
  })

  describe('creation', () => {
    const alice = testSigner('alice')
    const low = { now: NOW, powBits: BITS }

    it('creates a record that validates, with the defaults filled in', async () => {
      const { record, bytes } = await createHandleRecord(alice, { handle: '@alice', seq: 3, ...low })
      expect(record.handle).to.equal('alice')
      expect(record.peer).to.equal(alice.peerIdString)
      expect(record.kind).to.equal('agent')
      expect(record.relays).to.deep.equal([])
      expect(record.expires).to.equal(NOW + DEFAULT_RECORD_TTL_MS)
      expect(record.pow.bits).to.equal(BITS)
      expect(toHex(record.x25519PublicKey)).to.equal(toHex(alice.x25519PublicKey))
      expect(equalBytes(record.bytes, bytes)).to.equal(true)
      const again = await validateHandleRecord(bytes, { ...OPTIONS, key: handleKey('alice') })
      expect(handleRecordJson(again)).to.deep.equal(handleRecordJson(record))
    })

    it('is deterministic for a fixed clock (same bytes as the valid-minimal vector)', async () => {
      const { bytes } = await createHandleRecord(alice, { handle: 'alice', seq: 1, ...low })
      expect(fromUtf8(bytes)).to.equal(vectors.validation[0]?.bytes)
    })

    it('uses the real clock by default', async () => {
      const { bytes } = await createHandleRecord(alice, { handle: 'alice', seq: 1, powBits: BITS })
      const record = await validateHandleRecord(bytes, { minPowBits: BITS })
      expect(record.expires - Date.now()).to.be.within(DEFAULT_RECORD_TTL_MS - 60_000, DEFAULT_RECORD_TTL_MS)
    })

    it('works with a Parley Identity as the signer', async () => {
      const identity = await createIdentity({ kind: 'human', seed: alice.seed })
      const signer: HandleRecordSigner = identity
      const { bytes } = await createHandleRecord(signer, { handle: 'alice', seq: 1, ...low })
      const record = await validateHandleRecord(bytes, OPTIONS)
      expect(record.kind).to.equal('human')
      expect(record.peer).to.equal(alice.peerIdString)
    })

    it('checks the members before minting, with the validation codes', async () => {
      const relays = Array.from({ length: 8 }, () => '/dns4/' + 'é'.repeat(240) + '/tcp/1')
      const cases: Array<[string, () => Promise<unknown>]> = [
        ['ERR_INVALID_HANDLE', async () => createHandleRecord(alice, { handle: 'Alice', seq: 1, ...low })],
        ['ERR_MALFORMED_RECORD', async () => createHandleRecord(alice, { handle: 'alice', seq: -1, ...low })],
        ['ERR_MALFORMED_RECORD', async () => createHandleRecord(alice, { handle: 'alice', seq: 1, relays: ['nope'], ...low })],
        ['ERR_MALFORMED_RECORD', async () => createHandleRecord(alice, { handle: 'alice', seq: 1, relays: Array(9).fill('/ip4/127.0.0.1/tcp/1'), ...low })],
        ['ERR_MALFORMED_RECORD', async () => createHandleRecord({ ...alice, x25519PublicKey: new Uint8Array(31) }, { handle: 'alice', seq: 1, ...low })],
        ['ERR_MALFORMED_RECORD', async () => createHandleRecord({ ...alice, peerIdString: 'nobody' }, { handle: 'alice', seq: 1, ...low })],
        ['ERR_MALFORMED_RECORD', async () => createHandleRecord(alice, { handle: 'alice', seq: 1, powBits: 65, now: NOW })],
        ['ERR_OVERSIZE', async () => createHandleRecord(alice, { handle: 'alice', seq: 1, relays, ...low })]
      ]
      for (const [code, run] of cases) expect(await verdict(run)).to.equal(code)
    })

    it('limits a relay to 256 code points, not UTF-16 units', async () => {
      const relay = (n: number): string => '/dns4/' + '\u{1F99C}'.repeat(n) + '/tcp/1' // a parrot: one code point, two UTF-16 units
      const ok = await createHandleRecord(alice, { handle: 'alice', seq: 1, relays: [relay(244)], ...low })
      expect(ok.record.relays[0]?.length).to.equal(12 + 2 * 244)
      expect(await verdict(async () => createHandleRecord(alice, { handle: 'alice', seq: 1, relays: [relay(245)], ...low }))).to.equal('ERR_MALFORMED_RECORD')
    })

    it('refuses a non-positive lifetime', async () => {
      const err = await createHandleRecord(alice, { handle: 'alice', seq: 1, ttlMs: 0, ...low }).then(() => undefined, (e: unknown) => e)
      expect(err).to.be.instanceOf(RangeError)
    })

    it('catches a signer whose key is not the one its peer id names', async () => {
      const mallory = testSigner('mallory')
      const liar: HandleRecordSigner = { ...alice, sign: mallory.sign }
      expect(await verdict(async () => createHandleRecord(liar, { handle: 'alice', seq: 1, ...low }))).to.equal('ERR_BAD_SIGNATURE')
    })

    it('stops minting when the signal aborts', async () => {
      const controller = new AbortController()
      controller.abort()
      const err = await createHandleRecord(alice, { handle: 'alice', seq: 1, now: NOW, powBits: 40, signal: controller.signal })
        .then(() => undefined, (e: unknown) => e)
      expect((err as Error).name).to.equal('AbortError')
    })

    it('rotates a handle to a new key, and succession accepts the successor', async () => {
      const next = testSigner('alice-next')
      const old = await createHandleRecord(alice, { handle: 'alice', seq: 4, ...low })
      const rotation = await createRotation(alice, '@alice', next.peerIdString)
      expect(rotation.prev).to.equal(alice.peerIdString)
      const successor = await createHandleRecord(next, { handle: 'alice', seq: 5, rotation, ...low })
      const checked = await validateHandleRecord(successor.bytes, { ...OPTIONS, key: '/handle/alice' })
      expect(checked.rotation).to.deep.equal(rotation)
      expect(succession(old.record, checked, NOW)).to.equal('accept')
      // the same rotation does not move another handle
      const elsewhere = await createHandleRecord(next, { handle: 'alice2', seq: 5, rotation, ...low }).then(() => 'valid', (e: { code: string }) => e.code)
      expect(elsewhere).to.equal('ERR_BAD_ROTATION')
      expect(await verdict(async () => createRotation(alice, 'alice', alice.peerIdString))).to.equal('ERR_BAD_ROTATION')
    })
  })

  describe('single-byte flips of a valid record', () => {
    for (const name of ['valid-minimal', 'valid-rotation']) {
      const v = vectors.validation.find(v => v.name === name)
      it(`${name}: every flip (XOR 0x01 at each position) is refused with a HandleRecordError; flips inside "sig" give exactly the predicted code`, async () => {
        if (v?.bytes === undefined) throw new Error('vector missing')
        const bytes = utf8(v.bytes)
        const sigStart = v.bytes.lastIndexOf('"sig":"') + 7 // the record's sig, after rotation.sig
        const sigEnd = v.bytes.indexOf('"', sigStart)
        const seen = new Map<string, number>()
        for (let i = 0; i < bytes.length; i++) {
          const flipped = Uint8Array.from(bytes) // (utf8() may return a Buffer, whose slice() is a view)
          flipped[i] = (flipped[i] ?? 0) ^ 0x01
          // verdict rethrows anything that is not a HandleRecordError
          const code = await verdict(async () => validateHandleRecord(flipped, { ...v.options, key: v.key }))
          expect(code, `flip at ${i}`).to.not.equal('valid')
          expect(VALIDATION_CODES, `flip at ${i}`).to.include(code)
          seen.set(code, (seen.get(code) ?? 0) + 1)
          if (i >= sigStart && i < sigEnd) {
            // a character outside the base64url alphabet: not base64url; a different spelling of
            // the same bytes: non-canonical (only the last character has unused bits); otherwise
            // different signature bytes, which must not verify
            const sig = fromUtf8(flipped.subarray(sigStart, sigEnd))
            const expected = !/^[A-Za-z0-9_-]*$/.test(sig)
              ? 'ERR_MALFORMED_RECORD'
              : fromBase64url(sig) === undefined ? 'ERR_NON_CANONICAL' : 'ERR_BAD_SIGNATURE'
            expect(code, `flip at ${i} (sig character ${i - sigStart})`).to.equal(expected)
          }
        }
        // content flips are caught by the proof of work before any signature is checked
        expect(seen.get('ERR_BAD_POW') ?? 0).to.be.greaterThan(0)
        expect(seen.get('ERR_BAD_SIGNATURE') ?? 0).to.be.greaterThan(0)
      })
    }
  })

  describe('kad-dht glue', () => {
    const minimal = vectors.validation[0]
    if (minimal?.bytes === undefined) throw new Error('vector missing')
    const bytes = utf8(minimal.bytes)
    const config = handleDhtConfig({ clock: () => NOW, minPowBits: BITS })

    it('has a validator and a selector under the "handle" namespace', () => {
      expect(Object.keys(config.validators)).to.deep.equal(['handle'])
      expect(Object.keys(config.selectors)).to.deep.equal(['handle'])
      expect(config.validators.handle).to.be.a('function')
      expect(config.selectors.handle).to.equal(handleSelector)
    })

    it('the validator resolves for a valid record and rejects with the HandleRecordError otherwise', async () => {
      expect(await config.validators.handle(handleKey('alice'), bytes)).to.equal(undefined)
      const err = await Promise.resolve(config.validators.handle(handleKey('bob'), bytes)).then(() => undefined, (e: unknown) => e)
      expect((err as Error).name).to.equal('HandleRecordError')
      expect((err as { code: string }).code).to.equal('ERR_KEY_MISMATCH')
      // the default clock is the real one
      const fresh = await createHandleRecord(testSigner('alice'), { handle: 'alice', seq: 1, powBits: BITS })
      expect(await handleDhtConfig({ minPowBits: BITS }).validators.handle(handleKey('alice'), fresh.bytes)).to.equal(undefined)
    })

    it('the selector picks the newest record', async () => {
      const newer = await createHandleRecord(testSigner('alice'), { handle: 'alice', seq: 2, now: NOW, powBits: BITS })
      expect(await config.selectors.handle(handleKey('alice'), [bytes, newer.bytes])).to.equal(1)
      expect(await config.selectors.handle(handleKey('alice'), [newer.bytes, bytes])).to.equal(0)
    })
  })
})

describe('handle record JSON Schema (protocols/handle-record/schema.json)', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)
  // structural codes the schema expresses; the two base64url cases are caught by its patterns
  const STRUCTURAL = new Set(['ERR_MALFORMED_RECORD', 'ERR_UNSUPPORTED_VERSION', 'ERR_INVALID_HANDLE'])
  const BASE64URL = new Set(['x25519-non-canonical-base64url', 'sig-non-canonical-base64url'])
  // structural failures the schema cannot express: a multiaddr's canonical string form
  const BEYOND_SCHEMA = new Set(['relay-not-canonical'])

  for (const v of vectors.validation) {
    // size is not the schema's business (the oversize vector is padded with an unknown member)
    if (v.bytes === undefined || v.expect === 'ERR_OVERSIZE') continue
    let value: unknown
    try { value = JSON.parse(v.bytes) } catch { continue }
    const rejects = (STRUCTURAL.has(v.expect) || BASE64URL.has(v.name)) && !BEYOND_SCHEMA.has(v.name)
    it(`${rejects ? 'rejects' : 'accepts'} ${v.name}`, () => {
      expect(validate(value), JSON.stringify(validate.errors)).to.equal(!rejects)
    })
  }
})

describe('handle record signing input', () => {
  it('is the domain prefix followed by the canonical JSON without "sig"', () => {
    const members = { v: 1, sig: 'x', handle: 'alice' }
    expect(fromUtf8(handleRecordSigningMessage(members))).to.equal(RECORD_SIGNATURE_DOMAIN + '{"handle":"alice","v":1}')
  })
})
