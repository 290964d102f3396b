/**
 * Byte helpers used across Parley: base64url (unpadded, RFC 4648 §5), UTF-8,
 * hex and constant-shape comparisons. Node's Buffer is used where present
 * because it is several times faster than portable code for these sizes.
 */

const hasBuffer = typeof globalThis.Buffer === 'function'
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const B64URL = /^[A-Za-z0-9_-]*$/

/** Encodes bytes as unpadded base64url. */
export function toBase64url (bytes: Uint8Array): string {
  if (hasBuffer) {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  }
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/**
 * Decodes unpadded base64url. Returns `undefined` for anything that is not the
 * canonical encoding of some byte string (bad alphabet, padding, impossible
 * length, or non-zero trailing bits), so every value has exactly one spelling.
 */
export function fromBase64url (text: string): Uint8Array | undefined {
  if (text.length % 4 === 1 || !B64URL.test(text)) return undefined
  let out: Uint8Array
  if (hasBuffer) {
    const buf = Buffer.from(text, 'base64url')
    out = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  } else {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
    out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  }
  // reject non-canonical trailing bits: re-encoding must give the same text
  if (toBase64url(out) !== text) return undefined
  return out
}

/** UTF-8 encodes a string. */
export function utf8 (text: string): Uint8Array {
  // Buffer.from is about twice as fast as TextEncoder for envelope-sized strings; hand
  // out a plain Uint8Array view so that .slice() copies, as callers expect
  if (!hasBuffer) return encoder.encode(text)
  const buf = Buffer.from(text, 'utf8')
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** Strictly decodes UTF-8; throws `TypeError` on invalid sequences. */
export function fromUtf8 (bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

/** Lower-case hex of bytes. */
export function toHex (bytes: Uint8Array): string {
  if (hasBuffer) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** Parses lower- or upper-case hex; throws on odd length or bad digits. */
export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('invalid hex')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

/** Concatenates byte arrays. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.byteLength
  const out = new Uint8Array(len)
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.byteLength }
  return out
}

/** Byte-wise equality (not constant time: use only on public values). */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
