/**
 * The dashboard's panels. Each renders from its slice of the state and only
 * when that slice changed, so that open items, typed replies and scroll
 * positions survive the live updates.
 */
import type { ApprovalView, CardView, ContactView, DashboardState, HandleView, InboxView, NegotiationView, OutboxView, PeerView, RelayView, SessionView, MessageView, LinkView } from '../types.js'
import { bytes, empty, h, kindBadge, relative, renderIf, s, shortPeer, time, verifiedBadge } from './dom.js'
import { inspect } from './inspector.js'

export interface PanelContext {
  token: string | undefined
  selectPeer: (peer: string) => void
  /** Re-renders after a local change (an item opened, an action done). */
  refresh: () => void
}

function byId (id: string): HTMLElement {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`#${id} missing`)
  return el
}

function count (id: string, text: string): void {
  const el = document.getElementById(id)
  if (el !== null && el.textContent !== text) el.textContent = text
}

function who (peer: string, handle?: string): HTMLElement {
  return h('span', { title: peer }, handle !== undefined ? h('b', {}, `@${handle}`) : h('span', { class: 'mono' }, shortPeer(peer)))
}

// ---------------------------------------------------------------------------
// handle directory

export function renderHandles (handles: HandleView[], ctx: PanelContext): void {
  count('handles-count', `${handles.length} record${handles.length === 1 ? '' : 's'}, ${handles.filter(x => x.verified).length} verified`)
  renderIf(byId('handles'), JSON.stringify(handles.map(x => [x.handle, x.peer, x.seq, x.verified, x.reason, Math.round((x.expires - Date.now()) / 60_000)])), () => [
    handles.length === 0
      ? empty('No handle records known to this node.')
      : h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'handle'), h('th', {}, 'kind'), h('th', {}, 'peer'), h('th', {}, 'expires'), h('th', {}, 'seq'), h('th', {}, 'record'))),
        h('tbody', {}, ...handles.map(x => h('tr', { class: 'click', 'data-handle': x.handle, 'data-verified': String(x.verified), onclick: () => { ctx.selectPeer(x.peer) } },
          h('td', {}, h('b', {}, `@${x.handle}`)),
          h('td', {}, kindBadge(x.kind)),
          h('td', { class: 'mono', title: x.peer }, shortPeer(x.peer)),
          h('td', { title: new Date(x.expires).toISOString() }, relative(x.expires)),
          h('td', { class: 'mono' }, x.seq),
          h('td', {}, verifiedBadge(x.verified, x.reason))
        ))))
  ])
}

// ---------------------------------------------------------------------------
// sessions

const openSessions = new Set<string>()

function messageRow (m: MessageView, session: SessionView): HTMLElement {
  const label = m.method ?? (m.rpcId !== undefined ? `#${m.rpcId}` : '')
  return h('div', {
    class: 'msg',
    'data-envelope-id': m.envelopeId,
    'data-verified': String(m.verified === true),
    title: 'open in the inspector',
    onclick: () => { inspect(`Envelope ${m.envelopeId} (${m.dir === 'in' ? 'from' : 'to'} ${session.remote.handle !== undefined ? '@' + session.remote.handle : shortPeer(session.remote.peer)})`, m.envelope) }
  },
  h('span', { class: 'mono muted' }, time(m.ts)),
  h('span', { class: m.dir === 'in' ? 'dir-in' : 'dir-out', title: m.dir === 'in' ? 'received' : 'sent' }, m.dir === 'in' ? '←' : '→'),
  h('span', { class: 'badge plain' }, m.type),
  h('span', { class: 'mono' }, label, m.method !== undefined && m.rpcId !== undefined ? h('span', { class: 'muted' }, ` #${m.rpcId}`) : null),
  verifiedBadge(m.verified === true, m.verified === true ? undefined : m.verified))
}

