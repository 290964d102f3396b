/**
 * Forgets the peers that left a relay: a relay's peer store (in its LevelDB)
 * otherwise keeps a record of every peer id that ever connected, reserving or
 * not, and libp2p evicts an old record only lazily, when it is read again, so
 * a stream of fresh peer ids grew the relay's disk for good.
 *
 * A peer that disconnects is deleted from the peer store `graceMs` later
 * (10 minutes by default) unless it has come back by then, or the relay
 * trusts it (the relays it federates with keep their addresses). Waiting
 * peers sit in one map whose size is bounded by how fast peers may connect
 * (`--inbound-rate`) times the grace period.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'

const log = logger('parley:relay:peers')

/** How long a relay remembers a peer after its last connection closed, by default (ms). */
export const DEFAULT_FORGET_AFTER_MS = 10 * 60 * 1000

export interface ForgetLeaversOptions {
  /** Peers never forgotten (the relays this one trusts). */
  keep: (peer: string) => boolean
  /** How long after it left a peer is forgotten (ms). */
  graceMs?: number
  /** Counts each peer forgotten. */
  onForget?: () => void
}

/** Starts forgetting peers that left `node`; returns the function that stops it. */
export function forgetLeavers (node: Libp2p, options: ForgetLeaversOptions): () => void {
  const graceMs = options.graceMs ?? DEFAULT_FORGET_AFTER_MS
  /** peer id → [its PeerId, when it left]; insertion order is departure order. */
  const left = new Map<string, [PeerId, number]>()
  const onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    if (options.keep(id)) return
    left.delete(id) // re-inserted at the end: the map stays in departure order
    left.set(id, [evt.detail, Date.now()])
  }
  const onConnect = (evt: CustomEvent<PeerId>): void => { left.delete(evt.detail.toString()) }
  let sweeping = false
  const sweep = async (): Promise<void> => {
    if (sweeping) return
    sweeping = true
    try {
      const cutoff = Date.now() - graceMs
      for (const [id, [peer, at]] of left) {
        if (at > cutoff) break
        left.delete(id)
        if (node.getConnections(peer).length > 0) continue
        await node.peerStore.delete(peer).catch(err => { log('could not forget %s: %e', id, err) })
        options.onForget?.()
      }
    } finally {
      sweeping = false
    }
  }
  node.addEventListener('peer:disconnect', onDisconnect)
  node.addEventListener('peer:connect', onConnect)
  const timer = setInterval(() => { void sweep() }, Math.max(10, Math.min(60_000, Math.floor(graceMs / 4))))
  timer.unref?.()
  return () => {
    clearInterval(timer)
    node.removeEventListener('peer:disconnect', onDisconnect)
    node.removeEventListener('peer:connect', onConnect)
  }
}
