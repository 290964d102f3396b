/**
 * The relay's WebSocket listener is bounded like its TCP one (src/node/websockets.ts,
 * relay-limits.ts): the per-IP connection cap counts WebSocket connections, a
 * socket that never completes the upgrade is closed within the handshake
 * timeout, handshakes per IP are capped, and messages are size-capped.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createRelayNode } from '../../src/node/relay.js'
import type { RelayNode } from '../../src/node/relay.js'
import { DHT_PROTOCOL } from '../../src/node/constants.js'
import { testPeersPerTest } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'

const PER_IP = 3
const HANDSHAKE_MS = 1000
const MAX_MESSAGE = 4096

/** The host and port `addr` starts with. */
function hostPort (addr: Multiaddr): { host: string, port: number } {
  const parts = addr.getComponents()
  return { host: parts.find(c => c.name === 'ip4')?.value ?? '', port: Number(parts.find(c => c.name === 'tcp')?.value) }
}

/** Opens a raw TCP socket to `addr`'s host and port; resolves once connected. */
async function rawSocket (addr: Multiaddr): Promise<Socket> {
  const { host, port } = hostPort(addr)
  const socket = connect({ host, port })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  return socket
}

/**
 * True when `relay` still serves `peer`: it negotiates its DHT protocol on a new stream over the
 * open connection (a round trip to the relay). Not ping: libp2p's connection monitor keeps the
 * ping streams a connection allows busy (seen over TCP as well).
 */
async function served (peer: TestPeer, relay: Multiaddr): Promise<boolean> {
  const conn = await peer.dial(relay)
  const stream = await conn.newStream(DHT_PROTOCOL, { signal: AbortSignal.timeout(5000) })
  await stream.close()
  return stream.protocol === DHT_PROTOCOL
}

/** Resolves with how long after the call `socket` closed. */
async function closedAfter (socket: Socket): Promise<number> {
  const start = performance.now()
  if (socket.destroyed) return 0
  return new Promise(resolve => socket.once('close', () => { resolve(performance.now() - start) }))
}

describe('relay WebSocket listener limits', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayNode
  let ws: Multiaddr
  let tcp: Multiaddr
  const peer = testPeersPerTest()

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-ws-limits-'))
    relay = await createRelayNode({
      dataDir: join(dir, 'relay'),
      listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
      metrics: false,
      presence: false,
      limits: { maxConnectionsPerIp: PER_IP, wsHandshakeTimeoutMs: HANDSHAKE_MS, wsMaxMessageBytes: MAX_MESSAGE, inboundConnectionsPerSecond: 1000 }
    })
    const addrs = relay.multiaddrs()
    ws = addrs.find(a => a.toString().includes('/ws/')) ?? expect.fail('no /ws address')
    tcp = addrs.find(a => !a.toString().includes('/ws/')) ?? expect.fail('no tcp address')
  })

  after(async () => {
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses WebSocket connections from one IP beyond the per-IP cap, and keeps serving the others', async () => {
    const clients = await Promise.all(Array.from({ length: PER_IP + 2 }, async () => peer()))
    const results: boolean[] = []
    // one at a time: the cap counts open connections, and a dial in flight is not open yet
    for (const c of clients) results.push(await c.dial(ws).then(() => true, () => false))
    expect(results).to.deep.equal([true, true, true, false, false])
    expect(relay.decisions.get('connection_denied_ip')).to.equal(2)
    // a TCP connection from the same IP counts against the same cap
    const extra = await peer()
    expect(await extra.dial(tcp).then(() => true, () => false)).to.equal(false)
    // the admitted peers are served
    for (const c of clients.slice(0, PER_IP)) expect(await served(c, ws)).to.equal(true)
    // and a slot freed is a slot taken again
    await clients[0]?.hangUp(relay.peerId)
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(await clients[PER_IP]?.dial(ws).then(() => true, () => false)).to.equal(true)
  })

  it('closes a socket that sends nothing within the handshake timeout', async () => {
    const socket = await rawSocket(ws)
    const ms = await closedAfter(socket)
    expect(ms).to.be.within(HANDSHAKE_MS - 100, HANDSHAKE_MS + 1500)
  })

  it('closes a socket that sends half an HTTP upgrade within the handshake timeout', async () => {
    const socket = await rawSocket(ws)
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n')
    const ms = await closedAfter(socket)
    expect(ms).to.be.within(HANDSHAKE_MS - 100, HANDSHAKE_MS + 1500)
  })

  it('caps handshakes in progress per IP: the extra sockets close at once', async () => {
    const sockets = await Promise.all(Array.from({ length: PER_IP + 2 }, async () => rawSocket(ws)))
    const times = await Promise.all(sockets.map(closedAfter))
    const early = times.filter(ms => ms < HANDSHAKE_MS / 2)
    expect(early, times.join(', ')).to.have.length(2)
    // once they are gone, a WebSocket client gets in
    const p = await peer()
    expect(await served(p, ws)).to.equal(true)
  })

  it('closes a connection that sends a message over the size cap (1009)', async () => {
    const { host, port } = hostPort(ws)
    const uri = `ws://${host}:${port}`
    const send = async (size: number): Promise<number> => {
      const socket = new WebSocket(uri)
      await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject })
      const closed = new Promise<number>(resolve => { socket.onclose = (e) => { resolve(e.code) } })
      socket.send(new Uint8Array(size))
      const code = await Promise.race([closed, new Promise<number>(resolve => setTimeout(() => { resolve(-1) }, 2000))])
      socket.close()
      return code
    }
    expect(await send(MAX_MESSAGE + 1)).to.equal(1009)
    expect(await send(MAX_MESSAGE)).to.not.equal(1009)
    // and the relay is still up, serving
    expect(await served(await peer(), ws)).to.equal(true)
  })

  it('stops promptly with a silent socket still open', async () => {
    const other = await createRelayNode({ dataDir: join(dir, 'other'), listen: ['/ip4/127.0.0.1/tcp/0/ws'], metrics: false, presence: false })
    const socket = await rawSocket(other.multiaddrs()[0] ?? expect.fail('no address'))
    const start = performance.now()
    await other.stop()
    expect(performance.now() - start).to.be.below(2000)
    await closedAfter(socket)
  })
})
