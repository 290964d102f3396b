/**
 * A synthetic {@link DashboardSource}: a relay with `n` agents and humans,
 * links of every transport, handle records, sessions with messages (one
 * refused), a negotiation waiting on a pending approval. For loading the
 * page with a mesh larger than one machine can run, and for driving the
 * panels the relay source leaves empty. Deterministic (seeded).
 */
import type {
  ApprovalView, DashboardSource, DashboardState, HandleView, LinkView, NegotiationView, PeerView, SessionView, Transport
} from '../../src/dashboard/types.js'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** A small deterministic PRNG (mulberry32). */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class SyntheticSource implements DashboardSource {
  readonly self: string
  readonly agents: Array<{ peer: string, handle: string, kind: 'agent' | 'human' }>
  readonly #random: () => number
  readonly #listeners = new Set<() => void>()
  readonly #extraLinks = new Map<string, LinkView>()
  readonly #sessions: SessionView[] = []
  readonly #negotiations: NegotiationView[] = []
  readonly #approvals: ApprovalView[] = []
  readonly #started = Date.now() - 3_600_000
  #ticks = 0
  /** Decisions received through `decide`, in order. */
  readonly decisions: Array<{ id: string, decision: string, reply?: string }> = []

  constructor (n: number, seed = 1) {
    this.#random = rng(seed)
    this.self = this.#peerId()
    this.agents = Array.from({ length: n }, (_, i) => ({
      peer: this.#peerId(),
      handle: i === 0 ? 'rapidplumb' : i === 1 ? 'alice' : `agent-${String(i).padStart(3, '0')}`,
      kind: i === 1 || i % 7 === 3 ? 'human' : 'agent'
    }))
    const now = Date.now()
    // some direct WebRTC connections and relayed circuits between agents
    for (let i = 0; i < Math.floor(n * 0.6); i++) this.#addRandomLink()
    const [a, b] = [this.agents[0], this.agents[1]]
    if (a !== undefined && b !== undefined) {
      const session: SessionView = {
        id: 'sess-1',
        remote: { peer: b.peer, handle: b.handle, kind: 'human' },
        direction: 'inbound',
        transport: 'webrtc',
        opened: now - 60_000,
        messages: []
      }
      this.#sessions.push(session)
      this.#message(session, 'in', 'request', 'quote', 1, true, { job: 'leaking tap' })
      this.#message(session, 'out', 'response', undefined, 1, true, { price: 180, currency: 'GBP' })
      this.#message(session, 'in', 'notification', 'message', undefined, 'ERR_BAD_SIGNATURE', { text: 'deposit £80' })
      const terms = { job: 'leaking tap', price: 180, currency: 'GBP', date: '2026-11-21' }
      this.#negotiations.push({
        id: 'neg-1',
        subject: 'leaking tap',
        parties: [{ peer: a.peer, handle: a.handle }, { peer: b.peer, handle: b.handle }],
        state: 'negotiating',
        seq: 2,
        terms,
        transitions: [
          { seq: 1, type: 'propose', by: b.peer, ts: now - 50_000, hash: 'b3f1c0a9d2e47a51c6e0f8a2' },
          { seq: 2, type: 'counter', by: a.peer, ts: now - 40_000, hash: '9c2d44e1a0b7f3c8d5e6a1b2' }
        ]
      })
      this.#approvals.push({
        id: 'appr-1', created: now - 30_000, peer: b.peer, handle: b.handle, method: 'negotiation/accept',
        summary: 'Accept @rapidplumb\'s quote: leaking tap, 21 Nov', amount: { value: 180, currency: 'GBP' }, status: 'pending'
      })
    }
  }

  #peerId (): string {
    let s = '12D3KooW'
    for (let i = 0; i < 44; i++) s += B58[Math.floor(this.#random() * B58.length)]
    return s
  }

  #addRandomLink (): void {
    const n = this.agents.length
    if (n < 2) return
    const x = this.agents[Math.floor(this.#random() * n)]
    const y = this.agents[Math.floor(this.#random() * n)]
    if (x === undefined || y === undefined || x === y) return
    const transport: Transport = this.#random() < 0.6 ? 'webrtc' : 'circuit'
    const link: LinkView = transport === 'circuit'
      ? { from: x.peer, to: y.peer, transport, source: 'reservation', via: this.self }
      : { from: x.peer, to: y.peer, transport, source: 'presence' }
    this.#extraLinks.set(`${x.peer}|${y.peer}|${transport}`, link)
  }

  #message (session: SessionView, dir: 'in' | 'out', type: 'request' | 'response' | 'notification', method: string | undefined, rpcId: number | undefined, verified: true | string, payload: unknown): void {
    const envelopeId = `env-${session.id}-${session.messages.length + 1}`
    session.messages.push({
      dir, ts: Date.now(), type, ...(method === undefined ? {} : { method }), ...(rpcId === undefined ? {} : { rpcId }), envelopeId, verified,
      envelope: { v: 1, id: envelopeId, ts: Date.now(), from: { peer: dir === 'in' ? session.remote.peer : this.self }, body: { jsonrpc: '2.0', ...(method === undefined ? {} : { method }), ...(rpcId === undefined ? {} : { id: rpcId }), [type === 'response' ? 'result' : 'params']: payload }, nonce: 'x'.repeat(22), sig: 'synthetic' }
    })
  }

  /** Changes something, as a live mesh would: a link comes or goes, a message arrives. */
  tick (): void {
    this.#ticks++
    const keys = [...this.#extraLinks.keys()]
    if (keys.length > 0 && this.#random() < 0.5) this.#extraLinks.delete(keys[Math.floor(this.#random() * keys.length)] ?? '')
    else this.#addRandomLink()
    const session = this.#sessions[0]
    if (session !== undefined) this.#message(session, this.#ticks % 2 === 0 ? 'in' : 'out', 'notification', 'progress', undefined, true, { tick: this.#ticks })
    this.#emit()
  }

  #emit (): void {
    for (const l of this.#listeners) l()
  }

  state (): DashboardState {
    const now = Date.now()
    const peers: PeerView[] = this.agents.map(a => ({
      peer: a.peer, handle: a.handle, kind: a.kind, verified: true, sources: ['connection', 'reservation', 'dht', 'presence'],
      presence: { status: 'valid', capabilities: a.kind === 'agent' ? ['quote'] : [], ts: now, handle: a.handle, kind: a.kind }
    }))
    const links: LinkView[] = [
      ...this.agents.map((a, i): LinkView => ({ from: this.self, to: a.peer, transport: i % 5 === 4 ? 'websocket' : 'tcp', source: 'connection', direction: 'inbound' })),
      ...this.#extraLinks.values()
    ]
    const handles: HandleView[] = this.agents.map(a => ({ handle: a.handle, peer: a.peer, kind: a.kind, expires: now + 86_400_000, seq: 1_795_000_000_000, verified: true }))
    return {
      node: { peer: this.self, role: 'relay', addrs: ['/ip4/127.0.0.1/tcp/4001/p2p/' + this.self], started: this.#started },
      peers,
      links,
      handles,
      sessions: structuredClone(this.#sessions),
      negotiations: structuredClone(this.#negotiations),
      approvals: structuredClone(this.#approvals),
      relay: { reservations: this.agents.length, circuits: [...this.#extraLinks.values()].filter(l => l.transport === 'circuit').length, bytes: { in: 1_234_567 + this.#ticks * 1000, out: 2_345_678 + this.#ticks * 900 }, rejectedRecords: { ERR_HANDLE_TAKEN: 2, ERR_BAD_SIGNATURE: 1 } },
      metrics: { connections: this.agents.length, links: links.length, circuits: [...this.#extraLinks.values()].filter(l => l.transport === 'circuit').length, messages: this.#sessions[0]?.messages.length ?? 0 },
      ts: now
    }
  }

  onChange (listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async decide (id: string, decision: 'approve' | 'reject', reply?: string): Promise<void> {
    const approval = this.#approvals.find(a => a.id === id)
    if (approval === undefined) throw Object.assign(new Error(`no approval ${id}`), { code: 'ERR_UNKNOWN_APPROVAL' })
    if (approval.status !== 'pending') throw Object.assign(new Error(`approval ${id} is ${approval.status}`), { code: 'ERR_ALREADY_DECIDED' })
    this.decisions.push({ id, decision, ...(reply === undefined ? {} : { reply }) })
    approval.status = decision === 'approve' ? 'approved' : 'rejected'
    const negotiation = this.#negotiations[0]
    if (negotiation !== undefined) {
      negotiation.seq++
      negotiation.state = decision === 'approve' ? 'confirmed' : 'rejected'
      negotiation.transitions.push({ seq: negotiation.seq, type: decision === 'approve' ? 'accept' : 'reject', by: this.agents[1]?.peer ?? '', ts: Date.now(), hash: 'e7a90c3b51d2f4a6b8c0d1e2' })
      if (decision === 'approve') negotiation.agreement = { terms: negotiation.terms, signatures: { [this.agents[0]?.peer ?? '']: 'sig-a', [this.agents[1]?.peer ?? '']: 'sig-b' } }
    }
    this.#emit()
  }
}
