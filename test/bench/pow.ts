/** Handle-record proof of work at the default difficulty: what registering a handle costs. */
import { createHandleRecord } from '../../src/handles/record.js'
import { DEFAULT_POW_BITS, measurePowRate } from '../../src/handles/pow.js'
import { createIdentity } from '../../src/identity/index.js'
import { fmt } from './harness.js'

export async function benchPow (mints: number): Promise<string> {
  const id = await createIdentity({ kind: 'agent' })
  const rate = measurePowRate(500)
  const times: number[] = []
  for (let i = 0; i < mints; i++) {
    const t0 = performance.now()
    await createHandleRecord(id, { handle: `bench-${i}`, seq: 1 })
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  const mean = times.reduce((a, b) => a + b, 0) / times.length
  const expected = 2 ** DEFAULT_POW_BITS / rate * 1000
  return [
    `Default difficulty ${DEFAULT_POW_BITS} bits; minter rate ${fmt(rate / 1e6, 2)} M hashes/s; expected ${fmt(expected, 0)} ms per record.`,
    '',
    '| case | mints | mean ms | p50 ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    `| createHandleRecord (mint + sign + validate) | ${mints} | ${fmt(mean, 0)} | ${fmt(times[Math.floor(mints / 2)] ?? NaN, 0)} | ${fmt(times[mints - 1] ?? NaN, 0)} |`
  ].join('\n')
}
