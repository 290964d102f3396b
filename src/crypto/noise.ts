/**
 * Noise's primitives for a browser tab: those of `@chainsafe/libp2p-noise`'s
 * JavaScript implementation (SHA-256, HKDF, ChaCha20-Poly1305 and X25519 from
 * `@noble`), except that its X25519 keys (the static key, and one ephemeral
 * key a connection) are made with the Montgomery ladder
 * ({@link x25519PublicKeyNoble}) instead of `getPublicKey`, whose first call
 * builds a base-point table: tens of ms on a tab's cold start, before its
 * first connection can finish its handshake. The same keys, the same
 * handshake; Node keeps Noise's default (its native crypto).
 */
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { extract, expand } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { x25519PublicKeyNoble, x25519Secret } from './x25519.js'

export const browserNoiseCrypto: ICryptoInterface = {
  hashSHA256: (data) => sha256(data.subarray()),
  getHKDF: (ck, ikm) => {
    const okm = expand(sha256, extract(sha256, ikm, ck), undefined, 96)
    return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
  },
  generateX25519KeyPair: () => {
    const privateKey = x25519Secret()
    return { privateKey, publicKey: x25519PublicKeyNoble(privateKey) }
  },
  generateX25519KeyPairFromSeed: (seed) => ({ privateKey: seed, publicKey: x25519PublicKeyNoble(seed) }),
  generateX25519SharedKey: (privateKey, publicKey) => x25519.getSharedSecret(privateKey.subarray(), publicKey.subarray()),
  chaCha20Poly1305Encrypt: (plaintext, nonce, ad, k) => chacha20poly1305(k, nonce, ad).encrypt(plaintext.subarray()),
  chaCha20Poly1305Decrypt: (ciphertext, nonce, ad, k, dst) => chacha20poly1305(k, nonce, ad).decrypt(ciphertext.subarray(), dst)
}
