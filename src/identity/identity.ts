/**
 * A Parley identity: one Ed25519 key pair, the libp2p peer id it names, the
 * X25519 key derived from it, and the key file that keeps it between runs.
 *
 * An identity is either an `'agent'` or a `'human'` ({@link IdentityKind}).
 * The Ed25519 seed (the RFC 8032 private key) is the only secret; everything
 * else is derived from it:
 *
 * - the Ed25519 public key and the libp2p peer id (`12D3KooW…`), which is
 *   what other peers call this identity;
 * - the X25519 private key, `HKDF-SHA256(ikm = seed, salt = empty,
 *   info = UTF-8 "parley/x25519/v1", L = 32)` (see {@link Identity}).
 *
 * On disk the identity lives in `<dataDir>/identity.json` ({@link IDENTITY_FILE}):
 *
 * ```json
 * {"v":1,"kind":"agent","peerId":"12D3KooW…","privateKey":"CAESQ…"}
 * ```
 *
 * followed by a newline, where `privateKey` is the standard padded base64 of
 * the libp2p protobuf encoding of the private key (`privateKeyToProtobuf`),
 * the same bytes other libp2p tools store. The file is created with mode
 * `0600` in a directory created with mode `0700`, written atomically, never
 * overwritten by {@link loadOrCreateIdentity}, and never modified when it
 * cannot be loaded: a broken or unsafe key file is an error
 * ({@link IdentityError}), never a reason to mint a new identity.
 *
 * @example
 * ```ts
 * import { loadOrCreateIdentity, createIdentity } from 'parley-mesh/identity'
 *
 * // first run creates ~/.parley/identity.json, later runs load it
 * const me = await loadOrCreateIdentity({ dataDir: '/home/me/.parley', kind: 'agent' })
 * console.log(me.peerIdString) // 12D3KooW…
 * const sig = await me.sign(new TextEncoder().encode('hello'))
 *
 * // in memory only (tests, ephemeral peers)
 * const other = await createIdentity({ kind: 'human' })
 * const k1 = me.x25519SharedSecret(other.x25519PublicKey)
 * const k2 = other.x25519SharedSecret(me.x25519PublicKey) // equal to k1
 * ```
 *
 * @packageDocumentation
 */
