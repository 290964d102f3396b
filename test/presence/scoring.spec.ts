/**
 * What the presence validator tells gossipsub for each refusal, and the
 * scoring parameters relays and agents run with (src/presence/scoring.ts).
 * test/adversarial/presence-scoring.spec.ts runs the attack against a relay.
 */
import { expect } from 'chai'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message, TopicValidatorFn } from '@libp2p/gossipsub'
import { createPeerScoreParams, createPeerScoreThresholds, createTopicScoreParams, validatePeerScoreParams, validatePeerScoreThresholds } from '@libp2p/gossipsub/score'
import {
  DEFAULT_PRESENCE_RATE, PRESENCE_PEER_SCORE_PARAMS, PRESENCE_REJECTED, PRESENCE_SCORE_THRESHOLDS, PRESENCE_TOPIC,
  PRESENCE_TOPIC_SCORE_PARAMS, Presence, PresenceErrorCode, presenceAcceptance, presenceGossipsubOptions, signPresence
} from '../../src/presence/index.js'
import type { PresenceVerdict } from '../../src/presence/index.js'
import { createIdentity } from '../../src/identity/index.js'
import type { Identity } from '../../src/identity/index.js'

/** The least a peer can score with `invalid` rejections counted and every positive term at its cap. */
function withInvalid (invalid: number): number {
  return -Math.abs(PRESENCE_TOPIC_SCORE_PARAMS.invalidMessageDeliveriesWeight) * invalid * invalid * PRESENCE_TOPIC_SCORE_PARAMS.topicWeight + (PRESENCE_PEER_SCORE_PARAMS.topicScoreCap ?? 0)
}

describe('presence scoring parameters', () => {
  it('pass gossipsub\'s own checks, every topic member set', () => {
    const params = createPeerScoreParams(presenceGossipsubOptions().scoreParams)
    validatePeerScoreParams(params)
    validatePeerScoreThresholds(createPeerScoreThresholds(presenceGossipsubOptions().scoreThresholds))
    // gossipsub fills unset topic members with its defaults (a mesh delivery quota among them): none is left unset
    expect(Object.keys(PRESENCE_TOPIC_SCORE_PARAMS).sort()).to.deep.equal(Object.keys(createTopicScoreParams()).sort())
    expect(params.topics[PRESENCE_TOPIC]).to.deep.equal(PRESENCE_TOPIC_SCORE_PARAMS)
    expect(params.IPColocationFactorWeight, 'production keeps the colocation penalty').to.be.below(0)
  })

  it('let a test turn the colocation penalty off, and keep the presence topic', () => {
    const params = createPeerScoreParams(presenceGossipsubOptions({ scoreParams: { IPColocationFactorWeight: 0 } }).scoreParams)
    expect(params.IPColocationFactorWeight).to.equal(0)
    expect(params.topics[PRESENCE_TOPIC]).to.deep.equal(PRESENCE_TOPIC_SCORE_PARAMS)
  })

  it('graylist a peer at its third invalid announcement, whatever it earned before; one is not yet enough to stop gossip', () => {
    const { gossipThreshold, publishThreshold, graylistThreshold } = PRESENCE_SCORE_THRESHOLDS
    expect(graylistThreshold).to.be.below(publishThreshold)
    expect(publishThreshold).to.be.below(gossipThreshold)
    expect(withInvalid(1)).to.be.at.least(gossipThreshold)
    expect(withInvalid(2)).to.be.below(publishThreshold).and.at.least(graylistThreshold)
    expect(withInvalid(3)).to.be.below(graylistThreshold)
    // the positive terms alone stay within the cap
    const p = PRESENCE_TOPIC_SCORE_PARAMS
    expect(p.timeInMeshWeight * p.timeInMeshCap + p.firstMessageDeliveriesWeight * p.firstMessageDeliveriesCap).to.be.at.most(PRESENCE_PEER_SCORE_PARAMS.topicScoreCap ?? 0)
    expect(p.meshMessageDeliveriesWeight, 'no delivery quota on a quiet topic').to.equal(0)
    expect(p.meshFailurePenaltyWeight).to.equal(0)
  })
})

