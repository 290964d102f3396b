/**
 * A peer that writes to a session faster than the agent reads it
 * (protocols/session §6.1, read-ahead).
 *
 * The attacker says hello, then writes frames of 200 KB of junk as fast as its
 * stream takes them. The victim admits each peer's frames at its frame rate,
 * here 20 a second after a burst of 40 (4 MB/s of these frames), far slower
 * than the relay delivers them. The stream's own async iterator queues
 * whatever arrives, without limit: read that way, the victim held every byte
 * the relay could deliver. Now the session pauses its stream past 64 KiB read
 * ahead, yamux stops granting the sender window, the relay stops reading the
 * attacker's side of the circuit, and the attacker's writes wait. The victim
 * runs in this process (its frame rate is an agent option); the attacker keeps
 * at most 1 MiB queued on its side, so what grows here is what the victim holds.
 */
import { expect } from 'chai'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { BITS, RawSession, SESSION, createAttacker, frame, pingTime } from './helpers.js'

const FLOOD_MS = 6000
const FRAMES_PER_SECOND = 20
const JUNK = new Uint8Array(200_000).fill(0x78) // 'x' × 200 000: not JSON, refused at its first byte
const MB = 1024 * 1024

/** Resident memory of a process, in bytes (Linux). */
async function rss (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`)
  return Number(kb) * 1024
}

const mb = (n: number): string => `${(n / MB).toFixed(0)} MB`
const gc = (): void => { (globalThis as { gc?: () => void }).gc?.() }

describe('a peer writing faster than the agent reads', function () {
  this.timeout(90_000)
  let dir: string
  let relay: RelayProcess
  let victim: Agent
  let client: Agent
  let key: PrivateKey
  let attacker: Libp2p
  const handle = `victim-${Math.random().toString(36).slice(2, 8)}`

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-inbound-'))
    // the circuit's data limit is lifted so that the relay is not what stops the flood
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS, args: ['--circuit-data', '64GiB'] })
    victim = await createAgent({ handle, relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false, maxFramesPerSecond: FRAMES_PER_SECOND })
    await victim.start()
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    attacker = await createAttacker(key)
  })

  after(async () => {
    await attacker?.stop()
    await client?.stop()
    await victim?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  const ping = async (): Promise<number> => pingTime(client, handle)

  it('holds at most its read-ahead and window, while a legitimate client is served; the relay holds nothing either', async () => {
    await ping() // warm: the client's connection and the code paths a ping takes
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    const session = new RawSession(stream)
    const signer = { peerIdString: attacker.peerId.toString(), sign: async (data: Uint8Array) => key.sign(data) }
    const { bytes } = await signEnvelope(signer, {
      to: { peer: victim.peerId },
      body: { jsonrpc: '2.0', method: 'session/hello', params: { session: 'flood-' + Math.random().toString(36).slice(2, 10) } }
    })
    session.send(bytes)
    expect(((await session.frame(0)).body as { method?: string }).method).to.equal('session/hello')

    const relayPid = relay.child.pid ?? 0
    gc()
    const held = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers }
    const heldIdle = held()
    const idle = process.memoryUsage().rss
    const relayIdle = await rss(relayPid)
    let peak = idle
    let relayPeak = relayIdle
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, process.memoryUsage().rss)
        relayPeak = Math.max(relayPeak, await rss(relayPid))
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })()

    const junk = frame(JUNK)
    let offered = 0
    const until = Date.now() + FLOOD_MS
    const flood = (async () => {
      while (Date.now() < until && stream.status === 'open') {
        // keep about 1 MiB queued on our side (stream.onDrain() cannot be relied on to wait: see drained() in src/session/frames.ts)
        if (stream.writeBufferLength > MB) {
          await new Promise(resolve => setTimeout(resolve, 5))
          continue
        }
        stream.send(junk)
        offered += junk.byteLength
      }
    })()
    await new Promise(resolve => setTimeout(resolve, FLOOD_MS / 2))
    const during = await ping()
    await flood
    const sent = offered - stream.writeBufferLength
    sampling = false
    await sampler
    gc()
    const heldAfter = held() // before the stream goes: a backlog would still be queued
    stream.abort(new Error('done'))
    const after = await ping()
    const admitted = (2 * FRAMES_PER_SECOND + FRAMES_PER_SECOND * FLOOD_MS / 1000) * JUNK.byteLength
    console.log(`      ${mb(sent)} sent in ${FLOOD_MS / 1000} s, about ${mb(admitted)} of it admitted; RSS here (victim) idle ${mb(idle)}, peak ${mb(peak)}, held after GC ${mb(heldIdle)} → ${mb(heldAfter)}; relay idle ${mb(relayIdle)}, peak ${mb(relayPeak)}; legit ping ${during.toFixed(0)} ms during, ${after.toFixed(0)} ms after`)

    // the victim read about what it admitted, and no more than its read-ahead and window beyond it
    expect(sent, 'bytes that left the attacker').to.be.below(admitted + 4 * MB)
    // it holds no backlog (the frames it read cost it garbage, collected: RSS peaks are reported, not asserted here)
    expect(heldAfter - heldIdle, 'heap and buffers held once the flood stops').to.be.below(16 * MB)
    expect(relayPeak, `relay RSS (idle ${mb(relayIdle)})`).to.be.below(relayIdle * 1.5)
    expect(during, 'a legitimate ping during the flood (ms)').to.be.below(2000)
  })
})