import { mkdir, open, rename, link, unlink, lstat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyFromProtobuf, privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PeerId, Ed25519PrivateKey } from '@libp2p/interface'
import { x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { createSigner } from '../crypto/signature.js'
import type { Ed25519Signer } from '../crypto/signature.js'
import { concat, equalBytes, fromUtf8, toHex, utf8 } from '../crypto/bytes.js'
import { IdentityError, IdentityErrorCode } from '../errors.js'
import { describe } from '../util/describe.js'

/** What an identity stands for: an autonomous agent or a human. */
export type IdentityKind = 'agent' | 'human'

/** Every {@link IdentityKind}, in a fixed order. */
export const IDENTITY_KINDS: readonly IdentityKind[] = Object.freeze(['agent', 'human'] as const)

/** Name of the key file inside a data directory. */
export const IDENTITY_FILE = 'identity.json'

/** Version of the key file format written and accepted by this module. */
const FILE_VERSION = 1
/** The fields of a key file, exactly. */
const FILE_FIELDS = ['v', 'kind', 'peerId', 'privateKey'] as const
/** A key file is about 150 bytes; anything much larger is not one. */
const MAX_FILE_BYTES = 16 * 1024
/** HKDF `info` of the X25519 key derivation (part of the protocol). */
const X25519_INFO = utf8('parley/x25519/v1')
const SEED_BYTES = 32
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** True when `value` is one of {@link IDENTITY_KINDS}. */
export function isIdentityKind (value: unknown): value is IdentityKind {
  return typeof value === 'string' && (IDENTITY_KINDS as readonly string[]).includes(value)
}

/** The parts an {@link Identity} is built from; internal. */
interface IdentityParts {
  kind: IdentityKind
  seed: Uint8Array
  signer: Ed25519Signer
  privateKey: Ed25519PrivateKey
}

let construct: (parts: IdentityParts) => Identity

/**
 * A loaded or created identity. Obtain one from {@link createIdentity},
 * {@link loadIdentity} or {@link loadOrCreateIdentity}; the constructor is
 * private.
 *
 * X25519 key derivation (normative: every implementation must derive the same
 * key from the same seed):
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
 * so the signing key is never used for anything but signatures.
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
  /** The 32-byte X25519 public key derived from the seed (see the class doc). */
  readonly x25519PublicKey: Uint8Array

  readonly #seed: Uint8Array
  readonly #signer: Ed25519Signer
  readonly #x25519Private: Uint8Array

  private constructor (parts: IdentityParts) {
    this.kind = parts.kind
    this.#seed = parts.seed
    this.#signer = parts.signer
    this.privateKey = parts.privateKey
    this.publicKey = parts.privateKey.publicKey.raw
    this.peerId = peerIdFromPrivateKey(parts.privateKey)
    this.peerIdString = this.peerId.toString()
    this.#x25519Private = hkdf(sha256, this.#seed, new Uint8Array(0), X25519_INFO, 32)
    this.x25519PublicKey = x25519.getPublicKey(this.#x25519Private)
  }

  /** Signs `data` with the Ed25519 key (deterministic, RFC 8032). */
  sign (data: Uint8Array): Uint8Array | Promise<Uint8Array> {
    // synchronous on Node's native backend: envelopes sign without a promise hop
    return this.#signer.sign(data)
  }

  /**
   * X25519 Diffie-Hellman (RFC 7748) of this identity's derived X25519 key
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
      return x25519.getSharedSecret(this.#x25519Private, peerPublic)
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
function freshRandom (length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length))
}

function invalid (message: string): IdentityError {
  return new IdentityError(IdentityErrorCode.INVALID_ARGUMENT, message)
}

function checkKind (kind: unknown): IdentityKind {
  if (!isIdentityKind(kind)) {
    throw invalid(`unknown identity kind ${describe(kind)}; expected one of ${IDENTITY_KINDS.join(', ')}`)
  }
  return kind
}


/**
 * Builds an identity from a seed. `privateKey` is given when it was decoded
 * from a file; `undefined` is returned when its public half is not the seed's.
 */
async function fromSeed (kind: IdentityKind, seed: Uint8Array, privateKey?: Ed25519PrivateKey): Promise<Identity | undefined> {
  const own = Uint8Array.from(seed)
  const signer = await createSigner(own)
  if (privateKey === undefined) {
    privateKey = privateKeyFromRaw(concat(own, signer.publicKey)) as Ed25519PrivateKey
  } else if (!equalBytes(privateKey.publicKey.raw, signer.publicKey)) {
    return undefined
  }
  return construct({ kind, seed: own, signer, privateKey })
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

/** The key file text of an identity. */
function serialize (identity: Identity): string {
  const pb = privateKeyToProtobuf(identity.privateKey)
  const file = {
    v: FILE_VERSION,
    kind: identity.kind,
    peerId: identity.peerIdString,
    privateKey: Buffer.from(pb.buffer, pb.byteOffset, pb.byteLength).toString('base64')
  }
  return JSON.stringify(file) + '\n'
}

function errorCode (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** fsyncs a directory so a rename or link in it is durable; best effort (not possible on Windows). */
async function syncDirectory (dir: string): Promise<void> {
  if (process.platform === 'win32') return
  let fh: FileHandle | undefined
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch {
    // some file systems refuse to open or fsync directories: durability is best effort there
  } finally {
    await fh?.close()
  }
}

/**
 * Writes the key file atomically: a temporary file created exclusively with
 * mode 0600, fsynced, then moved into place. Without `overwrite` the final
 * step is a hard link, which fails if the file exists, so two writers racing
 * cannot replace each other's key. Returns `false` (and writes nothing) when
 * the file exists and `overwrite` is not set.
 */
async function writeKeyFile (dataDir: string, identity: Identity, overwrite: boolean): Promise<boolean> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, IDENTITY_FILE)
  const tmp = `${path}.tmp-${toHex(freshRandom(8))}`
  let placed = false
  try {
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(serialize(identity), 'utf8')
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (overwrite) {
      await rename(tmp, path)
      placed = true
    } else {
      try {
        await link(tmp, path)
      } catch (err) {
        if (errorCode(err) === 'EEXIST') return false
        // hard links unsupported here (some network or FAT file systems): check, then rename
        if (await exists(path)) return false
        await rename(tmp, path)
        placed = true
      }
    }
    await syncDirectory(dataDir)
    return true
  } finally {
    if (!placed) await unlink(tmp).catch(() => {})
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false
    throw err
  }
}

/** Options of {@link saveIdentity}. */
export interface SaveIdentityOptions {
  /** Replace an existing key file (the identity it held is lost). Default `false`. */
  overwrite?: boolean
}

/**
 * Writes `identity` to `<dataDir>/identity.json`, creating `dataDir` (mode
 * 0700) if needed. The file gets mode 0600 and is written atomically: readers
 * see the old file or the whole new one, never a part.
 *
 * @throws {IdentityError} `ERR_INVALID_ARGUMENT` when the file already exists
 * and `overwrite` is not set. File system errors propagate as they are.
 */
export async function saveIdentity (dataDir: string, identity: Identity, options: SaveIdentityOptions = {}): Promise<void> {
  if (!(identity instanceof Identity)) throw invalid('not an Identity')
  const written = await writeKeyFile(dataDir, identity, options.overwrite === true)
  if (!written) {
    throw invalid(`identity file ${join(dataDir, IDENTITY_FILE)} already exists; refusing to overwrite it (pass { overwrite: true } to replace it)`)
  }
}

function corrupt (path: string, reason: string, cause?: unknown): IdentityError {
  return new IdentityError(
    IdentityErrorCode.KEY_CORRUPT,
    `identity file ${path} is corrupt: ${reason}. The file was left as it is; restore it from a backup, or move it away to create a new identity`,
    cause === undefined ? undefined : { cause })
}

function decodeBase64 (text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined
  const buf = Buffer.from(text, 'base64')
  // only the canonical spelling (no stray bits in the padding)
  if (buf.toString('base64') !== text) return undefined
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/**
 * Reads the key file; `undefined` when it does not exist. Opens the file once
 * and checks the mode of what was opened, so it cannot be swapped in between.
 */
async function readKeyFile (path: string): Promise<Uint8Array | undefined> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined
    throw err
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw corrupt(path, 'it is not a regular file')
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0')
      throw new IdentityError(
        IdentityErrorCode.KEY_PERMISSIONS,
        `identity file ${path} has mode ${mode}: a private key must not be accessible by group or others. Fix it with: chmod 600 ${path}`)
    }
    if (st.size > MAX_FILE_BYTES) throw corrupt(path, `it is ${st.size} bytes, far larger than a key file`)
    const data = await fh.readFile()
    if (data.byteLength > MAX_FILE_BYTES) throw corrupt(path, 'it is far larger than a key file')
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  } finally {
    await fh.close()
  }
}

