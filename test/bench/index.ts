/**
 * `npm run bench`: Parley's performance targets, measured (never asserted in
 * tests). Prints Markdown; docs/benchmarks.md records the figures with the
 * machine and date. `--quick` runs fewer iterations.
 */
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { benchEnvelope } from './envelope.js'
import { benchPow } from './pow.js'
import { benchAgent } from './agent.js'
import { benchRelay } from './relay.js'

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
if (values.help === true) {
  console.log('Usage: npm run bench [-- --quick]\n\nRuns the benchmarks and prints Markdown tables for docs/benchmarks.md.')
  process.exit(0)
}
const iterations = values.quick === true ? 1000 : 5000

console.log(`# Parley benchmarks\n\n${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} · ${Math.round(totalmem() / 2 ** 30)} GiB\n`)
console.log('## Envelopes\n')
console.log(await benchEnvelope(iterations))

console.log('\n## Handle record proof of work\n')
console.log(await benchPow(values.quick === true ? 10 : 40))

console.log('\n## Relay\n')
console.log(await benchRelay(values.quick === true))

console.log('\n## Agents and sessions\n')
console.log(await benchAgent(values.quick === true))
