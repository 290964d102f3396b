/**
 * The browser agent example (docs/examples/browser-agent/) in a real
 * Chromium against a real relay process, served by the example's own
 * `serveExample` (what `node serve.mjs` runs): the tab registers a handle; a
 * Node agent calls it (`ping`, `info/request`) and the page shows the session
 * and its verified envelopes; the Node agent proposes, the page shows the
 * negotiation live, Accept is held for the tab's human, Approve confirms it on
 * both ends; the tab calls the Node agent from its Call box; and a reload
 * keeps the tab's peer id and handle (IndexedDB).
 *
 * The Node agent runs with `webrtc: false`: Chromium gathers no loopback ICE
 * candidates, so every session here stays on the relay.
 */
import { expect } from 'chai'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BrowserContext, Page } from 'playwright-core'
import { ROOT, launchChromium, requireChromium } from './harness.js'
import { RESULTS } from '../dashboard/browser.js'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'

const EXAMPLE = join(ROOT, 'docs', 'examples', 'browser-agent')

/** What docs/examples/browser-agent/serve.mjs exports (a plain .mjs outside the compiled tree). */
interface ServeModule {
  serveExample: (options?: { relay?: string, port?: number }) => Promise<{ url: string, inputs: string[], close: () => Promise<void> }>
}

const TAB = 'tab-example'
const NODE = 'node-example'

