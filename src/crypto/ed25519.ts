/**
 * Ed25519 signatures under one verification rule, whatever the backend.
 *
 * Ed25519 implementations disagree at the edges: some accept non-canonical
 * encodings, some reject small-order keys, some check the cofactored equation
 * `[8][S]B = [8]R + [8][k]A` and others the cofactorless `[S]B = R + [k]A`.
 * A Parley signature must verify in every runtime or in none, so Parley fixes
 * one rule (see `protocols/signatures/README.md`) and applies it here, in
 * front of every backend:
 *
 * 1. the public key A and the signature's R are canonical encodings
 *    (y < p, and x = 0 never with the sign bit set) of curve points;
 * 2. neither A nor R is a point of small order;
 * 3. S < L;
 * 4. the cofactorless equation holds: `[S]B = R + [k]A`, k = SHA-512(R‖A‖M) mod L.
 *
 * Checks 1-3 are byte comparisons done here (the decoding of A is cached per
 * key). Check 4 is the backend's: Node's `crypto` (OpenSSL), WebCrypto, or
 * `@noble/ed25519` point arithmetic, which is used in the cofactorless form
 * below. A native backend is only used after it has passed the rule's
 * discriminating vectors at first use; otherwise the portable one is.
 *
 * @packageDocumentation
 */
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { toHex } from './bytes.js'

ed.hashes.sha512 = sha512

/** The group order L, little-endian bytes. */
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10
])

/**
 * Every 32-byte string that decodes (possibly non-strictly) to a point of
 * small order with y < p: the eight torsion points and the two x = 0 points
 * written with the sign bit set.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'
]
const SMALL_ORDER = new Set(SMALL_ORDER_ENCODINGS)
/** First bytes of the encodings above: most strings are ruled out without hex-encoding them. */
const SMALL_ORDER_FIRST = new Set(SMALL_ORDER_ENCODINGS.map(h => parseInt(h.slice(0, 2), 16)))

/** True when the 32 bytes encode y ≥ p (a non-canonical field element). */
function nonCanonicalY (b: Uint8Array): boolean {
  if (((b[31] ?? 0) & 0x7f) !== 0x7f) return false
  for (let i = 30; i >= 1; i--) if (b[i] !== 0xff) return false
  return (b[0] ?? 0) >= 0xed
}

/** True when S (little-endian) is strictly less than L. */
function scalarBelowL (s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const a = s[i] ?? 0
    const l = L_LE[i] ?? 0
    if (a < l) return true
    if (a > l) return false
  }
  return false
}

/** True when the 32 bytes are a canonical encoding of a point not of small order (the bytes-only part). */
function acceptableEncoding (b: Uint8Array): boolean {
  return b.byteLength === 32 && !nonCanonicalY(b) && !(SMALL_ORDER_FIRST.has(b[0] ?? 0) && SMALL_ORDER.has(toHex(b)))
}

/**
 * Checks a public key against rules 1 and 2: canonical, on the curve, not of
 * small order. Decoding costs a square root, so results are cached by callers.
 */
export function isAcceptablePublicKey (publicKey: Uint8Array): boolean {
  if (!acceptableEncoding(publicKey)) return false
  try {
    ed.Point.fromBytes(publicKey, false)
    return true
  } catch {
    return false
  }
}

/**
 * Checks the parts of a signature that need no curve arithmetic: R's encoding
 * (rules 1-2, except on-curve, which the equation decides) and S < L (rule 3).
 */
export function hasAcceptableShape (signature: Uint8Array): boolean {
  return signature.byteLength === 64 &&
    acceptableEncoding(signature.subarray(0, 32)) &&
    scalarBelowL(signature.subarray(32, 64))
}

/** A key pair able to sign; created once per identity so backends can cache their key objects. */
export interface Ed25519Signer {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array
  /** Signs `message` (deterministic, RFC 8032). */
  sign: (message: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

/** One implementation of the curve operations. */
export interface Ed25519Backend {
  /** Which implementation: `node:crypto`, WebCrypto, or `@noble/ed25519`. */
  readonly name: 'node' | 'webcrypto' | 'noble'
  /** Prepares a signer from a 32-byte seed (the RFC 8032 private key). */
  signer: (seed: Uint8Array) => Ed25519Signer | Promise<Ed25519Signer>
  /**
   * Checks rule 5 only (the cofactorless equation). Callers must have applied
   * rules 1-4; `verifySignature` does. `prepared` is what {@link prepare}
   * returned for this key, when the caller kept it.
   */
  equation: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, prepared?: unknown) => boolean | Promise<boolean>
  /** Imports a public key into the backend's own form, for callers that cache it. */
  prepare?: (publicKey: Uint8Array) => unknown
}

/** Portable backend: `@noble/ed25519` point arithmetic, cofactorless. */
export const nobleBackend: Ed25519Backend = {
  name: 'noble',
  signer (seed) {
    const publicKey = ed.getPublicKey(seed)
    return { publicKey, sign: (message) => ed.sign(message, seed) }
  },
  equation (publicKey, message, signature) {
    try {
      const A = ed.Point.fromBytes(publicKey, false)
      const R = ed.Point.fromBytes(signature.subarray(0, 32), false)
      const s = bytesToNumberLE(signature.subarray(32, 64))
      const k = bytesToNumberLE(sha512(concat3(signature.subarray(0, 32), publicKey, message))) % ed.Point.CURVE().n
      // [S]B - [k]A == R, compared projectively (no inversion)
      const SB = s === 0n ? ed.Point.ZERO : ed.Point.BASE.multiply(s, false)
      const kA = k === 0n ? ed.Point.ZERO : A.multiply(k, false)
      return SB.subtract(kA).equals(R)
    } catch {
      return false
    }
  }
}

function bytesToNumberLE (b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0)
  return n
}

function concat3 (a: Uint8Array, b: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + c.length)
  out.set(a, 0); out.set(b, a.length); out.set(c, a.length + b.length)
  return out
}

