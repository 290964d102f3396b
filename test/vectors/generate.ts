/**
 * Regenerates every `protocols/<name>/vectors.json` from fixed seeds:
 * `npm run vectors`. The tests replay the committed files; a change that
 * alters a vector shows up as a diff to review, never silently.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { signatureVectors } from './signatures.js'
import { handleRecordVectors } from './handle-record.js'
import { envelopeVectors } from './envelope.js'
import { negotiationVectors } from './negotiation.js'
import { eventLogVectors } from './event-log.js'
import { approvalVectors } from './approval.js'
import { presenceVectors } from './presence.js'
import { sessionVectors } from './session.js'
import { stunVectors } from './stun.js'
import { agentCardVectors } from './agent-card.js'
import { mailboxVectors } from './mailbox.js'
import { mediaVectors } from './media.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))

const outputs: Array<[string, () => unknown | Promise<unknown>]> = [
  ['protocols/signatures/vectors.json', signatureVectors],
  ['protocols/envelope/vectors.json', envelopeVectors],
  ['protocols/handle-record/vectors.json', handleRecordVectors],
  ['protocols/negotiation/vectors.json', negotiationVectors],
  ['protocols/event-log/vectors.json', eventLogVectors],
  ['protocols/approval/vectors.json', approvalVectors],
  ['protocols/presence/vectors.json', presenceVectors],
  ['protocols/session/vectors.json', sessionVectors],
  ['protocols/stun/vectors.json', stunVectors],
  ['protocols/agent-card/vectors.json', agentCardVectors],
  ['protocols/mailbox/vectors.json', mailboxVectors],
  ['protocols/media/vectors.json', mediaVectors]
]

// `npm run vectors -- handle-record` regenerates only the files whose path contains an argument
const only = process.argv.slice(2)
for (const [path, make] of outputs) {
  if (only.length > 0 && !only.some(o => path.includes(o))) continue
  writeFileSync(root + path, JSON.stringify(await make(), null, 2) + '\n')
  console.log('wrote', path)
}
