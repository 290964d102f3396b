import { resolve } from 'node:path'
import { loadOrCreateIdentity, IDENTITY_FILE, isIdentityKind } from '../../identity/index.js'
import { toBase64url } from '../../crypto/bytes.js'
import { parse, UsageError } from '../command.js'
import type { Command } from '../command.js'

export const idCommand: Command = {
  name: 'id',
  summary: 'show the identity in a data directory, creating it on first use',
  usage: `Usage: parley id [--data-dir DIR] [--kind agent|human] [--json]

Loads the Ed25519 identity kept in DIR/${IDENTITY_FILE} (mode 0600), or creates
one if the directory has none, and prints its peer id, kind and X25519 key.
A key file with wrong permissions or broken content is an error: it is never
replaced silently.

Options:
  --data-dir DIR   data directory (default: $PARLEY_DATA_DIR or ./.parley)
  --kind KIND      agent or human, for a new identity (default: agent)
  --json           print JSON
  -h, --help       show this help`,
  async run (argv) {
    const { values } = parse(argv, {
      'data-dir': { type: 'string' },
      kind: { type: 'string' },
      json: { type: 'boolean' }
    })
    if (values.help === true) { console.log(this.usage); return 0 }
    const kind = values.kind ?? 'agent'
    if (!isIdentityKind(kind)) throw new UsageError(`--kind must be agent or human, not "${kind}"`)
    const dataDir = resolve(values['data-dir'] ?? process.env.PARLEY_DATA_DIR ?? '.parley')
    const id = await loadOrCreateIdentity({ dataDir, kind })
    const info = { peerId: id.peerIdString, kind: id.kind, x25519: toBase64url(id.x25519PublicKey), keyFile: resolve(dataDir, IDENTITY_FILE) }
    if (values.json === true) console.log(JSON.stringify(info))
    else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(8)} ${v}`)
    return 0
  }
}
