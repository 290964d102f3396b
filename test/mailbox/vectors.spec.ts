/**
 * Runs every case of protocols/mailbox/vectors.json, in order, against a
 * real MailboxServer on a libp2p node with the relay's test key, each from
 * a libp2p peer with the named test key, over loopback TCP; and checks each
 * frame against protocols/mailbox/schema.json.
 */
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Ajv2020 } from 'ajv/dist/2020.js'
import vectors from '../../protocols/mailbox/vectors.json' with { type: 'json' }
import schema from '../../protocols/mailbox/schema.json' with { type: 'json' }
import { concat, utf8 } from '../../src/crypto/bytes.js'
import { mailboxServer } from '../../src/mailbox/server.js'
import type { MailboxServer } from '../../src/mailbox/server.js'
import { testKey } from '../vectors/keys.js'
import { ask, mailPeer } from './helpers.js'

type Case = { name: string, description: string, as: string, request?: Record<string, unknown>, text?: string, expect: Record<string, unknown> }

function keyOf (label: string): ReturnType<typeof privateKeyFromRaw> {
  const k = testKey(label)
  return privateKeyFromRaw(concat(k.seed, k.publicKey))
}

describe('mailbox vectors (protocols/mailbox/vectors.json)', function () {
  this.timeout(60_000)
  const ajv = new Ajv2020({ allErrors: true, strict: false })
  ajv.addSchema(schema)
  const isRequest = ajv.compile({ $ref: schema.$id + '#/$defs/request' })
  const isAnswer = ajv.compile({ $ref: schema.$id + '#/$defs/answer' })
  let relay: Libp2p<{ mailbox: MailboxServer }>
  let addr: Multiaddr
  const peers = new Map<string, Libp2p>()

  before(async () => {
    const held = new Map(vectors.held.map(h => [h.handle, { seq: h.seq, peer: h.peer }]))
    relay = await createLibp2p({
      privateKey: keyOf('relay'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { inboundConnectionThreshold: 1000 },
      services: {
        mailbox: mailboxServer({
          ...vectors.relay,
          datastore: new MemoryDatastore(),
          clock: () => vectors.now,
          newerRecord: async (handle) => held.get(handle)
        })
      }
    })
    const first = relay.getMultiaddrs()[0]
    if (first === undefined) throw new Error('no address')
    addr = first
    expect(relay.peerId.toString()).to.equal(vectors.peers.relay)
    for (const label of new Set((vectors.cases as Case[]).map(c => c.as))) {
      const node = await mailPeer(keyOf(label))
      expect(node.peerId.toString()).to.equal((vectors.peers as Record<string, string>)[label])
      peers.set(label, node)
    }
  })

  after(async () => {
    await Promise.all([...peers.values()].map(async p => p.stop()))
    await relay?.stop()
  })

  it('has cases of every status', () => {
    const statuses = new Set((vectors.cases as Case[]).map(c => c.expect.status))
    expect([...statuses].sort()).to.deep.equal(['ERR_MAILBOX_FULL', 'ERR_MAILBOX_INVALID', 'ERR_MAILBOX_QUOTA', 'ERR_MAILBOX_STALE_RECORD', 'ERR_MAILBOX_TOO_LARGE', 'ERR_MAILBOX_UNKNOWN_RECIPIENT', 'ok', 'stored'])
  })

  it('each case, in order, gets its answer', async () => {
    for (const c of vectors.cases as Case[]) {
      const node = peers.get(c.as)
      if (node === undefined) throw new Error(`no peer ${c.as}`)
      if (c.request !== undefined && c.expect.status !== 'ERR_MAILBOX_INVALID') expect(isRequest(c.request), `${c.name}: request fits the schema`).to.equal(true)
      const answer = await ask(node, addr, c.request ?? utf8(c.text ?? ''))
      expect(isAnswer(answer), `${c.name}: answer fits the schema: ${JSON.stringify(isAnswer.errors)}`).to.equal(true)
      for (const [key, value] of Object.entries(c.expect)) {
        if (key === 'ids') {
          expect((answer.messages as Array<{ envelope: { id: string } }>).map(m => m.envelope.id), `${c.name}: ids`).to.deep.equal(value)
        } else {
          expect(answer[key], `${c.name}: ${key} (${String(answer.message)})`).to.deep.equal(value)
        }
      }
    }
  })
})
