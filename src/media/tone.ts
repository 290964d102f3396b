/**
 * Test tones: a sine generator that produces consecutive 20 ms PCM frames,
 * and a Goertzel detector that tells whether a frame is dominated by one
 * frequency. Tests use them now; `parley demo` plays tones where no
 * microphone exists.
 */
import { FRAME_MS } from './constants.js'
import type { PcmFrame } from './frame.js'
import type { CodecInfo } from './codecs.js'

/** Options of {@link toneFrames}. */
export interface ToneOptions {
  /** Frequency, Hz. */
  frequency: number
  /** Sample rate, Hz. */
  sampleRate: 8000 | 48000
  /** Peak amplitude, 0–32767 (default 8000, about −12 dBFS). */
  amplitude?: number
}

/** A generator of consecutive 20 ms frames of a sine tone, phase-continuous, timestamps in ms from 0. */
export function * toneFrames (options: ToneOptions): Generator<PcmFrame, never, undefined> {
  const amplitude = options.amplitude ?? 8000
  const n = options.sampleRate * FRAME_MS / 1000
  const step = 2 * Math.PI * options.frequency / options.sampleRate
  let index = 0
  for (let frame = 0; ; frame++) {
    const samples = new Int16Array(n)
    for (let i = 0; i < n; i++) samples[i] = Math.round(amplitude * Math.sin(step * index++))
    yield { samples, sampleRate: options.sampleRate, timestamp: frame * FRAME_MS }
  }
}

/**
 * The amplitude of the `frequency` component of `samples` (Goertzel's
 * algorithm at that exact frequency, scaled so a pure sine of amplitude A
 * gives about A).
 */
export function goertzel (samples: Int16Array, sampleRate: number, frequency: number): number {
  const w = 2 * Math.PI * frequency / sampleRate
  const coeff = 2 * Math.cos(w)
  let s1 = 0
  let s2 = 0
  for (let i = 0; i < samples.length; i++) {
    const s0 = (samples[i] ?? 0) + coeff * s1 - s2
    s2 = s1
    s1 = s0
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2
  return 2 * Math.sqrt(Math.max(0, power)) / samples.length
}

/**
 * Whether `frequency` dominates `samples`: its amplitude is at least
 * `ratio` (default 0.5) of the amplitude a pure sine with the frame's
 * energy would have, and the frame is not near silence (peak amplitude
 * `minAmplitude`, default 300).
 */
export function detectTone (samples: Int16Array, sampleRate: number, frequency: number, options: { ratio?: number, minAmplitude?: number } = {}): boolean {
  if (samples.length === 0) return false
  let energy = 0
  for (let i = 0; i < samples.length; i++) energy += (samples[i] ?? 0) ** 2
  const sineAmplitude = Math.sqrt(2 * energy / samples.length)
  if (sineAmplitude < (options.minAmplitude ?? 300)) return false
  return goertzel(samples, sampleRate, frequency) >= (options.ratio ?? 0.5) * sineAmplitude
}

/** What {@link playTone} sends frames through: an audio leg, with its codec once negotiated. */
export interface ToneSink {
  /** The negotiated codec (its PCM rate is what the tone is made at). */
  readonly codec: Pick<CodecInfo, 'sampleRate'> | undefined
  /** Sends one frame. */
  send: (frame: PcmFrame) => boolean
}

/** Sends `frames` consecutive 20 ms frames of a `frequency` Hz tone through `leg`, in real time (a stand-in for a voice). */
export async function playTone (leg: ToneSink, frequency: number, frames: number): Promise<void> {
  const rate = leg.codec?.sampleRate
  if (rate === undefined) throw new Error('the leg has no codec yet: wait until it is open')
  const tone = toneFrames({ frequency, sampleRate: rate })
  const start = performance.now()
  let sent = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      while (sent < frames && sent * FRAME_MS <= performance.now() - start) { leg.send(tone.next().value); sent++ }
      if (sent >= frames) { clearInterval(timer); resolve() }
    }, 5)
  })
}

/**
 * The share of a tone's frames, after the first `skip` (default 10: the
 * first 200 ms), in which `frequency` was detected among the frames
 * `received` (matched to the frames sent by their media timestamps).
 */
export function toneShare (received: ReadonlyArray<PcmFrame>, frequency: number, frames: number, skip = 10): number {
  const hits = new Set<number>()
  for (const f of received) {
    const index = Math.round(f.timestamp / FRAME_MS)
    if (index >= skip && index < frames && detectTone(f.samples, f.sampleRate, frequency)) hits.add(index)
  }
  return hits.size / Math.max(1, frames - skip)
}
