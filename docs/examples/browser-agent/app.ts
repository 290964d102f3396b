/**
 * A Parley agent in a browser tab, in plain DOM: it registers a handle on a
 * relay (its key and stores kept in IndexedDB, so a reload keeps both),
 * serves `ping` and `info/request`, calls other agents by handle, and shows
 * its sessions, their signed envelopes and its negotiations live, with the
 * human (whoever has the tab) approving what the policy holds. Started as a
 * person's tab (kind `human`: the checkbox, or `?kind=human`), it joins a
 * session by voice — the microphone out, the far side played back — with
 * Mute and Leave, showing who is on the line as the session verified them,
 * beside the session's transcript.
 *
 * Bundled by `serve.mjs` with esbuild for the browser: `parley-mesh` then
 * resolves to the package's browser entry, as it does for any app that
 * installed the package.
 *
 * @packageDocumentation
 */
import { BrowserAudioLeg, createAgent, infoRequestParams } from 'parley-mesh'
import type { Agent, Call, EnvelopeRecord, HandlerContext, HandlerParams, JsonRpcParams, JsonValue, Negotiation, Session, Terms } from 'parley-mesh'
import { byId, describeError, el, oneLine, short } from './dom.js'
import { privateDialReason } from './relay-address.js'

/** The IndexedDB database (`dataDir`) that keeps this tab's key, handle record and stores across reloads. */
const DATA_DIR = 'parley-example'
/** What the form remembers between visits. */
const SAVED = 'parley-example:form'

/** What the page exposes for tests and for poking at from the devtools console. */
interface ParleyExample {
  agent: Agent | undefined
  /** The open audio legs, by session id. */
  calls: Map<string, Call>
}
const exposed: ParleyExample = { agent: undefined, calls: new Map() }
;(globalThis as unknown as { parleyExample: ParleyExample }).parleyExample = exposed

let agent: Agent | undefined
/** Sessions this tab opened from the Call box, by target: reused while open. */
const outgoing = new Map<string, Session>()
/** The list item of each session on the page. */
const sessionItems = new Map<Session, HTMLLIElement>()
/** The session the Call box last used (its path is shown beside the reply). */
let callSession: Session | undefined
/** Where our own move on a negotiation stands when it did not go out at once: negotiation id → words. */
const moveNotes = new Map<string, string>()
/** Our held moves: approval id → negotiation id. */
const heldMoves = new Map<string, string>()

// ---- the start form --------------------------------------------------------------------------

const startForm = byId<HTMLFormElement>('start-form')
const relayInput = byId<HTMLInputElement>('relay')
const handleInput = byId<HTMLInputElement>('handle')
const humanInput = byId<HTMLInputElement>('human')
const gaterNote = byId('gater-note')
const startStatus = byId<HTMLOutputElement>('start-status')

function prefill (): void {
  let saved: { relay?: string, handle?: string, human?: boolean } = {}
  try { saved = JSON.parse(localStorage.getItem(SAVED) ?? '{}') as typeof saved } catch { /* nothing saved */ }
  relayInput.value = new URLSearchParams(location.search).get('relay') ?? saved.relay ?? ''
  handleInput.value = saved.handle ?? ''
  const kind = new URLSearchParams(location.search).get('kind')
  humanInput.checked = kind === null ? saved.human === true : kind === 'human'
  showGaterNote()
}

function showGaterNote (): void {
  const reason = privateDialReason(relayInput.value.trim())
  gaterNote.hidden = reason === undefined
  gaterNote.textContent = reason ?? ''
}

relayInput.addEventListener('input', showGaterNote)
startForm.addEventListener('submit', (e) => {
  e.preventDefault()
  void start(relayInput.value.trim(), handleInput.value.trim().replace(/^@/, ''), humanInput.checked)
})

