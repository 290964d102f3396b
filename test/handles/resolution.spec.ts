import { expect } from 'chai'
import { chooseRecord } from '../../src/handles/resolution.js'
import { parseHandleRecord } from '../../src/handles/record.js'
import { utf8 } from '../../src/crypto/bytes.js'
import vectors from '../../protocols/handle-record/vectors.json' with { type: 'json' }

describe('handle resolution across trusted servers (protocols/handle-record §15)', () => {
  for (const c of vectors.resolution) {
    it(`vector ${c.name}`, () => {
      const answers = c.answers.map(a => ({ server: a.server, record: parseHandleRecord(utf8(a.record)) }))
      const got = chooseRecord(answers, c.now)
      const index = got.record === undefined ? null : answers.findIndex(a => a.record === got.record)
      expect({ record: index, code: got.code, servers: got.servers }).to.deep.equal({ record: c.expect.record, code: 'code' in c.expect ? c.expect.code : undefined, servers: c.expect.servers })
    })
  }

  it('a rogue answering alongside two agreeing relays is outvoted, whatever its seq', () => {
    const [honest, rogue] = [vectors.succession.find(c => c.name === 'other-owner-while-held')?.existing, vectors.succession.find(c => c.name === 'other-owner-while-held')?.incoming]
    const a = parseHandleRecord(utf8(honest ?? ''))
    const m = parseHandleRecord(utf8(rogue ?? ''))
    expect(m.seq).to.be.greaterThan(a.seq)
    const got = chooseRecord([{ server: 'rogue', record: m }, { server: 'r1', record: a }, { server: 'r2', record: a }], vectors.constants.now)
    expect(got.record?.peer).to.equal(a.peer)
    expect(got.servers).to.deep.equal(['r1', 'r2'])
  })
})
