import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { bindingResponse, checkBindingRequest, startStunServer, DEFAULT_STUN_PORT } from '../../src/node/stun.js'
import type { StunServer } from '../../src/node/stun.js'
import { decodeStunAnnouncement, encodeStunAnnouncement, withStunServers } from '../../src/node/stun-announce.js'
import { Tally } from '../../src/util/tally.js'
import { loadRelayConfig } from '../../relay/config.js'
import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js'
import { startRelayProcess, freeUdpPort, metric, ROOT } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

interface Vectors {
  announcements: Array<{ port: number, json: string, frame: string }>
  reads: Array<{ description: string, json: string, port: number | null }>
  binding: Array<{ name: string, description: string, request: string, from: { address: string, port: number }, response: string }>
  dropped: Array<{ name: string, description: string, request: string, drop: string }>
}
const run = promisify(execFile)
const vectors = JSON.parse(readFileSync(new URL('../../../protocols/stun/vectors.json', import.meta.url), 'utf8')) as Vectors

/** A Binding request with a random transaction id. */
function request (): Uint8Array {
  return fromHex('000100002112a442' + randomBytes(12).toString('hex'))
}

/** The XOR-MAPPED-ADDRESS of an IPv4 Binding response, decoded. */
function mapped (response: Uint8Array): { address: string, port: number } {
  const view = new DataView(response.buffer, response.byteOffset, response.byteLength)
  expect(view.getUint16(0), 'a Binding success response').to.equal(0x0101)
  expect(view.getUint16(20), 'XOR-MAPPED-ADDRESS').to.equal(0x0020)
  const port = view.getUint16(26) ^ 0x2112
  const address = [0, 1, 2, 3].map(i => (response[28 + i] ?? 0) ^ (response[4 + i] ?? 0)).join('.')
  return { address, port }
}

/** Sends each datagram from `socket` to 127.0.0.1:`port` and collects what comes back within `ms`. */
async function exchange (socket: Socket, port: number, datagrams: Uint8Array[], ms = 300): Promise<Buffer[]> {
  const got: Buffer[] = []
  const onMessage = (m: Buffer): void => { got.push(m) }
  socket.on('message', onMessage)
  for (const d of datagrams) await new Promise<void>((resolve, reject) => { socket.send(d, port, '127.0.0.1', (err) => { if (err == null) resolve(); else reject(err) }) })
  await new Promise(resolve => setTimeout(resolve, ms))
  socket.off('message', onMessage)
  return got
}

async function client (): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  return socket
}

