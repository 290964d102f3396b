/**
 * `npm run bench -- --only browser`: what running Parley in a tab costs,
 * and how fast an agent starts.
 *
 * - bundle size of the package's browser entry (`parley-mesh` under the
 *   `browser` condition), minified, raw and gzip, beside a stock js-libp2p
 *   browser node with the same transports and services but no Parley;
 * - a tab's cold start: page load → `createAgent` → `start()` → `connect()`
 *   to a Node agent's handle → the first verified reply, in headless
 *   Chromium on loopback, each run a new page with a new identity: in a
 *   Chromium with nothing attached (the page reports over http), from a
 *   just-spawned Chromium, with a handle of the tab's own, and under
 *   Playwright;
 * - the tab's JS heap after `start()` (after a forced GC), beside the same
 *   page before it created an agent;
 * - Node `start()` with and without a handle (proof of work 0 bits: its cost
 *   is in the `pow` section), beside a stock libp2p node that dials the same
 *   relay and waits for its reservation.
 */
import { gzipSync } from 'node:zlib'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { createAgent } from '../../src/agent/index.js'
import type { Agent } from '../../src/agent/index.js'
import { servePage, CHROMIUM, ROOT } from '../browser/harness.js'
import type { Served } from '../browser/harness.js'
import { FLAGS } from '../dashboard/browser.js'
import { fmt, errorText, mdTable, msStats } from './harness.js'
import { within } from './agent-util.js'

/** A stock js-libp2p browser node: the transports and services a Parley tab runs, without Parley. */
const STOCK_BROWSER_NODE = `
import { createLibp2p } from 'libp2p'
import { webSockets } from '@libp2p/websockets'
import { webRTC } from '@libp2p/webrtc'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT } from '@libp2p/kad-dht'
import { IDBDatastore } from 'datastore-idb'
export const node = () => createLibp2p({
  datastore: new IDBDatastore('x'),
  transports: [webSockets(), circuitRelayTransport(), webRTC()],
  connectionEncrypters: [noise()], streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping(), dht: kadDHT({ clientMode: true }) }
})
`

async function minified (entry: { file: string } | { contents: string }): Promise<{ raw: number, gzip: number }> {
  const result = await build({
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'js' as const } }),
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent'
  })
  const code = result.outputFiles[0]?.contents ?? new Uint8Array()
  return { raw: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength }
}

const kib = (n: number): string => fmt(n / 1024, 0)

/** Heap used by the page's JS, after a forced GC (Chrome DevTools Protocol). */
async function heapUsed (page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('HeapProfiler.collectGarbage')
  const { usedSize } = await cdp.send('Runtime.getHeapUsage')
  await cdp.detach()
  return usedSize
}

/** What one page run reported: ms since its navigation started, per step. */
type PhaseTimes = Record<string, number>

/**
 * Tab runs in Chromium with nothing attached to it (no Playwright, no
 * DevTools protocol, whose instrumentation costs the browser process about
 * half a second of CPU a run on two cores): an http server on 127.0.0.1 and
 * 127.0.0.2 serves the page; each run is a navigation to the other host (a
 * new site, so a new renderer process) with the script's source made unique
 * (so no V8 code cache), and the page posts its times to `/report` and
 * navigates itself to the next run. `launches` Chromium processes are
 * started, each from a new profile, and their first run is also timed from
 * the process's spawn; the last launch then does `runs` more runs.
 */
