/**
 * Hostile DHT PUTs at a relay: a stock kad-dht client that sends whatever it
 * likes (its own validators accept everything) puts records with no
 * namespace, an unknown namespace, more than 10 KiB, a lower sequence than
 * the one held, an expired one, and one for another handle than its key
 * names. The relay refuses each (protocols/handle-record §7, §9), counts it
 * by its code in `/metrics`, stays up within its memory bound, and the real
 * holder still resolves.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createTestPeer } from '../helpers/peer.js'
import type { TestPeer } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { createIdentity } from '../../src/identity/index.js'
import { createHandleRecord, handleKey } from '../../src/handles/record.js'
import { utf8 } from '../../src/crypto/bytes.js'
import { BITS, rssOf, underFlood } from './helpers.js'

describe('hostile handle records put to a relay', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let holder: Agent
  let resolver: Agent
  let attacker: TestPeer

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-adv-records-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    holder = await createAgent({ handle: 'record-holder', relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await holder.start()
    resolver = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await resolver.start()
    // a DHT client whose validators accept anything, in its own namespace `x` too
    attacker = await createTestPeer({ webrtc: false, validators: { handle: async () => {}, x: async () => {} }, selectors: { handle: () => 0, x: () => 0 } })
    await attacker.dial(relay.tcp)
    await new Promise(resolve => setTimeout(resolve, 1000))
  })

  after(async () => {
    await attacker?.stop()
    await resolver?.close()
    await holder?.close()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  /** Puts `value` under `key`; true when the relay accepted it. */
  async function put (key: Uint8Array, value: Uint8Array): Promise<boolean> {
    let accepted = false
    try {
      for await (const event of attacker.services.dht.put(key, value, { signal: AbortSignal.timeout(5000) })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted = true
      }
    } catch {
      // refused: the relay closed the stream or answered nothing
    }
    return accepted
  }

  /** The relay's count of refused records, by code. */
  async function refusals (): Promise<Record<string, number>> {
    const text = await (await fetch(`${relay.httpUrl}/metrics`)).text()
    const out: Record<string, number> = {}
    for (const m of text.matchAll(/parley_dht_records_rejected_total\{reason="([^"]+)"\} (\d+)/g)) out[m[1] ?? ''] = Number(m[2])
    return out
  }

  it('refuses each, counts it by its code, and the holder still resolves', async () => {
    const mallory = await createIdentity({ kind: 'agent' })
    const record = async (handle: string, extra: { seq?: number, ttlMs?: number, now?: number } = {}): Promise<Uint8Array> =>
      (await createHandleRecord(mallory, { handle, relays: [], seq: extra.seq ?? Date.now(), powBits: BITS, ...(extra.ttlMs === undefined ? {} : { ttlMs: extra.ttlMs }), ...(extra.now === undefined ? {} : { now: extra.now }) })).bytes
    const cases: Array<[string, Uint8Array, Uint8Array]> = [
      ['no namespace', utf8('no-namespace'), await record('attack-one')],
      ['unknown namespace', utf8('/x/attack-two'), await record('attack-two')],
      ['over 10 KiB', handleKey('attack-three'), new Uint8Array(11 * 1024).fill(0x7b)],
      ['expired', handleKey('attack-four'), await record('attack-four', { now: Date.now() - 3 * 86_400_000, ttlMs: 60_000 })],
      ['another handle than its key', handleKey('attack-five'), await record('attack-six')],
      ['a held handle, another key', handleKey('record-holder'), await record('record-holder', { seq: Date.now() + 1e9 })]
    ]
    // control: the same client's valid record for a free handle is stored, so the refusals below are the relay's
    expect(await put(handleKey('attack-control'), await record('attack-control')), 'a valid record accepted').to.equal(true)
    const pid = relay.child.pid ?? 0
    // each of them ten times over
    await underFlood(`${cases.length * 10} hostile DHT PUTs`, pid, rssOf(pid), async () => {
      for (let round = 0; round < 10; round++) {
        for (const [name, key, value] of cases) {
          expect(await put(key, value), `${name}: accepted`).to.equal(false)
        }
      }
      // a lower sequence of the holder's own record: the relay keeps the newer one
      const older = (await createHandleRecord(holder.identity, { handle: 'record-holder', relays: [], seq: 1, powBits: BITS })).bytes
      await put(handleKey('record-holder'), older)
    })

    const counted = await refusals()
    for (const code of ['ERR_OVERSIZE', 'ERR_EXPIRED', 'ERR_KEY_MISMATCH', 'ERR_HANDLE_TAKEN']) expect(counted[code] ?? 0, `refusals counted as ${code}`).to.be.at.least(1)
    const health = await (await fetch(`${relay.httpUrl}/healthz`)).json() as { status: string }
    expect(health.status).to.equal('ok')
    const current = await resolver.resolve('@record-holder', { fresh: true })
    expect(current.peer).to.equal(holder.peerId)
    expect(current.seq).to.equal(holder.record?.seq)
    for (const handle of ['attack-two', 'attack-three', 'attack-four', 'attack-five']) {
      let code: unknown
      try { await resolver.resolve(`@${handle}`, { fresh: true }) } catch (err) { code = (err as { code?: string }).code }
      expect(code, `@${handle} resolved`).to.equal('ERR_NOT_FOUND')
    }
  })
})
