/**
 * The stock js-libp2p side of the `net` bench, in the namespaces beside
 * Parley's agents: nothing of Parley's on the path.
 *
 * - `relay IP PORT`: an unmodified js-libp2p relay (as plain-relay.ts, with
 *   its `raised` limits: 1024 reservations, 30 min and 1 GiB a circuit)
 *   listening on TCP `IP:PORT`; prints its multiaddr on stdout, then `ready`.
 * - `peer RELAY STUN`: a plain js-libp2p peer (TCP, circuit relay transport,
 *   WebRTC with `STUN` as its one ICE server, Noise, Yamux, identify, ping)
 *   reserving on `RELAY`; prints `{"event":"ready","circuit":…,"webrtc":…}`
 *   (its addresses through the relay), then reads JSON lines:
 *   `{"cmd":"dial","circuit":…,"webrtc":…,"tag":…}` dials the other peer's
 *   relayed address, then its WebRTC address over that path (as
 *   relay-latency.ts does), prints `dialed` with both times, and hangs up.
 */
import { createInterface } from 'node:readline'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'

function print (event: string, detail: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...detail }) + '\n')
}

async function relay (ip: string, port: string): Promise<void> {
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/${ip}/tcp/${port}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({ reservations: { maxReservations: 1024, defaultDurationLimit: 30 * 60 * 1000, defaultDataLimit: 1n << 30n } })
    }
  })
  process.once('SIGTERM', () => { void Promise.resolve(node.stop()).then(() => process.exit(0)) })
  console.log(node.getMultiaddrs().map(String).join('\n') + '\nready')
}

async function peer (relayAddr: string, stun: string): Promise<void> {
  const relayMa = multiaddr(relayAddr)
  const node = await createLibp2p({
    addresses: { listen: [relayMa.encapsulate('/p2p-circuit').toString(), '/webrtc'] },
    transports: [tcp(), circuitRelayTransport(), webRTC({ rtcConfiguration: { iceServers: [{ urls: stun }] } })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), ping: ping() }
  })
  const relayId = relayMa.getComponents().find(c => c.name === 'p2p')?.value ?? ''
  const deadline = Date.now() + 30_000
  let circuit: string | undefined
  let rtc: string | undefined
  while (Date.now() < deadline && (circuit === undefined || rtc === undefined)) {
    const addrs = node.getMultiaddrs().map(String).filter(a => a.includes(`/p2p/${relayId}/p2p-circuit`))
    circuit = addrs.find(a => !a.includes('/webrtc'))
    rtc = addrs.find(a => a.includes('/webrtc'))
    if (circuit === undefined || rtc === undefined) await new Promise(resolve => setTimeout(resolve, 50))
  }
  if (circuit === undefined || rtc === undefined) throw new Error(`no reservation on ${relayAddr}: ${node.getMultiaddrs().map(String).join(', ')}`)
  print('ready', { peer: node.peerId.toString(), circuit, webrtc: rtc })
  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const command = JSON.parse(line) as { cmd: string, tag?: string, circuit: string, webrtc: string }
    void (async () => {
      try {
        let t0 = performance.now()
        const relayed = await node.dial(multiaddr(command.circuit), { signal: AbortSignal.timeout(15_000) })
        const relayedMs = performance.now() - t0
        t0 = performance.now()
        const direct = await node.dial(multiaddr(command.webrtc), { signal: AbortSignal.timeout(15_000) })
        const webrtcMs = performance.now() - t0
        const ok = direct.remoteAddr.toString().includes('/webrtc')
        await node.hangUp(relayed.remotePeer)
        print('dialed', { tag: command.tag ?? null, relayedMs, webrtcMs, direct: ok })
      } catch (err) {
        print('error', { tag: command.tag ?? null, message: (err as Error).message })
      }
    })()
  })
  lines.on('close', () => { void Promise.resolve(node.stop()).then(() => process.exit(0)) })
  process.once('SIGTERM', () => { void Promise.resolve(node.stop()).then(() => process.exit(0)) })
}

const [mode, ...rest] = process.argv.slice(2)
try {
  if (mode === 'relay') await relay(rest[0] ?? '', rest[1] ?? '0')
  else if (mode === 'peer') await peer(rest[0] ?? '', rest[1] ?? '')
  else throw new Error(`unknown mode ${String(mode)}`)
} catch (err) {
  print('fatal', { message: (err as Error).message })
  process.exit(1)
}
