/**
 * The media engine's parts on their own: μ-law, resampling, tones, RTP
 * headers and sequence arithmetic across the 16-bit wrap, RTCP reports and
 * the RFC 3550 reception statistics behind them.
 */
import { expect } from 'chai'
import { ulawDecode, ulawDecodeSample, ulawEncode, ulawEncodeSample } from '../../src/media/ulaw.js'
import { Downsampler, Upsampler } from '../../src/media/resample.js'
import { detectTone, goertzel, toneFrames } from '../../src/media/tone.js'
import { buildRtp, isRtcp, parseRtp, RtpSequencer, seqDiff } from '../../src/media/rtp.js'
import { buildReceiverReport, buildSdesCname, buildSenderReport, compound, ntpMiddle, ntpTime, parseRtcp, ReceptionStatistics } from '../../src/media/rtcp.js'
import type { ReportBlock } from '../../src/media/rtcp.js'
import { createCodec } from '../../src/media/codec.js'

describe('media: G.711 μ-law', () => {
  it('decodes the reference codes', () => {
    expect(ulawDecodeSample(0xff)).to.equal(0)
    expect(ulawDecodeSample(0x7f)).to.equal(0)
    expect(ulawDecodeSample(0x00)).to.equal(-32124)
    expect(ulawDecodeSample(0x80)).to.equal(32124)
    expect(ulawEncodeSample(0)).to.equal(0xff)
    expect(ulawEncodeSample(32767)).to.equal(0x80)
    expect(ulawEncodeSample(-32768)).to.equal(0x00)
  })

  it('round-trips every code, and every sample within its segment\'s step', () => {
    for (let code = 0; code < 256; code++) {
      const sample = ulawDecodeSample(code)
      // 0x7f and 0xff both mean zero; every other code is its own
      expect(ulawDecodeSample(ulawEncodeSample(sample))).to.equal(sample)
    }
    for (let s = -32768; s <= 32767; s += 7) {
      const back = ulawDecodeSample(ulawEncodeSample(s))
      // the quantization step doubles per segment: at most 1/16 of the magnitude plus the bias
      expect(Math.abs(back - s)).to.be.at.most(Math.abs(s) / 16 + 8 + (Math.abs(s) > 32124 ? 700 : 0))
    }
    const block = Int16Array.from([0, 100, -100, 1000, -1000, 30000, -30000])
    expect(Array.from(ulawDecode(ulawEncode(block)))).to.have.length(block.length)
  })
})

describe('media: resampling and tones', () => {
  it('a 440 Hz tone survives 48 kHz → 8 kHz → 48 kHz', () => {
    const down = new Downsampler()
    const up = new Upsampler()
    const frames = toneFrames({ frequency: 440, sampleRate: 48000 })
    for (let i = 0; i < 10; i++) {
      const low = down.process(frames.next().value.samples)
      expect(low.length).to.equal(160)
      const high = up.process(low)
      expect(high.length).to.equal(960)
      if (i < 2) continue // filter warm-up
      expect(detectTone(low, 8000, 440)).to.equal(true)
      expect(detectTone(high, 48000, 440)).to.equal(true)
      expect(goertzel(high, 48000, 440)).to.be.within(7000, 9000)
    }
  })

  it('the decimation filter removes what 8 kHz cannot carry (6 kHz at 48 kHz)', () => {
    const down = new Downsampler()
    const frames = toneFrames({ frequency: 6000, sampleRate: 48000, amplitude: 16000 })
    let peak = 0
    for (let i = 0; i < 10; i++) {
      const low = down.process(frames.next().value.samples)
      if (i >= 2) for (const s of low) peak = Math.max(peak, Math.abs(s))
    }
    expect(peak).to.be.below(160) // > 40 dB down
  })

  it('Goertzel tells 440 Hz from 880 Hz in 20 ms frames at both rates', () => {
    for (const sampleRate of [8000, 48000] as const) {
      const a = toneFrames({ frequency: 440, sampleRate }).next().value.samples
      const b = toneFrames({ frequency: 880, sampleRate }).next().value.samples
      expect(detectTone(a, sampleRate, 440)).to.equal(true)
      expect(detectTone(a, sampleRate, 880)).to.equal(false)
      expect(detectTone(b, sampleRate, 880)).to.equal(true)
      expect(detectTone(b, sampleRate, 440)).to.equal(false)
      expect(detectTone(new Int16Array(a.length), sampleRate, 440)).to.equal(false)
    }
  })

  it('Opus and PCMU carry a tone through encode and decode', () => {
    for (const name of ['opus', 'pcmu'] as const) {
      const codec = createCodec(name)
      const frames = toneFrames({ frequency: 440, sampleRate: codec.sampleRate })
      let detected = 0
      for (let i = 0; i < 20; i++) {
        const out = codec.decode(codec.encode(frames.next().value.samples))
        expect(out.length).to.equal(codec.frameSamples)
        if (detectTone(out, codec.sampleRate, 440)) detected++
      }
      expect(detected, name).to.be.at.least(18)
      const concealed = codec.conceal()
      expect(concealed.length).to.equal(codec.frameSamples)
      expect(() => codec.decode(Uint8Array.of(0xff, 0xff, 0xff, 1, 2, 3)), name === 'opus' ? 'opus refuses garbage' : 'pcmu decodes any byte').to.satisfy((f: () => unknown) => {
        try { f(); return name === 'pcmu' } catch { return name === 'opus' }
      })
    }
  })
})

