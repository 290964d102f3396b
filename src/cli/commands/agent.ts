import { resolve } from 'node:path'
import { createAgent } from '../../agent/index.js'
import { isIdentityKind } from '../../identity/index.js'
import { DEFAULT_POW_BITS } from '../../handles/pow.js'
import { parse, UsageError } from '../command.js'
import type { Command } from '../command.js'

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run a long-lived agent node: registers @handle, answers ping, prints what it receives',
  usage: `Usage: parley agent --handle NAME --relay ADDR [options]

Starts an agent node: reserves on the relay, publishes the handle record for
@NAME (first come, first served), keeps it fresh, answers "ping" and prints
every incoming session, request and notification on stdout, one JSON object
per line. SIGINT or SIGTERM stops it.

Options:
  --handle NAME      handle to register (without @)
  --relay ADDR       relay multiaddr with /p2p/<id>, repeatable (env PARLEY_RELAY)
  --kind KIND        agent or human (default agent)
  --data-dir DIR     keeps the identity (default ./.parley/agent-NAME)
  --pow-bits N       proof of work for the record (default ${DEFAULT_POW_BITS})
  --min-pow-bits N   least proof of work accepted from others (default ${DEFAULT_POW_BITS})
  -h, --help         show this help`,
  async run (argv) {
    const { values } = parse(argv, {
      handle: { type: 'string' },
      relay: { type: 'string', multiple: true },
      kind: { type: 'string' },
      'data-dir': { type: 'string' },
      'pow-bits': { type: 'string' },
      'min-pow-bits': { type: 'string' }
    })
    if (values.help === true) { console.log(this.usage); return 0 }
    const handle = values.handle
    if (handle === undefined) throw new UsageError('--handle is required')
    const relays = values.relay ?? (process.env.PARLEY_RELAY === undefined ? [] : process.env.PARLEY_RELAY.split(','))
    if (relays.length === 0) throw new UsageError('--relay is required (or PARLEY_RELAY)')
    const kind = values.kind ?? 'agent'
    if (!isIdentityKind(kind)) throw new UsageError(`--kind must be agent or human, not "${kind}"`)
    const bits = (name: 'pow-bits' | 'min-pow-bits'): number => {
      const v = values[name] === undefined ? DEFAULT_POW_BITS : Number(values[name])
      if (!Number.isInteger(v) || v < 0 || v > 32) throw new UsageError(`--${name} must be an integer from 0 to 32`)
      return v
    }
    const agent = await createAgent({
      handle, kind, relays,
      dataDir: resolve(values['data-dir'] ?? `.parley/agent-${handle.replace(/^@/, '')}`),
      powBits: bits('pow-bits'),
      minPowBits: bits('min-pow-bits')
    })
    const print = (event: string, detail: object): void => { console.log(JSON.stringify({ event, ...detail })) }
    agent.addEventListener('session', (e) => {
      const session = e.detail
      print('session', { from: session.remote })
      session.addEventListener('request', (r) => { print('request', { from: r.detail.caller, id: r.detail.id, method: r.detail.method, params: r.detail.params }) })
      session.addEventListener('notification', (n) => { print('notification', { from: n.detail.caller, method: n.detail.method, params: n.detail.params }) })
      session.addEventListener('close', () => { print('closed', { peer: session.remotePeer }) })
    })
    await agent.start()
    print('ready', { handle: agent.handleName, peer: agent.peerId, kind: agent.identity.kind, relays: agent.record?.relays ?? [] })
    await new Promise<void>(resolve => {
      process.once('SIGINT', () => { resolve() })
      process.once('SIGTERM', () => { resolve() })
    })
    await agent.stop()
    return 0
  }
}
