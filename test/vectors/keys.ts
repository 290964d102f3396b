/**
 * Fixed test identities for vectors and tests: seed = first 32 bytes of
 * SHA-512("parley test key <label>"). Never use these keys for anything else.
 */
import { sha512 } from '@noble/hashes/sha2.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { nobleBackend } from '../../src/crypto/ed25519.js'
import { concat, utf8 } from '../../src/crypto/bytes.js'

export interface TestKey {
  label: string
  seed: Uint8Array
  publicKey: Uint8Array
  peerIdString: string
  x25519Secret: Uint8Array
  x25519PublicKey: Uint8Array
  sign: (data: Uint8Array) => Promise<Uint8Array>
  x25519SharedSecret: (peerPublic: Uint8Array) => Uint8Array
}

export function testKey (label: string): TestKey {
  const seed = sha512(utf8('parley test key ' + label)).subarray(0, 32)
  const signer = nobleBackend.signer(seed) as { publicKey: Uint8Array, sign: (m: Uint8Array) => Uint8Array }
  const peerIdString = peerIdFromPrivateKey(privateKeyFromRaw(concat(seed, signer.publicKey))).toString()
  const x25519Secret = hkdf(sha256, seed, new Uint8Array(0), utf8('parley/x25519/v1'), 32)
  return {
    label,
    seed,
    publicKey: signer.publicKey,
    peerIdString,
    x25519Secret,
    x25519PublicKey: x25519.getPublicKey(x25519Secret),
    sign: async (data) => signer.sign(data),
    x25519SharedSecret: (peerPublic) => x25519.getSharedSecret(x25519Secret, peerPublic)
  }
}
