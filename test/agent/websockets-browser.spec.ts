import { expect } from 'chai'
import { multiaddr } from '@multiformats/multiaddr'
import { webSocketUri } from '../../src/agent/websockets-browser.js'

describe('the browser\'s WebSocket transport', () => {
  it('dials the URI a /ws or /wss multiaddr names', () => {
    const peer = '/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
    expect(webSocketUri(multiaddr(`/ip4/127.0.0.1/tcp/4002/ws${peer}`))).to.equal('ws://127.0.0.1:4002')
    expect(webSocketUri(multiaddr('/dns4/relay.example.org/tcp/443/wss'))).to.equal('wss://relay.example.org:443')
    expect(webSocketUri(multiaddr('/dns4/relay.example.org/tcp/443/tls/ws'))).to.equal('wss://relay.example.org:443')
    expect(webSocketUri(multiaddr('/dns4/relay.example.org/tcp/443/tls/sni/relay.example.org/ws'))).to.equal('wss://relay.example.org:443')
    expect(webSocketUri(multiaddr('/ip6/::1/tcp/4002/ws'))).to.equal('ws://[::1]:4002')
    expect(() => webSocketUri(multiaddr('/ip4/127.0.0.1/udp/4002/quic-v1'))).to.throw(/not a WebSocket address/)
  })
})
