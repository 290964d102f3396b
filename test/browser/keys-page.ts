/**
 * The page of `keys.spec.ts`, bundled for the browser: it puts the library's
 * own crypto and identity code on `window.parleyKeys` for the spec to call.
 * Imports only the browser entry points (what a browser app imports).
 */
import { candidateBackends, conforms, getBackend, verifySignature } from '../../src/crypto/index.js'
import { loadOrCreateBrowserIdentity, BROWSER_IDENTITY_STORE, BROWSER_IDENTITY_KEY } from '../../src/identity/browser.js'
import type { BrowserKeyKind, Identity, IdentityKind } from '../../src/identity/browser.js'
import { fromHex, toHex } from '../../src/crypto/bytes.js'
import { createLibp2p } from 'libp2p'

/** A vector of `protocols/signatures/*.json`, as the spec passes it in. */
export interface SignatureCase { name: string, publicKey: string, message: string, signature: string, valid: boolean }

const identities = new Map<string, Identity>()

function identityOf (name: string): Identity {
  const id = identities.get(name)
  if (id === undefined) throw new Error(`no identity loaded from ${name}`)
  return id
}

function errorOf (err: unknown): { name: string, code: unknown, message: string } {
  const e = err as Error & { code?: unknown }
  return { name: e.name, code: e.code, message: e.message }
}

async function readRecord (name: string): Promise<Record<string, unknown> | undefined> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(name)
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
  try {
    return await new Promise((resolve, reject) => {
      const r = db.transaction(BROWSER_IDENTITY_STORE, 'readonly').objectStore(BROWSER_IDENTITY_STORE).get(BROWSER_IDENTITY_KEY)
      r.onsuccess = () => resolve(r.result as Record<string, unknown> | undefined)
      r.onerror = () => reject(r.error)
    })
  } finally {
    db.close()
  }
}

const api = {
  /** The backend the library selected here, and every candidate. */
  async backends (): Promise<{ selected: string, candidates: string[] }> {
    return { selected: (await getBackend()).name, candidates: candidateBackends().map(b => b.name) }
  },

  /** Each case through `verifySignature` on the named backend, and `conforms` over all of them. */
  async vectors (backendName: string, cases: SignatureCase[]): Promise<{ verdicts: Record<string, boolean>, conforms: boolean }> {
    const backend = candidateBackends().find(b => b.name === backendName)
    if (backend === undefined) throw new Error(`no ${backendName} backend in this browser`)
    const verdicts: Record<string, boolean> = {}
    for (const c of cases) {
      verdicts[c.name] = await verifySignature(fromHex(c.publicKey), fromHex(c.message), fromHex(c.signature), backend)
    }
    return { verdicts, conforms: await conforms(backend, cases) }
  },

  /** Loads or creates the identity of database `name`. */
  async identity (name: string, kind: IdentityKind, keys?: BrowserKeyKind): Promise<{ peerId: string, publicKey: string, x25519: string }> {
    const id = await loadOrCreateBrowserIdentity(keys === undefined ? { name, kind } : { name, kind, keys })
    identities.set(name, id)
    return { peerId: id.peerIdString, publicKey: toHex(id.publicKey), x25519: toHex(id.x25519PublicKey) }
  },

  /** What loading database `name` as `kind` rejects with, or `undefined`. */
  async loadError (name: string, kind: IdentityKind): Promise<ReturnType<typeof errorOf> | undefined> {
    try {
      await loadOrCreateBrowserIdentity({ name, kind })
      return undefined
    } catch (err) {
      return errorOf(err)
    }
  },

  /** Signs with the identity, and with its libp2p private key. */
  async sign (name: string, messageHex: string): Promise<{ sig: string, libp2pSig: string }> {
    const id = identityOf(name)
    const message = fromHex(messageHex)
    return { sig: toHex(await id.sign(message)), libp2pSig: toHex(await id.privateKey.sign(message)) }
  },

  /** X25519 of the identity with a peer's public key. */
  shared (name: string, peerHex: string): string {
    return toHex(identityOf(name).x25519SharedSecret(fromHex(peerHex)))
  },

  /** Reading the libp2p private key's `raw`: its error, or `'readable'`. */
  raw (name: string): ReturnType<typeof errorOf> | 'readable' {
    try {
      void identityOf(name).privateKey.raw
      return 'readable'
    } catch (err) {
      return errorOf(err)
    }
  },

  /** What the stored record holds: the key type, and for a CryptoKey whether each export format rejects. */
  async stored (name: string): Promise<{ type: unknown, extractable?: boolean, exports?: Record<string, string> }> {
    const record = await readRecord(name)
    const key = record?.key as { type?: unknown, privateKey?: CryptoKey } | undefined
    if (!(key?.privateKey instanceof CryptoKey)) return { type: key?.type }
    const exports: Record<string, string> = {}
    for (const format of ['pkcs8', 'jwk', 'raw'] as const) {
      try {
        await crypto.subtle.exportKey(format, key.privateKey)
        exports[format] = 'exported'
      } catch (err) {
        exports[format] = (err as Error).name
      }
    }
    return { type: key.type, extractable: key.privateKey.extractable, exports }
  },

  /** A libp2p node made with the identity's private key: its peer id. */
  async libp2pPeerId (name: string): Promise<string> {
    const node = await createLibp2p({ privateKey: identityOf(name).privateKey })
    await node.start()
    const peerId = node.peerId.toString()
    await node.stop()
    return peerId
  }
}

/** What the spec calls through `page.evaluate`. */
export type KeysPage = typeof api

;(globalThis as unknown as { parleyKeys: KeysPage }).parleyKeys = api
