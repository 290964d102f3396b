/**
 * X25519 (RFC 7748) for sealed bodies and identities: Node's OpenSSL where it
 * runs (about ten times faster than `@noble/curves` on this kind of machine:
 * 0.09 against 1.0 ms a shared secret), `@noble/curves` elsewhere (browsers).
 * Both clamp the secret as RFC 7748 says, so they agree bit for bit; the
 * sealed-body vectors check it. A shared secret that is all zeros (a
 * low-order public key) is refused by both, as an `Error`.
 */
import { x25519 as noble } from '@noble/curves/ed25519.js'
import type { KeyObject } from 'node:crypto'
import { concat } from './bytes.js'
import { nodeCrypto } from '#node-crypto'

// DER prefixes of PKCS#8 and SPKI structures holding a raw X25519 key (RFC 8410)
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])

function nodePrivate (secret: Uint8Array): KeyObject | undefined {
  return nodeCrypto?.createPrivateKey({ key: Buffer.from(concat(PKCS8_PREFIX, secret)), format: 'der', type: 'pkcs8' })
}

function checked (shared: Uint8Array): Uint8Array {
  if (shared.every(b => b === 0)) throw new Error('X25519 produced the all-zero secret (low-order public key)')
  return shared
}

/** The u-coordinate of X25519's base point (RFC 7748 §4.1). */
const BASE_U = Uint8Array.from({ length: 32 }, (_, i) => i === 0 ? 9 : 0)

/**
 * X25519(`secret`, 9) with `@noble/curves`' Montgomery ladder. Its
 * `getPublicKey` multiplies on the Edwards curve instead, which first builds a
 * base-point table: about 35 ms the first time in a fresh process (against
 * 2.5 ms for the ladder), paid at start by a browser tab, which makes few
 * keys. Same result bit for bit (RFC 7748 defines the public key as this).
 */
export function x25519PublicKeyNoble (secret: Uint8Array): Uint8Array {
  return noble.scalarMult(secret, BASE_U)
}

/** A new random X25519 secret (32 bytes). */
export function x25519Secret (): Uint8Array {
  return noble.utils.randomSecretKey()
}

/** The public key of `secret`. */
export function x25519PublicKey (secret: Uint8Array): Uint8Array {
  const key = nodePrivate(secret)
  if (key === undefined || nodeCrypto === undefined) return x25519PublicKeyNoble(secret)
  const spki = nodeCrypto.createPublicKey(key).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length))
}

/** X25519(`secret`, `peerPublic`); throws when the result is all zeros. */
export function x25519SharedSecret (secret: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const c = nodeCrypto
  if (c === undefined) return checked(noble.getSharedSecret(secret, peerPublic))
  const shared = c.diffieHellman({
    privateKey: nodePrivate(secret) as KeyObject,
    publicKey: c.createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, peerPublic)), format: 'der', type: 'spki' })
  })
  return checked(new Uint8Array(shared.buffer, shared.byteOffset, shared.byteLength))
}
