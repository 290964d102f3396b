/**
 * Start fails fast and cleanly: every start error a user can cause exits the
 * CLI by itself, soon after it is detectable, with a status other than 0 and
 * one actionable line; a library `start()` that throws leaves nothing behind
 * that keeps the process alive.
 */
import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess, PARLEY_BIN, ROOT } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import { AgentError } from '../../src/errors.js'
import type { Agent } from '../../src/agent/index.js'

interface Exit { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, ms: number }

/** Runs a command to its end (killed after `limitMs`: a hang fails the test). */
async function runToExit (args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 20_000): Promise<Exit> {
  const started = Date.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PARLEY_RELAY: '', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, limitMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('exit', (c, s) => { resolve([c, s]) }))
  clearTimeout(timer)
  return { code, signal, stdout, stderr, ms: Date.now() - started }
}

/** How long `node bin/parley.js --version` takes here: the floor under every CLI exit below. */
async function bootMs (): Promise<number> {
  return (await runToExit([PARLEY_BIN, 'id', '--help'])).ms
}

describe('start errors: fast, clean, actionable', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess
  let holder: Agent
  let boot: number

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-start-errors-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    holder = await createAgent({ handle: 'taken-name', relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8, webrtc: false })
    await holder.start()
    boot = await bootMs()
  })

  after(async () => {
    await holder?.close()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  /** One line on stderr naming the code, and exit status `status`. */
  function expectOneLine (exit: Exit, status: number, code: string): void {
    expect(exit.signal, `killed: it hung (${exit.stderr})`).to.equal(null)
    expect(exit.code, exit.stderr).to.equal(status)
    const lines = exit.stderr.trim().split('\n')
    expect(lines, exit.stderr).to.have.length(1)
    expect(lines[0]).to.include(code)
  }

  it('an unreachable relay: ERR_NO_RELAY, as soon as the dial is refused', async () => {
    const unreachable = `/ip4/127.0.0.1/tcp/1/p2p/${relay.peerId}`
    const exit = await runToExit([PARLEY_BIN, 'agent', '--handle', 'nobody-home', '--relay', unreachable, '--data-dir', join(dir, 'a1')])
    expectOneLine(exit, 1, 'ERR_NO_RELAY')
    expect(exit.stderr).to.include('is the relay running')
    expect(exit.ms - boot, 'after the refused dial').to.be.below(2000)
  })

  it('a relay address without /p2p/<id>: ERR_INVALID_OPTIONS with the fix, before anything starts', async () => {
    const exit = await runToExit([PARLEY_BIN, 'agent', '--handle', 'no-peer-id', '--relay', relay.tcp.toString().replace(/\/p2p\/.*$/, ''), '--data-dir', join(dir, 'a2')])
    expectOneLine(exit, 1, 'ERR_INVALID_OPTIONS')
    expect(exit.stderr).to.include('has no /p2p/<peer id>')
    expect(exit.ms - boot).to.be.below(2000)
  })

  it('no relay at all (PARLEY_RELAY unset): a usage line, status 2', async () => {
    const exit = await runToExit([PARLEY_BIN, 'agent', '--handle', 'no-relay'])
    expectOneLine(exit, 2, '--relay is required (or PARLEY_RELAY)')
    expect(exit.ms - boot).to.be.below(2000)
  })

  it('a handle another key holds: ERR_HANDLE_TAKEN, until when, and what to do', async () => {
    const exit = await runToExit([PARLEY_BIN, 'agent', '--handle', 'taken-name', '--relay', relay.tcp.toString(), '--data-dir', join(dir, 'a3'), '--pow-bits', '8', '--min-pow-bits', '8'])
    expectOneLine(exit, 1, 'ERR_HANDLE_TAKEN')
    expect(exit.stderr).to.match(/held by 12D3KooW\w+ until \d{4}-\d\d-\d\dT/)
    expect(exit.stderr).to.include('--data-dir')
    // detectable once the agent has reserved and looked the handle up: no proof of work, no DHT put
    expect(exit.ms - boot).to.be.below(4000)
  })

  it('a relay bootstrap address without /p2p/<id>: a usage line, status 2', async () => {
    const exit = await runToExit([PARLEY_BIN, 'relay', '--data-dir', join(dir, 'r2'), '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--bootstrap', '/ip4/127.0.0.1/tcp/4001'])
    expectOneLine(exit, 2, 'has no /p2p/<peer id>')
  })

  it('a relay --dht-server that is neither a peer id nor an address with /p2p/<id>: a usage line, status 2', async () => {
    for (const value of ['not-a-peer', '/ip4/127.0.0.1/tcp/4001']) {
      const exit = await runToExit([PARLEY_BIN, 'relay', '--data-dir', join(dir, 'r3'), '--listen', '/ip4/127.0.0.1/tcp/0', '--http-port', '0', '--dht-server', value])
      expectOneLine(exit, 2, value.startsWith('/') ? 'has no /p2p/<peer id>' : 'is neither a peer id nor a multiaddr')
    }
  })

  it('in the library: bad options throw ERR_INVALID_OPTIONS before any key is made', async () => {
    for (const relays of [[undefined], ['/ip4/127.0.0.1/tcp/4001'], ['not a multiaddr']]) {
      let caught: unknown
      try { await createAgent({ relays: relays as string[], dataDir: join(dir, 'never') }) } catch (err) { caught = err }
      expect(caught).to.be.instanceOf(AgentError)
      expect((caught as AgentError).code).to.equal('ERR_INVALID_OPTIONS')
      expect((caught as AgentError).name).to.equal('AgentError')
    }
    let caught: unknown
    try { await createAgent({ handle: 'No Spaces', relays: [relay.tcp.toString()] }) } catch (err) { caught = err }
    expect((caught as AgentError).code).to.equal('ERR_INVALID_OPTIONS')
  })

  it('in the library: a data directory another running agent holds: ERR_DATA_DIR_UNAVAILABLE, saying so', async () => {
    const first = await createAgent({ relays: [relay.tcp.toString()], dataDir: join(dir, 'shared'), powBits: 8, minPowBits: 8, webrtc: false })
    await first.start()
    try {
      const second = await createAgent({ relays: [relay.tcp.toString()], dataDir: join(dir, 'shared'), powBits: 8, minPowBits: 8, webrtc: false })
      let caught: unknown
      try { await second.start() } catch (err) { caught = err }
      expect((caught as AgentError).code).to.equal('ERR_DATA_DIR_UNAVAILABLE')
      expect((caught as AgentError).message).to.include('another agent running with this data directory')
    } finally {
      await first.close()
    }
  })

  it('in the library: a start() that throws leaves nothing running, so the process exits by itself', async () => {
    const script = join(dir, 'failing-start.mjs')
    await writeFile(script, `
      import { createAgent } from ${JSON.stringify(join(ROOT, 'dist/src/index.js'))}
      for (const [handle, relay, dataDir] of JSON.parse(process.argv[2])) {
        const agent = await createAgent({ handle, relays: [relay], dataDir, powBits: 8, minPowBits: 8 })
        try { await agent.start(); console.log('started?!') } catch (err) { console.log(err.code) }
      }
    `)
    const cases = [
      ['lib-unreachable', `/ip4/127.0.0.1/tcp/1/p2p/${relay.peerId}`, join(dir, 'l1')],
      ['taken-name', relay.tcp.toString(), join(dir, 'l2')]
    ]
    const exit = await runToExit([script, JSON.stringify(cases)])
    expect(exit.signal, 'the process hung after a failed start').to.equal(null)
    expect(exit.code, exit.stderr).to.equal(0)
    expect(exit.stdout.trim().split('\n')).to.deep.equal(['ERR_NO_RELAY', 'ERR_HANDLE_TAKEN'])
  })
})
