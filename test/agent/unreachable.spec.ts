/**
 * A peer that cannot be reached gives `connect()` a typed error at once,
 * not the transport's: its relay holds no reservation for it (it stopped,
 * or has not registered again since the relay restarted), or nothing is
 * known of where it is.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { createIdentity } from '../../src/identity/index.js'

describe('connect() to a peer that cannot be reached', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let caller: Agent
  let offline: Agent
  const handle = `gone-${Date.now().toString(36)}`

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-unreachable-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 0 })
    offline = await createAgent({ handle, relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
    await offline.start()
    caller = await createAgent({ relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
    await caller.start()
    await offline.stop()
  })

  after(async () => {
    await caller?.stop()
    await offline?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('a handle whose agent stopped: ERR_PEER_UNREACHABLE naming the relay and its refusal, well before the deadline', async () => {
    const started = Date.now()
    const err = await caller.connect(`@${handle}`).then(() => undefined, (e: unknown) => e) as (Error & { code?: string, cause?: unknown }) | undefined
    expect(err).to.include({ name: 'AgentError', code: 'ERR_PEER_UNREACHABLE' })
    expect(err?.message).to.include(relay.peerId.toString()).and.include('NO_RESERVATION')
    expect(err?.cause, 'the transport\'s error is kept as the cause').to.be.an('error')
    expect(Date.now() - started, 'ms until connect() gave up').to.be.below(5000)
    expect(caller.sessions.size, 'sessions left behind').to.equal(0)
  })

  it('a peer id nothing is known of: ERR_PEER_UNREACHABLE', async () => {
    const stranger = await createIdentity({ kind: 'agent' })
    const err = await caller.connect(stranger.peerIdString).then(() => undefined, (e: unknown) => e)
    expect(err).to.include({ name: 'AgentError', code: 'ERR_PEER_UNREACHABLE' })
  })
})
