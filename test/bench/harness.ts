/** A small benchmark harness: warm up, time each call, report mean / p50 / p99 / ops per second. */

export interface Result {
  name: string
  iterations: number
  meanUs: number
  p50Us: number
  p99Us: number
  opsPerSec: number
}

export interface MeasureOptions {
  iterations?: number
  warmup?: number
}

/** Times `fn(i)` for i = 0 … iterations-1 after `warmup` untimed calls. */
export async function measure (name: string, fn: (i: number) => unknown, options: MeasureOptions = {}): Promise<Result> {
  const iterations = options.iterations ?? 5000
  const warmup = options.warmup ?? Math.min(1000, iterations)
  for (let i = 0; i < warmup; i++) await fn(i % iterations)
  const samples = new Float64Array(iterations)
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i)
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000
  }
  return resultOf(name, samples, Number(process.hrtime.bigint() - start) / 1000)
}

/** The {@link Result} of `samples` (µs each, sorted here); `totalUs` the wall time they took (default their sum). */
export function resultOf (name: string, samples: Float64Array | number[], totalUs?: number): Result {
  const sorted = Float64Array.from(samples).sort()
  const n = sorted.length
  const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * n))] ?? NaN
  const sum = sorted.reduce((a, b) => a + b, 0)
  return { name, iterations: n, meanUs: sum / n, p50Us: at(0.5), p99Us: at(0.99), opsPerSec: n / ((totalUs ?? sum) / 1e6) }
}

export function fmt (n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–'
}

/** Milliseconds samples summarised: count, mean, quantiles (sorted samples, index floor(q·n)), extremes. */
export interface MsStats { n: number, mean: number, p50: number, p90: number, p99: number, min: number, max: number }

/** The {@link MsStats} of `samples`, quantiles taken as {@link resultOf} takes them. */
export function msStats (samples: number[]): MsStats {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN }
}

/** A Markdown table. */
export function mdTable (head: string[], rows: string[][]): string {
  return [head, head.map(() => '---'), ...rows].map(r => '| ' + r.join(' | ') + ' |').join('\n')
}

/** An error's name and the first line of its message, for a table cell. */
export function errorText (err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0] ?? ''
}

/** A Markdown table of results. */
export function table (results: Result[], extra?: (r: Result) => string[], extraHeads: string[] = []): string {
  const head = ['case', 'mean µs', 'p50 µs', 'p99 µs', 'ops/s', ...extraHeads]
  const rows = results.map(r => [r.name, fmt(r.meanUs), fmt(r.p50Us), fmt(r.p99Us), fmt(r.opsPerSec, 0), ...(extra?.(r) ?? [])])
  return [head, head.map(() => '---'), ...rows].map(r => '| ' + r.join(' | ') + ' |').join('\n')
}
