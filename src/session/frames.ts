/**
 * Length-prefixed frames over a libp2p stream: an unsigned varint length,
 * then that many bytes. Oversize frames are reported (and skipped) rather
 * than thrown, so that a hostile frame costs the session nothing but the
 * frame; a length beyond the hard limit or a broken varint ends the stream.
 *
 * Deadlines (protocols/session §6.1): a frame whose first byte has arrived must
 * arrive whole within `frameTimeoutMs`, and (on a stream that a peer opened)
 * the first frame within `firstFrameTimeoutMs` of reading starting. Idle time
 * between frames is not limited here (keep-alive pings cover liveness).
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { ParleyError } from '../errors.js'
import { Uint8ArrayList } from 'uint8arraylist'
import * as varint from 'uint8-varint'

export type Frame = { bytes: Uint8Array } | { oversize: number }

export class FrameError extends Error {
  override readonly name = 'FrameError'
}

/** Why a session's limits ended it (protocols/session §6.1). */
export type SessionLimitCode = 'ERR_HELLO_TIMEOUT' | 'ERR_FRAME_TIMEOUT' | 'ERR_WRITE_TIMEOUT' | 'ERR_WRITE_BUFFER_FULL'

/**
 * A session (or a session stream) was ended by one of its limits: no hello in
 * time (`ERR_HELLO_TIMEOUT`), a frame that did not arrive whole in time
 * (`ERR_FRAME_TIMEOUT`), a peer that stopped reading what we send
 * (`ERR_WRITE_TIMEOUT`, `ERR_WRITE_BUFFER_FULL`).
 */
export class SessionLimitError extends ParleyError<SessionLimitCode> {
  static override readonly name = 'SessionLimitError'
}

/** Deadlines for {@link readFrames}; absent or 0 means none. */
export interface FrameDeadlines {
  /** The first frame must arrive whole within this long of reading starting. */
  firstFrameTimeoutMs?: number
  /** Each frame must arrive whole within this long of its first byte being awaited. */
  frameTimeoutMs?: number
}

/**
 * Reads frames from `stream`; `maxBytes` is the envelope limit, `hardMax` the
 * largest prefix tolerated. Throws {@link FrameError} on a broken prefix and
 * {@link SessionLimitError} when a deadline passes (the caller aborts the
 * stream: a read still outstanding on it ends with it).
 */
export async function * readFrames (stream: AsyncIterable<Uint8Array | Uint8ArrayList>, maxBytes: number, hardMax: number, deadlines: FrameDeadlines = {}): AsyncGenerator<Frame> {
  const buffer = new Uint8ArrayList()
  let skipping = 0
  const firstBy = (deadlines.firstFrameTimeoutMs ?? 0) > 0 ? Date.now() + (deadlines.firstFrameTimeoutMs ?? 0) : undefined
  let framesRead = 0
  /** When we started waiting for the rest of a partly arrived frame. */
  let partialSince: number | undefined
  const iterator = stream[Symbol.asyncIterator]()
  try {
    while (true) {
      // waiting for more bytes: which deadline applies?
      let deadline: number | undefined
      let code: SessionLimitCode = 'ERR_FRAME_TIMEOUT'
      if ((buffer.byteLength > 0 || skipping > 0) && (deadlines.frameTimeoutMs ?? 0) > 0) {
        partialSince ??= Date.now()
        deadline = partialSince + (deadlines.frameTimeoutMs ?? 0)
      }
      if (framesRead === 0 && firstBy !== undefined && (deadline === undefined || firstBy < deadline)) {
        deadline = firstBy
        code = 'ERR_HELLO_TIMEOUT'
      }
      const next = deadline === undefined ? await iterator.next() : await within(iterator.next(), deadline, code)
      if (next.done === true) return
      buffer.append(next.value)
      while (true) {
        if (skipping > 0) {
          const n = Math.min(skipping, buffer.byteLength)
          buffer.consume(n)
          skipping -= n
          if (skipping > 0) break
          partialSince = undefined
          continue
        }
        if (buffer.byteLength === 0) break
        let length: number
        try {
          length = varint.decode(buffer)
        } catch {
          // the decoder reads at most 8 bytes: 8 with the continuation bit set are no varint
          if (buffer.byteLength >= 8) throw new FrameError('malformed length prefix')
          break // the varint is not all here yet
        }
        // before encodingLength, which throws a RangeError above 2^53 - 1 (an 8-byte prefix can say up to 2^56 - 1)
        if (length > hardMax || !Number.isSafeInteger(length)) throw new FrameError(`frame of ${length} bytes is beyond any limit`)
        const prefix = varint.encodingLength(length)
        // a varint that is not minimally encoded (0x81 0x00 for 1) is malformed: read as if it were, the
        // zero-valued tail bytes would be taken for the frame's body and every later boundary would shift
        if ((buffer.get(prefix - 1) & 0x80) !== 0) throw new FrameError('malformed length prefix (not minimally encoded)')
        if (length > maxBytes) {
          buffer.consume(Math.min(prefix, buffer.byteLength))
          skipping = length
          framesRead++
          partialSince = undefined // the skipped rest gets a frame's time from when we next wait for it
          yield { oversize: length }
          continue
        }
        if (buffer.byteLength < prefix + length) break
        const bytes = buffer.subarray(prefix, prefix + length)
        buffer.consume(prefix + length)
        framesRead++
        partialSince = undefined
        yield { bytes }
      }
    }
  } finally {
    // as for-await would: let the stream's iterator go (not awaited: a read may still be outstanding)
    iterator.return?.()?.catch(() => {})
  }
}

