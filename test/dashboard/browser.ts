/**
 * What the dashboard's browser tests share: Debian's headless Chromium
 * through playwright-core, where screenshots go, and helpers that read the
 * page's data attributes, and the forged-presence check both dashboards pass.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { expect } from 'chai'
import { ROOT } from '../helpers/relay-process.js'
import { signPresence } from '../../src/presence/index.js'
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js'
import { canonicalize } from '../../src/crypto/canonical-json.js'
import type { Identity } from '../../src/identity/index.js'

export const CHROMIUM = '/usr/bin/chromium'
export const RESULTS = join(ROOT, 'test-results')
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']

/** True when Chromium is installed (`.ci/run` installs it); the browser tests skip otherwise. */
export function haveChromium (): boolean {
  return existsSync(CHROMIUM)
}

/**
 * For a browser suite's `before`: skips the suite, saying why, when Chromium
 * is missing; otherwise makes the screenshots folder and returns a fresh
 * temporary folder (for the browser profile and the suite's data).
 */
export async function browserDir (suite: Mocha.Context, prefix: string): Promise<string> {
  if (!haveChromium()) {
    console.log(`      (skipped: ${CHROMIUM} is not installed; .ci/run installs Debian's chromium)`)
    suite.skip()
  }
  await mkdir(RESULTS, { recursive: true })
  return mkdtemp(join(tmpdir(), prefix))
}

/** A fresh headless Chromium with its profile under `dir`. */
export async function launch (dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 1000 }
  })
}

export interface Timings { applied: number, applyMs: number[], firstAppliedAt: number | undefined }

/** The dashboard's own timings (window.parleyDashboard.timings). */
export async function timings (page: Page): Promise<Timings> {
  return page.evaluate(() => (window as unknown as { parleyDashboard: { timings: Timings } }).parleyDashboard.timings)
}

/** True when the graph has a link of `transport` between peers `a` and `b` (either direction). */
export async function hasLink (page: Page, a: string, b: string, transport: string): Promise<boolean> {
  const n = await page.locator(`path[data-transport="${transport}"][data-from="${a}"][data-to="${b}"], path[data-transport="${transport}"][data-from="${b}"][data-to="${a}"]`).count()
  return n > 0
}

export async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 150))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** What {@link expectForgeriesRefused} needs: a page showing the mesh, and a peer that publishes presence. */
export interface Forgery {
  page: Page
  /** Publishes on the presence topic from the forger's libp2p node. */
  publish: (bytes: Uint8Array) => Promise<unknown>
  /** The forger's key (its peer id is the gossipsub publisher). */
  forger: Identity
  /** A real human agent whose handle the forger claims. */
  victim: { peer: string, handle: string }
  /** The node's verdict on the forger's presence, read from its state API. */
  verdict: () => Promise<string | undefined>
  /** Whose dashboard it is, for the wait messages. */
  who: string
  screenshot: string
}

/**
 * Publishes two forgeries and checks the page never shows them as verified:
 * a correctly signed claim to a handle the forger does not hold
 * (`ERR_HANDLE_MISMATCH`, drawn against the forger, no link from its claim),
 * then an announcement whose signature does not verify (`ERR_BAD_SIGNATURE`).
 */
export async function expectForgeriesRefused (f: Forgery): Promise<void> {
  const { page, forger, victim } = f
  const forgerId = forger.peerIdString
  await f.publish(await signPresence(forger, { handle: victim.handle, kind: 'human', capabilities: ['pay'], connections: [{ peer: victim.peer, transport: 'webrtc' }] }))
  await waitFor(`${f.who} to refuse the claim`, async () => await f.verdict() === 'ERR_HANDLE_MISMATCH')
  const node = `g.node[data-peer="${forgerId}"]`
  await page.waitForSelector(`${node}[data-verified="false"][data-kind="anon"]`)
  await page.waitForSelector(`g.node[data-peer="${victim.peer}"][data-kind="human"][data-verified="true"]`)
  expect(await hasLink(page, forgerId, victim.peer, 'webrtc'), 'no link from an invalid announcement').to.equal(false)
  await page.locator(`${node} circle`).first().dispatchEvent('click')
  await page.waitForSelector('#peer [data-presence="invalid"]')
  expect(await page.locator('#peer').textContent()).to.include('ERR_HANDLE_MISMATCH')

  const signed = JSON.parse(fromUtf8(await signPresence(forger, { kind: 'human', capabilities: [], connections: [] }))) as { sig: string }
  const sig = signed.sig.slice(0, 10) + (signed.sig[10] === 'A' ? 'B' : 'A') + signed.sig.slice(11)
  await f.publish(utf8(canonicalize({ ...signed, sig })))
  await waitFor(`${f.who} to refuse the bad signature`, async () => await f.verdict() === 'ERR_BAD_SIGNATURE')
  await page.waitForFunction((peer) => document.querySelector('#peer')?.textContent?.includes('ERR_BAD_SIGNATURE') === true && document.querySelector(`g.node[data-peer="${peer}"]`)?.getAttribute('data-verified') === 'false', forgerId)
  await page.screenshot({ path: join(RESULTS, f.screenshot) })
}