describe('relay STUN (protocols/stun)', function () {
  this.timeout(60_000)

  describe('vectors', () => {
    for (const v of vectors.announcements) {
      it(`announcement of port ${v.port}`, () => {
        expect(new TextDecoder().decode(encodeStunAnnouncement(v.port))).to.equal(v.json)
        // a one-byte varint length (under 128), then the JSON
        expect(v.frame).to.equal(utf8(v.json).byteLength.toString(16).padStart(2, '0') + toHex(utf8(v.json)))
      })
    }
    for (const v of vectors.reads) {
      it(`reads ${v.json}: ${v.description}`, () => {
        expect(decodeStunAnnouncement(utf8(v.json)) ?? null).to.equal(v.port)
      })
    }
    for (const v of vectors.binding) {
      it(`answers ${v.name}: ${v.description}`, () => {
        const bytes = fromHex(v.request)
        expect(checkBindingRequest(bytes)).to.equal(undefined)
        expect(toHex(bindingResponse(bytes, v.from.address, v.from.port))).to.equal(v.response)
      })
    }
    for (const v of vectors.dropped) {
      it(`drops ${v.name}: ${v.description}`, () => {
        expect(checkBindingRequest(fromHex(v.request))).to.equal(v.drop)
      })
    }
    it('XOR-MAPPED-ADDRESS as in RFC 5769 §2.2 (192.0.2.1:32853, the sample\'s transaction id)', () => {
      const rfcRequest = fromHex(vectors.binding.find(b => b.name === 'rfc5769-request')?.request ?? '')
      expect(toHex(bindingResponse(rfcRequest, '192.0.2.1', 32853).subarray(20, 32))).to.equal('002000080001a147e112a643')
    })
  })

  describe('the server on UDP', () => {
    let server: StunServer
    let port: number
    const tally = new Tally()
    let socket: Socket

    before(async () => {
      port = await freeUdpPort()
      server = await startStunServer({ port, hosts: ['127.0.0.1'], tally, limits: { ratePerIp: 2, burstPerIp: 4 } })
      socket = await client()
    })
    after(async () => {
      socket?.close()
      await server?.close()
    })

    it('answers a Binding request with the address and port it came from, and ignores what is not one', async () => {
      const before = tally.get('answered')
      const req = request()
      const junk = [fromHex(vectors.dropped[0]?.request ?? ''), utf8('GET / HTTP/1.1\r\n\r\n'), new Uint8Array(2000)]
      const got = await exchange(socket, port, [...junk, req])
      expect(got).to.have.length(1)
      const answer = got[0] ?? Buffer.alloc(0)
      expect(answer.subarray(8, 20).equals(req.subarray(8, 20)), 'same transaction id').to.equal(true)
      expect(mapped(answer)).to.deep.equal({ address: '127.0.0.1', port: socket.address().port })
      expect(tally.get('answered') - before).to.equal(1)
      expect(tally.get('malformed')).to.equal(3)
    })

    it('answers one source at most its rate, and keeps answering others', async () => {
      await new Promise(resolve => setTimeout(resolve, 2000)) // the bucket refills (2 a second, burst 4)
      const got = await exchange(socket, port, Array.from({ length: 12 }, request))
      expect(got.length).to.be.within(4, 5)
      expect(tally.get('denied_ip_rate')).to.be.at.least(7)
      // rate per IP: everything here is 127.0.0.1, so another socket is refused too until tokens return
      const other = await client()
      try {
        await new Promise(resolve => setTimeout(resolve, 600))
        expect(await exchange(other, port, [request()])).to.have.length(1)
      } finally {
        other.close()
      }
    })

    it('gives node-datachannel\'s ICE agent a server-reflexive candidate', async () => {
      // in a process of its own: a raw node-datachannel PeerConnection left for the garbage
      // collector when an agent's stop() releases libdatachannel (ndc.cleanup()) crashed this one
      const script = `
        import ndc from 'node-datachannel'
        const pc = new ndc.PeerConnection('stun-client', { iceServers: ['stun:127.0.0.1:${port}'], bindAddress: '127.0.0.1' })
        const candidates = []
        pc.onLocalCandidate((c) => { candidates.push(c) })
        const gathered = new Promise(resolve => { pc.onGatheringStateChange((s) => { if (s === 'complete') resolve() }) })
        await new Promise(resolve => setTimeout(resolve, 600)) // a token for this source
        pc.createDataChannel('probe')
        await gathered
        pc.close()
        console.log(JSON.stringify(candidates))
        ndc.cleanup()
      `
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 20_000 })
      const candidates = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[]
      expect(candidates.join('\n')).to.match(/ 127\.0\.0\.1 \d+ typ srflx/)
    })

    it('refuses to start on a port in use, and closes what it opened', async () => {
      try {
        await startStunServer({ port, hosts: ['127.0.0.1'] })
        expect.fail('bound a port in use')
      } catch (err) {
        expect(err).to.have.property('code', 'EADDRINUSE')
      }
    })
  })

  describe('configuration', () => {
    it(`serves on ${DEFAULT_STUN_PORT} by default; --stun-port and PARLEY_STUN_PORT move it, 0 turns it off`, () => {
      expect(loadRelayConfig([], {})?.stunPort).to.equal(3478)
      expect(loadRelayConfig([], { PARLEY_STUN_PORT: '3479' })?.stunPort).to.equal(3479)
      expect(loadRelayConfig(['--stun-port', '0'], { PARLEY_STUN_PORT: '3479' })?.stunPort).to.equal(0)
      expect(() => loadRelayConfig(['--stun-port', '70000'], {})).to.throw(/out of range/)
    })

    it('adds STUN servers to a WebRTC configuration without repeating or dropping any', () => {
      const base = { iceServers: [{ urls: 'stun:stun.example.net:3478' }], bindAddress: '127.0.0.1' } as RTCConfiguration
      expect(withStunServers(base, ['stun:198.51.100.10:3478', 'stun:stun.example.net:3478'])).to.deep.equal({
        iceServers: [{ urls: 'stun:stun.example.net:3478' }, { urls: 'stun:198.51.100.10:3478' }], bindAddress: '127.0.0.1'
      })
      expect(withStunServers({}, [])).to.deep.equal({ iceServers: [] })
    })
  })

  describe('a relay process and an agent', () => {
    let dir: string
    const relays: RelayProcess[] = []
    const agents: Agent[] = []
    before(async () => { dir = await mkdtemp(join(tmpdir(), 'parley-stun-')) })
    after(async () => {
      await Promise.allSettled(agents.map(async a => a.stop()))
      await Promise.allSettled(relays.map(async r => r.stop('SIGKILL')))
      await rm(dir, { recursive: true, force: true })
    })

    it('the agent learns the relay\'s STUN server; a relay with --stun-port 0 announces none', async () => {
      const stunPort = await freeUdpPort()
      const withStun = await startRelayProcess({ dataDir: join(dir, 'r1'), stunPort })
      relays.push(withStun)
      expect(withStun.stderr()).to.include(`STUN on UDP 127.0.0.1 port ${stunPort}`)
      const without = await startRelayProcess({ dataDir: join(dir, 'r2') })
      relays.push(without)
      expect(without.stderr()).to.include('no STUN')
      const agent = await createAgent({ relays: [withStun.tcp.toString(), without.tcp.toString()], powBits: 8, minPowBits: 8, rtcConfiguration: LOOPBACK_RTC })
      agents.push(agent)
      await agent.start()
      expect(await agent.stunReady()).to.deep.equal([`stun:127.0.0.1:${stunPort}`])
      // and it answers, counted in the relay's metrics
      const socket = await client()
      try {
        expect(await exchange(socket, stunPort, [request()])).to.have.length(1)
      } finally {
        socket.close()
      }
      expect(await metric(withStun.httpUrl, 'parley_relay_stun_requests_total', 'result="answered"')).to.be.at.least(1)
    })

    it('a relay whose STUN port is taken does not start, and says why in one line', async () => {
      const busy = createSocket('udp4')
      await new Promise<void>(resolve => busy.bind(0, '127.0.0.1', resolve))
      try {
        await startRelayProcess({ dataDir: join(dir, 'r3'), stunPort: busy.address().port })
        expect.fail('started on a STUN port in use')
      } catch (err) {
        expect((err as Error).message).to.match(/relay exited with 1/)
        expect((err as Error).message).to.include(`parley relay: cannot start the relay: STUN: UDP port ${busy.address().port} is already in use`)
      } finally {
        busy.close()
      }
    })
  })
})
