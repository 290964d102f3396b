import { readFile } from 'node:fs/promises'
import { parse, UsageError } from '../command.js'
import type { Command } from '../command.js'
import { verifyLog } from '../../store/index.js'
import { verifyAgreement } from '../../negotiation/agreement.js'
import { checkSignature } from '../../negotiation/transition.js'
import { decodeEnvelope } from '../../envelope/envelope.js'
import { verifySignature } from '../../crypto/signature.js'
import { canonicalize } from '../../crypto/canonical-json.js'
import { utf8 } from '../../crypto/bytes.js'
import { ParleyError } from '../../errors.js'

/** What `verify` found: the document's kind, a line per check, and the first failure. */
export interface VerifyReport {
  kind: 'event-log' | 'agreement'
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
        `quoted envelopes: ${envelopes}, each signed by its sender ✓`,
        `quoted negotiation transitions: ${transitions}, each signed by its party ✓`
      ]
    }
  }
  throw new ParleyError('ERR_UNKNOWN_DOCUMENT', 'not a Parley event log export ("type": "parley/event-log") or agreement ("type": "parley/agreement")')
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check an exported event log or an agreement offline',
  usage: `Usage: parley verify FILE

FILE is JSON: an event log from "parley log --export" (hash chain, the node's
signature on every entry, and the signature of every envelope and negotiation
transition it quotes), or an agreement (both parties' signatures over the same
terms hash). Exit 0 when everything verifies; 1 with the first failure.

Options:
  -h, --help   show this help`,
  async run (argv) {
    const { values, positionals } = parse(argv, {}, true)
    if (values.help === true) { console.log(this.usage); return 0 }
    if (positionals.length !== 1) throw new UsageError('expected one FILE')
    let value: unknown
    try {
      value = JSON.parse(await readFile(positionals[0] as string, 'utf8'))
    } catch (err) {
      throw new ParleyError('ERR_UNREADABLE', `cannot read ${positionals[0]} as JSON: ${(err as Error).message}`)
    }
    const report = await verifyDocument(value)
    for (const line of report.lines) console.log(line)
    console.log('verified')
    return 0
  }
}
