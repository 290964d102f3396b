import { createAgent } from '../../agent/index.js'
import { DEFAULT_POW_BITS } from '../../handles/pow.js'
import { parse, relayList, UsageError } from '../command.js'
import type { Command } from '../command.js'

export const resolveCommand: Command = {
  name: 'resolve',
  summary: 'look up @name in the DHT and print its verified handle record',
  usage: `Usage: parley resolve @name --relay ADDR [--json] [--min-pow-bits N]

Joins the mesh through the relay with a throwaway identity, fetches the handle
record of @name from the DHT, checks it (signature, proof of work, expiry,
owner) and prints it. Exits 1 if no valid record exists.

Options:
  --relay ADDR       a relay multiaddr with /p2p/<id>, repeatable (env PARLEY_RELAY)
  --json             print the record as JSON
  --min-pow-bits N   least proof of work accepted (default ${DEFAULT_POW_BITS})
  -h, --help         show this help`,
  async run (argv) {
    const { values, positionals } = parse(argv, {
      relay: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'min-pow-bits': { type: 'string' }
    }, true)
    if (values.help === true) { console.log(this.usage); return 0 }
    const name = positionals[0]
    if (name === undefined || positionals.length > 1) throw new UsageError('give exactly one @name')
    const relays = relayList(values.relay)
    const bits = values['min-pow-bits'] === undefined ? DEFAULT_POW_BITS : Number(values['min-pow-bits'])
    if (!Number.isInteger(bits) || bits < 0) throw new UsageError('--min-pow-bits must be a non-negative integer')
    const agent = await createAgent({ relays, minPowBits: bits })
    await agent.start()
    try {
      const record = await agent.resolve(name, { fresh: true })
      const shown = { handle: '@' + record.handle, peer: record.peer, kind: record.kind, x25519: record.x25519, relays: record.relays, seq: record.seq, expires: new Date(record.expires).toISOString(), pow: record.pow, rotation: record.rotation?.prev, verified: true }
      if (values.json === true) console.log(JSON.stringify(shown))
      else for (const [k, v] of Object.entries(shown)) if (v !== undefined) console.log(`${k.padEnd(9)} ${Array.isArray(v) ? v.join('\n          ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      return 0
    } finally {
      await agent.stop()
    }
  }
}
