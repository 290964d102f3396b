/**
 * The relay serves WebSocket over TLS (`/tls/ws`) from a certificate and key
 * (`wsTls`, `--ws-tls-cert` / `--ws-tls-key`): a Node libp2p client that
 * trusts the certificate dials it; one that does not, cannot.
 */
import { expect } from 'chai'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createRelayNode } from '../../src/node/relay.js'
import type { RelayNode } from '../../src/node/relay.js'
import { loadRelayConfig } from '../../relay/config.js'
import { UsageError } from '../../src/cli/command.js'
import { testPeersPerTest } from '../helpers/peer.js'

/** Short, so that the test sees an upgraded TLS connection outlive the handshake deadline. */
const HANDSHAKE_MS = 1000

describe('relay WebSocket over TLS (wsTls)', function () {
  this.timeout(60_000)
  let dir: string
  let certFile: string
  let keyFile: string
  let cert: string
  let key: string
  let relay: RelayNode
  let wss: Multiaddr
  const peer = testPeersPerTest()
  const defaultCAs = tls.getCACertificates('default')

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-wss-'))
    certFile = join(dir, 'cert.pem')
    keyFile = join(dir, 'key.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' })
    cert = await readFile(certFile, 'utf8')
    key = await readFile(keyFile, 'utf8')
    relay = await createRelayNode({ dataDir: join(dir, 'relay'), listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'], wsTls: { cert, key }, metrics: false, presence: false, limits: { wsHandshakeTimeoutMs: HANDSHAKE_MS } })
    wss = relay.multiaddrs().find(a => a.toString().includes('/tls/ws/')) ?? expect.fail(`no /tls/ws address in ${relay.multiaddrs().join(' ')}`)
  })

  afterEach(async () => {
    tls.setDefaultCACertificates(defaultCAs)
  })

  after(async () => {
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves its /ws listen address as /tls/ws, and no plain /ws', () => {
    expect(relay.multiaddrs().map(String).filter(a => /\/ws\//.test(a) && !a.includes('/tls/ws/'))).to.deep.equal([])
  })

  it('a client that does not trust the certificate cannot dial it', async () => {
    const p = await peer()
    // the WebSocket dial rejects with the WebSocket's error event (certificate not trusted)
    expect(await p.dial(wss, { signal: AbortSignal.timeout(5000) }).then(() => 'connected', () => 'refused')).to.equal('refused')
  })

  it('a Node libp2p client that trusts the certificate dials the /tls/ws address', async () => {
    tls.setDefaultCACertificates([...defaultCAs, cert])
    const p = await peer()
    const conn = await p.dial(wss, { signal: AbortSignal.timeout(10_000) })
    expect(conn.remotePeer.equals(relay.peerId)).to.equal(true)
    expect(conn.remoteAddr.toString()).to.include('/tls/ws')
    // the upgrade cleared its handshake deadline: the connection outlives it
    await new Promise(resolve => setTimeout(resolve, HANDSHAKE_MS + 500))
    expect(conn.status).to.equal('open')
  })

  it('closes a socket that stops half-way through the TLS handshake within the deadline', async () => {
    const { connect } = await import('node:net')
    const port = Number(wss.getComponents().find(c => c.name === 'tcp')?.value)
    const socket = connect({ host: '127.0.0.1', port })
    socket.on('error', () => {})
    await new Promise(resolve => socket.once('connect', resolve))
    socket.write(Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])) // the start of a ClientHello record
    const start = performance.now()
    await new Promise(resolve => socket.once('close', resolve))
    expect(performance.now() - start).to.be.within(HANDSHAKE_MS - 200, HANDSHAKE_MS + 1500)
  })

  it('refuses a secure listen address without a certificate, and a key that is not the certificate\'s', async () => {
    const noCert = await createRelayNode({ dataDir: join(dir, 'x'), listen: ['/ip4/127.0.0.1/tcp/0/tls/ws'], metrics: false }).then(() => undefined, (e: Error & { code?: string }) => e)
    expect(noCert?.code).to.equal('ERR_INVALID_OPTIONS')
    execFileSync('openssl', ['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'other.pem')], { stdio: 'ignore' })
    const otherKey = await readFile(join(dir, 'other.pem'), 'utf8')
    const mismatch = await createRelayNode({ dataDir: join(dir, 'y'), listen: ['/ip4/127.0.0.1/tcp/0/ws'], wsTls: { cert, key: otherKey }, metrics: false }).then(() => undefined, (e: Error & { code?: string }) => e)
    expect(mismatch?.code).to.equal('ERR_BAD_TLS')
  })

  it('parley relay reads --ws-tls-cert and --ws-tls-key, which go together', () => {
    expect(loadRelayConfig(['--ws-tls-cert', certFile, '--ws-tls-key', keyFile], {})?.wsTls).to.deep.equal({ cert, key })
    expect(loadRelayConfig([], { PARLEY_WS_TLS_CERT: certFile, PARLEY_WS_TLS_KEY: keyFile })?.wsTls).to.deep.equal({ cert, key })
    expect(loadRelayConfig([], {})?.wsTls).to.equal(undefined)
    expect(() => loadRelayConfig(['--ws-tls-cert', certFile], {})).to.throw(UsageError, /go together/)
    expect(() => loadRelayConfig(['--ws-tls-cert', join(dir, 'missing.pem'), '--ws-tls-key', keyFile], {})).to.throw(UsageError, /missing\.pem/)
  })
})
