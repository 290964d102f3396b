/**
 * The browser key store of a Parley identity: one identity per IndexedDB
 * database, so a tab reloaded with the same storage keeps its identity (and
 * with it its peer id and handle).
 *
 * Where the browser has WebCrypto Ed25519, a new identity's signing key is a
 * non-extractable `CryptoKey` (`generateKey({ name: 'Ed25519' }, false, …)`),
 * kept in IndexedDB by structured clone: scripts of the page can make it sign
 * but can never read its secret, so a script injected into the page cannot
 * carry the key away. libp2p runs on it as on any key
 * ({@link NonExtractableEd25519PrivateKey}). Such an identity has no seed to
 * derive an X25519 key from, so it keeps an independent random X25519 key
 * next to it; sealed payloads need that key synchronously, so it is kept as
 * bytes (see docs/security.md, "Keys in the browser").
 *
 * Elsewhere a new identity is a random Ed25519 seed kept in IndexedDB, used
 * through `@noble/ed25519` exactly as Node uses a key file's seed (the X25519
 * key is derived from it as usual).
 *
 * Records are `{ v: 1, kind, peerId, publicKey, key }` under the key
 * {@link BROWSER_IDENTITY_KEY} of the object store
 * {@link BROWSER_IDENTITY_STORE}, where `key` is `{ type: 'webcrypto',
 * privateKey: CryptoKey, x25519: Uint8Array }` or `{ type: 'seed', seed:
 * Uint8Array }`. A record that does not hold together is an error
 * (`ERR_KEY_CORRUPT`), never a reason to mint a new identity.
 *
 * @example
 * ```ts
 * import { loadOrCreateBrowserIdentity } from 'parley-mesh/identity'
 *
 * const me = await loadOrCreateBrowserIdentity({ name: 'parley', kind: 'human' })
 * console.log(me.peerIdString) // the same after a reload
 * ```
 */
import { webCryptoSigner } from '../crypto/ed25519-native.js'
import { verifySignature } from '../crypto/signature.js'
import { equalBytes, utf8 } from '../crypto/bytes.js'
import { IdentityError, IdentityErrorCode } from '../errors.js'
import { describe } from '../util/describe.js'
import { SEED_BYTES, checkKind, freshRandom, fromParts, fromSeed, invalid } from './identity.js'
import type { Identity, IdentityKind } from './identity.js'
import { NonExtractableEd25519PrivateKey } from './webcrypto-key.js'

/** The object store holding the identity record in each database. */
export const BROWSER_IDENTITY_STORE = 'identity'
/** The key of the identity record in {@link BROWSER_IDENTITY_STORE}. */
export const BROWSER_IDENTITY_KEY = 'current'

const RECORD_VERSION = 1
const DB_VERSION = 1
const ED25519 = { name: 'Ed25519' }
/** What a loaded WebCrypto key is made to sign, to prove it is the stored public key's. */
const PROBE = utf8('parley/idb-store/probe')

/** How a new browser identity keeps its Ed25519 key. */
export type BrowserKeyKind = 'webcrypto' | 'seed'

/** Options of {@link loadOrCreateBrowserIdentity}. */
export interface LoadOrCreateBrowserIdentityOptions {
  /** The IndexedDB database holding the identity (one identity per database). */
  name: string
  /** The kind to create, and the kind a stored identity must have. */
  kind: IdentityKind
  /**
   * How a new identity keeps its key: `'webcrypto'` (non-extractable), `'seed'`
   * (a seed used through noble), or `'auto'` (default): WebCrypto where the
   * browser has Ed25519, else a seed. A stored identity loads whatever it holds.
   */
  keys?: BrowserKeyKind | 'auto'
}

interface WebCryptoKeyRecord { type: 'webcrypto', privateKey: CryptoKey, x25519: Uint8Array }
interface SeedKeyRecord { type: 'seed', seed: Uint8Array }
interface IdentityRecord {
  v: number
  kind: IdentityKind
  peerId: string
  publicKey: Uint8Array
  key: WebCryptoKeyRecord | SeedKeyRecord
}

