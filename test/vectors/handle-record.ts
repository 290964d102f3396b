/**
 * Generates `protocols/handle-record/vectors.json`: valid handle records with
 * every intermediate value an implementer needs, one rejection per error
 * code path (each record has exactly one fault: its stamp and signature are
 * redone over the faulty content), selector cases and succession cases.
 * Deterministic: fixed seeds, a fixed clock and the first satisfying nonce.
 * The generator checks every verdict against this implementation before
 * writing.
 */
import { sha512 } from '@noble/hashes/sha2.js'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { concat, fromBase64url, toBase64url, toHex, utf8 } from '../../src/crypto/bytes.js'
import {
  createHandleRecord, createRotation, handleRecordPowBase, handleRecordSigningMessage, rotationSigningMessage,
  handleRecordJson, parseHandleRecord, selectHandleRecord, succession, validateHandleRecord,
  DEFAULT_MAX_TTL_MS, MAX_RECORD_BYTES, RECORD_SIGNATURE_DOMAIN
} from '../../src/handles/record.js'
import type { HandleKind, HandleRecord, CreateHandleRecordOptions } from '../../src/handles/record.js'
import { chooseRecord } from '../../src/handles/resolution.js'
import { checkPow, leadingZeroBits, mintPow, powDigest, powInput, POW_DOMAIN } from '../../src/handles/pow.js'

/** The clock of every vector. */
export const NOW = 1_800_000_000_000
/** The difficulty of the vectors. */
export const BITS = 8
/** Validation options of every validation vector. */
export const OPTIONS = { now: NOW, minPowBits: BITS, maxTtlMs: DEFAULT_MAX_TTL_MS }
const HOUR = 3_600_000

/** A deterministic signer for tests: a {@link testKey} with a kind. */
export type TestSigner = TestKey & { readonly kind: HandleKind }

const seedOf = (text: string): Uint8Array => sha512(utf8(text)).subarray(0, 32)

/** The fixed test key `label` (test/vectors/keys.ts) as a handle record signer. */
export function testSigner (label: string, kind: HandleKind = 'agent'): TestSigner {
  return { ...testKey(label), kind }
}

type Members = Record<string, unknown>

/** Re-stamps (first nonce at `bits`) and re-signs arbitrary members, so the only faults are the ones put in. */
async function seal (members: Members, signer: TestSigner, bits = BITS): Promise<Members> {
  const rest: Members = { ...members }
  delete rest.sig
  delete rest.pow
  const nonce = mintPow(handleRecordPowBase(rest), bits)
  const stamped = { ...rest, pow: { bits, nonce } }
  return { ...stamped, sig: toBase64url(await signer.sign(handleRecordSigningMessage(stamped))) }
}

const text = (members: Members): string => canonicalize(members)
const json = (record: HandleRecord): Members => ({ ...handleRecordJson(record) })

export interface ValidationVector {
  name: string
  note: string
  key: string
  bytes?: string
  bytesHex?: string
  options: typeof OPTIONS
  expect: string
  record?: unknown
  details?: Record<string, unknown>
}

async function verdict (bytes: Uint8Array, key: string, options: typeof OPTIONS): Promise<string> {
  try {
    await validateHandleRecord(bytes, { ...options, key })
    return 'valid'
  } catch (err) {
    if ((err as Error).name !== 'HandleRecordError') throw err
    return (err as { code: string }).code
  }
}

