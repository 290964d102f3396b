/**
 * The relay's mailbox (protocols/mailbox) against real libp2p peers on
 * loopback TCP: deposit, status, pull, ack and live; every typed refusal;
 * persistence across a restart and a SIGKILL; expiry; and that the relay's
 * files hold no plaintext.
 */
import { expect } from 'chai'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'
import { createRelayNode } from '../../src/node/relay.js'
import type { RelayNode } from '../../src/node/relay.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { openSealed } from '../../src/envelope/sealed.js'
import type { Envelope } from '../../src/envelope/envelope.js'
import { createHandleRecord } from '../../src/handles/record.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { MailboxErrorCode, MailStore, parsePulled, encodeFrame, DEFAULT_MAX_MESSAGE_BYTES } from '../../src/mailbox/index.js'
import { loadRelayConfig } from '../../relay/config.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import { TEST_POW_BITS, ask, mailPeer, openLive, recordJson, sealedMail } from './helpers.js'

const PLAINTEXT = 'the-plaintext-only-bob-may-read-4729'

interface Party { id: Identity, node: Libp2p }

async function party (): Promise<Party> {
  const id = await createIdentity({ kind: 'agent' })
  const node = await mailPeer(id.privateKey)
  return { id, node }
}

async function startRelay (dataDir: string, mailbox: Parameters<typeof createRelayNode>[0]['mailbox'] = {}): Promise<{ relay: RelayNode, addr: Multiaddr }> {
  const relay = await createRelayNode({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], presence: false, minPowBits: TEST_POW_BITS, limits: { inboundConnectionsPerSecond: 1000 }, mailbox })
  const addr = relay.multiaddrs()[0]
  if (addr === undefined) throw new Error('the relay has no address')
  return { relay, addr }
}

async function files (dir: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name)))
  }
  return out
}

async function drain (events: AsyncIterable<unknown>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  for await (const _ of events) { /* each step of the put */ }
}

