/**
 * `connect()` has one deadline end to end (`connectTimeoutMs`): a peer that
 * takes the session stream and never answers the hello cannot hold a caller
 * longer, and a caller's own `signal` ends it sooner.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createTestPeer, waitForReservation } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'
import { createAgent, SESSION_PROTOCOL } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import type { Stream } from '@libp2p/interface'

const BITS = 8
const CONNECT_TIMEOUT_MS = 1500

describe('connect() deadline', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let silent: TestPeer
  let caller: Agent
  const held: Stream[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-connect-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    // takes session streams and never says a word
    silent = await createTestPeer({ relays: [relay.tcp], webrtc: false })
    await silent.handle(SESSION_PROTOCOL, (stream) => { held.push(stream) }, { runOnLimitedConnection: true })
    const addr = await waitForReservation(silent, relay.peerId)
    // the caller's own hello deadline is off, so what ends the wait is connect()'s
    caller = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, helloTimeoutMs: 0, connectTimeoutMs: CONNECT_TIMEOUT_MS })
    await caller.start()
    await caller.libp2p.peerStore.merge(silent.peerId, { multiaddrs: [addr] })
  })

  after(async () => {
    await caller?.stop()
    await silent?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('ends at connectTimeoutMs with ERR_CONNECT_TIMEOUT and leaves no session behind', async () => {
    const started = Date.now()
    const err = await caller.connect(silent.peerId.toString()).then(() => undefined, (e: unknown) => e)
    const took = Date.now() - started
    expect(err).to.include({ name: 'AgentError', code: 'ERR_CONNECT_TIMEOUT' })
    expect(took, 'ms until connect() gave up').to.be.at.least(CONNECT_TIMEOUT_MS - 50).and.below(CONNECT_TIMEOUT_MS + 2000)
    expect(held.length, 'the silent peer got the session stream').to.be.at.least(1)
    const open = caller.libp2p.getConnections(silent.peerId).flatMap(c => c.streams).filter(s => s.protocol === SESSION_PROTOCOL && s.status === 'open')
    expect(open, 'session streams the caller still holds').to.have.length(0)
  })

  it('ends when the caller\'s own signal aborts, with its reason', async () => {
    const reason = new Error('the user gave up')
    const controller = new AbortController()
    setTimeout(() => { controller.abort(reason) }, 300)
    const started = Date.now()
    const err = await caller.connect(silent.peerId.toString(), { signal: controller.signal }).then(() => undefined, (e: unknown) => e)
    expect(err).to.equal(reason)
    expect(Date.now() - started).to.be.below(CONNECT_TIMEOUT_MS)
  })
})
