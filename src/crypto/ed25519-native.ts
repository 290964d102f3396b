/**
 * Native Ed25519 backends: Node's `crypto` (OpenSSL, synchronous) and
 * WebCrypto (`crypto.subtle`, asynchronous; browsers and Deno). Both check
 * the cofactorless equation; {@link selectBackend} still proves that with the
 * rule's vectors before trusting one.
 */
import type { Ed25519Backend, Ed25519Signer } from './ed25519.js'
import type { KeyObject } from 'node:crypto'
import { concat, fromBase64url } from './bytes.js'
import { nodeCrypto } from '#node-crypto'

// DER prefixes of PKCS#8 and SPKI structures holding a raw Ed25519 key (RFC 8410)
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])

export function keyId (publicKey: Uint8Array): string {
  // latin1 maps each byte to one UTF-16 unit: a cheap exact map key
  return String.fromCharCode.apply(null, publicKey as unknown as number[])
}

/** Node's OpenSSL Ed25519, or undefined outside Node. */
export function nodeBackend (): Ed25519Backend | undefined {
  const c = nodeCrypto
  if (c === undefined) return undefined
  const importKey = (publicKey: Uint8Array): KeyObject =>
    c.createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' })
  return {
    name: 'node',
    signer (seed: Uint8Array): Ed25519Signer {
      const privateKey = c.createPrivateKey({ key: Buffer.from(concat(PKCS8_PREFIX, seed)), format: 'der', type: 'pkcs8' })
      const spki = c.createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
      const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length))
      return {
        publicKey,
        sign: (message) => {
          const sig = c.sign(null, message, privateKey)
          return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength)
        }
      }
    },
    prepare: importKey,
    equation (publicKey, message, signature, prepared) {
      try {
        return c.verify(null, message, (prepared as KeyObject | undefined) ?? importKey(publicKey), signature)
      } catch {
        return false
      }
    }
  }
}

/** WebCrypto Ed25519, or undefined where `crypto.subtle` lacks it. */
export function webCryptoBackend (): Ed25519Backend | undefined {
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) return undefined
  const alg = { name: 'Ed25519' }
  const importKey = async (publicKey: Uint8Array): Promise<CryptoKey> =>
    subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, alg, false, ['verify'])
  return {
    name: 'webcrypto',
    async signer (seed: Uint8Array): Promise<Ed25519Signer> {
      const privateKey = await subtle.importKey('pkcs8', concat(PKCS8_PREFIX, seed) as Uint8Array<ArrayBuffer>, alg, true, ['sign'])
      const jwk = await subtle.exportKey('jwk', privateKey)
      const publicKey = fromBase64url(jwk.x ?? '')
      if (publicKey === undefined) throw new Error('WebCrypto exported an unreadable Ed25519 public key')
      return webCryptoSigner(privateKey, publicKey)
    },
    prepare: importKey,
    async equation (publicKey, message, signature, prepared) {
      try {
        const key = await ((prepared as Promise<CryptoKey> | undefined) ?? importKey(publicKey))
        return await subtle.verify(alg, key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>)
      } catch {
        return false
      }
    }
  }
}

/**
 * A signer on a WebCrypto Ed25519 private key, which may be non-extractable
 * (its secret never reaches JavaScript): how a browser identity signs.
 * `publicKey` is the raw 32-byte public key of the same pair.
 */
export function webCryptoSigner (privateKey: CryptoKey, publicKey: Uint8Array): Ed25519Signer {
  const subtle = globalThis.crypto.subtle
  const alg = { name: 'Ed25519' }
  return {
    publicKey,
    sign: async (message) => new Uint8Array(await subtle.sign(alg, privateKey, message as Uint8Array<ArrayBuffer>))
  }
}