export function renderSessions (sessions: SessionView[], ctx: PanelContext, role: 'relay' | 'agent' = 'relay'): void {
  const live = sessions.filter(x => x.closed === undefined).length
  count('sessions-count', `${live} open, ${sessions.length - live} closed`)
  const sorted = [...sessions].sort((a, b) => b.opened - a.opened)
  renderIf(byId('sessions'), JSON.stringify([sorted, [...openSessions]]), () => [
    sorted.length === 0
      ? empty(role === 'relay' ? 'No sessions on this node. (A relay carries sessions but cannot read them: open an agent\'s dashboard to see its own.)' : 'No sessions yet: they appear here as they open, in both directions.')
      : h('div', {}, ...sorted.map(x => {
        const open = openSessions.has(x.id)
        const bad = x.messages.filter(m => m.verified !== true).length
        return h('div', { class: `item${x.closed !== undefined ? ' closed' : ''}`, 'data-session': x.id },
          h('div', { class: 'row', onclick: () => { if (open) openSessions.delete(x.id); else openSessions.add(x.id); ctx.refresh() } },
            h('span', { class: 'muted' }, open ? '▾' : '▸'),
            who(x.remote.peer, x.remote.handle), kindBadge(x.remote.kind),
            h('span', { class: 'badge plain' }, x.direction),
            h('span', { class: `badge plain tr-${x.transport}` }, x.transport),
            h('span', { class: 'muted' }, `opened ${time(x.opened)}`, x.closed !== undefined ? `, closed ${time(x.closed)}` : ''),
            h('span', { class: 'muted' }, `${x.messages.length} message${x.messages.length === 1 ? '' : 's'}`),
            bad > 0 ? h('span', { class: 'badge bad' }, `${bad} refused`) : x.messages.length > 0 ? h('span', { class: 'badge ok' }, 'all verified') : null),
          open ? h('div', { class: 'timeline' }, ...(x.messages.length === 0 ? [empty('No messages yet.')] : x.messages.map(m => messageRow(m, x)))) : null)
      }))
  ])
}

// ---------------------------------------------------------------------------
// negotiations

const openNegotiations = new Set<string>()

export function renderNegotiations (negotiations: NegotiationView[], ctx: PanelContext): void {
  count('negotiations-count', `${negotiations.length}`)
  renderIf(byId('negotiations'), JSON.stringify([negotiations, [...openNegotiations]]), () => [
    negotiations.length === 0
      ? empty('No negotiations on this node.')
      : h('div', {}, ...negotiations.map(n => {
        const open = openNegotiations.has(n.id)
        const tone = n.state === 'confirmed' ? 'ok' : ['rejected', 'expired', 'cancelled'].includes(n.state) ? 'bad' : 'warn'
        return h('div', { class: 'item', 'data-negotiation': n.id, 'data-state': n.state },
          h('div', { class: 'row', onclick: () => { if (open) openNegotiations.delete(n.id); else openNegotiations.add(n.id); ctx.refresh() } },
            h('span', { class: 'muted' }, open ? '▾' : '▸'),
            h('b', {}, n.subject),
            ...n.parties.map(p => who(p.peer, p.handle)),
            h('span', { class: `badge ${tone}` }, n.state),
            h('span', { class: 'muted mono' }, `seq ${n.seq}`)),
          open
            ? h('div', { class: 'timeline' },
              h('div', { class: 'steps' }, ...n.transitions.flatMap((t, i) => [
                i > 0 ? h('span', { class: 'arrow' }, '→') : null,
                h('span', { class: `step${i === n.transitions.length - 1 ? ' current' : ''}`, title: `${t.type} by ${t.by} at ${new Date(t.ts).toISOString()}` }, `${t.seq}. ${t.type}`)
              ])),
              h('table', {},
                h('thead', {}, h('tr', {}, h('th', {}, 'seq'), h('th', {}, 'transition'), h('th', {}, 'by'), h('th', {}, 'at'), h('th', {}, 'hash'))),
                h('tbody', {}, ...n.transitions.map(t => h('tr', { class: 'click', onclick: () => { inspect(`Transition ${t.seq} of ${n.subject}`, t) } },
                  h('td', { class: 'mono' }, t.seq), h('td', {}, t.type), h('td', { class: 'mono', title: t.by }, shortPeer(t.by)), h('td', {}, time(t.ts)), h('td', { class: 'mono', title: t.hash }, t.hash.slice(0, 12)))))),
              h('div', { class: 'actions' },
                n.terms !== undefined ? h('button', { class: 'btn', onclick: () => { inspect(`Terms of ${n.subject}`, n.terms) } }, 'Terms') : null,
                n.agreement !== undefined ? h('button', { class: 'btn', 'data-agreement': n.id, onclick: () => { inspect(`Agreement: ${n.subject}`, n.agreement) } }, 'Agreement') : null))
            : null)
      }))
  ])
}

