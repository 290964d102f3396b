/**
 * What the browser tests share: bundle an entry for the browser with esbuild,
 * serve a folder on 127.0.0.1 (an http origin on loopback is a secure
 * context: WebCrypto and IndexedDB work), and launch Debian's headless
 * Chromium through playwright-core.
 *
 * Chromium is required under `CI=true` ({@link requireChromium} fails the
 * suite when it is missing); elsewhere a missing Chromium skips the suite.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, join, normalize, relative, sep } from 'node:path'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { BrowserContext } from 'playwright-core'
import { CHROMIUM, FLAGS } from '../dashboard/browser.js'
import { ROOT } from '../helpers/relay-process.js'

export { CHROMIUM, ROOT }

/** A bundle made by {@link bundleForBrowser}. */
export interface BrowserBundle {
  /** The bundled ES module. */
  code: string
  /** Every input file esbuild read, relative to the package root. */
  inputs: string[]
}

/**
 * Bundles `entry` (a path relative to the package root, or absolute: usually
 * a compiled file under `dist/`; or `{ contents }`, JavaScript resolved from
 * the package root, where `parley-mesh/…` names this package) as esbuild does
 * for a browser: platform `browser` (so the `browser` conditions of
 * package.json `exports` and `imports` apply, and any `node:` builtin is an
 * error), one ES module, no externals. Rejects with esbuild's errors when
 * something cannot be bundled.
 */
export async function bundleForBrowser (entry: string | { contents: string }, options: { minify?: boolean } = {}): Promise<BrowserBundle> {
  const result = await build({
    ...(typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'js' as const } }),
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    minify: options.minify === true,
    logLevel: 'silent'
  })
  const out = result.outputFiles[0]
  if (out === undefined) throw new Error('esbuild wrote nothing')
  return { code: out.text, inputs: Object.keys(result.metafile.inputs) }
}

/** The esbuild error texts of a failed build (`Could not resolve "node:fs"` …), or the error's message. */
export function buildErrors (err: unknown): string[] {
  const errors = (err as { errors?: Array<{ text: string }> }).errors
  return Array.isArray(errors) ? errors.map(e => e.text) : [String((err as Error).message)]
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8'
}

/** A folder served over http on 127.0.0.1. */
export interface Served {
  /** `http://127.0.0.1:<port>/` */
  url: string
  close: () => Promise<void>
}

/** Serves the files of `dir` (GET only, nothing outside it) on 127.0.0.1, on a free port. */
export async function serveDir (dir: string): Promise<Served> {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)))
    const rel = relative(dir, path)
    if (req.method !== 'GET' || rel.startsWith('..') || rel.split(sep).includes('..')) {
      res.writeHead(404).end()
      return
    }
    const file = rel === '' ? join(dir, 'index.html') : path
    readFile(file).then(body => {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body)
    }, () => { res.writeHead(404).end() })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => { resolve() })
    })
  }
}

/**
 * Bundles `entry` into a fresh folder as `page.js` with an `index.html` that
 * loads it, and serves the folder. What a test page needs in one call.
 */
export async function servePage (entry: string, title = 'parley test page', options: { minify?: boolean } = {}): Promise<Served & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-page-'))
  const { code } = await bundleForBrowser(entry, options)
  await writeFile(join(dir, 'page.js'), code)
  await writeFile(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="page.js"></script>\n`)
  return { ...await serveDir(dir), dir }
}

/**
 * For a browser suite's `before`: fails under `CI=true` when Chromium is
 * missing (CI must run the browser tests), skips the suite elsewhere.
 */
export function requireChromium (suite: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return
  if (process.env.CI === 'true') throw new Error(`CI runs the browser tests, but ${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`)
  console.log(`      (skipped: ${CHROMIUM} is not installed; .ci/run installs Debian's chromium)`)
  suite.skip()
}

/**
 * A fresh headless Chromium with a persistent profile under `dir` (created
 * when missing): IndexedDB survives reloads and new pages of the context.
 */
export async function launchChromium (dir: string): Promise<BrowserContext> {
  await mkdir(dir, { recursive: true })
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS
  })
}
