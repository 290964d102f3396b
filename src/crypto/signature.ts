/**
 * Sign and verify under the Parley signature rule (`protocols/signatures`),
 * on the fastest backend that conforms to it.
 *
 * @example
 * ```ts
 * import { createSigner, verifySignature } from 'parley-mesh/crypto'
 *
 * const seed = crypto.getRandomValues(new Uint8Array(32))
 * const bytes = new TextEncoder().encode('hello')
 * const signer = await createSigner(seed)
 * const sig = await signer.sign(bytes)
 * await verifySignature(signer.publicKey, bytes, sig) // true
 * ```
 */
import { nobleBackend, isAcceptablePublicKey, hasAcceptableShape } from './ed25519.js'
import type { Ed25519Backend, Ed25519Signer } from './ed25519.js'
import { nodeBackend, webCryptoBackend, keyId } from './ed25519-native.js'
import { fromHex, utf8 } from './bytes.js'
import { canonicalize } from './canonical-json.js'
import { BoundedCache } from '../util/bounded-cache.js'
import { EQUATION_CASES } from './self-check.js'
import type { EquationCase } from './self-check.js'

export type { Ed25519Backend, Ed25519Signer, EquationCase }

/** Every backend available in this runtime, fastest first (not yet checked for conformance). */
export function candidateBackends (): Ed25519Backend[] {
  return [nodeBackend(), webCryptoBackend(), nobleBackend].filter((b): b is Ed25519Backend => b !== undefined)
}

/**
 * True when `backend` computes exactly the rule's equation (rule 5) on every
 * case in `cases`: by default the rule's vectors that pass rules 1-4
 * ({@link EQUATION_CASES}); cases failing those never reach a backend.
 */
export async function conforms (backend: Ed25519Backend, cases: readonly EquationCase[] = EQUATION_CASES): Promise<boolean> {
  for (const v of cases) {
    const publicKey = fromHex(v.publicKey)
    const signature = fromHex(v.signature)
    if (!isAcceptablePublicKey(publicKey) || !hasAcceptableShape(signature)) continue
    if (await backend.equation(publicKey, fromHex(v.message), signature) !== v.valid) return false
  }
  return true
}

let selected: Promise<Ed25519Backend> | undefined

/** The backend in use: the first candidate that {@link conforms}; `noble` always does. */
export async function getBackend (): Promise<Ed25519Backend> {
  selected ??= (async () => {
    for (const backend of candidateBackends()) {
      if (await conforms(backend)) return backend
    }
    return nobleBackend
  })()
  return selected
}

/** Forces a backend (tests and benchmarks compare them). Pass `undefined` to select again. */
export function setBackend (backend: Ed25519Backend | undefined): void {
  selected = backend === undefined ? undefined : Promise.resolve(backend)
}

/** Creates a signer for a 32-byte Ed25519 seed on the selected backend. */
export async function createSigner (seed: Uint8Array): Promise<Ed25519Signer> {
  return (await getBackend()).signer(seed)
}

/** What is known about a public key: rules 1-2, and the backend's imported form. */
interface KeyEntry {
  acceptable: boolean
  backend: Ed25519Backend
  prepared: unknown
}

const keys = new BoundedCache<string, KeyEntry>(8192)

function keyEntry (publicKey: Uint8Array, backend: Ed25519Backend): KeyEntry {
  const id = keyId(publicKey)
  let entry = keys.get(id)
  if (entry === undefined || entry.backend !== backend) {
    const acceptable = entry?.acceptable ?? isAcceptablePublicKey(publicKey)
    entry = { acceptable, backend, prepared: acceptable ? backend.prepare?.(publicKey) : undefined }
    keys.set(id, entry)
  }
  return entry
}

/** Rules 1-2 for a public key (canonical, on the curve, not of small order), cached per key. */
export function acceptablePublicKey (publicKey: Uint8Array): boolean {
  return publicKey.byteLength === 32 && isAcceptablePublicKey(publicKey)
}

/**
 * Verifies an Ed25519 signature under the Parley rule. Never throws for bad
 * input: anything that is not a valid signature is `false`. Keys are decoded
 * and imported once and cached.
 */
export async function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, backend?: Ed25519Backend): Promise<boolean> {
  if (publicKey.byteLength !== 32 || !hasAcceptableShape(signature)) return false
  const b = backend ?? await getBackend()
  const entry = keyEntry(publicKey, b)
  if (!entry.acceptable) return false
  return b.equation(publicKey, message, signature, entry.prepared)
}

/**
 * What the signature of a signed JSON object covers (transitions, approval
 * decisions, event-log entries): `UTF-8(context ‖ JCS(the object without
 * its "sig" member))`.
 */
export function signingInput (context: string, value: object): Uint8Array {
  const unsigned: Record<string, unknown> = { ...value }
  delete unsigned.sig
  return utf8(context + canonicalize(unsigned))
}
