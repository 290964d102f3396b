/**
 * Gossipsub peer scoring for the presence topic: the parameters relays and
 * agents run gossipsub with, in one place.
 *
 * The presence validator (`Presence`) rejects an announcement only when
 * every node running this version would refuse it whoever forwarded it
 * (`PRESENCE_REJECTED`: malformed, unsigned, forged); gossipsub counts each such rejection
 * against the peer it came from (P4, invalid message deliveries) and
 * squares the count. An honest peer never forwards what it would reject
 * itself (it validates before forwarding), so P4 weighs heavily: a peer
 * whose third invalid announcement lands within a few minutes falls below
 * the graylist threshold, and gossipsub then drops everything it sends
 * before any validation. Refusals that depend on the receiver (its clock,
 * its view of the DHT, its publisher rate, a newer format version) are
 * ignored, not rejected, so they never count.
 *
 * The score is per peer id, and an attacker can mint ids at will: scoring
 * makes each id cheap to silence, the per-publisher rate bounds what each
 * id costs before that, and the IP colocation penalty (P6) weighs on many
 * ids from one address.
 *
 * @example
 * ```ts
 * import { gossipsub } from '@libp2p/gossipsub'
 * import { presenceGossipsubOptions } from 'parley-mesh/presence'
 *
 * const pubsub = gossipsub(presenceGossipsubOptions()) // a libp2p service
 * ```
 */
import type { GossipsubOpts } from '@libp2p/gossipsub'
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import { PRESENCE_TOPIC } from './announcement.js'

/**
 * Score parameters of the presence topic. Every member is set: gossipsub
 * fills unset ones with its defaults, whose mesh delivery quota (P3) would
 * penalise honest peers on a topic this quiet.
 */
export const PRESENCE_TOPIC_SCORE_PARAMS: Readonly<TopicScoreParams> = Object.freeze({
  // the topic's score counts as computed; the weights below are scaled for it
  topicWeight: 1,
  // P1, time in the mesh: a small reward for staying (0.01 a second, at most 6 after 10 min), so
  // long-standing peers are kept in the mesh before newcomers; never enough to offset P4
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 600,
  // P2, first deliveries of valid announcements: a small reward (0.5 each, at most 4), halving in
  // about a minute; with P1 it stays under the topic score cap
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.99,
  firstMessageDeliveriesCap: 8,
  // P3 and P3b, mesh delivery quotas: off. A publisher announces every 10 s, so a mesh peer
  // delivers a few announcements a minute; any quota would punish quiet meshes, not attackers
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  // P4, invalid announcements (the validator's Reject): -20 × count², so 1 → -20 (below the gossip
  // threshold), 2 → -80 (below the publish threshold), 3 → -180 (graylisted even with the
  // topic score cap of positive score). The count decays by 0.998 a second, halving in about
  // 6 minutes: three rejections keep a peer graylisted for about 2 minutes, the 12 a burst can
  // get checked (gossipsub re-reads a non-negative score once a second; the per-publisher rate
  // checks 12) for about 14, and each further one from a peer near the line graylists it again
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.998
})

/**
 * Peer score parameters (gossipsub's defaults, except where commented). Tests
 * on loopback that run many peers from 127.0.0.1 may override
 * `IPColocationFactorWeight` with 0; production keeps the penalty.
 */
export const PRESENCE_PEER_SCORE_PARAMS: Readonly<Partial<PeerScoreParams>> = Object.freeze({
  topics: { [PRESENCE_TOPIC]: PRESENCE_TOPIC_SCORE_PARAMS },
  // positive topic score (P1 + P2) is capped at 10: it cannot buy back an invalid announcement's penalty
  topicScoreCap: 10,
  // P6, IP colocation: gossipsub's weight (-5 × surplus²), but from the 33rd peer on one address
  // rather than the 11th: a relay admits 32 reservations per IP (a NATed office), so 32 agents
  // behind one address score nothing; 35 score -45 each (no gossip to them), 37 are graylisted
  IPColocationFactorWeight: -5,
  IPColocationFactorThreshold: 32,
  // a score is decayed every second; a disconnected peer's negative score is kept (undecayed)
  // for an hour, so reconnecting does not clear it
  decayInterval: 1000,
  retainScore: 3_600_000
})

/**
 * Score thresholds. The gap between them is what P4 counts in invalid
 * announcements: one (-20) stops gossip to the peer, two (-80) stops
 * publishing to it, three (-180) graylists it.
 */
export const PRESENCE_SCORE_THRESHOLDS: Readonly<PeerScoreThresholds> = Object.freeze({
  // below -10 a peer gets no IHAVE gossip from us and its IHAVEs are ignored
  gossipThreshold: -10,
  // below -50 we do not flood-publish our own announcements to it
  publishThreshold: -50,
  // below -100 every RPC it sends is dropped before decoding its messages: no validation at all
  graylistThreshold: -100,
  // peer exchange is off (gossipsub's default doPX: false); a positive value ignores PX from strangers anyway
  acceptPXThreshold: 10,
  // when the mesh's median score is below 5, gossipsub grafts better-scored peers; gossipsub's 20
  // would be out of reach of the positive terms (at most 10), so it would graft on every occasion
  opportunisticGraftThreshold: 5
})

/** Options of {@link presenceGossipsubOptions}. */
export interface PresenceGossipsubOptions {
  /**
   * Override peer score parameters, e.g. `{ IPColocationFactorWeight: 0 }` for tests that run
   * many peers on loopback. The presence topic's parameters are kept unless `topics` is given.
   */
  scoreParams?: Partial<PeerScoreParams>
}

/** The gossipsub options relays and agents run with: presence scoring, and publishing with no peer yet. */
export function presenceGossipsubOptions (options: PresenceGossipsubOptions = {}): Partial<GossipsubOpts> {
  return {
    allowPublishToZeroTopicPeers: true,
    scoreParams: { ...PRESENCE_PEER_SCORE_PARAMS, topics: { ...PRESENCE_PEER_SCORE_PARAMS.topics }, ...options.scoreParams },
    scoreThresholds: { ...PRESENCE_SCORE_THRESHOLDS }
  }
}
