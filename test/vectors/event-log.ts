/**
 * Generates `protocols/event-log/vectors.json`. Entries are built and signed
 * here from the spec's definition (JCS of the entry without "sig", prefixed
 * by the context; prev = SHA-256 of the previous entry's JCS bytes),
 * independently of `EventLog`, so that the tests compare the two and so
 * that broken logs with valid signatures can be written too.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { toBase64url, toHex, utf8 } from '../../src/crypto/bytes.js'
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'
import { signRaw } from './envelope.js'

export const LOG_NOW = 1_800_000_000_000
const CONTEXT = 'parley/event-log/v1\n'

type Obj = Record<string, unknown>

export interface EventInput {
  type: string
  data: Obj
  ts: number
}

async function signEntry (key: TestKey, unsigned: Obj, context = CONTEXT): Promise<Obj> {
  const sig = await key.sign(utf8(context + canonicalize(unsigned)))
  return { ...unsigned, sig: toBase64url(sig) }
}

function hashOf (entry: Obj): string {
  return toBase64url(sha256(utf8(canonicalize(entry))))
}

/** Entries `from`, `from + 1`… of a chain, continuing after `prev`; `signed(i)` says which carry a signature (default all). */
async function chain (key: TestKey, events: EventInput[], prev?: string, from = 0, signed: (i: number) => boolean = () => true): Promise<Obj[]> {
  const out: Obj[] = []
  for (const [i, e] of events.entries()) {
    const unsigned: Obj = { v: 1, seq: from + i, ts: e.ts, type: e.type, data: e.data, by: key.peerIdString }
    if (prev !== undefined) unsigned.prev = prev
    const entry = signed(i) ? await signEntry(key, unsigned) : unsigned
    out.push(entry)
    prev = hashOf(entry)
  }
  return out
}

function exportOf (peer: string, entries: unknown[], over: Obj = {}): Obj {
  return { v: 1, type: 'parley/event-log', peer, entries, ...over }
}

