/**
 * MCP over Parley (protocols/mcp) with the official SDK, unmodified: a
 * `Client` in one agent lists and calls tools, reads a resource and gets a
 * prompt of a `McpServer` in another agent, reached by handle through a
 * relay and then WebRTC; the server sees the verified caller in `authInfo`;
 * a call the server's policy holds waits for its human with progress; the
 * mapping vectors.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { z } from 'zod'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { ParleyClientTransport, serveMcp, toParley, fromParley, heldApproval, blobResult, McpBindingErrorCode } from '../../src/mcp/index.js'
import type { McpMessage } from '../../src/mcp/index.js'
import vectors from '../../protocols/mcp/vectors.json' with { type: 'json' }

const BITS = 8
/** 10 MiB of text, a different character every KiB so a misplaced chunk shows. */
const BIG = Array.from({ length: 10 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(1024)).join('')

describe('MCP over Parley (protocols/mcp)', function () {
  this.timeout(90_000)

  describe('mapping vectors', () => {
    for (const v of vectors.mapping) {
      it(v.name, () => {
        const parley = toParley(v.mcp as McpMessage)
        expect(parley).to.deep.equal(v.parley)
        expect(fromParley(v.parley.method, (v.parley as { params?: Record<string, never> }).params, 'id' in v.mcp ? 7 : undefined))
          .to.deep.equal('id' in v.mcp ? { ...v.mcp, id: 7 } : v.mcp)
      })
    }
    for (const v of vectors.invalid) {
      it(`refuses ${v.name}`, () => {
        const run = (): unknown => 'mcp' in v ? toParley(v.mcp as McpMessage) : fromParley(v.parley?.method ?? '', v.parley?.params as never)
        expect(run).to.throw().with.property('code', McpBindingErrorCode.INVALID_MESSAGE)
      })
    }
    for (const v of vectors.blob) {
      it(`blob result: ${v.name}`, () => {
        expect(blobResult(v.result as never) ?? null).to.deep.equal(v.ref)
      })
    }
    for (const v of vectors.held) {
      it(`held answer: ${v.name}`, () => {
        expect(heldApproval(v.result as never)).to.equal(v.approval ?? undefined)
      })
    }
  })

  describe('between two agents', () => {
    let dir: string
    let relay: RelayProcess
    let weather: Agent
    let host: Agent
    let stranger: Agent
    const seen: Array<{ clientId: string, handle?: string, kind: string, envelope?: string }> = []

    /** An unmodified SDK server: tools, resources (one of 10 MiB), a prompt. */
    function makeServer (): McpServer {
      const server = new McpServer({ name: 'weather', version: '1.0.0' })
      server.registerTool('forecast', { description: 'The weather in a city', inputSchema: { city: z.string() } }, async ({ city }, extra) => {
        const auth = extra.authInfo as unknown as { clientId: string, extra: { handle?: string, kind: string, envelope: string } }
        seen.push({ clientId: auth.clientId, ...auth.extra })
        await server.server.ping() // and a request the other way, server → client
        return { content: [{ type: 'text', text: `sunny in ${city}` }] }
      })
      server.registerTool('book', { description: 'Books a table', inputSchema: { seats: z.number() } }, async ({ seats }) => ({ content: [{ type: 'text', text: `booked ${seats}` }] }))
      server.registerResource('city', new ResourceTemplate('city://{name}', { list: undefined }), { description: 'A city' }, async (uri, { name }) => ({ contents: [{ uri: uri.href, text: `${String(name)}: ${'x'.repeat(2_000)}` }] }))
      server.registerResource('big', 'big://file', { description: '10 MiB of text' }, async (uri) => ({ contents: [{ uri: uri.href, text: BIG }] }))
      server.registerPrompt('plan', { argsSchema: { day: z.string() } }, ({ day }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `plan ${day}` } }] }))
      return server
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'parley-mcp-'))
      relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
      const relays = [relay.tcp.toString()]
      const options = { relays, powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC }
      // booking binds the human: classed `action` by tool name; the other tools are routine
      weather = await createAgent({ ...options, handle: 'weather-mcp', policy: { classes: { 'mcp/tools/call:book': 'action' } } })
      host = await createAgent({ ...options, handle: 'mcp-host' })
      stranger = await createAgent({ ...options, handle: 'mcp-stranger' })
      await Promise.all([weather.start(), host.start(), stranger.start()])
      await Promise.all([host.stunReady(), stranger.stunReady()])
      // an unmodified SDK server, one per session
      serveMcp(weather, makeServer)
      // the host is a trusted contact: its tool calls run at once; the stranger's are held for the human
      await weather.setTrust('@mcp-host', 2)
    })

    after(async () => {
      for (const a of [stranger, host, weather]) await a?.close().catch(() => {})
      await relay?.stop('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    })

    it('an SDK client lists and calls tools, reads a resource and gets a prompt, by handle, through the relay then WebRTC', async () => {
      const session = await host.connect('@weather-mcp')
      const direct = new Promise<void>(resolve => { host.addEventListener('direct', () => { resolve() }, { once: true }) })
      const client = new Client({ name: 'test-host', version: '1.0.0' })
      await client.connect(new ParleyClientTransport(host, session))
      const { tools } = await client.listTools()
      expect(tools.map(t => t.name).sort()).to.deep.equal(['book', 'forecast'])
      const result = await client.callTool({ name: 'forecast', arguments: { city: 'Leeds' } })
      expect(result.content).to.deep.equal([{ type: 'text', text: 'sunny in Leeds' }])
      expect(seen.at(-1)).to.include({ clientId: host.peerId, handle: 'mcp-host', kind: 'agent' })
      expect(seen.at(-1)?.envelope).to.be.a('string')
      const resource = await client.readResource({ uri: 'city://york' })
      expect((resource.contents[0] as { text: string }).text).to.match(/^york: x{2000}$/)
      const prompt = await client.getPrompt({ name: 'plan', arguments: { day: 'monday' } })
      expect(prompt.messages[0]?.content).to.deep.equal({ type: 'text', text: 'plan monday' })
      const bad = await client.callTool({ name: 'forecast', arguments: { city: 7 } })
      expect(bad.isError).to.equal(true)
      await direct
      const again = await client.callTool({ name: 'book', arguments: { seats: 2 } })
      expect(again.content).to.deep.equal([{ type: 'text', text: 'booked 2' }])
      expect(host.libp2p.getConnections().some(c => c.remotePeer.toString() === weather.peerId && c.limits === undefined && c.remoteAddr.toString().includes('/webrtc'))).to.equal(true)
      await client.close()
    })

    it('gives the same results as the SDK\'s in-memory transport, and a 10 MiB resource intact as a blob', async () => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
      await makeServer().connect(serverSide)
      const local = new Client({ name: 'in-memory', version: '1.0.0' })
      await local.connect(clientSide)
      const remote = new Client({ name: 'over-parley', version: '1.0.0' })
      await remote.connect(new ParleyClientTransport(host, await host.connect('@weather-mcp')))
      for (const ask of [
        async (c: Client) => c.listTools(),
        async (c: Client) => c.callTool({ name: 'book', arguments: { seats: 5 } }),
        async (c: Client) => c.getPrompt({ name: 'plan', arguments: { day: 'friday' } }),
        async (c: Client) => c.readResource({ uri: 'city://hull' })
      ]) {
        // in memory the SDK hands objects over as they are; members set to undefined vanish on any JSON wire (stdio and HTTP alike)
        expect(await ask(remote)).to.deep.equal(JSON.parse(JSON.stringify(await ask(local))))
      }
      const t0 = performance.now()
      const big = await remote.readResource({ uri: 'big://file' })
      const text = (big.contents[0] as { text: string }).text
      console.log(`      a 10 MiB resource over Parley in ${(performance.now() - t0).toFixed(0)} ms`)
      expect(text.length).to.equal(BIG.length)
      expect(text === BIG, '10 MiB intact').to.equal(true)
      await local.close()
      await remote.close()
    })

    it('a tool call the server\'s policy holds keeps the client alive with progress until the human approves', async () => {
      const session = await stranger.connect('@weather-mcp')
      const client = new Client({ name: 'stranger', version: '1.0.0' })
      await client.connect(new ParleyClientTransport(stranger, session, { heldProgressMs: 300 }))
      expect((await client.listTools()).tools).to.have.length(2) // routine: not held
      const pending = new Promise<string>(resolve => { weather.addEventListener('pending', (e) => { resolve(e.detail.id) }, { once: true }) })
      const progress: string[] = []
      const call = client.callTool({ name: 'book', arguments: { seats: 4 } }, undefined, { timeout: 1_000, resetTimeoutOnProgress: true, onprogress: (p) => { progress.push(p.message ?? '') } })
      const id = await pending
      await new Promise(resolve => setTimeout(resolve, 1_500)) // past the 1 s timeout: only progress keeps it alive
      await weather.approve(id)
      const result = await call
      expect(result.content).to.deep.equal([{ type: 'text', text: 'booked 4' }])
      expect(progress.length, 'progress while held').to.be.greaterThan(2)
      expect(progress[0]).to.include(id)
      await client.close()
    })

    it('a held call the human declines is an MCP error, and the session goes on', async () => {
      const session = await stranger.connect('@weather-mcp')
      const client = new Client({ name: 'stranger-2', version: '1.0.0' })
      await client.connect(new ParleyClientTransport(stranger, session))
      // decided the moment it is held, with the first test's session still open: the outcome
      // follows the held answer on this session, and the caller has noted the hold before it looks
      const pending = new Promise<string>(resolve => { weather.addEventListener('pending', (e) => { resolve(e.detail.id) }, { once: true }) })
      const call = client.callTool({ name: 'book', arguments: { seats: 9 } })
      await weather.reject(await pending, { reply: 'fully booked' })
      try {
        await call
        expect.fail('a declined call resolved')
      } catch (err) {
        expect((err as Error).message).to.include('fully booked')
      }
      expect((await client.listTools()).tools).to.have.length(2)
      await client.close()
    })
  })
})
