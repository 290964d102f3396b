import { resolve, join } from 'node:path'
import { writeFile, rename, rm } from 'node:fs/promises'
import { startHttp, Router } from '../../node/http.js'
import { agentEndpoint } from '../../dashboard/control.js'
import { dashboardToken } from '../../dashboard/server.js'
import { CONTROL_FILE } from './human.js'
import type { ControlFile } from './human.js'
import { createAgent } from '../../agent/index.js'
import type { Agent } from '../../agent/index.js'
import type { MethodClass } from '../../store/index.js'
import { isIdentityKind } from '../../identity/index.js'
import { DEFAULT_POW_BITS } from '../../handles/pow.js'
import { parse, relayList, UsageError } from '../command.js'
import type { Command } from '../command.js'

/** The help lines of {@link AGENT_OPTIONS} (shared with `parley mcp serve`). */
export const AGENT_OPTIONS_HELP = `  --handle NAME      handle to register (without @)
  --relay ADDR       relay multiaddr with /p2p/<id>, repeatable (env PARLEY_RELAY)
  --kind KIND        agent or human (default agent)
  --data-dir DIR     keeps the identity (default ./.parley/agent-NAME)
  --pow-bits N       proof of work for the record (default ${DEFAULT_POW_BITS})
  --min-pow-bits N   least proof of work accepted from others (default ${DEFAULT_POW_BITS})
  --http HOST:PORT   control API (and dashboard) address (default 127.0.0.1:0, a free port)
  --threshold AMOUNT ask the human about any action above it, e.g. 100GBP
  -h, --help         show this help`

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run a long-lived agent node: registers @handle, answers ping, prints what it receives',
  usage: `Usage: parley agent --handle NAME --relay ADDR [options]

Starts an agent node: reserves on the relay, publishes the handle record for
@NAME (first come, first served), keeps it fresh, answers "ping", takes
messages into its inbox, negotiates, and asks you (its human) about what its
policy holds. It prints every incoming session, request, notification and
approval on stdout, one JSON object per line, and how each session went:
"direct" (with the ICE candidate pair) or "relayed" (no direct path, e.g. a
symmetric NAT). SIGINT or SIGTERM stops it.

Its control API and its dev dashboard listen on --http (127.0.0.1, a free
port by default), with one token: the URL and the token are written to
DATA_DIR/control.json (mode 0600), where "parley send", "pending", "approve",
"reject", "trust", "inbox" and "log" find them. The ready line carries the
dashboard's URL, the token in its fragment (#token=…): open it in a browser to
see the node's peers, sessions, negotiations and approvals, and to approve.

Options:
${AGENT_OPTIONS_HELP}`,
  async run (argv) {
    const { values } = parse(argv, AGENT_OPTIONS)
    if (values.help === true) { console.log(this.usage); return 0 }
    return runAgentNode(values)
  }
}

/** The flags of a long-lived agent node (`parley agent`, `parley mcp serve`). */
export const AGENT_OPTIONS = {
  handle: { type: 'string' },
  relay: { type: 'string', multiple: true },
  kind: { type: 'string' },
  'data-dir': { type: 'string' },
  'pow-bits': { type: 'string' },
  'min-pow-bits': { type: 'string' },
  http: { type: 'string' },
  threshold: { type: 'string' }
} as const

/** What {@link AGENT_OPTIONS} parse to. */
export type AgentFlags = { [K in keyof typeof AGENT_OPTIONS]?: typeof AGENT_OPTIONS[K] extends { multiple: true } ? string[] : string }

/**
 * Runs an agent node until SIGINT or SIGTERM: `parley agent`'s body.
 * `setup` runs on the created agent before it starts (to serve more);
 * `classes` are added to its policy.
 */
