import { expect } from 'chai'
import { multiaddr } from '@multiformats/multiaddr'
import type { ConnectionGater } from '@libp2p/interface'
import { connectionGater, isLoopback } from '../../src/util/gater.js'
import { ROOT } from '../helpers/relay-process.js'

const RELAY = '12D3KooWLPvZG737vN9s2C73MpDxJWbvQQioJdAE6f8vu5HXaN9J'

/** True when `gater` refuses to dial `addr`. */
async function denies (gater: ConnectionGater, addr: string): Promise<boolean> {
  return (await gater.denyDialMultiaddr?.(multiaddr(addr))) === true
}

/** Addresses every case below is judged on. */
const ADDRS = {
  loopbackWs: '/ip4/127.0.0.1/tcp/4002/ws',
  loopbackWsCircuit: `/ip4/127.0.0.1/tcp/4002/ws/p2p/${RELAY}/p2p-circuit`,
  loopbackTcp: '/ip4/127.0.0.1/tcp/4001',
  loopback6Ws: '/ip6/::1/tcp/4002/ws',
  localhostWs: '/dns4/localhost/tcp/4002/ws',
  lanWss: '/ip4/192.168.1.20/tcp/443/tls/ws',
  lanWs: '/ip4/10.0.0.5/tcp/4002/ws',
  publicWs: '/ip4/8.8.4.4/tcp/4002/ws',
  publicWsCircuit: `/ip4/8.8.4.4/tcp/4002/ws/p2p/${RELAY}/p2p-circuit/webrtc`,
  dnsWss: '/dns4/relay.example/tcp/443/wss',
  dnsTlsWs: `/dns4/relay.example/tcp/443/tls/ws/p2p/${RELAY}`,
  dnsTlsWsCircuit: `/dns4/relay.example/tcp/443/tls/ws/p2p/${RELAY}/p2p-circuit/webrtc`,
  publicTcp: '/ip4/8.8.4.4/tcp/4001'
}

describe('the connection gater (src/util/gater)', () => {
  describe('production, browser rules', () => {
    const gater = connectionGater({ browser: true })

    it('refuses insecure /ws and private or loopback addresses', async () => {
      for (const a of [ADDRS.loopbackWs, ADDRS.loopbackWsCircuit, ADDRS.loopbackTcp, ADDRS.loopback6Ws, ADDRS.localhostWs, ADDRS.lanWss, ADDRS.lanWs, ADDRS.publicWs, ADDRS.publicWsCircuit]) {
        expect(await denies(gater, a), a).to.equal(true)
      }
    })

    it('allows secure WebSockets to public names and addresses', async () => {
      for (const a of [ADDRS.dnsWss, ADDRS.dnsTlsWs, ADDRS.dnsTlsWsCircuit, ADDRS.publicTcp]) {
        expect(await denies(gater, a), a).to.equal(false)
      }
    })

    it('decides every address as libp2p\'s own browser gater does', async () => {
      // the browser build of libp2p's default, loaded from its file (the package does not export it)
      const mod = await import(ROOT + 'node_modules/libp2p/dist/src/config/connection-gater.browser.js') as { connectionGater: () => ConnectionGater }
      const libp2pGater = mod.connectionGater()
      for (const a of Object.values(ADDRS)) {
        expect(await denies(gater, a), a).to.equal(await denies(libp2pGater, a))
      }
    })
  })

  describe('relaxed for tests on loopback (insecureLoopback)', () => {
    const gater = connectionGater({ browser: true, insecureLoopback: true })

    it('allows loopback addresses, /ws included', async () => {
      for (const a of [ADDRS.loopbackWs, ADDRS.loopbackWsCircuit, ADDRS.loopbackTcp, ADDRS.loopback6Ws, ADDRS.localhostWs]) {
        expect(await denies(gater, a), a).to.equal(false)
      }
    })

    it('still refuses insecure /ws and private addresses off loopback', async () => {
      for (const a of [ADDRS.lanWss, ADDRS.lanWs, ADDRS.publicWs, ADDRS.publicWsCircuit]) {
        expect(await denies(gater, a), a).to.equal(true)
      }
      expect(await denies(gater, ADDRS.dnsTlsWs)).to.equal(false)
    })
  })

  it('in Node it allows everything, as libp2p does there', async () => {
    const gater = connectionGater()
    for (const a of Object.values(ADDRS)) expect(await denies(gater, a), a).to.equal(false)
    expect(await denies(connectionGater({ browser: false, insecureLoopback: true }), ADDRS.publicWs)).to.equal(false)
  })

  it('isLoopback knows 127.0.0.0/8, ::1 and localhost, and nothing else', () => {
    for (const a of ['/ip4/127.0.0.1/tcp/1', '/ip4/127.8.9.10/tcp/1/ws', '/ip6/::1/tcp/1', '/dns/localhost/tcp/1', '/dns4/app.localhost/tcp/1']) {
      expect(isLoopback(multiaddr(a)), a).to.equal(true)
    }
    for (const a of ['/ip4/128.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/1', '/ip6/::2/tcp/1', '/dns4/localhost.example/tcp/1', `/p2p/${RELAY}`]) {
      expect(isLoopback(multiaddr(a)), a).to.equal(false)
    }
  })
})
