/**
 * The MCP bridge with no code, as a user runs it: `parley mcp serve` puts a
 * stdio MCP server (an SDK program run as a child process) on the mesh under
 * a handle; an MCP host's SDK `Client` runs `parley mcp connect @handle` as
 * its stdio server and calls the tools through it. The serving agent's
 * policy holds a tool named with `--action` until `parley approve`. And the
 * reference server, @modelcontextprotocol/server-everything, wrapped as is.
 */
import { expect } from 'chai'
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { startRelayProcess, PARLEY_BIN } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'

const run = promisify(execFile)
const FIXTURE = fileURLToPath(new URL('./fixtures/stdio-server.js', import.meta.url))

describe('parley mcp serve / connect', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  let served: ChildProcess | undefined
  const lines: Array<Record<string, unknown>> = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-mcp-cli-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 8 })
    served = spawn(process.execPath, [PARLEY_BIN, 'mcp', 'serve', '--handle', 'fixture-tools', '--relay', relay.tcp.toString(), '--data-dir', join(dir, 'serve'),
      '--pow-bits', '8', '--min-pow-bits', '8', '--action', 'book', '--', process.execPath, FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] })
    let buffered = ''
    served.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffered += d
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) { lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>); buffered = buffered.slice(nl + 1) }
    })
    const deadline = Date.now() + 30_000
    while (!lines.some(l => l.event === 'ready') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    expect(lines.find(l => l.event === 'ready'), 'parley mcp serve is ready').to.include({ handle: 'fixture-tools' })
  })

  after(async () => {
    if (served !== undefined && served.exitCode === null) {
      const exited = new Promise(resolve => served?.once('exit', resolve))
      served.kill('SIGTERM')
      await exited
    }
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  function client (): { client: Client, transport: StdioClientTransport } {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [PARLEY_BIN, 'mcp', 'connect', '@fixture-tools', '--relay', relay.tcp.toString(), '--min-pow-bits', '8'],
      stderr: 'inherit'
    })
    return { client: new Client({ name: 'an MCP host', version: '1.0.0' }), transport }
  }

  it('an MCP host calls a stdio MCP server on another agent, through parley mcp connect', async () => {
    const { client: host, transport } = client()
    await host.connect(transport)
    const { tools } = await host.listTools()
    expect(tools.map(t => t.name).sort()).to.deep.equal(['book', 'echo'])
    const echoed = await host.callTool({ name: 'echo', arguments: { text: 'over the mesh' } })
    expect((echoed.content as Array<{ text: string }>)[0]?.text).to.match(/^over the mesh \(pid \d+\)$/)
    const note = await host.readResource({ uri: 'note://big' })
    expect((note.contents[0] as { text: string }).text).to.have.length(100_000)
    expect(lines.some(l => l.event === 'mcp-server'), 'a server process per session').to.equal(true)
    await host.close()
  })

  it('a tool named with --action waits for parley approve, and the host gets its result', async () => {
    const { client: host, transport } = client()
    await host.connect(transport)
    const before = lines.length
    const call = host.callTool({ name: 'book', arguments: { seats: 3 } }, undefined, { timeout: 60_000 })
    const deadline = Date.now() + 20_000
    let pending: Record<string, unknown> | undefined
    while (pending === undefined && Date.now() < deadline) {
      pending = lines.slice(before).find(l => l.event === 'pending')
      if (pending === undefined) await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(pending, 'the call is held').to.not.equal(undefined)
    expect(String(pending?.summary)).to.include('mcp/tools/call')
    await run(process.execPath, [PARLEY_BIN, 'approve', String(pending?.id), '--node', join(dir, 'serve')])
    const result = await call
    expect(result.content).to.deep.equal([{ type: 'text', text: 'booked 3' }])
    await host.close()
  })

  it('wraps the reference MCP server (@modelcontextprotocol/server-everything) with no code, end to end', async () => {
    const everything = fileURLToPath(new URL('../../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url))
    const wrapped = spawn(process.execPath, [PARLEY_BIN, 'mcp', 'serve', '--handle', 'everything-ref', '--relay', relay.tcp.toString(), '--data-dir', join(dir, 'everything'),
      '--pow-bits', '8', '--min-pow-bits', '8', '--', process.execPath, everything, 'stdio'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise(resolve => wrapped.once('exit', resolve))
    try {
      let out = ''
      wrapped.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
      const deadline = Date.now() + 30_000
      while (!out.includes('"event":"ready"') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [PARLEY_BIN, 'mcp', 'connect', '@everything-ref', '--relay', relay.tcp.toString(), '--min-pow-bits', '8'],
        stderr: 'inherit'
      })
      const host = new Client({ name: 'an MCP host', version: '1.0.0' })
      await host.connect(transport)
      const { tools } = await host.listTools()
      expect(tools.map(t => t.name)).to.include('echo')
      const echoed = await host.callTool({ name: 'echo', arguments: { message: 'across the mesh' } })
      expect(JSON.stringify(echoed.content)).to.include('across the mesh')
      await host.close()
    } finally {
      wrapped.kill('SIGTERM')
      await exited
    }
  })

  it('refuses bad usage with exit code 2', async () => {
    for (const args of [['mcp'], ['mcp', 'nope'], ['mcp', 'serve', '--handle', 'x', '--relay', relay.tcp.toString()], ['mcp', 'connect', '--relay', relay.tcp.toString()]]) {
      try {
        await run(process.execPath, [PARLEY_BIN, ...args])
        expect.fail(`parley ${args.join(' ')} succeeded`)
      } catch (err) {
        expect((err as { code?: number }).code, args.join(' ')).to.equal(2)
      }
    }
  })
})
