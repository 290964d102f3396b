/**
 * The Kademlia DHT an agent runs, as a libp2p service: client mode, Parley's
 * DHT protocol id, the handle record validator and selector, and a routing
 * table that takes only trusted servers (the agent's relays and any
 * `dhtServers`; protocols/handle-record §15).
 */
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { DHT_PROTOCOL } from '../node/constants.js'
import { handleDhtConfig } from '../handles/record.js'
import { CARD_DHT_NAMESPACE, cardSelector, cardValidator } from '../handles/card.js'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'

/** Handle records' validators and selectors, and Agent Cards' (protocols/agent-card). */
function withCards (config: { validators: Record<string, ValidateFn>, selectors: Record<string, SelectFn> }): { validators: Record<string, ValidateFn>, selectors: Record<string, SelectFn> } {
  return { validators: { ...config.validators, [CARD_DHT_NAMESPACE]: cardValidator }, selectors: { ...config.selectors, [CARD_DHT_NAMESPACE]: cardSelector } }
}
import { DEFAULT_POW_BITS } from '../handles/pow.js'
import { relayPeer } from './options.js'

/** Options of {@link parleyDHT}. */
export interface ParleyDHTInit {
  /** The relays (multiaddrs ending in `/p2p/<id>`): the DHT servers the routing table trusts. */
  relays: readonly string[]
  /** More DHT servers to trust, by peer id. */
  dhtServers?: readonly string[]
  /** The least proof of work a handle record must carry (default: `DEFAULT_POW_BITS`). */
  minPowBits?: number
}

/**
 * A kad-dht client for Parley's handle records. kad-dht holds every query
 * until its first self-query, which by default starts a second after the DHT
 * does; here it starts at once (with only trusted servers in the table it is
 * one round trip to a relay), so `start()` with a handle, and a caller's
 * first lookup, do not wait that second.
 */
export function parleyDHT (init: ParleyDHTInit): ReturnType<typeof kadDHT> {
  const trusted = new Set([...init.relays.map(relayPeer), ...(init.dhtServers ?? [])])
  return kadDHT({
    protocol: DHT_PROTOCOL,
    clientMode: true,
    initialQuerySelfInterval: 0,
    peerInfoMapper: (info) => trusted.has(info.id.toString()) ? passthroughMapper(info) : { ...info, multiaddrs: [] },
    ...withCards(handleDhtConfig({ minPowBits: init.minPowBits ?? DEFAULT_POW_BITS }))
  })
}
