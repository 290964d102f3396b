/**
 * Which DHT servers a relay trusts (protocols/handle-record §15): itself,
 * the relays it bootstraps from, and the servers it is configured with
 * (`--dht-server`). Only those enter its kad-dht routing table, and only
 * those are named in its answers, so a rogue server that connects to a
 * relay is never handed to clients or other relays as a closer peer. The
 * relay still answers every peer's DHT queries.
 *
 * The filter is kad-dht's public `peerInfoMapper`: kad-dht applies it to a
 * DHT server before admitting it to the routing table when it connects or
 * is named in an answer, and to the peers a FIND_NODE or GET_PROVIDERS
 * answer lists; an untrusted peer comes out with no address, which kad-dht
 * takes as "leave it out". (GET_VALUE answers list routing-table peers
 * without the mapper, hence the table itself must hold only trusted ones.)
 *
 * Two ways into the table do not pass the mapper in kad-dht 16: peers
 * re-admitted at start from the peer store (tagged `kad-peer` by an earlier
 * run, maybe of a version that trusted everyone; {@link forgetUntrustedDhtPeers}
 * clears the tag of untrusted ones before the node starts), and peers that
 * answer the relay's own queries. The relay only queries peers that a
 * trusted server named, and trusted Parley relays name only the relays they
 * trust, so a rogue gets in that way only if a trusted relay's operator
 * chose to trust it.
 */
import type { Libp2p } from '@libp2p/interface'
import { passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import type { PeerInfoMapper } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'

const log = logger('parley:relay:dht')

/** The peer store tag kad-dht gives routing-table members (and re-admits at start, unfiltered). */
export const KAD_PEER_TAG = 'kad-peer'

/** Options of {@link trustedDhtMapper}. */
export interface TrustedDhtMapperOptions {
  /** Whether the peer with this id is a trusted DHT server. */
  trusted: (peer: string) => boolean
  /** Keep only public addresses of trusted servers (`--dht-public-only`). */
  publicOnly?: boolean
}

/** A kad-dht `peerInfoMapper` that keeps trusted servers (their addresses mapped as configured) and strips every other peer's addresses. */
export function trustedDhtMapper (options: TrustedDhtMapperOptions): PeerInfoMapper {
  const addresses = options.publicOnly === true ? removePrivateAddressesMapper : passthroughMapper
  return (info) => options.trusted(info.id.toString()) ? addresses(info) : { ...info, multiaddrs: [] }
}

/**
 * Clears kad-dht's routing-table tag from every untrusted peer in `node`'s
 * peer store, so a node not yet started does not re-admit them. Returns how
 * many it cleared.
 */
export async function forgetUntrustedDhtPeers (node: Pick<Libp2p, 'peerStore'>, trusted: (peer: string) => boolean): Promise<number> {
  const untrusted = await node.peerStore.all({ filters: [(peer) => peer.tags.has(KAD_PEER_TAG) && !trusted(peer.id.toString())] })
  for (const peer of untrusted) {
    await node.peerStore.merge(peer.id, { tags: { [KAD_PEER_TAG]: undefined } })
  }
  if (untrusted.length > 0) log('cleared the DHT routing-table tag of %d untrusted peers', untrusted.length)
  return untrusted.length
}
