/**
 * The receive path under a hostile or lossy far side, on a clock the test
 * drives: malformed RTP and RTCP are counted drops and never throw; a
 * flood of far-future sequence numbers leaves the jitter buffer bounded and
 * the real stream playing; reordering is undone; late and duplicate
 * packets are dropped; loss is concealed and shows in the statistics.
 */
import { expect } from 'chai'
import fc from 'fast-check'
import { JitterBuffer } from '../../src/media/jitter.js'
import { MediaReceiver } from '../../src/media/receiver.js'
import type { ReceivedFrame } from '../../src/media/frame.js'
import { MediaSender } from '../../src/media/sender.js'
import { buildRtp } from '../../src/media/rtp.js'
import { buildReceiverReport, buildSenderReport, compound } from '../../src/media/rtcp.js'
import { detectTone, toneFrames } from '../../src/media/tone.js'
import { MediaError } from '../../src/media/errors.js'

const LOCAL_SSRC = 0x11111111

/** A sender's first `count` packets of a 440 Hz tone and a receiver with a fixed 60 ms playout delay (unless `adaptive`). */
function setup (codec: 'opus' | 'pcmu' = 'pcmu', adaptive = false, count = 100): { sender: MediaSender, receiver: MediaReceiver, played: ReceivedFrame[], packets: Uint8Array[] } {
  const played: ReceivedFrame[] = []
  const sender = new MediaSender(codec, { ssrc: 0x22222222, sequence: 65500, timestamp: 0xfffff000 }) // both wrap within the test
  const receiver = new MediaReceiver({ codec, localSsrc: LOCAL_SSRC, adaptive, onFrame: (f) => { played.push(f) } })
  const tone = toneFrames({ frequency: 440, sampleRate: sender.codec.sampleRate })
  const packets = Array.from({ length: count }, () => sender.packetize(tone.next().value))
  return { sender, receiver, played, packets }
}

