/** The shape of a CLI command and the helpers they share. */
import { UsageError } from '../util/args.js'

// the argument parser lives below the front doors: the relay program (relay/) reads its flags with it too
export { UsageError, parse } from '../util/args.js'

export interface Command {
  name: string
  summary: string
  usage: string
  run: (argv: string[]) => Promise<number>
}

/** The relays a command should use: its `--relay` flags, else `PARLEY_RELAY` (comma-separated). */
export function relayList (flags: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = flags ?? (env.PARLEY_RELAY ?? '').split(',').map(r => r.trim()).filter(r => r !== '')
  if (list.length === 0) throw new UsageError('--relay is required (or PARLEY_RELAY): a relay\'s address with /p2p/<id>, as "parley relay" (npm start) prints it')
  return list
}
