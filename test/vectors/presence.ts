/**
 * Generates `protocols/presence/vectors.json`: presence announcements signed
 * with the fixed test keys, one valid case per shape and one case per way an
 * announcement is refused. Deterministic (fixed keys and clock); every verdict
 * is checked against this implementation before writing.
 */
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import type { JsonValue } from '../../src/crypto/canonical-json.js'
import { fromUtf8, toBase64url, utf8 } from '../../src/crypto/bytes.js'
import {
  DEFAULT_MAX_AGE_MS, DEFAULT_MAX_FUTURE_MS, MAX_PRESENCE_BYTES, PRESENCE_SIGNATURE_DOMAIN, PRESENCE_TOPIC, presenceSigningMessage, verifyPresence
} from '../../src/presence/announcement.js'

/** The clock of every vector. */
export const NOW = 1_800_000_000_000

type Members = Record<string, unknown>

async function sign (key: TestKey, members: Members): Promise<string> {
  const sig = toBase64url(await key.sign(presenceSigningMessage(members)))
  return canonicalize({ ...members, sig } as JsonValue)
}

export interface PresenceCase {
  name: string
  note: string
  /** The gossipsub publisher the announcement arrived from. */
  from: string
  text: string
  expect: { status: 'valid' | 'invalid' | 'unsigned', reason?: string }
  signingInput?: string
}