describe('media: RTP', () => {
  it('builds and parses the fixed header', () => {
    const payload = Uint8Array.of(1, 2, 3, 4)
    const bytes = buildRtp({ marker: true, payloadType: 111, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload })
    expect(bytes.length).to.equal(16)
    expect(bytes[0]).to.equal(0x80)
    expect(bytes[1]).to.equal(0x80 | 111)
    const parsed = parseRtp(bytes)
    expect(parsed.ok).to.equal(true)
    if (!parsed.ok) return
    expect(parsed.value).to.deep.include({ marker: true, payloadType: 111, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef })
    expect(Array.from(parsed.value.payload)).to.deep.equal([1, 2, 3, 4])
    expect(isRtcp(bytes)).to.equal(false)
  })

  it('skips CSRCs and a header extension and strips padding', () => {
    const bytes = Uint8Array.from([
      0xb1, 0x00, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 3, // V=2 P X CC=1, PT 0
      0, 0, 0, 9, // csrc
      0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4, // extension of one word
      7, 7, 0, 0, 3 // payload 7 7, three bytes of padding
    ])
    const parsed = parseRtp(bytes)
    expect(parsed.ok).to.equal(true)
    if (!parsed.ok) return
    expect(parsed.value.csrcs).to.deep.equal([9])
    expect(Array.from(parsed.value.payload)).to.deep.equal([7, 7])
  })

  it('drops malformed headers with a reason, never a throw', () => {
    const cases: Array<[number[], string]> = [
      [[0x80, 0, 0], 'malformed-rtp'],
      [[0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'version'],
      [[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'malformed-rtp'], // 15 CSRCs missing
      [[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 'malformed-rtp'], // extension longer than the packet
      [[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200], 'malformed-rtp'], // padding longer than the payload
      [[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], 'malformed-rtp'] // padding count 0
    ]
    for (const [bytes, reason] of cases) expect(parseRtp(Uint8Array.from(bytes))).to.deep.equal({ ok: false, reason })
    expect(parseRtp(new Uint8Array(2000))).to.deep.equal({ ok: false, reason: 'oversize' })
  })

  it('sequence arithmetic wraps at 2^16', () => {
    expect(seqDiff(0, 65535)).to.equal(1)
    expect(seqDiff(65535, 0)).to.equal(-1)
    expect(seqDiff(10, 65530)).to.equal(16)
    expect(seqDiff(100, 100)).to.equal(0)
    expect(seqDiff(32767, 0)).to.equal(32767)
    expect(seqDiff(32768, 0)).to.equal(-32768)
  })

  it('the sequencer advances 20 ms per packet and wraps sequence and timestamp', () => {
    const seq = new RtpSequencer({ payloadType: 0, samplesPerPacket: 160, ssrc: 7, sequence: 65534, timestamp: 0xffffff00 })
    const seen = [0, 1, 2].map(() => {
      const p = parseRtp(seq.next(new Uint8Array(160)))
      if (!p.ok) throw new Error('unparsable')
      return p.value
    })
    expect(seen.map(p => p.sequence)).to.deep.equal([65534, 65535, 0])
    expect(seen.map(p => p.timestamp)).to.deep.equal([0xffffff00, 0xffffffa0 >>> 0, 0x40])
    expect(seen.map(p => p.marker)).to.deep.equal([true, false, false])
    expect(seq.packets).to.equal(3)
    expect(seq.octets).to.equal(480)
  })
})

describe('media: RTCP', () => {
  const block: ReportBlock = { ssrc: 0x01020304, fractionLost: 13, packetsLost: -2, highestSequence: 0x1_0005, jitter: 42, lastSr: 0xaabbccdd, delaySinceLastSr: 65536 }

  it('a sender report with SDES round-trips as a compound packet', () => {
    const sr = { ssrc: 99, ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000, rtpTimestamp: 123456, packetCount: 50, octetCount: 8000, reports: [block] }
    const bytes = compound(buildSenderReport(sr), buildSdesCname(99, 'parley-x'))
    expect(isRtcp(bytes)).to.equal(true)
    const parsed = parseRtcp(bytes)
    expect(parsed.ok).to.equal(true)
    if (!parsed.ok) return
    expect(parsed.value[0]).to.deep.equal({ type: 'sr', ...sr })
    expect(parsed.value[1]).to.deep.equal({ type: 'other', packetType: 202, ssrc: 99 })
    expect(bytes.length % 4).to.equal(0)
  })

  it('a receiver report round-trips, with and without blocks', () => {
    for (const reports of [[], [block, { ...block, ssrc: 5, packetsLost: 0x7fffff }]]) {
      const parsed = parseRtcp(buildReceiverReport({ ssrc: 1, reports }))
      expect(parsed).to.deep.equal({ ok: true, value: [{ type: 'rr', ssrc: 1, reports }] })
    }
  })

  it('drops malformed compounds with a reason', () => {
    const rr = buildReceiverReport({ ssrc: 1, reports: [block] })
    expect(parseRtcp(rr.subarray(0, rr.length - 4))).to.deep.equal({ ok: false, reason: 'malformed-rtcp' })
    const lying = rr.slice()
    lying[0] = 0x80 | 3 // claims three blocks, has one
    expect(parseRtcp(lying)).to.deep.equal({ ok: false, reason: 'malformed-rtcp' })
    const v1 = rr.slice()
    v1[0] = 0x41
    expect(parseRtcp(v1)).to.deep.equal({ ok: false, reason: 'version' })
    expect(parseRtcp(Uint8Array.of(0x80, 201))).to.deep.equal({ ok: false, reason: 'malformed-rtcp' })
  })

  it('NTP time and its middle 32 bits', () => {
    const t = ntpTime(0)
    expect(t).to.deep.equal({ seconds: 2_208_988_800, fraction: 0 })
    expect(ntpMiddle(0x12345678, 0x9abcdef0)).to.equal(0x56789abc)
  })

  it('reception statistics count loss, the fraction per interval, wrap-around and jitter (RFC 3550 A.1, A.3, A.8)', () => {
    const stats = new ReceptionStatistics(8000)
    // 100 packets from 65500 across the wrap, every 10th lost, 20 ms apart, on time
    let received = 0
    for (let i = 0; i < 100; i++) {
      if (i % 10 === 5) continue
      const seq = (65500 + i) & 0xffff
      expect(stats.update(seq, 1000 + 160 * i, 20 * i)).to.equal(true)
      received++
    }
    expect(stats.expected).to.equal(100)
    expect(stats.received).to.equal(received)
    expect(stats.lost).to.equal(10)
    expect(stats.extendedMax).to.equal(65536 + ((65500 + 99) & 0xffff))
    expect(stats.jitter).to.be.below(0.001)
    const first = stats.report(7, 2000)
    expect(first.fractionLost).to.equal(Math.floor(10 * 256 / 100))
    expect(first.packetsLost).to.equal(10)
    // an interval with no loss reports 0
    for (let i = 100; i < 110; i++) stats.update((65500 + i) & 0xffff, 1000 + 160 * i, 20 * i)
    expect(stats.report(7, 2200).fractionLost).to.equal(0)
    // arrival jitter of ±5 ms shows up as jitter in timestamp units
    for (let i = 110; i < 300; i++) stats.update((65500 + i) & 0xffff, 1000 + 160 * i, 20 * i + (i % 2 === 0 ? 5 : -5))
    expect(stats.jitter).to.be.within(60, 90) // |D| = 10 ms = 80 units
  })

  it('a large jump is believed only when the next packet continues it (A.1 probation)', () => {
    const stats = new ReceptionStatistics(8000)
    stats.update(100, 0, 0)
    expect(stats.update(30_000, 0, 20)).to.equal(false)
    expect(stats.update(5000, 0, 40)).to.equal(false)
    expect(stats.update(5001, 0, 60)).to.equal(true) // continues 5000: the statistics restart here
    expect(stats.expected).to.equal(1)
    expect(stats.update(5002, 0, 80)).to.equal(true)
    expect(stats.expected).to.equal(2)
    expect(stats.lost).to.equal(0)
  })
})
