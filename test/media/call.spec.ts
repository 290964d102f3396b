/**
 * A human joins a session by voice (issue 15, protocols/media), between
 * agents on a relay: two agents talk over data only (no `m=audio` in any SDP
 * their connections exchange, and a `media/join` between them is refused);
 * a human-kind node joins an agent's session by voice, a 440 Hz tone goes one
 * way and 880 Hz the other, each detected at the far end; a forged
 * fingerprint in a signed join is refused; leaving the audio keeps the
 * session.
 */
import { expect } from 'chai'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent, createAudioLeg, MediaError, playTone, RpcError, toneShare } from '../../src/agent/index.js'
import type { Agent, Call, MediaLeg, ReceivedFrame, Session } from '../../src/agent/index.js'

/** Every SDP the data connections' peer connections take, local or remote. */
const sdps: string[] = []
const proto = RTCPeerConnection.prototype as unknown as Record<'setLocalDescription' | 'setRemoteDescription', (d?: { sdp?: string }) => Promise<void>>
const originals = { setLocalDescription: proto.setLocalDescription, setRemoteDescription: proto.setRemoteDescription }

function collect (leg: MediaLeg): ReceivedFrame[] {
  const out: ReceivedFrame[] = []
  leg.addEventListener('frame', (e) => { out.push(e.detail) })
  return out
}

describe('a human joins a session by voice', function () {
  this.timeout(120_000)
  let dir: string
  let relay: RelayProcess
  const agents: Agent[] = []
  let plumber: Agent
  let customer: Agent
  let human: Agent

  const agent = async (handle: string, kind: 'agent' | 'human'): Promise<Agent> => {
    const a = await createAgent({ handle, kind, relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8 })
    await a.start()
    agents.push(a)
    return a
  }
  const directSession = async (from: Agent, to: string): Promise<Session> => {
    const direct = new Promise<void>((resolve, reject) => {
      from.addEventListener('direct', () => { resolve() }, { once: true })
      from.addEventListener('relayed', (e) => { reject(new Error(`stayed relayed: ${e.detail.reason}`)) }, { once: true })
    })
    const session = await from.connect(to)
    await direct
    return session
  }

  before(async () => {
    for (const name of ['setLocalDescription', 'setRemoteDescription'] as const) {
      proto[name] = async function (this: unknown, d?: { sdp?: string }) {
        if (typeof d?.sdp === 'string') sdps.push(d.sdp)
        return originals[name].call(this, d)
      }
    }
    dir = await mkdtemp(join(tmpdir(), 'parley-voice-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    plumber = await agent('voice-plumber', 'agent')
    customer = await agent('voice-customer', 'agent')
    human = await agent('voice-human', 'human')
  })

  after(async () => {
    proto.setLocalDescription = originals.setLocalDescription
    proto.setRemoteDescription = originals.setRemoteDescription
    for (const a of agents) await a.close().catch(() => {})
    await relay.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('two agents talk over data only: no m=audio in their SDP, and a media/join between them is refused', async () => {
    const session = await directSession(customer, '@voice-plumber')
    expect(await session.request('ping')).to.equal('pong')
    expect(sdps.length, 'the WebRTC upgrade exchanged SDP').to.be.at.least(2)
    for (const sdp of sdps) expect(sdp).to.not.match(/^m=audio/m)
    // an agent does not offer audio to an agent...
    const refused = await customer.media.join(session).then(() => undefined, (err: unknown) => err)
    expect(refused).to.be.instanceOf(MediaError).and.to.have.property('code', 'ERR_MEDIA_REFUSED')
    // ...and refuses one offered (a well-formed offer, signed, saying an agent joins)
    const leg = createAudioLeg({ label: 'uninvited' })
    try {
      const offer = await leg.offer()
      const err = await session.request('media/join', { leg: 'uninvited-0001', joining: 'agent', sdp: offer.sdp, fingerprint: offer.fingerprint, codecs: ['opus', 'pcmu'] }).then(() => undefined, (e: unknown) => e)
      expect(err).to.be.instanceOf(RpcError)
      expect((err as RpcError).data).to.deep.equal({ code: 'ERR_MEDIA_REFUSED' })
    } finally {
      leg.close()
    }
    expect(plumber.media.call([...plumber.parley.sessions].find(s => s.remotePeer === customer.peerId) as Session)).to.equal(undefined)
    await session.close()
  })

  it('a human-kind node joins by voice: 440 Hz one way, 880 Hz the other, each heard at the far end; leaving keeps the session', async () => {
    const session = await directSession(human, '@voice-plumber')
    const incoming = new Promise<Call>(resolve => { plumber.media.addEventListener('call', (e) => { resolve(e.detail) }, { once: true }) })
    const t0 = performance.now()
    const call = await human.media.join(session)
    const theirs = await incoming
    await theirs.leg.opened()
    const openMs = performance.now() - t0
    expect(call.joining).to.deep.equal({ local: 'human', remote: 'agent' })
    expect(theirs.joining).to.deep.equal({ local: 'agent', remote: 'human' })
    expect(theirs.remote).to.include({ handle: 'voice-human', kind: 'human', peer: human.peerId })
    expect(call.codec).to.equal('opus')
    const atPlumber = collect(theirs.leg)
    const atHuman = collect(call.leg)
    const frames = 75
    await Promise.all([playTone(call.leg, 440, frames), playTone(theirs.leg, 880, frames)])
    await new Promise(resolve => setTimeout(resolve, 250))
    const heardByPlumber = toneShare(atPlumber, 440, frames)
    const heardByHuman = toneShare(atHuman, 880, frames)
    console.log(`      joined in ${openMs.toFixed(0)} ms (signed offer and answer over the session, then ICE and DTLS); 440 Hz heard by the agent in ${(100 * heardByPlumber).toFixed(1)} % of frames, 880 Hz by the human in ${(100 * heardByHuman).toFixed(1)} %`)
    expect(heardByPlumber).to.be.at.least(0.9)
    expect(heardByHuman).to.be.at.least(0.9)

    // the human leaves the audio: the agent's leg ends, the session goes on
    const ended = new Promise<void>(resolve => { plumber.media.addEventListener('call:end', () => { resolve() }, { once: true }) })
    await human.media.leave(session)
    await ended
    expect(human.media.call(session)).to.equal(undefined)
    expect(session.closed).to.equal(false)
    expect(await session.request('ping')).to.equal('pong')
    // and may join again on the same session
    const again = await human.media.join(session)
    expect(again.id).to.not.equal(call.id)
    await human.media.leave(session)
    await session.close()
  })

  it('refuses a join whose signed fingerprint is not its SDP\'s; the session goes on', async () => {
    // (the direct connection of the test before is reused)
    const session = await human.connect('@voice-plumber')
    const leg = createAudioLeg({ label: 'forger' })
    try {
      const offer = await leg.offer()
      const forged = offer.fingerprint.split(':').map((b, i) => i === 0 ? (b === 'AA' ? 'BB' : 'AA') : b).join(':')
      const err = await session.request('media/join', { leg: 'forged-00001', joining: 'human', sdp: offer.sdp, fingerprint: forged, codecs: ['opus', 'pcmu'] }).then(() => undefined, (e: unknown) => e)
      expect(err).to.be.instanceOf(RpcError)
      expect((err as RpcError).data).to.deep.equal({ code: 'ERR_MEDIA_FINGERPRINT' })
    } finally {
      leg.close()
    }
    expect(await session.request('ping'), 'the session goes on').to.equal('pong')
    await session.close()
  })
})
