/**
 * The Node side of the browser agent test: `@rapidplumb`, a Parley agent
 * (`createAgent`, as an application embeds it) run inside a network
 * namespace, speaking JSON lines on stdout, one event a line:
 *
 * - `ready` (peer, handle), `session` (a caller, as verified), `direct` /
 *   `relayed` (a session moved to WebRTC, or stays on the relay, with the
 *   ICE candidate pair), `transition` (negotiation id, state, seq, price on
 *   the table, by whom), `pending` (an approval for the plumber's human),
 *   `reply` / `error` (for commands), `agreement` (the signed agreement);
 * - commands on stdin: `{"cmd":"ask","topic":"job-scope"}` asks the latest
 *   caller back on its session; `{"cmd":"counter","id":…,"price":…,"deposit":…}`
 *   counters; `{"cmd":"approve"}` approves what waits for the human;
 *   `{"cmd":"agreement","id":…}` prints the agreement; `{"cmd":"call","to":"@h","method":…}`.
 */
import { createInterface } from 'node:readline'
import { createAgent } from '../../src/agent/index.js'
import type { Session } from '../../src/agent/index.js'
import { servePlumber, GBP } from '../../src/demo/plumbing.js'

function print (event: string, detail: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...detail }) + '\n')
}

const plumber = await createAgent({ relays: [process.env.PARLEY_RELAY ?? ''], handle: process.env.HANDLE ?? 'rapidplumb', powBits: 8, minPowBits: 8 })
servePlumber(plumber)
let latest: Session | undefined
plumber.addEventListener('session', (e) => {
  latest = e.detail
  print('session', { from: e.detail.remote, session: e.detail.id })
})
plumber.addEventListener('direct', (e) => { print('direct', { peer: e.detail.peer, session: e.detail.session.id, path: e.detail.path ?? null }) })
plumber.addEventListener('relayed', (e) => { print('relayed', { peer: e.detail.peer, attempts: e.detail.attempts, reason: e.detail.reason }) })
plumber.addEventListener('pending', (e) => { print('pending', { id: e.detail.id, summary: e.detail.summary }) })
await plumber.start()
plumber.negotiations.addEventListener('transition', (e) => {
  const n = e.detail.negotiation
  print('transition', { id: n.id, state: n.state, seq: n.seq, by: e.detail.by, type: e.detail.transition.type, price: (n.offer.terms.price as { value?: number } | undefined)?.value ?? null })
})
print('ready', { peer: plumber.peerId, handle: plumber.handleName })

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  void (async () => {
    const c = JSON.parse(line) as { cmd: string, topic?: string, id?: string, price?: number, deposit?: number, to?: string, method?: string }
    try {
      if (c.cmd === 'ask') {
        if (latest === undefined) throw new Error('no caller yet')
        print('reply', { cmd: c.cmd, result: await latest.request('info/request', { topic: c.topic ?? '' }) })
      } else if (c.cmd === 'counter') {
        const n = plumber.negotiations.get(c.id ?? '')
        if (n === undefined) throw new Error(`no negotiation ${c.id ?? ''}`)
        const moved = await plumber.negotiations.move(n.id, 'counter', { terms: { ...n.offer.terms, price: GBP(c.price ?? 0), deposit: GBP(c.deposit ?? 0) } })
        print('reply', { cmd: c.cmd, result: moved })
      } else if (c.cmd === 'approve') {
        const waiting = plumber.pending()[0]
        if (waiting === undefined) throw new Error('nothing waits for the human')
        const decided = await plumber.approve(waiting.id)
        print('reply', { cmd: c.cmd, result: { id: decided.id, status: decided.status } })
      } else if (c.cmd === 'agreement') {
        print('agreement', { agreement: plumber.negotiations.agreement(c.id ?? '') })
      } else if (c.cmd === 'call') {
        const session = await plumber.connect(c.to ?? '')
        print('reply', { cmd: c.cmd, result: await session.request(c.method ?? 'ping'), remote: session.remote })
      } else {
        throw new Error(`unknown command ${c.cmd}`)
      }
    } catch (err) {
      print('error', { cmd: c.cmd, message: (err as Error).message })
    }
  })()
})
lines.on('close', () => { void plumber.stop().then(() => process.exit(0)) })
process.once('SIGTERM', () => { void plumber.stop().then(() => process.exit(0)) })
