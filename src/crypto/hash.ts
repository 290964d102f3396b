/**
 * SHA-256, on OpenSSL where Node offers it (several times faster than a
 * JavaScript implementation on the short inputs Parley hashes: log entries,
 * transitions, terms), else `@noble/hashes`. Same bytes either way.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { toBase64url } from './bytes.js'
import { nodeCrypto } from '#node-crypto'

/** SHA-256 of `bytes`. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  if (nodeCrypto === undefined) return nobleSha256(bytes)
  const digest = nodeCrypto.hash('sha256', bytes, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}

/**
 * Unpadded base64url of SHA-256 of `bytes` (how log entries, transitions and
 * approvals name a byte string). On Node, OpenSSL writes the text itself:
 * about twice as fast as hashing, then encoding.
 */
export function sha256Base64url (bytes: Uint8Array): string {
  return nodeCrypto === undefined ? toBase64url(nobleSha256(bytes)) : nodeCrypto.hash('sha256', bytes, 'base64url')
}
