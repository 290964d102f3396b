/**
 * Many callers at once through one relay: every relayed connection reaches
 * the callee from its relay's IP address, so libp2p's per-host inbound limits
 * (five new connections a second by default) would be shared by all callers,
 * and a circuit refused by them leaves its caller waiting for its Noise
 * handshake to time out. The agent raises them
 * (`INBOUND_CONNECTIONS_PER_SECOND_PER_HOST`); with libp2p's defaults this
 * test's callers end in ERR_CONNECT_TIMEOUT.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

const BITS = 8
const CALLERS = 12

describe('a burst of callers through one relay', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  const agents: Agent[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-burst-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
  })

  after(async () => {
    await Promise.allSettled(agents.map(async a => a.close()))
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it(`${CALLERS} callers opening sessions in the same second are all answered, none waits for a handshake timeout`, async () => {
    const options = { relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false }
    const callee = await createAgent({ ...options, handle: 'burst-callee' })
    agents.push(callee)
    await callee.start()
    // started one after another: the relay limits how fast one IP may connect to it
    const callers: Agent[] = []
    for (let i = 0; i < CALLERS; i++) {
      const a = await createAgent({ ...options, connectTimeoutMs: 4000 })
      agents.push(a)
      await a.start()
      callers.push(a)
    }
    const started = Date.now()
    const replies = await Promise.allSettled(callers.map(async a => (await a.connect('@burst-callee')).request('ping')))
    const failed = replies.flatMap(r => r.status === 'rejected' ? [(r.reason as { code?: string }).code ?? String(r.reason)] : [])
    expect(failed, 'callers that got no session').to.deep.equal([])
    expect(replies.map(r => r.status === 'fulfilled' ? r.value : undefined)).to.deep.equal(Array(CALLERS).fill('pong'))
    console.log(`      ${CALLERS} sessions opened and answered in ${Date.now() - started} ms`)
  })
})
