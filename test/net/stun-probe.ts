/**
 * STUN helpers the namespace tests run inside a namespace (`ip netns exec NS
 * node stun-probe.js MODE …`), light enough to start fast (no libp2p):
 *
 * - `serve HOST PORT`: the relay's STUN server (src/node/stun.ts); prints
 *   `{"event":"ready"}`.
 * - `query HOST:PORT…`: from one UDP socket, asks each STUN server for its
 *   mapped address; prints `{"event":"mapped","results":[…]}` and exits. The
 *   same socket mapped to different ports for different servers is a
 *   symmetric NAT.
 */
import { createSocket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { startStunServer } from '../../src/node/stun.js'

function print (event: string, detail: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...detail }) + '\n')
}

async function serve (host: string, port: number): Promise<void> {
  await startStunServer({ port, hosts: [host] })
  print('ready')
}

async function query (targets: string[]): Promise<void> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, resolve))
  const pending = new Map<string, (r: { address: string, port: number }) => void>()
  socket.on('message', (m) => {
    const tx = m.subarray(8, 20).toString('hex')
    const address = [0, 1, 2, 3].map(i => (m[28 + i] ?? 0) ^ (m[4 + i] ?? 0)).join('.')
    pending.get(tx)?.({ address, port: m.readUInt16BE(26) ^ 0x2112 })
  })
  const results = []
  for (const target of targets) {
    const [host = '', port = '0'] = target.split(':')
    const tx = randomBytes(12)
    const answer = new Promise<{ address: string, port: number }>((resolve, reject) => {
      pending.set(tx.toString('hex'), resolve)
      setTimeout(() => { reject(new Error(`no STUN answer from ${target}`)) }, 3000).unref()
    })
    socket.send(Buffer.concat([Buffer.from('000100002112a442', 'hex'), tx]), Number(port), host)
    results.push({ target, local: socket.address().port, ...await answer })
  }
  print('mapped', { results })
  socket.close()
}

const [mode, ...args] = process.argv.slice(2)
try {
  if (mode === 'serve') await serve(args[0] ?? '0.0.0.0', Number(args[1]))
  else if (mode === 'query') await query(args)
  else throw new Error(`unknown mode ${String(mode)}`)
} catch (err) {
  print('fatal', { message: (err as Error).message })
  process.exit(1)
}
