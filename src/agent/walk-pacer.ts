/**
 * Paces libp2p's random walk when it finds nothing, so that an agent whose
 * relays are all down does not spin a core.
 *
 * An agent listens on bare `/p2p-circuit` addresses (one per relay), so when
 * a relay goes away the circuit relay transport wants a reservation again and
 * starts its relay discovery: a random walk over the DHT. With the relay gone
 * the DHT has no live peer, every walk iteration ends at once (the dial is
 * refused), and libp2p 3's random walk starts the next one with no delay:
 * measured here, about 140 iterations a second and 60 % of a core for as long
 * as the relay is down (libp2p/js-libp2p#2676 describes the same discovery
 * loop; the walk has no backoff). The agent redials its relays itself, with
 * backoff, so the walk finds nothing it needs.
 *
 * The pacer is a libp2p peer router, the supported extension point that the
 * random walk's `getClosestPeers` goes through: libp2p merges every router's
 * answer, so an iteration lasts as long as the slowest router. The pacer
 * answers nothing, at once while calls are spread out, and after a delay
 * that doubles (250 ms up to 30 s) while they come back to back. Nothing else
 * in an agent asks libp2p's peer routing for closest peers (handle lookups
 * and publishing go to kad-dht directly), and `findPeer` is not served.
 */
import { peerRoutingSymbol } from '@libp2p/interface'
import type { PeerInfo, PeerRouting, RoutingOptions } from '@libp2p/interface'

/** Shortest pause between back-to-back walk iterations. */
export const WALK_PACE_MIN_MS = 250
/** Longest pause. */
export const WALK_PACE_MAX_MS = 30_000

const NO_PEERS: readonly PeerInfo[] = []

/** A peer router that contributes no peers, only pacing (see the module documentation). */
export class WalkPacer implements Partial<PeerRouting> {
  /** Names the service in logs and errors. */
  readonly [Symbol.toStringTag] = 'parley-walk-pacer'
  #lastEnd = 0
  #pause = 0

  /** How libp2p finds this service's peer-routing part. */
  get [peerRoutingSymbol] (): Partial<PeerRouting> {
    return this
  }

  /** The pause the next back-to-back query will take (ms). */
  get pause (): number {
    return this.#pause
  }

  /** Yields no peer; returns after the current pause when queries come back to back. */
  async * getClosestPeers (_key: Uint8Array, options: RoutingOptions = {}): AsyncGenerator<PeerInfo, void, undefined> {
    const backToBack = Date.now() - this.#lastEnd < Math.max(WALK_PACE_MIN_MS, this.#pause) + WALK_PACE_MIN_MS
    this.#pause = backToBack ? Math.min(WALK_PACE_MAX_MS, Math.max(WALK_PACE_MIN_MS, this.#pause * 2)) : 0
    try {
      if (this.#pause > 0) await sleep(this.#pause, options.signal)
    } finally {
      this.#lastEnd = Date.now()
    }
    yield * NO_PEERS
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { signal?.removeEventListener('abort', abort); resolve() }
    const timer = setTimeout(done, ms)
    const abort = (): void => { clearTimeout(timer); reject(signal?.reason) }
    signal?.addEventListener('abort', abort, { once: true })
  })
}

/** The pacer as a libp2p service factory: `services: { walkPacer: walkPacer() }`. */
export function walkPacer (): () => WalkPacer {
  return () => new WalkPacer()
}
