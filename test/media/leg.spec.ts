/**
 * Two audio legs in one process over loopback, each its own native
 * node-datachannel peer connection: a 440 Hz tone one way and 880 Hz the
 * other, detected by Goertzel at the far end, for Opus and for PCMU; a
 * forged fingerprint refused with ERR_MEDIA_FINGERPRINT and the leg torn
 * down; 5 % of RTP dropped on arrival degrading the audio without errors
 * and showing in the statistics and the far side's RTCP.
 */
import { expect } from 'chai'
import { createAudioLeg } from '../../src/media/leg.js'
import type { AudioLeg, AudioLegOptions } from '../../src/media/leg.js'
import type { CodecName } from '../../src/media/codec.js'
import type { ReceivedFrame } from '../../src/media/frame.js'
import { detectTone, toneFrames } from '../../src/media/tone.js'
import { MediaError } from '../../src/media/errors.js'
import { isRtcp } from '../../src/media/rtp.js'

const legs: AudioLeg[] = []

function leg (options: AudioLegOptions): AudioLeg {
  const l = createAudioLeg({ bindAddress: '127.0.0.1', ...options })
  legs.push(l)
  return l
}

async function connect (caller: AudioLeg, callee: AudioLeg): Promise<number> {
  const offer = await caller.offer()
  const started = performance.now()
  const answer = await callee.answer(offer.sdp, offer.fingerprint)
  await Promise.all([caller.accept(answer.sdp, answer.fingerprint), callee.opened()])
  return performance.now() - started
}

/** Sends `frames` 20 ms frames of a tone in real time. */
async function play (from: AudioLeg, frequency: number, frames: number): Promise<void> {
  const codec = from.codec
  if (codec === undefined) throw new Error('no codec')
  const tone = toneFrames({ frequency, sampleRate: codec.sampleRate })
  const start = performance.now()
  let sent = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      while (sent < frames && sent * 20 <= performance.now() - start) {
        from.send(tone.next().value)
        sent++
      }
      if (sent >= frames) {
        clearInterval(timer)
        resolve()
      }
    }, 5)
  })
}

/** The share of frames sent after the first 200 ms in which the far end detects `frequency`. */
function detectionRate (received: ReceivedFrame[], frequency: number, frames: number): number {
  const detected = new Set<number>()
  for (const f of received) {
    const index = Math.round(f.timestamp / 20)
    if (index >= 10 && index < frames && detectTone(f.samples, f.sampleRate, frequency)) detected.add(index)
  }
  return detected.size / (frames - 10)
}

function collect (l: AudioLeg): ReceivedFrame[] {
  const out: ReceivedFrame[] = []
  l.addEventListener('frame', (e) => { out.push(e.detail) })
  return out
}

