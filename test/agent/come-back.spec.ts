/**
 * A peer that comes back with the same key reserves anew on each connection:
 * a browser tab on every reload, an agent on every restart. The relay's
 * per-peer reservation rate must let it come back at that pace. At 5 a
 * minute the sixth restart within a minute waited 15 s for a reservation
 * and failed `ERR_NO_RELAY`.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import { DEFAULT_RELAY_LIMITS } from '../../src/node/relay-limits.js'

const RESTARTS = 12

describe('an agent that comes back with the same key', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-come-back-'))
    // the relay's reservation limits as shipped
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 0 })
  })

  after(async () => {
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it(`restarts ${RESTARTS} times in a row with its handle, each start reserved and published within seconds`, async () => {
    expect(RESTARTS, 'more restarts than the old per-peer rate allowed').to.be.above(5)
    expect(DEFAULT_RELAY_LIMITS.reservationRatePerPeer).to.be.at.least(RESTARTS)
    const took: number[] = []
    let peer: string | undefined
    const handle = `back-${Date.now().toString(36)}`
    for (let i = 0; i < RESTARTS; i++) {
      const agent = await createAgent({ handle, dataDir: join(dir, 'agent'), relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, webrtc: false })
      const started = Date.now()
      try {
        await agent.start()
        took.push(Date.now() - started)
        peer ??= agent.peerId
        expect(agent.peerId, 'the same key each time').to.equal(peer)
      } finally {
        await agent.close()
      }
    }
    expect(Math.max(...took), `ms each start took: ${took.join(', ')}`).to.be.below(5000)
  })
})
