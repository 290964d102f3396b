/**
 * The offer role fix (src/agent/dtls-role.ts): node-datachannel's offers say
 * `a=setup:active`, so the offerer is the DTLS client and the answerer's
 * ClientHello can no longer arrive before the offerer's DTLS transport.
 * (That upgrades then stay fast is measured by `npm run bench -- --only
 * relay`, not asserted in a timed test.)
 */
import { expect } from 'chai'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { activeSetup, offerAsDtlsClient, restoreOfferRole } from '../../src/agent/dtls-role.js'

async function offerSdp (): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: [] })
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
})
