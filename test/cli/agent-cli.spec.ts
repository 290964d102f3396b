import { expect } from 'chai'
import { spawn, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
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

  it('runs an agent that registers its handle, answers ping and prints requests; resolve finds it', async () => {
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
