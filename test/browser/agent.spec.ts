/**
 * Agents in browser tabs, as full peers: two Chromium tabs (one browser,
 * behind a home router that NATs, in network namespaces), a relay on the
 * "public" segment and a Node agent, `@rapidplumb`, beside it.
 *
 * - both tabs register handles through the relay (WebSocket), with keys kept
 *   in IndexedDB by WebCrypto;
 * - a tab and the Node agent run the `book-plumber` negotiation — nine turns,
 *   both humans approving — over a direct WebRTC connection;
 * - a tab-to-tab session starts on the relay and moves to WebRTC;
 * - every envelope each side received verified, and the agreement verifies in
 *   both runtimes;
 * - a reloaded tab with the same IndexedDB keeps its identity and handle.
 */
import { expect } from 'chai'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { buildTopology, namespacesUnavailable, startPublicRelay } from '../net/topology.js'
import type { Topology } from '../net/topology.js'
import { Proc } from '../net/proc.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { bundleForBrowser, CHROMIUM, requireChromium } from './harness.js'
import { FLAGS } from '../dashboard/browser.js'
import { verifyAgreement } from '../../src/negotiation/index.js'

const PLUMBER = fileURLToPath(new URL('./plumber-proc.js', import.meta.url))
const PAGE = 'dist/test/browser/agent-page.js'
const ORIGIN = 'http://localhost'
const BITS = 8

type TabEvent = Record<string, unknown> & { event: string }

/** Runs `fn` in the tab with `arg` (the tab's driver is `window.tab`, see agent-page.ts). */
async function inTab<T> (page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(async ([f, a]) => {
    const tab = (window as unknown as { tab: Record<string, (...x: unknown[]) => unknown> }).tab
    return tab[f as string]?.(...(a as unknown[]))
  }, [fn, args] as const) as Promise<T>
}

async function tabEvents (page: Page): Promise<TabEvent[]> {
  return page.evaluate(() => (window as unknown as { tab: { events: TabEvent[] } }).tab.events)
}

