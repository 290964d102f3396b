import type { Command } from '../command.js'

export const relayCommand: Command = {
  name: 'relay',
  summary: 'run a relay node (not built yet)',
  usage: 'Usage: parley relay\n\nThe relay node is not built yet (issue: "Relay node"). Until it lands this command only says so.',
  async run (argv) {
    if (argv.includes('--help') || argv.includes('-h')) { console.log(this.usage); return 0 }
    console.error('parley relay: the relay node is not built yet; this build provides the foundation (identity, handle records, envelopes). See README.md.')
    return 1
  }
}
