/**
 * Mail from the command line, as a user would: B registers and goes away; A
 * sends it 20 messages with `parley send` (each reports `queued` at its
 * relays) and stops; one relay is killed with SIGKILL and restarted on its
 * data directory; B comes back: A is a stranger to it, so the 20 messages
 * wait for B's human (`parley pending`), once each; approved, they are in
 * `parley inbox`, once each.
 */
import { expect } from 'chai'
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, startRelayProcess, PARLEY_BIN } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'

const run = promisify(execFile)
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('mail from the CLI: parley send to an offline agent, parley outbox, parley inbox', function () {
  this.timeout(240_000)
  let dir: string
  const relays: RelayProcess[] = []
  const ports: number[] = []
  const children = new Set<ChildProcess>()

  const startRelay = async (i: number): Promise<void> => {
    relays[i] = await startRelayProcess({ dataDir: join(dir, `relay-${i}`), listen: [`/ip4/127.0.0.1/tcp/${ports[i] ?? 0}`, `/ip4/127.0.0.1/tcp/${ports[i + 2] ?? 0}/ws`] })
  }

  /** Starts `parley agent`; resolves once it printed its ready line with both relays in its record. */
  const agent = async (handle: string): Promise<{ child: ChildProcess, stop: () => Promise<void> }> => {
    const child = spawn(process.execPath, [PARLEY_BIN, 'agent', '--handle', handle, ...relays.flatMap(r => ['--relay', r.tcp.toString()]), '--data-dir', join(dir, handle), '--pow-bits', '8', '--min-pow-bits', '8'], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let out = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d })
    const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
    const deadline = Date.now() + 30_000
    while (!out.includes('"event":"ready"') && Date.now() < deadline) await sleep(100)
    if (!out.includes('"event":"ready"')) throw new Error(`${handle} did not start: ${out}`)
    // its record lists both relays once it holds both reservations
    const control = JSON.parse(await readFile(join(dir, handle, 'control.json'), 'utf8')) as { url: string, token: string }
    while (Date.now() < deadline) {
      const status = await (await fetch(control.url + '/api/status', { headers: { authorization: `Bearer ${control.token}` } })).json() as { relays: string[] }
      if (status.relays.length === 2) break
      await sleep(200)
    }
    return { child, stop: async () => { child.kill('SIGTERM'); await exited; children.delete(child) } }
  }
  const cli = async (args: string[], handle: string): Promise<string> => (await run(process.execPath, [PARLEY_BIN, ...args, '--node', join(dir, handle), '--json'])).stdout

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-mail-cli-'))
    ports.push(await freePort(), await freePort(), await freePort(), await freePort())
    await startRelay(0)
    await startRelay(1)
  })

  after(async () => {
    for (const c of children) c.kill('SIGKILL')
    for (const r of relays) await r?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('20 messages sent while B is away reach B once each, through a relay crash; a stranger\'s mail waits for B\'s human', async () => {
    let b = await agent('cli-mail-b')
    await b.stop()
    const a = await agent('cli-mail-a')
    const texts = Array.from({ length: 20 }, (_, i) => `offline note ${i}`)
    for (const text of texts) {
      const sent = JSON.parse(await cli(['send', '@cli-mail-b', text], 'cli-mail-a')) as { status: string, relays: string[] }
      expect(sent.status, JSON.stringify(sent)).to.equal('queued')
      expect(sent.relays).to.have.length(2)
    }
    const human = (await run(process.execPath, [PARLEY_BIN, 'outbox', '--node', join(dir, 'cli-mail-a')])).stdout
    expect(human).to.include('queued').and.include('offline note 19')
    await a.stop()

    await relays[1]?.stop('SIGKILL')
    await startRelay(1)

    b = await agent('cli-mail-b')
    let pending: Array<{ id: string, summary: string }> = []
    const deadline = Date.now() + 60_000
    while (pending.length < 20 && Date.now() < deadline) {
      pending = JSON.parse(await cli(['pending'], 'cli-mail-b')) as typeof pending
      await sleep(250)
    }
    await sleep(1000)
    pending = JSON.parse(await cli(['pending'], 'cli-mail-b')) as typeof pending
    expect(pending.map(p => /offline note \d+/.exec(p.summary)?.[0])).to.deep.equal(texts)
    for (const p of pending) await cli(['approve', p.id], 'cli-mail-b')
    const inbox = JSON.parse(await cli(['inbox'], 'cli-mail-b')) as Array<{ text: string }>
    expect(inbox.map(m => m.text)).to.deep.equal(texts)
    await b.stop()
  })
})
