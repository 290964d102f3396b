/**
 * The page of the browser bench. Opened with `?relay=<multiaddr>&to=@handle`
 * it creates an agent at once (new identity, no handle), starts it, connects
 * to `to` and sends `ping`, and leaves on `window.bench.result` when each
 * step ended, in ms since navigation start (and when its script had been
 * fetched); without `to` it only loads (the heap baseline). With
 * `&handle=<prefix>` the agent also registers a handle (the prefix and a
 * random suffix), so `start()` includes its reservation and publishing its
 * record; with `&data=<name>` as well it keeps its identity in IndexedDB
 * (`dataDir`) and registers the handle its origin gives it: a returning tab.
 * `window.bench.stop()` closes the agent. With `&report` it reports over
 * http instead (see `report`).
 */
import { createAgent } from '../../src/browser.js'
import type { Agent } from '../../src/browser.js'

const loaded = performance.now()
let agent: Agent | undefined
const bench: { result?: Record<string, number>, error?: string, stop: () => Promise<void> } = {
  async stop (): Promise<void> { await agent?.close() }
}
;(window as unknown as { bench: typeof bench }).bench = bench

async function run (relays: string[], to: string, handle: string | null, data: string | null): Promise<Record<string, number>> {
  // a returning tab's handle is its origin's (each origin keeps its own identity), a new tab's is new
  const own = handle === null ? {} : { handle: `${handle}-${data === null ? Math.random().toString(36).slice(2, 10) : location.hostname.replace(/\W/g, '-')}` }
  agent = await createAgent({ relays, dialPrivateAddresses: true, powBits: 0, minPowBits: 0, ...own, ...(data === null ? {} : { dataDir: data }) })
  const created = performance.now()
  await agent.start()
  const started = performance.now()
  const session = await agent.connect(to)
  const connected = performance.now()
  const reply = await session.request('ping')
  if (reply !== 'pong') throw new Error(`ping answered ${JSON.stringify(reply)}`)
  const replied = performance.now()
  // when the page's script had arrived: loaded − fetched is the bundle's compile and evaluation
  const script = performance.getEntriesByType('resource').find(e => e.name.endsWith('.js')) as PerformanceResourceTiming | undefined
  return { fetched: script?.responseEnd ?? NaN, loaded, created, started, connected, replied }
}

/**
 * With `report`, no harness is attached: the page posts its result to
 * `/report`, closes the agent and goes where the server's answer says.
 */
async function report (outcome: { result?: Record<string, number>, error?: string }): Promise<void> {
  const answer = await fetch('/report', { method: 'POST', body: JSON.stringify(outcome) })
  const { next } = await answer.json() as { next?: string }
  await agent?.close().catch(() => {})
  if (next !== undefined) location.replace(next)
}

const params = new URLSearchParams(location.search)
const to = params.get('to')
if (to !== null) {
  const done = run(params.getAll('relay'), to, params.get('handle'), params.get('data')).then(r => { bench.result = r }, (err: Error) => { bench.error = err.message })
  if (params.has('report')) void done.then(async () => report(bench))
}
