import { parse, UsageError } from '../command.js'
import type { Command } from '../command.js'
import { SCENARIOS, runScenario } from '../../demo/index.js'

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a reference scenario on a local mesh it starts itself (parley demo --list)',
  usage: `Usage: parley demo NAME
       parley demo --list

Starts a relay on 127.0.0.1 and the agents the scenario needs (in this
process, data in a temporary directory), runs the scenario, and prints a
transcript: time since start, who said what to whom, and the receiver's
signature check on every envelope. Where a human must decide, the demo plays
the human and says what it decided.

Scenarios:
${SCENARIOS.map(s => `  ${s.name.padEnd(20)} ${s.summary}`).join('\n')}

Options:
  --list       list the scenarios
  -h, --help   show this help`,
  async run (argv) {
    const { values, positionals } = parse(argv, { list: { type: 'boolean' } }, true)
    if (values.help === true) { console.log(this.usage); return 0 }
    if (values.list === true) { for (const s of SCENARIOS) console.log(`${s.name.padEnd(20)} ${s.summary}`); return 0 }
    if (positionals.length !== 1) throw new UsageError('name one scenario (parley demo --list)')
    const name = positionals[0] as string
    if (SCENARIOS.find(s => s.name === name) === undefined) throw new UsageError(`no scenario "${name}"`)
    console.log(`▶ ${name}: ${SCENARIOS.find(s => s.name === name)?.summary ?? ''}\n`)
    const outcome = await runScenario(name, { print: (line) => { console.log(line) } })
    console.log('\nOutcome:')
    for (const fact of outcome.facts) console.log(`  • ${fact}`)
    return 0
  }
}
