import { ParleyError } from '../errors.js'

/** Every reason an audio leg, or a signalling message about one, is refused (protocols/media §5). */
export const MediaErrorCode = {
  /** A signalling message is malformed: unknown or missing member, oversize SDP, bad fingerprint. */
  INVALID: 'ERR_MEDIA_INVALID',
  /** The remote's DTLS fingerprint (in its SDP, or of the certificate it presented) is not the signed one. */
  FINGERPRINT: 'ERR_MEDIA_FINGERPRINT',
  /** Media refused: both ends are agents and no human is joining, or the callee declines. */
  REFUSED: 'ERR_MEDIA_REFUSED',
  /** A `media/join` for a session that already has an audio leg, or while one is being set up. */
  BUSY: 'ERR_MEDIA_BUSY',
  /** The two sides share no codec (PCMU is always offered, so only a foreign peer causes this). */
  NO_CODEC: 'ERR_MEDIA_NO_CODEC',
  /** The peer connection failed, or did not open its audio track in time. */
  CONNECT: 'ERR_MEDIA_CONNECT',
  /** A call the leg's state does not allow (answering twice, sending before it opened, after it closed). */
  STATE: 'ERR_MEDIA_STATE',
  /** A frame handed to `send` is not 20 ms of mono 16-bit PCM at 8 or 48 kHz. */
  FRAME: 'ERR_MEDIA_FRAME',
  /** The leg was closed (locally or by the far side) before the operation finished. */
  CLOSED: 'ERR_MEDIA_CLOSED'
} as const
/** One of {@link MediaErrorCode}. */
export type MediaErrorCode = typeof MediaErrorCode[keyof typeof MediaErrorCode]

/** An audio leg or a media signalling message was refused; `code` says why. */
export class MediaError extends ParleyError<MediaErrorCode> {
  /** The class name, stable across realms and processes. */
  static override readonly name = 'MediaError'
}

/**
 * Why an incoming packet was dropped. Drops are counted in a leg's stats and
 * never thrown: the far side's bytes cannot crash the receiver.
 */
export type DropReason =
  /** Shorter than a header, or its lengths (CSRC count, extension, padding) overrun the packet. */
  | 'malformed-rtp'
  /** RTP or RTCP version other than 2. */
  | 'version'
  /** An RTCP packet or compound whose lengths do not add up. */
  | 'malformed-rtcp'
  /** Longer than `MAX_PACKET_BYTES`. */
  | 'oversize'
  /** A payload type the leg did not negotiate. */
  | 'payload-type'
  /** From a synchronization source other than the one the leg follows. */
  | 'ssrc'
  /** Arrived after its playout time. */
  | 'late'
  /** A sequence number already in the buffer. */
  | 'duplicate'
  /** Too far ahead of the playout point for the buffer (a flood of far-future sequence numbers). */
  | 'too-far'
  /** Buffered but discarded to bring the delay back down (sender clock faster than ours). */
  | 'overflow'
  /** The codec could not decode the payload (the frame is concealed). */
  | 'decode'
  /** Dropped on purpose by the leg's `receiveFilter` test hook. */
  | 'filtered'
