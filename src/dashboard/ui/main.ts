/**
 * The dashboard page: loads the state, follows `api/events`, and applies
 * each state to the graph and the panels without reloading.
 *
 * The token comes from the URL fragment (`#token=…`), which the browser
 * never sends to the server by itself; it is kept in memory and sent as a
 * bearer token on approval requests and on reading the state (an agent's
 * state needs it), and in the event stream's query (EventSource cannot send
 * headers).
 *
 * `window.parleyDashboard` exposes timings (how long each state took to
 * apply) for the browser tests and benchmarks.
 */
import './style.css'
import type { DashboardState, PeerKind } from '../types.js'
import { Graph } from './graph.js'
import type { GraphLinkInput, GraphNodeInput } from './graph.js'
import { h, kindBadge, shortPeer, time } from './dom.js'
import { setupInspector } from './inspector.js'
import { renderApprovals, renderCards, renderContacts, renderHandles, renderInbox, renderMetrics, renderOutbox, renderNegotiations, renderPeer, renderRelay, renderSessions } from './panels.js'
import type { PanelContext } from './panels.js'

interface Timings {
  /** States applied so far. */
  applied: number
  /** ms each apply took (DOM work only; the layout runs on after), last 500. */
  applyMs: number[]
  /** performance.now() when the first state was applied. */
  firstAppliedAt: number | undefined
  /** ts of the last state applied. */
  lastTs: number | undefined
}

declare global {
  interface Window { parleyDashboard: { timings: Timings, state: () => DashboardState | undefined } }
}

const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? undefined
const timings: Timings = { applied: 0, applyMs: [], firstAppliedAt: undefined, lastTs: undefined }
let current: DashboardState | undefined
let selected: string | undefined

window.parleyDashboard = { timings, state: () => current }

const ctx: PanelContext = {
  token,
  selectPeer: (peer) => { select(peer) },
  refresh: () => { if (current !== undefined) renderPanels(current) }
}

const graph = new Graph(document.getElementById('graph') as HTMLElement, (peer) => { select(peer) })

function select (peer: string | undefined): void {
  selected = peer
  graph.select(peer)
  if (current !== undefined) renderPeer(current, selected)
}

function legend (): void {
  const kinds: PeerKind[] = ['relay', 'agent', 'human', 'anon']
  const transports = ['tcp', 'websocket', 'circuit', 'webrtc']
  ;(document.getElementById('legend') as HTMLElement).replaceChildren(
    ...kinds.map(k => h('span', { class: `kind-${k}` }, h('i', {}), k)),
    ...transports.map(t => h('span', { class: `tr-${t}` }, h('b', { class: t === 'circuit' ? 'dashed' : '' }), t)),
    h('span', {}, h('i', { class: 'legend-unverified' }), 'unverified'))
}

function label (handle: string | undefined, peer: string, kind: string): string {
  if (handle !== undefined) return `@${handle}`
  return kind === 'relay' ? `relay ${shortPeer(peer)}` : shortPeer(peer)
}

function graphInput (state: DashboardState): { nodes: GraphNodeInput[], links: GraphLinkInput[] } {
  const n = state.node
  const selfKind = n.role === 'relay' ? 'relay' : n.kind ?? 'agent'
  const nodes: GraphNodeInput[] = [{
    id: n.peer, kind: selfKind, label: n.handle !== undefined ? `@${n.handle} (this node)` : `this ${n.role}`, verified: true, self: true, offline: false, title: `this node: ${n.role}`
  }]
  for (const p of state.peers) {
    const presence = p.presence === undefined ? '' : ` · presence ${p.presence.status}${p.presence.reason !== undefined ? ' (' + p.presence.reason + ')' : ''}`
    nodes.push({
      id: p.peer,
      kind: p.kind,
      ...(p.platform === undefined ? {} : { platform: p.platform }),
      label: label(p.handle, p.peer, p.kind) + (p.platform === 'browser' ? ' · browser' : ''),
      verified: p.verified,
      self: false,
      offline: p.sources.length === 1 && p.sources[0] === 'dht',
      title: `${p.kind}, ${p.verified ? 'verified' : 'not verified'} · from ${p.sources.join(', ')}${p.platform === undefined ? '' : ` · runs in ${p.platform === 'browser' ? 'a browser' : 'Node.js'} (as its libp2p says)`}${presence}`
    })
  }
  return { nodes, links: state.links.map(l => ({ from: l.from, to: l.to, transport: l.transport, source: l.source })) }
}

