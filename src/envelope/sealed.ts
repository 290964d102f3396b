/**
 * Sealed bodies: a JSON-RPC body encrypted to the recipient's X25519 key, so
 * that relays and mailboxes carry it without reading it.
 *
 * Suite `X25519-HKDF-SHA256-ChaCha20Poly1305`: a fresh ephemeral X25519 key
 * per envelope; `key = HKDF-SHA256(ikm = X25519(eph, recipient), salt =
 * epk ‖ recipientPublic, info = "parley/sealed/v1", 32 bytes)`; nonce = 12
 * zero bytes (the key is never reused); AAD = UTF-8 of `from.peer "\n" id`,
 * which binds the ciphertext to its signed envelope so it cannot be re-wrapped
 * under another sender or id. The plaintext is the canonical JSON of the body,
 * padded with spaces (0x20, which JSON ignores) to the next size bucket
 * ({@link sealedPlaintextLength}), so a relay learns a size class, not a size.
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { signSealedEnvelope, verifyEnvelope, openSealed } from 'parley-mesh/envelope'
 *
 * const alice = await createIdentity({ kind: 'agent' })
 * const bob = await createIdentity({ kind: 'agent' })
 * const { bytes } = await signSealedEnvelope(alice, {
 *   to: { peer: bob.peerIdString },
 *   body: { jsonrpc: '2.0', method: 'message', params: { text: 'for bob only' } },
 *   recipientKey: bob.x25519PublicKey // in practice: from bob's handle record
 * })
 * const decoded = await verifyEnvelope(bytes, { self: { peer: bob.peerIdString } })
 * const body = openSealed(decoded.envelope, bob) // the JSON-RPC message
 * ```
 */
import { x25519PublicKey, x25519Secret, x25519SharedSecret } from '../crypto/x25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { EnvelopeError, EnvelopeErrorCode as Code } from '../errors.js'
import { canonicalize } from '../crypto/canonical-json.js'
import { concat, fromBase64url, fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { randomToken, signEnvelope } from './envelope.js'
import type { Envelope, EnvelopeDraft, EnvelopeSigner, SealedPayload, SignedEnvelope } from './envelope.js'
import { validateJsonRpc } from './jsonrpc.js'
import type { JsonRpcMessage } from './jsonrpc.js'
import { SEALED_ALG, SEALED_INFO } from './constants.js'

/** What opening needs of the recipient's identity. */
export interface SealRecipient {
  /** The recipient's X25519 public key (32 bytes). */
  readonly x25519PublicKey: Uint8Array
  /** X25519 of the recipient's private key with `peerPublic` (32 bytes). */
  x25519SharedSecret: (peerPublic: Uint8Array) => Uint8Array
}

const NONCE = new Uint8Array(12)
const SPACE = 0x20

/**
 * The padded length of a sealed plaintext of `length` bytes (protocols/envelope
 * §5): the smallest power of two from 256 to 64 KiB that holds it, above that
 * the next multiple of 64 KiB.
 */
export function sealedPlaintextLength (length: number): number {
  if (length > 65_536) return Math.ceil(length / 65_536) * 65_536
  let bucket = 256
  while (bucket < length) bucket *= 2
  return bucket
}

function padded (json: string): Uint8Array {
  const bytes = utf8(json)
  const out = new Uint8Array(sealedPlaintextLength(bytes.byteLength)).fill(SPACE)
  out.set(bytes)
  return out
}

function sealKey (shared: Uint8Array, epk: Uint8Array, recipient: Uint8Array): Uint8Array {
  if (shared.every(b => b === 0)) throw new EnvelopeError(Code.UNSEALABLE, 'X25519 produced the all-zero secret (low-order key)')
  return hkdf(sha256, shared, concat(epk, recipient), utf8(SEALED_INFO), 32)
}

function aad (fromPeer: string, id: string): Uint8Array {
  return utf8(fromPeer + '\n' + id)
}

/**
 * Encrypts `body` to `recipientKey` for an envelope from `fromPeer` with id
 * `id`, padded to its size bucket (`pad: false` for none, as version 1
 * senders before padding did; openers take both). `ephemeralSecret` exists
 * for test vectors only: never pass one otherwise.
 */
export function sealBody (body: JsonRpcMessage, recipientKey: Uint8Array, fromPeer: string, id: string, ephemeralSecret?: Uint8Array, options: { pad?: boolean } = {}): SealedPayload {
  validateJsonRpc(body)
  const eph = ephemeralSecret ?? x25519Secret()
  const epk = x25519PublicKey(eph)
  let shared: Uint8Array
  try {
    shared = x25519SharedSecret(eph, recipientKey)
  } catch {
    throw new EnvelopeError(Code.UNSEALABLE, 'the recipient key is not a usable X25519 public key (low order or malformed)')
  }
  const key = sealKey(shared, epk, recipientKey)
  const ct = chacha20poly1305(key, NONCE, aad(fromPeer, id)).encrypt(options.pad === false ? utf8(canonicalize(body)) : padded(canonicalize(body)))
  return { alg: SEALED_ALG, epk: toBase64url(epk), ct: toBase64url(ct) }
}

/** Signs an envelope whose body is sealed to `recipientKey` (the recipient's X25519 public key). */
export async function signSealedEnvelope (signer: EnvelopeSigner, draft: Omit<EnvelopeDraft, 'sealed'> & { body: JsonRpcMessage, recipientKey: Uint8Array }): Promise<SignedEnvelope> {
  const { body, recipientKey, ...rest } = draft
  const id = rest.id ?? randomToken()
  return signEnvelope(signer, { ...rest, id, sealed: sealBody(body, recipientKey, signer.peerIdString, id) })
}

/**
 * Decrypts a verified envelope's sealed body. Throws `ERR_UNSEALABLE` when
 * it was not sealed to this recipient or was altered, and
 * `ERR_MALFORMED_JSONRPC` when what it holds is not JSON-RPC.
 */
export function openSealed (envelope: Envelope, recipient: SealRecipient): JsonRpcMessage {
  const sealed = envelope.sealed
  if (sealed === undefined) throw new EnvelopeError(Code.UNSEALABLE, 'envelope is not sealed')
  const epk = fromBase64url(sealed.epk)
  const ct = fromBase64url(sealed.ct)
  if (epk === undefined || ct === undefined) throw new EnvelopeError(Code.UNSEALABLE, 'sealed fields are not base64url')
  let plaintext: Uint8Array
  try {
    const key = sealKey(recipient.x25519SharedSecret(epk), epk, recipient.x25519PublicKey)
    plaintext = chacha20poly1305(key, NONCE, aad(envelope.from.peer, envelope.id)).decrypt(ct)
  } catch (err) {
    if (err instanceof EnvelopeError) throw err
    throw new EnvelopeError(Code.UNSEALABLE, 'sealed body does not open with this key (wrong recipient or altered ciphertext)')
  }
  let body: unknown
  try {
    body = JSON.parse(fromUtf8(plaintext))
  } catch {
    throw new EnvelopeError(Code.MALFORMED_JSON, 'sealed body is not UTF-8 JSON')
  }
  return validateJsonRpc(body)
}
