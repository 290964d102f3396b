import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { Approvals, ApprovalErrorCode, verifyDecision, subjectHash, APPROVAL_SIGNING_CONTEXT } from '../../src/store/index.js'
import type { SubjectKind } from '../../src/store/index.js'
import { fromBase64url } from '../../src/crypto/bytes.js'
import schema from '../../protocols/approval/schema.json' with { type: 'json' }
import vectors from '../../protocols/approval/vectors.json' with { type: 'json' }

interface Step { op: string, decision: unknown, bytes?: string, expect: string, status: string }

/** "valid", or the code of the ApprovalError thrown; anything else is rethrown. */
async function outcome (run: () => Promise<unknown>): Promise<string> {
  try {
    await run()
    return 'valid'
  } catch (err) {
    if ((err as Error).name !== 'ApprovalError') throw err
    return (err as { code: string }).code
  }
}

const bytes = (b64: string | undefined): Uint8Array => fromBase64url(b64 ?? '') ?? new Uint8Array(0)

/** Failures the schema cannot express (README §3 says how they are checked). */
const BEYOND_SCHEMA = new Set(['non-canonical-subject'])

describe('approval vectors (protocols/approval/vectors.json)', () => {
  it('uses the context of the spec, and the subject is the SHA-256 of the bytes', () => {
    expect(vectors.signingContext).to.equal(APPROVAL_SIGNING_CONTEXT)
    expect(subjectHash(bytes(vectors.approval.bytes))).to.equal(vectors.approval.subject)
  })

  for (const c of vectors.cases) {
    it(`${c.name}: ${c.expect}`, async () => {
      expect(await outcome(async () => verifyDecision(c.decision, { approvers: c.approvers }))).to.equal(c.expect)
    })
  }

  for (const s of vectors.sequences) {
    it(`sequence ${s.name}: ${s.steps.map(step => step.expect).join(', ')}`, async () => {
      const a = vectors.approval
      const store = await Approvals.open(new MemoryDatastore(), {
        self: vectors.keys.alice.peerId,
        approvers: s.approvers,
        randomId: () => a.id,
        now: () => a.created
      })
      const held = await store.request({
        subjectKind: a.subjectKind as SubjectKind,
        bytes: bytes(a.bytes),
        peer: a.peer,
        handle: a.handle,
        method: a.method,
        summary: a.summary,
        amount: a.amount
      })
      expect(held).to.include({ id: a.id, created: a.created, status: 'pending' })
      expect(held.subject).to.deep.equal({ kind: a.subjectKind, hash: a.subject, bytes: a.bytes })
      for (const [i, step] of (s.steps as Step[]).entries()) {
        const got = await outcome(async () => step.op === 'redeem' ? store.redeem(step.decision, bytes(step.bytes)) : store.submit(step.decision))
        expect(got, `step ${i}`).to.equal(step.expect)
        expect(store.get(a.id)?.status, `status after step ${i}`).to.equal(step.status)
      }
    })
  }

  it('covers every decision and redemption code', () => {
    const codes = new Set([...vectors.cases.map(c => c.expect), ...vectors.sequences.flatMap(s => s.steps.map(step => step.expect))])
    for (const code of Object.values(ApprovalErrorCode)) {
      if (['ERR_APPROVAL_TOO_MANY', 'ERR_APPROVAL_INVALID_ARGUMENT', 'ERR_APPROVAL_CLOSED'].includes(code)) continue
      expect(codes.has(code), code).to.equal(true)
    }
  })
})

describe('approval JSON Schema (protocols/approval/schema.json)', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)

  for (const c of vectors.cases) {
    if (c.expect === 'valid') {
      it(`accepts ${c.name}`, () => {
        expect(validate(c.decision), JSON.stringify(validate.errors)).to.equal(true)
      })
    } else if (['ERR_APPROVAL_MALFORMED', 'ERR_APPROVAL_UNSUPPORTED_VERSION'].includes(c.expect) && !BEYOND_SCHEMA.has(c.name)) {
      it(`rejects ${c.name}`, () => {
        expect(validate(c.decision)).to.equal(false)
      })
    }
  }
})