/** Parses and cross-checks the key file's bytes; every problem is `ERR_KEY_CORRUPT`. */
async function parseKeyFile (path: string, bytes: Uint8Array): Promise<Identity> {
  let text: string
  try {
    text = fromUtf8(bytes)
  } catch (cause) {
    throw corrupt(path, 'it is not UTF-8 text', cause)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw corrupt(path, text.trim() === '' ? 'it is empty' : 'it is not valid JSON', cause)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(path, 'it is not a JSON object')
  const obj = json as Record<string, unknown>
  for (const field of Object.keys(obj)) {
    if (!(FILE_FIELDS as readonly string[]).includes(field)) throw corrupt(path, `unknown field ${describe(field)}`)
  }
  for (const field of FILE_FIELDS) {
    if (!Object.hasOwn(obj, field)) throw corrupt(path, `missing field "${field}"`)
  }
  if (obj.v !== FILE_VERSION) throw corrupt(path, `unsupported version v=${describe(obj.v)} (this version reads v=${FILE_VERSION})`)
  if (!isIdentityKind(obj.kind)) throw corrupt(path, `unknown kind ${describe(obj.kind)}`)
  if (typeof obj.peerId !== 'string') throw corrupt(path, '"peerId" is not a string')
  if (typeof obj.privateKey !== 'string') throw corrupt(path, '"privateKey" is not a string')

  const pb = decodeBase64(obj.privateKey)
  if (pb === undefined) throw corrupt(path, '"privateKey" is not standard padded base64')
  let key: ReturnType<typeof privateKeyFromProtobuf>
  try {
    key = privateKeyFromProtobuf(pb)
  } catch (cause) {
    throw corrupt(path, '"privateKey" is not a valid libp2p protobuf private key', cause)
  }
  if (key.type !== 'Ed25519') throw corrupt(path, `"privateKey" is a key of type ${key.type}, not Ed25519`)
  if (!equalBytes(privateKeyToProtobuf(key), pb)) {
    throw corrupt(path, '"privateKey" is not the canonical protobuf encoding of an Ed25519 key (seed and public key, 64 bytes)')
  }
  const seed = key.raw.subarray(0, SEED_BYTES)
  const identity = await fromSeed(obj.kind, seed, key)
  if (identity === undefined) throw corrupt(path, '"privateKey" holds a public key that does not belong to its seed')
  if (identity.peerIdString !== obj.peerId) {
    throw corrupt(path, `"peerId" ${describe(obj.peerId)} does not match the private key, whose peer id is ${identity.peerIdString}`)
  }
  return identity
}

/** Options of {@link loadIdentity}. */
export interface LoadIdentityOptions {
  /** The kind the caller expects; a different stored kind is an error. */
  kind?: IdentityKind
}

/**
 * Loads `<dataDir>/identity.json`. The file is only read, never modified.
 *
 * @throws {IdentityError} `ERR_KEY_PERMISSIONS` when the file is accessible
 * by group or others (not checked on Windows); `ERR_KEY_CORRUPT` when it is
 * not a valid key file (bad JSON, wrong version, missing or unknown fields,
 * not an Ed25519 libp2p key, a `peerId` that is not the key's, unknown kind);
 * `ERR_KIND_MISMATCH` when `kind` is given and differs from the stored kind;
 * `ERR_INVALID_ARGUMENT` when `kind` is not an {@link IdentityKind}.
 * A missing file rejects with Node's own `ENOENT` error; other file system
 * errors also propagate as they are.
 */
export async function loadIdentity (dataDir: string, options: LoadIdentityOptions = {}): Promise<Identity> {
  const identity = await tryLoad(dataDir, options.kind)
  if (identity === undefined) {
    const path = join(dataDir, IDENTITY_FILE)
    throw Object.assign(new Error(`ENOENT: no identity file at ${path}`), { code: 'ENOENT', path })
  }
  return identity
}

/** {@link loadIdentity}, but `undefined` when the file does not exist. */
async function tryLoad (dataDir: string, kind: IdentityKind | undefined): Promise<Identity | undefined> {
  if (kind !== undefined) checkKind(kind)
  const path = join(dataDir, IDENTITY_FILE)
  const bytes = await readKeyFile(path)
  if (bytes === undefined) return undefined
  const identity = await parseKeyFile(path, bytes)
  if (kind !== undefined && identity.kind !== kind) {
    throw new IdentityError(IdentityErrorCode.KIND_MISMATCH,
      `identity file ${path} holds a ${identity.kind} identity (${identity.peerIdString}), not a ${kind} one: ask for kind '${identity.kind}', or give the ${kind} identity a data directory of its own`)
  }
  return identity
}

/** Options of {@link loadOrCreateIdentity}. */
export interface LoadOrCreateIdentityOptions {
  /** Directory holding `identity.json`; created (mode 0700) when missing. */
  dataDir: string
  /** The kind to create, and the kind an existing file must hold. */
  kind: IdentityKind
}

/**
 * Loads the identity of `dataDir`, or creates and saves a new one when (and
 * only when) there is no key file. Any other problem with an existing file
 * rejects exactly as {@link loadIdentity} does: a broken key file never
 * silently becomes a new identity.
 *
 * Safe against concurrent callers, in this process or others: the new file is
 * put in place with an operation that fails if the file appeared meanwhile,
 * and then the identity already there is loaded, so all callers end up with
 * the same identity.
 *
 * @throws {IdentityError} as {@link loadIdentity}, and `ERR_INVALID_ARGUMENT`
 * for an unknown kind.
 */
export async function loadOrCreateIdentity (options: LoadOrCreateIdentityOptions): Promise<Identity> {
  const kind = checkKind(options?.kind)
  const { dataDir } = options
  const existing = await tryLoad(dataDir, kind)
  if (existing !== undefined) return existing
  const identity = await createIdentity({ kind })
  if (await writeKeyFile(dataDir, identity, false)) return identity
  // another process created it first: use that one
  return loadIdentity(dataDir, { kind })
}
