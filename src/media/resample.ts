/**
 * 48 kHz ↔ 8 kHz conversion (a factor of 6) for PCMU legs whose
 * application speaks 48 kHz, and the reverse.
 *
 * Both directions run the same linear-phase low-pass FIR at 48 kHz: a
 * Blackman-windowed sinc of {@link RESAMPLE_TAPS} taps with its cut-off at
 * 3.6 kHz (below the 4 kHz Nyquist of 8 kHz, above telephone band's 3.4
 * kHz). Down: filter, keep every 6th sample. Up: insert five zeros after
 * each sample, filter, multiply by 6 (polyphase, so only the non-zero taps
 * are computed). Each resampler keeps its filter history across calls, so
 * consecutive 20 ms frames join without clicks; the group delay is
 * (taps − 1) / 2 samples at 48 kHz, about 0.74 ms.
 */

/** The conversion factor between 48 kHz and 8 kHz. */
export const RESAMPLE_FACTOR = 6
/** Taps of the low-pass filter (a multiple of the factor). */
export const RESAMPLE_TAPS = 72

function lowPass (taps: number, cutoffHz: number, rate: number): Float64Array {
  const h = new Float64Array(taps)
  const fc = cutoffHz / rate
  const mid = (taps - 1) / 2
  let sum = 0
  for (let i = 0; i < taps; i++) {
    const x = i - mid
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x)
    const w = 0.42 - 0.5 * Math.cos(2 * Math.PI * i / (taps - 1)) + 0.08 * Math.cos(4 * Math.PI * i / (taps - 1))
    h[i] = sinc * w
    sum += h[i] ?? 0
  }
  for (let i = 0; i < taps; i++) h[i] = (h[i] ?? 0) / sum
  return h
}

const FILTER = lowPass(RESAMPLE_TAPS, 3600, 48_000)

function clip (x: number): number {
  const r = Math.round(x)
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r
}

/** 48 kHz → 8 kHz, stateful across calls (one per stream). */
export class Downsampler {
  private readonly history = new Float64Array(RESAMPLE_TAPS)
  private pos = 0
  private phase = 0

  /** The 8 kHz samples of the next block of 48 kHz samples (any length; a 960-sample frame gives 160). */
  process (input: Int16Array): Int16Array {
    const out = new Int16Array(Math.floor((input.length + this.phase) / RESAMPLE_FACTOR))
    let n = 0
    for (let i = 0; i < input.length; i++) {
      this.history[this.pos] = input[i] ?? 0
      this.pos = (this.pos + 1) % RESAMPLE_TAPS
      this.phase++
      if (this.phase === RESAMPLE_FACTOR) {
        this.phase = 0
        let acc = 0
        // history[pos - 1] is the newest sample: h[0] applies to it
        for (let k = 0; k < RESAMPLE_TAPS; k++) acc += (FILTER[k] ?? 0) * (this.history[(this.pos - 1 - k + 2 * RESAMPLE_TAPS) % RESAMPLE_TAPS] ?? 0)
        out[n++] = clip(acc)
      }
    }
    return n === out.length ? out : out.subarray(0, n)
  }
}

/** 8 kHz → 48 kHz, stateful across calls (one per stream). */
export class Upsampler {
  private static readonly SPAN = RESAMPLE_TAPS / RESAMPLE_FACTOR
  private readonly history = new Float64Array(Upsampler.SPAN)
  private pos = 0

  /** The 48 kHz samples of the next block of 8 kHz samples (six per input sample). */
  process (input: Int16Array): Int16Array {
    const span = Upsampler.SPAN
    const out = new Int16Array(input.length * RESAMPLE_FACTOR)
    let n = 0
    for (let i = 0; i < input.length; i++) {
      this.history[this.pos] = input[i] ?? 0
      this.pos = (this.pos + 1) % span
      for (let p = 0; p < RESAMPLE_FACTOR; p++) {
        let acc = 0
        for (let m = 0; m < span; m++) acc += (FILTER[m * RESAMPLE_FACTOR + p] ?? 0) * (this.history[(this.pos - 1 - m + 2 * span) % span] ?? 0)
        out[n++] = clip(acc * RESAMPLE_FACTOR)
      }
    }
    return out
  }
}