/**
 * The chunks of `stream`, with at most about `highWaterMark` bytes received
 * and not yet taken by the reader: past it the stream is paused (the muxer
 * stops granting its sender more window, and what still arrives waits in the
 * stream's own read buffer, which resets the stream past its
 * `maxReadBufferLength`) until the reader takes chunks again. The stream's
 * own async iterator queues whatever arrives, without limit, so a peer that
 * sends faster than its frames are read would grow memory (protocols/session
 * §6.1).
 */
export function boundedChunks (stream: Stream, highWaterMark: number): AsyncIterable<Uint8Array | Uint8ArrayList> {
  return {
    [Symbol.asyncIterator] (): AsyncIterator<Uint8Array | Uint8ArrayList> {
      const queue: Array<Uint8Array | Uint8ArrayList> = []
      let queued = 0
      let ended = false
      let failure: Error | undefined
      let wake: (() => void) | undefined
      const onMessage = (evt: StreamMessageEvent): void => {
        queue.push(evt.data)
        queued += evt.data.byteLength
        if (queued >= highWaterMark && stream.readStatus === 'readable') stream.pause()
        wake?.()
      }
      const onEnd = (): void => { ended = true; wake?.() }
      const onClose = (evt: StreamCloseEvent): void => { ended = true; failure = evt.error; wake?.() }
      stream.addEventListener('message', onMessage)
      stream.addEventListener('end', onEnd)
      stream.addEventListener('close', onClose)
      const release = (): void => {
        stream.removeEventListener('message', onMessage)
        stream.removeEventListener('end', onEnd)
        stream.removeEventListener('close', onClose)
      }
      if (stream.readableEnded || stream.readStatus === 'closing' || stream.readStatus === 'closed') ended = true
      return {
        async next () {
          while (queue.length === 0) {
            // let what waited in the stream's buffer while we were paused come through
            if (stream.readStatus === 'paused') stream.resume()
            if (queue.length > 0) break
            if (ended) {
              release()
              if (failure !== undefined) throw failure
              return { done: true, value: undefined }
            }
            await new Promise<void>(resolve => { wake = resolve })
            wake = undefined
          }
          const value = queue.shift() as Uint8Array | Uint8ArrayList
          queued -= value.byteLength
          if (queued < highWaterMark && stream.readStatus === 'paused') stream.resume()
          return { done: false, value }
        },
        async return () {
          release()
          queue.length = 0
          queued = 0
          return { done: true, value: undefined }
        }
      }
    }
  }
}

/** `read`, or a {@link SessionLimitError} once `deadline` passes (the read is left to end with the stream). */
async function within<T> (read: Promise<T>, deadline: number, code: SessionLimitCode): Promise<T> {
  read.catch(() => {}) // if the deadline wins, the read ends later with the aborted stream
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((resolve, reject) => {
    timer = setTimeout(() => {
      reject(new SessionLimitError(code, code === 'ERR_HELLO_TIMEOUT'
        ? 'no session/hello arrived in time'
        : 'a frame did not arrive whole in time'))
    }, Math.max(0, deadline - Date.now()))
  })
  try {
      return await Promise.race([read, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** Writes one frame, waiting for the stream to drain when its buffer is full. */
export async function writeFrame (stream: Stream, bytes: Uint8Array): Promise<void> {
  const frame = new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
  if (!stream.send(frame)) await drained(stream)
}

/**
 * Resolves once `stream` may be written to again (its `drain` event), at once
 * if it needs no drain; rejects when the stream closes first or `signal`
 * aborts. Used instead of `stream.onDrain()`, which in @libp2p/utils 7.4 keeps
 * the promise of its first drain and returns it, already resolved, ever after:
 * a writer waiting on it stops waiting after one drain, and a peer that reads
 * once and then never again makes the stream buffer everything sent to it.
 */
export async function drained (stream: Stream, signal?: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return
  signal?.throwIfAborted()
  if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') throw new FrameError(`the stream is ${stream.status}`)
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => { done(); resolve() }
    const onClose = (evt: StreamCloseEvent): void => { done(); reject(evt.error ?? new FrameError('the stream closed before it drained')) }
    const onAbort = (): void => { done(); reject(signal?.reason) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/** The bytes of one frame (length prefix and body), ready to send. */
export function encodeFrame (bytes: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
}