describe('mailbox server', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayNode
  let addr: Multiaddr
  let alice: Party, bob: Party, mallory: Party
  let bobRecord: Record<string, unknown>

  const deposit = async (from: Party, envelope: Envelope, record = bobRecord, at = addr): Promise<Record<string, unknown>> =>
    ask(from.node, at, { op: 'deposit', envelope, record })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-mailbox-'))
    ;({ relay, addr } = await startRelay(join(dir, 'relay')))
    ;[alice, bob, mallory] = await Promise.all([party(), party(), party()])
    bobRecord = await recordJson(bob.id, 'bob-mail', [addr.toString()])
  })

  after(async () => {
    await Promise.all([alice, bob, mallory].map(async p => p?.node.stop()))
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('stores a deposit, counts it, hands it to the recipient, and deletes it once acknowledged', async () => {
    const mail = await sealedMail(alice.id, bob.id, PLAINTEXT)
    const stored = await deposit(alice, mail.envelope)
    expect(stored.status).to.equal('stored')
    expect(stored.id).to.equal(mail.envelope.id)
    expect(stored.expires).to.be.a('number').within(Date.now() + 7 * 24 * 3600_000 - 60_000, Date.now() + 7 * 24 * 3600_000 + 1000)
    expect(await ask(bob.node, addr, { op: 'status' })).to.deep.equal({ status: 'ok', count: 1, bytes: mail.bytes.byteLength })
    const pulled = parsePulled(encodeFrame(await ask(bob.node, addr, { op: 'pull' })))
    expect(pulled.messages).to.have.length(1)
    expect(pulled.remaining).to.equal(0)
    expect(pulled.messages[0]?.envelope).to.deep.equal(mail.envelope)
    expect(openSealed(pulled.messages[0]?.envelope as unknown as Envelope, bob.id)).to.deep.include({ method: 'message', params: { text: PLAINTEXT } })
    // pulling does not delete
    expect((await ask(bob.node, addr, { op: 'pull' })).messages).to.have.length(1)
    expect(await ask(bob.node, addr, { op: 'ack', ids: [mail.envelope.id] })).to.deep.equal({ status: 'ok', deleted: 1 })
    expect(await ask(bob.node, addr, { op: 'ack', ids: [mail.envelope.id] })).to.deep.equal({ status: 'ok', deleted: 0 })
    expect(await ask(bob.node, addr, { op: 'status' })).to.deep.equal({ status: 'ok', count: 0, bytes: 0 })
    expect(await ask(bob.node, addr, { op: 'pull' })).to.deep.equal({ status: 'ok', messages: [], remaining: 0 })
  })

  it('stores a repeated deposit once and answers it stored again', async () => {
    const mail = await sealedMail(alice.id, bob.id, 'twice')
    const first = await deposit(alice, mail.envelope)
    const second = await deposit(alice, mail.envelope)
    expect(second).to.deep.equal(first)
    // a retry under the same id with a new nonce is the same message too
    const again = await sealedMail(alice.id, bob.id, 'twice', mail.envelope.id)
    expect(await deposit(alice, again.envelope)).to.deep.equal(first)
    expect((await ask(bob.node, addr, { op: 'status' })).count).to.equal(1)
    await ask(bob.node, addr, { op: 'ack', ids: [mail.envelope.id] })
  })

  it('pulls oldest first, at most limit, after a cursor, counting what remains', async () => {
    const mails = []
    for (let i = 0; i < 5; i++) {
      const m = await sealedMail(alice.id, bob.id, `n${i}`)
      await deposit(alice, m.envelope)
      mails.push(m)
    }
    const first = parsePulled(encodeFrame(await ask(bob.node, addr, { op: 'pull', limit: 2 })))
    expect(first.messages.map(m => m.envelope.id)).to.deep.equal(mails.slice(0, 2).map(m => m.envelope.id))
    expect(first.remaining).to.equal(3)
    const next = parsePulled(encodeFrame(await ask(bob.node, addr, { op: 'pull', limit: 2, after: first.messages[1]?.cursor })))
    expect(next.messages.map(m => m.envelope.id)).to.deep.equal(mails.slice(2, 4).map(m => m.envelope.id))
    expect(next.remaining).to.equal(1)
    expect((await ask(bob.node, addr, { op: 'pull', after: 'not-a-cursor' })).status).to.equal(MailboxErrorCode.INVALID)
    expect((await ask(bob.node, addr, { op: 'ack', ids: mails.map(m => m.envelope.id) })).deleted).to.equal(5)
  })

  it('shows a peer other than the recipient only its own, empty, mailbox', async () => {
    const mail = await sealedMail(alice.id, bob.id, 'for bob alone')
    await deposit(alice, mail.envelope)
    expect(await ask(mallory.node, addr, { op: 'status' })).to.deep.equal({ status: 'ok', count: 0, bytes: 0 })
    expect(await ask(mallory.node, addr, { op: 'pull' })).to.deep.equal({ status: 'ok', messages: [], remaining: 0 })
    expect(await ask(mallory.node, addr, { op: 'ack', ids: [mail.envelope.id] })).to.deep.equal({ status: 'ok', deleted: 0 })
    expect((await ask(bob.node, addr, { op: 'status' })).count).to.equal(1)
    await ask(bob.node, addr, { op: 'ack', ids: [mail.envelope.id] })
  })

  describe('refusals', () => {
    it('answers a malformed frame ERR_MAILBOX_INVALID', async () => {
      expect((await ask(alice.node, addr, utf8('not json'))).status).to.equal(MailboxErrorCode.INVALID)
      expect((await ask(alice.node, addr, { op: 'steal' })).status).to.equal(MailboxErrorCode.INVALID)
      expect((await ask(alice.node, addr, { op: 'pull', limit: 0 })).status).to.equal(MailboxErrorCode.INVALID)
      expect((await ask(alice.node, addr, { op: 'ack', ids: [] })).status).to.equal(MailboxErrorCode.INVALID)
      expect((await ask(alice.node, addr, { op: 'deposit', envelope: { v: 1 }, record: bobRecord })).status).to.equal(MailboxErrorCode.INVALID)
    })

    it('refuses an unsealed envelope', async () => {
      const { envelope } = await signEnvelope(alice.id, { to: { peer: bob.id.peerIdString }, body: { jsonrpc: '2.0', method: 'message', params: { text: 'clear' } } })
      expect((await deposit(alice, envelope)).status).to.equal(MailboxErrorCode.INVALID)
    })

    it('refuses an envelope deposited by someone other than its sender', async () => {
      const mail = await sealedMail(alice.id, bob.id, 'forwarded by mallory')
      expect((await deposit(mallory, mail.envelope)).status).to.equal(MailboxErrorCode.INVALID)
    })

    it('refuses an envelope naming no to.peer, or with a bad signature', async () => {
      const mail = await sealedMail(alice.id, bob.id, 'x')
      const noPeer = await signEnvelope(alice.id, { to: { handle: 'bob-mail' }, sealed: mail.envelope.sealed as NonNullable<Envelope['sealed']> })
      expect((await deposit(alice, noPeer.envelope)).status).to.equal(MailboxErrorCode.INVALID)
      expect((await deposit(alice, { ...mail.envelope, id: 'another-id-123' })).status).to.equal(MailboxErrorCode.INVALID)
    })

    it('refuses mail for a recipient whose record does not list this relay, names another peer, or is bad', async () => {
      const mail = await sealedMail(alice.id, bob.id, 'x')
      const elsewhere = await recordJson(bob.id, 'bob-mail', ['/ip4/127.0.0.1/tcp/9/p2p/' + mallory.id.peerIdString])
      const answer = await deposit(alice, mail.envelope, elsewhere)
      expect(answer.status).to.equal(MailboxErrorCode.UNKNOWN_RECIPIENT)
      const mallorys = await recordJson(mallory.id, 'mallory-x', [addr.toString()])
      expect((await deposit(alice, mail.envelope, mallorys)).status).to.equal(MailboxErrorCode.UNKNOWN_RECIPIENT)
      expect((await deposit(alice, mail.envelope, { ...bobRecord, seq: 99 })).status).to.equal(MailboxErrorCode.UNKNOWN_RECIPIENT)
    })

    it('refuses a stale record when the relay holds a newer one naming another peer', async () => {
      const carol = await party()
      try {
        const handle = 'carol-rotates'
        const old = await recordJson(carol.id, handle, [addr.toString()], 1)
        const rotated = await createIdentity({ kind: 'agent' })
        const newer = await createHandleRecord(rotated, { handle, seq: 2, relays: [addr.toString()], powBits: TEST_POW_BITS })
        // stored here first; with no other DHT server around, spreading it fails, which does not matter
        await drain(relay.libp2p.services.dht.put(utf8('/handle/' + handle), newer.bytes, { signal: AbortSignal.timeout(3000) })).catch(() => {})
        expect((await relay.handles.get(handle))?.peer).to.equal(rotated.peerIdString)
        const mail = await sealedMail(alice.id, carol.id, 'to the old key')
        expect((await deposit(alice, mail.envelope, old)).status).to.equal(MailboxErrorCode.STALE_RECORD)
        // the newer record itself is fine
        const fresh = await sealedMail(alice.id, rotated, 'to the new key')
        expect((await deposit(alice, fresh.envelope, JSON.parse(new TextDecoder().decode(newer.bytes)) as Record<string, unknown>)).status).to.equal('stored')
      } finally {
        await carol.node.stop()
      }
    })

    it('refuses an envelope over maxMessageBytes with the limit', async () => {
      const mail = await sealedMail(alice.id, bob.id, 'x'.repeat(50_000))
      expect(mail.bytes.byteLength).to.be.above(DEFAULT_MAX_MESSAGE_BYTES)
      const answer = await deposit(alice, mail.envelope)
      expect(answer).to.include({ status: MailboxErrorCode.TOO_LARGE, limit: DEFAULT_MAX_MESSAGE_BYTES })
    })

    it('enforces the sender, recipient and total quotas', async () => {
      const small = await startRelay(join(dir, 'small'), { quotas: { perSender: 2, perRecipient: 3, total: 4 } })
      const [carol, dave] = await Promise.all([party(), party()])
      try {
        const toBob = await recordJson(bob.id, 'bob-mail', [small.addr.toString()])
        const toAlice = await recordJson(alice.id, 'alice-mail', [small.addr.toString()])
        const send = async (from: Party, to: Identity, record: Record<string, unknown>): Promise<Record<string, unknown>> =>
          deposit(from, (await sealedMail(from.id, to, 'q')).envelope, record, small.addr)
        expect((await send(alice, bob.id, toBob)).status).to.equal('stored')
        expect((await send(alice, bob.id, toBob)).status).to.equal('stored')
        expect(await send(alice, bob.id, toBob)).to.include({ status: MailboxErrorCode.QUOTA, scope: 'sender', limit: 2 })
        expect((await send(mallory, bob.id, toBob)).status).to.equal('stored')
        expect(await send(carol, bob.id, toBob)).to.include({ status: MailboxErrorCode.QUOTA, scope: 'recipient', limit: 3 })
        expect((await send(carol, alice.id, toAlice)).status).to.equal('stored')
        expect(await send(dave, alice.id, toAlice)).to.include({ status: MailboxErrorCode.FULL, limit: 4 })
        // acknowledging frees room
        const pulled = parsePulled(encodeFrame(await ask(bob.node, small.addr, { op: 'pull' })))
        await ask(bob.node, small.addr, { op: 'ack', ids: pulled.messages.map(m => m.envelope.id) })
        expect((await send(dave, alice.id, toAlice)).status).to.equal('stored')
      } finally {
        await Promise.all([carol.node.stop(), dave.node.stop()])
        await small.relay.stop()
      }
    })
  })

  it('enforces byte quotas (store)', async () => {
    const store = new MailStore(new MemoryDatastore(), { quotas: { perRecipientBytes: 100, totalBytes: 150 } })
    const mail = (to: string, id: string, n: number): Parameters<MailStore['put']>[0] => ({ to, from: 'Qmsender' + id, id, envelope: new Uint8Array(n), expires: Date.now() + 60_000 })
    await store.put(mail('Qmbob', 'a', 60))
    const err = await store.put(mail('Qmbob', 'b', 60)).catch((e: unknown) => e)
    expect(err).to.include({ name: 'MailboxError', code: MailboxErrorCode.QUOTA, scope: 'recipient', limit: 100 })
    await store.put(mail('Qmcarol', 'c', 60))
    const full = await store.put(mail('Qmdave', 'd', 60)).catch((e: unknown) => e)
    expect(full).to.include({ name: 'MailboxError', code: MailboxErrorCode.FULL, limit: 150 })
    expect(store.count).to.equal(2)
    expect(store.bytes).to.equal(120)
  })

  it('rebuilds its index from the datastore: keeps mail, deletes expired mail, leaves keys it cannot read (store)', async () => {
    let now = Date.now()
    const ds = new MemoryDatastore()
    const store = new MailStore(ds, { clock: () => now })
    await store.put({ to: '12D3KooWbob', from: '12D3KooWalice', id: 'keep', envelope: new Uint8Array(10), expires: now + 60_000 })
    await store.put({ to: '12D3KooWbob', from: '12D3KooWalice', id: 'brief', envelope: new Uint8Array(10), expires: now + 10 })
    await ds.put(new Key('/parley/mailbox/m/future-format'), new Uint8Array(1))
    now += 1000
    const reloaded = new MailStore(ds, { clock: () => now })
    expect(await reloaded.load()).to.equal(1)
    expect(reloaded.find('12D3KooWbob', 'keep')?.bytes).to.equal(10)
    const keys = []
    for await (const key of ds.queryKeys({ prefix: '/parley/mailbox/' })) keys.push(key.toString())
    expect(keys).to.have.length(2)
    expect(keys).to.include('/parley/mailbox/m/future-format')
  })

  it('keeps no plaintext in its files', async () => {
    const mail = await sealedMail(alice.id, bob.id, PLAINTEXT)
    await deposit(alice, mail.envelope)
    const all = await files(join(dir, 'relay', 'datastore'))
    expect(all.some(b => b.includes(mail.envelope.sealed?.epk ?? '-'))).to.equal(true, 'the envelope is in the files')
    expect(all.some(b => b.includes(PLAINTEXT))).to.equal(false)
    await ask(bob.node, addr, { op: 'ack', ids: [mail.envelope.id] })
  })

  it('announces mail on a live stream, coalesced; a newer live stream replaces the older', async () => {
    const before = await sealedMail(alice.id, bob.id, 'waiting')
    await deposit(alice, before.envelope)
    const live = await openLive(bob.node, addr)
    expect(await live.next()).to.deep.equal({ status: 'ok', count: 1 })
    await deposit(alice, (await sealedMail(alice.id, bob.id, 'one')).envelope)
    expect(await live.next()).to.deep.equal({ new: 2 })
    // a duplicate announces nothing; the next new message does
    await deposit(alice, before.envelope)
    await deposit(alice, (await sealedMail(alice.id, bob.id, 'two')).envelope)
    expect(await live.next()).to.deep.equal({ new: 3 })
    const second = await openLive(bob.node, addr)
    expect(await second.next()).to.deep.equal({ status: 'ok', count: 3 })
    expect(await live.ended()).to.equal(true)
    await deposit(alice, (await sealedMail(alice.id, bob.id, 'three')).envelope)
    expect(await second.next()).to.deep.equal({ new: 4 })
    await second.stream.close()
    const pulled = parsePulled(encodeFrame(await ask(bob.node, addr, { op: 'pull' })))
    await ask(bob.node, addr, { op: 'ack', ids: pulled.messages.map(m => m.envelope.id) })
  })

  it('counts stored mail and deposits in its metrics', async () => {
    await deposit(alice, (await sealedMail(alice.id, bob.id, 'x'.repeat(50_000))).envelope)
    const text = await relay.registry?.metrics() ?? ''
    expect(text).to.match(/^parley_mailbox_messages \d+$/m)
    expect(text).to.match(/^parley_mailbox_bytes \d+$/m)
    expect(text).to.match(/^parley_mailbox_deposits_total\{status="stored"\} \d+$/m)
    expect(text).to.match(/^parley_mailbox_deposits_total\{status="ERR_MAILBOX_TOO_LARGE"\} [1-9]\d*$/m)
  })

  it('keeps mail across a restart on the same datastore', async () => {
    const dataDir = join(dir, 'restart')
    let r = await startRelay(dataDir)
    const record = await recordJson(bob.id, 'bob-mail', [r.addr.toString()])
    const mail = await sealedMail(alice.id, bob.id, 'survives')
    expect((await deposit(alice, mail.envelope, record, r.addr)).status).to.equal('stored')
    await r.relay.stop()
    r = await startRelay(dataDir)
    try {
      const pulled = parsePulled(encodeFrame(await ask(bob.node, r.addr, { op: 'pull' })))
      expect(pulled.messages.map(m => m.envelope)).to.deep.equal([mail.envelope])
      // the store order goes on: a new deposit sorts after the old one
      const later = await sealedMail(alice.id, bob.id, 'later')
      await deposit(alice, later.envelope, record, r.addr)
      const after = parsePulled(encodeFrame(await ask(bob.node, r.addr, { op: 'pull', after: pulled.messages[0]?.cursor })))
      expect(after.messages.map(m => m.envelope.id)).to.deep.equal([later.envelope.id])
      // a duplicate of a message stored before the restart is still one message
      expect((await deposit(alice, mail.envelope, record, r.addr)).status).to.equal('stored')
      expect((await ask(bob.node, r.addr, { op: 'status' })).count).to.equal(2)
    } finally {
      await r.relay.stop()
    }
  })

  it('loses no acknowledged deposit to a SIGKILL', async () => {
    const dataDir = join(dir, 'killed')
    let proc = await startRelayProcess({ dataDir, minPowBits: TEST_POW_BITS })
    try {
      const record = await recordJson(bob.id, 'bob-mail', [proc.tcp.toString()])
      const mails = []
      for (let i = 0; i < 20; i++) {
        const m = await sealedMail(alice.id, bob.id, `kill ${i}`)
        expect((await deposit(alice, m.envelope, record, proc.tcp)).status).to.equal('stored')
        mails.push(m)
      }
      expect((await proc.stop('SIGKILL')).signal).to.equal('SIGKILL')
      proc = await startRelayProcess({ dataDir, minPowBits: TEST_POW_BITS })
      expect(proc.tcp.toString()).to.include(String(record.relays).split('/p2p/')[1])
      const pulled = parsePulled(encodeFrame(await ask(bob.node, proc.tcp, { op: 'pull' })))
      expect(pulled.messages.map(m => m.envelope.id)).to.deep.equal(mails.map(m => m.envelope.id))
    } finally {
      await proc.stop()
    }
  })

  it('deletes mail that expired unacknowledged', async () => {
    const r = await startRelay(join(dir, 'expiry'), { ttlMs: 400, sweepIntervalMs: 100 })
    try {
      const record = await recordJson(bob.id, 'bob-mail', [r.addr.toString()])
      const stored = await deposit(alice, (await sealedMail(alice.id, bob.id, 'brief')).envelope, record, r.addr)
      expect(stored.expires).to.be.at.most(Date.now() + 400)
      expect((await ask(bob.node, r.addr, { op: 'status' })).count).to.equal(1)
      await new Promise(resolve => setTimeout(resolve, 700))
      expect(r.relay.libp2p.services.mailbox?.store.count).to.equal(0)
      expect(await ask(bob.node, r.addr, { op: 'pull' })).to.deep.equal({ status: 'ok', messages: [], remaining: 0 })
    } finally {
      await r.relay.stop()
    }
  })

  it('is off with mailbox: false, and configured from flags', async () => {
    const r = await startRelay(join(dir, 'off'), false)
    try {
      expect(r.relay.libp2p.services.mailbox).to.equal(undefined)
      const err = await ask(alice.node, r.addr, { op: 'status' }).catch((e: unknown) => e)
      expect(err).to.be.instanceOf(Error)
    } finally {
      await r.relay.stop()
    }
    const config = loadRelayConfig(['--mailbox-ttl', '3600', '--mailbox-max-message', '128KiB', '--mailbox-per-sender', '5', '--mailbox-total-bytes', '2GiB'], {})
    expect(config?.mailbox).to.deep.equal({ ttlMs: 3600_000, maxMessageBytes: 131072, quotas: { perSender: 5, perRecipient: 10_000, perRecipientBytes: 64 * 1024 * 1024, total: 200_000, totalBytes: 2 * 1024 ** 3 } })
    expect(loadRelayConfig(['--no-mailbox'], {})?.mailbox).to.equal(false)
    expect(loadRelayConfig([], { PARLEY_NO_MAILBOX: 'true' })?.mailbox).to.equal(false)
    expect(() => loadRelayConfig(['--mailbox-max-message', '1MiB'], {})).to.throw(/at most 256KiB/)
    expect(() => loadRelayConfig(['--mailbox-per-recipient', '0'], {})).to.throw(/greater than 0/)
  })
})