async function start (relay: string, handle: string, human: boolean): Promise<void> {
  setBusy(startForm, true)
  clearError()
  document.body.dataset.state = 'starting'
  localStorage.setItem(SAVED, JSON.stringify({ relay, handle, human }))
  try {
    startStatus.value = 'loading this tab\'s key from IndexedDB (or creating one)…'
    const a = await createAgent({
      handle,
      relays: [relay],
      // a person's tab: its handle record says `human`, and it may bring its person onto a session by voice
      kind: human ? 'human' : 'agent',
      // a stored key keeps its kind: a person's tab has its own database
      dataDir: human ? `${DATA_DIR}-human` : DATA_DIR,
      dialPrivateAddresses: privateDialReason(relay) !== undefined,
      // announce this tab on the presence topic, so that a dashboard shows it (as a browser peer)
      presence: true
    })
    a.handle('info/request', answerInfo)
    wire(a)
    startStatus.value = `reserving on the relay and publishing @${handle} (a few hundred ms of proof of work)…`
    await a.start()
    agent = exposed.agent = a
    showRegistered(a, relay)
  } catch (err) {
    document.body.dataset.state = 'failed'
    startStatus.value = ''
    showError(err)
    setBusy(startForm, false)
  }
}

function showRegistered (a: Agent, relay: string): void {
  startStatus.value = `registered as @${a.handleName ?? ''}`
  byId('my-handle').textContent = `@${a.handleName ?? ''}`
  byId('peer-id').textContent = a.peerId
  byId('my-kind').textContent = a.identity.kind
  byId('my-relay').textContent = relay
  for (const id of ['me', 'call', 'sessions', 'negotiations', 'pending']) byId(id).hidden = false
  wireNegotiations(a)
  wireVoice(a)
  for (const n of a.negotiations.list()) renderNegotiation(n)
  renderPending()
  document.body.dataset.state = 'registered'
  addEventListener('pagehide', () => { void a.stop() })
}

// ---- what this tab serves ----------------------------------------------------------------------

/** `info/request`: topic `about` (this tab), `time` (its clock), anything else `null`. `ping` is served by every agent. */
function answerInfo (params: HandlerParams, { caller }: HandlerContext): JsonValue {
  const { topic } = infoRequestParams(params)
  if (topic === 'about') {
    return {
      topic,
      data: { handle: agent?.handleName ?? null, platform: 'browser', userAgent: navigator.userAgent, page: location.origin, askedBy: caller.handle ?? caller.peer },
      source: 'a browser tab'
    }
  }
  if (topic === 'time') return { topic, data: new Date().toISOString(), asOf: Date.now() }
  return { topic, data: null }
}

// ---- the agent's events --------------------------------------------------------------------------

function wire (a: Agent): void {
  a.addEventListener('session', (e) => { addSession(a, e.detail) })
  a.addEventListener('connected', (e) => { addSession(a, e.detail) })
  a.addEventListener('direct', (e) => { setPath(e.detail.session, 'direct', e.detail.path === undefined ? undefined : `${e.detail.path.local.type} → ${e.detail.path.remote.type}`) })
  a.addEventListener('relayed', (e) => { setPath(e.detail.session, 'relayed', `no direct path after ${e.detail.attempts} attempts: ${e.detail.reason}`) })
  a.addEventListener('pending', () => { renderPending() })
  a.addEventListener('outcome', (e) => {
    const { decision, result, reply } = e.detail
    showCallResult(`their human decided: ${decision}${reply === undefined ? '' : ` (“${reply}”)`}\n${JSON.stringify(result ?? null, null, 2)}`, decision === 'approve' ? 'ok' : 'error')
  })
}

/** Negotiation events come from the running node's negotiations, there once the agent has started. */
function wireNegotiations (a: Agent): void {
  const n = a.negotiations
  n.addEventListener('transition', (e) => {
    if (e.detail.by === 'local') moveNotes.delete(e.detail.negotiation.id)
    renderNegotiation(e.detail.negotiation)
  })
  n.addEventListener('expired', (e) => { renderNegotiation(e.detail.negotiation) })
}

// ---- sessions ------------------------------------------------------------------------------------

