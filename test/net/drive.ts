/**
 * Driving two agent processes (node-proc.ts `agent`) through what the fault
 * tests and the `net` bench check: a session by handle and its WebRTC
 * upgrade, a 9-turn exchange, a negotiation. Each step waits for the
 * agents' JSON-line answers and throws on a wrong or missing one.
 */
import { randomBytes, createHash } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { Event, Proc } from './proc.js'

let tags = 0
const nextTag = (): string => `t${++tags}`

/** Sends `command` with a fresh tag and waits for the event answering it (`error` throws). */
export async function ask (p: Proc, command: Record<string, unknown>, answer: string, ms = 60_000): Promise<Event> {
  const tag = nextTag()
  const since = p.events.length
  p.send({ ...command, tag })
  const e = await p.waitFor(e => e.tag === tag && (e.event === answer || e.event === 'error'), ms, since)
  if (e.event === 'error') throw new Error(`${p.name} ${String(command.cmd)}: ${String(e.message)}`)
  return e
}

/** A one-line description of an ICE candidate pair from a `direct` event. */
export function pathText (path: unknown): string {
  const p = path as { local?: { type: string, address?: string, port?: number }, remote?: { type: string, address?: string, port?: number } } | null
  if (p?.local === undefined || p.remote === undefined) return 'candidate pair unknown'
  return `${p.local.type} ${p.local.address ?? '?'}:${p.local.port ?? '?'} -> ${p.remote.type} ${p.remote.address ?? '?'}:${p.remote.port ?? '?'}`
}

export interface Opened {
  /** Until `connect` resolved: resolved by handle, dialled through the relay, hellos exchanged. */
  sessionMs: number
  /** Until the `direct` or `relayed` event, from the start. */
  outcomeMs: number
  direct: boolean
  /** The caller's `direct` or `relayed` event. */
  outcome: Event
}

/** `a` opens a session to `to` and waits for its outcome: upgraded to WebRTC (`direct`) or left on the relay. */
export async function open (a: Proc, to: string, ms = 60_000): Promise<Opened> {
  const since = a.events.length
  const t0 = Date.now()
  a.send({ cmd: 'connect', to })
  const connected = await a.waitFor(e => (e.event === 'connected' && e.to === to) || e.event === 'error', ms, since)
  if (connected.event === 'error') throw new Error(`${a.name} connect ${to}: ${String(connected.message)}`)
  const sessionMs = Date.now() - t0
  const outcome = await a.waitFor(e => e.event === 'direct' || e.event === 'relayed', ms, since)
  return { sessionMs, outcomeMs: Date.now() - t0, direct: outcome.event === 'direct', outcome }
}

export interface Exchanged {
  /** Each turn's round trip as its requester timed it (ms). */
  turnMs: number[]
  /** The 9 turns end to end, as this process saw them (ms, including the JSON-line hops). */
  totalMs: number
  /** Whether each turn's session was on a relayed connection. */
  relayed: Array<boolean | null>
}

/**
 * `turns` signed `turn` requests, one after another, alternating direction
 * (odd turns `a` → `b`, even turns `b` → `a`), each with a fresh payload
 * whose echo, digest and answering agent are checked; `payloadBytes` pads
 * each payload to that length (it travels both ways: asked, and echoed).
 */
export async function exchange (a: Proc, aTo: string, b: Proc, bTo: string, options: { turns?: number, payloadBytes?: number, ms?: number } = {}): Promise<Exchanged> {
  const { turns = 9, payloadBytes = 0, ms = 60_000 } = options
  const turnMs: number[] = []
  const relayed: Array<boolean | null> = []
  const t0 = performance.now()
  for (let turn = 1; turn <= turns; turn++) {
    const [from, to] = turn % 2 === 1 ? [a, aTo] : [b, bTo]
    const head = `${turn}:${randomBytes(24).toString('base64url')}`
    const payload = head.length >= payloadBytes ? head : head + randomBytes(payloadBytes).toString('base64url').slice(0, payloadBytes - head.length)
    const answer = await ask(from, { cmd: 'request', to, method: 'turn', params: { turn, payload } }, 'answer', ms)
    const expected = { turn, echo: payload, digest: createHash('sha256').update(payload).digest('hex'), by: to.replace(/^@/, '') }
    if (!isDeepStrictEqual(answer.result, expected)) throw new Error(`turn ${turn}: ${JSON.stringify(answer.result)}, expected ${JSON.stringify(expected)}`)
    turnMs.push(Number(answer.ms))
    relayed.push(answer.relayed as boolean | null)
  }
  return { turnMs, totalMs: performance.now() - t0, relayed }
}

export interface Negotiated {
  id: string
  ms: number
  /** The negotiation (`toJSON()`) as each side holds it. */
  a: Record<string, unknown>
  b: Record<string, unknown>
}

/** Waits until `p` has applied a transition of `type` on negotiation `id`. */
async function applied (p: Proc, id: string, type: string, ms: number): Promise<Event> {
  return p.waitFor(e => e.event === 'transition' && e.negotiation === id && e.type === type, ms)
}

/**
 * `a` proposes to `b` (`aTo`), `b` counters, `a` accepts: each move waited
 * for on both sides, then both copies read back.
 */
export async function negotiate (a: Proc, aTo: string, b: Proc, ms = 60_000): Promise<Negotiated> {
  const t0 = Date.now()
  const job = { type: 'commerce.job', service: 'call-out', job: 'leaking kitchen tap', window: '2026-11-23 14:00-16:00' }
  const proposed = await ask(a, { cmd: 'propose', to: aTo, subject: 'plumbing call-out', terms: { ...job, price: { value: 150, currency: 'GBP' } } }, 'moved', ms)
  const id = String(proposed.negotiation)
  await Promise.all([applied(a, id, 'propose', ms), applied(b, id, 'propose', ms)])
  await ask(b, { cmd: 'move', negotiation: id, kind: 'counter', terms: { ...job, price: { value: 180, currency: 'GBP' }, deposit: { value: 20, currency: 'GBP' } } }, 'moved', ms)
  await Promise.all([applied(a, id, 'counter', ms), applied(b, id, 'counter', ms)])
  await ask(a, { cmd: 'move', negotiation: id, kind: 'accept' }, 'moved', ms)
  await Promise.all([applied(a, id, 'accept', ms), applied(b, id, 'accept', ms)])
  const elapsed = Date.now() - t0
  const [na, nb] = await Promise.all([ask(a, { cmd: 'show', negotiation: id }, 'negotiation', ms), ask(b, { cmd: 'show', negotiation: id }, 'negotiation', ms)])
  return { id, ms: elapsed, a: na.negotiation as Record<string, unknown>, b: nb.negotiation as Record<string, unknown> }
}