describe('media: receiver and jitter buffer', () => {
  it('plays 20 ms frames in order after the playout delay, undoing reordering', () => {
    const { receiver, played, packets } = setup()
    // pairs swapped: 1 0 3 2 5 4 …, each pair arriving 40 ms apart
    for (let i = 0; i < 100; i += 2) {
      const t = 20 * i
      receiver.receive(packets[i + 1] ?? new Uint8Array(), t)
      receiver.receive(packets[i] ?? new Uint8Array(), t + 1)
      receiver.tick(t + 1)
    }
    receiver.tick(2100)
    const stats = receiver.snapshot()
    expect(stats.packetsReceived).to.equal(100)
    expect(played.slice(0, 100).map(f => f.concealed)).to.not.include(true)
    const seqs = played.slice(0, 100).map(f => f.sequence)
    for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]! + 65536) % 65536).to.equal(1)
    expect(played.slice(0, 100).every(f => f.samples.length === 160 && f.sampleRate === 8000)).to.equal(true)
    expect(played[0]?.timestamp).to.equal(0)
    expect(played[99]?.timestamp).to.equal(99 * 20)
    expect(played.filter(f => detectTone(f.samples, 8000, 440)).length).to.be.at.least(99)
    // the playout started one delay after the first packet and stopped once nothing came
    expect(played.length).to.be.at.most(100 + 5)
    expect(stats.drops.late + stats.drops.duplicate).to.equal(0)
  })

  it('conceals lost packets, counts them, and reports the loss', () => {
    const { receiver, played, packets } = setup()
    for (let i = 0; i < 100; i++) {
      if (i % 20 === 7) continue // 5 % loss
      receiver.receive(packets[i]!, 20 * i)
      receiver.tick(20 * i)
    }
    receiver.tick(60 + 20 * 99) // the last frame's playout time: nothing concealed after the stream

    const stats = receiver.snapshot()
    expect(stats.packetsLost).to.equal(5)
    expect(stats.framesConcealed).to.equal(5)
    expect(played.filter(f => f.concealed).map(f => f.sequence)).to.have.length(5)
    const block = receiver.reportBlock(2100)
    expect(block?.packetsLost).to.equal(5)
    expect(block?.fractionLost).to.equal(Math.floor(5 * 256 / 100))
    expect(played.filter(f => detectTone(f.samples, 8000, 440)).length).to.be.at.least(95)
  })

  it('drops late and duplicate packets and counts them', () => {
    const { receiver, packets } = setup()
    for (let i = 0; i < 10; i++) {
      receiver.receive(packets[i]!, 20 * i)
      receiver.tick(20 * i)
    }
    receiver.receive(packets[9]!, 190) // duplicate, still buffered (the playout is at 6)
    receiver.receive(packets[2]!, 190) // played at 100 ms
    const { drops } = receiver.snapshot()
    expect(drops.duplicate).to.equal(1)
    expect(drops.late).to.equal(1)
  })

  it('never throws on malformed RTP or RTCP, and counts every drop by reason', () => {
    const { receiver, packets } = setup()
    const bad: Array<[Uint8Array, string]> = [
      [new Uint8Array(0), 'malformed-rtp'],
      [Uint8Array.of(0x80), 'malformed-rtp'],
      [Uint8Array.of(0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 'version'],
      [Uint8Array.of(0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), 'malformed-rtp'],
      [new Uint8Array(1501).fill(0x80), 'oversize'],
      [buildRtp({ marker: false, payloadType: 96, sequence: 1, timestamp: 0, ssrc: 0x22222222, payload: new Uint8Array(160) }), 'payload-type'],
      [buildRtp({ marker: false, payloadType: 0, sequence: 1, timestamp: 0, ssrc: 0x33333333, payload: new Uint8Array(160) }), 'ssrc'],
      [Uint8Array.of(0x80, 200, 0, 6, 0, 0, 0, 1), 'malformed-rtcp'],
      [Uint8Array.of(0x81, 201, 0, 1, 0, 0, 0, 1), 'malformed-rtcp'],
      [Uint8Array.of(0x40, 201, 0, 1, 0, 0, 0, 1), 'version']
    ]
    receiver.receive(packets[0]!, 0) // follow the real sender first
    for (const [bytes, reason] of bad) {
      const before = receiver.snapshot().drops
      expect(() => { receiver.receive(bytes, 1) }).to.not.throw()
      const after = receiver.snapshot().drops
      expect(after[reason as keyof typeof after], reason).to.equal(before[reason as keyof typeof before] + 1)
    }
    // random bytes: anything may be dropped, nothing may throw, the stream keeps playing
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
      receiver.receive(bytes, 2)
      receiver.tick(3)
    }), { numRuns: 2000, seed: 15 })
    for (let i = 1; i < 20; i++) {
      receiver.receive(packets[i]!, 20 * i)
      receiver.tick(20 * i)
    }
    receiver.tick(20 * 19 + 60)
    expect(receiver.snapshot().framesPlayed).to.be.at.least(19)
  })

  it('an undecodable Opus payload is counted and concealed', () => {
    const { receiver, played, packets } = setup('opus')
    receiver.receive(packets[0]!, 0)
    receiver.receive(buildRtp({ marker: false, payloadType: 111, sequence: 0, timestamp: 0, ssrc: 0x22222222, payload: Uint8Array.of(0xff, 0xff, 0xff, 1, 2, 3) }), 1) // wrong seq: parsed, buffered far or late
    const p1 = packets[1]!
    const bad = p1.slice(0, 12 + 6)
    bad.set([0xff, 0xff, 0xff, 1, 2, 3], 12)
    receiver.receive(bad, 20)
    receiver.receive(packets[2]!, 40)
    receiver.tick(200)
    expect(receiver.snapshot().drops.decode).to.equal(1)
    expect(played.slice(0, 3).map(f => f.concealed)).to.deep.equal([false, true, false])
  })

  it('stays bounded under a flood of far-future sequence numbers, and plays the real stream again after it', () => {
    const { receiver, played, packets } = setup()
    let seq = 0x4000
    let n = 0
    for (let i = 0; i < 50; i++) {
      receiver.receive(packets[i]!, 20 * i)
      // 500 hostile packets per real one, sequence numbers all over the 16-bit space
      for (let k = 0; k < 500; k++) {
        seq = (seq * 1103515245 + 12345) & 0xffff
        expect(() => { receiver.receive(buildRtp({ marker: false, payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc: 0x22222222, payload: new Uint8Array(160) }), 20 * i) }).to.not.throw()
        n++
      }
      receiver.tick(20 * i)
      expect(receiver.snapshot().buffered).to.be.at.most(64)
    }
    const stats = receiver.snapshot()
    expect(stats.drops['too-far'] + stats.drops.late + stats.drops.overflow + stats.drops.duplicate).to.be.greaterThan(n * 0.9)
    // the flood stops: within a second the real stream plays again
    const before = played.length
    for (let i = 50; i < 100; i++) {
      receiver.receive(packets[i]!, 20 * i)
      receiver.tick(20 * i)
    }
    const after = played.slice(before).filter(f => !f.concealed && detectTone(f.samples, 8000, 440))
    expect(after.length).to.be.at.least(35)
  })

  it('adaptive playout: the delay shrinks while packets arrive with time to spare, and grows again when they come late', () => {
    const { receiver, played, packets } = setup('pcmu', true, 600)
    // 6 s on time, ±2 ms of jitter: 60 ms shrinks a frame a second to the 20 ms floor
    for (let i = 0; i < 300; i++) {
      const t = 20 * i + (i % 2 === 0 ? 2 : -2)
      receiver.receive(packets[i]!, t)
      receiver.tick(t)
    }
    let stats = receiver.snapshot()
    expect(stats.playoutDelayMs).to.equal(20)
    expect(stats.framesSkipped).to.equal(2)
    expect(stats.framesStretched).to.equal(0)
    expect(stats.drops.late).to.equal(0)
    // then the network adds 30 ms: packets come late, the delay grows until they fit again
    for (let i = 300; i < 600; i++) {
      const t = 20 * i + 30 + (i % 2 === 0 ? 2 : -2)
      receiver.receive(packets[i]!, t)
      receiver.tick(t)
    }
    stats = receiver.snapshot()
    expect(stats.framesStretched).to.be.within(1, 2)
    expect(stats.playoutDelayMs).to.be.within(40, 60)
    expect(stats.drops.late).to.be.at.most(4)
    // a lone late packet is concealed, not a reason to wait longer
    const before = receiver.snapshot()
    const { receiver: r2, packets: p2 } = setup('pcmu', true, 200)
    for (let i = 0; i < 200; i++) {
      if (i !== 120) r2.receive(p2[i]!, 20 * i)
      if (i === 124) r2.receive(p2[120]!, 20 * i) // 80 ms late
      r2.tick(20 * i)
    }
    expect(r2.snapshot().framesStretched).to.equal(0)
    expect(r2.snapshot().drops.late).to.equal(1)
    expect(before.framesStretched).to.equal(stats.framesStretched)
    // and the audio stays the tone
    expect(played.filter(f => !f.concealed && detectTone(f.samples, 8000, 440)).length).to.be.at.least(590)
  })

  it('the jitter buffer resynchronizes when a sender really jumps, forward or back, and refuses a capacity that is not a power of two', () => {
    const jb = new JitterBuffer({ capacity: 8, target: 3 })
    const packet = (sequence: number): { sequence: number, timestamp: number, payload: Uint8Array } => ({ sequence, timestamp: 0, payload: new Uint8Array(1) })
    expect(jb.push(packet(10))).to.equal(undefined)
    expect(jb.push(packet(5000))).to.equal('too-far')
    expect(jb.push(packet(5001))).to.equal(undefined)
    expect(jb.resyncs).to.equal(1)
    expect(jb.pop()).to.deep.include({ kind: 'packet' })
    expect(jb.push(packet(5000 - 7))).to.equal('late') // within the window behind: late
    expect(jb.push(packet(100))).to.equal('late') // far behind
    expect(jb.push(packet(101))).to.equal(undefined) // …and continued: the sender went back
    expect(jb.resyncs).to.equal(2)
    expect(jb.playoutSequence).to.equal(101)
    expect(() => new JitterBuffer({ capacity: 6, target: 3 })).to.throw(RangeError)
  })

  it('RTCP from the far side: sender reports are counted and its report on our stream is kept', () => {
    const { receiver, packets } = setup()
    receiver.receive(packets[0]!, 0)
    const block = { ssrc: LOCAL_SSRC, fractionLost: 64, packetsLost: 3, highestSequence: 10, jitter: 80, lastSr: 0, delaySinceLastSr: 0 }
    receiver.receive(compound(buildSenderReport({ ssrc: 0x22222222, ntpSeconds: 1, ntpFraction: 0, rtpTimestamp: 0, packetCount: 1, octetCount: 160, reports: [block] })), 10)
    receiver.receive(buildReceiverReport({ ssrc: 0x22222222, reports: [{ ...block, ssrc: 0x999 }] }), 11) // about someone else: ignored
    const stats = receiver.snapshot()
    expect(stats.senderReportsReceived).to.equal(1)
    expect(stats.rtcpReceived).to.equal(2)
    expect(stats.remote).to.deep.equal({ fractionLost: 0.25, packetsLost: 3, jitterMs: 10 })
  })

  it('the sender refuses frames that are not 20 ms at 8 or 48 kHz, and resamples the other rate', () => {
    const sender = new MediaSender('pcmu')
    expect(() => sender.packetize({ samples: new Int16Array(100), sampleRate: 8000, timestamp: 0 })).to.throw(MediaError).with.property('code', 'ERR_MEDIA_FRAME')
    expect(() => sender.packetize({ samples: new Int16Array(160), sampleRate: 16000 as 8000, timestamp: 0 })).to.throw(MediaError).with.property('code', 'ERR_MEDIA_FRAME')
    expect(sender.packetize({ samples: new Int16Array(960), sampleRate: 48000, timestamp: 0 }).length).to.equal(12 + 160)
  })
})
