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
 *   The fault tests drive more, each command with a `tag` its answer repeats:
 *   - `{"cmd":"trust","to":"@h","level":1}`: sets a contact's trust (`trusted`);
 *   - `{"cmd":"request","to":"@h"|peer,"method":"turn","params":{…}}`: one
 *     signed request on the open session with that peer (either side's), or a
 *     new one (`answer`, with the result, ms and whether it went relayed); the
 *     agent serves `turn` itself: `{turn, echo, digest: sha256(payload), by}`;
 *   - `{"cmd":"propose","to":"@h","subject":…,"terms":{…}}` and
 *     `{"cmd":"move","negotiation":id,"kind":"counter"|"accept"|…,"terms":{…}}`
 *     (`moved`, the {@link MoveResult}); every transition applied prints
 *     `transition`, and with `AUTO_APPROVE=1` an approval asked of the human is
 *     given at once (`approved`);
 *   - `{"cmd":"show","negotiation":id}`: the negotiation's whole state
 *     (`negotiation`, `toJSON()`: equal on both sides when they agree);
 *   - `{"cmd":"hangup","to":"@h"|peer}`: closes the sessions with that peer and
 *     every connection to it, relayed and direct (`hungup`), so the next
 *     `connect` starts over: through the relay, then a new WebRTC upgrade.
 *   - the agent serves `work` (`{job, ms}`): waits `ms`, answers how many
 *     times job `job` has run (`working` is printed each time it starts), and
 *     prints `detached`, `resumed` and `closed` for each of its sessions.
 *   Errors print `error` with the tag.
 * - `echo IP PORT`: a UDP echo server; `rtt IP PORT N`: N UDP round trips to
 *   one, one after another (`rtt` with the times): what the bench measures
 *   the link's RTT with (the machines have no ping).
 */
import { createHash } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createInterface } from 'node:readline'
import { createAgent, offerAsDtlsClient, restoreOfferRole } from '../../src/agent/index.js'
import { initLogger } from 'node-datachannel'
import type { Session } from '../../src/agent/index.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'
import type { Terms } from '../../src/negotiation/transition.js'
import { peerIdFromString } from '@libp2p/peer-id'

interface Command {
  cmd: string
  tag?: string
  to?: string
  level?: number
  method?: string
  params?: Record<string, JsonValue>
  subject?: string
  terms?: Terms
  negotiation?: string
  kind?: string
}

function print (event: string, detail: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...detail }) + '\n')
}

