import { expect } from 'chai'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess, PARLEY_BIN } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'

const run = promisify(execFile)

describe('parley agent and parley resolve (CLI)', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-cli-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
  })

  after(async () => {
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('runs an agent that registers its handle, answers ping and prints requests; resolve finds it; pending, approve, inbox, trust, send, log and verify work through its control API', async () => {
    const child = spawn(process.execPath, [PARLEY_BIN, 'agent', '--handle', 'cli-plumber', '--relay', relay.tcp.toString(), '--data-dir', join(dir, 'agent'), '--pow-bits', '8', '--min-pow-bits', '8'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: Array<Record<string, unknown>> = []
    let buffered = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) { lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>); buffered = buffered.slice(nl + 1) }
    })
    const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
    try {
      const deadline = Date.now() + 30_000
      while (!lines.some(l => l.event === 'ready') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      const ready = lines.find(l => l.event === 'ready')
      expect(ready, 'ready line').to.include({ handle: 'cli-plumber', kind: 'agent' })
      // the dashboard on the control API's endpoint, under the control token
      const control = JSON.parse(await readFile(join(dir, 'agent', 'control.json'), 'utf8')) as { url: string, token: string }
      expect(ready?.dashboard).to.equal(`${control.url}/#token=${control.token}`)
      expect(await (await fetch(control.url + '/')).text()).to.include('assets/app.js')
      expect((await fetch(control.url + '/api/state')).status, 'an agent\'s state needs its token').to.equal(401)
      const state = await (await fetch(control.url + '/api/state', { headers: { authorization: `Bearer ${control.token}` } })).json() as { node: { role: string, handle?: string, peer: string } }
      expect(state.node).to.include({ role: 'agent', handle: 'cli-plumber', peer: ready?.peer })

      const { stdout } = await run(process.execPath, [PARLEY_BIN, 'resolve', '@cli-plumber', '--relay', relay.tcp.toString(), '--min-pow-bits', '8', '--json'])
      const record = JSON.parse(stdout) as { peer: string, handle: string, verified: boolean }
      expect(record).to.include({ handle: '@cli-plumber', peer: ready?.peer, verified: true })

      const caller = await createAgent({ relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8, rtcConfiguration: LOOPBACK_RTC })
      await caller.start()
      try {
        const session = await caller.connect('@cli-plumber')
        expect(await session.request('ping')).to.equal('pong')
        await session.notify('message', { text: 'hello from the test' })
        while (!lines.some(l => l.event === 'notification') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
        expect(lines.find(l => l.event === 'request')).to.deep.include({ method: 'ping', from: { peer: caller.peerId, kind: 'anon' } })
        expect(lines.find(l => l.event === 'notification')).to.deep.include({ method: 'message', params: { text: 'hello from the test' } })

        // the human's side, through the control API
        const node = ['--node', join(dir, 'agent')]
        const pending = JSON.parse((await run(process.execPath, [PARLEY_BIN, 'pending', ...node, '--json'])).stdout) as Array<{ id: string, summary: string }>
        expect(pending).to.have.length(1)
        expect(pending[0]?.summary).to.include('hello from the test')
        const outcome = new Promise<{ decision: string, reply?: string }>(resolve => { caller.addEventListener('outcome', (e) => { resolve(e.detail) }, { once: true }) })
        const approved = await run(process.execPath, [PARLEY_BIN, 'approve', pending[0]?.id ?? '', ...node, '--reply', 'got it, thanks'])
        expect(approved.stdout).to.include('approved')
        expect(await outcome).to.include({ decision: 'approve', reply: 'got it, thanks' })
        expect((await run(process.execPath, [PARLEY_BIN, 'pending', ...node])).stdout).to.include('nothing pending')
        expect((await run(process.execPath, [PARLEY_BIN, 'inbox', ...node])).stdout).to.include('hello from the test')
        expect((await run(process.execPath, [PARLEY_BIN, 'trust', caller.peerId, '1', ...node])).stdout).to.include('trust level 1')
        const sent = await run(process.execPath, [PARLEY_BIN, 'send', caller.peerId, 'hello back', ...node, '--json'])
        expect(JSON.parse(sent.stdout)).to.have.property('status', 'held') // the caller does not know the CLI agent yet
        const log = await run(process.execPath, [PARLEY_BIN, 'log', ...node])
        expect(log.stdout).to.include('approval.decision')
        const exported = await run(process.execPath, [PARLEY_BIN, 'log', '--export', ...node], { maxBuffer: 64 * 1024 * 1024 })
        await writeFile(join(dir, 'cli-log.json'), exported.stdout)
        const verified = await run(process.execPath, [PARLEY_BIN, 'verify', join(dir, 'cli-log.json')])
        expect(verified.stdout).to.include('verified')
        try {
          await run(process.execPath, [PARLEY_BIN, 'pending', ...node], { env: { ...process.env } }).then(() => run(process.execPath, [PARLEY_BIN, 'approve', 'no-such-approval', ...node]))
          expect.fail('approved an unknown approval')
        } catch (err) {
          expect(err).to.have.property('code', 1)
          expect((err as { stderr: string }).stderr).to.include('ERR_APPROVAL_NOT_FOUND')
        }
      } finally {
        await caller.stop()
      }
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).to.equal(0)
  })

  it('resolve of an unknown handle exits 1 with the error code', async () => {
    try {
      await run(process.execPath, [PARLEY_BIN, 'resolve', '@nobody-at-all', '--relay', relay.tcp.toString(), '--min-pow-bits', '8'])
      expect.fail('resolved an unknown handle')
    } catch (err) {
      expect(err).to.have.property('code', 1)
      expect((err as { stderr: string }).stderr).to.include('ERR_NOT_FOUND')
    }
  })
})