/**
 * Loads the identity kept in the IndexedDB database `name`, or creates and
 * stores a new one when (and only when) the database holds none. Tabs racing
 * to create one end up with the same identity: a new record is added with an
 * operation that fails if one appeared meanwhile, and then that one is loaded.
 *
 * @throws {IdentityError} `ERR_INVALID_ARGUMENT` for an unknown kind, an empty
 * name, or `keys: 'webcrypto'` where the browser has no WebCrypto Ed25519;
 * `ERR_KIND_MISMATCH` when the stored identity is of another kind;
 * `ERR_KEY_CORRUPT` when the stored record does not hold together;
 * `ERR_KEY_STORE_UNAVAILABLE` when there is no IndexedDB (Node) or the browser
 * refuses to open or write it (storage disabled, quota).
 */
export async function loadOrCreateBrowserIdentity (options: LoadOrCreateBrowserIdentityOptions): Promise<Identity> {
  const kind = checkKind(options?.kind)
  const name = options.name
  if (typeof name !== 'string' || name === '') throw invalid(`the IndexedDB database name must be a non-empty string, not ${describe(name)}`)
  const keys = options.keys ?? 'auto'
  if (keys !== 'auto' && keys !== 'webcrypto' && keys !== 'seed') throw invalid(`keys must be 'auto', 'webcrypto' or 'seed', not ${describe(keys)}`)

  const db = await openDatabase(name)
  try {
    const existing = await readRecord(db)
    if (existing !== undefined) return await fromRecord(name, existing, kind)
    const created = await newRecord(kind, keys)
    if (await addRecord(db, name, created.record)) return created.identity
    // another tab stored one first: use that one
    const winner = await readRecord(db)
    if (winner === undefined) throw unavailable(name, 'the identity record vanished while it was being created')
    return await fromRecord(name, winner, kind)
  } finally {
    db.close()
  }
}

function unavailable (name: string, reason: string, cause?: unknown): IdentityError {
  return new IdentityError(IdentityErrorCode.KEY_STORE_UNAVAILABLE,
    `IndexedDB database "${name}" cannot hold the identity: ${reason}`, cause === undefined ? undefined : { cause })
}

function corrupt (name: string, reason: string): IdentityError {
  return new IdentityError(IdentityErrorCode.KEY_CORRUPT,
    `the identity in IndexedDB database "${name}" is corrupt: ${reason}. It was left as it is; delete the database to create a new identity`)
}

async function openDatabase (name: string): Promise<IDBDatabase> {
  const idb = globalThis.indexedDB
  if (idb === undefined) throw unavailable(name, 'this runtime has no IndexedDB (in Node, use loadOrCreateIdentity with a data directory)')
  return new Promise((resolve, reject) => {
    let request: IDBOpenDBRequest
    try {
      request = idb.open(name, DB_VERSION)
    } catch (cause) {
      reject(unavailable(name, 'the browser refused to open it', cause))
      return
    }
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(BROWSER_IDENTITY_STORE)) request.result.createObjectStore(BROWSER_IDENTITY_STORE)
    }
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(unavailable(name, `the browser refused to open it (${request.error?.name ?? 'unknown error'})`, request.error))
    request.onblocked = () => reject(unavailable(name, 'another tab holds an older version of it open'))
  })
}

async function readRecord (db: IDBDatabase): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(BROWSER_IDENTITY_STORE, 'readonly').objectStore(BROWSER_IDENTITY_STORE).get(BROWSER_IDENTITY_KEY)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(unavailable(db.name, `reading failed (${request.error?.name ?? 'unknown error'})`, request.error))
  })
}

/** Adds the record; `false` when one is already there. Resolves once the write is committed. */
async function addRecord (db: IDBDatabase, name: string, record: IdentityRecord): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(BROWSER_IDENTITY_STORE, 'readwrite')
    let exists = false
    const request = tx.objectStore(BROWSER_IDENTITY_STORE).add(record, BROWSER_IDENTITY_KEY)
    request.onerror = (event) => {
      if (request.error?.name === 'ConstraintError') {
        exists = true
        event.preventDefault() // not an error of the transaction: nothing else to write
      }
    }
    tx.oncomplete = () => resolve(!exists)
    tx.onabort = () => reject(unavailable(name, `writing failed (${tx.error?.name ?? request.error?.name ?? 'aborted'})`, tx.error ?? request.error))
  })
}

