/**
 * The Node side of the browser voice test: an agent (`createAgent`, as an
 * application embeds it) that, when a human joins one of its sessions by
 * voice, records what it hears and answers with an 880 Hz tone, speaking
 * JSON lines on stdout:
 *
 * - `ready` (peer, handle), `session` (a caller, as verified), `call` (the
 *   far side, who joins, the codec, ms to open), `call:end`, `heard` and
 *   `reply` / `error` for commands;
 * - commands on stdin: `{"cmd":"heard","frequency":440,"skipMs":200,"ms":2000}`
 *   waits until the current call has been open `skipMs + ms` (or, with
 *   `since: "now"`, that long from now) and says in what share of the frames
 *   played out in that window `frequency` was detected;
 *   `{"cmd":"join"}` joins the latest caller's session by voice (the agent
 *   offers, the tab answers); `{"cmd":"forge"}` sends it a signed join
 *   whose fingerprint is not its SDP's; `{"cmd":"ping"}` pings it;
 *   `{"cmd":"raw-answer","sdp":…,"fingerprint":…}` answers an offer with a
 *   leg of its own, outside any session (a codec check), `raw-close` closes it.
 */
import { createInterface } from 'node:readline'
import { createAgent, createAudioLeg, detectTone, RpcError, toneFrames } from '../../src/agent/index.js'
import type { Call, MediaLeg, Session } from '../../src/agent/index.js'

function print (event: string, detail: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...detail }) + '\n')
}

interface Heard { at: number, samples: Int16Array, sampleRate: number, concealed: boolean }

const agent = await createAgent({ relays: [process.env.PARLEY_RELAY ?? ''], handle: process.env.HANDLE ?? 'voicebot' })
let latest: Session | undefined
let current: { leg: MediaLeg, openedAt: number, heard: Heard[] } | undefined

agent.addEventListener('session', (e) => {
  latest = e.detail
  print('session', { from: e.detail.remote, session: e.detail.id })
})

/** Records what the far side says and plays 880 Hz to it in real time until the leg closes. */
function onCall (call: Call, joinedAt: number): void {
  carry(call.leg, joinedAt, { remote: call.remote, joining: call.joining, codec: call.codec })
}

/** `onCall` for any leg: `call` (with `detail`) once open, then 880 Hz out, frames in. */
function carry (leg: MediaLeg, joinedAt: number, detail: object): void {
  const heard: Heard[] = []
  leg.addEventListener('frame', (e) => { heard.push({ at: performance.now(), samples: e.detail.samples, sampleRate: e.detail.sampleRate, concealed: e.detail.concealed }) })
  void leg.opened().then(() => {
    const openedAt = performance.now()
    current = { leg, openedAt, heard }
    print('call', { ...detail, openMs: Math.round(openedAt - joinedAt) })
    const call = { leg }
    const rate = leg.codec?.sampleRate ?? 48_000
    const tone = toneFrames({ frequency: 880, sampleRate: rate })
    let sent = 0
    const timer = setInterval(() => {
      while (sent * 20 <= performance.now() - openedAt) { call.leg.send(tone.next().value); sent++ }
    }, 5)
    call.leg.addEventListener('close', (c) => {
      clearInterval(timer)
      print('call:end', { error: c.detail?.code ?? null, framesHeard: heard.length, framesSent: sent })
    }, { once: true })
  }, (err: Error) => { print('error', { cmd: 'call', message: err.message }) })
}

await agent.start()
agent.media.addEventListener('call', (e) => { onCall(e.detail, performance.now()) })
print('ready', { peer: agent.peerId, handle: agent.handleName })

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  void (async () => {
    const c = JSON.parse(line) as { cmd: string, frequency?: number, skipMs?: number, ms?: number, since?: string, sdp?: string, fingerprint?: string }
    try {
      if (c.cmd === 'heard') {
        const call = current
        if (call === undefined) throw new Error('no call')
        const start = (c.since === 'now' ? performance.now() : call.openedAt) + (c.skipMs ?? 200)
        const end = start + (c.ms ?? 2000)
        while (performance.now() < end + 100) await new Promise(resolve => setTimeout(resolve, 50))
        const window = call.heard.filter(h => h.at >= start && h.at < end)
        const hits = window.filter(h => detectTone(h.samples, h.sampleRate, c.frequency ?? 440)).length
        const peak = window.reduce((m, h) => Math.max(m, ...Array.from(h.samples, Math.abs)), 0)
        print('heard', { frequency: c.frequency, frames: window.length, hits, concealed: window.filter(h => h.concealed).length, share: window.length === 0 ? 0 : hits / window.length, peak })
      } else if (c.cmd === 'join') {
        if (latest === undefined) throw new Error('no caller yet')
        const t0 = performance.now()
        const call = await agent.media.join(latest)
        onCall(call, t0)
        print('reply', { cmd: c.cmd, result: { codec: call.codec, joining: call.joining } })
      } else if (c.cmd === 'leave') {
        if (latest === undefined) throw new Error('no caller yet')
        await agent.media.leave(latest)
        print('reply', { cmd: c.cmd, result: null })
      } else if (c.cmd === 'forge') {
        // a signed media/join whose fingerprint is not its SDP's
        if (latest === undefined) throw new Error('no caller yet')
        const leg = createAudioLeg({ label: 'forger' })
        try {
          const offer = await leg.offer()
          const forged = offer.fingerprint.split(':').map((b, i) => i === 0 ? (b === 'AA' ? 'BB' : 'AA') : b).join(':')
          const err = await latest.request('media/join', { leg: 'forged-00001', joining: 'agent', sdp: offer.sdp, fingerprint: forged, codecs: ['opus', 'pcmu'] }).then(() => undefined, (e: unknown) => e)
          print('reply', { cmd: c.cmd, result: err instanceof RpcError ? { code: err.code, data: err.data ?? null } : String(err) })
        } finally {
          leg.close()
        }
      } else if (c.cmd === 'raw-answer') {
        // a leg outside any session (the codec interop check): answers the SDP given
        const leg = createAudioLeg({ label: 'raw' })
        const t0 = performance.now()
        const answer = await leg.answer(c.sdp ?? '', c.fingerprint ?? '')
        carry(leg, t0, { codec: leg.codec?.name })
        print('reply', { cmd: c.cmd, result: answer })
      } else if (c.cmd === 'raw-close') {
        current?.leg.close()
        print('reply', { cmd: c.cmd, result: null })
      } else if (c.cmd === 'ping') {
        if (latest === undefined) throw new Error('no caller yet')
        print('reply', { cmd: c.cmd, result: await latest.request('ping') })
      } else {
        throw new Error(`unknown command ${c.cmd}`)
      }
    } catch (err) {
      print('error', { cmd: c.cmd, message: (err as Error).message })
    }
  })()
})
lines.on('close', () => { void agent.stop().then(() => process.exit(0)) })
process.once('SIGTERM', () => { void agent.stop().then(() => process.exit(0)) })
