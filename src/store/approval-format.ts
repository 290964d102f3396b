/**
 * Signed approval decisions (`protocols/approval`): a human's answer to one
 * pending approval, bound to the exact bytes it approves by their SHA-256.
 */
import { fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { ApprovalError, ApprovalErrorCode as Code } from './errors.js'
import { ID_PATTERN } from '../envelope/constants.js'
import {
  describe, isBase64urlOf, isCount, isPeerId, isPlainObject, sha256Base64url, signObject,
  unknownMembers, verifyObject
} from './signed.js'
import type { StoreSigner } from './signed.js'

/** The decision format version (`v`). */
export const APPROVAL_VERSION = 1
/** `type` of a decision. */
export const APPROVAL_TYPE = 'parley/approval'
/** Domain separation of decision signatures: prefixed to the canonical JSON before signing. */
export const APPROVAL_SIGNING_CONTEXT = 'parley/approval/v1\n'
/** Approval id syntax (the store draws 16 random bytes, base64url). */
export const APPROVAL_ID_PATTERN = ID_PATTERN
/** Longest `reply`, in UTF-8 bytes. */
export const MAX_REPLY_BYTES = 4096

/** What a human can answer. */
export type DecisionKind = 'approve' | 'reject'

/** A signed decision on one pending approval. */
export interface ApprovalDecision {
  /** The format version, {@link APPROVAL_VERSION}. */
  v: typeof APPROVAL_VERSION
  /** Always {@link APPROVAL_TYPE}. */
  type: typeof APPROVAL_TYPE
  /** The pending approval's id. */
  approval: string
  /** Base64url SHA-256 of the exact bytes approved (the approval's subject). */
  subject: string
  /** What the human answered. */
  decision: DecisionKind
  /** A message from the human, e.g. for the other party. */
  reply?: string
  /** The approver's peer id; its key signs. */
  by: string
  /** When the human decided, ms since the Unix epoch. */
  ts: number
  /** Base64url Ed25519 signature (see `protocols/approval`). */
  sig: string
}

/** The members of a decision its signer chooses. */
export interface DecisionDraft {
  /** The pending approval's id. */
  approval: string
  /** The approval's subject hash (`PendingApproval.subject.hash`). */
  subject: string
  /** What the human answered. */
  decision: DecisionKind
  /** A message from the human, at most {@link MAX_REPLY_BYTES} bytes of UTF-8. */
  reply?: string
  /** Default: now. */
  ts?: number
}

/** Options of {@link verifyDecision}. */
export interface VerifyDecisionOptions {
  /** Peer ids whose decisions are accepted. */
  approvers: Iterable<string>
}

/** Stands in for the signature while a draft's members are checked. */
const PLACEHOLDER_SIG = toBase64url(new Uint8Array(64))
const MEMBERS = ['v', 'type', 'approval', 'subject', 'decision', 'reply', 'by', 'ts', 'sig'] as const

/** Base64url SHA-256 of `bytes`: the subject an approval and its decision name. */
export function subjectHash (bytes: Uint8Array): string {
  return sha256Base64url(bytes)
}

function malformed (message: string): ApprovalError {
  return new ApprovalError(Code.MALFORMED, `decision: ${message}`)
}

function checkReply (reply: unknown): void {
  if (reply === undefined) return
  if (typeof reply !== 'string' || !reply.isWellFormed() || utf8(reply).byteLength > MAX_REPLY_BYTES) {
    throw malformed(`"reply" is not a string of at most ${MAX_REPLY_BYTES} UTF-8 bytes`)
  }
}

/** Checks a decision's members (not who signed it). */
export function checkDecisionShape (value: unknown): ApprovalDecision {
  if (!isPlainObject(value)) throw malformed('not a JSON object')
  const extra = unknownMembers(value, MEMBERS)
  if (extra.length > 0) throw malformed(`unknown member ${describe(extra[0])}`)
  if (typeof value.v !== 'number') throw malformed('"v" is missing or not a number')
  if (value.v !== APPROVAL_VERSION) throw new ApprovalError(Code.UNSUPPORTED_VERSION, `decision: unsupported version ${describe(value.v)}`)
  if (value.type !== APPROVAL_TYPE) throw malformed(`"type" is not "${APPROVAL_TYPE}"`)
  if (typeof value.approval !== 'string' || !APPROVAL_ID_PATTERN.test(value.approval)) throw malformed('"approval" is not an approval id')
  if (!isBase64urlOf(value.subject, 32)) throw malformed('"subject" is not base64url of 32 bytes')
  if (value.decision !== 'approve' && value.decision !== 'reject') throw malformed('"decision" is not "approve" or "reject"')
  checkReply(value.reply)
  if (!isPeerId(value.by)) throw malformed('"by" is not an Ed25519 peer id')
  if (!isCount(value.ts)) throw malformed('"ts" is not an integer in [0, 2^53 - 1]')
  if (!isBase64urlOf(value.sig, 64)) throw malformed('"sig" is not base64url of 64 bytes')
  return value as unknown as ApprovalDecision
}

/**
 * Signs a decision as `signer`.
 *
 * @example
 * ```ts
 * import { signDecision } from 'parley-mesh/store'
 * import type { PendingApproval } from 'parley-mesh/store'
 * import type { Identity } from 'parley-mesh/identity'
 * declare const human: Identity // an approver
 * declare const p: PendingApproval
 *
 * const d = await signDecision(human, { approval: p.id, subject: p.subject.hash, decision: 'approve' })
 * ```
 * @throws {ApprovalError} `ERR_APPROVAL_INVALID_ARGUMENT` for a draft that would not make a valid decision.
 */
export async function signDecision (signer: StoreSigner, draft: DecisionDraft): Promise<ApprovalDecision> {
  const unsigned: Omit<ApprovalDecision, 'sig'> = {
    v: APPROVAL_VERSION,
    type: APPROVAL_TYPE,
    approval: draft.approval,
    subject: draft.subject,
    decision: draft.decision,
    by: signer.peerIdString,
    ts: draft.ts ?? Date.now()
  }
  if (draft.reply !== undefined) unsigned.reply = draft.reply
  try {
    checkDecisionShape({ ...unsigned, sig: PLACEHOLDER_SIG })
  } catch (err) {
    throw new ApprovalError(Code.INVALID_ARGUMENT, (err as Error).message, { cause: err })
  }
  return { ...unsigned, sig: await signObject(APPROVAL_SIGNING_CONTEXT, signer, unsigned) }
}

/**
 * Verifies a decision offline: its members (`ERR_APPROVAL_MALFORMED`,
 * `ERR_APPROVAL_UNSUPPORTED_VERSION`), that `by` is one of `approvers`
 * (`ERR_APPROVAL_UNAUTHORIZED`), and its signature
 * (`ERR_APPROVAL_BAD_SIGNATURE`). `input` is the decision as a value, or as
 * JSON text or its UTF-8 bytes.
 *
 * @throws {ApprovalError}
 */
export async function verifyDecision (input: unknown, options: VerifyDecisionOptions): Promise<ApprovalDecision> {
  let value = input
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : fromUtf8(input))
    } catch (cause) {
      throw new ApprovalError(Code.MALFORMED, 'decision: not UTF-8 JSON text', { cause })
    }
  }
  const decision = checkDecisionShape(value)
  if (!new Set(options.approvers).has(decision.by)) {
    throw new ApprovalError(Code.UNAUTHORIZED, `decision: ${decision.by} is not an accepted approver`)
  }
  if (!await verifyObject(APPROVAL_SIGNING_CONTEXT, decision, decision.by)) {
    throw new ApprovalError(Code.BAD_SIGNATURE, 'decision: the signature does not verify')
  }
  return decision
}
