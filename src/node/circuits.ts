/**
 * Which circuits a relay is relaying now, and between whom, from libp2p's
 * public surface only.
 *
 * The circuit relay v2 server lists reservations but not circuits, and emits
 * no event for them. Two public things tell it all the same:
 *
 * - the relay's connection gater is asked `denyOutboundRelayedConnection(src,
 *   dst)` for every circuit a source opens, just before the server opens a
 *   stop stream to the destination (the relay's gater tells the tracker,
 *   {@link CircuitTracker.allowed});
 * - that stop stream (`/libp2p/circuit/relay/0.2.0/stop`, outbound) is among
 *   the destination connection's `streams`, and the circuit lasts as long as
 *   it is open.
 *
 * The tracker pairs each allowed request with the next stop stream that
 * appears on a connection to its destination (in the order both happen), so
 * it never touches the server's methods. A request that opens no stream (the
 * destination refused it) is forgotten after {@link STOP_WAIT_MS}.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { RELAY_STOP_PROTOCOL } from './constants.js'

const log = logger('parley:relay:circuits')

/** How long an allowed circuit request waits for its stop stream before it is forgotten. */
export const STOP_WAIT_MS = 10_000
/** Allowed requests waiting for their stop streams, at most (the oldest go first). */
const MAX_WAITING = 4096
/** How often the connections are looked at while requests wait for their stop streams. */
const SCAN_MS = 10

/** One relayed circuit. */
export interface Circuit {
  /** The dialing peer. */
  src: string
  /** The peer dialled (the reservation holder). */
  dst: string
  /** When the circuit opened (ms since the Unix epoch). */
  opened: number
  /** The stop stream to the destination; the circuit lasts as long as it is open. */
  stream: Stream
}

/** What the tracker reads: the relay node's connections. */
export interface CircuitTrackerComponents {
  /** The connections open now, to `peer` or to anyone. */
  getConnections: (peer?: PeerId) => Connection[]
}

interface Waiting { src: string, dst: PeerId, at: number }

/** The circuits a relay relays now; dispatches `change` when one opens or closes. */
export class CircuitTracker extends EventTarget {
  readonly #open = new Set<Circuit>()
  /** Stop streams already paired with a request. */
  readonly #seen = new WeakSet<Stream>()
  readonly #waiting: Waiting[] = []
  #components: CircuitTrackerComponents | undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  /** Starts reading `components` (the relay node, once it exists). */
  attach (components: CircuitTrackerComponents): void {
    this.#components = components
  }

  /**
   * The relay's connection gater let `src` open a circuit to `dst`: the
   * server opens a stop stream to `dst` next, which becomes the circuit.
   */
  allowed (src: PeerId, dst: PeerId): void {
    if (this.#waiting.length >= MAX_WAITING) this.#waiting.shift()
    this.#waiting.push({ src: src.toString(), dst, at: Date.now() })
    this.#schedule()
  }

  /** Stops looking for stop streams. */
  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waiting.length = 0
  }

  #schedule (): void {
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#scan()
      if (this.#waiting.length > 0) this.#schedule()
    }, SCAN_MS)
    this.#timer.unref?.()
  }

  /** Pairs waiting requests with the new stop streams to their destinations, in order. */
  #scan (): void {
    const node = this.#components
    if (node === undefined) return
    const now = Date.now()
    let changed = false
    const byDestination = new Map<string, Waiting[]>()
    for (const w of this.#waiting) {
      const key = w.dst.toString()
      const list = byDestination.get(key)
      if (list === undefined) byDestination.set(key, [w])
      else list.push(w)
    }
    for (const [dst, waiting] of byDestination) {
      const fresh = node.getConnections(waiting[0]?.dst).flatMap(c => c.streams)
        .filter(s => s.protocol === RELAY_STOP_PROTOCOL && s.direction === 'outbound' && s.status === 'open' && !this.#seen.has(s))
        .sort((a, b) => a.timeline.open - b.timeline.open)
      for (const stream of fresh) {
        const w = waiting.shift()
        if (w === undefined) break
        this.#seen.add(stream)
        this.#record({ src: w.src, dst, opened: stream.timeline.open, stream })
        this.#waiting.splice(this.#waiting.indexOf(w), 1)
        changed = true
      }
    }
    // a request whose stream never came was refused by its destination (or the server)
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      if (now - (this.#waiting[i]?.at ?? now) > STOP_WAIT_MS) {
        log('no stop stream for a circuit from %s', this.#waiting[i]?.src)
        this.#waiting.splice(i, 1)
      }
    }
    if (changed) this.dispatchEvent(new Event('change'))
  }

  #record (circuit: Circuit): void {
    this.#open.add(circuit)
    circuit.stream.addEventListener('close', () => {
      this.#open.delete(circuit)
      this.dispatchEvent(new Event('change'))
    }, { once: true })
  }

  /** Circuits open now. */
  list (): Circuit[] {
    if (this.#waiting.length > 0) this.#scan()
    for (const c of this.#open) if (c.stream.status !== 'open') this.#open.delete(c)
    return [...this.#open]
  }
}