describe('the browser agent example page (Chromium, a relay process, a Node agent)', function () {
  this.timeout(180_000)
  let dir: string | undefined
  let relay: RelayProcess | undefined
  let served: Awaited<ReturnType<ServeModule['serveExample']>> | undefined
  let context: BrowserContext | undefined
  let page: Page
  let node: Agent | undefined
  let tabPeer = ''
  const pageErrors: string[] = []

  before(async function () {
    requireChromium(this)
    dir = await mkdtemp(join(tmpdir(), 'parley-example-page-'))
    relay = await startRelayProcess({ dataDir: join(dir, 'relay') })
    const { serveExample } = await import(pathToFileURL(join(EXAMPLE, 'serve.mjs')).href) as ServeModule
    served = await serveExample({ relay: relay.ws.toString() })
    context = await launchChromium(dir)
    page = await context.newPage()
    page.on('pageerror', err => { pageErrors.push(String(err)); console.error('page error:', err) })
    await page.goto(served.url)

    node = await createAgent({ handle: NODE, dataDir: join(dir, NODE), relays: [relay.tcp.toString()], webrtc: false })
    node.handle('info/request', (params, { caller }) => ({ topic: String(params.topic), data: { slots: ['09:00', '14:00'] }, for: caller.handle ?? caller.peer }))
    await node.start()
  })

  after(async () => {
    await context?.close()
    await served?.close()
    await node?.close()
    await relay?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('bundles from the package as an installed app would: \'parley-mesh\' is its browser entry', () => {
    const inputs = served?.inputs ?? []
    expect(inputs.some(i => i.endsWith('dist/src/browser.js')), 'dist/src/browser.js bundled').to.equal(true)
    expect(inputs.some(i => i.endsWith('dist/src/agent/browser.js')), 'the browser assembly bundled').to.equal(true)
    expect(inputs.filter(i => i.endsWith('dist/src/index.js') && !i.includes('node_modules')), 'the Node entry').to.deep.equal([])
  })

  it('type-checks under strict TypeScript against the built package (app, helpers and serve.mjs)', () => {
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(EXAMPLE, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8' })
    expect(`${tsc.stdout}${tsc.stderr}`.trim()).to.equal('')
    expect(tsc.status).to.equal(0)
  })

  it('registers the handle typed into the page, dialing the loopback relay with a visible note why', async () => {
    expect(await page.inputValue('#relay')).to.equal(relay?.ws.toString())
    expect(await page.isVisible('#gater-note')).to.equal(true)
    expect(await page.textContent('#gater-note')).to.include('dialPrivateAddresses')
    await page.fill('#handle', TAB)
    await page.click('#start-button')
    await page.waitForSelector('body[data-state="registered"]', { timeout: 60_000 })
    tabPeer = (await page.textContent('#peer-id')) ?? ''
    expect(tabPeer).to.match(/^12D3KooW/)
    expect(await page.textContent('#my-handle')).to.equal(`@${TAB}`)
    expect(await page.evaluate(() => (globalThis as unknown as { parleyExample: { agent?: { platform: string } } }).parleyExample.agent?.platform)).to.equal('browser')
    // the mesh sees the tab under its handle
    expect((await node?.resolve(`@${TAB}`))?.peer).to.equal(tabPeer)
  })

  it('a Node agent calls the tab (ping, info/request); the page lists the session and its verified envelopes', async () => {
    const session = await (node as Agent).connect(`@${TAB}`)
    expect(session.remote).to.deep.equal({ peer: tabPeer, handle: TAB, kind: 'agent' })
    expect(await session.request('ping')).to.equal('pong')
    const info = await session.request('info/request', { topic: 'about' }) as { topic: string, data: Record<string, unknown> }
    expect(info.topic).to.equal('about')
    expect(info.data).to.include({ platform: 'browser', handle: TAB, askedBy: NODE })

    const item = `#session-list > li[data-direction="inbound"][data-remote-handle="${NODE}"]`
    await page.waitForSelector(`${item} li[data-dir="out"][data-kind="response"][data-method="info/request"]`)
    for (const method of ['ping', 'info/request']) {
      const request = page.locator(`${item} li[data-dir="in"][data-kind="request"][data-method="${method}"]`)
      expect(await request.count(), `the ${method} request`).to.equal(1)
      expect(await request.getAttribute('data-verified')).to.equal('true')
      expect(await request.getAttribute('data-signer'), 'signed by the Node agent, as verified').to.equal(node?.peerId)
      expect(await request.textContent()).to.include(`signed by @${NODE}`)
      expect(await page.locator(`${item} li[data-dir="out"][data-kind="response"][data-method="${method}"]`).count(), `the ${method} response`).to.equal(1)
    }
    expect(await page.getAttribute(`${item} .path`, 'data-path')).to.equal('relayed')
  })

  it('a negotiation the Node agent proposes shows live; Accept is held for the tab\'s human; Approve confirms it on both ends', async () => {
    const n = node as Agent
    // the Node agent's human trusts the tab up to £100, so the tab's accept applies there at once
    await n.setTrust(`@${TAB}`, 2, { limits: { maxAmount: 100, currency: 'GBP' } })
    const terms = { type: 'commerce.job', service: 'window cleaning', price: { value: 40, currency: 'GBP' } }
    const proposed = await n.propose(`@${TAB}`, { subject: 'window cleaning', terms })
    expect(proposed.status).to.equal('sent')
    const item = `#negotiation-list > li[data-negotiation="${proposed.negotiation}"]`
    await page.waitForSelector(`${item}[data-state="proposed"][data-turn="mine"]`)
    expect(await page.textContent(`${item} ol.transitions`)).to.include(`propose by @${NODE}`).and.include('"value":40')

    await page.click(`${item} button[data-move="accept"]`)
    // the tab's policy: an accept binds, and the Node agent is a stranger to the tab, so its human decides
    const approval = '#pending-list > li[data-method="negotiation/accept"]'
    await page.waitForSelector(approval)
    expect(await page.textContent(`${item} .move-note`)).to.include('waits for your approval')
    expect(await page.textContent(approval)).to.include('window cleaning')
    expect(n.negotiations.get(proposed.negotiation)?.state, 'nothing went out before the approval').to.equal('proposed')
    await mkdir(RESULTS, { recursive: true })
    await page.screenshot({ path: join(RESULTS, 'browser-agent-example-approval.png'), fullPage: true })

    await page.click(`${approval} button[data-decision="approve"]`)
    await page.waitForSelector(`${item}[data-state="confirmed"][data-turn="none"]`)
    expect(await page.locator('#pending-list > li').count()).to.equal(0)
    expect(await page.textContent(`${item} ol.transitions`)).to.include('accept by you')
    const deadline = Date.now() + 10_000
    while (n.negotiations.get(proposed.negotiation)?.state !== 'confirmed' && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    expect(n.negotiations.get(proposed.negotiation)?.state).to.equal('confirmed')
    expect(n.negotiations.agreement(proposed.negotiation).terms).to.deep.equal(terms)
  })

  it('the tab calls the Node agent by handle from its Call box and shows the reply and the path', async () => {
    await page.fill('#call-to', `@${NODE}`)
    await page.fill('#call-method', 'info/request')
    await page.fill('#call-params', '{"topic":"availability"}')
    await page.click('#call-button')
    await page.waitForSelector('#call-result[data-state="ok"]', { timeout: 40_000 })
    const reply = JSON.parse((await page.textContent('#call-result')) ?? '') as unknown
    expect(reply).to.deep.equal({ topic: 'availability', data: { slots: ['09:00', '14:00'] }, for: TAB })
    expect(await page.getAttribute('#call-path', 'data-path')).to.equal('relayed')
    expect(await page.textContent('#call-path')).to.include(`@${NODE}`)
    const item = `#session-list > li[data-direction="outbound"][data-remote-handle="${NODE}"]`
    await page.waitForSelector(`${item} li[data-dir="in"][data-kind="response"][data-method="info/request"][data-verified="true"]`)
    // live: the tab's attempt at a direct WebRTC connection fails (the Node agent has none), and the page says so
    await page.waitForSelector(`${item} .path[data-path="relayed"][title*="no direct path"]`, { timeout: 40_000 })

    await page.screenshot({ path: join(RESULTS, 'browser-agent-example.png'), fullPage: true })
  })

  it('after a reload and Start again: the same peer id and handle (kept in IndexedDB), and the negotiation with them', async () => {
    await page.reload()
    expect(await page.inputValue('#relay')).to.equal(relay?.ws.toString())
    expect(await page.inputValue('#handle'), 'the form remembers the handle').to.equal(TAB)
    await page.click('#start-button')
    await page.waitForSelector('body[data-state="registered"]', { timeout: 60_000 })
    expect(await page.textContent('#peer-id')).to.equal(tabPeer)
    expect(await page.textContent('#my-handle')).to.equal(`@${TAB}`)
    expect(await page.locator('#negotiation-list > li[data-state="confirmed"]').count()).to.equal(1)
    expect((await node?.resolve(`@${TAB}`, { fresh: true }))?.peer).to.equal(tabPeer)
    expect(pageErrors).to.deep.equal([])
  })
})
