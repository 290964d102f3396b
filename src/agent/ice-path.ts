/**
 * Which ICE candidate pair a direct WebRTC connection runs on: `host` (an
 * address of the machine), `srflx` (its NAT's public side, learnt from a STUN
 * server), `prflx` (learnt from the peer's checks) or `relay` (TURN). Read
 * with the standard `RTCPeerConnection.getStats()`; the peer connection sits
 * under the libp2p connection, which does not expose it, so this looks for
 * it and gives up quietly (`undefined`) where it is not found.
 */
import type { Connection } from '@libp2p/interface'

/** One end of the selected candidate pair. */
export interface IceCandidate {
  /** `host`, `srflx`, `prflx` or `relay`. */
  type: string
  /** Its IP address, when the stats give it. */
  address?: string
  /** Its UDP port, when the stats give it. */
  port?: number
}

/** The candidate pair a direct connection runs on. */
export interface IcePath {
  /** Ours. */
  local: IceCandidate
  /** The peer's, as we reach it. */
  remote: IceCandidate
}

interface StatsEntry { type?: string, candidateType?: string, ip?: string, address?: string, port?: number, localCandidateId?: string, remoteCandidateId?: string, selectedCandidatePairId?: string, nominated?: boolean, state?: string }

/** The selected ICE candidate pair of `connection`, if it is WebRTC and its stats say. */
export async function icePath (connection: Connection): Promise<IcePath | undefined> {
  const pc = (connection as unknown as { maConn?: { peerConnection?: RTCPeerConnection } }).maConn?.peerConnection
  if (pc === undefined || typeof pc.getStats !== 'function') return undefined
  try {
    const report = await pc.getStats()
    const entries = new Map<string, StatsEntry>()
    report.forEach((value: StatsEntry, key: string) => { entries.set(key, value) })
    const transport = [...entries.values()].find(e => e.type === 'transport' && e.selectedCandidatePairId !== undefined)
    const pair = transport?.selectedCandidatePairId === undefined
      ? [...entries.values()].find(e => e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded')
      : entries.get(transport.selectedCandidatePairId)
    if (pair?.localCandidateId === undefined || pair.remoteCandidateId === undefined) return undefined
    const candidate = (id: string): IceCandidate | undefined => {
      const c = entries.get(id)
      if (c?.candidateType === undefined) return undefined
      const address = c.address ?? c.ip
      return { type: c.candidateType, ...(address === undefined ? {} : { address }), ...(c.port === undefined ? {} : { port: c.port }) }
    }
    const local = candidate(pair.localCandidateId)
    const remote = candidate(pair.remoteCandidateId)
    return local === undefined || remote === undefined ? undefined : { local, remote }
  } catch {
    return undefined
  }
}