function renderHeader (state: DashboardState): void {
  const n = state.node
  const el = document.getElementById('node') as HTMLElement
  const key = `${n.peer}|${n.handle ?? ''}|${n.role}`
  if (el.dataset.key !== key) {
    el.dataset.key = key
    el.replaceChildren(kindBadge(n.role === 'relay' ? 'relay' : n.kind ?? 'agent'), n.handle !== undefined ? h('b', {}, `@${n.handle}`) : '', h('span', { class: 'mono', title: n.addrs.join('\n') }, n.peer))
  }
  const counts = document.getElementById('graph-counts') as HTMLElement
  const text = `${state.peers.length} peers · ${state.links.length} links · updated ${time(state.ts)}`
  if (counts.textContent !== text) counts.textContent = text
}

function renderPanels (state: DashboardState): void {
  renderHandles(state.handles, ctx)
  renderSessions(state.sessions, ctx, state.node.role)
  renderNegotiations(state.negotiations, ctx)
  renderApprovals(state.approvals, ctx)
  renderInbox(state.inbox)
  renderOutbox(state.outbox)
  renderContacts(state.contacts, ctx)
  renderCards(state.cards, ctx)
  renderRelay(state.relay, state.node.role)
  renderPeer(state, selected)
}

/** Applies one state to the page; records how long it took. */
function apply (state: DashboardState): void {
  if (current !== undefined && state.ts < current.ts) return
  const t0 = performance.now()
  current = state
  renderHeader(state)
  const { nodes, links } = graphInput(state)
  graph.update(nodes, links)
  renderPanels(state)
  renderMetrics(state.metrics)
  const t1 = performance.now()
  timings.applied++
  timings.applyMs.push(t1 - t0)
  if (timings.applyMs.length > 500) timings.applyMs.shift()
  timings.firstAppliedAt ??= t1
  timings.lastTs = state.ts
  document.body.dataset.applied = String(timings.applied)
}

function live (text: string, cls: 'live' | 'down' | ''): void {
  const el = document.getElementById('live') as HTMLElement
  el.textContent = text
  el.className = `pill ${cls}`
}

function connect (): void {
  // an agent's state needs the token to read (EventSource cannot send headers: it goes in the query)
  const events = new EventSource(token === undefined ? 'api/events' : `api/events?token=${encodeURIComponent(token)}`)
  events.addEventListener('open', () => { live('live', 'live') })
  events.addEventListener('state', (e) => { apply(JSON.parse((e as MessageEvent<string>).data) as DashboardState) })
  events.addEventListener('bye', () => {
    events.close()
    live('node stopped', 'down')
  })
  events.addEventListener('error', () => { if (events.readyState !== EventSource.CLOSED) live('reconnecting…', 'down') })
}

setupInspector()
legend()
const auth = document.getElementById('auth') as HTMLElement
auth.textContent = token === undefined ? 'read-only: no token in URL' : 'actions enabled'
auth.title = token === undefined ? 'open the URL the node printed (it ends in #token=…) to approve or reject' : 'the token from the URL authorizes approvals'
fetch('api/state', token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
  .then(async r => {
    if (r.status === 401) { live('open the URL the node printed (with its #token)', 'down'); throw new Error('unauthorized') }
    return r.json() as Promise<DashboardState>
  })
  .then(apply, () => { if (document.getElementById('live')?.textContent !== 'open the URL the node printed (with its #token)') live('unreachable', 'down') })
connect()