async function agent (): Promise<void> {
  const relay = process.env.PARLEY_RELAY ?? ''
  // libdatachannel's own log, timestamped on arrival, on stdout, where Proc keeps non-JSON lines
  if (process.env.RTC_LOG !== undefined && process.env.RTC_LOG !== '') {
    initLogger(process.env.RTC_LOG as 'Debug', (level, message) => { process.stdout.write(`${new Date().toISOString()} rtc ${level} ${message}\n`) })
  }
  const a = await createAgent({
    relays: [relay],
    handle: process.env.HANDLE,
    powBits: 8,
    minPowBits: 8,
    upgradeTimeoutMs: Number(process.env.UPGRADE_TIMEOUT_MS ?? 10_000),
    ...(process.env.WEBRTC === '0' ? { webrtc: false } : {})
  })
  a.handle('turn', (params) => {
    const { turn, payload } = params as { turn: number, payload: string }
    return { turn, echo: payload, digest: createHash('sha256').update(payload).digest('hex'), by: a.handleName ?? a.peerId }
  })
  // the relay-crash case: a job that takes `ms`, counted each time it runs
  const runs = new Map<string, number>()
  a.handle('work', async (params) => {
    const { job, ms } = params as { job: string, ms?: number }
    runs.set(job, (runs.get(job) ?? 0) + 1)
    print('working', { job, runs: runs.get(job) })
    await new Promise(resolve => setTimeout(resolve, ms ?? 0))
    return { job, runs: runs.get(job) ?? 0, by: a.handleName ?? a.peerId }
  })
  /** Prints what happens to a session's connection: lost, resumed, ended. */
  const watch = (session: Session): void => {
    session.addEventListener('detached', (e) => { print('detached', { session: session.id, peer: session.remotePeer, reason: e.detail.message }) })
    session.addEventListener('resumed', () => { print('resumed', { session: session.id, peer: session.remotePeer }) })
    session.addEventListener('close', (e) => { print('closed', { session: session.id, peer: session.remotePeer, reason: e.detail?.message ?? null }) })
  }
  a.addEventListener('connected', (e) => { watch(e.detail) })
  if (process.env.AUTO_APPROVE === '1') {
    a.addEventListener('pending', (e) => {
      void a.approve(e.detail.id).then(() => { print('approved', { id: e.detail.id, summary: e.detail.summary }) }, (err: Error) => { print('error', { tag: 'approve', message: err.message }) })
    })
  }
  const relayed = (session: Session): boolean | undefined => {
    const connection = a.libp2p.getConnections().find(c => c.streams.includes(session.stream))
    return connection === undefined ? undefined : connection.limits !== undefined
  }
  a.addEventListener('session', (e) => { watch(e.detail); print('session', { from: e.detail.remote, session: e.detail.id }) })
  a.addEventListener('direct', (e) => { print('direct', { peer: e.detail.peer, session: e.detail.session.id, path: e.detail.path ?? null, at: Date.now() }) })
  a.addEventListener('relayed', (e) => { print('relayed', { peer: e.detail.peer, session: e.detail.session.id, attempts: e.detail.attempts, reason: e.detail.reason }) })
  const t0 = Date.now()
  await a.start()
  // when a WebRTC connection to a peer opens (the bench splits the upgrade's time with it)
  a.libp2p.addEventListener('connection:open', (e) => {
    if (e.detail.remoteAddr.toString().includes('/webrtc')) print('webrtc-open', { peer: e.detail.remotePeer.toString(), direction: e.detail.direction, at: Date.now() })
  })
  // (the negotiations exist once the agent has started)
  a.negotiations.addEventListener('transition', (e) => {
    const { negotiation: n, transition: t, by } = e.detail
    print('transition', { negotiation: n.id, type: t.type, by, state: n.state, seq: n.seq })
  })
  print('ready', { peer: a.peerId, handle: a.handleName, stun: await a.stunReady(), ms: Date.now() - t0 })
  const sessions = new Map<string, Session>()
  const peerOf = async (to: string): Promise<string> => to.startsWith('@') ? (await a.resolve(to)).peer : to
  /** An open session with `to`, whichever side opened it, or a new one. */
  const sessionWith = async (to: string): Promise<Session> => {
    const peer = await peerOf(to)
    const open = [...a.sessions].find(s => s.remotePeer === peer && !s.closed && s.remote !== undefined)
    if (open !== undefined) return open
    const session = await a.connect(to)
    sessions.set(to, session)
    return session
  }
  const other = async (command: Command): Promise<void> => {
    const tag = command.tag ?? null
    const t = Date.now()
    if (command.cmd === 'offer') {
      // which DTLS role this process's WebRTC offers take: Parley's choice per connection (`auto`; `auto-held`:
      // every offer behind a NAT held for its srflx), always the offerer (`active`), or the library's
      // (`actpass`: the answerer)
      if (command.kind === 'library') restoreOfferRole()
      else offerAsDtlsClient(command.kind === 'active' ? 'active' : 'auto', { holdOffer: command.kind === 'auto-held' })
      print('offer', { tag, kind: command.kind })
    } else if (command.cmd === 'trust') {
      await a.setTrust(command.to ?? '', (command.level ?? 1) as 1)
      print('trusted', { tag, to: command.to })
    } else if (command.cmd === 'request') {
      const session = await sessionWith(command.to ?? '')
      const result = await session.request(command.method ?? 'turn', command.params)
      print('answer', { tag, to: command.to, result, ms: Date.now() - t, relayed: relayed(session) ?? null })
    } else if (command.cmd === 'propose') {
      const moved = await a.propose(command.to ?? '', { subject: command.subject ?? 'faults', terms: command.terms ?? {}, ttlMs: 600_000 })
      print('moved', { tag, ...moved, ms: Date.now() - t })
    } else if (command.cmd === 'move') {
      const moved = await a.negotiations.move(command.negotiation ?? '', command.kind as 'accept', command.terms === undefined ? {} : { terms: command.terms })
      print('moved', { tag, ...moved, ms: Date.now() - t })
    } else if (command.cmd === 'show') {
      print('negotiation', { tag, negotiation: a.negotiations.get(command.negotiation ?? '')?.toJSON() ?? null })
    } else if (command.cmd === 'hangup') {
      const peer = await peerOf(command.to ?? '')
      for (const s of [...a.sessions].filter(s => s.remotePeer === peer)) await s.close()
      sessions.delete(command.to ?? '')
      await a.libp2p.hangUp(peerIdFromString(peer))
      print('hungup', { tag, to: command.to, connections: a.libp2p.getConnections(peerIdFromString(peer)).length })
    } else {
      throw new Error(`unknown command ${command.cmd}`)
    }
  }
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    void (async () => {
      const command = JSON.parse(line) as Command
      if (!['connect', 'ping'].includes(command.cmd)) {
        await other(command).catch((err: Error) => { print('error', { tag: command.tag ?? null, to: command.to, message: err.message }) })
        return
      }
      try {
        const to = command.to ?? ''
        let session = sessions.get(to)
        if (command.cmd === 'connect' || session === undefined || session.closed) {
          const t = Date.now()
          session = await a.connect(to)
          sessions.set(to, session)
          print('connected', { to: command.to, session: session.id, ms: Date.now() - t, at: Date.now() })
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

/** A UDP echo server on `address`:`port`. */
async function echo (address: string, port: number): Promise<void> {
  const socket = createSocket('udp4')
  socket.on('message', (msg, from) => { socket.send(msg, from.port, from.address) })
  await new Promise<void>(resolve => socket.bind(port, address, resolve))
  print('ready', { address, port })
}

/** `n` UDP round trips to an echo server, one after another (each given up after 2 s). */
async function rtt (address: string, port: number, n: number): Promise<void> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, resolve))
  const times: number[] = []
  let lost = 0
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const ok = await new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { socket.off('message', on); resolve(false) }, 2000)
      const on = (msg: Buffer): void => {
        if (msg.toString() !== String(i)) return
        clearTimeout(timer); socket.off('message', on); resolve(true)
      }
      socket.on('message', on)
      socket.send(String(i), port, address)
    })
    if (ok) times.push(performance.now() - t0)
    else lost++
  }
  socket.close()
  print('rtt', { times, lost })
}

const [mode, ...rest] = process.argv.slice(2)
try {
  if (mode === 'agent') await agent()
  else if (mode === 'echo') await echo(rest[0] ?? '', Number(rest[1]))
  else if (mode === 'rtt') { await rtt(rest[0] ?? '', Number(rest[1]), Number(rest[2] ?? 20)); process.exit(0) }
  else throw new Error(`unknown mode ${String(mode)}`)
} catch (err) {
  print('fatal', { message: (err as Error).message })
  process.exit(1)
}
