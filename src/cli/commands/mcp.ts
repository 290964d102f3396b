/**
 * `parley mcp`: MCP over the mesh with no code. `serve` puts a stdio MCP
 * server (any language) on the mesh under a handle; `connect` is a stdio
 * MCP server that forwards to a handle, for an MCP host's configuration.
 */
import { createAgent } from '../../agent/index.js'
import { ParleyClientTransport, serveMcp } from '../../mcp/index.js'
import type { MethodClass } from '../../store/index.js'
import { DEFAULT_POW_BITS } from '../../handles/pow.js'
import { parse, relayList, UsageError } from '../command.js'
import type { Command } from '../command.js'
import { AGENT_OPTIONS, AGENT_OPTIONS_HELP, runAgentNode } from './agent.js'
import { readLines, stdioServer, writeLine } from '../mcp-stdio.js'
import { resolve } from 'node:path'

const SERVE_USAGE = `Usage: parley mcp serve --handle NAME --relay ADDR [options] -- COMMAND [ARGS...]

Puts a stdio MCP server on the mesh under @NAME: runs an agent node (as
"parley agent" does: handle, control API, dashboard, one JSON line per event
on stdout) and, for each peer's session that opens MCP, starts COMMAND with
ARGS and carries that session's MCP messages on its stdin and stdout (one
process per session: a stdio server serves one client). Every incoming MCP
request passes the agent's policy gate: listing tools, resources and prompts
is routine; a tool named with --action is held for you (approve it with
"parley approve", or on the dashboard) unless the caller is a trusted
contact; other calls run.

Options:
  --action TOOL      hold calls of this tool for the human (repeatable)
${AGENT_OPTIONS_HELP}

Example:
  parley mcp serve --handle files --relay $RELAY -- npx @modelcontextprotocol/server-filesystem ~/shared`

const CONNECT_USAGE = `Usage: parley mcp connect @NAME --relay ADDR [options]

A stdio MCP server that forwards to the agent @NAME over Parley: it joins the
mesh, opens a session with @NAME (through a relay, then WebRTC when a direct
path exists) and carries MCP messages between its stdin/stdout and that
session. Configure an MCP host (a desktop assistant, an IDE) to run
"parley mcp connect @NAME --relay ADDR" as a stdio server. A tool call that
@NAME's human must approve waits, reporting MCP progress, until they decide.
Only MCP goes to stdout; diagnostics go to stderr.

Options:
  --relay ADDR       relay multiaddr with /p2p/<id>, repeatable (env PARLEY_RELAY)
  --data-dir DIR     keep an identity (and be known to @NAME as the same peer);
                     default: a new identity each run
  --min-pow-bits N   least proof of work accepted (default ${DEFAULT_POW_BITS})
  -h, --help         show this help`

export const mcpCommand: Command = {
  name: 'mcp',
  summary: 'MCP over the mesh: "serve" a stdio MCP server under a handle, "connect" an MCP host to one',
  usage: `Usage: parley mcp serve|connect [options]

  serve    put a stdio MCP server on the mesh under a handle
  connect  a stdio MCP server that forwards to @handle

Run "parley mcp serve --help" or "parley mcp connect --help" for options.`,
  async run (argv) {
    const [sub, ...rest] = argv
    if (sub === 'serve') return serve(rest)
    if (sub === 'connect') return connect(rest)
    if (sub === '--help' || sub === '-h') { console.log(this.usage); return 0 }
    throw new UsageError(sub === undefined ? 'give "serve" or "connect"' : `unknown subcommand "${sub}": give "serve" or "connect"`)
  }
}

async function serve (argv: string[]): Promise<number> {
  const dash = argv.indexOf('--')
  const own = dash === -1 ? argv : argv.slice(0, dash)
  const { values } = parse(own, { ...AGENT_OPTIONS, action: { type: 'string', multiple: true } })
  if (values.help === true) { console.log(SERVE_USAGE); return 0 }
  const [command, ...args] = dash === -1 ? [] : argv.slice(dash + 1)
  if (command === undefined) throw new UsageError('give the MCP server\'s command after "--"')
  const classes: Record<string, MethodClass> = {}
  for (const tool of values.action ?? []) classes[`mcp/tools/call:${tool}`] = 'action'
  const print = (event: string, detail: object): void => { console.log(JSON.stringify({ event, ...detail })) }
  return runAgentNode(values, {
    classes,
    setup: (agent) => { serveMcp(agent, stdioServer(command, args, print)) }
  })
}

async function connect (argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    relay: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    'min-pow-bits': { type: 'string' }
  }, true)
  if (values.help === true) { console.log(CONNECT_USAGE); return 0 }
  const target = positionals[0]
  if (target === undefined || positionals.length > 1) throw new UsageError('give exactly one @name')
  const relays = relayList(values.relay)
  const bits = values['min-pow-bits'] === undefined ? DEFAULT_POW_BITS : Number(values['min-pow-bits'])
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new UsageError('--min-pow-bits must be an integer from 0 to 32')
  const agent = await createAgent({ relays, minPowBits: bits, ...(values['data-dir'] === undefined ? {} : { dataDir: resolve(values['data-dir']) }) })
  await agent.start()
  try {
    const session = await agent.connect(target)
    const transport = new ParleyClientTransport(agent, session)
    const closed = new Promise<void>(resolve => {
      transport.onclose = resolve
      process.stdin.once('end', resolve)
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    transport.onmessage = (message) => { writeLine(process.stdout, message) }
    transport.onerror = (err) => { console.error(`parley mcp connect: ${err.message}`) }
    await transport.start()
    readLines(process.stdin, (message) => {
      transport.send(message).catch((err: Error) => { console.error(`parley mcp connect: ${err.message}`) })
    }, (why) => { console.error(`parley mcp connect: ignored a line of stdin: ${why}`) })
    await closed
    await transport.close()
    return 0
  } finally {
    await agent.close()
  }
}
