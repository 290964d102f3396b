/**
 * `parley`: the command-line front door. One sub-command per job; every
 * command takes `--help`. Exit codes: 0 success, 1 failure (the typed
 * error's code and message on one line), 2 bad usage.
 */
import { readFileSync } from 'node:fs'
import { ParleyError } from '../errors.js'
import { UsageError } from './command.js'
import type { Command } from './command.js'
import { idCommand } from './commands/id.js'
import { relayCommand } from './commands/relay.js'
import { agentCommand } from './commands/agent.js'
import { resolveCommand } from './commands/resolve.js'
import { humanCommands } from './commands/human.js'
import { verifyCommand } from './commands/verify.js'
import { demoCommand } from './commands/demo.js'
import { mcpCommand } from './commands/mcp.js'

const commands: Command[] = [relayCommand, agentCommand, resolveCommand, ...humanCommands, mcpCommand, verifyCommand, demoCommand, idCommand]

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function help (): string {
  const width = Math.max(...commands.map(c => c.name.length))
  return `parley ${version()}: a peer-to-peer mesh for AI agents

Usage: parley <command> [options]

Commands:
${commands.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "parley <command> --help" for a command's options.`
}

export async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help())
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v') { console.log(version()); return 0 }
  const command = commands.find(c => c.name === name)
  if (command === undefined) {
    console.error(`parley: unknown command "${name}"\n\n${help()}`)
    return 2
  }
  try {
    return await command.run(rest)
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`parley ${command.name}: ${err.message} (see "parley ${command.name} --help")`)
      return 2
    }
    if (err instanceof ParleyError) {
      console.error(`parley ${command.name}: ${err.code}: ${err.message}`)
      return 1
    }
    console.error(`parley ${command.name}: ${(err as Error).message ?? String(err)}`)
    return 1
  }
}

// Exit as soon as the command is done: a command that failed while starting must not be kept
// alive by a timer or socket a library left behind (stdout and stderr are synchronous on Linux
// for files and pipes, so nothing printed is lost).
process.exit(await main(process.argv.slice(2)))
