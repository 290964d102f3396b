/**
 * Offline verification of a document a Parley node exports: an event log
 * (`parley log --export`) with the signatures it quotes, or an agreement.
 * What `parley verify` runs, and what the demo checks its logs with.
 */
import { verifyLog } from './log-format.js'
import { verifyAgreement } from '../negotiation/agreement.js'
import { checkSignature } from '../negotiation/transition.js'
import { decodeEnvelope } from '../envelope/envelope.js'
import { verifySignature } from '../crypto/signature.js'
import { canonicalize } from '../crypto/canonical-json.js'
import { utf8 } from '../crypto/bytes.js'
import { ParleyError } from '../errors.js'

/** What {@link verifyDocument} found: the document's kind and a line per check. */
export interface VerifyReport {
  /** The kind of document. */
  kind: 'event-log' | 'agreement'
  /** One line per check that passed, for people. */
  lines: string[]
}

/**
 * Checks an exported event log (chain, and every entry's signature by the
 * node) including the signatures it quotes — each envelope by its sender,
 * each negotiation transition by its party — or an agreement (both parties'
 * signatures over the same terms hash). Throws the first failure's typed error.
 */
export async function verifyDocument (value: unknown): Promise<VerifyReport> {
  const type = (value as { type?: unknown } | null)?.type
  if (type === 'parley/agreement') {
    const a = await verifyAgreement(value)
    const name = (p: { peer: string, handle?: string }): string => p.handle === undefined ? p.peer : `@${p.handle}`
    return {
      kind: 'agreement',
      lines: [
        `agreement ${a.negotiation}: "${a.subject}"`,
        `terms ${canonicalize(a.terms)}`,
        `terms hash ${a.termsHash}`,
        `offered by ${name(a.parties.find(p => p.peer === a.offeredBy) ?? { peer: a.offeredBy })}: signature ✓`,
        `accepted by ${name(a.parties.find(p => p.peer === a.acceptedBy) ?? { peer: a.acceptedBy })} at ${new Date(a.confirmedAt).toISOString()}: signature ✓`
      ]
    }
  }
  if (type === 'parley/event-log') {
    const result = await verifyLog(value)
    let envelopes = 0
    let transitions = 0
    for (const entry of (value as { entries: Array<{ seq: number, data: Record<string, unknown> }> }).entries) {
      const envelope = entry.data.envelope
      if (envelope !== null && typeof envelope === 'object') {
        const decoded = decodeEnvelope(utf8(canonicalize(envelope)))
        if (!await verifySignature(decoded.signerKey, decoded.signingInput, decoded.signature)) {
          throw new ParleyError('ERR_BAD_SIGNATURE', `entry ${entry.seq}: the envelope ${decoded.envelope.id} it quotes is not signed by ${decoded.envelope.from.peer}`)
        }
        envelopes++
      }
      const transition = entry.data.transition
      if (transition !== null && typeof transition === 'object') {
        await checkSignature(transition as never)
        transitions++
      }
    }
    return {
      kind: 'event-log',
      lines: [
        `event log of ${result.peer}: ${result.count} entries, hash chain intact, every entry signed ✓`,
        ...(result.signer === result.peer ? [] : [`handed over to the key ${result.signer} (a key rotation), signed by the key handing over ✓`]),
        `quoted envelopes: ${envelopes}, each signed by its sender ✓`,
        `quoted negotiation transitions: ${transitions}, each signed by its party ✓`
      ]
    }
  }
  throw new ParleyError('ERR_UNKNOWN_DOCUMENT', 'not a Parley event log export ("type": "parley/event-log") or agreement ("type": "parley/agreement")')
}
