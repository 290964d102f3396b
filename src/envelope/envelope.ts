/**
 * Signed JSON-RPC 2.0 envelopes (`protocols/envelope`).
 *
 * An envelope is a JSON object whose wire form is its own RFC 8785 canonical
 * JSON, so every envelope has exactly one byte encoding: no duplicate keys,
 * no whitespace games, and `sha256(bytes)` names it. The signature is
 * Ed25519 (the Parley rule) by the key inside `from.peer` over
 * `"parley/envelope/v1\n" ‖ canonical JSON of the envelope without "sig"`.
 *
 * Verification refuses, each with its own {@link EnvelopeErrorCode}: frames
 * over the size limit, bytes that are not UTF-8 JSON, JSON that is not in
 * canonical form, unknown versions, malformed envelopes and JSON-RPC bodies,
 * a signer other than the authenticated peer, a recipient other than us,
 * timestamps outside the window, bad signatures, and replays.
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { signEnvelope, verifyEnvelope, ReplayGuard } from 'parley-mesh/envelope'
 *
 * const alice = await createIdentity({ kind: 'agent' })
 * const replayGuard = new ReplayGuard()
 * const { bytes } = await signEnvelope(alice, {
 *   to: { handle: 'bob' },
 *   body: { jsonrpc: '2.0', id: 1, method: 'ping' }
 * })
 * const { envelope } = await verifyEnvelope(bytes, { expectedSigner: alice.peerIdString, replayGuard })
 * ```
 */
import { isJsonObject, isPeerId } from '../crypto/shape.js'
import { EnvelopeError, EnvelopeErrorCode as Code } from '../errors.js'
import { canonicalize, CanonicalJsonError } from '../crypto/canonical-json.js'
import { fromBase64url, toBase64url, utf8 } from '../crypto/bytes.js'
import { randomToken } from '../crypto/random.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
import { verifySignature } from '../crypto/signature.js'
import { validateJsonRpc } from './jsonrpc.js'
import type { JsonRpcMessage } from './jsonrpc.js'
import type { ReplayCheck } from './replay-guard.js'
import {
  DEFAULT_MAX_AGE_MS, DEFAULT_MAX_BYTES, DEFAULT_MAX_SKEW_MS, ENVELOPE_VERSION,
  ID_PATTERN, SEALED_ALG, SIGNING_CONTEXT
} from './constants.js'
import { HANDLE_PATTERN } from '../handles/record.js'

/** The sender: its peer id (which names its key) and, when it has one, its handle. */
export interface Sender {
  /** The signer's peer id (`12D3KooW…`), which names its Ed25519 key. */
  peer: string
  /** The sender's handle, without `@`. */
  handle?: string
}

/** The intended recipient: a peer id, a handle, or both. */
export interface Recipient {
  /** The recipient's peer id. */
  peer?: string
  /** The recipient's handle, without `@`. */
  handle?: string
}

/** A body encrypted to the recipient's X25519 key (see `sealed.ts`). */
export interface SealedPayload {
  /** The sealing suite, {@link SEALED_ALG}. */
  alg: typeof SEALED_ALG
  /** The sender's ephemeral X25519 public key, base64url of 32 bytes. */
  epk: string
  /** The ChaCha20-Poly1305 ciphertext of the body's canonical JSON, tag included, base64url. */
  ct: string
}

/** A signed envelope as it travels. Exactly one of `body` and `sealed` is present. */
export interface Envelope {
  /** The envelope version, {@link ENVELOPE_VERSION}. */
  v: typeof ENVELOPE_VERSION
  /** The message id, 8-64 characters of `[A-Za-z0-9_-]`. */
  id: string
  /** When it was signed, in ms since the Unix epoch. */
  ts: number
  /** Who signed it. */
  from: Sender
  /** Who it is for. */
  to: Recipient
  /** 16-32 random bytes, base64url: a retry under the same `id` carries a new nonce, so it is not a replay. */
  nonce: string
  /** The JSON-RPC 2.0 message, in clear. */
  body?: JsonRpcMessage
  /** The JSON-RPC 2.0 message, encrypted to the recipient. */
  sealed?: SealedPayload
  /** The Ed25519 signature, base64url of 64 bytes. */
  sig: string
}

