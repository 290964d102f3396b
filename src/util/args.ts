/**
 * Command-line argument parsing shared by the front doors that read flags:
 * the `parley` CLI (src/cli) and the relay program (relay/). Kept below both
 * so that neither imports the other for it.
 */
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'

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
