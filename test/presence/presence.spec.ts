import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { verifyPresence, signPresence } from '../../src/presence/index.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { createIdentity } from '../../src/identity/index.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import vectors from '../../protocols/presence/vectors.json' with { type: 'json' }
import schema from '../../protocols/presence/schema.json' with { type: 'json' }
import type { DashboardState } from '../../src/dashboard/types.js'

const handles = vectors.handles as Record<string, { peer: string, kind: string }>
const resolve = async (h: string): Promise<{ peer: string, kind: string } | undefined> => handles[h]

describe('presence vectors (protocols/presence/vectors.json)', () => {
  for (const c of vectors.cases) {
    it(`${c.name}: ${c.expect.status}${'reason' in c.expect ? ' ' + String(c.expect.reason) : ''}`, async () => {
      const verdict = await verifyPresence(utf8(c.text), { ...vectors.options, from: c.from, resolve })
      expect({ status: verdict.status, reason: verdict.reason }).to.deep.equal({ status: c.expect.status, reason: 'reason' in c.expect ? c.expect.reason : undefined })
    })
  }

  it('covers every refusal code', () => {
    const codes = new Set(vectors.cases.map(c => 'reason' in c.expect ? c.expect.reason : 'valid'))
    for (const code of ['valid', 'ERR_OVERSIZE', 'ERR_MALFORMED', 'ERR_NON_CANONICAL', 'ERR_UNSUPPORTED_VERSION', 'ERR_UNSIGNED', 'ERR_SIGNER_MISMATCH', 'ERR_STALE', 'ERR_FUTURE', 'ERR_BAD_SIGNATURE', 'ERR_HANDLE_UNRESOLVED', 'ERR_HANDLE_MISMATCH']) {
      expect(codes.has(code), code).to.equal(true)
    }
  })

  it('the schema accepts the valid announcements and refuses the structurally malformed ones', () => {
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)
    for (const c of vectors.cases) {
      let value: unknown
      try { value = JSON.parse(c.text) } catch { continue }
      const reason = 'reason' in c.expect ? c.expect.reason : undefined
      if (c.expect.status === 'valid') expect(validate(value), c.name).to.equal(true)
      if (reason === 'ERR_MALFORMED' || reason === 'ERR_UNSUPPORTED_VERSION') expect(validate(value), c.name).to.equal(false)
    }
  })

  it('signPresence makes what verifyPresence accepts', async () => {
    const id = await createIdentity({ kind: 'human' })
    const bytes = await signPresence(id, { kind: 'human', capabilities: ['chat'], connections: [] })
    expect((await verifyPresence(bytes, { from: id.peerIdString })).status).to.equal('valid')
    const withHandle = await signPresence(id, { handle: 'someone', kind: 'human', capabilities: [], connections: [] })
    expect(await verifyPresence(withHandle, { from: id.peerIdString })).to.include({ status: 'invalid', reason: 'ERR_HANDLE_UNRESOLVED' })
  })
})

describe('presence on a relay (gossipsub)', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  const agents: Agent[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-presence-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.stop()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('carries agents\' announcements through the relay to each other, and the relay checks them', async () => {
    for (const [handle, kind] of [['presence-one', 'agent'], ['presence-two', 'human']] as const) {
      const a = await createAgent({ handle, kind, relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8, rtcConfiguration: LOOPBACK_RTC, presence: { capabilities: ['quote'] } })
      agents.push(a)
      await a.start()
    }
    const [one, two] = agents as [Agent, Agent]
    const deadline = Date.now() + 20_000
    const seen = (a: Agent, b: Agent): boolean => a.presence?.entries().some(e => e.from === b.peerId && e.verdict.status === 'valid') === true
    while (!(seen(one, two) && seen(two, one)) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
    expect(seen(one, two), 'one heard two').to.equal(true)
    expect(seen(two, one), 'two heard one').to.equal(true)
    const fromTwo = one.presence?.entries().find(e => e.from === two.peerId)?.verdict.announcement
    expect(fromTwo).to.include({ handle: 'presence-two', kind: 'human' })
    expect(fromTwo?.capabilities).to.deep.equal(['quote'])
    expect(fromTwo?.connections.map(c => c.peer)).to.include(relay.peerId)

    const state = await (await fetch(relay.httpUrl + '/api/state')).json() as DashboardState
    for (const a of agents) {
      const view = state.peers.find(p => p.peer === a.peerId)
      expect(view?.presence?.status, a.handleName).to.equal('valid')
      expect(view?.verified).to.equal(true)
    }
  })
})
