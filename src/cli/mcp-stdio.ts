/**
 * MCP's stdio transport, as the CLI's MCP bridge uses it: one JSON-RPC
 * message per line (UTF-8, no embedded newlines), in both directions. A
 * line longer than {@link MAX_LINE_BYTES} or that is not a JSON object is
 * reported and dropped, never buffered without bound.
 */
import { spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { logger } from '@libp2p/logger'
import type { McpMessage, McpServerLike, ParleyMcpTransport } from '../mcp/index.js'

const log = logger('parley:cli:mcp')

/** The longest line read: MCP results (a resource, an image) can be large, but not without bound. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024

/** Calls `onMessage` for each JSON object line of `input`; `onBad` for what is not one. */
export function readLines (input: Readable, onMessage: (message: McpMessage) => void, onBad: (why: string) => void): void {
  let buffered: Buffer[] = []
  let size = 0
  let skipping = false
  input.on('data', (chunk: Buffer) => {
    let start = 0
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl)
      start = nl + 1
      if (skipping) { skipping = false; buffered = []; size = 0; continue }
      const line = Buffer.concat([...buffered, piece]).toString('utf8').trim()
      buffered = []
      size = 0
      if (line === '') continue
      let message: unknown
      try {
        message = JSON.parse(line)
      } catch {
        onBad(`not JSON: ${line.slice(0, 80)}`)
        continue
      }
      if (message === null || typeof message !== 'object' || Array.isArray(message)) { onBad('not a JSON-RPC message'); continue }
      onMessage(message as McpMessage)
    }
    if (skipping || start === chunk.byteLength) return
    size += chunk.byteLength - start
    if (size > MAX_LINE_BYTES) {
      onBad(`a line over ${MAX_LINE_BYTES} bytes: dropped`)
      skipping = true
      buffered = []
      size = 0
      return
    }
    buffered.push(chunk.subarray(start))
  })
}

/** Writes one message as a line. */
export function writeLine (output: Writable, message: McpMessage): void {
  output.write(JSON.stringify(message) + '\n')
}

/**
 * An MCP "server" for {@link serveMcp} that is a stdio MCP server program:
 * each Parley session that opens MCP gets its own process of `command`
 * (stdio servers serve one client), whose stdin and stdout carry that
 * session's messages; its stderr goes to ours. The process is stopped when
 * the session ends, and the session's MCP ends when the process exits.
 */
export function stdioServer (command: string, args: readonly string[], onEvent: (event: string, detail: object) => void): () => McpServerLike {
  return () => ({
    async connect (transport: ParleyMcpTransport): Promise<void> {
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
      const peer = transport.session.remotePeer
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', () => { resolve() })
        child.once('error', reject)
      })
      onEvent('mcp-server', { peer, session: transport.session.id ?? null, pid: child.pid ?? null })
      let ended = false
      const end = (): void => {
        if (ended) return
        ended = true
        child.kill('SIGTERM')
        void transport.close()
      }
      child.once('exit', (code, signal) => {
        onEvent('mcp-server-exit', { peer, pid: child.pid ?? null, code, signal })
        end()
      })
      child.stdin.on('error', (err) => { log('stdin of the MCP server: %e', err) })
      transport.onmessage = (message) => { if (!ended) writeLine(child.stdin, message) }
      transport.onclose = end
      readLines(child.stdout, (message) => {
        transport.send(message).catch((err: Error) => { log('could not send a message of the MCP server: %e', err) })
      }, (why) => { log('the MCP server wrote %s', why) })
      await transport.start()
    }
  })
}
