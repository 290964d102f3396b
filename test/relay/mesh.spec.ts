import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createTestPeer } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'
import { createIdentity, loadOrCreateIdentity } from '../../src/identity/index.js'
import { handleKey, handleDhtConfig, validateHandleRecord } from '../../src/handles/record.js'
import { validRecord, TEST_BITS } from './records.js'

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

for (const size of [2, 3]) {
  describe(`${size} relays bootstrapped together`, function () {
    this.timeout(60_000)
    let dir: string
    const relays: RelayProcess[] = []
    let writer: TestPeer
    let reader: TestPeer

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `parley-mesh${size}-`))
      // each relay's key is made ahead (as `parley id --data-dir` does), so that a relay can trust
      // the ones started after it (--dht-server) and bootstrap from the ones started before it
      const ids = await Promise.all(Array.from({ length: size }, async (_, i) => (await loadOrCreateIdentity({ dataDir: join(dir, `relay${i}`), kind: 'agent' })).peerIdString))
      for (let i = 0; i < size; i++) {
        const bootstrap = relays.flatMap(r => ['--bootstrap', r.tcp.toString()])
        const later = ids.slice(i + 1).flatMap(id => ['--dht-server', id])
        relays.push(await startRelayProcess({ dataDir: join(dir, `relay${i}`), args: [...bootstrap, ...later] }))
      }
      // the first relay hears of the others when they dial it
      const first = relays[0]
      if (first === undefined) throw new Error('no relay')
      await until('relays to know each other', async () => {
        const health = await Promise.all(relays.map(async r => await (await fetch(r.httpUrl + '/healthz')).json() as { connections: number }))
        return health.every(h => h.connections >= size - 1)
      })
      writer = await createTestPeer({ webrtc: false })
      reader = await createTestPeer({ webrtc: false, ...handleDhtConfig({ minPowBits: TEST_BITS }) })
      await writer.dial(first.tcp) // the writer knows only the first relay
      await reader.dial(relays[size - 1]?.tcp ?? first.tcp) // the reader only the last
      await new Promise(resolve => setTimeout(resolve, 300))
    })

    after(async () => {
      await writer?.stop()
      await reader?.stop()
      await Promise.all(relays.map(async r => r.stop('SIGKILL')))
      await rm(dir, { recursive: true, force: true })
    })

    it('a record put through the first relay is served by the last', async () => {
      const owner = await createIdentity({ kind: 'agent' })
      const handle = `mesh-of-${size}`
      const bytes = await validRecord(owner, handle)
      let stored = 0
      for await (const event of writer.services.dht.put(handleKey(handle), bytes, { signal: AbortSignal.timeout(10_000) })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
      }
      expect(stored, 'servers that stored the record').to.be.at.least(1)

      let got: Uint8Array | undefined
      for await (const event of reader.services.dht.get(handleKey(handle), { signal: AbortSignal.timeout(10_000) })) {
        if (event.name === 'VALUE') { got = event.value; break }
      }
      const record = await validateHandleRecord(got ?? new Uint8Array(), { key: handleKey(handle), minPowBits: TEST_BITS })
      expect(record.peer).to.equal(owner.peerIdString)
    })

    it('every relay refuses a squatter, whichever one it goes through', async () => {
      const owner = await createIdentity({ kind: 'agent' })
      const squatter = await createIdentity({ kind: 'agent' })
      const handle = `held-${size}`
      let stored = 0
      for await (const event of writer.services.dht.put(handleKey(handle), await validRecord(owner, handle), { signal: AbortSignal.timeout(10_000) })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
      }
      expect(stored).to.be.at.least(1)
      let accepted = 0
      for await (const event of reader.services.dht.put(handleKey(handle), await validRecord(squatter, handle, 9), { signal: AbortSignal.timeout(10_000) })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted++
      }
      expect(accepted).to.equal(0)
    })
  })
}