// ---------------------------------------------------------------------------
// approvals

const outcomes = new Map<string, string>()

async function decide (ctx: PanelContext, a: ApprovalView, decision: 'approve' | 'reject', reply: string): Promise<void> {
  outcomes.set(a.id, 'sending…')
  ctx.refresh()
  try {
    const res = await fetch(`api/approvals/${encodeURIComponent(a.id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.token ?? ''}` },
      body: JSON.stringify(reply === '' ? { decision } : { decision, reply })
    })
    const body = await res.json().catch(() => ({})) as { error?: string, code?: string }
    outcomes.set(a.id, res.ok ? `${decision === 'approve' ? 'approved' : 'rejected'} ✓` : `failed (${res.status}): ${body.code !== undefined ? body.code + ' ' : ''}${body.error ?? res.statusText}`)
  } catch (err) {
    outcomes.set(a.id, `failed: ${(err as Error).message}`)
  }
  ctx.refresh()
}

export function renderApprovals (approvals: ApprovalView[], ctx: PanelContext): void {
  const pending = approvals.filter(a => a.status === 'pending')
  count('approvals-count', `${pending.length} pending`)
  const sorted = [...pending, ...approvals.filter(a => a.status !== 'pending')]
  renderIf(byId('approvals'), JSON.stringify([sorted, [...outcomes]]), () => [
    sorted.length === 0
      ? empty('Nothing waiting for a human.')
      : h('div', {}, ...sorted.map(a => {
        const isPending = a.status === 'pending'
        const reply = h('input', { class: 'btn', placeholder: 'reply (optional)', size: 14, 'aria-label': 'reply' })
        const can = ctx.token !== undefined
        const title = can ? undefined : 'open the URL the node printed (with #token=…) to act'
        return h('div', { class: `approval${isPending ? ' pending' : ''}`, 'data-approval': a.id, 'data-status': a.status },
          h('div', {}, h('b', {}, a.method), ' ', who(a.peer, a.handle), ' ', h('span', { class: `badge ${isPending ? 'warn' : a.status === 'approved' || a.status === 'used' ? 'ok' : 'bad'}`, title: a.status === 'used' ? 'approved, and the held work went ahead' : '' }, a.status)),
          h('div', {}, a.summary),
          a.amount !== undefined ? h('div', {}, h('b', {}, `${a.amount.value} ${a.amount.currency}`)) : null,
          h('div', { class: 'muted' }, `asked ${relative(a.created)}`),
          isPending
            ? h('div', { class: 'actions' },
              h('button', { class: 'btn approve', 'data-action': 'approve', disabled: !can, title, onclick: () => { void decide(ctx, a, 'approve', reply.value) } }, 'Approve'),
              h('button', { class: 'btn reject', 'data-action': 'reject', disabled: !can, title, onclick: () => { void decide(ctx, a, 'reject', reply.value) } }, 'Reject'),
              reply)
            : null,
          outcomes.has(a.id) ? h('div', { class: 'outcome muted', 'data-outcome': a.id }, outcomes.get(a.id)) : null)
      }))
  ])
}

// ---------------------------------------------------------------------------
// the human's inbox, outbox and contacts (agents only: the cards go on a relay)

function hideUnless (cardId: string, shown: boolean): void {
  const card = document.getElementById(cardId)
  if (card !== null) card.hidden = !shown
}

export function renderInbox (inbox: InboxView[] | undefined): void {
  hideUnless('inbox-card', inbox !== undefined)
  if (inbox === undefined) return
  count('inbox-count', `${inbox.length}`)
  renderIf(byId('inbox'), JSON.stringify(inbox), () => [
    inbox.length === 0
      ? empty('No messages for the human.')
      : h('div', {}, ...inbox.map(m => h('div', { class: 'item inbox', 'data-message': m.id },
        h('div', {}, who(m.peer, m.handle), ' ', kindBadge(m.kind), m.urgency === 'high' ? h('span', { class: 'badge warn' }, 'urgent') : null,
          m.approval !== undefined ? h('span', { class: 'muted', title: `held for approval ${m.approval} first` }, ' held, then approved') : null,
          m.via === 'mail' ? h('span', { class: 'badge plain', 'data-via': 'mail', title: 'sealed, left at a relay while this agent was away' }, 'by mail') : null),
        h('div', { class: 'text' }, m.text),
        h('div', { class: 'muted' }, relative(m.at)))))
  ])
}

