/**
 * Cryptographically secure random bytes from WebCrypto (Node ≥ 19 and browsers).
 *
 * Small draws come from a pool refilled 4 KiB at a time: one
 * `getRandomValues` call costs about as much as 3 µs here regardless of size,
 * which would otherwise be a tenth of an envelope's signing time.
 */
import { toBase64url } from './bytes.js'

const POOL_SIZE = 4096
const pool = new Uint8Array(POOL_SIZE)
let offset = POOL_SIZE

/** `length` fresh random bytes (a copy: never shared with later calls). */
export function randomBytes (length: number): Uint8Array {
  if (length > 256) {
    const out = new Uint8Array(length)
    globalThis.crypto.getRandomValues(out)
    return out
  }
  if (offset + length > POOL_SIZE) {
    globalThis.crypto.getRandomValues(pool)
    offset = 0
  }
  const out = pool.slice(offset, offset + length)
  // wipe what was handed out so the pool never holds a copy of a secret
  pool.fill(0, offset, offset + length)
  offset += length
  return out
}

/** Fresh 16 random bytes as base64url: the default envelope `id` and `nonce`, session and approval ids. */
export function randomToken (): string {
  return toBase64url(randomBytes(16))
}
