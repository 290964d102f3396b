/**
 * Parley's relay metrics, registered through the libp2p metrics interface
 * (Prometheus on the relay) next to libp2p's own:
 *
 * - `parley_relay_reservations` — reservations held now
 * - `parley_relay_circuits_open` — relayed circuits open now
 * - `parley_relay_circuit_decisions_total{decision}` — `circuit_allowed`, `circuit_denied_peer`, `reservation_denied_ip`
 * - `parley_relay_bytes_total{direction}` — bytes relayed (`from_source`, `to_source`)
 * - `parley_dht_records` — DHT records stored now
 * - `parley_dht_records_rejected_total{reason}` — refused handle records by error code
 * - `parley_relay_stun_requests_total{result}` — STUN datagrams: `answered`, `denied_ip_rate`,
 *   `denied_rate`, `malformed`, `not_binding`, `bad_fingerprint` (node/stun.ts)
 */
import type { Libp2p, Metrics, Stream } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { RELAY_HOP_PROTOCOL, RELAY_STOP_PROTOCOL, DHT_RECORD_PREFIX } from './constants.js'
import type { Tally } from '../util/tally.js'

/** Open circuits: the relay holds one outbound stop stream to the destination per circuit. */
export function openCircuits (node: Libp2p): number {
  let n = 0
  for (const conn of node.getConnections()) {
    for (const stream of conn.streams) if (stream.protocol === RELAY_STOP_PROTOCOL && stream.direction === 'outbound') n++
  }
  return n
}

/** DHT records in the datastore. */
export async function storedRecords (datastore: Datastore): Promise<number> {
  let n = 0
  for await (const key of datastore.queryKeys({ prefix: new Key(DHT_RECORD_PREFIX).toString() })) if (key !== undefined) n++
  return n
}

export function registerRelayMetrics (node: Libp2p<{ relay: CircuitRelayService }>, datastore: Datastore, rejections: Tally, decisions: Tally, relayedBytes: Tally, stun?: Tally): void {
  const metrics = node.metrics
  if (metrics === undefined) return
  metrics.registerMetric('parley_relay_reservations', { help: 'Circuit relay reservations held now', calculate: () => node.services.relay.reservations.size })
  metrics.registerMetric('parley_relay_circuits_open', { help: 'Relayed circuits open now', calculate: () => openCircuits(node) })
  metrics.registerMetric('parley_dht_records', { help: 'DHT records stored', calculate: async () => storedRecords(datastore) })
  decisions.attach(metrics.registerCounterGroup('parley_relay_circuit_decisions_total', { label: 'decision', help: 'Relay gater decisions' }))
  rejections.attach(metrics.registerCounterGroup('parley_dht_records_rejected_total', { label: 'reason', help: 'Handle records refused, by error code' }))
  relayedBytes.attach(metrics.registerCounterGroup('parley_relay_bytes_total', { label: 'direction', help: 'Bytes relayed through circuits' }))
  stun?.attach(metrics.registerCounterGroup('parley_relay_stun_requests_total', { label: 'result', help: 'STUN datagrams received, by what was done with them' }))
  countRelayedBytes(metrics, relayedBytes)
}

/**
 * Every byte relayed crosses the source's hop stream once, so counting hop
 * streams counts relayed traffic. libp2p hands each negotiated stream to
 * `metrics.trackProtocolStream`; this wraps that call for hop streams.
 */
function countRelayedBytes (metrics: Metrics, counter: Tally): void {
  const track = metrics.trackProtocolStream.bind(metrics)
  metrics.trackProtocolStream = (stream: Stream) => {
    track(stream)
    if (stream.protocol !== RELAY_HOP_PROTOCOL) return
    const send = stream.send.bind(stream)
    stream.send = (buf) => {
      counter.add('to_source', buf.byteLength)
      return send(buf)
    }
    const dispatch = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (evt: Event) => {
      if (evt.type === 'message') counter.add('from_source', (evt as Event & { data: { byteLength: number } }).data.byteLength)
      return dispatch(evt)
    }
  }
}
