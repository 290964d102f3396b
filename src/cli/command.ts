/** The shape of a CLI command and the helpers they share. */
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'

export interface Command {
  name: string
  summary: string
  usage: string
  run: (argv: string[]) => Promise<number>
}

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>

/** `parseArgs` with strict checking, turning its errors into {@link UsageError}s. */
export function parse<O extends Options> (argv: string[], options: O, allowPositionals = false): ReturnType<typeof parseArgs<{ args: string[], options: O & { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: boolean }>> {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

/** The relays a command should use: its `--relay` flags, else `PARLEY_RELAY` (comma-separated). */
export function relayList (flags: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = flags ?? (env.PARLEY_RELAY ?? '').split(',').map(r => r.trim()).filter(r => r !== '')
  if (list.length === 0) throw new UsageError('--relay is required (or PARLEY_RELAY): a relay\'s address with /p2p/<id>, as "parley relay" (npm start) prints it')
  return list
}
