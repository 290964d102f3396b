/**
 * Generates `protocols/mailbox/vectors.json`: requests a relay's mailbox
 * takes in order, each from a named test peer, with the answer it gives.
 * Envelopes are sealed with a fixed ephemeral key and records minted at a
 * fixed time, so the file is the same on every run.
 */
import { sealBody } from '../../src/envelope/sealed.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import type { Envelope, EnvelopeDraft } from '../../src/envelope/envelope.js'
import { createHandleRecord } from '../../src/handles/record.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js'
import { MAX_BATCH } from '../../src/mailbox/constants.js'
import { testKey } from './keys.js'
import type { TestKey } from './keys.js'

/** The relay's clock while the vectors run. */
export const MAILBOX_NOW = 1_800_000_000_000
/** The peers the vectors name, by label: `testKey(label)`. */
export const MAILBOX_PEERS = ['relay', 'alice', 'bob', 'carol', 'dave', 'mallory'] as const
const DAY = 24 * 3600_000

type Obj = Record<string, unknown>

/** One request and the answer a relay gives it. */
export interface MailboxVector {
  name: string
  description: string
  /** The label of the peer that opens the stream. */
  as: string
  /** The request frame as JSON, or `text` when it is not a JSON object. */
  request?: Obj
  text?: string
  /** Members the answer has (for a pull, `ids` lists its messages' envelope ids). */
  expect: Obj
}