/** A fresh identity and the record that keeps it. */
async function newRecord (kind: IdentityKind, keys: BrowserKeyKind | 'auto'): Promise<{ identity: Identity, record: IdentityRecord }> {
  if (keys !== 'seed') {
    const pair = await generateWebCryptoPair()
    if (pair !== undefined) {
      const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', pair.publicKey))
      const x25519 = freshRandom(SEED_BYTES)
      const identity = webCryptoIdentity(kind, pair.privateKey, publicKey, x25519)
      return { identity, record: { v: RECORD_VERSION, kind, peerId: identity.peerIdString, publicKey, key: { type: 'webcrypto', privateKey: pair.privateKey, x25519 } } }
    }
    if (keys === 'webcrypto') throw invalid('this browser has no WebCrypto Ed25519: ask for keys \'seed\' or \'auto\'')
  }
  const seed = freshRandom(SEED_BYTES)
  const identity = await fromSeed(kind, seed)
  if (identity === undefined) throw new Error('unreachable: a fresh key always matches its seed')
  return { identity, record: { v: RECORD_VERSION, kind, peerId: identity.peerIdString, publicKey: identity.publicKey, key: { type: 'seed', seed } } }
}

/** A non-extractable Ed25519 key pair, or `undefined` where WebCrypto has no Ed25519. */
async function generateWebCryptoPair (): Promise<CryptoKeyPair | undefined> {
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) return undefined
  try {
    return await subtle.generateKey(ED25519, false, ['sign', 'verify']) as CryptoKeyPair
  } catch {
    // NotSupportedError (no Ed25519 in this browser's WebCrypto)
    return undefined
  }
}

function webCryptoIdentity (kind: IdentityKind, privateKey: CryptoKey, publicKey: Uint8Array, x25519Private: Uint8Array): Identity {
  const signer = webCryptoSigner(privateKey, publicKey)
  return fromParts({ kind, signer, privateKey: new NonExtractableEd25519PrivateKey(signer), x25519Private })
}

function isBytes (value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength === length
}

/** Checks a stored record and builds its identity. */
async function fromRecord (name: string, value: unknown, kind: IdentityKind): Promise<Identity> {
  if (typeof value !== 'object' || value === null) throw corrupt(name, 'the record is not an object')
  const r = value as Partial<IdentityRecord>
  if (r.v !== RECORD_VERSION) throw corrupt(name, `unsupported version v=${describe(r.v)} (this version reads v=${RECORD_VERSION})`)
  if (r.kind !== 'agent' && r.kind !== 'human') throw corrupt(name, `unknown kind ${describe(r.kind)}`)
  if (typeof r.peerId !== 'string') throw corrupt(name, '"peerId" is not a string')
  if (!isBytes(r.publicKey, 32)) throw corrupt(name, '"publicKey" is not 32 bytes')
  if (r.kind !== kind) {
    throw new IdentityError(IdentityErrorCode.KIND_MISMATCH,
      `IndexedDB database "${name}" holds a ${r.kind} identity (${r.peerId}), not a ${kind} one: ask for kind '${r.kind}', or give the ${kind} identity a database of its own`)
  }
  const key = r.key as { type?: unknown, privateKey?: unknown, x25519?: unknown, seed?: unknown } | undefined
  let identity: Identity | undefined
  if (key?.type === 'webcrypto') {
    const pk = key.privateKey
    if (!(pk instanceof CryptoKey) || pk.type !== 'private' || pk.algorithm.name !== 'Ed25519' || !pk.usages.includes('sign')) {
      throw corrupt(name, '"privateKey" is not a WebCrypto Ed25519 signing key')
    }
    if (!isBytes(key.x25519, SEED_BYTES)) throw corrupt(name, '"x25519" is not 32 bytes')
    identity = webCryptoIdentity(r.kind, pk, r.publicKey, key.x25519)
    if (!await verifySignature(r.publicKey, PROBE, await identity.sign(PROBE))) {
      throw corrupt(name, 'its private key does not sign for its public key')
    }
  } else if (key?.type === 'seed') {
    if (!isBytes(key.seed, SEED_BYTES)) throw corrupt(name, '"seed" is not 32 bytes')
    identity = await fromSeed(r.kind, key.seed)
    if (identity === undefined || !equalBytes(identity.publicKey, r.publicKey)) throw corrupt(name, '"publicKey" does not belong to its seed')
  } else {
    throw corrupt(name, `unknown key type ${describe(key?.type)}`)
  }
  if (identity.peerIdString !== r.peerId) {
    throw corrupt(name, `"peerId" ${describe(r.peerId)} does not match the key, whose peer id is ${identity.peerIdString}`)
  }
  return identity
}