export async function handleRecordVectors (): Promise<unknown> {
  const alice = testSigner('alice')
  const aliceNext = testSigner('alice-next')
  const bob = testSigner('bob')
  const carol = testSigner('carol', 'human')
  const mallory = testSigner('mallory')
  const relay1 = testSigner('relay-1')
  const relay2 = testSigner('relay-2')
  const secpPeer = peerIdFromPrivateKey(privateKeyFromRaw(seedOf('parley test key secp256k1'))).toString()
  const rsaPeer = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
  const relays = [
    `/ip4/127.0.0.1/tcp/4001/p2p/${relay1.peerIdString}/p2p-circuit`,
    `/dns4/relay.example.org/tcp/443/wss/p2p/${relay2.peerIdString}/p2p-circuit`
  ]
  const make = async (signer: TestSigner, options: Partial<CreateHandleRecordOptions> & { handle: string, seq: number }): Promise<HandleRecord> =>
    (await createHandleRecord(signer, { now: NOW, powBits: BITS, ...options })).record

  const validation: ValidationVector[] = []
  const add = async (name: string, note: string, expect: string, bytes: Uint8Array | string, key: string, options = OPTIONS): Promise<void> => {
    const raw = typeof bytes === 'string' ? utf8(bytes) : bytes
    const got = await verdict(raw, key, options)
    if (got !== expect) throw new Error(`vector ${name}: expected ${expect}, implementation says ${got}`)
    const v: ValidationVector = { name, note, key, options, expect }
    if (typeof bytes === 'string') v.bytes = bytes
    else v.bytesHex = toHex(bytes)
    validation.push(v)
  }
  const addValid = async (name: string, note: string, record: HandleRecord): Promise<void> => {
    const members = json(record)
    const unsigned = { ...members }
    delete unsigned.sig
    const powContent = { ...unsigned }
    delete powContent.pow
    const base = handleRecordPowBase(members)
    const digest = powDigest(base, record.pow.bits, record.pow.nonce)
    await add(name, note, 'valid', text(members), '/handle/' + record.handle)
    const v = validation[validation.length - 1] as ValidationVector
    v.record = members
    v.details = {
      signingInput: RECORD_SIGNATURE_DOMAIN + text(unsigned),
      powContent: text(powContent),
      powBase: toHex(base),
      powInput: toHex(powInput(base, record.pow.bits, record.pow.nonce)),
      powDigest: toHex(digest),
      powLeadingZeroBits: leadingZeroBits(digest),
      ...(record.rotation === undefined
        ? {}
        : { rotationInput: new TextDecoder().decode(rotationSigningMessage(record.handle, record.rotation.prev, record.peer)) })
    }
  }

  // ---- valid
  const minimal = await make(alice, { handle: 'alice', seq: 1 })
  await addValid('valid-minimal', 'An agent record with no relays.', minimal)
  const withRelays = await make(bob, { handle: 'bob', seq: 7, relays })
  await addValid('valid-with-relays', 'Two relay addresses (circuit relay v2).', withRelays)
  await addValid('valid-human', 'kind "human".', await make(carol, { handle: 'carol', seq: 1 }))
  const rotation = await createRotation(alice, 'alice', aliceNext.peerIdString)
  const rotated = await make(aliceNext, { handle: 'alice', seq: 2, rotation })
  await addValid('valid-rotation', 'The key "alice-next" takes over @alice from the key "alice" (rotation signed by the old key).', rotated)
  const longRelay = '/dns4/' + 'r'.repeat(238) + '/tcp/443/wss'
  const maxRelays = [longRelay, ...Array.from({ length: 7 }, (_, i) => `/ip4/10.0.0.${i + 1}/tcp/4001/p2p/${relay1.peerIdString}/p2p-circuit`)]
  await addValid('valid-limits', 'At the limits: 32-character handle, 8 relays (the first exactly 256 characters), expiry exactly now + maxTtlMs.',
    await make(alice, { handle: 'a-handle-of-thirty-two-chars-012', seq: 9007199254740991, relays: maxRelays, ttlMs: DEFAULT_MAX_TTL_MS }))
  await addValid('valid-short-handle-more-work', '3-character handle, expiry 1 ms after now, 10 bits of work where 8 are required.',
    await make(bob, { handle: 'b-2', seq: 0, ttlMs: 1, powBits: 10 }))

  const base = json(minimal)
  const aliceKey = '/handle/alice'
  const sealed = async (changes: Members, signer = alice, bits = BITS): Promise<string> => text(await seal({ ...base, ...changes }, signer, bits))
  const baseText = text(base)

  // ---- size, encoding, canonical form
  for (const [name, size, expect] of [['oversize', MAX_RECORD_BYTES + 1, 'ERR_OVERSIZE'], ['size-limit-is-inclusive', MAX_RECORD_BYTES, 'ERR_MALFORMED_RECORD']] as const) {
    // the nonce's digit count depends on the content: vary the content until the length is exact
    let out = ''
    let length = size - baseText.length - 10
    for (let i = 0; i < 1000 && utf8(out).byteLength !== size; i++) {
      out = await sealed({ pad: i.toString(36).padEnd(length, 'x') })
      length += size - utf8(out).byteLength
    }
    await add(name, expect === 'ERR_OVERSIZE'
      ? `${size} bytes: refused before parsing.`
      : `${size} bytes is within the limit; refused later for its unknown member "pad".`, expect, out, aliceKey)
  }
  await add('not-json', 'Truncated JSON text.', 'ERR_MALFORMED_RECORD', baseText.slice(0, 40), aliceKey)
  await add('invalid-utf8', 'A 0xff byte inside the handle string.', 'ERR_MALFORMED_RECORD',
    concat(utf8(baseText.slice(0, baseText.indexOf('"alice"') + 1)), Uint8Array.of(0xff), utf8(baseText.slice(baseText.indexOf('"alice"') + 2))), aliceKey)
  await add('lone-surrogate', 'A \\ud800 escape: valid JSON, but not I-JSON, so no canonical form exists.', 'ERR_MALFORMED_RECORD',
    baseText.replace('"alice"', '"\\ud800"'), aliceKey)
  await add('not-an-object', 'A canonical JSON array.', 'ERR_MALFORMED_RECORD', '[]', aliceKey)
  await add('non-canonical-whitespace', 'The valid-minimal record with insignificant whitespace.', 'ERR_NON_CANONICAL', JSON.stringify(base, null, 1), aliceKey)
  const reordered = { sig: base.sig, ...base }
  await add('non-canonical-member-order', 'The valid-minimal record with "sig" first.', 'ERR_NON_CANONICAL', JSON.stringify(reordered), aliceKey)
  await add('non-canonical-number', 'seq written 1.0.', 'ERR_NON_CANONICAL', baseText.replace('"seq":1,', '"seq":1.0,'), aliceKey)
  await add('non-canonical-escape', 'The handle written "\\u0061lice".', 'ERR_NON_CANONICAL', baseText.replace('"alice"', '"\\u0061lice"'), aliceKey)
  await add('byte-order-mark', 'The valid-minimal record preceded by a UTF-8 byte order mark.', 'ERR_NON_CANONICAL', concat(Uint8Array.of(0xef, 0xbb, 0xbf), utf8(baseText)), aliceKey)
  await add('duplicate-member', 'A second "seq" member: never canonical, whichever value a parser keeps.', 'ERR_NON_CANONICAL',
    baseText.replace('"seq":1,', '"seq":1,"seq":1,'), aliceKey)

  // ---- version and shape
  await add('unsupported-version', 'v = 2 (otherwise a well-formed, stamped, signed record).', 'ERR_UNSUPPORTED_VERSION', await sealed({ v: 2 }), aliceKey)
  await add('version-as-string', 'v = "1".', 'ERR_UNSUPPORTED_VERSION', await sealed({ v: '1' }), aliceKey)
  const dropped = async (name: string): Promise<string> => {
    const m = { ...base }
    delete m[name]
    return text(await seal(m, alice))
  }
  await add('missing-version', 'No "v" member.', 'ERR_MALFORMED_RECORD', await dropped('v'), aliceKey)
  await add('missing-kind', 'No "kind" member.', 'ERR_MALFORMED_RECORD', await dropped('kind'), aliceKey)
  await add('missing-relays', 'No "relays" member: it is required even when empty.', 'ERR_MALFORMED_RECORD', await dropped('relays'), aliceKey)
  await add('unknown-member', 'An extra top-level member "note".', 'ERR_MALFORMED_RECORD', await sealed({ note: 'hi' }), aliceKey)
  const salted: Members = { ...base, pow: { ...(base.pow as Members), salt: 1 } }
  delete salted.sig
  await add('unknown-member-in-pow', 'pow has an extra member "salt" (signed over it).', 'ERR_MALFORMED_RECORD',
    text({ ...salted, sig: toBase64url(await alice.sign(handleRecordSigningMessage(salted))) }), aliceKey)
  for (const [name, handle] of [['upper-case', 'Alice'], ['too-short', 'al'], ['too-long', 'a'.repeat(33)], ['bad-character', 'al_ice'], ['with-at-sign', '@alice']]) {
    await add(`handle-${name}`, `handle ${JSON.stringify(handle)}.`, 'ERR_INVALID_HANDLE', await sealed({ handle }), '/handle/' + handle)
  }
  await add('handle-not-a-string', 'handle is a number.', 'ERR_MALFORMED_RECORD', await sealed({ handle: 12345 }), aliceKey)
  await add('kind-unknown', 'kind "robot".', 'ERR_MALFORMED_RECORD', await sealed({ kind: 'robot' }), aliceKey)
  await add('seq-negative', 'seq = -1.', 'ERR_MALFORMED_RECORD', await sealed({ seq: -1 }), aliceKey)
  await add('seq-fraction', 'seq = 1.5.', 'ERR_MALFORMED_RECORD', await sealed({ seq: 1.5 }), aliceKey)
  await add('seq-too-large', 'seq = 2^53.', 'ERR_MALFORMED_RECORD', await sealed({ seq: 2 ** 53 }), aliceKey)
  await add('expires-string', 'expires as a string.', 'ERR_MALFORMED_RECORD', await sealed({ expires: String(base.expires) }), aliceKey)
  await add('pow-bits-too-large', 'pow.bits = 65.', 'ERR_MALFORMED_RECORD', text({ ...base, pow: { bits: 65, nonce: 0 } }), aliceKey)
  await add('relays-not-array', 'relays is a string.', 'ERR_MALFORMED_RECORD', await sealed({ relays: relays[0] }), aliceKey)
  await add('relays-too-many', 'Nine relays.', 'ERR_MALFORMED_RECORD', await sealed({ relays: [...maxRelays.slice(1), ...relays] }), aliceKey)
  await add('relay-too-long', 'A relay of 257 characters.', 'ERR_MALFORMED_RECORD', await sealed({ relays: ['/dns4/' + 'r'.repeat(239) + '/tcp/443/wss'] }), aliceKey)
  await add('relay-not-multiaddr', 'A relay that is not a multiaddr.', 'ERR_MALFORMED_RECORD', await sealed({ relays: ['relay.example.org:4001'] }), aliceKey)
  await add('relay-not-canonical', 'A relay with a trailing "/": parses, but its string form differs.', 'ERR_MALFORMED_RECORD',
    await sealed({ relays: ['/ip4/127.0.0.1/tcp/4001/'] }), aliceKey)
  await add('x25519-wrong-length', 'x25519 encodes 31 bytes.', 'ERR_MALFORMED_RECORD', await sealed({ x25519: toBase64url(alice.x25519PublicKey.subarray(0, 31)) }), aliceKey)
  const x = base.x25519 as string
  await add('x25519-non-canonical-base64url', 'Last character of x25519 changed so that its unused low bits are not zero (decodes to the same bytes).',
    'ERR_NON_CANONICAL', await sealed({ x25519: tailBits(x) }), aliceKey)
  await add('sig-padded', 'sig with "==" padding.', 'ERR_MALFORMED_RECORD', text({ ...base, sig: (base.sig as string) + '==' }), aliceKey)
  await add('sig-wrong-length', 'sig encodes 63 bytes.', 'ERR_MALFORMED_RECORD',
    text({ ...base, sig: toBase64url((fromBase64url(base.sig as string) ?? new Uint8Array()).subarray(0, 63)) }), aliceKey)
  await add('sig-non-canonical-base64url', 'Last character of sig changed so that its unused low bits are not zero (decodes to the same signature).',
    'ERR_NON_CANONICAL', text({ ...base, sig: tailBits(base.sig as string) }), aliceKey)

  // ---- owner key
  await add('peer-garbage', 'peer is not a peer id.', 'ERR_MALFORMED_RECORD', await sealed({ peer: 'not-a-peer-id' }), aliceKey)
  await add('peer-secp256k1', 'peer is a secp256k1 peer id.', 'ERR_MALFORMED_RECORD', await sealed({ peer: secpPeer }), aliceKey)
  await add('peer-rsa', 'peer is an RSA peer id.', 'ERR_MALFORMED_RECORD', await sealed({ peer: rsaPeer }), aliceKey)
  await add('peer-as-cid', 'peer is the CIDv1 spelling of alice\'s peer id (not the canonical base58btc form).', 'ERR_MALFORMED_RECORD',
    await sealed({ peer: peerIdFromString(alice.peerIdString).toCID().toString() }), aliceKey)

  // ---- key, clock, work
  await add('key-mismatch', 'The valid-minimal record (@alice) stored under /handle/bob.', 'ERR_KEY_MISMATCH', baseText, '/handle/bob')
  await add('expired', 'Expired an hour before now.', 'ERR_EXPIRED', text(json(await make(alice, { handle: 'alice', seq: 1, now: NOW - 25 * HOUR }))), aliceKey)
  await add('expires-now', 'expires = now: expired (the bound is exclusive).', 'ERR_EXPIRED', text(json(await make(alice, { handle: 'alice', seq: 1, now: NOW - 24 * HOUR }))), aliceKey)
  await add('expiry-too-far', 'expires = now + maxTtlMs + 1.', 'ERR_EXPIRY_TOO_FAR', text(json(await make(alice, { handle: 'alice', seq: 1, ttlMs: DEFAULT_MAX_TTL_MS + 1 }))), aliceKey)
  await add('insufficient-pow', 'A valid 4-bit stamp where 8 bits are required.', 'ERR_INSUFFICIENT_POW', await sealed({}, alice, 4), aliceKey)
  const powBase = handleRecordPowBase(base)
  let wrongNonce = 0
  while (checkPow(powBase, BITS, wrongNonce)) wrongNonce++
  const badPow = { ...base, pow: { bits: BITS, nonce: wrongNonce } }
  await add('bad-pow', `pow.nonce = ${wrongNonce}, whose digest has fewer than 8 leading zero bits (the record is signed over it).`, 'ERR_BAD_POW',
    text({ ...badPow, sig: toBase64url(await alice.sign(handleRecordSigningMessage(badPow))) }), aliceKey)

  // ---- signature
  await add('signed-by-another-key', 'alice\'s record signed by the key "mallory".', 'ERR_BAD_SIGNATURE', text({ ...base, sig: toBase64url(await mallory.sign(handleRecordSigningMessage(base))) }), aliceKey)
  const sigBytes = fromBase64url(base.sig as string) ?? new Uint8Array()
  const altered = sigBytes.slice()
  altered[40] = (altered[40] ?? 0) ^ 0x01
  await add('signature-byte-altered', 'Byte 40 of sig XOR 0x01.', 'ERR_BAD_SIGNATURE', text({ ...base, sig: toBase64url(altered) }), aliceKey)
  const unsignedBase = { ...base }
  delete unsignedBase.sig
  await add('signed-without-domain', 'Signed over the canonical JSON alone, without the "parley/handle-record/v1\\n" prefix.', 'ERR_BAD_SIGNATURE',
    text({ ...base, sig: toBase64url(await alice.sign(utf8(text(unsignedBase)))) }), aliceKey)

  // ---- rotation
  const rotatedBase = json(rotated)
  const rot = async (r: Members, signer = aliceNext): Promise<string> => text(await seal({ ...rotatedBase, rotation: r }, signer))
  const rotSig = async (signer: TestSigner, handle: string, prev: string, next: string): Promise<string> =>
    toBase64url(await signer.sign(rotationSigningMessage(handle, prev, next)))
  await add('rotation-signed-by-wrong-key', 'rotation.prev is alice but mallory signed the statement.', 'ERR_BAD_ROTATION',
    await rot({ prev: alice.peerIdString, sig: await rotSig(mallory, 'alice', alice.peerIdString, aliceNext.peerIdString) }), aliceKey)
  await add('rotation-prev-is-peer', 'rotation.prev equals peer (a key "rotating" to itself).', 'ERR_BAD_ROTATION',
    await rot({ prev: aliceNext.peerIdString, sig: await rotSig(aliceNext, 'alice', aliceNext.peerIdString, aliceNext.peerIdString) }), aliceKey)
  await add('rotation-for-another-handle', 'The old key signed a hand-over of @bob, not @alice.', 'ERR_BAD_ROTATION',
    await rot({ prev: alice.peerIdString, sig: await rotSig(alice, 'bob', alice.peerIdString, aliceNext.peerIdString) }), aliceKey)
  await add('rotation-to-another-peer', 'The old key handed @alice to mallory, not to this record\'s peer.', 'ERR_BAD_ROTATION',
    await rot({ prev: alice.peerIdString, sig: await rotSig(alice, 'alice', alice.peerIdString, mallory.peerIdString) }), aliceKey)
  await add('rotation-prev-not-ed25519', 'rotation.prev is a secp256k1 peer id.', 'ERR_BAD_ROTATION',
    await rot({ prev: secpPeer, sig: rotation.sig }), aliceKey)
  await add('rotation-unknown-member', 'rotation has an extra member "at".', 'ERR_MALFORMED_RECORD', await rot({ ...rotation, at: NOW }), aliceKey)

  // ---- selection
  const a1 = minimal
  const a2 = await make(alice, { handle: 'alice', seq: 2 })
  const a2later = await make(alice, { handle: 'alice', seq: 2, ttlMs: 25 * HOUR })
  const a2relays = await make(alice, { handle: 'alice', seq: 2, relays })
  const a3soon = await make(alice, { handle: 'alice', seq: 3, ttlMs: HOUR })
  const t = (r: HandleRecord): string => text(json(r))
  const smaller = Buffer.compare(a2.bytes, a2relays.bytes) < 0 ? 0 : 1
  const selection = [
    { name: 'single-record', records: [t(a1)], expect: 0 },
    { name: 'higher-seq-wins', records: [t(a1), t(a2)], expect: 1 },
    { name: 'higher-seq-wins-over-later-expiry', records: [t(a2later), t(a3soon)], expect: 1 },
    { name: 'later-expiry-breaks-seq-tie', records: [t(a2later), t(a2)], expect: 0 },
    { name: 'smallest-bytes-breaks-full-tie', records: [t(a2), t(a2relays)], expect: smaller },
    { name: 'identical-records-first-wins', records: [t(a2), t(a2)], expect: 0 },
    { name: 'unparseable-ranks-last', records: ['not json', t(a1), '{}'], expect: 1 },
    { name: 'all-unparseable-smallest-bytes', records: ['{"x":2}', '{"x":1}'], expect: 1 }
  ].map(c => ({ ...c, key: aliceKey }))
  for (const c of selection) {
    const got = selectHandleRecord(utf8(c.key), c.records.map(r => utf8(r)))
    if (got !== c.expect) throw new Error(`selection ${c.name}: expected ${c.expect}, implementation says ${got}`)
  }

  // ---- succession
  const m5 = await make(mallory, { handle: 'alice', seq: 5 })
  const a1relays = await make(alice, { handle: 'alice', seq: 1, relays })
  const next1 = await make(aliceNext, { handle: 'alice', seq: 1, rotation })
  const byBob = await make(mallory, { handle: 'alice', seq: 5, rotation: await createRotation(bob, 'alice', mallory.peerIdString) })
  const a3 = await make(alice, { handle: 'alice', seq: 3 })
  const expiry = a1.expires
  const successionCases = [
    { name: 'no-existing-record', existing: null, incoming: t(a1), now: NOW, expect: 'accept' },
    { name: 'same-owner-higher-seq', existing: t(a1), incoming: t(a2), now: NOW, expect: 'accept' },
    { name: 'same-owner-same-seq', existing: t(a1), incoming: t(a1relays), now: NOW, expect: 'ignore' },
    { name: 'same-owner-lower-seq', existing: t(a2), incoming: t(a1), now: NOW, expect: 'ignore' },
    { name: 'other-owner-while-held', existing: t(a1), incoming: t(m5), now: NOW, expect: 'ERR_HANDLE_TAKEN' },
    { name: 'other-owner-one-ms-before-expiry', existing: t(a1), incoming: t(m5), now: expiry - 1, expect: 'ERR_HANDLE_TAKEN' },
    { name: 'other-owner-at-expiry', existing: t(a1), incoming: t(m5), now: expiry, expect: 'accept' },
    { name: 'rotation-from-holder', existing: t(a1), incoming: t(rotated), now: NOW, expect: 'accept' },
    { name: 'rotation-from-holder-without-higher-seq', existing: t(a1), incoming: t(next1), now: NOW, expect: 'ERR_HANDLE_TAKEN' },
    { name: 'rotation-from-someone-else', existing: t(a1), incoming: t(byBob), now: NOW, expect: 'ERR_HANDLE_TAKEN' },
    { name: 'old-key-after-rotation', existing: t(rotated), incoming: t(a3), now: NOW, expect: 'ERR_HANDLE_TAKEN' }
  ]
  for (const c of successionCases) {
    let got: string
    try {
      got = succession(c.existing === null ? undefined : parseHandleRecord(utf8(c.existing)), parseHandleRecord(utf8(c.incoming)), c.now)
    } catch (err) {
      got = (err as { code: string }).code
    }
    if (got !== c.expect) throw new Error(`succession ${c.name}: expected ${c.expect}, implementation says ${got}`)
  }

  // ---- resolution across trusted servers (§15)
  const answer = (server: string, r: HandleRecord): { server: string, record: string } => ({ server, record: t(r) })
  const resolutionCases: Array<{ name: string, answers: Array<{ server: string, record: string }>, now: number, expect: { record: number | null, code?: string, servers: string[] } }> = [
    { name: 'one-server', answers: [answer('s1', a1)], now: NOW, expect: { record: 0, servers: ['s1'] } },
    { name: 'no-answer', answers: [], now: NOW, expect: { record: null, code: 'ERR_NOT_FOUND', servers: [] } },
    { name: 'expired-answers-dropped', answers: [answer('s1', a1)], now: expiry, expect: { record: null, code: 'ERR_NOT_FOUND', servers: [] } },
    { name: 'same-owner-latest-seq', answers: [answer('s1', a1), answer('s2', a2)], now: NOW, expect: { record: 1, servers: ['s1', 's2'] } },
    { name: 'other-owner-in-the-minority', answers: [answer('s1', a1), answer('s2', m5), answer('s3', a2)], now: NOW, expect: { record: 2, servers: ['s1', 's3'] } },
    { name: 'owners-tied-is-a-conflict', answers: [answer('s1', a1), answer('s2', m5)], now: NOW, expect: { record: null, code: 'ERR_HANDLE_CONFLICT', servers: ['s1', 's2'] } },
    { name: 'a-server-counts-once', answers: [answer('s1', m5), answer('s1', a1), answer('s2', a1)], now: NOW, expect: { record: null, code: 'ERR_HANDLE_CONFLICT', servers: ['s1', 's2'] } },
    { name: 'rotation-joins-the-lineage', answers: [answer('s1', a1), answer('s2', rotated)], now: NOW, expect: { record: 1, servers: ['s1', 's2'] } },
    { name: 'old-key-after-rotation-refused', answers: [answer('s1', rotated), answer('s2', a3)], now: NOW, expect: { record: 0, servers: ['s1', 's2'] } }
  ]
  for (const c of resolutionCases) {
    const answers = c.answers.map(a => ({ server: a.server, record: parseHandleRecord(utf8(a.record)) }))
    const got = chooseRecord(answers, c.now)
    const index = got.record === undefined ? null : answers.findIndex(a => a.record === got.record)
    if (index !== c.expect.record || got.code !== c.expect.code || got.servers.join() !== c.expect.servers.join()) {
      throw new Error(`resolution ${c.name}: expected ${JSON.stringify(c.expect)}, implementation says ${JSON.stringify({ record: index, code: got.code, servers: got.servers })}`)
    }
  }

  const keys = [alice, aliceNext, bob, carol, mallory, relay1, relay2].map(s => ({
    label: s.label,
    seed: toHex(s.seed),
    publicKey: toHex(s.publicKey),
    peer: s.peerIdString,
    x25519: toBase64url(s.x25519PublicKey)
  }))

  return {
    description: 'Handle record vectors (protocols/handle-record/README.md). validation: validate `bytes` (UTF-8 text) or `bytesHex` stored under DHT key `key` with `options`; `expect` is "valid" or the error code. A faulty record has one fault where that can be arranged: the proof of work and signature are recomputed over faulty content unless the fault is in them or makes them undefined (bytes that are not canonical JSON). selection: the index the selector returns for `records` (UTF-8 texts). succession: the verdict for `incoming` over `existing` at `now` (records are parsed, not re-validated). resolution: what a resolver believes among trusted servers\' `answers` at `now` (§15): `expect.record` is the index of the chosen answer (null with a `code`), `expect.servers` the sorted servers of its lineage (of the tied lineages for a conflict). keys: the seeds of every key used, so that every byte can be regenerated.',
    constants: {
      recordSignatureDomain: RECORD_SIGNATURE_DOMAIN,
      rotationSignatureDomain: 'parley/handle-rotation/v1\n',
      powDomain: POW_DOMAIN,
      maxRecordBytes: MAX_RECORD_BYTES,
      now: NOW,
      bits: BITS
    },
    keys,
    validation,
    selection,
    succession: successionCases,
    resolution: resolutionCases
  }
}

/** Same bytes, non-canonical spelling: sets the lowest unused bit of the last character. */
function tailBits (b64: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(b64.slice(-1))
  return b64.slice(0, -1) + alphabet[last + 1]
}
