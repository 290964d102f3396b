/**
 * Agent Cards in the DHT and on gossipsub (protocols/agent-card): the
 * vectors; an agent found by skill from its card; a card fetched from the
 * DHT by handle; an impostor's card for someone else's handle refused by
 * the relay and never returned by find.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GossipSub } from '@libp2p/gossipsub'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { CARD_TOPIC, cardKey, cardSkills, createCardRecord, validateCardRecord } from '../../src/handles/card.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { agentSource } from '../../src/dashboard/agent-source.js'
import vectors from '../../protocols/agent-card/vectors.json' with { type: 'json' }
import schema from '../../protocols/agent-card/schema.json' with { type: 'json' }
import { Ajv2020 } from 'ajv/dist/2020.js'

const BITS = 8

async function codeOf (p: Promise<unknown>): Promise<string> {
  try { await p } catch (err) { return (err as { code?: string }).code ?? String(err) }
  return 'valid'
}

describe('Agent Cards in the DHT and on gossipsub (protocols/agent-card)', function () {
  this.timeout(90_000)

  describe('vectors', () => {
    for (const v of vectors.records) {
      it(`${v.name}: ${v.verdict}`, async () => {
        expect(await codeOf(validateCardRecord(utf8(v.text), { now: vectors.now, ...(v.key === undefined ? {} : { key: utf8(v.key) }) }))).to.equal(v.verdict)
      })
    }
    it('the schema accepts the valid record and refuses the malformed ones', () => {
      const check = new Ajv2020({ strict: false }).compile(schema)
      for (const v of vectors.records) {
        if (v.verdict === 'valid') expect(check(JSON.parse(v.text)), v.name).to.equal(true)
        if (['ERR_MALFORMED', 'ERR_UNSUPPORTED_VERSION'].includes(v.verdict)) expect(check(JSON.parse(v.text)), v.name).to.equal(false)
      }
    })
    for (const v of vectors.skills) {
      it(`skills of ${v.name}`, () => { expect(cardSkills(v.card as never)).to.deep.equal(v.skills) })
    }
  })

  describe('between agents', () => {
    let dir: string
    let relay: RelayProcess
    let counter: Agent
    let weather: Agent
    let finder: Agent
    let mallory: Agent
    const card = (name: string, skill: string, tags: string[]): { [key: string]: never } => ({
      name, description: `does ${skill}`, version: '1.0.0',
      supportedInterfaces: [{ url: `parley:@${name}`, protocolBinding: 'https://parley.dev/protocols/a2a/v1', protocolVersion: '1.0' }],
      skills: [{ id: skill, name: skill, description: skill, tags }]
    }) as never

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'parley-cards-'))
      relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
      const options = { relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false as const, presence: true }
      counter = await createAgent({ ...options, handle: 'card-counter' })
      weather = await createAgent({ ...options, handle: 'card-weather' })
      finder = await createAgent({ ...options, handle: 'card-finder' })
      mallory = await createAgent({ ...options, handle: 'card-mallory' })
      await Promise.all([counter.start(), weather.start(), finder.start(), mallory.start()])
    })

    after(async () => {
      for (const a of [counter, weather, finder, mallory]) await a?.close().catch(() => {})
      await relay?.stop('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    })

    it('finds an agent by skill from its card, checked against its handle', async () => {
      // gossipsub needs a heartbeat or two to graft the topic's mesh
      await new Promise(resolve => setTimeout(resolve, 1500))
      await counter.publishCard(card('card-counter', 'count', ['numbers']))
      await weather.publishCard(card('card-weather', 'forecast', ['weather']))
      const deadline = Date.now() + 20_000
      let found = await finder.findAgents({ skill: 'count' })
      while (found.length === 0 && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 250))
        found = await finder.findAgents({ skill: 'count' })
      }
      expect(found.map(f => ({ handle: f.handle, peer: f.peer, kind: f.kind }))).to.deep.equal([{ handle: 'card-counter', peer: counter.peerId, kind: 'agent' }])
      expect((await finder.findAgents({ skill: 'numbers' })).map(f => f.handle), 'by tag').to.deep.equal(['card-counter'])
      expect(await finder.findAgents({ skill: 'juggling' })).to.deep.equal([])
    })

    it('fetches a card from the DHT by handle', async () => {
      const got = await finder.agentCard('@card-weather')
      expect(got?.peer).to.equal(weather.peerId)
      expect((got?.card.skills as Array<{ id: string }>)[0]?.id).to.equal('forecast')
      expect(await finder.agentCard('@card-finder'), 'no card published').to.equal(undefined)
    })

    it('refuses an impostor\'s card for someone else\'s handle: the relay does not store it, find does not return it', async () => {
      const forged = await createCardRecord(mallory.identity, { handle: 'card-counter', seq: Date.now() + 1000, card: card('card-counter', 'count', ['numbers', 'trust-me']) })
      let accepted = 0
      for await (const e of mallory.libp2p.services.dht.put(cardKey('card-counter'), forged.bytes, { signal: AbortSignal.timeout(10_000) })) {
        if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') accepted++
      }
      expect(accepted, 'the relay took the forged card').to.equal(0)
      expect((await finder.agentCard('@card-counter'))?.peer).to.equal(counter.peerId)
      // on gossipsub it passes the signature check (it is mallory's own signature) but not ownership
      await (mallory.libp2p.services.pubsub as unknown as GossipSub).publish(CARD_TOPIC, forged.bytes)
      await new Promise(resolve => setTimeout(resolve, 1000))
      const found = await finder.findAgents({ skill: 'trust-me' })
      expect(found, 'the forged card is never returned').to.deep.equal([])
      expect((await finder.findAgents({ skill: 'count' })).map(f => f.peer)).to.deep.equal([counter.peerId])
      // the dashboard lists both cards heard for @card-counter, the forged one marked as not the owner's
      const cards = (await agentSource(finder).state()).cards ?? []
      const forCounter = cards.filter(c => c.handle === 'card-counter').map(c => ({ peer: c.peer, verified: c.verified }))
      expect(forCounter).to.deep.include({ peer: counter.peerId, verified: true })
      expect(forCounter).to.deep.include({ peer: mallory.peerId, verified: false })
      expect(cards.find(c => c.handle === 'card-weather')?.skills).to.deep.equal(['forecast', 'weather'])
    })
  })
})
