/**
 * SHA-256, on OpenSSL where Node offers it (several times faster than a
 * JavaScript implementation on the short inputs Parley hashes: log entries,
 * transitions, terms), else `@noble/hashes`. Same bytes either way.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

const nodeCrypto = globalThis.process?.versions?.node != null ? await import('node:crypto') : undefined

/** SHA-256 of `bytes`. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  if (nodeCrypto === undefined) return nobleSha256(bytes)
  const digest = nodeCrypto.createHash('sha256').update(bytes).digest()
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
}
