/**
 * `npm run bench -- --only browser`: what running Parley in a tab costs,
 * and how fast an agent starts.
 *
 * - bundle size of the package's browser entry (`parley-mesh` under the
 *   `browser` condition), minified, raw and gzip, beside a stock js-libp2p
 *   browser node with the same transports and services but no Parley;
 * - a tab's cold start: page load → `createAgent` → `start()` → `connect()`
 *   to a Node agent's handle → the first verified reply, in headless
 *   Chromium on loopback, each run a new page with a new identity;
 * - the tab's JS heap after `start()` (after a forced GC), beside the same
 *   page before it created an agent;
 * - Node `start()` with and without a handle (proof of work 0 bits: its cost
 *   is in the `pow` section), beside a stock libp2p node that dials the same
 *   relay and waits for its reservation.
 */
import { gzipSync } from 'node:zlib'
import { mkdtemp, rm, stat } from 'node:fs/promises'
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
import { fmt } from './harness.js'
import { msStats, mdTable, errorText, within } from './agent-util.js'

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
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
    const context = await browser.newContext()
    const phases: Record<string, number[]> = { loaded: [], created: [], started: [], connected: [], replied: [] }
    const heapBefore: number[] = []
    const heapAfter: number[] = []
    const query = `?relay=${encodeURIComponent(relay.ws.toString())}&to=${encodeURIComponent(`@${callee.handleName ?? ''}`)}`
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
    out.push(mdTable(['from navigation start to …', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
      row('the bundle evaluated (page script running)', phases.loaded ?? []),
      row('`createAgent()` resolved (a new identity, WebCrypto)', phases.created ?? []),
      row('`start()` resolved (relay reached over WebSocket; no handle)', phases.started ?? []),
      row('`connect(\'@handle\')` resolved (DHT lookup, circuit, hellos verified)', phases.connected ?? []),
      row('**the first verified reply** (`ping` on the session)', phases.replied ?? [])
    ]))
    const agentOnly = (phases.replied ?? []).map((r, k) => r - (phases.loaded?.[k] ?? NaN))
    out.push('', mdTable(['the agent alone, in the loaded page', 'n', 'p50 ms', 'p99 ms', 'max ms'], [
      row('`createAgent()` called → the first verified reply', agentOnly)
    ]))
    const hb = msStats(heapBefore)
    const ha = msStats(heapAfter)
    out.push('', mdTable(['tab JS heap, after a forced GC', 'n', 'p50 MiB', 'max MiB'], [
      ['the page before it creates an agent (bundle loaded)', String(hb.n), fmt(hb.p50 / 2 ** 20), fmt(hb.max / 2 ** 20)],
      ['after `start()` and one session', String(ha.n), fmt(ha.p50 / 2 ** 20), fmt(ha.max / 2 ** 20)]
    ]))
    out.push('', `Headless Chromium (Debian's, \`${CHROMIUM}\`) on the same machine; the page is served over http from 127.0.0.1; each run a new page (a cold load of the bundle, minified, ${kib(pageBytes)} KiB) and a new in-memory identity, no handle; the Node agent (\`webrtc: false\`) and the relay as above, the tab reaching the relay over WebSocket on 127.0.0.1 (\`dialPrivateAddresses\`). After one untimed warm-up run.`)
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
