/**
 * Asking connected DHT servers directly (protocols/handle-record §15): the
 * GET_VALUE wire messages, the resolver's order (connected servers first, the
 * DHT when they hold nothing, conflict, or the lookup is fresh), and one GET
 * answered by a real relay's kad-dht server.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Libp2pRecord } from '@libp2p/record'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { decodeGetValueAnswer, encodeGetValue, getValueFrom } from '../../src/agent/dht-get.js'
import { HandleResolver } from '../../src/agent/resolver.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { createHandleRecord, handleKey } from '../../src/handles/record.js'
import type { RawAnswer } from '../../src/handles/lookup.js'
import { DHT_PROTOCOL } from '../../src/node/constants.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { testSigner } from '../vectors/handle-record.js'

const BITS = 8

/** A protobuf length-delimited field. */
function field (number: number, bytes: Uint8Array): Uint8Array {
  return new Uint8ArrayList(varint.encode((number << 3) | 2), varint.encode(bytes.byteLength), bytes).subarray()
}

/** A GET_VALUE answer: type, key, optionally a record, and a closer peer (field 8) as servers send. */
function answer (key: Uint8Array, value?: Uint8Array, recordKey = key): Uint8Array {
  const parts = [Uint8Array.of(0x08, 0x01), field(2, key)]
  if (value !== undefined) parts.push(field(3, new Libp2pRecord(recordKey, value, new Date()).serialize()))
  parts.push(field(8, field(1, utf8('peer-id-bytes'))))
  return new Uint8ArrayList(...parts).subarray()
}

describe('asking connected DHT servers directly (handle-record §15)', function () {
  this.timeout(60_000)
  const key = handleKey('alice')

  describe('wire messages', () => {
    it('a GET_VALUE request is the kad-dht Message { type: 1, key }', () => {
      expect([...encodeGetValue(key)]).to.deep.equal([0x08, 0x01, 0x12, key.byteLength, ...key])
    })

    it('reads the value out of an answer, and nothing out of an answer without a record', () => {
      expect(decodeGetValueAnswer(answer(key, utf8('the value')), key)).to.deep.equal(utf8('the value'))
      expect(decodeGetValueAnswer(answer(key), key)).to.equal(undefined)
    })

    it('refuses a record for another key, a truncated field and an unknown wire type with a RangeError', () => {
      expect(() => decodeGetValueAnswer(answer(key, utf8('v'), handleKey('mallory')), key)).to.throw(RangeError, /another key/)
      const whole = answer(key, utf8('the value'))
      expect(() => decodeGetValueAnswer(whole.subarray(0, whole.byteLength - 3), key)).to.throw(RangeError)
      expect(() => decodeGetValueAnswer(Uint8Array.of(0x0b, 0x00), key)).to.throw(RangeError, /wire type/)
    })
  })

  describe('the resolver', () => {
    const alice = testSigner('alice')
    const mallory = testSigner('mallory')
    let aliceRecord: Uint8Array
    let malloryRecord: Uint8Array

    before(async () => {
      aliceRecord = (await createHandleRecord(alice, { handle: 'alice', seq: 1, powBits: BITS })).bytes
      malloryRecord = (await createHandleRecord(mallory, { handle: 'alice', seq: 1, powBits: BITS })).bytes
    })

    /** A resolver whose DHT answers with `dhtValue` from server `dht-server`, counting queries. */
    function resolver (connected: RawAnswer[]): { resolver: HandleResolver, queries: () => number } {
      let queries = 0
      const dht: Pick<KadDHT, 'get'> = {
        async * get (): AsyncGenerator<QueryEvent> {
          queries++
          yield {
            name: 'PEER_RESPONSE',
            type: 1,
            messageName: 'GET_VALUE',
            messageType: 1,
            from: peerIdFromString(alice.peerIdString),
            closer: [],
            providers: [],
            record: new Libp2pRecord(key, aliceRecord, new Date()),
            path: { index: 0, queued: 0, running: 0, total: 0 }
          } as unknown as QueryEvent
        }
      }
      return {
        resolver: new HandleResolver(dht as KadDHT, { minPowBits: BITS, askConnected: async () => connected }),
        queries: () => queries
      }
    }

    it('takes the connected servers\' record without a DHT query', async () => {
      const r = resolver([{ server: 'relay-1', value: aliceRecord }])
      expect((await r.resolver.resolve('@alice')).peer).to.equal(alice.peerIdString)
      expect(r.queries()).to.equal(0)
    })

    it('queries the DHT when no connected server holds a valid record', async () => {
      const r = resolver([{ server: 'relay-1', value: utf8('not a record') }])
      expect((await r.resolver.resolve('@alice')).peer).to.equal(alice.peerIdString)
      expect(r.queries()).to.equal(1)
    })

    it('queries the DHT when the connected servers conflict', async () => {
      const r = resolver([{ server: 'relay-1', value: aliceRecord }, { server: 'relay-2', value: malloryRecord }])
      expect((await r.resolver.resolve('@alice')).peer).to.equal(alice.peerIdString)
      expect(r.queries()).to.equal(1)
    })

    it('a fresh lookup always queries the DHT', async () => {
      const r = resolver([{ server: 'relay-1', value: aliceRecord }])
      await r.resolver.resolve('@alice', { fresh: true })
      expect(r.queries()).to.equal(1)
    })
  })

  describe('against a relay', () => {
    let dir: string
    let relay: RelayProcess
    let owner: Agent
    let caller: Agent

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'parley-dht-get-'))
      relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
      const relays = [relay.tcp.toString()]
      owner = await createAgent({ handle: 'direct-get', relays, powBits: BITS, minPowBits: BITS, webrtc: false })
      await owner.start()
      caller = await createAgent({ relays, powBits: BITS, minPowBits: BITS, webrtc: false })
      await caller.start()
    })

    after(async () => {
      await caller?.close()
      await owner?.close()
      await relay?.stop('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    })

    it('its kad-dht server answers one GET over the connection the agent holds', async () => {
      const connection = caller.libp2p.getConnections().find(c => c.remotePeer.toString() === relay.peerId)
      expect(connection, 'a connection to the relay').to.not.equal(undefined)
      if (connection === undefined) return
      const value = await getValueFrom(connection, DHT_PROTOCOL, handleKey('direct-get'), AbortSignal.timeout(5_000))
      expect(value, 'the stored record').to.not.equal(undefined)
      expect((await caller.resolve('@direct-get')).peer).to.equal(owner.peerId)
      expect(await getValueFrom(connection, DHT_PROTOCOL, handleKey('nobody-here'), AbortSignal.timeout(5_000))).to.equal(undefined)
    })
  })
})
