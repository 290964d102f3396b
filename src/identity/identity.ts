/**
 * A Parley identity: one Ed25519 key pair, the libp2p peer id it names, and
 * an X25519 key for sealed payloads. This module holds the identity itself
 * and nothing that touches storage, so it runs in Node and in browsers alike;
 * the key stores are `file-store.ts` (Node: `identity.json` in a data
 * directory) and `idb-store.ts` (browsers: IndexedDB).
 *
 * An identity is either an `'agent'` or a `'human'` ({@link IdentityKind}).
 * Most identities are made from a 32-byte Ed25519 seed (the RFC 8032 private
 * key), and then the seed is the only secret; everything else is derived:
 *
 * - the Ed25519 public key and the libp2p peer id (`12D3KooW…`), which is
 *   what other peers call this identity;
 * - the X25519 private key, `HKDF-SHA256(ikm = seed, salt = empty,
 *   info = UTF-8 "parley/x25519/v1", L = 32)` (see {@link Identity}).
 *
 * A browser identity on a non-extractable WebCrypto key has no seed that
 * JavaScript can read: it keeps an independent X25519 key instead (peers only
 * ever see its public half, in the handle record). See `idb-store.ts`.
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 *
 * const me = await createIdentity({ kind: 'agent' })
 * console.log(me.peerIdString) // 12D3KooW…
 * const sig = await me.sign(new TextEncoder().encode('hello'))
 *
 * const other = await createIdentity({ kind: 'human' })
 * const k1 = me.x25519SharedSecret(other.x25519PublicKey)
 * const k2 = other.x25519SharedSecret(me.x25519PublicKey) // equal to k1
 * ```
 *
 * @packageDocumentation
 */
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PeerId, Ed25519PrivateKey } from '@libp2p/interface'
import { x25519PublicKey, x25519SharedSecret } from '../crypto/x25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { createSigner } from '../crypto/signature.js'
import type { Ed25519Signer } from '../crypto/signature.js'
import { concat, equalBytes, utf8 } from '../crypto/bytes.js'
import { IdentityError, IdentityErrorCode } from '../errors.js'
import { describe } from '../util/describe.js'

/** What an identity stands for: an autonomous agent or a human. */
export type IdentityKind = 'agent' | 'human'

/** Every {@link IdentityKind}, in a fixed order. */
export const IDENTITY_KINDS: readonly IdentityKind[] = Object.freeze(['agent', 'human'] as const)

/** HKDF `info` of the X25519 key derivation (part of the protocol). */
const X25519_INFO = utf8('parley/x25519/v1')
/** Bytes of an Ed25519 seed and of an X25519 private key. */
export const SEED_BYTES = 32

/** True when `value` is one of {@link IDENTITY_KINDS}. */
export function isIdentityKind (value: unknown): value is IdentityKind {
  return typeof value === 'string' && (IDENTITY_KINDS as readonly string[]).includes(value)
}

/** The parts an {@link Identity} is built from; for the key stores only. */
export interface IdentityParts {
  kind: IdentityKind
  /** Signs with the Ed25519 key; its `publicKey` is the identity's. */
  signer: Ed25519Signer
  /** The same key as libp2p sees it. */
  privateKey: Ed25519PrivateKey
  /** The 32-byte X25519 private key. */
  x25519Private: Uint8Array
}

let construct: (parts: IdentityParts) => Identity

/**
 * A loaded or created identity. Obtain one from {@link createIdentity}, a
 * key store (`loadOrCreateIdentity`, `loadIdentity` in Node,
 * `loadOrCreateBrowserIdentity` in browsers); the constructor is private.
 *
 * X25519 key derivation, for every identity made from a seed (normative for
 * Parley's own key files: every implementation derives the same key from the
 * same seed, so a key file moved between them keeps its X25519 key):
 *
 * ```
 * x25519Private = HKDF-SHA256(ikm  = seed (the 32-byte Ed25519 seed),
 *                             salt = empty (RFC 5869: same as 32 zero bytes),
 *                             info = UTF-8 "parley/x25519/v1",
 *                             L    = 32)
 * x25519PublicKey = X25519(x25519Private, 9)   // RFC 7748, scalar clamped as usual
 * ```
 *
 * The X25519 key is deliberately not the birational map of the Ed25519 key,
 * so the signing key is never used for anything but signatures. An identity
 * whose Ed25519 key is not extractable (a browser's WebCrypto key) has no
 * seed to derive from and keeps an independent random X25519 key; peers never
 * derive anything, they read the public key from the handle record.
 */
export class Identity {
  static {
    construct = (parts) => new Identity(parts)
  }

  /** What this identity stands for. */
  readonly kind: IdentityKind
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** The libp2p private key (give it to libp2p as its `privateKey`). */
  readonly privateKey: Ed25519PrivateKey
  /** The libp2p peer id of {@link publicKey}. */
  readonly peerId: Ed25519PeerId
  /** {@link peerId} as its canonical base58btc string (`12D3KooW…`). */
  readonly peerIdString: string
  /** The 32-byte X25519 public key (derived from the seed, see the class doc). */
  readonly x25519PublicKey: Uint8Array