export async function eventLogVectors (): Promise<Obj> {
  const alice = testKey('alice')
  const bob = testKey('bob')
  const mallory = testKey('mallory')
  const envelope = JSON.parse(await signRaw(bob, {
    v: 1,
    id: 'AAECAwQFBgcICQoLDA0ODw',
    ts: LOG_NOW + 5,
    from: { handle: 'bob', peer: bob.peerIdString },
    to: { handle: 'alice', peer: alice.peerIdString },
    nonce: 'EBESExQVFhcYGRobHB0eHw',
    body: { jsonrpc: '2.0', id: 1, method: 'purchase', params: { item: 'boiler service', price: { value: 180, currency: 'GBP' } } }
  })) as Obj
  const appends: EventInput[] = [
    { type: 'session.open', data: { session: 's-1', peer: bob.peerIdString, handle: 'bob', kind: 'agent', direction: 'in', transport: 'relay' }, ts: LOG_NOW },
    { type: 'request.in', data: { session: 's-1', peer: bob.peerIdString, envelope }, ts: LOG_NOW + 10 },
    { type: 'approval.request', data: { approval: 'ICEiIyQlJicoKSorLC0uLw', peer: bob.peerIdString, method: 'purchase', summary: 'Pay 180 GBP to @bob — déjà vu 🙂', amount: { value: 180, currency: 'GBP' } }, ts: LOG_NOW + 20 },
    { type: 'negotiation.transition', data: { negotiation: 'n-1', from: 'negotiating', to: 'confirmed', numbers: { big: 1e21, small: 1e-7, half: 0.5 } }, ts: LOG_NOW + 20 },
    { type: 'session.close', data: { session: 's-1', peer: bob.peerIdString, reason: 'done' }, ts: LOG_NOW + 1000 }
  ]
  const good = await chain(alice, appends)
  const peer = alice.peerIdString
  const hashes = good.map(hashOf)
  const cases: Obj[] = []
  const add = (name: string, description: string, log: Obj, expect: string, extra: Obj = {}): void => {
    cases.push({ name, description, log, expect, ...extra })
  }
  const at = (i: number): Obj => good[i] as Obj
  const replaced = (i: number, entry: Obj): Obj[] => good.map((e, j) => j === i ? entry : e)

  // valid
  add('empty', 'A log with no entries.', exportOf(peer, []), 'valid', { count: 0 })
  add('one-entry', 'Only the genesis entry (no "prev").', exportOf(peer, good.slice(0, 1)), 'valid', { count: 1, head: { seq: 0, hash: hashes[0], ts: LOG_NOW } })
  add('five-entries', 'The log of `appends`: an envelope inside data, non-ASCII text, JCS numbers, two entries with the same ts.', exportOf(peer, good), 'valid', { count: 5, head: { seq: 4, hash: hashes[4], ts: LOG_NOW + 1000 } })
  add('known-head', 'Verified against a head seen earlier (entry 2), which the log still holds.', exportOf(peer, good), 'valid', { count: 5, head: { seq: 4, hash: hashes[4], ts: LOG_NOW + 1000 }, options: { knownHead: { seq: 2, hash: hashes[2] } } })

  // batches: one signature on the last entry of each covers the others through the chain
  const batched = await chain(alice, appends, undefined, 0, i => i === 0 || i === 4)
  add('batched', 'The same events written in two batches: entry 0 alone, then entries 1-4 with one signature, on entry 4.', exportOf(peer, batched), 'valid', { count: 5, head: { seq: 4, hash: hashOf(batched[4] as Obj), ts: LOG_NOW + 1000 } })
  add('unsigned-tail', 'Entry 4 without its signature: entries 1-4 are covered by none.', exportOf(peer, [...batched.slice(0, 4), withoutSig(batched[4] as Obj)]), 'ERR_LOG_UNSIGNED_TAIL', { seq: 4 })
  add('changed-unsigned', 'Entry 2 (unsigned) changed: entry 3\'s prev no longer names it.', exportOf(peer, batched.map((e, j) => j === 2 ? { ...e, data: { ...((e as Obj).data as Obj), method: 'refund' } } : e)), 'ERR_LOG_BROKEN_CHAIN', { seq: 3 })

  // a key handover (§3.1): entries 0-2 by alice, entry 3 alice's signed handover to bob, entry 4 by bob
  const before = await chain(alice, appends.slice(0, 3), undefined, 0, i => i === 2)
  const handover = await chain(alice, [{ type: 'log.handover', data: { next: bob.peerIdString }, ts: LOG_NOW + 20 }], hashOf(before[2] as Obj), 3)
  const after = await chain(bob, appends.slice(4), hashOf(handover[0] as Obj), 4)
  const handedOver = [...before, ...handover, ...after]
  add('handover', 'Alice hands her log to bob (a key rotation): entry 3 is her signed `log.handover` naming bob, entry 4 is by bob. The export still names alice, who began it.', exportOf(peer, handedOver), 'valid', { count: 5, signer: bob.peerIdString, head: { seq: 4, hash: hashOf(after[0] as Obj), ts: LOG_NOW + 1000 } })
  const unsignedHandover = await chain(alice, [{ type: 'log.handover', data: { next: bob.peerIdString }, ts: LOG_NOW + 20 }], hashOf(before[2] as Obj), 3, () => false)
  add('handover-unsigned', 'The handover entry carries no signature of its own (bob\'s on entry 4 would cover it, but only alice can hand her log over).', exportOf(peer, [...before, ...unsignedHandover, ...await chain(bob, appends.slice(4), hashOf(unsignedHandover[0] as Obj), 4)]), 'ERR_LOG_BAD_HANDOVER', { seq: 3 })
  add('after-handover-old-key', 'After the handover, entry 4 is still by alice.', exportOf(peer, [...before, ...handover, ...await chain(alice, appends.slice(4), hashOf(handover[0] as Obj), 4)]), 'ERR_LOG_WRONG_SIGNER', { seq: 4 })

  // the export
  add('export-version', 'The export says v = 2.', exportOf(peer, good, { v: 2 }), 'ERR_LOG_UNSUPPORTED_VERSION')
  add('export-type', 'The export\'s type is not "parley/event-log".', exportOf(peer, good, { type: 'parley/log' }), 'ERR_LOG_MALFORMED')
  add('export-unknown-member', 'The export has a member the format does not define.', exportOf(peer, good, { note: 'x' }), 'ERR_LOG_MALFORMED')
  add('export-bad-peer', 'The export\'s peer is not an Ed25519 peer id.', exportOf('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', good), 'ERR_LOG_MALFORMED')
  add('trailing-garbage', 'A non-entry after the last entry.', exportOf(peer, [...good, 'garbage']), 'ERR_LOG_MALFORMED', { seq: 5 })

  // entry members
  add('entry-unknown-member', 'Entry 1 carries an extra member (signed with it).', exportOf(peer, replaced(1, await signEntry(alice, { ...withoutSig(at(1)), extra: true }))), 'ERR_LOG_MALFORMED', { seq: 1 })
  add('entry-version', 'Entry 2 says v = 2 (correctly signed).', exportOf(peer, replaced(2, await signEntry(alice, { ...withoutSig(at(2)), v: 2 }))), 'ERR_LOG_UNSUPPORTED_VERSION', { seq: 2 })
  add('genesis-with-prev', 'Entry 0 carries a "prev" (correctly signed).', exportOf(peer, [await signEntry(alice, { ...withoutSig(at(0)), prev: toBase64url(new Uint8Array(32)) })]), 'ERR_LOG_MALFORMED', { seq: 0 })
  {
    const noPrev = withoutSig(at(1))
    delete noPrev.prev
    add('missing-prev', 'Entry 1 has no "prev" (correctly signed).', exportOf(peer, replaced(1, await signEntry(alice, noPrev))), 'ERR_LOG_MALFORMED', { seq: 1 })
  }
  add('bad-type', 'Entry 1\'s type has upper-case letters.', exportOf(peer, replaced(1, await signEntry(alice, { ...withoutSig(at(1)), type: 'Request.In' }))), 'ERR_LOG_MALFORMED', { seq: 1 })
  add('data-not-object', 'Entry 1\'s data is an array.', exportOf(peer, replaced(1, await signEntry(alice, { ...withoutSig(at(1)), data: [1, 2] }))), 'ERR_LOG_MALFORMED', { seq: 1 })
  add('fractional-ts', 'Entry 3\'s ts has a fraction.', exportOf(peer, replaced(3, { ...at(3), ts: LOG_NOW + 20.5 })), 'ERR_LOG_MALFORMED', { seq: 3 })
  add('sig-wrong-length', 'Entry 2\'s signature is 63 bytes.', exportOf(peer, replaced(2, { ...at(2), sig: toBase64url(new Uint8Array(63)) })), 'ERR_LOG_MALFORMED', { seq: 2 })
  add('sig-non-canonical', 'Entry 2\'s signature has non-zero unused bits in its last character.', exportOf(peer, replaced(2, { ...at(2), sig: (at(2).sig as string).slice(0, 85) + 'B' })), 'ERR_LOG_MALFORMED', { seq: 2 })

  // order
  add('removed-entry', 'Entry 2 removed: the entry at position 2 says seq 3.', exportOf(peer, [...good.slice(0, 2), ...good.slice(3)]), 'ERR_LOG_SEQ', { seq: 2 })
  add('reordered', 'Entries 2 and 3 swapped.', exportOf(peer, [at(0), at(1), at(3), at(2), at(4)]), 'ERR_LOG_SEQ', { seq: 2 })
  add('duplicated', 'Entry 1 given twice.', exportOf(peer, [at(0), at(1), at(1), at(2)]), 'ERR_LOG_SEQ', { seq: 2 })
  add('starts-at-one', 'The genesis entry is missing.', exportOf(peer, good.slice(1)), 'ERR_LOG_SEQ', { seq: 0 })
  {
    const back = await chain(alice, [appends[0] as EventInput, { ...(appends[1] as EventInput), ts: LOG_NOW - 1 }])
    add('time-backwards', 'Entry 1\'s ts is earlier than entry 0\'s (correctly signed and chained).', exportOf(peer, back), 'ERR_LOG_SEQ', { seq: 1 })
  }

  // signer
  add('swapped-signer', 'Entry 2 replaced by one with the same members, "by" mallory, signed by mallory.', exportOf(peer, replaced(2, await signEntry(mallory, { ...withoutSig(at(2)), by: mallory.peerIdString }))), 'ERR_LOG_WRONG_SIGNER', { seq: 2 })
  add('export-peer-swapped', 'The export names mallory as the log\'s peer.', exportOf(mallory.peerIdString, good), 'ERR_LOG_WRONG_SIGNER', { seq: 0 })

  // chain
  add('rewritten-and-resigned', 'Entry 1\'s data changed and re-signed by the owner: entry 2\'s prev no longer matches.', exportOf(peer, replaced(1, await signEntry(alice, { ...withoutSig(at(1)), data: { session: 's-1', peer: bob.peerIdString, note: 'rewritten' } }))), 'ERR_LOG_BROKEN_CHAIN', { seq: 2 })
  {
    const fork = await chain(alice, [{ type: 'session.close', data: { session: 's-2', peer: bob.peerIdString }, ts: LOG_NOW + 30 }], toBase64url(new Uint8Array(32).fill(7)), 3)
    add('spliced', 'Entry 3 comes from another chain (correctly signed, prev names an unknown entry).', exportOf(peer, [at(0), at(1), at(2), fork[0] as Obj]), 'ERR_LOG_BROKEN_CHAIN', { seq: 3 })
  }

  // signature
  add('changed-data', 'Entry 1\'s data changed after signing.', exportOf(peer, replaced(1, { ...at(1), data: { ...(at(1).data as Obj), session: 's-9' } })), 'ERR_LOG_BAD_SIGNATURE', { seq: 1 })
  add('changed-last', 'The last entry\'s data changed after signing (no later prev protects it).', exportOf(peer, replaced(4, { ...at(4), data: { session: 's-1', peer: bob.peerIdString, reason: 'timeout' } })), 'ERR_LOG_BAD_SIGNATURE', { seq: 4 })
  {
    const sig = Buffer.from(at(3).sig as string, 'base64url')
    sig[10] = (sig[10] as number) ^ 1
    add('flipped-sig', 'One bit of entry 3\'s signature flipped.', exportOf(peer, replaced(3, { ...at(3), sig: toBase64url(sig) })), 'ERR_LOG_BAD_SIGNATURE', { seq: 3 })
  }
  add('no-context', 'Entry 0 signed without the "parley/event-log/v1\\n" prefix.', exportOf(peer, [await signEntry(alice, withoutSig(at(0)), '')]), 'ERR_LOG_BAD_SIGNATURE', { seq: 0 })
  add('envelope-context', 'Entry 0 signed under the envelope context "parley/envelope/v1\\n".', exportOf(peer, [await signEntry(alice, withoutSig(at(0)), 'parley/envelope/v1\n')]), 'ERR_LOG_BAD_SIGNATURE', { seq: 0 })

  // known head
  add('truncated', 'The last entry was dropped; the verifier knew entry 4 as the head.', exportOf(peer, good.slice(0, 4)), 'ERR_LOG_HEAD_MISMATCH', { seq: 4, options: { knownHead: { seq: 4, hash: hashes[4] } } })
  {
    const rewritten = [...good.slice(0, 3), ...await chain(alice, [{ type: 'session.close', data: { session: 's-1', peer: bob.peerIdString, reason: 'other' }, ts: LOG_NOW + 1000 }], hashes[2], 3)]
    add('forked', 'The owner rewrote the log from entry 3 on; the verifier knew entry 3.', exportOf(peer, rewritten), 'ERR_LOG_HEAD_MISMATCH', { seq: 3, options: { knownHead: { seq: 3, hash: hashes[3] } } })
  }

  return {
    description: 'Event log test vectors. Keys: seed = first 32 bytes of SHA-512("parley test key <label>"); alice owns the log. `appends` are the events of the `five-entries` log in order (an implementation given alice\'s key and a clock returning each `ts` must write exactly those entries). Each case gives an export (`log`), the verifier\'s `options`, and `expect`: "valid" (with `count` and `head`) or the error code, with `seq` the position of the first bad entry where the failure is about one.',
    keys: Object.fromEntries([alice, bob, mallory].map(k => [k.label, { seed: toHex(k.seed), publicKey: toHex(k.publicKey), peerId: k.peerIdString }])),
    signingContext: CONTEXT,
    appends,
    hashes,
    cases
  }
}

function withoutSig (entry: Obj): Obj {
  const copy = { ...entry }
  delete copy.sig
  return copy
}