export async function mailboxVectors (): Promise<Obj> {
  const k = Object.fromEntries(MAILBOX_PEERS.map(l => [l, testKey(l)])) as Record<typeof MAILBOX_PEERS[number], TestKey>
  const relayAddr = `/ip4/127.0.0.1/tcp/4001/p2p/${k.relay.peerIdString}`
  const eph = utf8('parley test mailbox ephemeral k.').subarray(0, 32)
  const agent = (key: TestKey): TestKey & { kind: 'agent' } => ({ ...key, kind: 'agent' })
  const record = async (key: TestKey, handle: string, options: { seq?: number, relays?: string[], now?: number, ttlMs?: number } = {}): Promise<Obj> => {
    const { bytes } = await createHandleRecord(agent(key), { handle, seq: options.seq ?? 1, relays: options.relays ?? [relayAddr], now: options.now ?? MAILBOX_NOW - 1000, powBits: 8, ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }) })
    return JSON.parse(fromUtf8(bytes)) as Obj
  }
  let n = 0
  const mail = async (from: TestKey, to: TestKey, text: string, over: Partial<EnvelopeDraft> = {}): Promise<Envelope> => {
    n++
    const id = over.id ?? `mailbox-vector-${String(n).padStart(3, '0')}`
    const { envelope } = await signEnvelope(from, {
      to: { peer: to.peerIdString },
      sealed: sealBody({ jsonrpc: '2.0', method: 'message', params: { text } }, to.x25519PublicKey, from.peerIdString, id, eph),
      id,
      ts: MAILBOX_NOW - 60_000,
      nonce: toNonce(n),
      ...over
    })
    return envelope
  }
  const bobRecord = await record(k.bob, 'bob')
  const aliceRecord = await record(k.alice, 'alice')
  const carolRecord = await record(k.carol, 'carol')
  const deposit = (envelope: unknown, rec: Obj = bobRecord): Obj => ({ op: 'deposit', envelope: envelope as Obj, record: rec })
  const cases: MailboxVector[] = []
  const add = (name: string, description: string, as: string, request: Obj | string, expect: Obj): void => {
    cases.push({ name, description, as, ...(typeof request === 'string' ? { text: request } : { request }), expect })
  }
  const invalid = { status: 'ERR_MAILBOX_INVALID' }

  // malformed frames: nothing stored
  add('not-json', 'A frame that is not JSON.', 'alice', '{"op":', invalid)
  add('not-object', 'A JSON array.', 'alice', '["status"]', invalid)
  add('unknown-op', 'An op the protocol does not have.', 'alice', { op: 'list' }, invalid)
  add('extra-member', 'status with a member it does not take.', 'alice', { op: 'status', peer: k.bob.peerIdString }, invalid)
  add('pull-limit-zero', 'pull with limit 0.', 'bob', { op: 'pull', limit: 0 }, invalid)
  add('pull-limit-over', `pull with limit ${MAX_BATCH + 1}.`, 'bob', { op: 'pull', limit: MAX_BATCH + 1 }, invalid)
  add('pull-limit-fraction', 'pull with limit 1.5.', 'bob', { op: 'pull', limit: 1.5 }, invalid)
  add('pull-bad-cursor', 'pull after a string that is not a cursor.', 'bob', { op: 'pull', after: 'no spaces!' }, invalid)
  add('pull-foreign-cursor', 'pull after a cursor-shaped string this relay did not make.', 'bob', { op: 'pull', after: 'abc' }, invalid)
  add('ack-empty', 'ack with no ids.', 'bob', { op: 'ack', ids: [] }, invalid)
  add('ack-not-id', 'ack with an id that is not an envelope id.', 'bob', { op: 'ack', ids: ['a b'] }, invalid)
  add('deposit-no-record', 'deposit without the record.', 'alice', { op: 'deposit', envelope: await mail(k.alice, k.bob, 'x') }, invalid)

  // deposits refused by §3.1, in its order
  {
    const { envelope: clear } = await signEnvelope(k.alice, { to: { peer: k.bob.peerIdString }, body: { jsonrpc: '2.0', method: 'message', params: { text: 'in clear' } }, id: 'mailbox-clear-01', ts: MAILBOX_NOW - 60_000, nonce: toNonce(900) })
    add('unsealed', 'An envelope with a clear body: the relay keeps sealed mail only.', 'alice', deposit(clear), invalid)
  }
  add('not-the-sender', 'alice\'s envelope deposited by mallory.', 'mallory', deposit(await mail(k.alice, k.bob, 'forwarded')), invalid)
  {
    const e = await mail(k.alice, k.bob, 'tampered')
    add('bad-signature', 'An envelope whose id was changed after signing.', 'alice', deposit({ ...e, id: 'mailbox-tampered' }), invalid)
  }
  {
    const e = await mail(k.alice, k.bob, 'handle only', { to: { handle: 'bob' } })
    add('no-to-peer', 'An envelope naming only to.handle.', 'alice', deposit(e), invalid)
  }
  add('too-large', 'An envelope over the relay\'s maxMessageBytes (4096 here).', 'alice', deposit(await mail(k.alice, k.bob, 'x'.repeat(3000))), { status: 'ERR_MAILBOX_TOO_LARGE', limit: 4096 })
  add('record-elsewhere', 'bob\'s record lists another relay only.', 'alice', deposit(await mail(k.alice, k.bob, 'x'), await record(k.bob, 'bob', { relays: [`/ip4/127.0.0.1/tcp/4001/p2p/${k.mallory.peerIdString}`] })), { status: 'ERR_MAILBOX_UNKNOWN_RECIPIENT' })
  add('record-other-peer', 'Mail for bob carrying alice\'s record.', 'carol', deposit(await mail(k.carol, k.bob, 'x'), aliceRecord), { status: 'ERR_MAILBOX_UNKNOWN_RECIPIENT' })
  add('record-expired', 'bob\'s record expired a day ago.', 'alice', deposit(await mail(k.alice, k.bob, 'x'), await record(k.bob, 'bob', { now: MAILBOX_NOW - 2 * DAY, ttlMs: DAY })), { status: 'ERR_MAILBOX_UNKNOWN_RECIPIENT' })
  add('record-tampered', 'bob\'s record with its seq changed after signing.', 'alice', deposit(await mail(k.alice, k.bob, 'x'), { ...bobRecord, seq: 2 }), { status: 'ERR_MAILBOX_UNKNOWN_RECIPIENT' })
  add('record-stale', 'carol\'s seq 1 record, while the relay holds @carol seq 2 naming dave (`held`).', 'alice', deposit(await mail(k.alice, k.carol, 'x'), carolRecord), { status: 'ERR_MAILBOX_STALE_RECORD' })

  // stored, dedupe, pickup by the recipient alone
  const first = await mail(k.alice, k.bob, 'hello bob')
  const expires = MAILBOX_NOW + 7 * DAY
  add('deposit', 'alice deposits mail for bob.', 'alice', deposit(first), { status: 'stored', id: first.id, expires })
  add('deposit-again', 'The same deposit again (a retry after a lost answer): stored once.', 'alice', deposit(first), { status: 'stored', id: first.id, expires })
  add('deposit-retry-new-nonce', 'The same id signed again with a new nonce: still the same message.', 'alice', deposit(await mail(k.alice, k.bob, 'hello bob', { id: first.id, nonce: toNonce(901) })), { status: 'stored', id: first.id, expires })
  const firstBytes = utf8(canonicalize(first as unknown as Obj)).byteLength
  add('status', 'bob\'s mail.', 'bob', { op: 'status' }, { status: 'ok', count: 1, bytes: firstBytes })
  add('status-other', 'mallory asks: its own mailbox, empty.', 'mallory', { op: 'status' }, { status: 'ok', count: 0, bytes: 0 })
  add('pull-other', 'mallory pulls: nothing.', 'mallory', { op: 'pull' }, { status: 'ok', ids: [], remaining: 0 })
  add('ack-other', 'mallory acknowledges bob\'s message: nothing deleted.', 'mallory', { op: 'ack', ids: [first.id] }, { status: 'ok', deleted: 0 })
  add('pull', 'bob pulls.', 'bob', { op: 'pull' }, { status: 'ok', ids: [first.id], remaining: 0 })

  // quotas: perSender 3, perRecipient 4, total 5 here
  const a2 = await mail(k.alice, k.bob, 'two')
  const a3 = await mail(k.alice, k.bob, 'three')
  add('deposit-2', 'alice\'s second message for bob.', 'alice', deposit(a2), { status: 'stored', id: a2.id })
  add('deposit-3', 'alice\'s third.', 'alice', deposit(a3), { status: 'stored', id: a3.id })
  add('quota-sender', 'alice\'s fourth: over perSender (3).', 'alice', deposit(await mail(k.alice, k.bob, 'four')), { status: 'ERR_MAILBOX_QUOTA', scope: 'sender', limit: 3 })
  const m1 = await mail(k.mallory, k.bob, 'from mallory')
  add('deposit-4', 'mallory\'s message for bob: bob\'s fourth.', 'mallory', deposit(m1), { status: 'stored', id: m1.id })
  add('quota-recipient', 'carol\'s message for bob: over perRecipient (4).', 'carol', deposit(await mail(k.carol, k.bob, 'from carol')), { status: 'ERR_MAILBOX_QUOTA', scope: 'recipient', limit: 4 })
  const c1 = await mail(k.carol, k.alice, 'for alice')
  add('deposit-5', 'carol\'s message for alice: the relay\'s fifth.', 'carol', deposit(c1, aliceRecord), { status: 'stored', id: c1.id })
  add('full', 'dave\'s message for alice: over total (5).', 'dave', deposit(await mail(k.dave, k.alice, 'for alice'), aliceRecord), { status: 'ERR_MAILBOX_FULL', limit: 5 })
  add('pull-limit', 'bob pulls two: oldest first.', 'bob', { op: 'pull', limit: 2 }, { status: 'ok', ids: [first.id, a2.id], remaining: 2 })
  add('ack', 'bob acknowledges two, one of them twice, and an unknown id.', 'bob', { op: 'ack', ids: [first.id, a2.id, first.id, 'never-stored-id'] }, { status: 'ok', deleted: 2 })
  add('ack-again', 'The same acknowledgement again.', 'bob', { op: 'ack', ids: [first.id, a2.id] }, { status: 'ok', deleted: 0 })
  add('status-after-ack', 'bob\'s mail after the acknowledgement.', 'bob', { op: 'status' }, { status: 'ok', count: 2 })
  const d1 = await mail(k.dave, k.alice, 'for alice, later')
  add('deposit-after-ack', 'dave\'s message for alice, now that there is room.', 'dave', deposit(d1, aliceRecord), { status: 'stored', id: d1.id })
  add('pull-alice', 'alice pulls her mail.', 'alice', { op: 'pull' }, { status: 'ok', ids: [c1.id, d1.id], remaining: 0 })

  return {
    description: 'Requests one relay\'s mailbox takes in this order, each on its own stream from the peer `as` names (testKey(label): test/vectors/keys.ts), and the members its answer has. For pull, `ids` lists the envelope ids of `messages` in order. The relay is `testKey("relay")`, its clock `now`, its settings `relay`; `held` lists the handle records it holds (newerRecord).',
    now: MAILBOX_NOW,
    peers: Object.fromEntries(MAILBOX_PEERS.map(l => [l, k[l].peerIdString])),
    relay: { maxMessageBytes: 4096, minPowBits: 8, ttlMs: 7 * DAY, quotas: { perSender: 3, perRecipient: 4, perRecipientBytes: 1024 * 1024, total: 5, totalBytes: 1024 * 1024 } },
    held: [{ handle: 'carol', seq: 2, peer: k.dave.peerIdString }],
    cases
  }
}

function toNonce (n: number): string {
  return 'bm9uY2Utbm9uY2Ut' + String(n).padStart(8, '0')
}