  readonly #signer: Ed25519Signer
  readonly #x25519Private: Uint8Array

  private constructor (parts: IdentityParts) {
    this.kind = parts.kind
    this.#signer = parts.signer
    this.privateKey = parts.privateKey
    this.publicKey = parts.privateKey.publicKey.raw
    this.peerId = peerIdFromPrivateKey(parts.privateKey)
    this.peerIdString = this.peerId.toString()
    this.#x25519Private = parts.x25519Private
    this.x25519PublicKey = x25519PublicKey(this.#x25519Private)
  }

  /** Signs `data` with the Ed25519 key (deterministic, RFC 8032). */
  sign (data: Uint8Array): Uint8Array | Promise<Uint8Array> {
    // synchronous on Node's native backend: envelopes sign without a promise hop
    return this.#signer.sign(data)
  }

  /**
   * X25519 Diffie-Hellman (RFC 7748) of this identity's X25519 key
   * with a peer's 32-byte X25519 public key; returns the 32-byte shared secret.
   * Use it as key material for a KDF, never directly as a key.
   *
   * @throws {IdentityError} `ERR_INVALID_ARGUMENT` when `peerPublic` is not 32
   * bytes or is a low-order point (the shared secret would be all zeros).
   */
  x25519SharedSecret (peerPublic: Uint8Array): Uint8Array {
    if (!(peerPublic instanceof Uint8Array) || peerPublic.byteLength !== 32) {
      throw new IdentityError(IdentityErrorCode.INVALID_ARGUMENT, 'X25519 public key must be 32 bytes')
    }
    try {
      return x25519SharedSecret(this.#x25519Private, peerPublic)
    } catch (cause) {
      throw new IdentityError(IdentityErrorCode.INVALID_ARGUMENT, 'X25519 public key is a low-order point', { cause })
    }
  }

  /** The public parts only, so that logging an identity never leaks its key. */
  toJSON (): {
    /** The identity's kind. */
    kind: IdentityKind
    /** Its peer id. */
    peerId: string
  } {
    return { kind: this.kind, peerId: this.peerIdString }
  }
}

/**
 * Fresh random bytes straight from WebCrypto. Deliberately not the pooled
 * `randomBytes` of `crypto/random.ts`: a long-term seed must not linger in a
 * shared buffer.
 */
export function freshRandom (length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length))
}

/** An `ERR_INVALID_ARGUMENT` error. */
export function invalid (message: string): IdentityError {
  return new IdentityError(IdentityErrorCode.INVALID_ARGUMENT, message)
}

/** `kind` if it is an {@link IdentityKind}; else throws `ERR_INVALID_ARGUMENT`. */
export function checkKind (kind: unknown): IdentityKind {
  if (!isIdentityKind(kind)) {
    throw invalid(`unknown identity kind ${describe(kind)}; expected one of ${IDENTITY_KINDS.join(', ')}`)
  }
  return kind
}

/** Builds an identity from its parts; for key stores that hold a key other than a seed. */
export function fromParts (parts: IdentityParts): Identity {
  return construct(parts)
}

/**
 * Builds an identity from a seed. `privateKey` is given when it was decoded
 * from a file; `undefined` is returned when its public half is not the seed's.
 */
export async function fromSeed (kind: IdentityKind, seed: Uint8Array, privateKey?: Ed25519PrivateKey): Promise<Identity | undefined> {
  const own = Uint8Array.from(seed)
  const signer = await createSigner(own)
  if (privateKey === undefined) {
    privateKey = privateKeyFromRaw(concat(own, signer.publicKey)) as Ed25519PrivateKey
  } else if (!equalBytes(privateKey.publicKey.raw, signer.publicKey)) {
    return undefined
  }
  const x25519Private = hkdf(sha256, own, new Uint8Array(0), X25519_INFO, 32)
  return construct({ kind, signer, privateKey, x25519Private })
}

/** Options of {@link createIdentity}. */
export interface CreateIdentityOptions {
  /** What the identity stands for. */
  kind: IdentityKind
  /** The 32-byte Ed25519 seed; random (WebCrypto) when absent. */
  seed?: Uint8Array
}

/**
 * Creates an identity in memory (nothing is written).
 *
 * @throws {IdentityError} `ERR_INVALID_ARGUMENT` for an unknown kind or a
 * seed that is not 32 bytes.
 */
export async function createIdentity (options: CreateIdentityOptions): Promise<Identity> {
  const kind = checkKind(options?.kind)
  const seed = options.seed ?? freshRandom(SEED_BYTES)
  if (!(seed instanceof Uint8Array) || seed.byteLength !== SEED_BYTES) {
    throw invalid(`seed must be ${SEED_BYTES} bytes`)
  }
  const identity = await fromSeed(kind, seed)
  if (identity === undefined) throw new Error('unreachable: a fresh key always matches its seed')
  return identity
}