function addSession (a: Agent, session: Session): void {
  if (sessionItems.has(session)) return
  const remote = session.remote
  const who = remote.handle === undefined ? short(remote.peer) : `@${remote.handle}`
  const badge = el('span', { class: 'badge path', 'data-path': '' })
  const envelopes = el('ol', { class: 'envelopes', 'aria-label': `Envelopes with ${who}` })
  const li = el('li', { 'data-session': session.id ?? '', 'data-peer': remote.peer, 'data-direction': session.direction, 'data-remote-handle': remote.handle ?? '' },
    el('div', { class: 'head' },
      el('strong', {}, `${session.direction === 'inbound' ? 'from' : 'to'} ${who}`),
      badge,
      el('span', { class: 'muted mono', title: remote.peer }, `${remote.kind} · ${short(remote.peer)}`)),
    voiceBox(a, session),
    envelopes)
  sessionItems.set(session, li)
  byId('session-list').prepend(li)
  setPath(session, initialPath(a, session))

  // the method of each request, to name the response that answers it: `${dir}:${id}`
  const methods = new Map<string, string>()
  session.addEventListener('envelope', (e) => {
    try {
      envelopes.append(envelopeItem(e.detail, remote.handle, remote.peer, methods))
      envelopes.scrollTop = envelopes.scrollHeight
    } catch (err) {
      console.error('cannot show an envelope', err)
    }
  })
  session.addEventListener('close', () => {
    setPath(session, 'closed')
    const voice = li.querySelector<HTMLElement>('.voice')
    if (voice !== null) renderVoice(a, session, voice)
  })
}

/** `direct` when a connection to the peer without relay limits is open, else `relayed` (a session on a relay moves on `direct`). */
function initialPath (a: Agent, session: Session): string {
  const open = a.libp2p.getConnections().filter(c => c.remotePeer.toString() === session.remotePeer && c.status === 'open')
  return open.some(c => c.limits === undefined) ? 'direct' : 'relayed'
}

function setPath (session: Session, path: string, detail?: string): void {
  const badge = sessionItems.get(session)?.querySelector<HTMLElement>('.path')
  // the side that opened a session tries to move it onto WebRTC, and says `relayed` when it gives up
  const text = path === 'relayed' && detail === undefined && session.direction === 'outbound' ? 'relayed (trying direct…)' : path
  if (badge !== undefined && badge !== null) {
    badge.dataset.path = path
    badge.textContent = text
    badge.title = detail ?? ''
  }
  if (session === callSession) showCallPath(session, path, text, detail)
}

function envelopeItem (rec: EnvelopeRecord, handle: string | undefined, peer: string, methods: Map<string, string>): HTMLLIElement {
  const body = rec.body as Record<string, unknown> | undefined
  const id = body?.id as string | number | undefined
  let kind = 'frame'
  let method = ''
  let detail: unknown
  if (typeof body?.method === 'string') {
    kind = id === undefined ? 'notification' : 'request'
    method = body.method
    detail = body.params ?? {}
    if (id !== undefined) methods.set(`${rec.dir}:${id}`, method)
  } else if (body !== undefined && ('result' in body || 'error' in body)) {
    kind = 'error' in body ? 'error' : 'response'
    method = methods.get(`${rec.dir === 'in' ? 'out' : 'in'}:${String(id)}`) ?? ''
    detail = 'error' in body ? body.error : body.result
  }
  const verified = rec.verified === true
  const signer = rec.dir === 'out'
    ? 'signed by this tab'
    : verified ? `✓ signed by ${handle === undefined ? short(peer) : `@${handle}`}` : `✗ refused: ${String(rec.verified)}`
  return el('li', { 'data-dir': rec.dir, 'data-kind': kind, 'data-method': method, 'data-verified': String(verified), 'data-signer': rec.dir === 'in' && verified ? peer : '' },
    el('span', { 'aria-label': rec.dir === 'in' ? 'received' : 'sent' }, rec.dir === 'in' ? '↓' : '↑'),
    el('span', {}, kind),
    el('code', {}, method === '' ? '–' : method),
    el('span', { class: 'detail', title: JSON.stringify(detail) ?? '' }, `${signer} · ${detail === undefined ? `${rec.bytes.byteLength} bytes` : oneLine(detail)}`))
}

// ---- voice ---------------------------------------------------------------------------------------

/** Audio can join a session when a person is on one side of it (protocols/media §1). */
function voicePossible (a: Agent, session: Session): boolean {
  return a.identity.kind === 'human' || session.remote.kind === 'human'
}

