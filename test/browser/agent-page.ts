/**
 * The page of the browser agent test: the package's browser entry (what
 * `import … from 'parley-mesh'` gives a bundler targeting browsers) on
 * `window.parley`, and `window.tab`, a small driver the test calls through
 * `page.evaluate`: it starts an agent, records its events, and keeps its
 * sessions by id.
 */
import * as parley from '../../src/browser.js'
import type { Agent, Session } from '../../src/browser.js'
import { serveAssistant } from '../../src/demo/plumbing.js'

interface TabEvent { event: string, [key: string]: unknown }

const sessions = new Map<string, Session>()
const events: TabEvent[] = []
let agent: Agent | undefined

function keep (session: Session): string {
  const id = session.id ?? ''
  sessions.set(id, session)
  session.addEventListener('envelope', (e) => {
    const r = e.detail
    events.push({ event: 'envelope', session: id, dir: r.dir, verified: r.verified, method: (r.body as { method?: string } | undefined)?.method ?? null })
  })
  return id
}

const tab = {
  events,
  get agent (): Agent {
    if (agent === undefined) throw new Error('no agent started in this tab')
    return agent
  },
  /** Creates and starts an agent; resolves with what the test checks. */
  async start (options: parley.AgentOptions): Promise<{ peer: string, handle: string | null, ms: number, backend: string, platform: string }> {
    const t0 = performance.now()
    const a = await parley.createAgent(options)
    // the assistant's side of book-plumber, as the demo serves it
    serveAssistant(a)
    a.addEventListener('session', (e) => { events.push({ event: 'session', session: keep(e.detail), from: e.detail.remote }) })
    a.addEventListener('direct', (e) => { events.push({ event: 'direct', session: e.detail.session.id, peer: e.detail.peer, path: e.detail.path ?? null }) })
    a.addEventListener('relayed', (e) => { events.push({ event: 'relayed', session: e.detail.session.id, peer: e.detail.peer, reason: e.detail.reason }) })
    a.addEventListener('pending', (e) => { events.push({ event: 'pending', id: e.detail.id, summary: e.detail.summary }) })
    await a.start()
    a.negotiations.addEventListener('transition', (e) => {
      const n = e.detail.negotiation
      events.push({ event: 'transition', id: n.id, state: n.state, seq: n.seq, by: e.detail.by, type: e.detail.transition.type })
    })
    agent = a
    return { peer: a.peerId, handle: a.handleName ?? null, ms: performance.now() - t0, backend: (await parley.getBackend()).name, platform: a.platform }
  },
  /** Opens a session; resolves with its id and the verified far side. */
  async connect (to: string): Promise<{ session: string, remote: unknown, ms: number }> {
    const t0 = performance.now()
    const session = await tab.agent.connect(to)
    return { session: keep(session), remote: session.remote, ms: performance.now() - t0 }
  },
  async request (session: string, method: string, params?: unknown): Promise<unknown> {
    const s = sessions.get(session)
    if (s === undefined) throw new Error(`no session ${session}`)
    return s.request(method, params as Parameters<Session['request']>[1])
  },
  /** Whether session `id` runs on a relayed connection now. */
  relayed (id: string): boolean | null {
    const s = sessions.get(id)
    const c = s === undefined ? undefined : tab.agent.libp2p.getConnections().find(c => c.streams.includes(s.stream))
    return c === undefined ? null : c.limits !== undefined
  },
  /** Verifies an agreement (as JSON) with this runtime's Ed25519. */
  async verifyAgreement (agreement: unknown): Promise<unknown> {
    return parley.verifyAgreement(agreement)
  },
  async stop (): Promise<void> {
    await agent?.close()
    agent = undefined
  }
}

;(window as unknown as { parley: typeof parley, tab: typeof tab }).parley = parley
;(window as unknown as { tab: typeof tab }).tab = tab
document.title = 'parley tab ready'
