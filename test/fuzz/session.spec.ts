/**
 * Fuzzing the session decoders (src/session): `readFrames` over arbitrary
 * chunkings of arbitrary bytes and of valid frame sequences, and `peekBody` /
 * `helloSessionId` on arbitrary frames. `readFrames` documents two ways to
 * end a stream: a `FrameError` (a broken prefix: the stream is reset) or a
 * `SessionLimitError` (a deadline; none is set here). `FrameError` is a
 * plain `Error` subclass by design (protocols/session vectors name it).
 *
 * Budget: see test/fuzz/helpers.ts (`PARLEY_FUZZ_RUNS`, `PARLEY_FUZZ_SEED`).
 */
import { expect } from 'chai'
import fc from 'fast-check'
import * as varint from 'uint8-varint'
import { encodeFrame, readFrames } from '../../src/session/frames.js'
import { helloSessionId, peekBody } from '../../src/session/session.js'
import { validateJsonRpc } from '../../src/envelope/jsonrpc.js'
import { ID_PATTERN } from '../../src/envelope/constants.js'
import vectors from '../../protocols/session/vectors.json' with { type: 'json' }
import { CALL_LIMIT_MS, TIMEOUT, chunkings, junkBytes, mutatedJsonBytes, params, utf8, withinLimit } from './helpers.js'

type Read = { frames: Array<{ bytes: string } | { oversize: number }>, error?: string }

async function * source (chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c
}

/** Everything `readFrames` yields from `chunks`, and the error that ended it, if any (a FrameError only). */
async function read (chunks: Uint8Array[], maxBytes: number, hardMax = maxBytes * 16): Promise<Read> {
  const out: Read = { frames: [] }
  const start = performance.now()
  try {
    for await (const f of readFrames(source(chunks), maxBytes, hardMax)) {
      out.frames.push('bytes' in f ? { bytes: Buffer.from(f.bytes).toString('hex') } : { oversize: f.oversize })
    }
  } catch (err) {
    expect(err, `untyped throw: ${String(err)}`).to.be.instanceOf(Error)
    expect((err as Error).name, (err as Error).message).to.equal('FrameError')
    out.error = 'FrameError'
  }
  expect(performance.now() - start).to.be.below(CALL_LIMIT_MS)
  return out
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))

/** A frame to send: a body under the limit, or an oversize one (its length only matters). */
const frameSpec = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }).map(bytes => ({ bytes })) },
  { weight: 1, arbitrary: fc.integer({ min: 65, max: 400 }).map(n => ({ bytes: new Uint8Array(n).fill(0x78) })) }
)

describe('fuzz: session frames', function () {
  this.timeout(TIMEOUT)

  it('encode → readFrames under any chunking gives back the frames (oversize ones reported by length)', async () => {
    const maxBytes = 64
    await fc.assert(fc.asyncProperty(fc.array(frameSpec, { maxLength: 8 }).chain(frames => {
      const wire = concat(frames.map(f => encodeFrame(f.bytes).subarray()))
      return fc.tuple(fc.constant(frames), chunkings(wire))
    }), async ([frames, chunks]) => {
      const got = await read(chunks, maxBytes)
      expect(got.error).to.equal(undefined)
      expect(got.frames).to.deep.equal(frames.map(f => f.bytes.length > maxBytes ? { oversize: f.bytes.length } : { bytes: Buffer.from(f.bytes).toString('hex') }))
    }), params(800))
  })

  it('arbitrary bytes: frames or a FrameError, the same under every chunking, and the frames are what the bytes say', async () => {
    const bytes = fc.oneof(
      junkBytes(300),
      // length prefixes of every size, valid or not, followed by anything
      fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }).map(b => b | 0x80), { maxLength: 10 }), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 300 }))
        .map(([cont, last, rest]) => Uint8Array.from([...cont, last, ...rest]))
    )
    await fc.assert(fc.asyncProperty(bytes.chain(b => fc.tuple(fc.constant(b), chunkings(b), fc.constantFrom(4, 64, 256))), async ([b, chunks, maxBytes]) => {
      const whole = await read([b], maxBytes)
      const chunked = await read(chunks, maxBytes)
      expect(chunked).to.deep.equal(whole)
      // re-encoding what was read gives back a prefix of the input: no byte is read twice or skipped
      if (whole.frames.every(f => 'bytes' in f)) {
        const again = concat(whole.frames.map(f => encodeFrame(Buffer.from((f as { bytes: string }).bytes, 'hex')).subarray()))
        expect(Buffer.from(b.subarray(0, again.length)).equals(again), 'frames re-encode to a prefix of the input').to.equal(true)
      }
    }), params(1000))
  })

  it('explicit prefixes: non-minimal varints and 8-byte lengths beyond 2^53 are FrameErrors, 1 MB frames are read', async () => {
    for (const hex of ['8100aa', '8500aabbccdd', '808000', 'ffffffffffffff7f', 'ffffffffffffff0f', '8080808080808080', 'ffffffffffffffffff']) {
      expect(await read([Buffer.from(hex, 'hex')], 262144), hex).to.deep.equal({ frames: [], error: 'FrameError' })
    }
    const big = new Uint8Array(1024 * 1024).fill(0x7b)
    const wire = encodeFrame(big).subarray()
    const pieces: Uint8Array[] = []
    for (let i = 0; i < wire.length; i += 65_536) pieces.push(wire.subarray(i, i + 65_536))
    const got = await withinLimit(() => read(pieces, 2 * 1024 * 1024))
    expect(got?.frames).to.have.length(1)
    // a prefix at the hard limit is skipped, not buffered
    const skipped = await withinLimit(() => read([concat([varint.encode(16 * 1024 * 1024), new Uint8Array(1024 * 1024)])], 1024 * 1024))
    expect(skipped?.frames).to.deep.equal([{ oversize: 16 * 1024 * 1024 }])
  })

  it('session vectors still read as their expectations say, under any chunking', async () => {
    for (const v of vectors.framing) {
      const b = Buffer.from(v.hex, 'hex')
      await fc.assert(fc.asyncProperty(chunkings(Uint8Array.from(b)), async chunks => {
        const got = await read(chunks, v.maxBytes)
        const expected = v.expect as Array<{ text?: string, oversize?: number, error?: string }>
        const want: Read = { frames: expected.filter(e => e.error === undefined).map(e => e.text !== undefined ? { bytes: Buffer.from(e.text).toString('hex') } : { oversize: e.oversize as number }) }
        if (expected.some(e => e.error !== undefined)) want.error = 'FrameError'
        expect(got).to.deep.equal(want)
      }), params(50))
    }
  })

  it('peekBody never throws; helloSessionId names only ids of the required shape', async () => {
    const texts = vectors.messages.map(m => m.text)
    const arb = fc.oneof(junkBytes(300), fc.constantFrom(...texts).chain(t => mutatedJsonBytes(t, ['body', 'params', 'session', 'method', 'id', 'record'])))
    await fc.assert(fc.asyncProperty(arb, async bytes => {
      const body = peekBody(bytes)
      let message
      try {
        message = validateJsonRpc(body)
      } catch {
        return
      }
      const session = helloSessionId(message)
      if (session !== undefined) expect(ID_PATTERN.test(session)).to.equal(true)
    }), params(800))
    for (const m of vectors.messages as Array<{ text: string, session?: string | null }>) {
      const body = peekBody(utf8(m.text))
      if (m.session !== undefined) expect(helloSessionId(validateJsonRpc(body)) ?? null).to.equal(m.session)
    }
  })
})