/** The Join by voice / Mute / Leave controls of a session, and who is on the line. */
function voiceBox (a: Agent, session: Session): HTMLElement | undefined {
  if (!voicePossible(a, session)) return undefined
  const button = (label: string, action: string, cls: string, onClick: () => void): HTMLButtonElement => {
    const b = el('button', { type: 'button', class: cls, 'data-voice-action': action }, label)
    b.addEventListener('click', onClick)
    return b
  }
  const audio = el('audio', { autoplay: true })
  const box = el('div', { class: 'voice', 'data-voice': 'off', role: 'group', 'aria-label': 'Voice' },
    button('Join by voice', 'join', '', () => { void joinByVoice(a, session, box) }),
    button('Mute', 'mute', 'secondary', () => {
      const leg = a.media.call(session)?.leg
      if (!(leg instanceof BrowserAudioLeg)) return
      leg.mute(!leg.muted)
      renderVoice(a, session, box)
    }),
    button('Leave', 'leave', 'danger', () => { void a.media.leave(session).catch(showError) }),
    el('span', { class: 'on-line', 'aria-live': 'polite' }),
    audio)
  renderVoice(a, session, box)
  return box
}

async function joinByVoice (a: Agent, session: Session, box: HTMLElement): Promise<void> {
  clearError()
  box.dataset.voice = 'joining'
  renderVoice(a, session, box)
  try {
    const call = await a.media.join(session)
    exposed.calls.set(session.id ?? '', call)
  } catch (err) {
    showError(err)
  }
  renderVoice(a, session, box)
}

/** Shows the state of a session's audio: who is on the line (as the session verified the far side), muted or not; plays the far side. */
function renderVoice (a: Agent, session: Session, box: HTMLElement): void {
  const call = a.media.call(session)
  const joining = box.dataset.voice === 'joining' && call === undefined
  const leg = call?.leg
  const muted = leg instanceof BrowserAudioLeg && leg.muted
  box.dataset.voice = call !== undefined ? 'on' : joining ? 'joining' : 'off'
  box.dataset.muted = String(muted)
  const buttons = (action: string): HTMLButtonElement | null => box.querySelector<HTMLButtonElement>(`[data-voice-action="${action}"]`)
  const join = buttons('join')
  const mute = buttons('mute')
  const leave = buttons('leave')
  if (join !== null) join.disabled = call !== undefined || joining || session.closed
  if (mute !== null) { mute.disabled = !(leg instanceof BrowserAudioLeg); mute.textContent = muted ? 'Unmute' : 'Mute' }
  if (leave !== null) leave.disabled = call === undefined
  const line = box.querySelector<HTMLElement>('.on-line')
  const audio = box.querySelector('audio')
  if (call === undefined) {
    if (line !== null) {
      line.textContent = joining ? 'joining: asking for the microphone, then the far side…' : 'not on the line'
      delete line.dataset.remoteHandle
      delete line.dataset.remoteKind
    }
    if (audio !== null) audio.srcObject = null
    return
  }
  const r = call.remote
  if (line !== null) {
    // the far side as the session verified it (its signed handle record), and who speaks there
    line.dataset.remoteHandle = r.handle ?? ''
    line.dataset.remoteKind = r.kind
    line.dataset.remotePeer = r.peer
    line.textContent = `on the line: you (${call.joining.local}${muted ? ', muted' : ''}) and ✓ ${r.handle === undefined ? short(r.peer) : `@${r.handle}`} (${r.kind}${call.joining.remote !== r.kind ? `, ${call.joining.remote} speaking` : ''}) · ${call.codec}`
  }
  if (audio !== null && leg instanceof BrowserAudioLeg && audio.srcObject !== leg.remoteStream) {
    audio.srcObject = leg.remoteStream
    audio.play().catch(() => { /* autoplay refused until the person interacts: they clicked Join */ })
  }
}

function wireVoice (a: Agent): void {
  const refresh = (call: Call): void => {
    addSession(a, call.session)
    const box = sessionItems.get(call.session)?.querySelector<HTMLElement>('.voice')
    if (box !== null && box !== undefined) renderVoice(a, call.session, box)
  }
  a.media.addEventListener('call', (e) => {
    // the far side joined by voice: this tab answered with its microphone
    exposed.calls.set(e.detail.session.id ?? '', e.detail)
    refresh(e.detail)
  })
  a.media.addEventListener('call:end', (e) => {
    exposed.calls.delete(e.detail.session.id ?? '')
    refresh(e.detail)
  })
}

// ---- the Call box ---------------------------------------------------------------------------------

