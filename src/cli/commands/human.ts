/**
 * The human's commands: talk to a running `parley agent` through its local
 * control API (`src/dashboard/control.ts`). The node is found through the
 * `control.json` file it writes in its data directory (URL and token):
 * `--node DIR`, else `PARLEY_NODE`, else the only `.parley/agent-*` here.
 */
import { readFile, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parse, UsageError } from '../command.js'
import type { Command } from '../command.js'

/** What `parley agent` writes to `<data dir>/control.json` (mode 0600). */
export interface ControlFile { url: string, token: string, handle?: string, peer: string }

export const CONTROL_FILE = 'control.json'

async function findNode (given: string | undefined): Promise<ControlFile> {
  let dir = given ?? process.env.PARLEY_NODE
  if (dir === undefined) {
    const found = (await readdir('.parley').catch(() => [] as string[])).filter(d => d.startsWith('agent-'))
    if (found.length !== 1) {
      throw new UsageError(found.length === 0 ? 'no running agent found under ./.parley: pass --node DIR (the agent\'s --data-dir)' : `several agents under ./.parley (${found.join(', ')}): pass --node DIR`)
    }
    dir = join('.parley', found[0] as string)
  }
  try {
    return JSON.parse(await readFile(join(resolve(dir), CONTROL_FILE), 'utf8')) as ControlFile
  } catch {
    throw new Error(`no control file in ${dir}: is "parley agent" running with --data-dir ${dir}?`)
  }
}

