import { readFile } from 'node:fs/promises'
import { parse, UsageError } from '../command.js'
import type { Command } from '../command.js'
import { verifyDocument } from '../../store/verify-document.js'
import { ParleyError } from '../../errors.js'

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check an exported event log or an agreement offline',
  usage: `Usage: parley verify FILE

FILE is JSON: an event log from "parley log --export" (hash chain, the node's
signature on every entry, and the signature of every envelope and negotiation
transition it quotes), or an agreement (both parties' signatures over the same
terms hash). Exit 0 when everything verifies; 1 with the first failure.

Options:
  -h, --help   show this help`,
  async run (argv) {
    const { values, positionals } = parse(argv, {}, true)
    if (values.help === true) { console.log(this.usage); return 0 }
    if (positionals.length !== 1) throw new UsageError('expected one FILE')
    let value: unknown
    try {
      value = JSON.parse(await readFile(positionals[0] as string, 'utf8'))
    } catch (err) {
      throw new ParleyError('ERR_UNREADABLE', `cannot read ${positionals[0]} as JSON: ${(err as Error).message}`)
    }
    const report = await verifyDocument(value)
    for (const line of report.lines) console.log(line)
    console.log('verified')
    return 0
  }
}
