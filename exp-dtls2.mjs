import { RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'
import { withRelay } from './dist/test/bench/relay-procs.js'
import { createTestPeer, waitForReservation } from './dist/test/helpers/peer.js'
if (process.env.MUNGE === '1') {
  const createOffer = RTCPeerConnection.prototype.createOffer
  RTCPeerConnection.prototype.createOffer = async function () {
    const offer = await createOffer.call(this)
    return new RTCSessionDescription({ type: 'offer', sdp: offer.sdp.replace(/a=setup:actpass/g, 'a=setup:active') })
  }
}
const n = Number(process.env.N ?? 12)
await withRelay('parley', async (relay) => {
  const out = []
  for (let i = 0; i < n; i++) {
    const a = await createTestPeer({ relays: [relay.tcp] }); const b = await createTestPeer({ relays: [relay.tcp] })
    try {
      const circuit = await waitForReservation(a, relay.peerId); await waitForReservation(b, relay.peerId)
      let addr; const dl = Date.now() + 10000
      while (addr === undefined && Date.now() < dl) { addr = a.getMultiaddrs().find(m => m.toString().includes('/webrtc/')); if (!addr) await new Promise(r => setTimeout(r, 20)) }
      await b.dial(circuit, { signal: AbortSignal.timeout(10000) })
      const t0 = performance.now()
      try { await b.dial(addr, { signal: AbortSignal.timeout(8000) }); out.push(Math.round(performance.now() - t0)) } catch (e) { out.push('webrtc-fail:' + e.name) }
    } catch (e) { out.push('setup-fail:' + e.name) } finally { await a.stop(); await b.stop() }
  }
  console.log(`MUNGE=${process.env.MUNGE}: ${JSON.stringify(out)} slow ${out.filter(x => typeof x === 'number' && x > 500).length} fail ${out.filter(x => typeof x !== 'number').length}`)
})
process.exit(0)