async function call (node: ControlFile, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(node.url + path, {
      method,
      headers: { authorization: `Bearer ${node.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000)
    })
  } catch (err) {
    throw new Error(`cannot reach the agent at ${node.url}: ${(err as Error).message}`, { cause: err })
  }
  // control routes answer { error: { code, message } }; the approvals route (the dashboard's) { error, code }
  const value = await res.json().catch(() => ({})) as { error?: string | { code?: string, message?: string }, code?: string }
  if (!res.ok) {
    const e = typeof value.error === 'string' ? { code: value.code, message: value.error } : value.error
    throw new Error(`${e?.code ?? res.status}: ${e?.message ?? res.statusText}`)
  }
  return value
}

const NODE_OPTION = { node: { type: 'string' } } as const
const NODE_HELP = '  --node DIR     the agent\'s data directory (default $PARLEY_NODE, or the only ./.parley/agent-*)\n  -h, --help     show this help'

function print (value: unknown, json: boolean, human: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : human())
}

function simple (name: string, summary: string, usage: string, positionals: number, run: (node: ControlFile, args: string[], values: Record<string, unknown>) => Promise<void>, options: Record<string, { type: 'string' | 'boolean' }> = {}): Command {
  return {
    name,
    summary,
    usage: `${usage}\n\nOptions:\n${Object.keys(options).map(o => `  --${o}`).join('\n')}${Object.keys(options).length > 0 ? '\n' : ''}  --json         print JSON\n${NODE_HELP}`,
    async run (argv) {
      const { values, positionals: args } = parse(argv, { ...NODE_OPTION, json: { type: 'boolean' }, ...options }, true)
      if (values.help === true) { console.log(this.usage); return 0 }
      if (args.length !== positionals) throw new UsageError(`expected ${positionals} argument${positionals === 1 ? '' : 's'}, got ${args.length}`)
      await run(await findNode(values.node as string | undefined), args, values)
      return 0
    }
  }
}

interface Approval { id: string, created: number, summary: string, method: string, handle?: string, peer: string, status: string, amount?: { value: number, currency: string } }

export const sendCommand = simple('send', 'send a free-text message to @handle from the running agent', `Usage: parley send @to "text" [--node DIR]

Sends a "message" request. The answer says whether it was queued in the
recipient's inbox or held for its human (a stranger's first message). When
the recipient is offline the message is sealed to it and left at the relays
its handle record lists: "queued at" those relays (or "pending" while none
has it: the agent keeps trying); "parley outbox" shows its receipts.`, 2, async (node, [to, text], values) => {
  const result = await call(node, 'POST', '/api/send', { to, text }) as { status?: string, relays?: string[], waiting?: string[] }
  print(result, values.json === true, () => `${to}: ${result.status ?? JSON.stringify(result)}${result.relays === undefined ? '' : (result.relays.length > 0 ? ` at ${result.relays.join(', ')}` : '') + (result.waiting !== undefined && result.waiting.length > 0 ? ` (still to reach ${result.waiting.join(', ')})` : '')}`)
})

export const pendingCommand = simple('pending', 'list what waits for your approval', 'Usage: parley pending [--node DIR]', 0, async (node, _args, values) => {
  const list = await call(node, 'GET', '/api/pending') as Approval[]
  print(list, values.json === true, () => list.length === 0
    ? 'nothing pending'
    : list.map(a => `${a.id}  ${new Date(a.created).toISOString()}  ${a.summary}`).join('\n'))
})

export const approveCommand = simple('approve', 'approve a pending request or move', `Usage: parley approve ID [--reply "text"] [--node DIR]

Signs the approval (bound to the exact envelope or transition held) and lets
the held work go ahead; --reply goes back to the requester with the outcome.`, 1, async (node, [id], values) => {
  const a = await call(node, 'POST', `/api/approvals/${encodeURIComponent(id as string)}`, { decision: 'approve', ...(typeof values.reply === 'string' ? { reply: values.reply } : {}) }) as Approval
  print(a, values.json === true, () => `approved ${a.id}: ${a.summary} (${a.status})`)
}, { reply: { type: 'string' } })

export const rejectCommand = simple('reject', 'reject a pending request or move', 'Usage: parley reject ID [--reply "text"] [--node DIR]', 1, async (node, [id], values) => {
  const a = await call(node, 'POST', `/api/approvals/${encodeURIComponent(id as string)}`, { decision: 'reject', ...(typeof values.reply === 'string' ? { reply: values.reply } : {}) }) as Approval
  print(a, values.json === true, () => `rejected ${a.id}: ${a.summary}`)
}, { reply: { type: 'string' } })

export const trustCommand = simple('trust', 'set a contact\'s trust level (0 unknown, 1 known, 2 trusted)', `Usage: parley trust @who LEVEL [--max-amount N --currency GBP] [--node DIR]

0: every action needs your approval; 1: messages queue automatically,
actions need approval; 2: routine actions are automatic within the limits.`, 2, async (node, [who, level], values) => {
  const n = Number(level)
  if (![0, 1, 2].includes(n)) throw new UsageError('LEVEL must be 0, 1 or 2')
  const limits = values['max-amount'] === undefined ? undefined : { maxAmount: Number(values['max-amount']), ...(typeof values.currency === 'string' ? { currency: values.currency } : {}) }
  const entry = await call(node, 'POST', '/api/trust', { who, level: n, ...(limits === undefined ? {} : { limits }) })
  print(entry, values.json === true, () => `${who} is now at trust level ${n}`)
}, { 'max-amount': { type: 'string' }, currency: { type: 'string' } })

export const logCommand = simple('log', 'show the agent\'s signed event log (or --export it for parley verify)', `Usage: parley log [--limit N] [--export] [--node DIR]

--export prints the whole log as JSON: a third party checks it with
"parley verify FILE".`, 0, async (node, _args, values) => {
  if (values.export === true) { console.log(JSON.stringify(await call(node, 'GET', '/api/log/export'), null, 2)); return }
  const limit = typeof values.limit === 'string' ? Number(values.limit) : 50
  const entries = await call(node, 'GET', `/api/log?limit=${limit}`) as Array<{ seq: number, ts: number, type: string, data: Record<string, unknown> }>
  print(entries, values.json === true, () => entries.map(e => `${String(e.seq).padStart(6)}  ${new Date(e.ts).toISOString()}  ${e.type.padEnd(24)} ${summarize(e.data)}`).join('\n'))
}, { limit: { type: 'string' }, export: { type: 'boolean' } })

export const inboxCommand = simple('inbox', 'show the messages for you', 'Usage: parley inbox [--node DIR]', 0, async (node, _args, values) => {
  const list = await call(node, 'GET', '/api/inbox') as Array<{ at: number, from: { handle?: string, peer: string, kind: string }, text: string }>
  print(list, values.json === true, () => list.length === 0 ? 'inbox empty' : list.map(m => `${new Date(m.at).toISOString()}  ${m.from.handle === undefined ? m.from.peer : '@' + m.from.handle} (${m.from.kind}): ${m.text}`).join('\n'))
})

export const outboxCommand = simple('outbox', 'show your outgoing mail: where each message waits, and its receipts', `Usage: parley outbox [--node DIR]

Messages sent while their recipient was offline: pending (no relay has it
yet), queued (at the relays named), delivered or read (the recipient's
signed receipt came back), failed (every relay refused it).`, 0, async (node, _args, values) => {
  const list = await call(node, 'GET', '/api/outbox') as Array<{ id: string, created: number, to: { handle?: string, peer: string }, method: string, text?: string, status: string, relays: Record<string, string>, error?: string }>
  print(list, values.json === true, () => list.length === 0
    ? 'outbox empty'
    : list.map(m => {
      const at = Object.entries(m.relays).filter(([, s]) => s === 'stored').map(([r]) => r.slice(-8))
      return `${new Date(m.created).toISOString()}  ${(m.to.handle === undefined ? m.to.peer : '@' + m.to.handle).padEnd(16)} ${m.status.padEnd(9)} ${m.method === 'message' ? (m.text ?? '') : m.method}${m.status === 'queued' ? `  (at ${at.join(', ')})` : ''}${m.error !== undefined && m.status !== 'delivered' && m.status !== 'read' ? `  [${m.error}]` : ''}`
    }).join('\n'))
})

function summarize (data: Record<string, unknown>): string {
  const env = data.envelope as { body?: { method?: string, id?: unknown }, from?: { handle?: string } } | undefined
  if (env !== undefined) return `${env.from?.handle === undefined ? '' : '@' + env.from.handle + ' '}${env.body?.method ?? 'response'}${data.verified === true ? ' ✓' : ''}`
  const t = data.transition as { type?: string, seq?: number } | undefined
  if (t !== undefined) return `${t.type ?? ''} #${t.seq ?? ''} → ${String(data.state)}`
  return JSON.stringify(data).slice(0, 100)
}

export const humanCommands: Command[] = [sendCommand, pendingCommand, approveCommand, rejectCommand, trustCommand, inboxCommand, outboxCommand, logCommand]