export async function runAgentNode (values: AgentFlags, options: { setup?: (agent: Agent) => void | Promise<void>, classes?: Record<string, MethodClass> } = {}): Promise<number> {
  const handle = values.handle
  if (handle === undefined) throw new UsageError('--handle is required')
  const relays = relayList(values.relay)
  const kind = values.kind ?? 'agent'
  if (!isIdentityKind(kind)) throw new UsageError(`--kind must be agent or human, not "${kind}"`)
  const bits = (name: 'pow-bits' | 'min-pow-bits'): number => {
    const v = values[name] === undefined ? DEFAULT_POW_BITS : Number(values[name])
    if (!Number.isInteger(v) || v < 0 || v > 32) throw new UsageError(`--${name} must be an integer from 0 to 32`)
    return v
  }
  let threshold: { value: number, currency: string } | undefined
  if (values.threshold !== undefined) {
    const m = /^(\d+(?:\.\d+)?)\s*([A-Z]{3})$/.exec(values.threshold)
    if (m === null) throw new UsageError('--threshold must be an amount and an ISO 4217 currency, e.g. 100GBP')
    threshold = { value: Number(m[1]), currency: m[2] as string }
  }
  const http = /^(.+):(\d+)$/.exec(values.http ?? '127.0.0.1:0')
  if (http === null) throw new UsageError('--http must be HOST:PORT')
  const dataDir = resolve(values['data-dir'] ?? `.parley/agent-${handle.replace(/^@/, '')}`)
  const agent = await createAgent({
    handle, kind, relays, dataDir,
    powBits: bits('pow-bits'),
    minPowBits: bits('min-pow-bits'),
    ...(threshold === undefined && options.classes === undefined
      ? {}
      : { policy: { ...(threshold === undefined ? {} : { amountThreshold: threshold }), ...(options.classes === undefined ? {} : { classes: options.classes }) } })
  })
  await options.setup?.(agent)
  const print = (event: string, detail: object): void => { console.log(JSON.stringify({ event, ...detail })) }
  agent.addEventListener('session', (e) => {
    const session = e.detail
    print('session', { from: session.remote })
    session.addEventListener('request', (r) => { print('request', { from: r.detail.caller, id: r.detail.id, method: r.detail.method, params: r.detail.params }) })
    session.addEventListener('notification', (n) => { print('notification', { from: n.detail.caller, method: n.detail.method, params: n.detail.params }) })
    session.addEventListener('close', () => { print('closed', { peer: session.remotePeer }) })
  })
  // how each session ended up: direct (and on which ICE candidate pair) or kept on the relay
  agent.addEventListener('direct', (e) => { print('direct', { peer: e.detail.peer, session: e.detail.session.id ?? null, ...(e.detail.path === undefined ? {} : { path: e.detail.path }) }) })
  agent.addEventListener('relayed', (e) => { print('relayed', { peer: e.detail.peer, session: e.detail.session.id ?? null, attempts: e.detail.attempts, reason: e.detail.reason }) })
  agent.addEventListener('pending', (e) => { print('pending', { id: e.detail.id, summary: e.detail.summary }) })
  agent.addEventListener('message', (e) => { print('message', { from: e.detail.from, text: e.detail.text }) })
  agent.addEventListener('outcome', (e) => { print('outcome', e.detail) })
  agent.addEventListener('suggestion', (e) => { print('suggestion', { ...e.detail, hint: `parley trust ${e.detail.handle === undefined ? e.detail.peer : '@' + e.detail.handle} ${e.detail.to}` }) })
  await agent.start()
  const token = dashboardToken()
  const { router, dashboard } = agentEndpoint(new Router(), agent, { token, host: http[1] as string })
  const endpoint = await startHttp(http[1] as string, Number(http[2]), router)
  const control: ControlFile = { url: endpoint.url, token, peer: agent.peerId, ...(agent.handleName === undefined ? {} : { handle: agent.handleName }) }
  const file = join(dataDir, CONTROL_FILE)
  await writeFile(file + '.tmp', JSON.stringify(control) + '\n', { mode: 0o600 })
  await rename(file + '.tmp', file)
  print('ready', { handle: agent.handleName, peer: agent.peerId, kind: agent.identity.kind, relays: agent.record?.relays ?? [], control: endpoint.url, dashboard: dashboard.url(endpoint.url) })
  await new Promise<void>(resolve => {
    process.once('SIGINT', () => { resolve() })
    process.once('SIGTERM', () => { resolve() })
  })
  await rm(file, { force: true })
  await endpoint.close()
  await agent.close()
  return 0
}
