/**
 * Helpers for the relay benchmarks: an echo protocol timed on one reused
 * stream (raw `send()` and `message` events, 300-byte messages echoed back
 * byte for byte), a light client for the capacity ramp, a bounded-concurrency
 * loop, and millisecond statistics.
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { Multiaddr } from '@multiformats/multiaddr'
import { fmt } from './harness.js'

export const ECHO = '/parley-bench/echo/1.0.0'
export const MESSAGE = new Uint8Array(300).fill(42)

/** Registers the echo protocol, allowed on limited (relayed) connections. */
export async function handleEcho (node: Libp2p): Promise<void> {
  await node.handle(ECHO, (stream) => {
    stream.addEventListener('message', (evt) => {
      try { stream.send(evt.data) } catch { /* the stream closed under us (a relay cut the circuit) */ }
    })
    stream.addEventListener('remoteCloseWrite', () => { void stream.close().catch(() => {}) })
  }, { runOnLimitedConnection: true })
}

/** The client end of an echo stream: `roundTrip()` sends a message and resolves when all of it came back. */
export class EchoClient {
  private want = 0
  private got = 0
  private pending: PromiseWithResolvers<void> | undefined
  private closed: Error | undefined

  constructor (readonly stream: Stream) {
    stream.addEventListener('message', (evt) => {
      this.got += evt.data.byteLength
      if (this.pending !== undefined && this.got >= this.want) {
        const p = this.pending
        this.pending = undefined
        p.resolve()
      }
    })
    stream.addEventListener('close', (evt) => {
      this.closed = evt.error ?? new Error('the stream closed')
      this.pending?.reject(this.closed)
      this.pending = undefined
    })
  }

  async roundTrip (message: Uint8Array = MESSAGE, timeoutMs = 5000): Promise<void> {
    if (this.closed !== undefined) throw this.closed
    this.want = message.byteLength
    this.got = 0
    this.pending = Promise.withResolvers<void>()
    const timer = setTimeout(() => this.pending?.reject(new Error(`no echo within ${timeoutMs} ms`)), timeoutMs)
    try {
      if (!this.stream.send(message)) await this.stream.onDrain({ signal: AbortSignal.timeout(timeoutMs) })
      await this.pending.promise
    } finally {
      clearTimeout(timer)
    }
  }
}

/** A minimal client that reserves a slot on `relay` as it starts: TCP, circuit relay transport, Noise, Yamux, identify. */
export async function createRampClient (relay: Multiaddr): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: [relay.encapsulate('/p2p-circuit').toString()] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() }
  })
}

/** Runs `fn` over `items` with at most `limit` calls in flight; returns the settled results in order. */
export async function pool<T, R> (items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  const results: Array<PromiseSettledResult<R>> = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i] as T, i) }
      } catch (reason) {
        results[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export const mib = (n: number): string => fmt(n, 0)
