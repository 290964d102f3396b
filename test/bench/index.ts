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
import { benchNegotiation } from './negotiation.js'
import { benchFlood } from './flood.js'
import { benchReplay } from './replay.js'
import { benchBrowser } from './browser.js'
import { benchMcp } from './mcp.js'
import { benchMail } from './mail.js'
import { benchNet } from './net.js'
import { benchMedia } from './media.js'

const SECTIONS = ['envelope', 'pow', 'relay', 'agent', 'negotiation', 'flood', 'replay', 'browser', 'mcp', 'mail', 'net', 'media'] as const
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
if (values.help === true) {
  console.log(`Usage: npm run bench [-- --quick] [-- --only SECTION[,SECTION]]\n\nRuns the benchmarks and prints Markdown tables for docs/benchmarks.md.\nSections: ${SECTIONS.join(', ')}.`)
  process.exit(0)
}
const only = values.only === undefined ? new Set<string>(SECTIONS) : new Set(values.only.split(','))
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) { console.error(`unknown section "${s}" (${SECTIONS.join(', ')})`); process.exit(2) }
const iterations = values.quick === true ? 1000 : 5000

console.log(`# Parley benchmarks\n\n${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} · ${Math.round(totalmem() / 2 ** 30)} GiB\n`)
if (only.has('envelope')) { console.log('## Envelopes\n'); console.log(await benchEnvelope(iterations)) }
if (only.has('pow')) { console.log('\n## Handle record proof of work\n'); console.log(await benchPow(values.quick === true ? 10 : 40)) }
if (only.has('relay')) { console.log('\n## Relay\n'); console.log(await benchRelay(values.quick === true)) }
if (only.has('agent')) { console.log('\n## Agents and sessions\n'); console.log(await benchAgent(values.quick === true)) }
if (only.has('negotiation')) { console.log('\n## Negotiation: the nine-turn book-plumber exchange\n'); console.log(await benchNegotiation(values.quick === true)) }
if (only.has('flood')) { console.log('\n## Under attack: a caller\'s ping while a stranger floods the agent\n'); console.log(await benchFlood(values.quick === true)) }
if (only.has('replay')) { console.log('\n## The replay guard: in memory, in a journal, or in a datastore\n'); console.log(await benchReplay(values.quick === true)) }
if (only.has('browser')) { console.log('\n## Browser and start-up\n'); console.log(await benchBrowser(values.quick === true)) }
if (only.has('mail')) { console.log('\n## Mail for offline agents: sealing, and a relay\'s mailbox\n'); console.log(await benchMail(values.quick === true)) }
if (only.has('mcp')) { console.log('\n## MCP over Parley, and payloads beyond a frame\n'); console.log(await benchMcp(values.quick === true)) }
if (only.has('media')) { console.log('\n## A human joins a session by voice\n'); console.log(await benchMedia(values.quick === true)) }
if (only.has('net')) { console.log('\n## Across NATs in network namespaces: upgrade with 40 ms RTT, turns under loss\n'); console.log(await benchNet(values.quick === true)) }
