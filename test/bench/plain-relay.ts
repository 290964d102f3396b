/**
 * An unmodified js-libp2p relay, the baseline the relay benchmarks compare
 * Parley against: TCP and WebSocket on 127.0.0.1, Noise, Yamux, identify,
 * ping and `circuitRelayServer()` with no options (library defaults: 15
 * reservations, circuits limited to 2 minutes and 128 KiB).
 *
 * The one change from library defaults: `inboundConnectionThreshold` is
 * raised, because every benchmark client connects from 127.0.0.1 and the
 * default of 5 new connections per second per host resets the ramp
 * (ECONNRESET). The Parley relay gets the same change (`--inbound-rate`).
 *
 * Run as a child process (`node plain-relay.js [inbound-threshold]`): prints its multiaddrs on stdout, one per line,
 * then `ready`; stops on SIGTERM or SIGINT.
 */
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'

/** New inbound connections per second per host: argv[2], which the bench sets to its `--inbound-rate` for Parley. */
const inboundConnectionThreshold = Number(process.argv[2] ?? 1000)

/** argv[3] `raised`: the library relay with Parley's circuit limits (30 min, 1 GiB, 1024 reservations), for long runs. */
const raised = process.argv[3] === 'raised'

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] },
  transports: [tcp(), webSockets()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { inboundConnectionThreshold },
  services: {
    identify: identify(),
    ping: ping(),
    relay: circuitRelayServer(raised ? { reservations: { maxReservations: 1024, defaultDurationLimit: 30 * 60 * 1000, defaultDataLimit: 1n << 30n } } : {})
  }
})

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(0), 4000)
  force.unref()
  void Promise.resolve(node.stop()).finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

console.log(node.getMultiaddrs().map(String).join('\n') + '\nready')
