/**
 * Generates `protocols/signatures/vectors.json`: the edge cases on which
 * Ed25519 implementations are known to disagree, each with the verdict of
 * the Parley rule. Deterministic: fixed seeds and messages.
 */
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { toHex, utf8, concat } from '../../src/crypto/bytes.js'

ed.hashes.sha512 = sha512
const Pt = ed.Point
const L = Pt.CURVE().n
const T8 = Pt.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a') // order 8

export interface SignatureCase {
  name: string
  publicKey: string
  message: string
  signature: string
  valid: boolean
  cofactoredValid: boolean
  note: string
}

function leBytes (n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) { out[i] = Number(n & 0xffn); n >>= 8n }
  return out
}
function leNumber (b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0)
  return n
}
const modL = (n: bigint): bigint => ((n % L) + L) % L
const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint => modL(leNumber(sha512(concat(R, A, M))))

/** Signs with an explicit scalar a and nonce r, for any encodings of A and R. */
function rawSign (a: bigint, r: bigint, Rbytes: Uint8Array, Abytes: Uint8Array, M: Uint8Array): { sig: Uint8Array, k: bigint } {
  const k = challenge(Rbytes, Abytes, M)
  return { sig: concat(Rbytes, leBytes(modL(r + k * a))), k }
}

function key (label: string): { a: bigint, A: Uint8Array, seed: Uint8Array } {
  const seed = sha512(utf8('parley test key ' + label)).subarray(0, 32)
  const e = ed.utils.getExtendedPublicKey(seed)
  return { a: e.scalar, A: e.pointBytes, seed }
}

/** Cofactored check ([8]([S]B - R - [k]A) = O) on raw encodings, accepting non-canonical ones (ZIP-215-like). */
function cofactored (A: Uint8Array, M: Uint8Array, sig: Uint8Array): boolean {
  try {
    return ed.verify(sig, M, A, { zip215: true })
  } catch {
    return false
  }
}

export function signatureVectors (): { description: string, cases: SignatureCase[] } {
  const cases: SignatureCase[] = []
  const add = (name: string, A: Uint8Array, M: Uint8Array, sig: Uint8Array, valid: boolean, note: string): void => {
    cases.push({ name, publicKey: toHex(A), message: toHex(M), signature: toHex(sig), valid, cofactoredValid: cofactored(A, M, sig), note })
  }
  const alice = key('alice')
  const msg = utf8('parley signature rule')

  add('valid', alice.A, msg, ed.sign(msg, alice.seed), true, 'An ordinary RFC 8032 signature.')
  add('valid-empty-message', alice.A, new Uint8Array(0), ed.sign(new Uint8Array(0), alice.seed), true, 'Empty message.')
  const good = ed.sign(msg, alice.seed)
  const flipped = good.slice(); flipped[0] = (flipped[0] ?? 0) ^ 0x01
  add('wrong-r', alice.A, msg, flipped, false, 'R altered: the equation fails.')
  add('wrong-message', alice.A, utf8('parley signature rulf'), good, false, 'Message altered.')

  // S + L: same point equation, non-canonical scalar
  const sPlusL = concat(good.subarray(0, 32), leBytes(leNumber(good.subarray(32)) + L))
  add('non-canonical-s', alice.A, msg, sPlusL, false, 'S ≥ L (S + L of a valid signature). Rule 3 rejects; some libraries reduce S and accept.')

  // small-order public key, S = 0, R = identity: [0]B = O + [k]T for k ≡ 0 mod 8, and always cofactored
  const identity = Pt.ZERO.toBytes()
  for (const [label, T] of [['order-8', T8], ['order-2', T8.multiply(4n)]] as const) {
    add(`small-order-public-key-${label}`, T.toBytes(), msg, concat(identity, new Uint8Array(32)), false,
      'A is a point of small order and the signature (R = identity, S = 0) satisfies the cofactored equation for any message. Rule 2 rejects.')
  }

  // non-canonical encoding of the identity as public key (y = 1 + p)
  const nonCanonicalIdentity = leBytes((1n << 255n) - 19n + 1n)
  add('non-canonical-public-key', nonCanonicalIdentity, msg, concat(identity, new Uint8Array(32)), false,
    'A is the identity written with y = p + 1. Rule 1 rejects; permissive decoders accept.')

  // non-canonical R: identity written as y = p + 1, with S = k·a so that [S]B - [k]A = O
  {
    const R = nonCanonicalIdentity
    const { sig } = rawSign(alice.a, 0n, R, alice.A, msg)
    add('non-canonical-r', alice.A, msg, sig, false, 'R is the identity written with y = p + 1 and S = k·a, so [S]B − [k]A equals the point R encodes. Rule 1 rejects.')
  }

  // small-order R: R = identity (canonical), S = k·a. Cofactorless libraries such as OpenSSL accept.
  {
    const { sig } = rawSign(alice.a, 0n, identity, alice.A, msg)
    add('small-order-r', alice.A, msg, sig, false, 'R is the identity (r = 0) and S = k·a: the cofactorless equation holds. Rule 2 rejects.')
  }

  // R with a torsion component: R = [r]B + T. Cofactored accepts, cofactorless rejects.
  {
    const r = 12345678901234567890n
    const R = Pt.BASE.multiply(r).add(T8).toBytes()
    const { sig } = rawSign(alice.a, r, R, alice.A, msg)
    add('mixed-order-r', alice.A, msg, sig, false, 'R = [r]B + T with T of order 8: only the cofactored equation holds. Rule 4 (cofactorless) rejects.')
  }

  // mixed-order public key A' = [a]B + T: cofactorless holds iff k ≡ 0 (mod 8)
  {
    const Amixed = Pt.BASE.multiply(alice.a).add(T8).toBytes()
    const r = 987654321n
    const R = Pt.BASE.multiply(r).toBytes()
    let found0 = false
    let foundOther = false
    for (let i = 0; (!found0 || !foundOther) && i < 1000; i++) {
      const m = utf8(`mixed-order key message ${i}`)
      const { sig, k } = rawSign(alice.a, r, R, Amixed, m)
      if (k % 8n === 0n && !found0) {
        found0 = true
        add('mixed-order-public-key-k-multiple-of-8', Amixed, m, sig, true, 'A = [a]B + T (T of order 8) and k ≡ 0 mod 8: both equations hold. Accepted: the rule does not require A to be torsion-free.')
      } else if (k % 8n !== 0n && !foundOther) {
        foundOther = true
        add('mixed-order-public-key', Amixed, m, sig, false, 'A = [a]B + T (T of order 8) and k ≢ 0 mod 8: only the cofactored equation holds. Rule 4 (cofactorless) rejects.')
      }
    }
  }

  // R not on the curve (y with no square root)
  {
    const bad = leBytes(2n)
    const offCurve = concat(bad, good.subarray(32))
    add('r-not-on-curve', alice.A, msg, offCurve, false, 'R does not decode to a curve point.')
  }

  add('truncated-signature', alice.A, msg, good.subarray(0, 63), false, 'Signature of 63 bytes.')

  return {
    description: 'Ed25519 edge cases under the Parley signature rule. Inputs are hex. `valid` is the Parley verdict; `cofactoredValid` is what a permissive cofactored (ZIP-215) verifier says, for contrast.',
    cases
  }
}
