/**
 * Which circuits a relay is relaying now, and between whom.
 *
 * The circuit relay v2 server opens one stop stream to the destination per
 * circuit (`stopHop`), naming the source in its request; it exposes no list
 * of circuits. Wrapping `stopHop` records each (source, destination, stream)
 * and a circuit lasts as long as its stop stream is open.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { logger } from '@libp2p/logger'

const log = logger('parley:relay:circuits')

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

interface StopHop {
  stopHop?: (options: { connection: Connection, request: { peer?: { id: Uint8Array } } }, abort: unknown) => Promise<Stream | undefined>
}

/** The circuits a relay relays now; dispatches `change` when one opens or closes. */
export class CircuitTracker extends EventTarget {
  readonly #open = new Set<Circuit>()

  /** Starts recording circuits of `service`. */
  constructor (service: CircuitRelayService) {
    super()
    const target = service as unknown as StopHop
    const stopHop = target.stopHop?.bind(service)
    if (stopHop === undefined) {
      log('the circuit relay server has no stopHop: circuits are not listed')
      return
    }
    target.stopHop = async (options, abort) => {
      const stream = await stopHop(options, abort)
      if (stream !== undefined) this.#record(options, stream)
      return stream
    }
  }

  #record (options: { connection: Connection, request: { peer?: { id: Uint8Array } } }, stream: Stream): void {
    try {
      const id = options.request.peer?.id
      const src = id === undefined ? 'unknown' : peerIdFromMultihash(Digest.decode(id)).toString()
      const circuit: Circuit = { src, dst: options.connection.remotePeer.toString(), opened: Date.now(), stream }
      this.#open.add(circuit)
      stream.addEventListener('close', () => {
        this.#open.delete(circuit)
        this.dispatchEvent(new Event('change'))
      }, { once: true })
      this.dispatchEvent(new Event('change'))
    } catch (err) {
      log('could not record a circuit: %e', err)
    }
  }

  /** Circuits open now. */
  list (): Circuit[] {
    for (const c of this.#open) if (c.stream.status !== 'open') this.#open.delete(c)
    return [...this.#open]
  }
}
