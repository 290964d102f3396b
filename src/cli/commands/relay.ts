import type { Command } from '../command.js'
import { RELAY_USAGE } from '../../../relay/config.js'
import { runRelay } from '../../../relay/run.js'

export const relayCommand: Command = {
  name: 'relay',
  summary: 'run a relay node: circuit relay, DHT for handles, gossipsub, metrics',
  usage: RELAY_USAGE,
  run: runRelay
}