export async function presenceVectors (): Promise<unknown> {
  const alice = testKey('alice')
  const bob = testKey('bob')
  const mallory = testKey('mallory')
  const relay = testKey('relay')
  const handles: Record<string, { peer: string, kind: string }> = {
    alice: { peer: alice.peerIdString, kind: 'human' },
    rapidplumb: { peer: bob.peerIdString, kind: 'agent' }
  }
  const options = { now: NOW, maxAgeMs: DEFAULT_MAX_AGE_MS, maxFutureMs: DEFAULT_MAX_FUTURE_MS }
  const aliceMembers: Members = {
    v: 1,
    peer: alice.peerIdString,
    handle: 'alice',
    kind: 'human',
    capabilities: ['chat', 'approve'],
    connections: [{ peer: relay.peerIdString, transport: 'tcp' }, { peer: bob.peerIdString, transport: 'webrtc' }],
    ts: NOW - 1000
  }
  const aliceText = await sign(alice, aliceMembers)
  const anonMembers: Members = { v: 1, peer: mallory.peerIdString, kind: 'agent', capabilities: [], connections: [{ peer: relay.peerIdString, transport: 'websocket' }], ts: NOW }
  const parsed = JSON.parse(aliceText) as Members
  // flip one character in the middle of the signature (stays canonical base64url)
  const sig = String(parsed.sig)
  const flipped = sig.slice(0, 20) + (sig[20] === 'A' ? 'B' : 'A') + sig.slice(21)

  const cases: Array<Omit<PresenceCase, 'expect'> & { expect?: PresenceCase['expect'] }> = [
    { name: 'valid-with-handle', note: 'signed by peer, published by peer, fresh, and the DHT gives @alice to this peer as a human', from: alice.peerIdString, text: aliceText, signingInput: fromUtf8(presenceSigningMessage(aliceMembers)) },
    { name: 'valid-without-handle', note: 'no handle claimed: valid on its signature alone (shown as anon)', from: mallory.peerIdString, text: await sign(mallory, anonMembers) },
    { name: 'unsigned', note: 'no sig member', from: alice.peerIdString, text: canonicalize(aliceMembers as JsonValue) },
    { name: 'bad-signature', note: 'one character of sig changed', from: alice.peerIdString, text: canonicalize({ ...parsed, sig: flipped } as JsonValue) },
    { name: 'tampered-capabilities', note: 'a member changed after signing', from: alice.peerIdString, text: canonicalize({ ...parsed, capabilities: ['chat', 'approve', 'pay'] } as JsonValue) },
    { name: 'signer-not-publisher', note: 'alice\'s valid announcement republished by mallory as her own gossipsub message', from: mallory.peerIdString, text: aliceText },
    { name: 'handle-not-owned', note: 'mallory signs a claim to @alice, which the DHT gives to another peer', from: mallory.peerIdString, text: await sign(mallory, { ...anonMembers, handle: 'alice', kind: 'human' }) },
    { name: 'kind-mismatch', note: 'alice claims @alice as an agent; her record says human', from: alice.peerIdString, text: await sign(alice, { ...aliceMembers, kind: 'agent' }) },
    { name: 'handle-unresolved', note: 'a handle no record names', from: mallory.peerIdString, text: await sign(mallory, { ...anonMembers, handle: 'nobody-here' }) },
    { name: 'stale', note: `ts more than ${DEFAULT_MAX_AGE_MS} ms before now`, from: alice.peerIdString, text: await sign(alice, { ...aliceMembers, ts: NOW - DEFAULT_MAX_AGE_MS - 1 }) },
    { name: 'future', note: `ts more than ${DEFAULT_MAX_FUTURE_MS} ms after now`, from: alice.peerIdString, text: await sign(alice, { ...aliceMembers, ts: NOW + DEFAULT_MAX_FUTURE_MS + 1 }) },
    { name: 'non-canonical', note: 'the valid announcement with a space after the first comma', from: alice.peerIdString, text: aliceText.replace(',', ', ') },
    { name: 'byte-order-mark', note: 'the valid announcement preceded by a UTF-8 byte order mark (a decoder that drops it would see the canonical text)', from: alice.peerIdString, text: '\uFEFF' + aliceText },
    { name: 'unknown-member', note: 'an extra top-level member (signed)', from: alice.peerIdString, text: await sign(alice, { ...aliceMembers, extra: true }) },
    { name: 'bad-transport', note: 'a transport outside tcp, websocket, circuit, webrtc', from: alice.peerIdString, text: await sign(alice, { ...aliceMembers, connections: [{ peer: bob.peerIdString, transport: 'pigeon' }] }) },
    { name: 'bad-peer', note: 'peer is not an Ed25519 peer id', from: alice.peerIdString, text: canonicalize({ ...parsed, peer: 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' } as JsonValue) },
    { name: 'unsupported-version', note: 'v is 2', from: alice.peerIdString, text: await sign(alice, { ...aliceMembers, v: 2 }) },
    { name: 'not-json', note: 'not JSON text', from: alice.peerIdString, text: '{"v":1,' },
    { name: 'oversize', note: `${MAX_PRESENCE_BYTES + 1} bytes, refused before parsing`, from: alice.peerIdString, text: `{"pad":"${'a'.repeat(MAX_PRESENCE_BYTES + 1 - 10)}"}` }
  ]
  const expected: Record<string, PresenceCase['expect']> = {
    'valid-with-handle': { status: 'valid' },
    'valid-without-handle': { status: 'valid' },
    unsigned: { status: 'unsigned', reason: 'ERR_UNSIGNED' },
    'bad-signature': { status: 'invalid', reason: 'ERR_BAD_SIGNATURE' },
    'tampered-capabilities': { status: 'invalid', reason: 'ERR_BAD_SIGNATURE' },
    'signer-not-publisher': { status: 'invalid', reason: 'ERR_SIGNER_MISMATCH' },
    'handle-not-owned': { status: 'invalid', reason: 'ERR_HANDLE_MISMATCH' },
    'kind-mismatch': { status: 'invalid', reason: 'ERR_HANDLE_MISMATCH' },
    'handle-unresolved': { status: 'invalid', reason: 'ERR_HANDLE_UNRESOLVED' },
    stale: { status: 'invalid', reason: 'ERR_STALE' },
    future: { status: 'invalid', reason: 'ERR_FUTURE' },
    'non-canonical': { status: 'invalid', reason: 'ERR_NON_CANONICAL' },
    'byte-order-mark': { status: 'invalid', reason: 'ERR_NON_CANONICAL' },
    'unknown-member': { status: 'invalid', reason: 'ERR_MALFORMED' },
    'bad-transport': { status: 'invalid', reason: 'ERR_MALFORMED' },
    'bad-peer': { status: 'invalid', reason: 'ERR_MALFORMED' },
    'unsupported-version': { status: 'invalid', reason: 'ERR_UNSUPPORTED_VERSION' },
    'not-json': { status: 'invalid', reason: 'ERR_MALFORMED' },
    oversize: { status: 'invalid', reason: 'ERR_OVERSIZE' }
  }
  const resolve = async (h: string): Promise<{ peer: string, kind: string } | undefined> => handles[h]
  const out: PresenceCase[] = []
  for (const c of cases) {
    const want = expected[c.name]
    if (want === undefined) throw new Error(`no expectation for ${c.name}`)
    const got = await verifyPresence(utf8(c.text), { ...options, from: c.from, resolve })
    if (got.status !== want.status || got.reason !== want.reason) throw new Error(`${c.name}: implementation says ${got.status} ${got.reason}, vector expects ${want.status} ${want.reason}`)
    out.push({ ...c, expect: want })
  }
  return {
    description: 'Parley presence announcement vectors (protocols/presence/README.md). Each case: the announcement text as published, the gossipsub publisher it came from, and the verdict. Check with the options and the handle table given (the table stands for what the DHT says).',
    topic: PRESENCE_TOPIC,
    signatureDomain: PRESENCE_SIGNATURE_DOMAIN,
    keys: { alice: alice.peerIdString, bob: bob.peerIdString, mallory: mallory.peerIdString, relay: relay.peerIdString },
    options,
    handles,
    cases: out
  }
}
