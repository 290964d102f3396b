/**
 * The send half of a leg: PCM frames in, RTP packets out. A frame at the
 * other supported rate is resampled to the codec's (see resample.ts).
 */
import { FRAME_MS } from './constants.js'
import { createCodec } from './codec.js'
import type { Codec, CodecName } from './codec.js'
import { MediaError, MediaErrorCode } from './errors.js'
import type { PcmFrame } from './frame.js'
import { Downsampler, Upsampler } from './resample.js'
import { RtpSequencer } from './rtp.js'

/** Checks that `frame` is 20 ms of mono 16-bit PCM at 8 or 48 kHz; throws `ERR_MEDIA_FRAME` otherwise. */
export function checkFrame (frame: PcmFrame): void {
  if (frame === null || typeof frame !== 'object' || !(frame.samples instanceof Int16Array)) {
    throw new MediaError(MediaErrorCode.FRAME, 'a frame needs Int16Array samples')
  }
  if (frame.sampleRate !== 8000 && frame.sampleRate !== 48000) {
    throw new MediaError(MediaErrorCode.FRAME, `sample rate ${String(frame.sampleRate)} is not 8000 or 48000`)
  }
  const expected = frame.sampleRate * FRAME_MS / 1000
  if (frame.samples.length !== expected) {
    throw new MediaError(MediaErrorCode.FRAME, `a ${FRAME_MS} ms frame at ${frame.sampleRate} Hz has ${expected} samples, not ${frame.samples.length}`)
  }
}

/** See the module documentation. */
export class MediaSender {
  /** The codec state (its encoder). */
  readonly codec: Codec
  /** Sequence number, timestamp and counts of the outgoing stream. */
  readonly rtp: RtpSequencer
  private down: Downsampler | undefined
  private up: Upsampler | undefined

  /**
   * @param codec - the negotiated codec
   * @param start - SSRC, first sequence number and timestamp (each random when left out, as RFC 3550 asks; tests fix them)
   */
  constructor (codec: CodecName, start: { ssrc?: number, sequence?: number, timestamp?: number } = {}) {
    this.codec = createCodec(codec)
    this.rtp = new RtpSequencer({ payloadType: this.codec.payloadType, samplesPerPacket: this.codec.frameSamples, ...start })
  }

  /** The RTP packet of one frame; throws `ERR_MEDIA_FRAME` for a frame that is not 20 ms at 8 or 48 kHz. */
  packetize (frame: PcmFrame): Uint8Array {
    checkFrame(frame)
    let samples = frame.samples
    if (frame.sampleRate !== this.codec.sampleRate) {
      if (frame.sampleRate > this.codec.sampleRate) samples = (this.down ??= new Downsampler()).process(samples)
      else samples = (this.up ??= new Upsampler()).process(samples)
    }
    return this.rtp.next(this.codec.encode(samples))
  }
}