const OUTBOX_TONES: Record<OutboxView['status'], string> = { pending: 'warn', queued: 'plain', delivered: 'ok', read: 'ok', failed: 'bad' }
const OUTBOX_MEANS: Record<OutboxView['status'], string> = {
  pending: 'no relay has it yet: retrying',
  queued: 'left at the recipient\'s relays, waiting for it to come online',
  delivered: 'the recipient\'s agent has it (its receipt came)',
  read: 'the recipient read it (its receipt came)',
  failed: 'it will not be delivered'
}

export function renderOutbox (outbox: OutboxView[] | undefined): void {
  hideUnless('outbox-card', outbox !== undefined)
  if (outbox === undefined) return
  const waiting = outbox.filter(m => m.status === 'pending' || m.status === 'queued').length
  count('outbox-count', `${outbox.length} message${outbox.length === 1 ? '' : 's'}${waiting > 0 ? `, ${waiting} waiting` : ''}`)
  renderIf(byId('outbox'), JSON.stringify(outbox), () => [
    outbox.length === 0
      ? empty('No mail sent: messages to agents that are offline appear here until their receipts come.')
      : h('div', {}, ...outbox.map(m => h('div', { class: 'item outbox', 'data-outbox': m.id, 'data-status': m.status },
        h('div', {}, 'to ', who(m.to.peer, m.to.handle), ' ', h('span', { class: `badge ${OUTBOX_TONES[m.status] ?? 'plain'}`, 'data-field': 'status', title: OUTBOX_MEANS[m.status] ?? '' }, m.status)),
        h('div', { class: 'text' }, m.text),
        m.relays.length === 0
          ? null
          : h('div', { class: 'relays' }, h('span', { class: 'muted' }, 'at '), ...m.relays.map(r => h('span', {
            class: `badge ${r.state === 'stored' ? 'ok' : r.state === 'pending' ? 'plain' : 'bad'}`,
            'data-relay': r.relay,
            'data-state': r.state,
            title: `relay ${r.relay}: ${r.state}`
          }, h('span', { class: 'mono' }, shortPeer(r.relay)), r.state === 'stored' ? ' ✓' : ` ${r.state}`))),
        m.error !== undefined && (m.status === 'failed' || m.status === 'pending') ? h('div', { class: 'error', 'data-field': 'error' }, m.error) : null,
        h('div', { class: 'muted' }, `sent ${relative(m.created)}`,
          m.delivered !== undefined ? `, delivered ${relative(m.delivered)}` : '',
          m.read !== undefined ? `, read ${relative(m.read)}` : ''))))
  ])
}

const LEVELS = ['unknown', 'known', 'trusted'] as const
const trustOutcomes = new Map<string, string>()

