/**
 * `npm run bench -- --only media`: a human joining a session by voice.
 *
 * 1. From "human joins" (`agent.media.join(session)` called) to the first
 *    audio frame the human's node plays out, over sessions that went relay
 *    then WebRTC on loopback: signed offer and answer over the session, ICE
 *    and DTLS on the leg's own peer connection, the agent's first packet and
 *    the jitter buffer's playout delay. Beside it, the floor: two bare legs in
 *    one process (no session, no signatures), offer to first frame.
 * 2. Mouth-to-ear of the pipeline without a network: a frame handed to
 *    `send()` (resample if needed, encode, packetize, SRTP) until the far
 *    leg plays it out (SRTP, jitter buffer, decode), on loopback, per codec.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { startRelayProcess } from '../helpers/relay-process.js'
import type { RelayProcess } from '../helpers/relay-process.js'
import { LOOPBACK_RTC } from '../helpers/peer.js'
import { createAgent, createAudioLeg, toneFrames } from '../../src/agent/index.js'
import type { Agent, AudioLeg, CodecName, MediaLeg, PcmFrame } from '../../src/agent/index.js'
import { fmt, mdTable, msStats } from './harness.js'

/** Speaks a tone on `leg` every 20 ms until it closes or `stop` is called. */
function speak (leg: MediaLeg, frequency: number): () => void {
  const rate = leg.codec?.sampleRate ?? 48_000
  const tone = toneFrames({ frequency, sampleRate: rate })
  const start = performance.now()
  let sent = 0
  const timer = setInterval(() => {
    while (sent * 20 <= performance.now() - start) {
      try { leg.send(tone.next().value) } catch { clearInterval(timer); return }
      sent++
    }
  }, 5)
  leg.addEventListener('close', () => { clearInterval(timer) }, { once: true })
  return () => { clearInterval(timer) }
}

/** Resolves with performance.now() at the first frame `leg` plays out. */
async function firstFrame (leg: MediaLeg): Promise<number> {
  return new Promise(resolve => { leg.addEventListener('frame', () => { resolve(performance.now()) }, { once: true }) })
}

async function joinToFirstFrame (sessions: number): Promise<{ joinMs: number[], openMs: number[], failures: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-media-'))
  let relay: RelayProcess | undefined
  const agents: Agent[] = []
  const out = { joinMs: [] as number[], openMs: [] as number[], failures: [] as string[] }
  try {
    relay = await startRelayProcess({ dataDir: join(dir, 'relay'), minPowBits: 0 })
    const options = { relays: [relay.tcp.toString()], powBits: 0, minPowBits: 0, rtcConfiguration: LOOPBACK_RTC }
    const run = Date.now().toString(36)
    const agent = await createAgent({ ...options, handle: `bench-voice-${run}` })
    const human = await createAgent({ ...options, kind: 'human', handle: `bench-human-${run}` })
    agents.push(agent, human)
    await agent.start()
    await human.start()
    // the agent answers a human who joins by speaking at once (a stand-in for its text-to-speech)
    agent.media.addEventListener('call', (e) => {
      const leg = e.detail.leg
      void leg.opened().then(() => { speak(leg, 880) }, () => {})
    })
    for (let i = 0; i < sessions; i++) {
      try {
        const direct = new Promise<void>((resolve, reject) => {
          human.addEventListener('direct', () => { resolve() }, { once: true })
          human.addEventListener('relayed', (e) => { reject(new Error(`stayed relayed: ${e.detail.reason}`)) }, { once: true })
        })
        const session = await human.connect(`@${agent.handleName ?? ''}`)
        await direct
        const t0 = performance.now()
        const call = await human.media.join(session)
        const opened = performance.now()
        const heard = await firstFrame(call.leg)
        out.openMs.push(opened - t0)
        out.joinMs.push(heard - t0)
        await human.media.leave(session)
        await session.close()
      } catch (err) {
        out.failures.push((err as Error).message)
      }
      // the next session starts on the relay again
      await human.libp2p.hangUp(peerIdFromString(agent.peerId)).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  } finally {
    for (const a of agents) await a.close().catch(() => {})
    await relay?.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
  return out
}

async function legPair (codec: CodecName): Promise<[AudioLeg, AudioLeg]> {
  const caller = createAudioLeg({ bindAddress: '127.0.0.1', codecs: [codec], label: `bench-caller-${codec}` })
  const callee = createAudioLeg({ bindAddress: '127.0.0.1', label: `bench-callee-${codec}` })
  const offer = await caller.offer()
  const answer = await callee.answer(offer.sdp, offer.fingerprint)
  await Promise.all([caller.accept(answer.sdp, answer.fingerprint), callee.opened()])
  return [caller, callee]
}

/** Two bare legs, offer to the first frame played out (the floor under the session's signalling). */
async function bareFirstFrame (n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const caller = createAudioLeg({ bindAddress: '127.0.0.1', label: 'bench-bare-caller' })
    const callee = createAudioLeg({ bindAddress: '127.0.0.1', label: 'bench-bare-callee' })
    try {
      const offer = await caller.offer()
      const answer = await callee.answer(offer.sdp, offer.fingerprint)
      void callee.opened().then(() => { speak(callee, 880) }, () => {})
      const heard = firstFrame(caller)
      await caller.accept(answer.sdp, answer.fingerprint)
      out.push(await heard - t0)
    } finally {
      caller.close()
      callee.close()
    }
  }
  return out
}

/** Mouth-to-ear on loopback: each frame from `send()` to its playout at the far leg, after a second to settle. */
async function mouthToEar (codec: CodecName, frames: number): Promise<number[]> {
  const [caller, callee] = await legPair(codec)
  try {
    const rate = caller.codec?.sampleRate ?? 48_000
    const sentAt = new Map<number, number>()
    const latency: number[] = []
    callee.addEventListener('frame', (e) => {
      const index = Math.round(e.detail.timestamp / 20)
      const at = sentAt.get(index)
      if (at !== undefined && index >= 50 && !e.detail.concealed) latency.push(performance.now() - at)
    })
    const tone = toneFrames({ frequency: 440, sampleRate: rate })
    const start = performance.now()
    let sent = 0
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        while (sent < frames && sent * 20 <= performance.now() - start) {
          const frame: PcmFrame = tone.next().value
          sentAt.set(sent, performance.now())
          caller.send(frame)
          sent++
        }
        if (sent >= frames) { clearInterval(timer); resolve() }
      }, 2)
    })
    await new Promise(resolve => setTimeout(resolve, 300))
    return latency
  } finally {
    caller.close()
    callee.close()
  }
}

