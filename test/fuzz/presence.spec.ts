/**
 * Fuzzing presence announcements (src/presence/announcement.ts):
 * `verifyPresence` never throws (it returns a verdict) on arbitrary bytes,
 * on mutations of the valid vectors, or with a resolver that throws; every
 * verdict's reason is a code of protocols/presence; a `valid` verdict is only
 * ever given to the original bytes of the original signer.
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { PresenceErrorCode, verifyPresence } from '../../src/presence/announcement.js'
import type { PresenceVerdict, VerifyPresenceOptions } from '../../src/presence/announcement.js'
import vectors from '../../protocols/presence/vectors.json' with { type: 'json' }
import { CALL_LIMIT_MS, TIMEOUT, deepArrayText, deepObjectText, junkBytes, mutatedJsonBytes, params, utf8, withinLimit } from './helpers.js'

const CODES: readonly string[] = Object.values(PresenceErrorCode)
const NAMES = ['v', 'peer', 'handle', 'kind', 'capabilities', 'connections', 'transport', 'ts', 'sig']
const handles = vectors.handles as Record<string, { peer: string, kind: string }>
const valid = vectors.cases.filter(c => c.expect.status === 'valid')

const resolvers: Array<VerifyPresenceOptions['resolve']> = [
  async h => handles[h],
  undefined,
  async () => { throw new TypeError('the DHT is down') },
  async () => ({ peer: 'someone else', kind: 'agent' })
]

async function verdict (bytes: Uint8Array, options: VerifyPresenceOptions): Promise<PresenceVerdict> {
  const start = performance.now()
  let v: PresenceVerdict
  try {
    v = await verifyPresence(bytes, options)
  } catch (err) {
    return expect.fail(`verifyPresence threw (it never should): ${String(err)}`)
  }
  expect(performance.now() - start).to.be.below(CALL_LIMIT_MS)
  expect(['valid', 'invalid', 'unsigned']).to.include(v.status)
  if (v.status === 'valid') expect(v.reason).to.equal(undefined)
  else expect(CODES).to.include(v.reason)
  return v
}

describe('fuzz: presence', function () {
  this.timeout(TIMEOUT)

  before(async () => {
    const c = valid[0] as typeof valid[number]
    await verifyPresence(utf8(c.text), { ...vectors.options, from: c.from, resolve: resolvers[0] })
  })

  it('arbitrary bytes: a verdict with a typed reason, never valid, never a throw', async () => {
    await fc.assert(fc.asyncProperty(junkBytes(600), fc.constantFrom(...resolvers), async (bytes, resolve) => {
      const v = await verdict(bytes, { ...vectors.options, from: vectors.keys.alice, resolve })
      expect(v.status).to.not.equal('valid')
    }), params(800))
  })

  it('a mutated valid announcement is invalid with a typed reason, or is the original bytes from the original signer', async () => {
    const arb = fc.constantFrom(...valid).chain(c => fc.tuple(fc.constant(c), mutatedJsonBytes(c.text, NAMES), fc.constantFrom(...resolvers)))
    await fc.assert(fc.asyncProperty(arb, async ([c, bytes, resolve]) => {
      const v = await verdict(bytes, { ...vectors.options, from: c.from, resolve })
      if (v.status === 'valid') {
        expect(Buffer.from(bytes).toString(), 'an accepted mutation').to.equal(c.text)
        expect(v.announcement?.peer).to.equal(c.from)
      }
    }), params(1000))
  })

  it('a valid announcement behind a byte order mark is not canonical (it was accepted as valid)', async () => {
    for (const c of valid) {
      const v = await verdict(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8(c.text)]), { ...vectors.options, from: c.from, resolve: resolvers[0] })
      expect(v.reason).to.equal(PresenceErrorCode.NON_CANONICAL)
    }
  })

  it('large inputs get a verdict within a second: 1 MB, 100,000-deep nesting, an 8 KB peer id', async () => {
    const c = valid[0] as typeof valid[number]
    const original = JSON.parse(c.text) as Record<string, unknown>
    for (const bytes of [
      new Uint8Array(1024 * 1024).fill(0x7b),
      utf8(deepArrayText(100_000)),
      utf8(deepObjectText(4000)),
      utf8(JSON.stringify({ ...original, peer: '12D3KooW' + 'z'.repeat(8000) })),
      utf8(JSON.stringify({ ...original, capabilities: JSON.parse(deepArrayText(3000)) as unknown }))
    ]) {
      const v = await withinLimit(() => verdict(bytes, { ...vectors.options, from: c.from, resolve: resolvers[0] }))
      expect(v?.status).to.equal('invalid')
    }
  })
})
