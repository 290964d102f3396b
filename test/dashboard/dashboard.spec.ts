/**
 * The dev dashboard in a real browser: Debian's headless Chromium driven by
 * playwright-core. A relay process, three agents with presence on and a
 * forger; then a synthetic source for the panels a relay leaves empty and
 * for a 200-agent load test. Screenshots go to test-results/.
 *
 * Skipped (with a message) only when /usr/bin/chromium is absent; `.ci/run`
 * installs it.
 */
import { expect } from 'chai'
import { rm, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { createIdentity } from '../../src/identity/index.js'
import { PRESENCE_TOPIC } from '../../src/presence/index.js'
import { Router, startHttp } from '../../src/node/http.js'
import type { HttpEndpoint } from '../../src/node/http.js'
import { DashboardServer } from '../../src/dashboard/server.js'
import type { DashboardState } from '../../src/dashboard/types.js'
import { SyntheticSource } from './synthetic.js'
import { RESULTS, browserDir, expectForgeriesRefused, hasLink, launch, timings, waitFor } from './browser.js'

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))] ?? NaN
}

describe('dev dashboard in headless Chromium', function () {
  this.timeout(120_000)
  let dir: string
  let context: BrowserContext | undefined

  before(async function () {
    dir = await browserDir(this, 'parley-dashboard-')
    context = await launch(dir)
  })

  after(async () => {
    await context?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  describe('on a relay with three agents', () => {
    let relay: RelayProcess
    let page: Page
    let forger: Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, pubsub: GossipSub }> | undefined
    const agents: Agent[] = []
    let plumber: Agent
    let sparky: Agent
    let alice: Agent

    before(async function () {
      if (context === undefined) this.skip()
      relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
      for (const [handle, kind] of [['rapidplumb', 'agent'], ['sparky', 'agent'], ['alice', 'human']] as const) {
        const a = await createAgent({ handle, kind, relays: [relay.tcp.toString()], powBits: 8, minPowBits: 8, rtcConfiguration: LOOPBACK_RTC, presence: true })
        a.handle('quote', (params) => ({ job: (params as { job?: string })?.job ?? null, price: 180, currency: 'GBP' }))
        agents.push(a)
        await a.start()
      }
      [plumber, sparky, alice] = agents as [Agent, Agent, Agent]
      page = await (context as BrowserContext).newPage()
      page.on('pageerror', (err) => { console.log('page error:', err.message) })
    })

    after(async () => {
      await page?.close()
      await forger?.stop()
      await Promise.allSettled(agents.map(async a => a.stop()))
      await relay?.stop('SIGKILL')
    })

    it('shows the relay and every agent with its kind, verified, connected over TCP', async () => {
      await page.goto(relay.dashboardUrl)
      await page.waitForSelector(`g.node[data-self="true"][data-peer="${relay.peerId}"][data-kind="relay"]`)
      for (const [agent, kind] of [[plumber, 'agent'], [sparky, 'agent'], [alice, 'human']] as const) {
        await page.waitForSelector(`g.node[data-peer="${agent.peerId}"][data-kind="${kind}"][data-verified="true"]`, { timeout: 20_000 })
        await waitFor(`a TCP link relay-${agent.handleName}`, async () => hasLink(page, relay.peerId, agent.peerId, 'tcp'))
      }
      for (const handle of ['rapidplumb', 'sparky', 'alice']) {
        await page.waitForSelector(`#handles tr[data-handle="${handle}"][data-verified="true"]`)
      }
      expect(await page.locator('#auth').textContent()).to.equal('actions enabled')
      // a relay has no human: no inbox or contacts cards
      expect(await page.locator('#inbox-card').isHidden()).to.equal(true)
      expect(await page.locator('#contacts-card').isHidden()).to.equal(true)
    })

    it('updates live when a session opens: the agents\' WebRTC link appears without a reload', async () => {
      await page.evaluate(() => { (window as unknown as { marker: string }).marker = 'same page' })
      const before = (await timings(page)).applied
      const session = await alice.connect('@rapidplumb')
      expect(await session.request('quote', { job: 'leaking tap' })).to.deep.equal({ job: 'leaking tap', price: 180, currency: 'GBP' })
      // the relay sees the circuit; the direct WebRTC connection is known from the agents' presence
      await waitFor('a WebRTC link alice-rapidplumb', async () => hasLink(page, alice.peerId, plumber.peerId, 'webrtc'), 40_000)
      expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).to.equal('same page')
      expect((await timings(page)).applied).to.be.greaterThan(before)
      await page.waitForTimeout(1500) // let the layout settle for the picture
      await page.screenshot({ path: join(RESULTS, 'dashboard-relay.png') })
    })

    it('does not show a forged presence announcement as verified', async () => {
      const identity = await createIdentity({ kind: 'human' })
      forger = await createLibp2p({
        privateKey: identity.privateKey,
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
      })
      const f = forger
      f.services.pubsub.subscribe(PRESENCE_TOPIC)
      await f.dial(relay.tcp)
      await waitFor('the relay in the forger\'s topic peers', async () => f.services.pubsub.getSubscribers(PRESENCE_TOPIC).some(p => p.toString() === relay.peerId))
      const forgerId = identity.peerIdString
      const verdict = async (): Promise<string | undefined> => {
        const state = await (await fetch(relay.httpUrl + '/api/state')).json() as DashboardState
        return state.peers.find(p => p.peer === forgerId)?.presence?.reason
      }

      await expectForgeriesRefused({
        page,
        publish: async (bytes) => f.services.pubsub.publish(PRESENCE_TOPIC, bytes),
        forger: identity,
        victim: { peer: alice.peerId, handle: 'alice' },
        verdict,
        who: 'the relay',
        screenshot: 'dashboard-forged.png'
      })
    })
  })

  describe('panels and load, from a synthetic source', () => {
    let http: HttpEndpoint | undefined
    let source: SyntheticSource
    let dashboard: DashboardServer

    async function serve (n: number): Promise<string> {
      await http?.close()
      source = new SyntheticSource(n)
      dashboard = new DashboardServer({ source, token: 'synthetic-token-0123456789' })
      http = await startHttp('127.0.0.1', 0, dashboard.mount(new Router()))
      return dashboard.url(http.url)
    }

    before(function () { if (context === undefined) this.skip() })
    after(async () => { await http?.close() })

    it('marks each message with its signature status, opens envelopes, and approving finishes the waiting negotiation', async () => {
      const url = await serve(12)
      const page = await (context as BrowserContext).newPage()
      try {
        // without the token the buttons are disabled
        await page.goto(url.replace(/#.*$/, ''))
        await page.waitForSelector('[data-approval="appr-1"] button[data-action="approve"][disabled]')
        expect(await page.locator('#auth').textContent()).to.include('read-only')

        await page.goto(url)
        await page.reload() // a new fragment alone does not reload the page
        await page.locator('[data-session="sess-1"] .row').click()
        await page.waitForSelector('[data-session="sess-1"] .msg[data-verified="true"]')
        expect(await page.locator('[data-session="sess-1"] .msg[data-verified="true"]').count()).to.be.at.least(2)
        const refused = page.locator('[data-session="sess-1"] .msg[data-verified="false"]')
        expect(await refused.count()).to.equal(1)
        expect(await refused.textContent()).to.include('ERR_BAD_SIGNATURE')
        await page.locator('[data-session="sess-1"] .msg').first().click()
        await page.waitForSelector('#inspector[open]')
        expect(await page.locator('#inspector-body').textContent()).to.include('"jsonrpc": "2.0"')
        await page.locator('#inspector-close').click()

        await page.locator('[data-negotiation="neg-1"] .row').click()
        await page.waitForSelector('[data-negotiation="neg-1"][data-state="negotiating"]')
        await page.locator('[data-approval="appr-1"] button[data-action="approve"]').click()
        await page.waitForSelector('[data-negotiation="neg-1"][data-state="confirmed"]')
        await page.waitForSelector('[data-approval="appr-1"][data-status="approved"]')
        expect(await page.locator('[data-outcome="appr-1"]').textContent()).to.include('approved')
        expect(source.decisions).to.deep.equal([{ id: 'appr-1', decision: 'approve' }])
        await page.waitForSelector('[data-agreement="neg-1"]')
        await page.waitForTimeout(1000)
        await page.screenshot({ path: join(RESULTS, 'dashboard-panels.png'), fullPage: true })
      } finally {
        await page.close()
      }
    })

    it('stays responsive with 200 agents in the graph (render and update times recorded)', async () => {
      const n = 200
      const url = await serve(n)
      const page = await (context as BrowserContext).newPage()
      try {
        await page.goto(url)
        await page.waitForFunction(() => Number(document.body.dataset.applied ?? 0) >= 1)
        const first = await timings(page)
        expect(await page.locator('g.node').count()).to.equal(n + 1)
        // frames while the layout settles: how long the page's main thread is ever busy
        const frames = await page.evaluate(async () => new Promise<number[]>(resolve => {
          const gaps: number[] = []
          let last = performance.now()
          const end = last + 3000
          const step = (now: number): void => {
            gaps.push(now - last)
            last = now
            if (now < end) requestAnimationFrame(step); else resolve(gaps)
          }
          requestAnimationFrame(step)
        }))
        // live updates: a change every 300 ms, each a full state applied
        const before = first.applied
        const updates = 20
        for (let i = 0; i < updates; i++) {
          source.tick()
          await new Promise(resolve => setTimeout(resolve, 300))
        }
        await page.waitForFunction((want) => Number(document.body.dataset.applied ?? 0) >= want, before + updates / 2)
        const after = await timings(page)
        const updateMs = after.applyMs.slice(before)
        await page.screenshot({ path: join(RESULTS, 'dashboard-200.png') })
        const result = {
          agents: n,
          date: new Date().toISOString(),
          machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${process.platform}`,
          browser: `Chromium ${context?.browser()?.version() ?? '(persistent context)'}`,
          firstStateAppliedAtMs: Math.round(first.firstAppliedAt ?? NaN),
          firstApplyMs: Math.round((first.applyMs[0] ?? NaN) * 10) / 10,
          updates: updateMs.length,
          updateApplyMedianMs: Math.round(percentile(updateMs, 0.5) * 10) / 10,
          updateApplyP95Ms: Math.round(percentile(updateMs, 0.95) * 10) / 10,
          layoutFrames: frames.length,
          layoutFrameMedianMs: Math.round(percentile(frames, 0.5) * 10) / 10,
          layoutFrameP95Ms: Math.round(percentile(frames, 0.95) * 10) / 10,
          layoutFrameMaxMs: Math.round(Math.max(...frames) * 10) / 10
        }
        await writeFile(join(RESULTS, 'dashboard-bench.json'), JSON.stringify(result, null, 2) + '\n')
        console.log('      dashboard with %d agents: %s', n, JSON.stringify(result))
        expect(updateMs.length).to.be.at.least(updates / 2)
      } finally {
        await page.close()
      }
    })
  })
})
