/**
 * The jitter buffer: RTP payloads held by sequence number until their
 * playout time, handed out in order, one per 20 ms tick.
 *
 * Bounded: it holds at most `capacity` packets, in a ring indexed by
 * sequence number, and accepts only sequence numbers within `capacity` after
 * the playout point, so a peer sending far-future (or random) sequence
 * numbers cannot grow it: such packets are dropped as `too-far` (the far
 * side can only spoil its own stream; SRTP keeps anyone else out). Two
 * packets in a row with consecutive numbers more than `capacity` ahead of
 * or behind the playout point mean the sender really jumped (a restart, or
 * the playout point was dragged away): the buffer resynchronizes on them. Until the
 * first packet is played, an earlier packet moves the start back, so a
 * reordered first pair is not lost. Two far packets in a row with consecutive numbers
 * mean the sender really jumped (a restart): the buffer resynchronizes on
 * them. Packets before the playout point are `late`; repeats `duplicate`.
 * When more packets wait than the playout delay needs plus `slack`, the
 * oldest is dropped (`overflow`), which keeps the delay from growing when
 * the sender's clock runs faster than ours.
 */
import type { DropReason } from './errors.js'
import { seqDiff } from './rtp.js'

/** A buffered packet. */
export interface BufferedPacket {
  /** RTP sequence number. */
  sequence: number
  /** RTP timestamp. */
  timestamp: number
  /** The codec payload. */
  payload: Uint8Array
}

/** What the buffer has for the next playout tick. */
export type Playout =
  | {
    /** The next packet is here. */
    kind: 'packet'
    /** It. */
    packet: BufferedPacket
  }
  | {
    /** The next packet is missing (lost or late): conceal it. */
    kind: 'missing'
    /** Its sequence number. */
    sequence: number
  }

/** Options of a {@link JitterBuffer}. */
export interface JitterBufferOptions {
  /** Most packets held (a power of two). */
  capacity: number
  /** Packets the playout delay corresponds to; more than `target + slack` waiting drops the oldest. */
  target: number
  /** See `target` (default 4). */
  slack?: number
}

/** See the module documentation. */
export class JitterBuffer {
  private readonly slots: Array<BufferedPacket | undefined>
  private readonly mask: number
  private readonly target: number
  private readonly slack: number
  private next: number | undefined
  private lastFar: number | undefined
  private highest = 0
  private popped = false
  private count = 0
  /** Times the buffer resynchronized on a sender's jump. */
  resyncs = 0

  constructor (options: JitterBufferOptions) {
    const capacity = options.capacity
    if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError('capacity must be a power of two ≥ 2')
    this.slots = new Array<BufferedPacket | undefined>(capacity)
    this.mask = capacity - 1
    this.target = options.target
    this.slack = options.slack ?? 4
  }

  /** Packets held. */
  get size (): number {
    return this.count
  }

  /** The sequence number the next {@link pop} plays, once a packet has set it. */
  get playoutSequence (): number | undefined {
    return this.next
  }

  /** Whether the packet the next {@link pop} plays has arrived. */
  get hasNext (): boolean {
    if (this.next === undefined) return false
    return this.slots[this.next & this.mask]?.sequence === this.next
  }

  /** Empties the buffer; the next packet pushed sets the playout point again. */
  reset (): void {
    this.slots.fill(undefined)
    this.count = 0
    this.next = undefined
    this.lastFar = undefined
    this.popped = false
  }

  /**
   * Takes a packet. Returns undefined when it was buffered, else why it was
   * not, or `overflow` when it was buffered but the oldest packet was dropped
   * to make the delay shrink.
   */
  push (packet: BufferedPacket): DropReason | undefined {
    if (this.next === undefined) {
      this.next = packet.sequence
      this.highest = packet.sequence
    }
    let d = seqDiff(packet.sequence, this.next)
    if (d < 0 && !this.popped && seqDiff(this.highest, packet.sequence) <= this.mask) {
      // before the playout starts, an earlier packet (reordered ahead of it) moves the start back
      this.next = packet.sequence
      d = 0
    }
    if (d > this.mask || d < -this.mask) {
      // outside the window on either side: a sender that really jumped sends the next number next
      if (this.lastFar !== undefined && packet.sequence === ((this.lastFar + 1) & 0xffff)) {
        this.reset()
        this.resyncs++
        this.next = packet.sequence
        return this.push(packet)
      }
      this.lastFar = packet.sequence
      return d > 0 ? 'too-far' : 'late'
    }
    if (d < 0) return 'late'
    this.lastFar = undefined
    const slot = packet.sequence & this.mask
    const held = this.slots[slot]
    if (held !== undefined) {
      if (held.sequence === packet.sequence) return 'duplicate'
      // a stale packet the playout skipped over
      this.count--
    }
    this.slots[slot] = packet
    this.count++
    if (seqDiff(packet.sequence, this.highest) > 0) this.highest = packet.sequence
    if (this.count > this.target + this.slack) {
      this.skip()
      return 'overflow'
    }
    return undefined
  }

  /** Drops the packet (or gap) at the playout point. */
  private skip (): void {
    if (this.next === undefined) return
    const slot = this.next & this.mask
    const held = this.slots[slot]
    if (held !== undefined && held.sequence === this.next) {
      this.slots[slot] = undefined
      this.count--
    }
    this.next = (this.next + 1) & 0xffff
  }

  /** What to play at this tick: the next packet, or the fact that it is missing. Undefined before the first packet. */
  pop (): Playout | undefined {
    if (this.next === undefined) return undefined
    this.popped = true
    const sequence = this.next
    const slot = sequence & this.mask
    const held = this.slots[slot]
    this.next = (sequence + 1) & 0xffff
    if (held !== undefined && held.sequence === sequence) {
      this.slots[slot] = undefined
      this.count--
      return { kind: 'packet', packet: held }
    }
    return { kind: 'missing', sequence }
  }
}
