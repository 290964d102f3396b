/** What Parley reads off multiaddrs, in one place. */
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The peer id an address ends in (its last `/p2p/<id>`), if any. Throws on a string that is not a multiaddr. */
export function p2pPeerOf (addr: string | Multiaddr): string | undefined {
  return (typeof addr === 'string' ? multiaddr(addr) : addr).getComponents().findLast(c => c.name === 'p2p')?.value
}
