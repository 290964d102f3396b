/**
 * The audio step of the demo scenarios: a human joins a session by voice
 * (protocols/media), hears the far side's agent and is heard, while the
 * transcript so far is in front of them. There is no microphone in a demo,
 * so each side speaks a tone (the human 440 Hz, the agent 880 Hz) and the
 * far end detects it, frame by frame.
 */
import type { Agent } from '../agent/agent.js'
import type { Session } from '../session/session.js'
import type { Call } from '../media/calls.js'
import type { ReceivedFrame } from '../media/frame.js'
import { playTone, toneShare } from '../media/tone.js'
import type { ScenarioContext } from './scenario.js'

/** The human's tone, Hz. */
export const HUMAN_TONE = 440
/** The agent's tone, Hz. */
export const AGENT_TONE = 880
/** Frames each side speaks: one second. */
const FRAMES = 50

/** What the audio step established. */
export interface VoiceOutcome {
  /** ms from the join to both legs open. */
  openMs: number
  /** The codec the leg used. */
  codec: string
  /** Share of the human's frames the agent heard (after the first 200 ms). */
  agentHeard: number
  /** Share of the agent's frames the human heard. */
  humanHeard: number
  /** Who was on the line, as each side verified the other. */
  parties: { human: string, agent: string }
}

/** A human on the line: {@link leave} ends the audio, the session goes on. */
export interface OnTheLine extends VoiceOutcome {
  /** Leaves the audio (a signed `media/leave`); the session goes on. */
  leave: () => Promise<void>
}

/**
 * `side`'s human joins `session` (its session with `agent`) by voice, as
 * `joining: 'human'`; both speak for a second and each hears the other.
 * Resolves once that is done, with the line still open.
 */
export async function joinByVoice (ctx: ScenarioContext, side: Agent, session: Session, agent: Agent, who: string): Promise<OnTheLine> {
  const incoming = new Promise<Call>(resolve => { agent.media.addEventListener('call', (e) => { resolve(e.detail) }, { once: true }) })
  const t0 = performance.now()
  const call = await side.media.join(session, { joining: 'human' })
  const theirs = await incoming
  await theirs.leg.opened()
  const openMs = performance.now() - t0
  const remote = theirs.remote.handle === undefined ? theirs.remote.peer : `@${theirs.remote.handle}`
  const far = call.remote.handle === undefined ? call.remote.peer : `@${call.remote.handle}`
  ctx.say(`🎙  ${who} joins the same session by voice (${call.codec}, audio open in ${openMs.toFixed(0)} ms; offer and answer signed, DTLS fingerprints checked): on the line with ${far} (${call.remote.kind}), the transcript so far in front of them`)
  const atAgent: ReceivedFrame[] = []
  const atHuman: ReceivedFrame[] = []
  theirs.leg.addEventListener('frame', (e) => { atAgent.push(e.detail) })
  call.leg.addEventListener('frame', (e) => { atHuman.push(e.detail) })
  await Promise.all([playTone(call.leg, HUMAN_TONE, FRAMES), playTone(theirs.leg, AGENT_TONE, FRAMES)])
  await new Promise(resolve => setTimeout(resolve, 200))
  const agentHeard = toneShare(atAgent, HUMAN_TONE, FRAMES)
  const humanHeard = toneShare(atHuman, AGENT_TONE, FRAMES)
  ctx.say(`🔊  ${who} speaks (a ${HUMAN_TONE} Hz tone stands in for a voice: ${far} hears ${(100 * agentHeard).toFixed(0)} % of it) and hears ${far}'s agent (${AGENT_TONE} Hz: ${(100 * humanHeard).toFixed(0)} %)`)
  return {
    openMs,
    codec: call.codec,
    agentHeard,
    humanHeard,
    parties: { human: remote, agent: far },
    leave: async () => {
      await side.media.leave(session)
      ctx.say(`📴  ${who} leaves the audio; the session goes on`)
    }
  }
}
