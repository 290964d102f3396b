/**
 * Generates `protocols/stun/vectors.json`: (1) the relay's announcement of
 * its STUN port on `/parley/stun/1.0.0`, and what a client reads from
 * announcements; (2) Binding requests and the exact response the relay's
 * STUN server sends to a given source address, or why it sends none.
 */
import * as varint from 'uint8-varint'
import { concat, toHex, utf8 } from '../../src/crypto/bytes.js'
import { bindingResponse, checkBindingRequest } from '../../src/node/stun.js'
import { decodeStunAnnouncement, encodeStunAnnouncement } from '../../src/node/stun-announce.js'

type Obj = Record<string, unknown>

const TXID = 'b7e7a701bc34d686fa87dfae'

/** A STUN message: type, the magic cookie, TXID, and `attrs` (hex, already padded). */
function message (type: number, attrs: string, length = attrs.length / 2): string {
  return type.toString(16).padStart(4, '0') + length.toString(16).padStart(4, '0') + '2112a442' + TXID + attrs
}

export function stunVectors (): Obj {
  const announcements = [3478, 19302].map(port => {
    const bytes = encodeStunAnnouncement(port)
    return { port, json: new TextDecoder().decode(bytes), frame: toHex(concat(varint.encode(bytes.byteLength), bytes)) }
  })
  const reads = [
    { description: 'The announcement itself.', json: '{"port":3478}' },
    { description: 'Members a client does not know are ignored.', json: '{"future":{"x":1},"port":3479}' },
    { description: 'Port 0 is no port: no STUN server.', json: '{"port":0}' },
    { description: 'Above 65535.', json: '{"port":65536}' },
    { description: 'Not an integer.', json: '{"port":3478.5}' },
    { description: 'A string is not a port.', json: '{"port":"3478"}' },
    { description: 'Not an object.', json: '[3478]' },
    { description: 'Not JSON.', json: 'port=3478' }
  ].map(v => ({ ...v, port: decodeStunAnnouncement(utf8(v.json)) ?? null }))

  // RFC 5769 §2.1's sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT)
  const rfc5769 = '000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf'
  const bare = message(0x0001, '')
  const software = message(0x0001, '80220004' + '70617274') // SOFTWARE "part"
  const binding = [
    { name: 'bare-ipv4', description: 'A Binding request with no attributes, from an IPv4 source: XOR-MAPPED-ADDRESS only.', request: bare, from: { address: '198.51.100.7', port: 40000 } },
    { name: 'bare-ipv6', description: 'The same from an IPv6 source: the address is XORed with the cookie and the transaction id.', request: bare, from: { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 } },
    { name: 'rfc5769-request', description: 'RFC 5769 §2.1 sample request: its attributes are not acted on; it ends in FINGERPRINT, so the response does too.', request: rfc5769, from: { address: '203.0.113.9', port: 32853 } },
    { name: 'software-attribute', description: 'An attribute the server ignores, no FINGERPRINT: none in the response.', request: software, from: { address: '203.0.113.9', port: 1 } }
  ].map(v => {
    const bytes = Buffer.from(v.request, 'hex')
    if (checkBindingRequest(bytes) !== undefined) throw new Error(`vector ${v.name} is not a request the server answers`)
    return { ...v, response: toHex(bindingResponse(bytes, v.from.address, v.from.port)) }
  })
  const dropped = [
    { name: 'short', description: 'Shorter than a header.', request: bare.slice(0, 38) },
    { name: 'no-cookie', description: 'No magic cookie (RFC 3489 "classic STUN"): not answered.', request: bare.replace('2112a442', '00000000') },
    { name: 'length-mismatch', description: 'The length field does not match the datagram.', request: message(0x0001, '', 4) },
    { name: 'length-not-multiple-of-4', description: 'Attributes must be padded to 4 bytes.', request: message(0x0001, '802200017000') },
    { name: 'attribute-overruns', description: 'An attribute longer than the message.', request: message(0x0001, '80220008' + '70617274') },
    { name: 'top-bits', description: 'The two top bits of the type are not zero (e.g. a ChannelData or RTP packet).', request: message(0x4001, '') },
    { name: 'indication', description: 'A Binding indication gets no answer.', request: message(0x0011, '') },
    { name: 'response', description: 'A Binding response gets no answer (no reflection between servers).', request: message(0x0101, '') },
    { name: 'bad-fingerprint', description: 'The RFC 5769 request with its FINGERPRINT changed.', request: rfc5769.slice(0, -2) + '00' },
    { name: 'fingerprint-not-last', description: 'FINGERPRINT must be the last attribute.', request: message(0x0001, '8028000400000000' + '80220004' + '70617274') }
  ].map(v => ({ ...v, drop: checkBindingRequest(Buffer.from(v.request, 'hex')) }))
  for (const d of dropped) if (d.drop === undefined) throw new Error(`vector ${d.name} would be answered`)
  return {
    protocol: '/parley/stun/1.0.0',
    announcements,
    reads,
    binding,
    dropped
  }
}
