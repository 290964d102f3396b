/**
 * The relay lists the circuits it relays (who dials whom) from libp2p's
 * public surface: its connection gater's `denyOutboundRelayedConnection`
 * and the stop streams on its connections (src/node/circuits.ts).
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRelayNode } from '../../src/node/relay.js'
import type { RelayNode } from '../../src/node/relay.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

async function until (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('the circuits a relay relays', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayNode
  const agents: Agent[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-circuits-'))
    relay = await createRelayNode({ dataDir: join(dir, 'relay'), listen: ['/ip4/127.0.0.1/tcp/0'], metrics: false, presence: false, minPowBits: 8 })
  })

  after(async () => {
    for (const a of agents) await a.close().catch(() => {})
    await relay.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists each circuit with its source and destination while it is open, and says when that changes', async () => {
    const address = relay.multiaddrs().find(a => a.toString().includes('/tcp/'))?.toString() ?? ''
    const callee = await createAgent({ handle: 'circuit-callee', relays: [address], powBits: 8, minPowBits: 8, webrtc: false })
    const callers = [await createAgent({ relays: [address], powBits: 8, minPowBits: 8, webrtc: false }), await createAgent({ relays: [address], powBits: 8, minPowBits: 8, webrtc: false })]
    agents.push(callee, ...callers)
    for (const a of agents) await a.start()
    let changes = 0
    relay.circuits.addEventListener('change', () => { changes++ })
    expect(relay.circuits.list()).to.deep.equal([])

    // two callers at once: each circuit is paired with its own source
    const sessions = await Promise.all(callers.map(async c => c.connect('@circuit-callee')))
    for (const s of sessions) expect(await s.request('ping')).to.equal('pong')
    await until('both circuits listed', () => relay.circuits.list().length === 2)
    const listed = relay.circuits.list().map(c => ({ src: c.src, dst: c.dst })).sort((a, b) => a.src.localeCompare(b.src))
    expect(listed).to.deep.equal(callers.map(c => ({ src: c.peerId, dst: callee.peerId })).sort((a, b) => a.src.localeCompare(b.src)))
    expect(changes, 'a change for each circuit that opened').to.be.at.least(1)

    // a caller hangs up and closes its connection: its circuit goes, the other stays
    const before = changes
    await sessions[0]?.close()
    for (const c of callers[0]?.libp2p.getConnections() ?? []) if (c.limits !== undefined) await c.close()
    await until('the first circuit gone', () => relay.circuits.list().length === 1)
    expect(relay.circuits.list()[0]?.src).to.equal(callers[1]?.peerId)
    expect(changes).to.be.greaterThan(before)
  })
})
