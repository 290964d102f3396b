/**
 * A victim agent in a process of its own, for the floods whose victim needs
 * options or methods the `parley agent` command does not give (short
 * deadlines, a frame rate, a slow or large handler): `createAgent` with the
 * options in argv[2] (JSON), plus
 *
 * - `slow`: waits until `release` is called, then answers `"done"`;
 * - `release`: lets every `slow` finish; answers `{ calls, most }` (how many
 *   ran, and the most that ever ran at once);
 * - `big`: 64 KiB of text;
 *
 * and one JSON line on stdout per event: `ready` (with `peer`), and `closed`
 * for each session a limit ended (with `peer` and the `SessionLimitError`'s
 * `code`). SIGTERM or SIGINT stops it. Started by `startVictimProcess`
 * (helpers.ts).
 */
import { createAgent } from '../../src/agent/index.js'
import type { AgentOptions } from '../../src/agent/index.js'

const options = JSON.parse(process.argv[2] ?? '{}') as AgentOptions
const agent = await createAgent(options)
const print = (event: string, detail: object): void => { console.log(JSON.stringify({ event, ...detail })) }

const slow = { running: 0, most: 0, calls: 0, release: (): void => {}, released: Promise.resolve() }
const hold = (): void => {
  const { promise, resolve } = Promise.withResolvers<void>()
  slow.released = promise
  slow.release = resolve
}
hold()
agent.handle('slow', async () => {
  slow.calls++
  slow.running++
  slow.most = Math.max(slow.most, slow.running)
  try {
    await slow.released
  } finally {
    slow.running--
  }
  return 'done'
})
agent.handle('release', () => {
  const answer = { calls: slow.calls, most: slow.most }
  slow.release()
  hold()
  slow.most = 0
  slow.calls = 0
  return answer
})
agent.handle('big', () => 'x'.repeat(64 * 1024))

agent.addEventListener('session', (e) => {
  const session = e.detail
  session.addEventListener('close', (c) => {
    const code = (c.detail as { code?: string } | undefined)?.code
    if (code !== undefined) print('closed', { peer: session.remotePeer, code })
  })
})
await agent.start()
print('ready', { peer: agent.peerId, handle: agent.handleName })
await new Promise<void>(resolve => {
  process.once('SIGINT', () => { resolve() })
  process.once('SIGTERM', () => { resolve() })
})
await agent.close()