describe('the presence validator\'s answer to gossipsub', () => {
  it('rejects (penalises) what every node refuses alike, ignores what depends on the receiver', () => {
    const rejected = ['ERR_OVERSIZE', 'ERR_MALFORMED', 'ERR_NON_CANONICAL', 'ERR_UNSIGNED', 'ERR_SIGNER_MISMATCH', 'ERR_BAD_SIGNATURE']
    const ignored = ['ERR_UNSUPPORTED_VERSION', 'ERR_STALE', 'ERR_FUTURE', 'ERR_HANDLE_UNRESOLVED', 'ERR_HANDLE_MISMATCH']
    expect([...rejected, ...ignored].sort()).to.deep.equal(Object.values(PresenceErrorCode).sort())
    expect([...PRESENCE_REJECTED].sort()).to.deep.equal([...rejected].sort())
    for (const reason of rejected) expect(presenceAcceptance({ status: 'invalid', reason } as PresenceVerdict), reason).to.equal(TopicValidatorResult.Reject)
    for (const reason of ignored) expect(presenceAcceptance({ status: 'invalid', reason } as PresenceVerdict), reason).to.equal(TopicValidatorResult.Ignore)
    expect(presenceAcceptance({ status: 'valid' })).to.equal(TopicValidatorResult.Accept)
  })

  describe('as installed by Presence', () => {
    let validate: TopicValidatorFn
    let presence: Presence
    let publisher: Identity
    let forwarder: Identity
    const message = (from: Identity, data: Uint8Array): Message => ({ type: 'signed', from: from.peerId, topic: PRESENCE_TOPIC, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: from.peerId.publicKey }) as unknown as Message

    before(async () => {
      [publisher, forwarder] = await Promise.all([createIdentity({ kind: 'agent' }), createIdentity({ kind: 'agent' })])
      const validators = new Map<string, TopicValidatorFn>()
      const pubsub = { topicValidators: validators, subscribe: () => {}, unsubscribe: () => {}, addEventListener: () => {}, removeEventListener: () => {} } as unknown as GossipSub
      presence = new Presence(pubsub, { self: forwarder.peerIdString, resolve: async () => undefined })
      presence.start()
      const installed = validators.get(PRESENCE_TOPIC)
      if (installed === undefined) throw new Error('no validator installed')
      validate = installed
    })

    after(() => { presence.stop() })

    it('ignores well-signed announcements past the publisher\'s rate (an honest relay forwarding them is not penalised)', async () => {
      const results: TopicValidatorResult[] = []
      for (let i = 0; i < DEFAULT_PRESENCE_RATE + 3; i++) {
        const bytes = await signPresence(publisher, { kind: 'agent', capabilities: [`n${i}`], connections: [] })
        results.push(await validate(forwarder.peerId, message(publisher, bytes)))
      }
      expect(results.slice(0, DEFAULT_PRESENCE_RATE).every(r => r === TopicValidatorResult.Accept)).to.equal(true)
      expect(results.slice(DEFAULT_PRESENCE_RATE)).to.deep.equal([TopicValidatorResult.Ignore, TopicValidatorResult.Ignore, TopicValidatorResult.Ignore])
      expect(presence.limited).to.equal(3)
      expect(presence.validations).to.equal(DEFAULT_PRESENCE_RATE + 3)
      expect(presence.rejected).to.equal(0)
    })

    it('ignores a stale one, rejects a forged one', async () => {
      const other = await createIdentity({ kind: 'agent' })
      const stale = await signPresence(other, { kind: 'agent', capabilities: [], connections: [], ts: Date.now() - 600_000 })
      expect(await validate(other.peerId, message(other, stale))).to.equal(TopicValidatorResult.Ignore)
      const forged = await signPresence({ peerIdString: other.peerIdString, sign: (d) => publisher.sign(d) }, { kind: 'agent', capabilities: [], connections: [] })
      expect(await validate(other.peerId, message(other, forged))).to.equal(TopicValidatorResult.Reject)
      expect(presence.rejected).to.equal(1)
    })
  })
})
