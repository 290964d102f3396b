/**
 * The Node key store of a Parley identity: `<dataDir>/identity.json`
 * ({@link IDENTITY_FILE}):
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
 * Node only (`node:fs`); browsers keep their identity in IndexedDB
 * (`idb-store.ts`).
 *
 * @example
 * ```ts
 * import { loadOrCreateIdentity } from 'parley-mesh/identity'
 *
 * // first run creates ~/.parley/identity.json, later runs load it
 * const me = await loadOrCreateIdentity({ dataDir: '/home/me/.parley', kind: 'agent' })
 * ```
 */
import { mkdir, open, rename, link, unlink, lstat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { equalBytes, fromUtf8, toHex } from '../crypto/bytes.js'
import { IdentityError, IdentityErrorCode } from '../errors.js'
import { describe } from '../util/describe.js'
import { Identity, SEED_BYTES, checkKind, createIdentity, freshRandom, fromSeed, invalid, isIdentityKind } from './identity.js'
import type { IdentityKind } from './identity.js'

/** Name of the key file inside a data directory. */
export const IDENTITY_FILE = 'identity.json'

/** Version of the key file format written and accepted by this module. */
const FILE_VERSION = 1
/** The fields of a key file, exactly. */
const FILE_FIELDS = ['v', 'kind', 'peerId', 'privateKey'] as const
/** A key file is about 150 bytes; anything much larger is not one. */
const MAX_FILE_BYTES = 16 * 1024
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

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
 * and `overwrite` is not set; `ERR_KEY_NOT_EXTRACTABLE` for an identity whose
 * key cannot be read (a browser's WebCrypto key). File system errors
 * propagate as they are.
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