async function waitForTab (page: Page, what: string, match: (e: TabEvent) => boolean, ms = 20_000): Promise<TabEvent> {
  const deadline = Date.now() + ms
  for (;;) {
    const found = (await tabEvents(page)).find(match)
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`tab: no ${what} in ${ms} ms; events: ${JSON.stringify(await tabEvents(page))}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('agents in browser tabs (Chromium behind a NAT, a relay, a Node agent)', function () {
  this.timeout(180_000)
  let topo: Topology | undefined
  let dir: string | undefined
  let relay: RelayProcess | undefined
  let plumber: Proc | undefined
  let context: BrowserContext | undefined
  let alice: Page
  let bob: Page
  let plumberPeer: string
  let relayWs: string
  const tabOptions = (handle: string): Record<string, unknown> => ({ handle, relays: [relayWs], dataDir: handle, dialPrivateAddresses: true, powBits: BITS, minPowBits: BITS })

  before(async function () {
    requireChromium(this)
    const unavailable = namespacesUnavailable()
    if (unavailable !== undefined) {
      if (process.env.CI === 'true') throw new Error(`CI runs the browser agent tests, but ${unavailable}`)
      console.log(`      (skipped: ${unavailable})`)
      this.skip()
    }
    const t0 = Date.now()
    topo = buildTopology([{ router: 'home', nat: 'endpoint-independent', hosts: ['tabs'] }])
    dir = await mkdtemp(join(tmpdir(), 'parley-tabs-'))
    topo.adoptDir(dir)
    const [r, page] = await Promise.all([
      startPublicRelay(topo, join(dir, 'relay'), { minPowBits: BITS }),
      bundleForBrowser(PAGE)
    ])
    relay = r
    relayWs = relay.ws.toString()
    const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_RELAY: relay.tcp.toString(), HANDLE: 'rapidplumb' }
    delete env.PARLEY_WEBRTC_BIND
    plumber = new Proc('plumber', topo.spawn('pub', [process.execPath, PLUMBER], env))
    // Chromium runs in the home LAN's namespace: its ICE host candidate is its LAN address there
    const wrapper = join(dir, 'chromium-in-ns.sh')
    await writeFile(wrapper, `#!/bin/sh\nexec ${topo.wrap('tabs').join(' ')} ${CHROMIUM} "$@"\n`)
    await chmod(wrapper, 0o755)
    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: wrapper,
      headless: true,
      // host candidates as addresses, not mDNS names a Node peer cannot resolve
      args: [...FLAGS, '--disable-features=WebRtcHideLocalIpsWithMdns']
    })
    // the page comes from the test (no server in the namespace); http://localhost is a secure context
    await context.route(`${ORIGIN}/**`, async (route) => {
      const path = new URL(route.request().url()).pathname
      if (path === '/page.js') await route.fulfill({ contentType: 'text/javascript', body: page.code })
      else await route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>parley tab</title><script type="module" src="/page.js"></script>\n' })
    })
    const ready = await plumber.waitFor(e => e.event === 'ready', 60_000)
    plumberPeer = String(ready.peer)
    alice = await context.newPage()
    bob = await context.newPage()
    await Promise.all([alice, bob].map(async p => {
      await p.goto(`${ORIGIN}/`)
      await p.waitForFunction(() => document.title === 'parley tab ready')
    }))
    console.log(`      namespaces, relay, Node agent and two tabs up in ${Date.now() - t0} ms`)
  })

  after(async () => {
    await context?.close().catch(() => {})
    await plumber?.stop()
    await relay?.stop('SIGKILL')
    topo?.destroy()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('both tabs register handles, with non-extractable WebCrypto keys', async () => {
    const [a, b] = await Promise.all([
      inTab<{ peer: string, handle: string, ms: number, backend: string, platform: string }>(alice, 'start', tabOptions('tab-alice')),
      inTab<{ peer: string, handle: string, ms: number, backend: string, platform: string }>(bob, 'start', tabOptions('tab-bob'))
    ])
    console.log(`      tabs started in ${a.ms.toFixed(0)} and ${b.ms.toFixed(0)} ms`)
    expect([a.handle, b.handle]).to.deep.equal(['tab-alice', 'tab-bob'])
    expect([a.platform, a.backend]).to.deep.equal(['browser', 'webcrypto'])
    expect(await alice.evaluate(async () => {
      const key = (window as unknown as { tab: { agent: { identity: { privateKey: { toJSON: () => unknown } } } } }).tab.agent.identity.privateKey
      try { return JSON.stringify(key.toJSON()) } catch (err) { return (err as Error).message }
    })).to.not.match(/"raw"|seed/)
    // the relay's dashboard shows the tabs as browser peers (as their libp2p says), the Node agent as a Node one
    const r = relay as RelayProcess
    const fetchState = `const r = await fetch(${JSON.stringify(r.httpUrl + '/api/state')}, { headers: { authorization: 'Bearer ${r.dashboardToken}' } }); process.stdout.write(await r.text())`
    const state = JSON.parse((topo as Topology).run('pub', [process.execPath, '--input-type=module', '-e', fetchState])) as { peers: Array<{ peer: string, platform?: string }> }
    const platform = (peer: string): string | undefined => state.peers.find(p => p.peer === peer)?.platform
    expect([platform(a.peer), platform(b.peer), platform(plumberPeer)], 'platforms on the relay dashboard').to.deep.equal(['browser', 'browser', 'node'])
    // the Node agent resolves the tab's handle through the DHT
    plumber?.send({ cmd: 'call', to: '@tab-bob', method: 'ping' })
    const called = await plumber?.waitFor(e => e.event === 'reply' || e.event === 'error', 30_000)
    expect(called).to.deep.include({ event: 'reply', result: 'pong', remote: { peer: b.peer, handle: 'tab-bob', kind: 'agent' } })
  })

  it('a tab and a Node agent run book-plumber over a direct WebRTC connection, both humans approving, every signature verified', async () => {
    const p = plumber as Proc
    const opened = await inTab<{ session: string, remote: unknown, ms: number }>(alice, 'connect', '@rapidplumb')
    expect(opened.remote).to.deep.equal({ peer: plumberPeer, handle: 'rapidplumb', kind: 'agent' })
    const direct = await waitForTab(alice, 'direct WebRTC connection', e => e.event === 'direct' && e.session === opened.session, 30_000)
    const path = direct.path as { local: { type: string }, remote: { type: string } } | null
    console.log(`      tab → Node session opened in ${opened.ms.toFixed(0)} ms; direct on ${path === null ? '?' : `${path.local.type} → ${path.remote.type}`}`)
    expect(await inTab(alice, 'relayed', opened.session), 'the session runs on WebRTC now').to.equal(false)
    const since = p.events.length
    const ask = async (topic: string): Promise<void> => {
      const from = p.events.length
      p.send({ cmd: 'ask', topic })
      const r = await p.waitFor(e => e.event === 'reply' || e.event === 'error', 20_000, from)
      expect(r.event, JSON.stringify(r)).to.equal('reply')
    }
    const counter = async (id: string, price: number, deposit: number): Promise<void> => {
      const from = p.events.length
      p.send({ cmd: 'counter', id, price, deposit })
      const r = await p.waitFor(e => e.event === 'reply' || e.event === 'error', 20_000, from)
      expect(r.event, JSON.stringify(r)).to.equal('reply')
      await waitForTab(alice, `the counter at £${price}`, e => e.event === 'transition' && e.id === id && e.by === 'remote' && e.type === 'counter' && (e.seq as number) === (price === 200 ? 1 : 3))
    }
    const job = { type: 'commerce.job', service: 'call-out', job: 'leaking kitchen tap', window: '2026-11-23 14:00-16:00' }
    const t0 = Date.now()
    await inTab(alice, 'request', opened.session, 'info/request', { topic: 'availability', context: { date: '2026-11-23' } })
    await ask('job-scope')
    await inTab(alice, 'request', opened.session, 'info/request', { topic: 'rates', context: { job: job.job } })
    const id = await alice.evaluate(async (terms) => {
      const tab = (window as unknown as { tab: { agent: { propose: (to: string, o: unknown) => Promise<{ negotiation: string }> } } }).tab
      return (await tab.agent.propose('@rapidplumb', { subject: 'plumbing call-out', terms: { ...terms, price: { value: 150, currency: 'GBP' } }, ttlMs: 3_600_000 })).negotiation
    }, job)
    await p.waitFor(e => e.event === 'transition' && e.id === id && e.seq === 0, 20_000, since)
    await counter(id, 200, 40)
    await alice.evaluate(async ([nid, terms]) => {
      const tab = (window as unknown as { tab: { agent: { negotiations: { move: (id: string, kind: string, o: unknown) => Promise<unknown> } } } }).tab
      await tab.agent.negotiations.move(nid, 'counter', { terms: { ...terms, price: { value: 170, currency: 'GBP' }, deposit: { value: 20, currency: 'GBP' } } })
    }, [id, job] as const)
    await p.waitFor(e => e.event === 'transition' && e.id === id && e.seq === 2, 20_000, since)
    await counter(id, 180, 20)
    await inTab(alice, 'request', opened.session, 'info/request', { topic: 'deposit-terms' })
    await ask('access')
    console.log(`      nine turns, tab ⇄ Node over WebRTC: ${Date.now() - t0} ms`)

    // the tab's agent accepts; that binds its human, who approves in the tab
    const accepted = await alice.evaluate(async (nid) => {
      const tab = (window as unknown as { tab: { agent: { negotiations: { move: (id: string, kind: string) => Promise<{ status: string }> } } } }).tab
      return tab.agent.negotiations.move(nid, 'accept')
    }, id)
    expect(accepted.status, 'the accept waits for the tab\'s human').to.equal('held')
    const held = await waitForTab(alice, 'the approval for the tab\'s human', e => e.event === 'pending')
    await alice.evaluate(async (aid) => {
      await (window as unknown as { tab: { agent: { approve: (id: string) => Promise<unknown> } } }).tab.agent.approve(aid)
    }, String(held.id))
    // confirming the job binds the plumber: its human is asked, and approves
    await p.waitFor(e => e.event === 'pending', 20_000, since)
    p.send({ cmd: 'approve' })
    await p.waitFor(e => e.event === 'transition' && e.id === id && e.state === 'confirmed', 20_000, since)
    await waitForTab(alice, 'the confirmation', e => e.event === 'transition' && e.id === id && e.state === 'confirmed')

    // every envelope each side received passed every check; the agreement verifies in both runtimes
    const inbound = (await tabEvents(alice)).filter(e => e.event === 'envelope' && e.session === opened.session && e.dir === 'in')
    expect(inbound.length, 'envelopes the tab received on the session').to.be.at.least(8)
    expect(inbound.filter(e => e.verified !== true), 'refused in the tab').to.deep.equal([])
    const fromPlumber = p.events.length
    p.send({ cmd: 'agreement', id })
    const nodeAgreement = (await p.waitFor(e => e.event === 'agreement', 10_000, fromPlumber)).agreement
    const tabAgreement = await alice.evaluate((nid) => JSON.parse(JSON.stringify((window as unknown as { tab: { agent: { negotiations: { agreement: (id: string) => unknown } } } }).tab.agent.negotiations.agreement(nid))), id)
    expect(tabAgreement).to.deep.equal(nodeAgreement)
    const inNode = await verifyAgreement(tabAgreement)
    const inTabVerified = await inTab<{ offeredBy: string, acceptedBy: string, terms: { price: { value: number } } }>(alice, 'verifyAgreement', nodeAgreement)
    expect(inNode.offeredBy).to.equal(plumberPeer)
    expect(inTabVerified.offeredBy).to.equal(plumberPeer)
    expect(inTabVerified.acceptedBy).to.equal(inNode.acceptedBy)
    expect(inNode.terms.price).to.deep.equal({ value: 180, currency: 'GBP' })
  })

  it('a tab-to-tab session starts on the relay and moves to WebRTC', async () => {
    const opened = await bob.evaluate(async () => {
      const tab = (window as unknown as { tab: { connect: (to: string) => Promise<{ session: string, remote: unknown, ms: number }>, relayed: (id: string) => boolean | null } }).tab
      const o = await tab.connect('@tab-alice')
      return { ...o, relayedAtOpen: tab.relayed(o.session) }
    })
    expect(opened.relayedAtOpen, 'the session opens on the relayed connection').to.equal(true)
    const alicePeer = await alice.evaluate(() => (window as unknown as { tab: { agent: { peerId: string } } }).tab.agent.peerId)
    expect(opened.remote).to.deep.equal({ peer: alicePeer, handle: 'tab-alice', kind: 'agent' })
    const direct = await waitForTab(bob, 'direct WebRTC connection', e => e.event === 'direct' && e.session === opened.session, 30_000)
    expect(direct.peer).to.equal(alicePeer)
    expect(await inTab(bob, 'relayed', opened.session)).to.equal(false)
    expect(await inTab(bob, 'request', opened.session, 'ping')).to.equal('pong')
    const inbound = (await tabEvents(alice)).filter(e => e.event === 'envelope' && e.dir === 'in')
    expect(inbound.filter(e => e.verified !== true), 'refused in the callee tab').to.deep.equal([])
  })

  it('a reloaded tab with the same IndexedDB keeps its identity and its handle', async () => {
    const before = await alice.evaluate(() => (window as unknown as { tab: { agent: { peerId: string } } }).tab.agent.peerId)
    await alice.reload()
    await alice.waitForFunction(() => document.title === 'parley tab ready')
    const again = await inTab<{ peer: string, handle: string }>(alice, 'start', tabOptions('tab-alice'))
    expect(again).to.include({ peer: before, handle: 'tab-alice' })
    const p = plumber as Proc
    const from = p.events.length
    p.send({ cmd: 'call', to: '@tab-alice', method: 'ping' })
    const called = await p.waitFor(e => e.event === 'reply' || e.event === 'error', 30_000, from)
    expect(called).to.deep.include({ event: 'reply', result: 'pong', remote: { peer: before, handle: 'tab-alice', kind: 'agent' } })
  })
})