const callForm = byId<HTMLFormElement>('call-form')
const callResult = byId('call-result')

callForm.addEventListener('submit', (e) => {
  e.preventDefault()
  void call()
})

async function call (): Promise<void> {
  const a = agent
  if (a === undefined) return
  const raw = byId<HTMLInputElement>('call-to').value.trim()
  const target = raw.startsWith('@') || raw.startsWith('12D3') ? raw : `@${raw}`
  const method = byId<HTMLInputElement>('call-method').value.trim()
  let params: JsonValue
  try {
    params = JSON.parse(byId<HTMLTextAreaElement>('call-params').value.trim() || '{}') as JsonValue
  } catch (err) {
    showCallResult(`the params are not JSON: ${(err as Error).message}`, 'error')
    return
  }
  if (params === null || typeof params !== 'object') {
    showCallResult('the params must be a JSON object (or an array)', 'error')
    return
  }
  setBusy(callForm, true)
  showCallResult(`calling ${method} on ${target}…`, 'busy')
  try {
    let session = outgoing.get(target)
    if (session === undefined || session.closed) {
      session = await a.connect(target)
      outgoing.set(target, session)
    }
    callSession = session
    addSession(a, session)
    const badge = sessionItems.get(session)?.querySelector<HTMLElement>('.path')
    showCallPath(session, badge?.dataset.path ?? '', badge?.textContent ?? '', badge?.title)
    const reply = await session.request(method, params as JsonRpcParams)
    showCallResult(JSON.stringify(reply, null, 2), 'ok')
  } catch (err) {
    showCallResult(describeError(err), 'error')
  } finally {
    setBusy(callForm, false)
  }
}

function showCallResult (text: string, state: 'ok' | 'error' | 'busy'): void {
  callResult.textContent = text
  callResult.dataset.state = state
}

function showCallPath (session: Session, path: string, text: string, detail?: string): void {
  const node = byId('call-path')
  node.dataset.path = path
  node.textContent = `${text} (session with ${session.remote.handle === undefined ? short(session.remotePeer) : `@${session.remote.handle}`})`
  node.title = detail ?? ''
}

// ---- negotiations -------------------------------------------------------------------------------

const negotiationItems = new Map<string, HTMLLIElement>()

function renderNegotiation (n: Negotiation): void {
  const a = agent
  if (a === undefined) return
  const me = a.peerId
  const other = n.parties.find(p => p.peer !== me) ?? n.parties[1]
  const name = (peer: string): string => {
    if (peer === me) return 'you'
    const p = n.partyOf(peer)
    return p?.handle === undefined ? short(peer) : `@${p.handle}`
  }
  const turn = n.turn === undefined ? 'none' : n.turn === me ? 'mine' : 'theirs'
  const note = moveNotes.get(n.id)
  const transitions = el('ol', { class: 'transitions', start: '0', 'aria-label': 'Moves so far' },
    ...n.transitions.map(t => el('li', { 'data-type': t.type, 'data-by': t.by === me ? 'me' : 'them' },
      `${t.type} by ${name(t.by)}`,
      'terms' in t ? el('code', {}, ` ${oneLine(t.terms, 400)}`) : undefined,
      'reason' in t && t.reason !== undefined ? ` (“${t.reason}”)` : undefined)))
  const li = el('li', { 'data-negotiation': n.id, 'data-state': n.state, 'data-turn': turn },
    el('div', { class: 'head' },
      el('strong', {}, n.subject),
      el('span', {}, `with ${other.handle === undefined ? short(other.peer) : `@${other.handle}`}`),
      el('span', { class: 'badge state', 'data-state': n.state }, n.state),
      el('span', { class: 'muted turn' }, turn === 'mine' ? 'your move' : turn === 'theirs' ? 'their move' : 'over')),
    transitions,
    note === undefined ? undefined : el('p', { class: 'note move-note' }, note),
    turn === 'mine' && note === undefined ? moveControls(a, n) : undefined)
  const old = negotiationItems.get(n.id)
  negotiationItems.set(n.id, li)
  if (old !== undefined) old.replaceWith(li)
  else byId('negotiation-list').prepend(li)
}

