/**
 * Session deadlines and limits (protocols/session §6) against an agent under
 * attack: a stream that never says hello, a frame trickled a byte at a time,
 * a flood of pipelined requests to a slow handler, and a peer that requests
 * without ever reading its responses.
 *
 * The attacker is a stock js-libp2p node with its own framing (./helpers.ts);
 * it reaches the victim through a `parley relay` child process. The victim is
 * an in-process agent (what is under test is what it holds, not whether its
 * process dies: frames.spec.ts covers that), created with short deadlines so
 * that the cases run in seconds. After each case a legitimate client's `ping`
 * must still be answered. The floods (c) and (d) run once more against the
 * same agent in a process of its own (./victim.ts), from the attacker's own
 * codec (./attacker.ts), with the victim's RSS held below 1.5 times its idle
 * figure.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import { checkAgentOptions } from '../../src/agent/options.js'
import type { Agent } from '../../src/agent/index.js'
import { signEnvelope } from '../../src/envelope/envelope.js'
import { SessionLimitError } from '../../src/session/session.js'
import type { Session } from '../../src/session/session.js'
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_WRITE_BUFFER_BYTES, TOO_MANY_REQUESTS } from '../../src/session/constants.js'
import { BITS, RawSession, SESSION, createAttacker, pingTime, underFlood, useAgentTarget, varint } from './helpers.js'
import { envelope, peerOf, speak } from './attacker.js'

const HELLO_TIMEOUT_MS = 500
const FRAME_TIMEOUT_MS = 1000
const WRITE_TIMEOUT_MS = 1000
/** The attacker's yamux stream window (yamux's initial one, kept from growing). */
const WINDOW = 256 * 1024

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('session deadlines and limits against an attacker', function () {
  this.timeout(60_000)
  let dir: string
  let relay: RelayProcess
  let victim: Agent
  let client: Agent
  let key: PrivateKey
  let attacker: Libp2p
  const handle = `victim-${Math.random().toString(36).slice(2, 8)}`
  /** The slow handler: how many run at once, the most that ever did, and the switch that lets them finish. */
  const slow = { running: 0, most: 0, calls: 0, release: () => {}, released: Promise.resolve() }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-limits-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
    victim = await createAgent({
      handle,
      relays: [relay.tcp.toString()],
      powBits: BITS,
      minPowBits: BITS,
      webrtc: false,
      helloTimeoutMs: HELLO_TIMEOUT_MS,
      frameTimeoutMs: FRAME_TIMEOUT_MS,
      writeTimeoutMs: WRITE_TIMEOUT_MS
    })
    victim.handle('slow', async () => {
      slow.calls++
      slow.running++
      slow.most = Math.max(slow.most, slow.running)
      try {
        await slow.released
      } finally {
        slow.running--
      }
      return 'done'
    })
    victim.handle('big', () => 'x'.repeat(64 * 1024))
    await victim.start()
    client = await createAgent({ relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, webrtc: false })
    await client.start()
    key = await generateKeyPair('Ed25519')
    // its streams' receive windows stay at yamux's initial 256 KiB: a paused stream takes no more than that
    attacker = await createAttacker(key, { maxStreamWindowSize: WINDOW })
  })

  after(async () => {
    slow.release()
    await attacker?.stop()
    await client?.stop()
    await victim?.stop()
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  /** Opens a session stream to the victim through the relay. */
  async function open (): Promise<RawSession> {
    const connection = await attacker.dial(multiaddr(`${relay.tcp.toString()}/p2p-circuit/p2p/${victim.peerId}`), { signal: AbortSignal.timeout(10_000) })
    const stream = await connection.newStream(SESSION, { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    return new RawSession(stream)
  }

  /** An envelope signed by the attacker's key. */
  async function signed (body: Record<string, unknown>): Promise<Uint8Array> {
    const signer = { peerIdString: attacker.peerId.toString(), sign: async (data: Uint8Array) => key.sign(data) }
    const { bytes } = await signEnvelope(signer, { to: { peer: victim.peerId }, body: { jsonrpc: '2.0', ...body } as never })
    return bytes
  }

  /** Sends a valid hello, waits for the victim's, and returns the victim's side of the session. */
  async function hello (session: RawSession): Promise<Session> {
    const id = 'limits-' + Math.random().toString(36).slice(2, 10)
    const accepted = new Promise<Session>(resolve => {
      const listener = (e: CustomEvent<Session>): void => {
        if (e.detail.id !== id) return
        victim.removeEventListener('session', listener)
        resolve(e.detail)
      }
      victim.addEventListener('session', listener)
    })
    session.send(await signed({ method: 'session/hello', params: { session: id } }))
    const answer = await session.frame(0)
    expect((answer.body as { method?: string }).method, 'the victim answers the hello with its own').to.equal('session/hello')
    return accepted
  }

  /** Resolves with the error that ends `session` (its `close` event), and when. */
  async function closing (session: Session): Promise<{ error: Error | undefined, at: number }> {
    if (session.closed) throw new Error('already closed')
    return new Promise(resolve => { session.addEventListener('close', (e) => { resolve({ error: e.detail, at: Date.now() }) }, { once: true }) })
  }

  /** The victim's side of the attacker's newest session stream. */
  async function victimStream (): Promise<Stream> {
    const deadline = Date.now() + 2000
    while (true) {
      const streams = victim.libp2p.getConnections(attacker.peerId).flatMap(c => c.streams).filter(s => s.protocol === SESSION && s.status === 'open')
      const newest = streams.at(-1)
      if (newest !== undefined) return newest
      if (Date.now() > deadline) throw new Error('the victim has no session stream from the attacker')
      await sleep(10)
    }
  }

  /** A legitimate client still gets `pong`, quickly. */
  const answersPing = async (): Promise<number> => pingTime(client, handle)

  /** Nothing stays held: within a moment the victim has no session stream from the attacker left, and no session. */
  async function noneHeld (): Promise<void> {
    const deadline = Date.now() + 2000
    const held = (): number => victim.libp2p.getConnections(attacker.peerId).flatMap(c => c.streams).filter(s => s.protocol === SESSION && s.status === 'open').length
    while (held() > 0 && Date.now() < deadline) await sleep(20)
    expect(held(), 'session streams from the attacker the victim still holds').to.equal(0)
  }

  it(`(a) resets a stream that sends no hello within helloTimeoutMs (${HELLO_TIMEOUT_MS} ms), and one that sends only part of it`, async () => {
    // nothing at all
    const silent = await open()
    const opened = Date.now()
    const stream = await victimStream()
    const reason = new Promise<Error | undefined>(resolve => { stream.addEventListener('close', (e) => { resolve(e.error) }, { once: true }) })
    const ended = await silent.ended
    const error = await reason
    expect(ended - opened, 'reset within the hello deadline (plus slack)').to.be.within(HELLO_TIMEOUT_MS - 100, HELLO_TIMEOUT_MS + 1000)
    expect(error).to.be.instanceOf(SessionLimitError)
    expect(error).to.include({ name: 'SessionLimitError', code: 'ERR_HELLO_TIMEOUT' })
    expect(silent.frames, 'the victim said nothing to it').to.have.length(0)

    // a hello's first bytes, then silence
    const partial = await open()
    const started = Date.now()
    const hello = await signed({ method: 'session/hello', params: { session: 'limits-partial' } })
    partial.sendRaw(varint(hello.byteLength))
    partial.sendRaw(hello.subarray(0, 20))
    const stream2 = await victimStream()
    const reason2 = new Promise<Error | undefined>(resolve => { stream2.addEventListener('close', (e) => { resolve(e.error) }, { once: true }) })
    expect((await partial.ended) - started).to.be.below(HELLO_TIMEOUT_MS + 1000)
    expect(await reason2).to.include({ code: 'ERR_HELLO_TIMEOUT' })

    await noneHeld()
    expect(await answersPing()).to.be.below(1000)
  })

  it(`(b) closes a session whose frame is trickled a byte every 200 ms once frameTimeoutMs (${FRAME_TIMEOUT_MS} ms) passes, but not one idle between frames`, async () => {
    const raw = await open()
    const session = await hello(raw)
    // idle for longer than the frame deadline: between frames that is fine
    await sleep(FRAME_TIMEOUT_MS + 500)
    expect(session.closed, 'idle between frames is not limited').to.equal(false)
    expect(raw.isEnded).to.equal(false)

    const closed = closing(session)
    const request = await signed({ id: 1, method: 'ping' })
    const bytes = [...varint(request.byteLength), ...request]
    const started = Date.now()
    let sent = 0
    for (const b of bytes) {
      if (raw.isEnded || session.closed) break
      raw.sendRaw(Uint8Array.of(b))
      sent++
      await sleep(200)
    }
    const { error, at } = await closed
    expect(sent, 'cut off long before the frame was whole').to.be.below(bytes.length / 2)
    expect(at - started, 'closed once the frame deadline passed').to.be.within(FRAME_TIMEOUT_MS - 100, FRAME_TIMEOUT_MS + 1000)
    expect(error).to.be.instanceOf(SessionLimitError)
    expect(error).to.include({ name: 'SessionLimitError', code: 'ERR_FRAME_TIMEOUT' })
    await raw.ended // the stream was reset, not left open
    await noneHeld()
    expect(await answersPing()).to.be.below(1000)
  })

  it(`(c) handles at most maxInFlight (${DEFAULT_MAX_IN_FLIGHT}) of 500 pipelined requests at once and answers the rest ERR_TOO_MANY_REQUESTS; a legitimate ping meanwhile answers in under 1 s`, async () => {
    const { promise, resolve } = Promise.withResolvers<void>()
    slow.released = promise
    slow.release = resolve
    const raw = await open()
    const session = await hello(raw)
    const count = 500
    const requests: Uint8Array[] = []
    for (let id = 1; id <= count; id++) requests.push(await signed({ id, method: 'slow' }))
    for (const r of requests) raw.send(r)

    // every request beyond the limit is answered at once (frame 0 was the victim's hello)
    const refused = count - DEFAULT_MAX_IN_FLIGHT
    await raw.frame(refused, 20_000)
    const answers = await Promise.all(raw.frames.slice(1).map(async (_, i) => raw.frame(i + 1)))
    const errors = answers.map(a => a.body as { id: number, error?: { code: number, message: string, data?: { code?: string } } })
    expect(errors).to.have.length(refused)
    for (const e of errors) {
      expect(e.error?.code).to.equal(TOO_MANY_REQUESTS)
      expect(e.error?.data?.code).to.equal('ERR_TOO_MANY_REQUESTS')
    }
    expect(slow.running, 'handlers running').to.equal(DEFAULT_MAX_IN_FLIGHT)
    expect(slow.most, 'most handlers ever running at once').to.equal(DEFAULT_MAX_IN_FLIGHT)

    // another session is not starved by this one's flood
    expect(await answersPing(), 'a legitimate ping (ms)').to.be.below(1000)

    slow.release()
    await raw.frame(count, 10_000)
    const results = raw.frames.slice(1).map(f => (JSON.parse(new TextDecoder().decode(f)) as { body: { id: number, result?: unknown } }).body).filter(b => b.result !== undefined)
    expect(results).to.have.length(DEFAULT_MAX_IN_FLIGHT)
    expect(results.every(r => r.result === 'done')).to.equal(true)
    expect(slow.calls).to.equal(DEFAULT_MAX_IN_FLIGHT)
    expect(session.closed, 'the flood is refused, not punished: the session goes on').to.equal(false)
    await raw.stream.close()
    await noneHeld()
  })

  /** A peer that requests 64 KiB results `count` times and reads none of them. */
  async function neverReads (count: number, readFirst = 0): Promise<{ error: Error | undefined, mostBuffered: number, rssGrowth: number, raw: RawSession }> {
    const raw = await open()
    const session = await hello(raw)
    const closed = closing(session)
    // read the responses to a first few requests: their sends outgrow our window, so the victim's stream drains at least once
    for (let id = 1; id <= readFirst; id++) raw.send(await signed({ id: -id, method: 'big' }))
    if (readFirst > 0) await raw.frame(readFirst)
    const requests: Uint8Array[] = []
    for (let id = 1; id <= count; id++) requests.push(await signed({ id, method: 'big' }))
    ;(globalThis as { gc?: () => void }).gc?.()
    const rssBefore = process.memoryUsage().rss
    let mostBuffered = 0
    let rssMost = rssBefore
    const sample = (): void => {
      if (!session.closed) mostBuffered = Math.max(mostBuffered, session.bufferedBytes)
      rssMost = Math.max(rssMost, process.memoryUsage().rss)
    }
    // sampled at every request the victim takes and every response it sends (its work may never yield to a timer), and every 5 ms
    session.addEventListener('request', sample)
    session.addEventListener('envelope', sample)
    const sampler = setInterval(sample, 5)
    raw.stream.pause() // reads nothing more: no window updates go back, so the victim's sends block
    try {
      for (const r of requests) raw.send(r)
      const { error } = await closed
      return { error, mostBuffered, rssGrowth: rssMost - rssBefore, raw }
    } finally {
      clearInterval(sampler)
    }
  }

  it('(d) closes the session of a peer that sends requests but never reads the responses, with a bounded buffer', async () => {
    // 400 responses of 64 KiB (25 MiB) to a peer that reads none: the queue bound is hit first
    const flood = await neverReads(400)
    expect(flood.error).to.be.instanceOf(SessionLimitError)
    expect(flood.error).to.include({ name: 'SessionLimitError', code: 'ERR_WRITE_BUFFER_FULL' })
    // what the victim held for the attacker: its queue plus the stream's buffer
    expect(flood.mostBuffered, 'bytes the victim held waiting to be sent').to.be.above(0).and.at.most(DEFAULT_MAX_WRITE_BUFFER_BYTES + 2 * 70_000)
    expect(flood.rssGrowth, 'RSS growth while 25 MiB of responses were asked for').to.be.below(24 * 1024 * 1024)
    await noneHeld()
    expect(await answersPing()).to.be.below(1000)

    // the same after reading 8 responses (512 KiB, twice our window): a stream that drained once still makes the victim wait for the next drain
    const drainedOnce = await neverReads(400, 8)
    expect(drainedOnce.error).to.include({ name: 'SessionLimitError', code: 'ERR_WRITE_BUFFER_FULL' })
    expect(drainedOnce.mostBuffered, 'bytes the victim held after one drain').to.be.above(0).and.at.most(DEFAULT_MAX_WRITE_BUFFER_BYTES + 2 * 70_000)
    await noneHeld()
    expect(await answersPing()).to.be.below(1000)

    // 12 responses (790 KB): more than the attacker's window (256 KiB), less than that plus the queue bound: the write deadline is hit
    const started = Date.now()
    const stalled = await neverReads(12)
    expect(stalled.error).to.be.instanceOf(SessionLimitError)
    expect(stalled.error).to.include({ name: 'SessionLimitError', code: 'ERR_WRITE_TIMEOUT' })
    expect(Date.now() - started, 'closed once the write deadline passed').to.be.below(WRITE_TIMEOUT_MS + 5000)
    await noneHeld()
    expect(await answersPing()).to.be.below(1000)
  })

  it('checks the limits given to an agent', () => {
    const relays = [relay.tcp.toString()]
    for (const key of ['helloTimeoutMs', 'frameTimeoutMs', 'writeTimeoutMs', 'maxWriteBufferBytes'] as const) {
      expect(() => checkAgentOptions({ relays, [key]: -1 }), key).to.throw(new RegExp(`${key} must be a non-negative number`)).with.property('code', 'ERR_INVALID_OPTIONS')
      expect(() => checkAgentOptions({ relays, [key]: 0 }), `${key}: 0`).not.to.throw()
    }
    for (const bad of [0, 1.5, -3, Number.NaN]) {
      expect(() => checkAgentOptions({ relays, maxInFlight: bad }), String(bad)).to.throw(/maxInFlight must be a whole number of at least 1/).with.property('code', 'ERR_INVALID_OPTIONS')
    }
    expect(() => checkAgentOptions({ relays, maxInFlight: 1 })).not.to.throw()
  })

  it('caps what an error response echoes from a request: a 200 000-character method name', async () => {
    const raw = await open()
    await hello(raw)
    raw.send(await signed({ id: 7, method: 'm'.repeat(200_000) }))
    const answer = (await raw.frame(1)).body as { id: number, error: { code: number, message: string } }
    expect(answer.id).to.equal(7)
    expect(answer.error.code).to.equal(-32601)
    expect(answer.error.message.length, 'the error message').to.be.below(400)
    expect(raw.frames[1]?.byteLength, 'the whole response frame').to.be.below(2000)
    await raw.stream.close()
    await noneHeld()
    expect(await answersPing()).to.be.below(1000)
  })
})

describe('session limits against an agent process: the floods, with its RSS', function () {
  this.timeout(60_000)
  // the same deadlines as above, in a process of its own, serving `slow`, `release` and `big` (./victim.ts)
  const target = useAgentTarget('victim-proc', {
    victim: { helloTimeoutMs: HELLO_TIMEOUT_MS, frameTimeoutMs: FRAME_TIMEOUT_MS, writeTimeoutMs: WRITE_TIMEOUT_MS },
    attacker: { maxStreamWindowSize: WINDOW }
  })

  /** `count` requests for `method`, signed by the attacker with its own codec, ids 1…count. */
  async function requests (method: string, count: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (let id = 1; id <= count; id++) out.push((await envelope(target.key, { to: { peer: target.victim.peer }, body: { jsonrpc: '2.0', id, method } })).bytes)
    return out
  }

  it(`(c) 500 pipelined requests to a slow handler: ${DEFAULT_MAX_IN_FLIGHT} handled, the rest ERR_TOO_MANY_REQUESTS, a legitimate ping meanwhile in under 1 s`, async () => {
    const s = await speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
    const count = 500
    const flood = await requests('slow', count)
    const refused = count - DEFAULT_MAX_IN_FLIGHT
    const pingMs = await underFlood(`${count} pipelined requests`, target.victim.child.pid ?? 0, target.idle, async () => {
      for (const r of flood) s.raw.send(r)
      await s.raw.frame(refused, 20_000)
      return target.stillServes()
    })
    const answers = s.bodies().slice(1)
    expect(answers).to.have.length(refused)
    for (const a of answers) expect(a.error).to.deep.include({ code: TOO_MANY_REQUESTS, data: { code: 'ERR_TOO_MANY_REQUESTS' } })
    expect(pingMs, 'a legitimate ping during the flood (ms)').to.be.below(1000)
    // the legitimate client lets the slow handlers finish: as many ran as the limit, never more at once
    const release = await target.client.connect(`@${target.handle}`)
    expect(await release.request('release')).to.deep.equal({ calls: DEFAULT_MAX_IN_FLIGHT, most: DEFAULT_MAX_IN_FLIGHT })
    await release.close()
    await s.raw.frame(count, 10_000)
    expect(s.bodies().filter(b => b.result === 'done')).to.have.length(DEFAULT_MAX_IN_FLIGHT)
    s.close()
  })

  it('(d) 400 responses of 64 KiB to a peer that reads none: the session is cut off (ERR_WRITE_BUFFER_FULL), the buffer bounded', async () => {
    const s = await speak(target.attacker, target.key, target.relay.tcp, target.victim.peer)
    const flood = await requests('big', 400)
    await underFlood('400 × 64 KiB responses never read', target.victim.child.pid ?? 0, target.idle, async () => {
      s.raw.stream.pause() // reads nothing more: no window updates go back, so the victim's sends block
      for (const r of flood) s.raw.send(r)
      const deadline = Date.now() + 15_000
      while (!target.victim.events().some(e => e.event === 'closed' && e.peer === peerOf(target.key))) {
        if (Date.now() > deadline) throw new Error('the victim did not cut the session off')
        await sleep(50)
      }
    })
    expect(target.victim.events().filter(e => e.event === 'closed' && e.peer === peerOf(target.key)).map(e => e.code)).to.deep.equal(['ERR_WRITE_BUFFER_FULL'])
    s.close()
    expect(await target.stillServes()).to.be.below(1000)
  })
})
