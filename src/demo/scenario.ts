/** What a `parley demo` scenario is, and the helpers scenarios share. */
import type { Agent } from '../agent/agent.js'
import type { Session } from '../session/session.js'
import type { PendingApproval } from '../store/index.js'
import type { Negotiation } from '../negotiation/machine.js'
import type { Transition } from '../negotiation/transition.js'
import type { DemoMesh } from './mesh.js'
import type { Transcript } from './transcript.js'

/** What a scenario runs with. */
export interface ScenarioContext {
  /** The mesh to start its agents on; each one started is watched by the transcript. */
  mesh: DemoMesh
  /** The transcript being printed. */
  transcript: Transcript
  /** The narrator. */
  say: (text: string) => void
}

/** A scenario's result: what the tests check, and the lines printed at the end. */
export interface Outcome {
  /** One line per fact established (printed by `parley demo`). */
  facts: string[]
  [key: string]: unknown
}

/** One `parley demo` scenario. */
export interface Scenario {
  /** What `parley demo <name>` calls it, e.g. `book-plumber`. */
  name: string
  /** One line on what it shows. */
  summary: string
  /** Plays the scenario on a fresh mesh. */
  run: (ctx: ScenarioContext) => Promise<Outcome>
}

/** Resolves with the next approval `agent` asks its human about (or one already pending). */
export async function nextApproval (agent: Agent, timeoutMs = 10_000): Promise<PendingApproval> {
  const waiting = agent.pending()[0]
  if (waiting !== undefined) return waiting
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no approval asked of ${agent.handleName ?? agent.peerId}'s human within ${timeoutMs} ms`)) }, timeoutMs)
    agent.addEventListener('pending', (e) => { clearTimeout(timer); resolve(e.detail) }, { once: true })
  })
}

/**
 * Plays `agent`'s human: waits for the next approval it is asked for and
 * answers `decision` through the agent's API (as `parley approve` would).
 */
export async function decide (ctx: ScenarioContext, agent: Agent, decision: 'approve' | 'reject' = 'approve', options: { reply?: string } = {}): Promise<{ approval: PendingApproval, decision: 'approve' | 'reject' }> {
  const approval = await nextApproval(agent)
  const who = agent.handleName === undefined ? 'the human' : `@${agent.handleName}'s human`
  ctx.say(`⏸  ${who} is asked: ${approval.summary}`)
  if (decision === 'approve') await agent.approve(approval.id, options)
  else await agent.reject(approval.id, options)
  ctx.say(`${decision === 'approve' ? '✔' : '✘'}  ${who} ${decision === 'approve' ? 'approves' : 'rejects'} (signed decision bound to the held ${approval.subject.kind}'s hash)`)
  return { approval, decision }
}

/** Resolves when negotiation `id` on `agent` reaches a state in `states`. */
export async function settled (agent: Agent, id: string, states: readonly string[] = ['confirmed', 'rejected', 'cancelled', 'expired'], timeoutMs = 10_000): Promise<Negotiation> {
  const now = agent.negotiations.get(id)
  if (now !== undefined && states.includes(now.state)) return now
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`negotiation ${id} did not reach ${states.join('/')} within ${timeoutMs} ms (at ${agent.negotiations.get(id)?.state ?? 'unknown'})`)) }, timeoutMs)
    const listener = (e: CustomEvent<{ negotiation: Negotiation }>): void => {
      if (e.detail.negotiation.id === id && states.includes(e.detail.negotiation.state)) {
        clearTimeout(timer)
        agent.negotiations.removeEventListener('transition', listener)
        resolve(e.detail.negotiation)
      }
    }
    agent.negotiations.addEventListener('transition', listener)
  })
}

/** Resolves with the next transition `agent` receives from the other party. */
export async function nextMove (agent: Agent, timeoutMs = 10_000): Promise<{ negotiation: Negotiation, transition: Transition }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('no move received in time')) }, timeoutMs)
    const listener = (e: CustomEvent<{ negotiation: Negotiation, transition: Transition, by: 'local' | 'remote' }>): void => {
      if (e.detail.by !== 'remote') return
      clearTimeout(timer)
      agent.negotiations.removeEventListener('transition', listener)
      resolve(e.detail)
    }
    agent.negotiations.addEventListener('transition', listener)
  })
}

/** The session `agent` holds with `peer` (incoming or outgoing). */
export function sessionWith (agent: Agent, peer: string): Session {
  const s = [...agent.sessions].find(x => x.remotePeer === peer && !x.closed)
  if (s === undefined) throw new Error(`no session between ${agent.peerId} and ${peer}`)
  return s
}
