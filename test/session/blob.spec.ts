/**
 * Payloads beyond a frame (protocols/blob): the vectors; a 10 MiB payload
 * pulled between two agents over their direct connection, intact, with the
 * receiver's memory bounded while it arrives; and every refusal with its
 * code — over the cap (nothing pulled), offered to someone else, spent,
 * corrupt, too much on offer.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent, Session } from '../../src/agent/index.js'
import { Blobs, BlobErrorCode, blobRef, checkBlob, isBlobRef } from '../../src/session/blob.js'
import type { BlobRef } from '../../src/session/blob.js'
import { fromHex } from '../../src/crypto/bytes.js'
import vectors from '../../protocols/blob/vectors.json' with { type: 'json' }

const BITS = 8
const MiB = 1024 * 1024

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
  return 'no error'
}

describe('blobs: payloads beyond a frame (protocols/blob)', function () {
  this.timeout(90_000)

  describe('vectors', () => {
    for (const v of vectors.refs) {
      it(`reference ${v.name}: ${v.valid ? 'valid' : 'invalid'}`, () => { expect(isBlobRef(v.ref)).to.equal(v.valid) })
    }
    for (const v of vectors.payloads) {
      it(`the reference of ${v.bytes} bytes`, () => {
        const ref = blobRef('AAECAwQFBgcICQoLDA0ODw', fromHex(v.hex))
        expect({ bytes: ref.bytes, sha256: ref.sha256 }).to.deep.equal({ bytes: v.bytes, sha256: v.sha256 })
      })
    }
    for (const v of vectors.checks) {
      it(`check: ${v.name}`, () => {
        let verdict = 'ok'
        try { checkBlob(v.ref as BlobRef, fromHex(v.arrived)) } catch (err) { verdict = (err as { code: string }).code }
        expect(verdict).to.equal(v.verdict)
      })
    }
    it('an offer over the per-peer budget is ERR_BLOB_OFFERS_FULL', () => {
      const blobs = new Blobs({ newStream: async () => { throw new Error('unused') } }, { maxOfferedBytesPerPeer: 100 })
      blobs.offer('peer-a', new Uint8Array(60))
      expect(() => blobs.offer('peer-a', new Uint8Array(60))).to.throw().with.property('code', BlobErrorCode.OFFERS_FULL)
      blobs.offer('peer-b', new Uint8Array(60)) // another peer's budget
      blobs.clear()
      expect(blobs.offeredBytes).to.equal(0)
    })
  })

  describe('between two agents', () => {
    let dir: string
    let relay: RelayProcess
    let a: Agent
    let b: Agent
    let c: Agent
    let ab: Session // a's session with b
    let ba: Session // b's view of it

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'parley-blob-'))
      relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: BITS })
      const options = { relays: [relay.tcp.toString()], powBits: BITS, minPowBits: BITS, rtcConfiguration: LOOPBACK_RTC }
      a = await createAgent({ ...options, handle: 'blob-sender' })
      b = await createAgent({ ...options, handle: 'blob-receiver' })
      c = await createAgent({ ...options, handle: 'blob-other' })
      await Promise.all([a.start(), b.start(), c.start()])
      await Promise.all([a.stunReady(), b.stunReady()])
      const inbound = new Promise<Session>(resolve => { b.addEventListener('session', (e) => { resolve(e.detail) }, { once: true }) })
      const direct = new Promise<void>(resolve => { a.addEventListener('direct', () => { resolve() }, { once: true }) })
      ab = await a.connect('@blob-receiver')
      ba = await inbound
      await direct
    })

    after(async () => {
      for (const x of [a, b, c]) await x?.close().catch(() => {})
      await relay?.stop('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    })

    it('pulls 10 MiB intact over the direct connection, the receiver\'s memory bounded while it arrives', async () => {
      const payload = randomBytes(10 * MiB)
      const ref = ab.offerBlob(payload)
      expect(ref.bytes).to.equal(10 * MiB)
      global.gc?.()
      const base = process.memoryUsage().arrayBuffers
      let peak = base
      // live memory, not garbage not yet collected: a full GC before each sample
      const sampler = setInterval(() => { global.gc?.(); peak = Math.max(peak, process.memoryUsage().arrayBuffers) }, 10)
      const t0 = performance.now()
      const got = await ba.fetchBlob(ref)
      const ms = performance.now() - t0
      clearInterval(sampler)
      peak = Math.max(peak, process.memoryUsage().arrayBuffers)
      expect(Buffer.from(got).equals(payload), 'intact').to.equal(true)
      const extra = peak - base
      console.log(`      10 MiB in ${ms.toFixed(0)} ms (${(10 / (ms / 1000)).toFixed(0)} MiB/s); live array buffers grew at most ${(extra / MiB).toFixed(1)} MiB (the receiver's 10 MiB buffer included)`)
      // the receiver's buffer (10 MiB) plus a bounded read-ahead and transport buffers. Chunks the WebRTC
      // transport has delivered wait in the stream's read queue until the reader takes them: alone here
      // that is 0.5-5 MiB, but with the full suite on two cores a run measured 12.5 MiB (both ends are in
      // this process, so the sampled figure also holds the sender's side)
      expect(extra, 'memory while it streams').to.be.lessThan(10 * MiB + 16 * MiB)
      // spent: a second pull finds no offer
      expect(await codeOf(ba.fetchBlob(ref))).to.equal(BlobErrorCode.UNAVAILABLE)
    })

    it('refuses a payload over the receiver\'s cap without pulling it', async () => {
      const ref = ab.offerBlob(new Uint8Array(2 * MiB))
      expect(await codeOf(ba.fetchBlob(ref, { maxBytes: MiB }))).to.equal(BlobErrorCode.TOO_LARGE)
      expect(Buffer.from(await ba.fetchBlob(ref)).equals(Buffer.alloc(2 * MiB)), 'still on offer, and pulled within the default cap').to.equal(true)
    })

    it('serves an offer only to the peer it was made to', async () => {
      const ref = ab.offerBlob(new Uint8Array(1000).fill(7))
      const ca = await c.connect('@blob-sender')
      expect(await codeOf(ca.fetchBlob(ref))).to.equal(BlobErrorCode.UNAVAILABLE)
      expect((await ba.fetchBlob(ref))[999]).to.equal(7)
    })

    it('refuses bytes that do not match the reference: ERR_BLOB_CORRUPT', async () => {
      const ref = ab.offerBlob(new Uint8Array(5000).fill(1))
      const lying = { ...ref, sha256: blobRef(ref.blob, new Uint8Array(5000).fill(2)).sha256 }
      expect(await codeOf(ba.fetchBlob(lying))).to.equal(BlobErrorCode.CORRUPT)
      const shorter = { ...ref, bytes: 4000 }
      expect(await codeOf(ba.fetchBlob(shorter))).to.be.oneOf([BlobErrorCode.CORRUPT, BlobErrorCode.UNAVAILABLE])
      expect(await codeOf(ba.fetchBlob({ blob: 'x' } as unknown as BlobRef))).to.equal(BlobErrorCode.INVALID_REF)
    })
  })
})
