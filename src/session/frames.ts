/**
 * Length-prefixed frames over a libp2p stream: an unsigned varint length,
 * then that many bytes. Oversize frames are reported (and skipped) rather
 * than thrown, so that a hostile frame costs the session nothing but the
 * frame; a length beyond the hard limit or a broken varint ends the stream.
 */
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'

export type Frame = { bytes: Uint8Array } | { oversize: number }

export class FrameError extends Error {
  override readonly name = 'FrameError'
}

/** Reads frames from `stream`; `maxBytes` is the envelope limit, `hardMax` the largest prefix tolerated. */
export async function * readFrames (stream: AsyncIterable<Uint8Array | Uint8ArrayList>, maxBytes: number, hardMax: number): AsyncGenerator<Frame> {
  const buffer = new Uint8ArrayList()
  let skipping = 0
  for await (const chunk of stream) {
    buffer.append(chunk)
    while (true) {
      if (skipping > 0) {
        const n = Math.min(skipping, buffer.byteLength)
        buffer.consume(n)
        skipping -= n
        if (skipping > 0) break
        continue
      }
      if (buffer.byteLength === 0) break
      let length: number
      try {
        length = varint.decode(buffer)
      } catch {
        if (buffer.byteLength >= 10) throw new FrameError('malformed length prefix')
        break // the varint is not all here yet
      }
      const prefix = varint.encodingLength(length)
      if (length > hardMax) throw new FrameError(`frame of ${length} bytes is beyond any limit`)
      if (length > maxBytes) {
        buffer.consume(Math.min(prefix, buffer.byteLength))
        skipping = length
        yield { oversize: length }
        continue
      }
      if (buffer.byteLength < prefix + length) break
      const bytes = buffer.subarray(prefix, prefix + length)
      buffer.consume(prefix + length)
      yield { bytes }
    }
  }
}

/** Writes one frame, waiting for the stream to drain when its buffer is full. */
export async function writeFrame (stream: Stream, bytes: Uint8Array): Promise<void> {
  const frame = new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
  if (!stream.send(frame)) await stream.onDrain()
}