/** What {@link signEnvelope} needs of an identity. */
export interface EnvelopeSigner {
  /** The signer's peer id, which becomes `from.peer`. */
  readonly peerIdString: string
  /** Signs `data` with the Ed25519 key named by `peerIdString`. */
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

/** The fields a sender chooses; the rest are filled in. */
export interface EnvelopeDraft {
  /** Who it is for. */
  to: Recipient
  /** The JSON-RPC message; give exactly one of `body` and `sealed`. */
  body?: JsonRpcMessage
  /** A sealed body (see {@link signSealedEnvelope}); give exactly one of `body` and `sealed`. */
  sealed?: SealedPayload
  /** The sender's handle, when it has one. */
  handle?: string
  /** Defaults to 16 random bytes, base64url. Reuse an id only to retry the same message. */
  id?: string
  /** Defaults to `Date.now()`. */
  ts?: number
  /** Defaults to 16 random bytes, base64url. */
  nonce?: string
}

/** A signed envelope and its wire bytes. */
export interface SignedEnvelope {
  /** The envelope, `sig` included. */
  envelope: Envelope
  /** Its wire form: the UTF-8 of its canonical JSON. */
  bytes: Uint8Array
}

/** An envelope that passed the structural checks (not yet the signature). */
export interface DecodedEnvelope {
  /** The parsed envelope. */
  envelope: Envelope
  /** The exact wire bytes. */
  bytes: Uint8Array
  /** What the signature covers: context ‖ canonical JSON without `sig`. */
  signingInput: Uint8Array
  /** The 64 signature bytes decoded from `sig`. */
  signature: Uint8Array
  /** The Ed25519 key named by `from.peer`. */
  signerKey: Uint8Array
}

/** Options of {@link decodeEnvelope}. */
export interface DecodeOptions {
  /** Largest frame accepted (default 256 KiB). */
  maxBytes?: number
}

/** Options of {@link verifyEnvelope}: the signer, recipient and replay checks run only when their option is given. */
export interface VerifyOptions extends DecodeOptions {
  /** The peer id the transport authenticated; `from.peer` must equal it. */
  expectedSigner?: string
  /** Who we are: `to.peer`, if present, must be `peer`; `to.handle`, if present, one of `handles`. */
  self?: {
    /** Our peer id. */
    peer: string
    /** Our handles, without `@`. */
    handles?: readonly string[]
  }
  /** The receiver's clock (default `Date.now()`). */
  now?: number
  /** Oldest acceptable `ts`, as an age (default 5 min). */
  maxAgeMs?: number
  /** Furthest acceptable future `ts` (default 60 s). */
  maxSkewMs?: number
  /**
   * Refuses replays and records accepted envelopes (a `ReplayGuard`, or a
   * store-backed one). Omit only where replays are handled elsewhere. A
   * guard whose `check` returns a promise is awaited: the envelope is
   * returned only once its record is durable, and a failure to record
   * rejects with the guard's error (not an `EnvelopeError`).
   */
  replayGuard?: ReplayCheck
  /**
   * Whether acting on `envelope` (its signature verified) must wait for its
   * replay key to be durable: passed to the guard's `check` as `durable`.
   * Default: every envelope. A session says no for envelopes whose effect
   * stays within the session (protocols/envelope §6.1): a response, its own
   * hello, ping and resume.
   */
  replayDurable?: (envelope: Envelope) => boolean
}

const CONTEXT = utf8(SIGNING_CONTEXT)
const ENVELOPE_MEMBERS = new Set(['v', 'id', 'ts', 'from', 'to', 'nonce', 'body', 'sealed', 'sig'])
const SIG_B64_LENGTH = 86

function fail (code: Code, message: string): never {
  throw new EnvelopeError(code, message)
}

export { randomToken }

/**
 * The canonical text of an envelope's members, split around where `sig`
 * sorts, so the signing input and the wire form come from one pass.
 * Only the body (and a handle) can hold arbitrary text; the other members
 * passed {@link checkShape}, so their canonical form is written directly.
 */
function canonicalParts (e: Omit<Envelope, 'sig'>): { head: string, tail: string } {
  let head = ''
  if (e.body !== undefined) head += '"body":' + canonicalBody(e.body) + ','
  head += '"from":' + party(e.from) + ',"id":"' + e.id + '","nonce":"' + e.nonce + '"'
  if (e.sealed !== undefined) head += ',"sealed":{"alg":"' + e.sealed.alg + '","ct":"' + e.sealed.ct + '","epk":"' + e.sealed.epk + '"}'
  const tail = '"to":' + party(e.to) + ',"ts":' + String(e.ts) + ',"v":' + String(e.v)
  return { head, tail }
}

/** The body's canonical JSON; a body that has none (not I-JSON) is `ERR_MALFORMED_JSON`. */
function canonicalBody (body: JsonRpcMessage): string {
  try {
    return canonicalize(body)
  } catch (err) {
    if (err instanceof CanonicalJsonError) fail(Code.MALFORMED_JSON, `envelope is not I-JSON: ${err.message}`)
    throw err
  }
}

/** `from` / `to`: handles match [a-z0-9-] and peer ids are base58, so neither needs escaping. */
function party (p: Recipient): string {
  if (p.handle === undefined) return '{"peer":"' + (p.peer as string) + '"}'
  if (p.peer === undefined) return '{"handle":"' + p.handle + '"}'
  return '{"handle":"' + p.handle + '","peer":"' + p.peer + '"}'
}

/**
 * The wire form is the signing text with `"sig":"…",` spliced in before the
 * tail, and the tail (`to`, `ts`, `v`) is ASCII, so its byte length is its
 * string length: both directions convert between the two by copying bytes,
 * never by encoding UTF-8 twice.
 */
function signingBytes (parts: { head: string, tail: string }): Uint8Array {
  return utf8(SIGNING_CONTEXT + '{' + parts.head + ',' + parts.tail + '}')
}

/** Length in bytes of `"sig":"<86 chars>",`. */
const SIG_MEMBER_BYTES = 7 + SIG_B64_LENGTH + 2

/**
 * Builds, signs and encodes an envelope. The draft is checked as a receiver
 * would check it, so a bad draft fails here and not at the far end.
 */
export async function signEnvelope (signer: EnvelopeSigner, draft: EnvelopeDraft): Promise<SignedEnvelope> {
  const unsigned: Omit<Envelope, 'sig'> = {
    v: ENVELOPE_VERSION,
    id: draft.id ?? randomToken(),
    ts: draft.ts ?? Date.now(),
    from: draft.handle === undefined ? { peer: signer.peerIdString } : { handle: draft.handle, peer: signer.peerIdString },
    to: draft.to,
    nonce: draft.nonce ?? randomToken()
  }
  if (draft.body !== undefined) unsigned.body = draft.body
  if (draft.sealed !== undefined) unsigned.sealed = draft.sealed
  checkShape(unsigned as Record<string, unknown>, draft.id === undefined && draft.nonce === undefined)
  if (unsigned.body !== undefined) validateJsonRpc(unsigned.body)
  const parts = canonicalParts(unsigned)
  const input = signingBytes(parts)
  const signed = signer.sign(input)
  const sig = toBase64url(signed instanceof Uint8Array ? signed : await signed)
  const envelope = { ...unsigned, sig } as Envelope
  // wire = input without the context, with the sig member inserted where the tail begins
  const split = input.byteLength - parts.tail.length - 1
  const bytes = new Uint8Array(input.byteLength - CONTEXT.byteLength + SIG_MEMBER_BYTES)
  bytes.set(input.subarray(CONTEXT.byteLength, split), 0)
  const at = split - CONTEXT.byteLength
  writeAscii(bytes, at, '"sig":"' + sig + '",')
  bytes.set(input.subarray(split), at + SIG_MEMBER_BYTES)
  return { envelope, bytes }
}


function checkParty (value: unknown, name: 'from' | 'to'): void {
  if (!isJsonObject(value)) fail(Code.MALFORMED_ENVELOPE, `"${name}" must be an object`)
  for (const k in value) if (k !== 'peer' && k !== 'handle') fail(Code.MALFORMED_ENVELOPE, `unexpected member "${name}.${k}"`)
  const { peer, handle } = value
  if (handle !== undefined && (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle))) {
    fail(Code.MALFORMED_ENVELOPE, `"${name}.handle" is not a handle`)
  }
  if (peer === undefined) {
    if (name === 'from') fail(Code.MALFORMED_ENVELOPE, '"from.peer" is required')
    if (handle === undefined) fail(Code.MALFORMED_ENVELOPE, '"to" needs "peer" or "handle"')
  } else if (!isPeerId(peer)) {
    fail(Code.MALFORMED_ENVELOPE, `"${name}.peer" is not an Ed25519 peer id`)
  }
}

