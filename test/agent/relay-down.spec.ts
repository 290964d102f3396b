/**
 * An agent whose relay is down waits for it quietly: libp2p's relay discovery
 * walks the DHT again and again when it finds nothing, and the agent's walk
 * pacer (src/agent/walk-pacer.ts) spaces those walks out. Without the pacer
 * this agent used about 60 % of a core for as long as the relay was down.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent, WALK_PACE_MIN_MS } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

describe('an agent whose relay is down', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess | undefined
  let agent: Agent | undefined

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-relay-down-'))
  })

  after(async () => {
    await agent?.close()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('does not spin: the random walk is paced while the relay is gone (agent.spec.ts covers the relay coming back)', async () => {
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    const address = relay.tcp.toString()
    agent = await createAgent({ handle: 'waits-quietly', relays: [address], powBits: 8, minPowBits: 8, webrtc: false })
    await agent.start()
    await relay.stop('SIGKILL')
    await new Promise(resolve => setTimeout(resolve, 1000))
    const before = process.cpuUsage()
    const windowMs = 5000
    await new Promise(resolve => setTimeout(resolve, windowMs))
    const used = process.cpuUsage(before)
    const cpuMs = (used.user + used.system) / 1000
    // this process holds only the agent now: unpaced, it used ~3,000 ms of CPU in these 5 s
    expect(cpuMs, `CPU used in ${windowMs} ms with the relay down`).to.be.below(750)
    expect(agent.libp2p.services.walkPacer.pause).to.be.at.least(WALK_PACE_MIN_MS)
  })
})
