/**
 * Why a WebRTC upgrade in Node took a second one time in three, and the
 * offer that fixes it (Node only: browsers do not have the race).
 *
 * In js-libp2p's private-to-private WebRTC the dialer offers and the
 * listener answers, and an offer says `a=setup:actpass`, so libdatachannel
 * (node-datachannel) answering takes the DTLS client role (`active`). The
 * answerer has the offer's ICE credentials at once, so its connectivity
 * checks can succeed, and it sends its DTLS ClientHello, before the offerer
 * has even received the answer over the relay; the offerer's libdatachannel
 * has no DTLS transport yet and drops the record, and OpenSSL's first
 * retransmission comes a second later. Measured through a Parley relay on
 * loopback (2026-12-03): 13 of 30 upgrades took 1.02-1.09 s.
 *
 * When the offer says `a=setup:active` instead, the offerer is the DTLS
 * client: it sends the ClientHello once it holds the answer and its ICE is
 * connected, by which time the answerer's DTLS server has been waiting. The
 * same measurement: 1 upgrade of 40 over 500 ms, the median 36 ms.
 * (RFC 8842 asks an initial offer for `actpass`; libdatachannel and
 * Chromium take `active` and answer `passive`, which is what happens here.)
 *
 * This wraps `createOffer` of node-datachannel's `RTCPeerConnection`
 * polyfill, the class @libp2p/webrtc uses in Node: a public method of a
 * public class, wrapped once per process (idempotent, undone by
 * {@link restoreOfferRole}). What would make it unnecessary upstream:
 * libdatachannel keeping DTLS records that arrive before its DTLS transport
 * starts (it fixed one such race in paullouisageneau/libdatachannel#1554,
 * v0.24.5; this one remains in node-datachannel 0.33.4), or @libp2p/webrtc
 * letting the dialer choose its DTLS role.
 */
import { RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill'

type CreateOffer = (...args: unknown[]) => Promise<{ type: string, sdp?: string }>

const ORIGINAL = Symbol.for('parley.createOffer')

interface OfferPrototype {
  createOffer: CreateOffer
  [ORIGINAL]?: CreateOffer
}

/** `sdp` with every `a=setup:actpass` line made `a=setup:active` (the offerer takes the DTLS client role). */
export function activeSetup (sdp: string): string {
  return sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active')
}

/** Makes node-datachannel's offers take the DTLS client role (see the module documentation). Idempotent. */
export function offerAsDtlsClient (): void {
  const proto = RTCPeerConnection.prototype as unknown as OfferPrototype
  if (proto[ORIGINAL] !== undefined) return
  const original = proto.createOffer
  proto[ORIGINAL] = original
  proto.createOffer = async function (this: unknown, ...args: unknown[]) {
    const offer = await original.apply(this, args)
    return offer.sdp === undefined ? offer : new RTCSessionDescription({ type: 'offer', sdp: activeSetup(offer.sdp) })
  }
}

/** Undoes {@link offerAsDtlsClient} (the bench measures both). */
export function restoreOfferRole (): void {
  const proto = RTCPeerConnection.prototype as unknown as OfferPrototype
  const original = proto[ORIGINAL]
  if (original === undefined) return
  proto.createOffer = original
  delete proto[ORIGINAL]
}