function checkBytesField (value: unknown, name: string, min: number, max: number): void {
  const bytes = typeof value === 'string' ? fromBase64url(value) : undefined
  if (bytes === undefined || bytes.length < min || bytes.length > max) {
    fail(Code.MALFORMED_ENVELOPE, `"${name}" must be canonical base64url of ${min === max ? min : `${min}-${max}`} bytes`)
  }
}

/**
 * Structural checks of every envelope member except the JSON-RPC body.
 * `generated` skips `id` and `nonce` when this process just made them.
 */
function checkShape (e: Record<string, unknown>, generated = false): void {
  for (const k in e) if (!ENVELOPE_MEMBERS.has(k)) fail(Code.MALFORMED_ENVELOPE, `unexpected member "${k}"`)
  if (!generated && (typeof e.id !== 'string' || !ID_PATTERN.test(e.id))) fail(Code.MALFORMED_ENVELOPE, '"id" must be 8-64 characters of [A-Za-z0-9_-]')
  if (typeof e.ts !== 'number' || !Number.isSafeInteger(e.ts) || e.ts < 0) fail(Code.MALFORMED_ENVELOPE, '"ts" must be a non-negative integer (ms since the Unix epoch)')
  checkParty(e.from, 'from')
  checkParty(e.to, 'to')
  if (!generated) checkBytesField(e.nonce, 'nonce', 16, 32)
  if ((e.body === undefined) === (e.sealed === undefined)) fail(Code.MALFORMED_ENVELOPE, 'exactly one of "body" and "sealed" is required')
  if (e.sealed !== undefined) {
    const s = e.sealed
    if (!isJsonObject(s)) fail(Code.MALFORMED_ENVELOPE, '"sealed" must be an object')
    for (const k in s) if (k !== 'alg' && k !== 'epk' && k !== 'ct') fail(Code.MALFORMED_ENVELOPE, `unexpected member "sealed.${k}"`)
    if (s.alg !== SEALED_ALG) fail(Code.MALFORMED_ENVELOPE, `"sealed.alg" must be "${SEALED_ALG}"`)
    checkBytesField(s.epk, 'sealed.epk', 32, 32)
    checkBytesField(s.ct, 'sealed.ct', 16, DEFAULT_MAX_BYTES)
  }
}