/** The human sets a contact's level: the agent's control route (`POST api/trust`), with the page's token. */
async function setLevel (ctx: PanelContext, c: ContactView, level: number): Promise<void> {
  trustOutcomes.set(c.peer, 'sending…')
  ctx.refresh()
  try {
    const res = await fetch('api/trust', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.token ?? ''}` },
      body: JSON.stringify({ who: c.peer, level })
    })
    const body = await res.json().catch(() => ({})) as { error?: { code?: string, message?: string } }
    trustOutcomes.set(c.peer, res.ok ? `set to ${LEVELS[level] ?? level} ✓` : `failed (${res.status}): ${body.error?.code ?? ''} ${body.error?.message ?? res.statusText}`)
  } catch (err) {
    trustOutcomes.set(c.peer, `failed: ${(err as Error).message}`)
  }
  ctx.refresh()
}

export function renderCards (cards: CardView[] | undefined, ctx: PanelContext): void {
  hideUnless('cards-card', cards !== undefined)
  if (cards === undefined) return
  count('cards-count', `${cards.length} heard, ${cards.filter(c => c.verified === true).length} checked against their handle`)
  renderIf(byId('cards'), JSON.stringify(cards), () => [
    cards.length === 0
      ? empty('No Agent Cards heard yet (agents publish theirs with agent.publishCard()).')
      : h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'handle'), h('th', {}, 'name'), h('th', {}, 'skills'), h('th', {}, 'signer'), h('th', {}, 'expires'), h('th', {}, 'owner'))),
        h('tbody', {}, ...cards.map(c => h('tr', { class: 'click', 'data-card': c.handle, onclick: () => { ctx.selectPeer(c.peer) } },
          h('td', {}, h('b', {}, `@${c.handle}`)),
          h('td', {}, c.name),
          h('td', {}, c.skills.join(', ')),
          h('td', { class: 'mono', title: c.peer }, shortPeer(c.peer)),
          h('td', { title: new Date(c.expires).toISOString() }, relative(c.expires)),
          h('td', {}, c.verified === undefined ? h('span', { class: 'muted' }, 'not resolved') : verifiedBadge(c.verified, c.verified ? undefined : 'the handle is held by another peer'))
        ))))
  ])
}

export function renderContacts (contacts: ContactView[] | undefined, ctx: PanelContext): void {
  hideUnless('contacts-card', contacts !== undefined)
  if (contacts === undefined) return
  count('contacts-count', `${contacts.filter(c => c.level > 0).length} known or trusted`)
  const can = ctx.token !== undefined
  renderIf(byId('contacts'), JSON.stringify([contacts, [...trustOutcomes], can]), () => [
    contacts.length === 0
      ? empty('No contacts yet.')
      : h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'contact'), h('th', {}, 'trust'), h('th', {}, 'limits'), h('th', {}, 'set'), h('th', {}, 'change'))),
        h('tbody', {}, ...contacts.map(c => {
          const onchange = (e: Event): void => { void setLevel(ctx, c, Number((e.target as HTMLSelectElement).value)) }
          const select = h('select', { class: 'btn', 'data-action': 'trust', 'aria-label': 'trust level', disabled: !can, title: can ? 'only the human raises trust' : 'open the URL the node printed (with #token=…) to act', onchange },
            ...LEVELS.map((name, level) => h('option', { value: level, selected: level === c.level }, name)))
          return h('tr', { 'data-contact': c.peer, 'data-level': c.level },
            h('td', {}, who(c.peer, c.handle)),
            h('td', {}, h('span', { class: `badge ${c.level === 2 ? 'ok' : c.level === 1 ? 'warn' : ''}`, title: c.note ?? '' }, LEVELS[c.level])),
            h('td', { class: 'mono' }, c.limits?.maxAmount !== undefined ? `≤ ${c.limits.maxAmount} ${c.limits.currency ?? ''}` : ''),
            h('td', {}, c.updated === 0 ? h('span', { class: 'muted' }, 'never') : relative(c.updated)),
            h('td', {}, select, trustOutcomes.has(c.peer) ? h('div', { class: 'outcome muted', 'data-outcome': c.peer }, trustOutcomes.get(c.peer)) : null))
        })))
  ])
}

// ---------------------------------------------------------------------------
// relay

export function renderRelay (relay: RelayView | undefined, role: 'relay' | 'agent' = 'relay'): void {
  // an agent's dashboard has no relay to show: the card goes
  const card = document.getElementById('relay-card')
  if (card !== null) card.hidden = relay === undefined && role === 'agent'
  renderIf(byId('relay'), JSON.stringify(relay ?? null), () => {
    if (relay === undefined) return [empty('This node is not a relay.')]
    const reasons = Object.entries(relay.rejectedRecords).sort((a, b) => b[1] - a[1])
    return [
      h('dl', { class: 'kv' },
        h('dt', {}, 'reservations'), h('dd', { 'data-field': 'reservations' }, relay.reservations),
        h('dt', {}, 'circuits open'), h('dd', { 'data-field': 'circuits' }, relay.circuits),
        h('dt', {}, 'bytes relayed'), h('dd', {}, `${bytes(relay.bytes.in)} in · ${bytes(relay.bytes.out)} out`),
        h('dt', {}, 'records refused'), h('dd', {}, reasons.length === 0 ? 'none' : h('table', {}, h('tbody', {}, ...reasons.map(([r, n]) => h('tr', {}, h('td', { class: 'mono' }, r), h('td', {}, n)))))))
    ]
  })
}

// ---------------------------------------------------------------------------
// selected peer

export function renderPeer (state: DashboardState, peer: string | undefined): void {
  const view: PeerView | undefined = state.peers.find(p => p.peer === peer)
  const self = peer === state.node.peer
  const links: LinkView[] = peer === undefined ? [] : state.links.filter(l => l.from === peer || l.to === peer)
  renderIf(byId('peer'), JSON.stringify([peer, view, self ? state.node : null, links]), () => {
    if (peer === undefined) return [empty('Click a peer in the graph or a handle to see what is known about it.')]
    if (self) {
      const n = state.node
      return [h('dl', { class: 'kv' },
        h('dt', {}, 'this node'), h('dd', {}, kindBadge(n.role === 'relay' ? 'relay' : n.kind ?? 'agent'), ' ', n.handle !== undefined ? h('b', {}, `@${n.handle}`) : ''),
        h('dt', {}, 'peer'), h('dd', { class: 'mono' }, n.peer),
        h('dt', {}, 'started'), h('dd', {}, relative(n.started)),
        h('dt', {}, 'addresses'), h('dd', { class: 'mono' }, ...n.addrs.map(a => h('div', {}, a))))]
    }
    if (view === undefined) return [empty('No longer known.')]
    const p = view.presence
    return [h('dl', { class: 'kv' },
      h('dt', {}, 'peer'), h('dd', { class: 'mono' }, view.peer),
      h('dt', {}, 'handle'), h('dd', {}, view.handle !== undefined ? h('b', {}, `@${view.handle}`) : h('span', { class: 'muted' }, 'none verified')),
      h('dt', {}, 'kind'), h('dd', {}, kindBadge(view.kind), ' ', verifiedBadge(view.verified, view.verified ? undefined : 'not verified')),
      h('dt', {}, 'known from'), h('dd', {}, view.sources.join(', ')),
      h('dt', {}, 'links'), h('dd', {}, links.length === 0 ? 'none' : links.map(l => `${l.transport} (${l.source})`).join(', ')),
      ...(p === undefined
        ? []
        : [h('dt', {}, 'presence'), h('dd', { 'data-presence': p.status },
            h('span', { class: `badge ${p.status === 'valid' ? 'ok' : 'bad'}` }, p.status), ' ',
            p.reason !== undefined ? h('span', { class: 'mono' }, p.reason) : '',
            h('div', { class: 'muted' }, `claims ${p.handle !== undefined ? '@' + p.handle : 'no handle'}${p.kind !== undefined ? ', ' + p.kind : ''}; ${time(p.ts)}`),
            p.capabilities !== undefined && p.capabilities.length > 0 ? h('div', {}, 'capabilities: ', ...p.capabilities.map(c => h('span', { class: 'badge plain' }, c))) : '')]),
      h('dt', {}, ''), h('dd', {}, h('button', { class: 'btn', onclick: () => { inspect(`Peer ${shortPeer(view.peer)}`, { ...view, links }) } }, 'Inspect JSON')))]
  })
}

// ---------------------------------------------------------------------------
// metrics over time

const history = new Map<string, number[]>()
const HISTORY = 150

export function renderMetrics (metrics: Record<string, number>): void {
  for (const [name, value] of Object.entries(metrics)) {
    let series = history.get(name)
    if (series === undefined) { series = []; history.set(name, series) }
    series.push(value)
    if (series.length > HISTORY) series.shift()
  }
  const el = byId('metrics')
  const names = Object.keys(metrics)
  if (el.dataset.key !== names.join()) {
    el.dataset.key = names.join()
    el.replaceChildren(...names.map(name => {
      const line = s('polyline', {})
      const svg = s('svg', { viewBox: `0 0 ${HISTORY} 26`, preserveAspectRatio: 'none' })
      svg.append(line)
      return h('div', { class: 'spark', 'data-metric': name }, h('div', { class: 'name', title: name }, name.replace(/_/g, ' ')), h('div', { class: 'value' }), svg)
    }))
    if (names.length === 0) el.replaceChildren(empty('No metrics.'))
  }
  for (const node of el.querySelectorAll<HTMLElement>('.spark')) {
    const name = node.dataset.metric ?? ''
    const series = history.get(name) ?? []
    const value = series[series.length - 1] ?? 0
    const shown = Number.isInteger(value) ? String(value) : value.toFixed(1)
    const v = node.querySelector('.value')
    if (v !== null && v.textContent !== shown) v.textContent = shown
    const min = Math.min(...series)
    const max = Math.max(...series)
    const span = max - min || 1
    const x0 = HISTORY - series.length
    node.querySelector('polyline')?.setAttribute('points', series.map((y, i) => `${x0 + i},${(24 - (y - min) / span * 22).toFixed(1)}`).join(' '))
  }
}