describe('media: audio legs over loopback', function () {
  this.timeout(60_000)

  after(() => {
    for (const l of legs) l.close()
  })

  for (const codec of ['opus', 'pcmu'] as const satisfies readonly CodecName[]) {
    it(`${codec}: 440 Hz one way and 880 Hz the other are detected in ≥ 90 % of the frames after the first 200 ms`, async () => {
      const caller = leg({ label: `caller-${codec}`, codecs: [codec], rtcpIntervalMs: 300 })
      const human = leg({ label: `human-${codec}`, rtcpIntervalMs: 300 })
      const openMs = await connect(caller, human)
      expect(caller.codec?.name).to.equal(codec)
      expect(human.codec?.name).to.equal(codec)
      const atHuman = collect(human)
      const atCaller = collect(caller)
      const frames = 100
      await Promise.all([play(caller, 440, frames), play(human, 880, frames)])
      await new Promise(resolve => setTimeout(resolve, 200))
      const toHuman = detectionRate(atHuman, 440, frames)
      const toCaller = detectionRate(atCaller, 880, frames)
      const stats = [caller.stats(), human.stats()]
      console.log(`      ${codec}: open ${openMs.toFixed(1)} ms (caller ${stats[0]?.openMs?.toFixed(1)}, human ${stats[1]?.openMs?.toFixed(1)}); 440 Hz detected in ${(100 * toHuman).toFixed(1)} %, 880 Hz in ${(100 * toCaller).toFixed(1)} %; jitter ${stats[1]?.jitterMs.toFixed(2)} ms; RTCP sent ${stats[0]?.rtcpSent}/${stats[1]?.rtcpSent}; playout ${stats[1]?.playoutDelayMs} ms, concealed/stretched/skipped ${stats[1]?.framesConcealed}/${stats[1]?.framesStretched}/${stats[1]?.framesSkipped}, late ${stats[1]?.drops.late}`)
      expect(toHuman).to.be.at.least(0.9)
      expect(toCaller).to.be.at.least(0.9)
      // the wrong tone is not what arrives
      expect(detectionRate(atHuman, 880, frames)).to.be.below(0.05)
      for (const s of stats) {
        expect(s.packetsSent).to.equal(frames)
        expect(s.packetsReceived).to.equal(frames)
        expect(s.packetsLost).to.equal(0)
        // nothing malformed or foreign; a packet may come late when the machine is busy (it is concealed)
        const { late, ...others } = s.drops
        expect(Object.values(others).reduce((a, b) => a + b, 0)).to.equal(0)
        expect(late).to.be.at.most(frames * 0.05)
        expect(s.rtcpSent).to.be.at.least(1)
        expect(s.senderReportsReceived).to.be.at.least(1)
      }
      caller.close()
      human.close()
    })
  }

  it('frames() hands out the played frames and ends when the leg closes', async () => {
    const caller = leg({ label: 'caller-iter', codecs: ['pcmu'], sampleRate: 48000 })
    const human = leg({ label: 'human-iter' })
    await connect(caller, human)
    const reading = (async () => {
      const got: ReceivedFrame[] = []
      for await (const f of human.frames()) got.push(f)
      return got
    })()
    await play(caller, 440, 20)
    await new Promise(resolve => setTimeout(resolve, 150))
    human.close()
    const got = await reading
    expect(got.length).to.be.at.least(18)
    expect(got.filter(f => !f.concealed).every(f => f.sampleRate === 8000 && f.samples.length === 160)).to.equal(true)
    caller.close()
  })

  it('the caller sending 48 kHz over PCMU is resampled, and a leg asked for 48 kHz gets 48 kHz', async () => {
    const caller = leg({ label: 'caller-rs', codecs: ['pcmu'] })
    const human = leg({ label: 'human-rs', sampleRate: 48000 })
    await connect(caller, human)
    const atHuman = collect(human)
    const tone = toneFrames({ frequency: 440, sampleRate: 48000 })
    const start = performance.now()
    for (let i = 0; i < 30; i++) {
      while (performance.now() - start < 20 * i) await new Promise(resolve => setTimeout(resolve, 2))
      caller.send(tone.next().value)
    }
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(atHuman.every(f => f.sampleRate === 48000 && f.samples.length === 960)).to.equal(true)
    expect(detectionRate(atHuman, 440, 30)).to.be.at.least(0.9)
    caller.close()
    human.close()
  })

  it('a forged fingerprint is refused with ERR_MEDIA_FINGERPRINT and the leg is torn down', async () => {
    const caller = leg({ label: 'caller-forged' })
    const human = leg({ label: 'human-forged' })
    const offer = await caller.offer()
    const forged = offer.fingerprint.replace(/^[0-9A-F]{2}/, (b) => (b === 'AA' ? 'BB' : 'AA'))
    // the signed fingerprint is not the SDP's
    const refused = await human.answer(offer.sdp, forged).then(() => undefined, (err: unknown) => err)
    expect(refused).to.be.instanceOf(MediaError).with.property('code', 'ERR_MEDIA_FINGERPRINT')
    expect(human.state).to.equal('closed')
    expect(human.error?.code).to.equal('ERR_MEDIA_FINGERPRINT')
    // on the offerer's side too
    const other = leg({ label: 'human-honest' })
    const answer = await other.answer(offer.sdp, offer.fingerprint)
    const refusedToo = await caller.accept(answer.sdp, forged).then(() => undefined, (err: unknown) => err)
    expect(refusedToo).to.be.instanceOf(MediaError).with.property('code', 'ERR_MEDIA_FINGERPRINT')
    expect(caller.state).to.equal('closed')
    other.close()
  })

  it('an SDP whose fingerprint was swapped along with the signed one: the certificate presented is refused with ERR_MEDIA_FINGERPRINT', async () => {
    const caller = leg({ label: 'caller-swapped', connectTimeoutMs: 5000 })
    const human = leg({ label: 'human-swapped', connectTimeoutMs: 5000 })
    const offer = await caller.offer()
    const forged = offer.fingerprint.replace(/^[0-9A-F]{2}/, (b) => (b === 'AA' ? 'BB' : 'AA'))
    const tampered = offer.sdp.replace(offer.fingerprint, forged)
    const answer = await human.answer(tampered, forged)
    const outcomes = await Promise.all([
      caller.accept(answer.sdp, answer.fingerprint).then(() => 'open', (err: MediaError) => err.code),
      human.opened().then(() => 'open', (err: MediaError) => err.code)
    ])
    console.log(`      swapped fingerprint: caller ${outcomes[0]}, human ${outcomes[1]}`)
    // the human's side checks the certificate the caller presented against the (forged) signed one
    expect(outcomes[1]).to.equal('ERR_MEDIA_FINGERPRINT')
    expect(human.state).to.equal('closed')
    caller.close()
  })

  it('5 % RTP loss degrades the audio without errors and shows in the stats and the far side\'s RTCP', async () => {
    let state = 15
    const random = (): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31
      return state / 2 ** 31
    }
    let dropped = 0
    const caller = leg({ label: 'caller-loss', codecs: ['opus'], rtcpIntervalMs: 300 })
    const human = leg({
      label: 'human-loss',
      rtcpIntervalMs: 300,
      receiveFilter: (packet) => {
        if (isRtcp(packet) || random() >= 0.05) return true
        dropped++
        return false
      }
    })
    await connect(caller, human)
    const atHuman = collect(human)
    const frames = 150
    await play(caller, 440, frames)
    await new Promise(resolve => setTimeout(resolve, 700))
    const rate = detectionRate(atHuman, 440, frames)
    const stats = human.stats()
    const remote = caller.stats().remote
    console.log(`      5 % loss: ${dropped} of ${frames} dropped; lost ${stats.packetsLost}, concealed ${stats.framesConcealed}; 440 Hz detected in ${(100 * rate).toFixed(1)} %; caller hears via RTCP: ${JSON.stringify(remote)}`)
    expect(dropped).to.be.greaterThan(0)
    expect(stats.drops.filtered).to.equal(dropped)
    expect(stats.packetsLost).to.equal(dropped)
    expect(stats.framesConcealed).to.be.at.least(dropped - 1)
    expect(rate).to.be.at.least(0.85)
    expect(remote?.packetsLost).to.be.greaterThan(0)
    expect(human.state).to.equal('open')
    caller.close()
    human.close()
  })

  it('closing one leg closes the other (RTCP BYE)', async () => {
    const caller = leg({ label: 'caller-leave' })
    const human = leg({ label: 'human-leave' })
    await connect(caller, human)
    const closed = new Promise<MediaError | null>((resolve) => { caller.addEventListener('close', (e) => { resolve(e.detail) }) })
    const t0 = performance.now()
    human.close()
    const reason = await closed
    console.log(`      the far side closed ${(performance.now() - t0).toFixed(1)} ms after the BYE`)
    expect(reason).to.equal(null)
    expect(caller.state).to.equal('closed')
    expect(caller.send({ samples: new Int16Array(960), sampleRate: 48000, timestamp: 0 })).to.equal(false)
  })
})
