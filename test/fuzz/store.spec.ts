/**
 * Fuzzing the store formats (src/store): `verifyLog` (an exported event log,
 * as a value, as text and as bytes), `checkEntryShape`, and `verifyDecision`
 * (a signed approval decision). Refusals are `EventLogError` /
 * `ApprovalError` with the codes of protocols/event-log and
 * protocols/approval; a mutated log that verifies is a prefix of the
 * original (entries can only be cut from the end, which `knownHead`
 * catches), and a mutated decision that verifies is the original.
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { verifyLog, checkEntryShape, logEntryHash } from '../../src/store/log-format.js'
import type { LogEntry, VerifyLogOptions } from '../../src/store/log-format.js'
import { verifyDecision } from '../../src/store/approval-format.js'
import { ApprovalErrorCode, EventLogErrorCode } from '../../src/store/errors.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import logVectors from '../../protocols/event-log/vectors.json' with { type: 'json' }
import approvalVectors from '../../protocols/approval/vectors.json' with { type: 'json' }
import {
  TIMEOUT, deepArrayText, deepObjectText, junkBytes, mutateBytes, mutateText, mutatedJsonValues, outcome, params, someValue, utf8, withinLimit
} from './helpers.js'

const LOG_CODES = Object.values(EventLogErrorCode)
const APPROVAL_CODES = Object.values(ApprovalErrorCode)
const LOG_NAMES = ['v', 'type', 'peer', 'entries', 'seq', 'ts', 'data', 'prev', 'by', 'sig']
const APPROVAL_NAMES = ['v', 'type', 'approval', 'subject', 'decision', 'reply', 'by', 'ts', 'sig']

interface LogCase { name: string, log: { peer: string, entries: LogEntry[] }, expect: string, options?: VerifyLogOptions }
const logs = (logVectors.cases as unknown as LogCase[]).filter(c => c.expect === 'valid')
const decisions = approvalVectors.cases.filter(c => c.expect === 'valid')

/** A log input as verifyLog takes it: the value, its text, or its bytes (each possibly mutated). */
function logInputs (c: LogCase): fc.Arbitrary<unknown> {
  const text = JSON.stringify(c.log)
  return fc.oneof(
    { weight: 5, arbitrary: mutatedJsonValues(c.log, LOG_NAMES) },
    { weight: 2, arbitrary: mutatedJsonValues(c.log, LOG_NAMES).map(v => JSON.stringify(v) ?? '') },
    { weight: 1, arbitrary: mutateText(text) },
    { weight: 1, arbitrary: mutateBytes(utf8(text)) }
  )
}

describe('fuzz: event log and approvals', function () {
  this.timeout(TIMEOUT)

  before(async () => {
    await verifyLog((logs[1] as LogCase).log)
  })

  it('verifyLog: arbitrary input is refused with a typed code', async () => {
    const arb = fc.oneof(junkBytes(400), junkBytes(400).map(b => Buffer.from(b).toString()), someValue,
      fc.record({ v: fc.constant(1), type: fc.constant('parley/event-log'), peer: fc.constant((logs[0] as LogCase).log.peer), entries: fc.array(someValue, { maxLength: 3 }) }))
    await fc.assert(fc.asyncProperty(arb, async input => {
      await outcome(() => verifyLog(input), 'EventLogError', LOG_CODES)
      await outcome(() => checkEntryShape(input, 0), 'EventLogError', LOG_CODES)
    }), params(800))
  })

  it('verifyLog: a mutated valid log is refused with a typed code, or is a prefix of the original by the same peer', async () => {
    const arb = fc.constantFrom(...logs).chain(c => fc.tuple(fc.constant(c), logInputs(c)))
    await fc.assert(fc.asyncProperty(arb, async ([c, input]) => {
      const got = await outcome(() => verifyLog(input, c.options ?? {}), 'EventLogError', LOG_CODES)
      if (got.ok) {
        // an empty export is valid for whatever peer it names: it carries no signature (by design, protocols/event-log §6)
        if (got.value.count > 0) expect(got.value.peer).to.equal(c.log.peer)
        expect(got.value.count).to.be.at.most(c.log.entries.length)
        if (got.value.head !== undefined) {
          const original = c.log.entries[got.value.head.seq] as LogEntry
          expect(got.value.head.hash, 'the head is the original entry').to.equal(logEntryHash(original))
        }
      }
    }), params(800))
  })

  it('verifyDecision: arbitrary and mutated decisions are refused with a typed code, or are the original', async () => {
    const approvers = [...new Set(decisions.flatMap(d => d.approvers))]
    const arb = fc.oneof(
      junkBytes(400),
      someValue,
      fc.constantFrom(...decisions).chain(d => mutatedJsonValues(d.decision, APPROVAL_NAMES)),
      fc.constantFrom(...decisions).chain(d => mutateText(JSON.stringify(d.decision))),
      fc.constantFrom(...decisions).chain(d => mutateBytes(utf8(JSON.stringify(d.decision))))
    )
    const originals = decisions.map(d => canonicalize(d.decision))
    await fc.assert(fc.asyncProperty(arb, async input => {
      const got = await outcome(() => verifyDecision(input, { approvers }), 'ApprovalError', APPROVAL_CODES)
      if (got.ok) expect(originals, 'an accepted mutation').to.include(canonicalize(got.value))
    }), params(800))
  })

  it('large inputs are refused within a second: 1 MB, 100,000-deep data, 10,000 entries', async () => {
    const c = logs[1] as LogCase
    const entry = c.log.entries[0] as LogEntry
    for (const input of [
      new Uint8Array(1024 * 1024).fill(0x5b),
      deepArrayText(100_000),
      { ...c.log, entries: [{ ...entry, data: JSON.parse(deepObjectText(100_000)) as unknown }] },
      { ...c.log, entries: Array.from({ length: 10_000 }, () => entry) },
      { ...c.log, entries: [{ ...entry, data: { big: 'x'.repeat(1024 * 1024) } }] }
    ]) {
      const got = await withinLimit(() => outcome(() => verifyLog(input), 'EventLogError', LOG_CODES))
      expect(got?.ok).to.equal(false)
    }
    const d = decisions[0]?.decision as Record<string, unknown>
    for (const input of [deepObjectText(100_000), { ...d, reply: 'x'.repeat(1024 * 1024) }, utf8(deepArrayText(100_000))]) {
      const got = await withinLimit(() => outcome(() => verifyDecision(input, { approvers: [] }), 'ApprovalError', APPROVAL_CODES))
      expect(got?.ok).to.equal(false)
    }
  })
})
