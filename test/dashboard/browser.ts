/**
 * What the dashboard's browser tests share: Debian's headless Chromium
 * through playwright-core, where screenshots go, and helpers that read the
 * page's data attributes.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { ROOT } from '../helpers/relay-process.js'

export const CHROMIUM = '/usr/bin/chromium'
export const RESULTS = join(ROOT, 'test-results')
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']

/** True when Chromium is installed (`.ci/run` installs it); the browser tests skip otherwise. */
export function haveChromium (): boolean {
  return existsSync(CHROMIUM)
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
