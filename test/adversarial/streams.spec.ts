/**
 * More inbound streams of one protocol, on one connection, than a node takes:
 * for every protocol a `parley agent` process and a `parley relay` process
 * serve (as each announces it through identify), the attacker opens its
 * limit plus 8 (at least 33) streams of that protocol at once and says
 * nothing on them. The streams past the protocol's per-connection limit are
 * reset (libp2p's registrar: `maxInboundStreams`), the rest are held no
 * longer than the protocol allows, the node stays up within its memory bound,
 * and a legitimate client is still served. The attacker is a stock js-libp2p
 * node (TCP, Noise, yamux, circuit relay transport, identify allowed to ask
 * as often as it likes) reaching the agent through the relay (a limited
 * connection) and the relay directly. envelopes.spec.ts holds the same flood
 * of session streams against an agent in the test's own process.
 */
import { expect } from 'chai'
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { RawSession, SESSION, createAttacker, rssOf, underFlood, useAgentTarget } from './helpers.js'
import { Speaker } from './attacker.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * Inbound streams each protocol takes per connection: what the node gives
 * its handler (Parley's session: `maxSessionsPerPeer`), else the library's
 * default for it, else libp2p's registrar default (32).
 */
const LIMITS: Record<string, number> = {
  '/parley/session/1.0.0': 8,
  '/parley/blob/1.0.0': 8,
  '/ipfs/id/1.0.0': 1,
  '/ipfs/ping/1.0.0': 2,
  '/libp2p/circuit/relay/0.2.0/stop': 300,
  '/parley/mailbox/1.0.0': 8
}
const limitOf = (protocol: string): number => LIMITS[protocol] ?? 32

/** The protocols each node serves, as it announces them (a new one must be added here, and is then flooded too). */
const AGENT_PROTOCOLS = ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/libp2p/circuit/relay/0.2.0/stop', '/parley/blob/1.0.0', '/parley/session/1.0.0', '/webrtc-signaling/0.0.1']
const RELAY_PROTOCOLS = ['/floodsub/1.0.0', '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/libp2p/circuit/relay/0.2.0/hop', '/meshsub/1.0.0', '/meshsub/1.1.0', '/meshsub/1.2.0', '/parley/kad/1.0.0', '/parley/mailbox/1.0.0']

describe('more inbound streams of each protocol than a node takes', function () {
  this.timeout(120_000)
  // its own identify handler would hold it to one outbound identify stream
  const target = useAgentTarget('streams', { attacker: { maxIdentifyStreams: 1000 } })
  /** Each node's RSS once warmed up (a legitimate client reached the agent through the relay), before any flood. */
  const idle = { agent: 0, relay: 0 }

  before(() => {
    idle.agent = target.idle
    idle.relay = rssOf(target.relay.child.pid ?? 0)
  })

  /** Both nodes are up, and a client reaches the agent through the relay and gets `pong`. */
  async function stillServed (): Promise<void> {
    expect(target.relay.child.exitCode, `the relay exited:\n${target.relay.stderr().slice(-3000)}`).to.equal(null)
    await target.stillServes()
  }

  /** The protocols `peer` announced to the attacker (identify, once connected). */
  async function announced (peer: string): Promise<string[]> {
    const deadline = Date.now() + 10_000
    while (true) {
      const protocols = await target.attacker.peerStore.get(peerIdFromString(peer)).then(p => p.protocols, () => [])
      if (protocols.length > 0) return [...protocols].sort()
      if (Date.now() > deadline) throw new Error(`${peer} announced no protocols`)
      await sleep(100)
    }
  }

  /** Opens `count` streams of `protocol` at once on `connection`; after a second, how many the far side reset (or refused) and how many it kept. */
  async function flood (connection: Connection, protocol: string, count: number): Promise<{ refused: number, kept: number }> {
    const opened = await Promise.allSettled(Array.from({ length: count }, async () =>
      connection.newStream(protocol, { runOnLimitedConnection: true, maxOutboundStreams: 10_000, signal: AbortSignal.timeout(10_000) })))
    await sleep(1000)
    const streams = opened.filter((o): o is PromiseFulfilledResult<Stream> => o.status === 'fulfilled').map(o => o.value)
    const reset = streams.filter(s => s.status === 'reset' || s.status === 'aborted').length
    for (const s of streams) s.abort(new Error('done'))
    return { refused: opened.length - streams.length + reset, kept: streams.length - reset }
  }

  async function floodEach (name: 'agent' | 'relay', pid: number, connect: () => Promise<Connection>, peer: string, expected: string[]): Promise<void> {
    const connection = await connect()
    expect(await announced(peer), `the protocols the ${name} serves`).to.deep.equal(expected)
    await stillServed()
    const rows: string[] = []
    for (const protocol of expected) {
      const limit = limitOf(protocol)
      const count = Math.max(33, limit + 8)
      const { refused, kept } = await underFlood(`${count} ${protocol} streams at the ${name}`, pid, idle[name], async () => flood(connection.status === 'open' ? connection : await connect(), protocol, count))
      rows.push(`${protocol}: ${count} opened, ${refused} reset, ${kept} kept (limit ${limit})`)
      expect(kept, `${protocol}: streams kept`).to.be.at.most(limit)
      expect(refused, `${protocol}: streams reset`).to.be.at.least(count - limit)
      await stillServed()
    }
    console.log(rows.map(r => '      ' + r).join('\n'))
  }

  it('a parley agent process, reached through the relay: every protocol it serves', async () => {
    await floodEach('agent', target.victim.child.pid ?? 0, async () =>
      target.attacker.dial(multiaddr(`${target.relay.tcp.toString()}/p2p-circuit/p2p/${target.victim.peer}`), { signal: AbortSignal.timeout(10_000) }), target.victim.peer, AGENT_PROTOCOLS)
  })

  it(`session streams from one peer over several connections: at most ${LIMITS['/parley/session/1.0.0']} sessions in all`, async () => {
    const cap = LIMITS['/parley/session/1.0.0'] ?? 8
    const key = await generateKeyPair('Ed25519')
    const node = await createAttacker(key)
    try {
      const sessions = await underFlood(`${cap} sessions on each of 3 connections from one peer`, target.victim.child.pid ?? 0, idle.agent, async () => {
        // three circuits to the agent (a new connection each), a full per-connection quota of sessions on each
        const connections: Connection[] = []
        for (let i = 0; i < 3; i++) connections.push(await node.dial(multiaddr(`${target.relay.tcp.toString()}/p2p-circuit/p2p/${target.victim.peer}`), { force: true, signal: AbortSignal.timeout(10_000) }))
        expect(new Set(connections.map(c => c.id)).size, 'connections').to.equal(3)
        const opened = await Promise.allSettled(connections.flatMap(c => Array.from({ length: cap }, async () => {
          const stream = await c.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
          return new Speaker(new RawSession(stream), key, target.victim.peer).hello()
        })))
        await sleep(1000)
        return opened.filter((o): o is PromiseFulfilledResult<Speaker> => o.status === 'fulfilled').map(o => o.value)
      })
      const open = sessions.filter(s => !s.raw.isEnded)
      console.log(`      ${cap * 3} session streams from one peer on 3 connections: ${sessions.length} said hello back, ${open.length} still open`)
      expect(open.length, 'sessions one peer holds').to.be.at.most(cap)
      expect(open.length, 'the first ones are kept').to.be.greaterThan(0)
      for (const s of sessions) s.close()
      await stillServed()
    } finally {
      await node.stop()
    }
  })

  it('WebRTC signaling streams from one peer over 15 connections: the per-connection limit multiplies, the agent stays within its memory bound', async () => {
    // each signaling stream the agent takes holds an RTCPeerConnection until the upgrade's deadline (10 s);
    // libp2p's limit is per connection, and the relay lets one peer open 16 circuits to the agent
    const node = await createAttacker(await generateKeyPair('Ed25519'))
    const protocol = '/webrtc-signaling/0.0.1'
    try {
      const kept = await underFlood(`32 ${protocol} streams on each of 15 connections from one peer`, target.victim.child.pid ?? 0, idle.agent, async () => {
        const connections: Connection[] = []
        for (let i = 0; i < 15; i++) {
          connections.push(await node.dial(multiaddr(`${target.relay.tcp.toString()}/p2p-circuit/p2p/${target.victim.peer}`), { force: true, signal: AbortSignal.timeout(10_000) }))
          await sleep(250) // libp2p takes 5 new connections a second from one host (the relay, for circuits)
        }
        const opened = await Promise.all(connections.map(async c => Promise.allSettled(Array.from({ length: 32 }, async () =>
          c.newStream(protocol, { runOnLimitedConnection: true, maxOutboundStreams: 10_000, signal: AbortSignal.timeout(10_000) })))))
        await sleep(1000)
        const streams = opened.flat().filter((o): o is PromiseFulfilledResult<Stream> => o.status === 'fulfilled').map(o => o.value)
        const open = streams.filter(s => s.status === 'open').length
        for (const s of streams) s.abort(new Error('done'))
        return open
      })
      console.log(`      ${15 * 32} ${protocol} streams from one peer on 15 connections: ${kept} kept`)
      expect(kept, 'signaling streams one peer holds').to.be.at.most(15 * limitOf(protocol))
      await stillServed()
    } finally {
      await node.stop()
    }
  })

  it('a parley relay process, reached directly: every protocol it serves', async () => {
    await floodEach('relay', target.relay.child.pid ?? 0, async () => target.attacker.dial(target.relay.tcp, { signal: AbortSignal.timeout(10_000) }), target.relay.peerId, RELAY_PROTOCOLS)
  })
})
