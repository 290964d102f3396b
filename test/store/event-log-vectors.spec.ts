import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { EventLog, EventLogErrorCode, verifyLog, LOG_SIGNING_CONTEXT } from '../../src/store/index.js'
import type { VerifyLogOptions } from '../../src/store/index.js'
import schema from '../../protocols/event-log/schema.json' with { type: 'json' }
import vectors from '../../protocols/event-log/vectors.json' with { type: 'json' }
import { testKey } from '../vectors/keys.js'

interface Case {
  name: string
  log: unknown
  options?: VerifyLogOptions
  expect: string
  seq?: number
  count?: number
  head?: unknown
}

const cases = vectors.cases as Case[]

/** Failures the schema cannot express (README §6 checks them). */
const BEYOND_SCHEMA = new Set(['export-bad-peer', 'sig-non-canonical'])

describe('event log vectors (protocols/event-log/vectors.json)', () => {
  it('uses the context of the spec', () => {
    expect(vectors.signingContext).to.equal(LOG_SIGNING_CONTEXT)
  })

  for (const c of cases) {
    it(`${c.name}: ${c.expect}${c.seq === undefined ? '' : ` at ${c.seq}`}`, async () => {
      try {
        const result = await verifyLog(c.log, c.options)
        expect('valid').to.equal(c.expect)
        expect(result.count).to.equal(c.count)
        expect(result.signer).to.equal((c as { signer?: string }).signer ?? result.peer)
        expect(result.head).to.deep.equal(c.head)
      } catch (err) {
        if ((err as Error).name !== 'EventLogError') throw err
        expect((err as { code: string }).code).to.equal(c.expect)
        expect((err as { seq?: number }).seq).to.equal(c.seq)
      }
    })
  }

  it('EventLog writes exactly the entries of `appends`', async () => {
    const alice = testKey('alice')
    const times = vectors.appends.map(a => a.ts)
    const log = await EventLog.open(new MemoryDatastore(), alice, { now: () => times.shift() ?? 0 })
    for (const a of vectors.appends) await log.append(a.type, a.data)
    const expected = cases.find(c => c.name === 'five-entries')?.log
    expect(await log.export()).to.deep.equal(expected)
    expect(log.head?.hash).to.equal(vectors.hashes[4])
  })

  it('covers every verification code', () => {
    const codes = new Set(cases.map(c => c.expect))
    for (const code of Object.values(EventLogErrorCode)) {
      if (code === 'ERR_LOG_INVALID_ARGUMENT' || code === 'ERR_LOG_CLOSED') continue
      expect(codes.has(code), code).to.equal(true)
    }
  })
})

describe('event log JSON Schema (protocols/event-log/schema.json)', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)

  for (const c of cases) {
    if (c.expect === 'valid') {
      it(`accepts ${c.name}`, () => {
        expect(validate(c.log), JSON.stringify(validate.errors)).to.equal(true)
      })
    } else if (['ERR_LOG_MALFORMED', 'ERR_LOG_UNSUPPORTED_VERSION'].includes(c.expect) && !BEYOND_SCHEMA.has(c.name)) {
      it(`rejects ${c.name}`, () => {
        expect(validate(c.log)).to.equal(false)
      })
    }
  }
})
