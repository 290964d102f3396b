/**
 * What the two signed store formats (event log entries, approval decisions)
 * share: the signer they need, the signing input (a context line followed by
 * the canonical JSON of the object without `sig`), SHA-256 names of byte
 * strings, and the small syntax checks of their members.
 */
import { isBase64urlOf, isPeerId, isPlainObject } from '../crypto/shape.js'
import { sha256Base64url } from '../crypto/hash.js'
import { fromBase64url, toBase64url } from '../crypto/bytes.js'
import { signingInput, verifySignature } from '../crypto/signature.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
export { describe } from '../util/describe.js'

/**
 * What the stores need of an identity to sign: its peer id and its Ed25519
 * signing function. An `Identity` is one.
 */
export interface StoreSigner {
  /** The signer's peer id. */
  readonly peerIdString: string
  /** Signs `data` with the Ed25519 key named by `peerIdString`. */
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

/** Largest integer a JSON number holds exactly (2⁵³ − 1). */
export const MAX_INTEGER = Number.MAX_SAFE_INTEGER

/** Unpadded base64url of SHA-256 of `bytes`: how the stores name a byte string. */
export { sha256Base64url }

/** The bytes an object's signature covers: `UTF-8(context ‖ JCS(object without sig))`. */
export { signingInput }

/** Signs `unsigned` under `context`; returns the signature as base64url. */
export async function signObject (context: string, signer: StoreSigner, unsigned: object): Promise<string> {
  return toBase64url(await signer.sign(signingInput(context, unsigned)))
}

/**
 * Verifies `signed.sig` under `context` with the key named by the peer id
 * `by`. False for anything that is not a valid signature.
 */
export async function verifyObject (context: string, signed: { sig: string }, by: string): Promise<boolean> {
  const key = ed25519KeyOfPeer(by)
  const sig = fromBase64url(signed.sig)
  if (key === undefined || sig === undefined) return false
  return verifySignature(key, signingInput(context, signed), sig)
}

export { isBase64urlOf, isPeerId, isPlainObject }

/** True for an integer in [0, 2⁵³ − 1]. */
export function isCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_INTEGER
}


/** The members of `value` that are not in `allowed`. */
export function unknownMembers (value: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(value).filter(k => !allowed.includes(k))
}