export async function tabRunsWithoutDevTools (pageJs: string, query: string, launches: number, runs: number, dir: string): Promise<{ runs: PhaseTimes[], fromLaunch: number[] }> {
  const hosts = ['127.0.0.1', '127.0.0.2']
  const results: PhaseTimes[] = []
  const fromLaunch: number[] = []
  let run = 0
  let wanted = 1
  let spawnedAt = 0
  let settle: ((err?: Error) => void) | undefined
  const urlOf = (n: number, port: number): string => `http://${hosts[n % 2] ?? ''}:${port}/run/${n}${query}&report`
  let port = 0
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const match = /^\/run\/(\d+)$/.exec(path)
    const script = /^\/page-(\d+)\.js$/.exec(path)
    if (match !== null) {
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' })
      res.end(`<!doctype html><meta charset="utf-8"><title>parley bench ${match[1]}</title><script type="module" src="/page-${match[1]}.js"></script>\n`)
    } else if (script !== null) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' })
      res.end(`${pageJs}\n// run ${script[1]} ${Math.random()}\n`)
    } else if (path === '/report' && req.method === 'POST') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const outcome = JSON.parse(Buffer.concat(chunks).toString()) as { result?: PhaseTimes, error?: string }
        if (outcome.result === undefined) {
          res.end('{}')
          settle?.(new Error(`run ${run} in the tab: ${outcome.error ?? 'no result'}`))
          return
        }
        if (results.length === 0 && fromLaunch.length < launches) fromLaunch.push(performance.now() - spawnedAt)
        results.push(outcome.result)
        run++
        const more = results.length < wanted
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(more ? { next: urlOf(run, port) } : {}))
        if (!more) settle?.()
      })
    } else {
      res.writeHead(404).end()
    }
  }
  const servers: Server[] = []
  for (const host of hosts) {
    const server = createServer(handler)
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => { resolve() }) })
    const address = server.address()
    if (port === 0 && typeof address === 'object' && address !== null) port = address.port
    servers.push(server)
  }
  try {
    for (let launch = 0; launch < launches; launch++) {
      const last = launch === launches - 1
      results.length = 0
      wanted = last ? 1 + runs : 1
      const done = new Promise<void>((resolve, reject) => { settle = (err) => { if (err === undefined) resolve(); else reject(err) } })
      spawnedAt = performance.now()
      const chromium = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${join(dir, `profile-${launch}`)}`, urlOf(run, port)], { stdio: 'ignore' })
      const exited = new Promise<void>(resolve => chromium.once('exit', () => { resolve() }))
      try {
        await within(done, 60_000 + 10_000 * wanted, 'tab runs')
      } finally {
        chromium.kill('SIGKILL')
        await exited
      }
      if (last) return { runs: results.slice(1), fromLaunch }
    }
    return { runs: [], fromLaunch }
  } finally {
    for (const server of servers) { server.closeAllConnections(); server.close() }
  }
}

export async function benchBrowser (quick: boolean): Promise<string> {
  const out: string[] = []
  const runs = quick ? 5 : 15
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-browser-'))
  let relay: RelayProcess | undefined
  let browser: Browser | undefined
  let served: (Served & { dir: string }) | undefined
  const agents: Agent[] = []
  try {
    // 1. bundle size
    out.push('### Bundle size (esbuild, minified, platform browser)', '')
    const parley = await minified({ file: 'dist/src/browser.js' })
    const stock = await minified({ contents: STOCK_BROWSER_NODE })
    out.push(mdTable(['bundle', 'raw KiB', 'gzip KiB'], [
      ['`parley-mesh` (browser entry: createAgent, services, envelopes, negotiation, stores)', kib(parley.raw), kib(parley.gzip)],
      ['stock js-libp2p browser node (WebSockets, WebRTC, circuit relay, Noise, Yamux, identify, ping, kad-dht, IndexedDB)', kib(stock.raw), kib(stock.gzip)]
    ]))

    // every run connects and reserves anew from 127.0.0.1: lift the relay's per-IP rates
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 0, args: ['--inbound-rate', '1000', '--max-reservations-per-ip', '10000', '--reservation-rate-per-ip', '10000'] })
    const relayTcp = relay.tcp.toString()

    // 2. Node start()
    out.push('', '### Node: `start()` until the agent is on the mesh', '')
    const withHandle: number[] = []
    const without: number[] = []
    const stockStart: number[] = []
    for (let i = 0; i <= runs; i++) {
      for (const handle of [undefined, `start-${Date.now().toString(36)}-${i}`]) {
        const a = await createAgent({ relays: [relayTcp], powBits: 0, minPowBits: 0, ...(handle === undefined ? {} : { handle }) })
        const t0 = performance.now()
        await within(a.start(), 20_000, 'agent start')
        const ms = performance.now() - t0
        if (i > 0) (handle === undefined ? without : withHandle).push(ms)
        await a.close()
      }
      const t0 = performance.now()
      const node = await createLibp2p({ addresses: { listen: ['/p2p-circuit'] }, transports: [tcp(), circuitRelayTransport()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
      await node.dial(multiaddr(relayTcp))
      while (!node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))) await new Promise(resolve => setTimeout(resolve, 5))
      if (i > 0) stockStart.push(performance.now() - t0)
      await node.stop()
    }
    const row = (name: string, s: number[]): string[] => { const m = msStats(s); return [name, String(m.n), fmt(m.p50), fmt(m.p99), fmt(m.max)] }
    out.push(mdTable(['case', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
      row('agent without a handle: its relay answered (reservation and STUN follow in the background)', without),
      row('agent with a handle: relay, reservation, then its record published (DHT lookup + put; proof of work 0 bits)', withHandle),
      row('stock libp2p node: create, start, dial the relay, reservation', stockStart)
    ]))
    out.push('', `Each run a new agent (new identity, in-memory stores) on one \`parley relay\` child process over TCP on 127.0.0.1, after one untimed warm-up run.`)

    // 3. the tab
    out.push('', '### A tab: cold start to the first verified reply, and its heap', '')
    if (!(await import('node:fs')).existsSync(CHROMIUM)) {
      out.push(`**not run**: ${CHROMIUM} is not installed`)
      return out.join('\n')
    }
    const callee = await createAgent({ handle: `bench-node-${Date.now().toString(36)}`, relays: [relayTcp], powBits: 0, minPowBits: 0, webrtc: false })
    agents.push(callee)
    await callee.start()
    // served from 127.0.0.1, like the relay: Chromium's local network access checks let a local page reach a local relay
    served = await servePage('dist/test/bench/browser-page.js', 'parley bench', { minify: true })
    const pageBytes = (await stat(join(served.dir, 'page.js'))).size
    const query = `?relay=${encodeURIComponent(relay.ws.toString())}&to=${encodeURIComponent(`@${callee.handleName ?? ''}`)}`
    const phaseRows = (phases: Record<string, number[]>, started = '`start()` resolved (relay reached over WebSocket; no handle)'): string[][] => [
      ...((phases.fetched ?? []).some(Number.isFinite) ? [row('the page\'s script fetched (its last byte)', phases.fetched ?? [])] : []),
      row('the bundle evaluated (page script running)', phases.loaded ?? []),
      row('`createAgent()` resolved (a new identity, WebCrypto)', phases.created ?? []),
      row(started, phases.started ?? []),
      row('`connect(\'@handle\')` resolved (record from the relay, circuit, hellos verified)', phases.connected ?? []),
      row('**the first verified reply** (`ping` on the session)', phases.replied ?? []),
      row('the agent alone: `createAgent()` called → the first verified reply', (phases.replied ?? []).map((r, k) => r - (phases.loaded?.[k] ?? NaN)))
    ]
    const byPhase = (runs: PhaseTimes[]): Record<string, number[]> => {
      const phases: Record<string, number[]> = { fetched: [], loaded: [], created: [], started: [], connected: [], replied: [] }
      for (const r of runs) for (const k of Object.keys(phases)) phases[k]?.push(r[k] ?? NaN)
      return phases
    }
    const launches = quick ? 2 : 5
    const free = await tabRunsWithoutDevTools(await readFile(join(served.dir, 'page.js'), 'utf8'), query, launches, runs, dir)
    out.push('Chromium with nothing attached (no Playwright, no DevTools protocol), already running; each run a navigation to a new site (127.0.0.1 and 127.0.0.2 in turn: a new renderer process) and a script not seen before (no code cache):', '')
    out.push(mdTable(['from navigation start to …', 'n', 'p50 ms', 'p99 ms', 'max ms'], phaseRows(byPhase(free.runs))))
    out.push('', mdTable(['Chromium not running', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
      row('Chromium process spawned (new profile) → the first verified reply in its first page', free.fromLaunch)
    ]))
    const withHandleDir = join(dir, 'with-handle')
    await mkdir(withHandleDir)
    const named = await tabRunsWithoutDevTools(await readFile(join(served.dir, 'page.js'), 'utf8'), `${query}&handle=tab`, 1, runs, withHandleDir)
    const namedPhases = byPhase(named.runs)
    out.push('', 'The same, the tab registering a handle of its own (nothing attached; one more Chromium, its first run dropped):', '')
    out.push(mdTable(['from navigation start to …', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
      ...phaseRows(namedPhases, '`start()` resolved (relay over WebSocket, reservation, its handle record published; proof of work 0 bits)'),
      row('`start()` alone: called → resolved, with a handle', (namedPhases.started ?? []).map((s, k) => s - (namedPhases.created?.[k] ?? NaN)))
    ]))
    // a returning tab: its identity in IndexedDB, its handle registered again. Runs alternate
    // between two origins, each with its own IndexedDB, so the first run on each creates the
    // identity and is dropped; every later one loads it.
    const returningDir = join(dir, 'returning')
    await mkdir(returningDir)
    const back = await tabRunsWithoutDevTools(await readFile(join(served.dir, 'page.js'), 'utf8'), `${query}&handle=tab-back-${Date.now().toString(36)}&data=parley-bench`, 1, runs + 1, returningDir)
    const backPhases = byPhase(back.runs.slice(1))
    out.push('', 'A returning tab: its identity kept in IndexedDB (`dataDir`), its handle registered again (nothing attached; each origin\'s first run, which creates the identity, dropped):', '')
    out.push(mdTable(['from navigation start to …', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
      ...phaseRows(backPhases, '`start()` resolved (relay, reservation, its handle record published again)').map(r => r[0]?.startsWith('`createAgent()`') === true ? ['`createAgent()` resolved (its identity loaded from IndexedDB, stores opened)', ...r.slice(1)] : r),
      row('`start()` alone: called → resolved, with a handle', (backPhases.started ?? []).map((s, k) => s - (backPhases.created?.[k] ?? NaN)))
    ]))
    out.push('', 'The same page driven by Playwright (DevTools protocol attached: the harness\'s own CPU cost lands on the same two cores), and the heap:', '')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
    const context = await browser.newContext()
    const phases: Record<string, number[]> = { loaded: [], created: [], started: [], connected: [], replied: [] }
    const heapBefore: number[] = []
    const heapAfter: number[] = []
    for (let i = 0; i <= runs; i++) {
      // the baseline: the page loaded, no agent
      const idle = await context.newPage()
      await idle.goto(served.url)
      await idle.waitForFunction(() => (window as unknown as { bench?: unknown }).bench !== undefined)
      const before = await heapUsed(idle)
      await idle.close()
      const tab = await context.newPage()
      try {
        await tab.goto(served.url + query)
        await tab.waitForFunction(() => { const b = (window as unknown as { bench?: { result?: unknown, error?: string } }).bench; return b?.result !== undefined || b?.error !== undefined }, undefined, { timeout: 30_000 })
        const r = await tab.evaluate(() => { const b = (window as unknown as { bench: { result?: Record<string, number>, error?: string } }).bench; if (b.error !== undefined) throw new Error(b.error); return b.result as Record<string, number> })
        const after = await heapUsed(tab)
        if (i > 0) {
          for (const k of Object.keys(phases)) phases[k]?.push(r[k] ?? NaN)
          heapBefore.push(before)
          heapAfter.push(after)
        }
        await tab.evaluate(async () => { await (window as unknown as { bench: { stop: () => Promise<void> } }).bench.stop() })
      } finally {
        await tab.close()
      }
    }
    out.push(mdTable(['from navigation start to …', 'n', 'p50 ms', 'p99 ms', 'max ms'], phaseRows(phases)))
    const hb = msStats(heapBefore)
    const ha = msStats(heapAfter)
    out.push('', mdTable(['tab JS heap, after a forced GC', 'n', 'p50 MiB', 'max MiB'], [
      ['the page before it creates an agent (bundle loaded)', String(hb.n), fmt(hb.p50 / 2 ** 20), fmt(hb.max / 2 ** 20)],
      ['after `start()` and one session', String(ha.n), fmt(ha.p50 / 2 ** 20), fmt(ha.max / 2 ** 20)]
    ]))
    out.push('', `Headless Chromium (Debian's, \`${CHROMIUM}\`) on the same machine; the page is served over http from loopback with \`no-store\`; each run a new page (the bundle, minified, ${kib(pageBytes)} KiB, fetched and compiled anew) and a new in-memory identity, no handle unless its table says so; the Node agent (\`webrtc: false\`) and the relay as above, the tab reaching the relay over WebSocket on 127.0.0.1 (\`dialPrivateAddresses\`). Warm-up: the first run of each launch is only in the "not running" row; the Playwright loop has one untimed run.`)
  } catch (err) {
    out.push(`**failed**: ${errorText(err)}`)
  } finally {
    await browser?.close().catch(() => {})
    await served?.close()
    if (served !== undefined) await rm(served.dir, { recursive: true, force: true })
    for (const a of agents) await a.close().catch(() => {})
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
  return out.join('\n')
}
