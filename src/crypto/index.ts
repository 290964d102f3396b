/**
 * Parley's cryptographic building blocks: RFC 8785 canonical JSON and
 * Ed25519 under the Parley signature rule (`protocols/signatures`).
 *
 * @packageDocumentation
 */
import '../util/runtime.js' // first: a clear error on Node.js older than 22
export { canonicalize, CanonicalJsonError, MAX_DEPTH } from './canonical-json.js'
export type { JsonValue, JsonObject } from './canonical-json.js'
export { createSigner, verifySignature, getBackend, setBackend, candidateBackends, conforms, acceptablePublicKey } from './signature.js'
export type { Ed25519Backend, Ed25519Signer } from './signature.js'
export { EQUATION_CASES } from './self-check.js'
export type { EquationCase } from './self-check.js'
export { ed25519KeyOfPeer } from './peer-key.js'
export { toBase64url, fromBase64url } from './bytes.js'
