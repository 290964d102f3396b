/**
 * The offer role fix (src/agent/dtls-role.ts): node-datachannel's offers say
 * `a=setup:active` (the offerer is the DTLS client) unless the offerer's own
 * candidates show it behind a NAT, where the library's `actpass` makes the
 * answerer, whose ICE connects last there, the client. (That upgrades then
 * stay fast is measured by `npm run bench -- --only relay` on loopback and
 * `--only net` across NATs, not asserted in a timed test.)
 */
import { expect } from 'chai'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { activeSetup, GATHER_WAIT_MS, natInFront, offerAsDtlsClient, offerFromOurLan, restoreOfferRole, withCandidates } from '../../src/agent/dtls-role.js'

async function offerSdp (iceServers: RTCIceServer[] = []): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers })
  try {
    pc.createDataChannel('probe')
    return (await pc.createOffer()).sdp ?? ''
  } finally {
    pc.close()
  }
}

describe('the DTLS role of Node offers (src/agent/dtls-role)', () => {
  after(() => { offerAsDtlsClient() })

  it('activeSetup turns only whole a=setup:actpass lines into a=setup:active, CRLF or LF', () => {
    expect(activeSetup('v=0\r\na=setup:actpass\r\na=mid:0\r\n')).to.equal('v=0\r\na=setup:active\r\na=mid:0\r\n')
    expect(activeSetup('a=setup:actpass\na=setup:passive\n')).to.equal('a=setup:active\na=setup:passive\n')
    expect(activeSetup('a=x-note:a=setup:actpass-ish\r\n')).to.equal('a=x-note:a=setup:actpass-ish\r\n')
  })

  it('a real node-datachannel offer says actpass; once installed, active (idempotent); restored, actpass again', async () => {
    restoreOfferRole()
    expect(await offerSdp()).to.match(/^a=setup:actpass\r?$/m)
    offerAsDtlsClient()
    offerAsDtlsClient()
    const sdp = await offerSdp()
    expect(sdp).to.match(/^a=setup:active\r?$/m)
    expect(sdp).to.not.include('a=setup:actpass')
    restoreOfferRole()
    expect(await offerSdp()).to.match(/^a=setup:actpass\r?$/m)
  })

  it('natInFront: a server-reflexive address that is none of the host addresses is a NAT', () => {
    const host = (a: string): string => `a=candidate:1 1 UDP 2114977791 ${a} 40000 typ host`
    const srflx = (a: string): string => `candidate:2 1 UDP 1678769919 ${a} 40000 typ srflx raddr 0.0.0.0 rport 0`
    expect(natInFront([host('203.0.113.10'), srflx('198.51.100.1')])).to.equal(true)
    expect(natInFront([host('198.51.100.7'), srflx('198.51.100.7')])).to.equal(false)
    // a STUN server on this host: libjuice never offers 127.0.0.1 as a host candidate
    expect(natInFront([host('203.0.113.10'), srflx('127.0.0.1')])).to.equal(undefined)
    expect(natInFront([host('203.0.113.10')])).to.equal(undefined)
    expect(natInFront([])).to.equal(undefined)
  })

  it('with a STUN server: `active` mode offers active at once; `auto` waits at most GATHER_WAIT_MS, then offers active when no NAT showed', async () => {
    // nothing answers STUN on the discard port: no server-reflexive candidate
    const unanswered = [{ urls: 'stun:127.0.0.1:9' }]
    offerAsDtlsClient('active')
    let t0 = performance.now()
    expect(await offerSdp(unanswered)).to.match(/^a=setup:active\r?$/m)
    expect(performance.now() - t0).to.be.below(GATHER_WAIT_MS)
    offerAsDtlsClient('auto')
    t0 = performance.now()
    expect(await offerSdp(unanswered)).to.match(/^a=setup:active\r?$/m)
    expect(performance.now() - t0).to.be.below(GATHER_WAIT_MS + 500)
  })

  it('an offer behind a NAT carries its candidates; an answerer tells an offer from its own LAN by a host candidate', () => {
    const host = 'a=candidate:1 1 UDP 2114977791 203.0.113.10 40000 typ host'
    const srflx = 'a=candidate:2 1 UDP 1678769919 198.51.100.1 40000 typ srflx raddr 0.0.0.0 rport 0'
    const sdp = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:actpass\r\n'
    const full = withCandidates(sdp, [host, srflx])
    expect(full).to.equal(`${sdp}${host}\r\n${srflx}\r\n`)
    expect(withCandidates(full, [host])).to.equal(full)
    const lan = (a: string): boolean => a.startsWith('203.0.113.')
    expect(offerFromOurLan(full, lan)).to.equal(true)
    expect(offerFromOurLan(full, a => a === '198.51.100.1')).to.equal(false) // only host candidates count
    expect(offerFromOurLan(sdp, lan)).to.equal(false)
  })
})
