/**
 * A readable transcript of a demo: every envelope an agent receives, with
 * the time since the scenario began, who spoke to whom, what was said, and
 * the verdict of the receiver's signature check; plus the narrator's lines.
 */
import type { Agent } from '../agent/agent.js'
import type { EnvelopeRecord, Session } from '../session/session.js'

/** Collects a demo's lines (narration and received envelopes) and prints each as it comes. */
export class Transcript {
  /** Every line so far. */
  readonly lines: string[] = []
  readonly #start = performance.now()
  readonly #print: (line: string) => void
  /** Envelopes received whose signature verified, over every watched agent. */
  verified = 0
  /** Envelopes received and refused (not verified), over every watched agent. */
  refused = 0

  constructor (print: (line: string) => void = () => {}) {
    this.#print = print
  }

  /** Milliseconds since the transcript began. */
  elapsed (): number { return performance.now() - this.#start }

  /** A narrator's line. */
  say (text: string): void { this.#add(`${this.#stamp()}  ${text}`) }

  /** Records what `agent` receives on every session from now on. */
  watch (agent: Agent): void {
    const self = agent.handleName === undefined ? agent.peerId.slice(-8) : `@${agent.handleName}`
    const attach = (session: Session): void => {
      session.addEventListener('envelope', (e) => { if (e.detail.dir === 'in') this.#envelope(self, session, e.detail) })
    }
    agent.addEventListener('session', (e) => { attach(e.detail) })
    agent.addEventListener('connected', (e) => { attach(e.detail) })
    for (const s of agent.sessions) attach(s)
  }

  #envelope (self: string, session: Session, r: EnvelopeRecord): void {
    const body = r.body as { method?: string, params?: unknown, result?: unknown, error?: { message: string } } | undefined
    if (body?.method?.startsWith('session/') === true) return
    if (r.verified === true) this.verified++
    else this.refused++
    const from = r.envelope?.from.handle === undefined ? session.remotePeer.slice(-8) : `@${r.envelope.from.handle}`
    const what = body === undefined
      ? 'unreadable frame'
      : body.method !== undefined
        ? `${body.method} ${short(transitionOf(body.params) ?? body.params)}`
        : body.error !== undefined ? `error: ${body.error.message}` : `→ ${short(body.result)}`
    this.#add(`${this.#stamp()}  ${from} → ${self}  ${what}  [sig ${r.verified === true ? '✓' : '✗ ' + r.verified}]`)
  }

  #stamp (): string { return `+${this.elapsed().toFixed(1).padStart(7)} ms` }

  #add (line: string): void {
    this.lines.push(line)
    this.#print(line)
  }
}

/** A negotiation transition in a request's params, summarised. */
function transitionOf (params: unknown): string | undefined {
  const t = (params as { transition?: { type?: string, seq?: number, terms?: unknown, reason?: string } } | undefined)?.transition
  if (t === undefined) return undefined
  return `${t.type ?? '?'} #${t.seq ?? '?'}${t.terms === undefined ? '' : ' ' + short(t.terms, 140)}${t.reason === undefined ? '' : ` (${t.reason})`}`
}

function short (value: unknown, max = 120): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? ''
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}
