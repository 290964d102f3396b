/**
 * The agent the namespace tests run inside a namespace (`ip netns exec NS
 * node node-proc.js agent`); it speaks JSON lines on stdout, one event a line.
 *
 * - `agent`: a Parley agent (`createAgent`, as an application embeds it) with
 *   handle `$HANDLE` on relay `$PARLEY_RELAY`; prints `ready`, `session`,
 *   `direct` (with the ICE candidate pair), `relayed`; reads commands on stdin:
 *   `{"cmd":"connect","to":"@h"}` opens a session and sends `ping`, and
 *   `{"cmd":"ping","to":"@h"}` pings on it again; each prints `reply` with
 *   whether the session's stream is on a relayed connection.
 */
import { createInterface } from 'node:readline'
import { createAgent } from '../../src/agent/index.js'
import type { Session } from '../../src/agent/index.js'

function print (event: string, detail: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...detail }) + '\n')
}

async function agent (): Promise<void> {
  const relay = process.env.PARLEY_RELAY ?? ''
  const a = await createAgent({
    relays: [relay],
    handle: process.env.HANDLE,
    powBits: 8,
    minPowBits: 8,
    upgradeTimeoutMs: Number(process.env.UPGRADE_TIMEOUT_MS ?? 10_000)
  })
  const relayed = (session: Session): boolean | undefined => {
    const connection = a.libp2p.getConnections().find(c => c.streams.includes(session.stream))
    return connection === undefined ? undefined : connection.limits !== undefined
  }
  a.addEventListener('session', (e) => { print('session', { from: e.detail.remote }) })
  a.addEventListener('direct', (e) => { print('direct', { peer: e.detail.peer, session: e.detail.session.id, path: e.detail.path ?? null }) })
  a.addEventListener('relayed', (e) => { print('relayed', { peer: e.detail.peer, session: e.detail.session.id, attempts: e.detail.attempts, reason: e.detail.reason }) })
  const t0 = Date.now()
  await a.start()
  print('ready', { peer: a.peerId, handle: a.handleName, stun: await a.stunReady(), ms: Date.now() - t0 })
  const sessions = new Map<string, Session>()
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    void (async () => {
      const command = JSON.parse(line) as { cmd: string, to: string }
      try {
        let session = sessions.get(command.to)
        if (command.cmd === 'connect' || session === undefined || session.closed) {
          const t = Date.now()
          session = await a.connect(command.to)
          sessions.set(command.to, session)
          print('connected', { to: command.to, session: session.id, ms: Date.now() - t })
        }
        const t = Date.now()
        const result = await session.request('ping')
        print('reply', { to: command.to, result, ms: Date.now() - t, relayed: relayed(session) ?? null })
      } catch (err) {
        print('error', { to: command.to, message: (err as Error).message })
      }
    })()
  })
  lines.on('close', () => { void a.stop().then(() => process.exit(0)) })
  process.once('SIGTERM', () => { void a.stop().then(() => process.exit(0)) })
}

const [mode] = process.argv.slice(2)
try {
  if (mode === 'agent') await agent()
  else throw new Error(`unknown mode ${String(mode)}`)
} catch (err) {
  print('fatal', { message: (err as Error).message })
  process.exit(1)
}