export async function benchMedia (quick: boolean): Promise<string> {
  const sessions = quick ? 5 : 20
  const joined = await joinToFirstFrame(sessions)
  const bare = await bareFirstFrame(quick ? 5 : 20)
  const frames = quick ? 150 : 500
  const m2e = { opus: await mouthToEar('opus', frames), pcmu: await mouthToEar('pcmu', frames) }
  const row = (what: string, samples: number[], target = ''): string[] => {
    const s = msStats(samples)
    return [what, String(s.n), fmt(s.p50), fmt(s.p90), fmt(s.max), target]
  }
  const j = msStats(joined.joinMs)
  const e = msStats(m2e.opus)
  return [
    `### Human joins → first audio frame (${sessions} sessions, each relay then WebRTC, loopback)\n`,
    mdTable(['what', 'n', 'p50 ms', 'p90 ms', 'max ms', 'target'], [
      row('Parley: `media.join(session)` → the first frame played out at the human', joined.joinMs, `p50 < 150 ms: ${j.p50 < 150 ? 'met' : 'MISSED'}`),
      row('Parley: `media.join(session)` resolved (leg open, fingerprints checked)', joined.openMs),
      row('floor: two bare legs in one process, offer → first frame', bare)
    ]),
    '',
    `Each session: a human-kind agent connects to an agent by handle through a \`parley relay\` child process on 127.0.0.1 and waits for the session's direct WebRTC connection; then \`media.join\` (offer and answer in signed envelopes on the session, ICE gathered, no trickle), while the agent, on its \`call\` event, speaks as soon as its leg is open (a tone stands in for text-to-speech); the time is to the first frame the human's leg plays out (after the jitter buffer's playout delay, 60 ms to start with). Then both leave, and the connections are hung up so the next session starts on the relay again.${joined.failures.length > 0 ? ` Failures: ${joined.failures.join('; ')}.` : ''}`,
    '',
    `### Mouth-to-ear of the pipeline, no network (loopback, ${frames} frames of 20 ms, the first second left out)\n`,
    mdTable(['codec', 'frames', 'p50 ms', 'p90 ms', 'max ms', 'target'], [
      row('Opus (48 kHz)', m2e.opus, `< 60 ms: ${e.p50 < 60 ? 'met' : 'MISSED'} (p50)`),
      row('PCMU (8 kHz)', m2e.pcmu)
    ]),
    '',
    'From `leg.send(frame)` (encode, RTP, SRTP) to the far leg playing the frame out (SRTP, jitter buffer with its adaptive playout delay, decode), two legs in one process on 127.0.0.1; concealed frames are left out. Most of it is the playout delay, which adapts to the arrival jitter (20–200 ms).'
  ].join('\n')
}
