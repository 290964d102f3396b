/**
 * Mail for offline agents (`npm run bench -- --only mail`):
 *
 * 1. Per message, in process: seal + sign (`signSealedEnvelope`, a 200-byte
 *    `message`, padded to 256 bytes) and verify + open (`verifyEnvelope`
 *    with the recipient's checks, then `openSealed`).
 * 2. A `parley relay` child process (LevelDB on disk, loopback TCP): deposit
 *    throughput (five senders, one stream per deposit, each waiting for its
 *    answer — a relay answers `stored` only after its write), then pickup
 *    throughput (the recipient pulls batches of 256 and acknowledges each),
 *    and the relay's RSS before and with 10,000 messages stored.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'
import { signSealedEnvelope, openSealed } from '../../src/envelope/sealed.js'
import { verifyEnvelope } from '../../src/envelope/envelope.js'
import { createHandleRecord } from '../../src/handles/record.js'
import { fromUtf8 } from '../../src/crypto/bytes.js'
import { ack, deposit, pull } from '../../src/mailbox/client.js'
import type { MailObject } from '../../src/mailbox/wire.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import { measure, table, fmt } from './harness.js'

const TEXT = 'x'.repeat(160)

async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

async function nodeFor (identity: Identity): Promise<Awaited<ReturnType<typeof createLibp2p>>> {
  return createLibp2p({
    privateKey: identity.privateKey,
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

export async function benchMail (quick: boolean): Promise<string> {
  const alice = await createIdentity({ kind: 'agent' })
  const bob = await createIdentity({ kind: 'agent' })
  const body = { jsonrpc: '2.0' as const, id: 1, method: 'message', params: { text: TEXT } }
  const iterations = quick ? 500 : 2000
  const sealed = await signSealedEnvelope(alice, { to: { peer: bob.peerIdString }, body, recipientKey: bob.x25519PublicKey })
  const rows = [
    await measure('seal + sign one message (200 B body)', async () => signSealedEnvelope(alice, { to: { peer: bob.peerIdString }, body, recipientKey: bob.x25519PublicKey }), { iterations }),
    await measure('verify + open one message', async () => {
      const { envelope } = await verifyEnvelope(sealed.bytes, { self: { peer: bob.peerIdString }, maxAgeMs: 3_600_000 })
      return openSealed(envelope, bob)
    }, { iterations })
  ]
  let out = table(rows)

  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-mail-'))
  const relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
  const stored = quick ? 2000 : 10_000
  const senders = await Promise.all(Array.from({ length: 5 }, async () => createIdentity({ kind: 'agent' })))
  const nodes = await Promise.all([bob, ...senders].map(nodeFor))
  try {
    const record = JSON.parse(fromUtf8((await createHandleRecord(bob, { handle: 'bench-mail-bob', seq: 1, relays: [relay.tcp.toString()], powBits: 8 })).bytes)) as MailObject
    const rssBefore = await rssMiB(relay.child.pid ?? 0)
    // sealed beforehand: the relay's part is measured, not the signing
    const perSender = stored / senders.length
    const envelopes = await Promise.all(senders.map(async (s) => Promise.all(Array.from({ length: perSender }, async (_, i) =>
      (await signSealedEnvelope(s, { to: { peer: bob.peerIdString, handle: 'bench-mail-bob' }, body: { ...body, id: i }, recipientKey: bob.x25519PublicKey })).envelope as unknown as MailObject))))
    const t0 = performance.now()
    await Promise.all(senders.map(async (_, k) => {
      const connection = await (nodes[k + 1] as Awaited<ReturnType<typeof createLibp2p>>).dial(relay.tcp)
      for (const e of envelopes[k] ?? []) await deposit(connection, e, record)
    }))
    const depositMs = performance.now() - t0
    const rssStored = await rssMiB(relay.child.pid ?? 0)
    const connection = await (nodes[0] as Awaited<ReturnType<typeof createLibp2p>>).dial(relay.tcp)
    const t1 = performance.now()
    let picked = 0
    while (true) {
      const batch = await pull(connection, { limit: 256 })
      if (batch.messages.length === 0) break
      picked += batch.messages.length
      await ack(connection, batch.messages.map(m => m.envelope.id as string))
    }
    const pickupMs = performance.now() - t1
    out += '\n\n' + [
      '| relay mailbox (one `parley relay` process, LevelDB, loopback TCP) | value |',
      '| --- | --- |',
      `| deposit: ${stored} messages from 5 senders at once, each waiting for \`stored\` | ${fmt(stored / depositMs * 1000, 0)} messages/s |`,
      `| pickup: ${picked} messages, pulled 256 at a time and acknowledged | ${fmt(picked / pickupMs * 1000, 0)} messages/s |`,
      `| relay RSS: idle → with ${stored} messages stored | ${fmt(rssBefore, 0)} MiB → ${fmt(rssStored, 0)} MiB (+${fmt((rssStored - rssBefore) / stored * 10_000, 1)} MiB per 10,000) |`
    ].join('\n')
  } finally {
    await Promise.all(nodes.map(async n => n.stop()))
    await relay.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
  return out
}
