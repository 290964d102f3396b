/**
 * Generates `protocols/envelope/vectors.json`. Envelopes are signed here from
 * the spec's definition (canonicalize the object without "sig", prefix the
 * context, sign), independently of `signEnvelope`, so that malformed but
 * correctly signed envelopes can be written too.
 */
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { toBase64url, toHex, utf8 } from '../../src/crypto/bytes.js'
import { SIGNING_CONTEXT } from '../../src/envelope/constants.js'
import { sealBody } from '../../src/envelope/sealed.js'
import type { JsonRpcMessage } from '../../src/envelope/jsonrpc.js'
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'

export const NOW = 1_800_000_000_000

type Obj = Record<string, unknown>

export async function signRaw (key: TestKey, unsigned: Obj): Promise<string> {
  const sig = await key.sign(utf8(SIGNING_CONTEXT + canonicalize(unsigned)))
  return canonicalize({ ...unsigned, sig: toBase64url(sig) })
}

export interface EnvelopeVector {
  name: string
  description: string
  /** The frame as UTF-8 text, or as hex when it is not valid UTF-8. */
  text?: string
  hex?: string
  options: Obj
  expect: string
  /** For `valid` sealed cases: the body the recipient must recover. */
  opened?: unknown
}

export async function envelopeVectors (): Promise<Obj> {
  const alice = testKey('alice')
  const bob = testKey('bob')
  const mallory = testKey('mallory')
  const request: JsonRpcMessage = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'availability', arguments: { date: '2026-11-21', postcode: 'SW1A 1AA' } } }
  const base = (over: Obj = {}): Obj => ({
    v: 1,
    id: 'AAECAwQFBgcICQoLDA0ODw',
    ts: NOW - 1000,
    from: { handle: 'alice', peer: alice.peerIdString },
    to: { handle: 'bob', peer: bob.peerIdString },
    nonce: 'EBESExQVFhcYGRobHB0eHw',
    body: request,
    ...over
  })
  const opts = { now: NOW, expectedSigner: alice.peerIdString, self: { peer: bob.peerIdString, handles: ['bob'] } }
  const cases: EnvelopeVector[] = []
  const add = (name: string, description: string, text: string, expect: string, options: Obj = opts, extra: Partial<EnvelopeVector> = {}): void => {
    cases.push({ name, description, text, options, expect, ...extra })
  }

  // valid
  add('request', 'A JSON-RPC request with handles on both sides.', await signRaw(alice, base()), 'valid')
  add('notification', 'A notification (no id).', await signRaw(alice, base({ body: { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 0.5 } } })), 'valid')
  add('response-result', 'A success response.', await signRaw(alice, base({ body: { jsonrpc: '2.0', id: 'q-1', result: { slots: ['14:00', '15:30'] } } })), 'valid')
  add('response-error', 'An error response.', await signRaw(alice, base({ body: { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } } })), 'valid')
  add('anonymous-sender-to-peer', 'No sender handle; recipient named by peer id only.', await signRaw(alice, base({ from: { peer: alice.peerIdString }, to: { peer: bob.peerIdString } })), 'valid')
  add('unicode', 'Non-ASCII text, an emoji and escaped control characters in params.', await signRaw(alice, base({ body: { jsonrpc: '2.0', method: 'message', params: { text: 'Привет, £180 — déjà vu 🙂\n\t"quoted"' } } })), 'valid')
  add('numbers', 'Numbers in their ECMAScript form: exponent, fraction, negative zero written as 0.', await signRaw(alice, base({ body: { jsonrpc: '2.0', method: 'quote', params: { big: 1e21, small: 1e-7, price: 180.5, zero: 0 } } })), 'valid')
  {
    const eph = utf8('parley test ephemeral x25519 key').subarray(0, 32)
    const sealed = sealBody(request, bob.x25519PublicKey, alice.peerIdString, 'AAECAwQFBgcICQoLDA0ODw', eph, { pad: false })
    const unsigned = base({ sealed })
    delete unsigned.body
    add('sealed', 'A body sealed to bob\'s X25519 key, unpadded (bob\'s X25519 secret is in `recipientX25519Secret`; the ephemeral secret is `ephemeralSecret`).', await signRaw(alice, unsigned), 'valid', opts, {
      opened: request,
      ...{ recipientX25519Secret: toHex(bob.x25519Secret), ephemeralSecret: toHex(eph) }
    })
    const padded = base({ sealed: sealBody(request, bob.x25519PublicKey, alice.peerIdString, 'AAECAwQFBgcICQoLDA0ODw', eph) })
    delete padded.body
    add('sealed-padded', 'The same body sealed padded: its canonical JSON followed by spaces to 256 bytes (§5.1), so `ct` is 272 bytes.', await signRaw(alice, padded), 'valid', opts, {
      opened: request,
      ...{ recipientX25519Secret: toHex(bob.x25519Secret), ephemeralSecret: toHex(eph) }
    })
    add('sealed-forwarded', 'The padded sealed envelope, signed by alice for bob, received by mallory: refused before anything is opened.', await signRaw(alice, padded), 'ERR_WRONG_RECIPIENT', { ...opts, self: { peer: mallory.peerIdString } })
  }

  // size and syntax
  add('oversize', 'A frame over the receiver\'s limit (here 256 bytes).', await signRaw(alice, base()), 'ERR_OVERSIZE', { ...opts, maxBytes: 256 })
  cases.push({ name: 'not-utf8', description: 'Bytes that are not UTF-8.', hex: 'ff' + toHex(utf8(await signRaw(alice, base()))).slice(2), options: opts, expect: 'ERR_MALFORMED_JSON' })
  add('not-json', 'Text that is not JSON.', '{"v":1,', 'ERR_MALFORMED_JSON')
  add('lone-surrogate', 'A string holding a lone surrogate (not I-JSON).', (await signRaw(alice, base({ body: { jsonrpc: '2.0', method: 'message', params: { text: 'x' } } }))).replace('"text":"x"', '"text":"\\ud800"'), 'ERR_MALFORMED_JSON')
  add('array', 'A JSON array instead of an envelope object.', '[1,2,3]', 'ERR_MALFORMED_ENVELOPE')
  {
    const good = await signRaw(alice, base())
    add('non-canonical-whitespace', 'A correctly signed envelope with a space added.', good.replace('"v":1', '"v": 1'), 'ERR_NON_CANONICAL')
    const parsed = JSON.parse(good) as Obj
    const reordered = JSON.stringify({ v: parsed.v, ...parsed })
    add('non-canonical-order', 'Members not in canonical order.', reordered, 'ERR_NON_CANONICAL')
    add('non-canonical-escape', 'A character escaped that JCS writes literally.', good.replace('"alice"', '"\\u0061lice"'), 'ERR_NON_CANONICAL')
    add('duplicate-member', 'A duplicated member (JSON parsers disagree on which wins).', good.replace('"v":1}', '"v":1,"v":1}'), 'ERR_NON_CANONICAL')
  }

  // version and shape
  add('unsupported-version', 'v = 2, correctly signed.', await signRaw(alice, base({ v: 2 })), 'ERR_UNSUPPORTED_VERSION')
  add('version-not-number', 'v = "1".', await signRaw(alice, base({ v: '1' })), 'ERR_MALFORMED_ENVELOPE')
  {
    const noNonce = base(); delete noNonce.nonce
    add('missing-nonce', 'No nonce.', await signRaw(alice, noNonce), 'ERR_MALFORMED_ENVELOPE')
  }
  add('unknown-member', 'An unknown top-level member.', await signRaw(alice, base({ extra: true })), 'ERR_MALFORMED_ENVELOPE')
  add('bad-id', 'An id with a character outside [A-Za-z0-9_-].', await signRaw(alice, base({ id: 'id with spaces' })), 'ERR_MALFORMED_ENVELOPE')
  add('bad-ts', 'A fractional timestamp.', await signRaw(alice, base({ ts: NOW - 0.5 })), 'ERR_MALFORMED_ENVELOPE')
  add('bad-peer', 'from.peer is not an Ed25519 peer id.', await signRaw(alice, base({ from: { peer: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' } })), 'ERR_MALFORMED_ENVELOPE')
  add('bad-handle', 'from.handle has upper case letters.', await signRaw(alice, base({ from: { handle: 'Alice', peer: alice.peerIdString } })), 'ERR_MALFORMED_ENVELOPE')
  add('short-nonce', 'A nonce of 8 bytes.', await signRaw(alice, base({ nonce: 'AAECAwQFBgc' })), 'ERR_MALFORMED_ENVELOPE')
  add('non-canonical-base64url', 'A nonce whose last character carries non-zero padding bits.', await signRaw(alice, base({ nonce: 'EBESExQVFhcYGRobHB0eHx' })), 'ERR_MALFORMED_ENVELOPE')
  add('body-and-sealed', 'Both body and sealed.', await signRaw(alice, base({ sealed: { alg: 'X25519-HKDF-SHA256-ChaCha20Poly1305', epk: toBase64url(new Uint8Array(32).fill(9)), ct: toBase64url(new Uint8Array(16)) } })), 'ERR_MALFORMED_ENVELOPE')
  {
    const good = await signRaw(alice, base())
    add('sig-wrong-length', 'A signature of 63 bytes.', good.replace(/"sig":"[^"]*"/, `"sig":"${toBase64url(new Uint8Array(63))}"`), 'ERR_MALFORMED_ENVELOPE')
  }

  // JSON-RPC
  add('jsonrpc-version', 'jsonrpc = "1.0".', await signRaw(alice, base({ body: { jsonrpc: '1.0', id: 1, method: 'ping' } })), 'ERR_MALFORMED_JSONRPC')
  add('jsonrpc-batch', 'A batch (array) body.', await signRaw(alice, base({ body: [{ jsonrpc: '2.0', id: 1, method: 'ping' }] })), 'ERR_MALFORMED_JSONRPC')
  add('jsonrpc-result-and-error', 'A response with both result and error.', await signRaw(alice, base({ body: { jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: 'x' } } })), 'ERR_MALFORMED_JSONRPC')
  add('jsonrpc-null-request-id', 'A request with id null.', await signRaw(alice, base({ body: { jsonrpc: '2.0', id: null, method: 'ping' } })), 'ERR_MALFORMED_JSONRPC')
  add('jsonrpc-params-scalar', 'params is a string.', await signRaw(alice, base({ body: { jsonrpc: '2.0', id: 1, method: 'ping', params: 'x' } })), 'ERR_MALFORMED_JSONRPC')
  add('jsonrpc-error-code-fraction', 'error.code is not an integer.', await signRaw(alice, base({ body: { jsonrpc: '2.0', id: 1, error: { code: 1.5, message: 'x' } } })), 'ERR_MALFORMED_JSONRPC')

  // authenticity
  add('signer-mismatch', 'Signed by alice, but the connection is authenticated as mallory.', await signRaw(alice, base()), 'ERR_SIGNER_MISMATCH', { ...opts, expectedSigner: mallory.peerIdString })
  add('wrong-recipient-peer', 'Addressed to mallory\'s peer id.', await signRaw(alice, base({ to: { peer: mallory.peerIdString } })), 'ERR_WRONG_RECIPIENT')
  add('wrong-recipient-handle', 'Addressed to @carol.', await signRaw(alice, base({ to: { handle: 'carol' } })), 'ERR_WRONG_RECIPIENT')
  add('stale', 'ts six minutes before now (window 5 min).', await signRaw(alice, base({ ts: NOW - 6 * 60_000 })), 'ERR_STALE')
  add('future', 'ts two minutes after now (skew 60 s).', await signRaw(alice, base({ ts: NOW + 2 * 60_000 })), 'ERR_FUTURE')
  add('forged-sender', 'Claims alice as sender but is signed by mallory.', await (async () => {
    const unsigned = base()
    const sig = await mallory.sign(utf8(SIGNING_CONTEXT + canonicalize(unsigned)))
    return canonicalize({ ...unsigned, sig: toBase64url(sig) })
  })(), 'ERR_BAD_SIGNATURE')
  add('tampered-body', 'Signed, then params changed.', (await signRaw(alice, base())).replace('SW1A 1AA', 'SW1A 1AB'), 'ERR_BAD_SIGNATURE')
  add('tampered-ts', 'Signed, then ts changed (still inside the window).', (await signRaw(alice, base())).replace(`"ts":${NOW - 1000}`, `"ts":${NOW - 999}`), 'ERR_BAD_SIGNATURE')
  add('no-context', 'Signed over the canonical JSON without the "parley/envelope/v1\\n" prefix.', await (async () => {
    const unsigned = base()
    const sig = await alice.sign(utf8(canonicalize(unsigned)))
    return canonicalize({ ...unsigned, sig: toBase64url(sig) })
  })(), 'ERR_BAD_SIGNATURE')

  const replayed = await signRaw(alice, base())
  return {
    description: 'Envelope test vectors. Keys: seed = first 32 bytes of SHA-512("parley test key <label>"). `options` are the receiver\'s verify options (`now` in ms; maxAgeMs 300000 and maxSkewMs 60000 unless given; maxBytes 262144 unless given). `expect` is "valid" or the error code.',
    keys: Object.fromEntries([alice, bob, mallory].map(k => [k.label, { seed: toHex(k.seed), publicKey: toHex(k.publicKey), peerId: k.peerIdString, x25519PublicKey: toHex(k.x25519PublicKey) }])),
    signingContext: SIGNING_CONTEXT,
    cases,
    sequences: [
      {
        name: 'replay',
        description: 'The same envelope delivered twice to one receiver with a replay guard.',
        options: opts,
        frames: [replayed, replayed],
        expect: ['valid', 'ERR_REPLAYED']
      },
      {
        name: 'retry-with-new-nonce',
        description: 'A retry of the same id with a fresh nonce and signature is not a replay (dedupe by id is the session\'s job).',
        options: opts,
        frames: [replayed, await signRaw(alice, base({ nonce: 'ICEiIyQlJicoKSorLC0uLw' }))],
        expect: ['valid', 'valid']
      }
    ]
  }
}