function signatureOf (sig: unknown): Uint8Array {
  const bytes = typeof sig === 'string' && sig.length === SIG_B64_LENGTH ? fromBase64url(sig) : undefined
  if (bytes === undefined) fail(Code.MALFORMED_ENVELOPE, '"sig" must be canonical base64url of 64 bytes')
  return bytes
}

/**
 * Parses and structurally checks an envelope: size, UTF-8, JSON, version,
 * members, canonical form and the JSON-RPC body. No clock, no signature:
 * see {@link verifyEnvelope}.
 */
export function decodeEnvelope (bytes: Uint8Array, options: DecodeOptions = {}): DecodedEnvelope {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  if (bytes.byteLength > maxBytes) fail(Code.OVERSIZE, `frame of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`)
  let text: string
  let value: unknown
  try {
    text = decoder.decode(bytes)
    value = JSON.parse(text)
  } catch {
    fail(Code.MALFORMED_JSON, 'frame is not UTF-8 JSON')
  }
  if (!isJsonObject(value)) fail(Code.MALFORMED_ENVELOPE, 'envelope must be a JSON object')
  if (value.v !== ENVELOPE_VERSION) {
    if (typeof value.v === 'number') fail(Code.UNSUPPORTED_VERSION, `envelope version ${value.v} is not supported (this implementation speaks ${ENVELOPE_VERSION})`)
    fail(Code.MALFORMED_ENVELOPE, '"v" must be a number')
  }
  checkShape(value)
  const signature = signatureOf(value.sig)
  const e = value as unknown as Envelope
  const parts = canonicalParts(e)
  if ('{' + parts.head + ',"sig":"' + e.sig + '",' + parts.tail + '}' !== text) {
    fail(Code.NON_CANONICAL, 'envelope is not in RFC 8785 canonical form')
  }
  if (e.body !== undefined) validateJsonRpc(e.body)
  return {
    envelope: e,
    bytes,
    signingInput: spliceOutSignature(bytes, parts.tail.length + 1),
    signature,
    signerKey: ed25519KeyOfPeer(e.from.peer) as Uint8Array
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function writeAscii (into: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) into[at + i] = text.charCodeAt(i)
}

/** The signing input of canonical wire bytes whose tail (after the sig member) is `tailBytes` long. */
function spliceOutSignature (wire: Uint8Array, tailBytes: number): Uint8Array {
  const sigStart = wire.byteLength - tailBytes - SIG_MEMBER_BYTES
  const out = new Uint8Array(CONTEXT.byteLength + wire.byteLength - SIG_MEMBER_BYTES)
  out.set(CONTEXT, 0)
  out.set(wire.subarray(0, sigStart), CONTEXT.byteLength)
  out.set(wire.subarray(sigStart + SIG_MEMBER_BYTES), CONTEXT.byteLength + sigStart)
  return out
}

/**
 * Decodes and fully verifies an envelope: structure, signer, recipient,
 * freshness, signature and replay, in that order (cheap checks first; the
 * replay guard records only envelopes whose signature verified).
 * Throws {@link EnvelopeError} with the reason's code.
 */
export async function verifyEnvelope (bytes: Uint8Array, options: VerifyOptions = {}): Promise<DecodedEnvelope> {
  const decoded = decodeEnvelope(bytes, options)
  const e = decoded.envelope
  if (options.expectedSigner !== undefined && e.from.peer !== options.expectedSigner) {
    fail(Code.SIGNER_MISMATCH, `signed by ${e.from.peer}, but the connection is with ${options.expectedSigner}`)
  }
  const self = options.self
  if (self !== undefined) {
    if (e.to.peer !== undefined && e.to.peer !== self.peer) fail(Code.WRONG_RECIPIENT, `addressed to ${e.to.peer}`)
    if (e.to.handle !== undefined && !(self.handles ?? []).includes(e.to.handle)) fail(Code.WRONG_RECIPIENT, `addressed to @${e.to.handle}`)
  }
  const now = options.now ?? Date.now()
  const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  if (e.ts < now - maxAge) fail(Code.STALE, `ts is ${now - e.ts} ms old (limit ${maxAge} ms)`)
  const maxSkew = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS
  if (e.ts > now + maxSkew) fail(Code.FUTURE, `ts is ${e.ts - now} ms in the future (limit ${maxSkew} ms)`)
  if (!await verifySignature(decoded.signerKey, decoded.signingInput, decoded.signature)) {
    fail(Code.BAD_SIGNATURE, `signature does not verify for ${e.from.peer}`)
  }
  const guard = options.replayGuard
  if (guard !== undefined) {
    let verdict = guard.check(e.from.peer + '/' + e.id + '/' + e.nonce, e.ts, now, options.replayDurable?.(e) ?? true)
    if (typeof verdict !== 'string') verdict = await verdict
    if (verdict === 'replayed') fail(Code.REPLAYED, `envelope ${e.id} was already received`)
    if (verdict === 'too-old') fail(Code.STALE, `ts is older than the replay guard's window (${now - e.ts} ms old)`)
  }
  return decoded
}
