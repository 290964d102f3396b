import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import { readFrames, FrameError } from '../../src/session/frames.js'
import { verifyEnvelope } from '../../src/envelope/envelope.js'
import { helloSessionId } from '../../src/session/session.js'
import { ReplayGuard } from '../../src/envelope/replay-guard.js'
import { fromHex, fromUtf8, utf8 } from '../../src/crypto/bytes.js'

interface FramingVector { name: string, description: string, hex: string, maxBytes: number, expect: Array<{ text?: string, oversize?: number, error?: string }> }
interface MessageVector { name: string, description: string, text: string, method?: string, params?: unknown, id?: number, result?: unknown, error?: { code: number, data: { code: string } }, session?: string | null }
const vectors = JSON.parse(readFileSync(new URL('../../../protocols/session/vectors.json', import.meta.url), 'utf8')) as { now: number, signer: string, recipient: string, framing: FramingVector[], messages: MessageVector[], retries: Array<{ name: string, description: string, texts: string[] }> }

async function * chunks (bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size)
}

async function read (bytes: Uint8Array, size: number, maxBytes: number): Promise<Array<{ text?: string, oversize?: number, error?: string }>> {
  const out: Array<{ text?: string, oversize?: number, error?: string }> = []
  try {
    for await (const f of readFrames(chunks(bytes, size), maxBytes, maxBytes * 16)) out.push('oversize' in f ? { oversize: f.oversize } : { text: fromUtf8(f.bytes) })
  } catch (err) {
    if (!(err instanceof FrameError)) throw err
    out.push({ error: err.name })
  }
  return out
}

describe('protocols/session vectors', () => {
  for (const v of vectors.framing) {
    it(`framing ${v.name}: ${v.description}`, async () => {
      const bytes = fromHex(v.hex)
      for (const size of [1, 2, 3, 7, 64, Math.max(1, bytes.byteLength)]) {
        expect(await read(bytes, size, v.maxBytes), `chunks of ${size}`).to.deep.equal(v.expect)
      }
    })
  }
  for (const v of vectors.messages) {
    it(`message ${v.name}: ${v.description}`, async () => {
      const { envelope } = await verifyEnvelope(utf8(v.text), { now: vectors.now, expectedSigner: vectors.signer, self: { peer: vectors.recipient } })
      const body = envelope.body as unknown as Record<string, unknown>
      if (v.method !== undefined) expect(body.method).to.equal(v.method)
      if (v.params !== undefined) expect(body.params).to.deep.equal(v.params)
      if (v.id !== undefined) expect(body.id).to.equal(v.id)
      if (v.session !== undefined) expect(helloSessionId(envelope.body ?? { jsonrpc: '2.0', method: '' }) ?? null).to.equal(v.session)
      if (v.result !== undefined) expect(body.result).to.deep.equal(v.result)
      if (v.error !== undefined) {
        expect(body.error).to.have.property('code', v.error.code)
        expect((body.error as { data: unknown }).data).to.deep.equal(v.error.data)
      }
    })
  }
  for (const v of vectors.retries) {
    it(`retry ${v.name}: ${v.description}`, async () => {
      const guard = new ReplayGuard()
      const ids = new Set<string>()
      const nonces = new Set<string>()
      for (const text of v.texts) {
        const { envelope } = await verifyEnvelope(utf8(text), { now: vectors.now, expectedSigner: vectors.signer, self: { peer: vectors.recipient }, replayGuard: guard })
        ids.add(envelope.id)
        nonces.add(envelope.nonce)
      }
      expect(ids.size, 'one envelope id').to.equal(1)
      expect(nonces.size, 'a nonce each').to.equal(v.texts.length)
    })
  }
})