function moveControls (a: Agent, n: Negotiation): HTMLElement {
  const terms = el('textarea', { rows: '2', spellcheck: 'false', 'aria-label': 'Counter-offer terms (JSON)' })
  terms.value = JSON.stringify(n.offer.terms)
  const button = (label: string, cls: string, onClick: () => void): HTMLButtonElement => {
    const b = el('button', { type: 'button', class: cls, 'data-move': label.toLowerCase() }, label)
    b.addEventListener('click', onClick)
    return b
  }
  const box = el('div', { class: 'moves' },
    el('label', {}, 'Counter-offer terms (JSON)', terms),
    button('Accept', '', () => { void move(a, n, 'accept') }),
    button('Counter', 'secondary', () => {
      let t: Terms
      try {
        t = JSON.parse(terms.value) as Terms
      } catch (err) {
        showError(new Error(`the counter-offer terms are not JSON: ${(err as Error).message}`))
        return
      }
      void move(a, n, 'counter', t)
    }),
    button('Reject', 'danger', () => { void move(a, n, 'reject') }))
  return box
}

async function move (a: Agent, n: Negotiation, kind: 'accept' | 'counter' | 'reject', terms?: Terms): Promise<void> {
  clearError()
  moveNotes.set(n.id, `sending your ${kind}…`)
  renderNegotiation(n)
  try {
    const result = await a.negotiations.move(n.id, kind, terms === undefined ? {} : { terms })
    if (result.status === 'held') {
      moveNotes.set(n.id, `your ${kind} waits for your approval (under Waiting for you): your policy holds what binds you with a contact you have not trusted`)
      if (result.approval !== undefined) heldMoves.set(result.approval, n.id)
    } else if (result.status === 'awaiting') {
      moveNotes.set(n.id, `your ${kind} went out and waits for their human`)
    } else {
      moveNotes.delete(n.id)
    }
  } catch (err) {
    moveNotes.delete(n.id)
    showError(err)
  }
  renderNegotiation(n)
  renderPending()
}

// ---- approvals -----------------------------------------------------------------------------------

function renderPending (): void {
  const a = agent
  if (a === undefined) return
  const list = byId('pending-list')
  list.replaceChildren(...a.pending().map(p => {
    const decide = (label: string, cls: string, approve: boolean): HTMLButtonElement => {
      const b = el('button', { type: 'button', class: cls, 'data-decision': approve ? 'approve' : 'reject' }, label)
      b.addEventListener('click', () => { void decideApproval(a, p.id, approve) })
      return b
    }
    return el('li', { 'data-approval': p.id, 'data-method': p.method },
      el('div', { class: 'head' },
        el('strong', {}, p.method),
        el('span', { class: 'muted' }, `${p.handle === undefined ? short(p.peer) : `@${p.handle}`} · ${new Date(p.created).toLocaleTimeString()}`)),
      el('p', {}, p.summary),
      el('div', { class: 'actions' }, decide('Approve', '', true), decide('Reject', 'danger', false)))
  }))
}

async function decideApproval (a: Agent, id: string, approve: boolean): Promise<void> {
  clearError()
  const item = byId('pending-list').querySelector(`[data-approval="${CSS.escape(id)}"]`)
  item?.querySelectorAll('button').forEach(b => { b.disabled = true })
  const negotiation = heldMoves.get(id)
  try {
    if (negotiation !== undefined) moveNotes.set(negotiation, approve ? 'approved: sending…' : 'declined by you')
    await (approve ? a.approve(id) : a.reject(id))
    if (negotiation !== undefined && !approve) moveNotes.delete(negotiation)
  } catch (err) {
    if (negotiation !== undefined) moveNotes.delete(negotiation)
    showError(err)
  }
  heldMoves.delete(id)
  renderPending()
  const n = negotiation === undefined ? undefined : a.negotiations.get(negotiation)
  if (n !== undefined) renderNegotiation(n)
}

// ---- page plumbing -------------------------------------------------------------------------------

function setBusy (form: HTMLFormElement, busy: boolean): void {
  form.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLTextAreaElement>('input, button, textarea').forEach(c => { c.disabled = busy })
  form.setAttribute('aria-busy', String(busy))
}

function showError (err: unknown): void {
  const node = byId('error')
  node.textContent = describeError(err)
  node.hidden = false
}

function clearError (): void {
  byId('error').hidden = true
}

prefill()
