/**
 * From a libp2p peer id string to the Ed25519 public key it embeds.
 *
 * Parley signers are named by their peer id (`12D3KooW…`): an identity
 * multihash of the protobuf-encoded Ed25519 public key, so a signature can be
 * checked against the peer id alone, and the peer id is what Noise already
 * authenticated on the connection. Parsing costs a base58 decode, so results
 * are cached.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { BoundedCache } from '../util/bounded-cache.js'

const cache = new BoundedCache<string, Uint8Array | null>(8192)

/**
 * The raw 32-byte Ed25519 public key named by `peerId`, or `undefined` when
 * the string is not an Ed25519 peer id.
 */
export function ed25519KeyOfPeer (peerId: string): Uint8Array | undefined {
  let key = cache.get(peerId)
  if (key === undefined) {
    key = null
    try {
      const id = peerIdFromString(peerId)
      // only the canonical base58btc spelling names a peer; other spellings would make two names for one key
      if (id.type === 'Ed25519' && id.toString() === peerId) key = id.publicKey.raw
    } catch {
      // not a peer id: cached as null below
    }
    if (peerId.length <= 128) cache.set(peerId, key)
  }
  return key ?? undefined
}
