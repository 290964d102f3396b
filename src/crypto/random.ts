/** Cryptographically secure random bytes from WebCrypto (Node ≥ 19 and browsers). */
export function randomBytes (length: number): Uint8Array {
  const out = new Uint8Array(length)
  globalThis.crypto.getRandomValues(out)
  return out
}
