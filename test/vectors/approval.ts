/**
 * Generates `protocols/approval/vectors.json`. Decisions are signed here from
 * the spec's definition (JCS of the decision without "sig", prefixed by the
 * context), independently of `signDecision`, so that malformed but signed
 * decisions can be written too.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { toBase64url, toHex, utf8 } from '../../src/crypto/bytes.js'
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'
import { signRaw } from './envelope.js'

export const APPROVAL_NOW = 1_800_000_000_000
const CONTEXT = 'parley/approval/v1\n'
const ID = 'ICEiIyQlJicoKSorLC0uLw'

type Obj = Record<string, unknown>

async function signDecisionRaw (key: TestKey, unsigned: Obj, context = CONTEXT): Promise<Obj> {
  const sig = await key.sign(utf8(context + canonicalize(unsigned)))
  return { ...unsigned, sig: toBase64url(sig) }
}

const hashOf = (bytes: Uint8Array): string => toBase64url(sha256(bytes))

export async function approvalVectors (): Promise<Obj> {
  const alice = testKey('alice') // the node
  const carol = testKey('carol') // alice's human, on another device
  const bob = testKey('bob') // the contact whose request is held
  const mallory = testKey('mallory')
  const envelope = utf8(await signRaw(bob, {
    v: 1,
    id: 'AAECAwQFBgcICQoLDA0ODw',
    ts: APPROVAL_NOW - 1000,
    from: { handle: 'bob', peer: bob.peerIdString },
    to: { handle: 'alice', peer: alice.peerIdString },
    nonce: 'EBESExQVFhcYGRobHB0eHw',
    body: { jsonrpc: '2.0', id: 7, method: 'purchase', params: { item: 'boiler service', price: { value: 180, currency: 'GBP' } } }
  }))
  const other = utf8(await signRaw(bob, {
    v: 1,
    id: 'AAECAwQFBgcICQoLDA0OEA',
    ts: APPROVAL_NOW - 900,
    from: { handle: 'bob', peer: bob.peerIdString },
    to: { handle: 'alice', peer: alice.peerIdString },
    nonce: 'EBESExQVFhcYGRobHB0eIA',
    body: { jsonrpc: '2.0', id: 8, method: 'purchase', params: { item: 'new boiler', price: { value: 2400, currency: 'GBP' } } }
  }))
  const subject = hashOf(envelope)
  const base = (over: Obj = {}): Obj => ({
    v: 1,
    type: 'parley/approval',
    approval: ID,
    subject,
    decision: 'approve',
    by: alice.peerIdString,
    ts: APPROVAL_NOW,
    ...over
  })
  const self = [alice.peerIdString]
  const both = [alice.peerIdString, carol.peerIdString]

  const cases: Obj[] = []
  const add = (name: string, description: string, decision: unknown, approvers: string[], expect: string): void => {
    cases.push({ name, description, decision, approvers, expect })
  }
  const approve = await signDecisionRaw(alice, base())
  const reject = await signDecisionRaw(alice, base({ decision: 'reject', reply: 'Too expensive — try £150 🙂', ts: APPROVAL_NOW + 1 }))

  // valid
  add('approve', 'The node\'s own key approves.', approve, self, 'valid')
  add('reject-with-reply', 'A rejection with a reply (non-ASCII).', reject, self, 'valid')
  add('second-approver', 'Approved by carol, whom the node accepts as an approver.', await signDecisionRaw(carol, base({ by: carol.peerIdString })), both, 'valid')

  // members
  add('unsupported-version', 'v = 2, correctly signed.', await signDecisionRaw(alice, base({ v: 2 })), self, 'ERR_APPROVAL_UNSUPPORTED_VERSION')
  add('version-not-number', 'v = "1".', await signDecisionRaw(alice, base({ v: '1' })), self, 'ERR_APPROVAL_MALFORMED')
  add('wrong-type', 'type is not "parley/approval".', await signDecisionRaw(alice, base({ type: 'parley/decision' })), self, 'ERR_APPROVAL_MALFORMED')
  add('unknown-member', 'An extra member, correctly signed.', await signDecisionRaw(alice, base({ amount: 180 })), self, 'ERR_APPROVAL_MALFORMED')
  {
    const noTs = base()
    delete noTs.ts
    add('missing-ts', 'No ts.', await signDecisionRaw(alice, noTs), self, 'ERR_APPROVAL_MALFORMED')
  }
  add('bad-decision', 'decision is "maybe".', await signDecisionRaw(alice, base({ decision: 'maybe' })), self, 'ERR_APPROVAL_MALFORMED')
  add('bad-approval-id', 'The approval id has a space.', await signDecisionRaw(alice, base({ approval: 'not an id' })), self, 'ERR_APPROVAL_MALFORMED')
  add('short-subject', 'The subject is 16 bytes, not a SHA-256.', await signDecisionRaw(alice, base({ subject: toBase64url(new Uint8Array(16)) })), self, 'ERR_APPROVAL_MALFORMED')
  add('non-canonical-subject', 'The subject\'s last character has non-zero unused bits.', await signDecisionRaw(alice, base({ subject: subject.slice(0, 42) + (subject.endsWith('B') ? 'C' : 'B') })), self, 'ERR_APPROVAL_MALFORMED')
  add('long-reply', 'A reply of 4097 UTF-8 bytes.', await signDecisionRaw(alice, base({ reply: 'x'.repeat(4097) })), self, 'ERR_APPROVAL_MALFORMED')
  add('bad-by', 'by is not an Ed25519 peer id.', await signDecisionRaw(alice, base({ by: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' })), self, 'ERR_APPROVAL_MALFORMED')
  add('not-an-object', 'A JSON array.', [approve], self, 'ERR_APPROVAL_MALFORMED')

  // who
  add('unauthorized', 'Signed by carol, but the node accepts only its own key.', await signDecisionRaw(carol, base({ by: carol.peerIdString })), self, 'ERR_APPROVAL_UNAUTHORIZED')
  add('self-approved-by-requester', 'bob approves his own request.', await signDecisionRaw(bob, base({ by: bob.peerIdString })), self, 'ERR_APPROVAL_UNAUTHORIZED')

  // signature
  add('forged', 'Claims alice, signed by mallory.', { ...await signDecisionRaw(mallory, base()) }, self, 'ERR_APPROVAL_BAD_SIGNATURE')
  add('tampered-subject', 'Signed, then the subject changed to another envelope\'s hash.', { ...approve, subject: hashOf(other) }, self, 'ERR_APPROVAL_BAD_SIGNATURE')
  add('tampered-decision', 'A signed rejection turned into an approval.', { ...reject, decision: 'approve' }, self, 'ERR_APPROVAL_BAD_SIGNATURE')
  add('tampered-approval-id', 'Signed for one approval, then moved to another id.', { ...approve, approval: 'MDEyMzQ1Njc4OTo7PD0-Pw' }, self, 'ERR_APPROVAL_BAD_SIGNATURE')
  add('no-context', 'Signed without the "parley/approval/v1\\n" prefix.', await signDecisionRaw(alice, base(), ''), self, 'ERR_APPROVAL_BAD_SIGNATURE')
  add('log-context', 'Signed under the event log context.', await signDecisionRaw(alice, base(), 'parley/event-log/v1\n'), self, 'ERR_APPROVAL_BAD_SIGNATURE')

  // redeeming against a store
  const approval = {
    id: ID,
    created: APPROVAL_NOW - 500,
    subjectKind: 'envelope',
    bytes: toBase64url(envelope),
    subject,
    peer: bob.peerIdString,
    handle: 'bob',
    method: 'purchase',
    summary: 'Pay 180 GBP to @bob for a boiler service',
    amount: { value: 180, currency: 'GBP' }
  }
  const approveAgain = await signDecisionRaw(alice, base({ ts: APPROVAL_NOW + 60_000 }))
  const forOther = await signDecisionRaw(alice, base({ subject: hashOf(other) }))
  const unknown = await signDecisionRaw(alice, base({ approval: 'MDEyMzQ1Njc4OTo7PD0-Pw' }))
  const byCarol = await signDecisionRaw(carol, base({ by: carol.peerIdString }))
  const S = toBase64url(envelope)
  const O = toBase64url(other)
  const step = (op: 'redeem' | 'submit', decision: Obj, bytes: string | undefined, expect: string, status: string): Obj =>
    op === 'redeem' ? { op, decision, bytes, expect, status } : { op, decision, expect, status }
  const sequences = [
    {
      name: 'redeemed-once',
      description: 'An approval lets the action go ahead once; the same decision, or a fresh one, is refused after.',
      approvers: self,
      steps: [
        step('redeem', approve, S, 'valid', 'used'),
        step('redeem', approve, S, 'ERR_APPROVAL_USED', 'used'),
        step('redeem', approveAgain, S, 'ERR_APPROVAL_USED', 'used')
      ]
    },
    {
      name: 'other-bytes',
      description: 'The decision cannot be moved to other bytes, nor can a decision for other bytes name this approval.',
      approvers: self,
      steps: [
        step('redeem', approve, O, 'ERR_APPROVAL_SUBJECT_MISMATCH', 'pending'),
        step('redeem', forOther, O, 'ERR_APPROVAL_SUBJECT_MISMATCH', 'pending'),
        step('redeem', approve, S, 'valid', 'used')
      ]
    },
    {
      name: 'unknown-approval',
      description: 'A decision naming an approval the store does not hold.',
      approvers: self,
      steps: [step('redeem', unknown, S, 'ERR_APPROVAL_NOT_FOUND', 'pending')]
    },
    {
      name: 'rejected',
      description: 'A rejection, then an approval for the same subject: the rejection stands.',
      approvers: self,
      steps: [
        step('redeem', reject, S, 'ERR_APPROVAL_REJECTED', 'rejected'),
        step('redeem', approve, S, 'ERR_APPROVAL_REJECTED', 'rejected')
      ]
    },
    {
      name: 'submitted-then-redeemed',
      description: 'A decision made on another device is recorded, then redeemed.',
      approvers: both,
      steps: [
        step('submit', byCarol, undefined, 'valid', 'approved'),
        step('submit', approve, undefined, 'ERR_APPROVAL_NOT_PENDING', 'approved'),
        step('redeem', byCarol, S, 'valid', 'used'),
        step('redeem', approve, S, 'ERR_APPROVAL_USED', 'used')
      ]
    },
    {
      name: 'withdrawn-before-use',
      description: 'Approved, then a valid rejection arrives before the action went ahead: the rejection wins.',
      approvers: self,
      steps: [
        step('submit', approve, undefined, 'valid', 'approved'),
        step('redeem', reject, S, 'ERR_APPROVAL_REJECTED', 'rejected'),
        step('redeem', approve, S, 'ERR_APPROVAL_REJECTED', 'rejected')
      ]
    },
    {
      name: 'unauthorized-then-authorized',
      description: 'carol is not an approver of this store; alice is.',
      approvers: self,
      steps: [
        step('redeem', byCarol, S, 'ERR_APPROVAL_UNAUTHORIZED', 'pending'),
        step('redeem', approve, S, 'valid', 'used')
      ]
    }
  ]

  return {
    description: 'Approval decision test vectors. Keys: seed = first 32 bytes of SHA-512("parley test key <label>"); alice is the node, carol its human on another device, bob the contact whose request is held. `cases` verify one decision against `approvers`; `expect` is "valid" or the error code. `sequences` hold `approval` (the pending approval, created from those fields) and replay `steps` against one store accepting `approvers`: `op` "redeem" (decision and the bytes about to be acted on, base64url) or "submit" (decision only), the expected outcome, and the approval\'s `status` after the step.',
    keys: Object.fromEntries([alice, carol, bob, mallory].map(k => [k.label, { seed: toHex(k.seed), publicKey: toHex(k.publicKey), peerId: k.peerIdString }])),
    signingContext: CONTEXT,
    approval,
    cases,
    sequences
  }
}
