/**
 * The browser's WebSocket transport (dialling only: a tab cannot listen):
 * `@libp2p/websockets`' browser dial, except that each batch of bytes the
 * connection sends goes out as one WebSocket message. `@libp2p/websockets`
 * calls `WebSocket.send` once for each chunk of a batch, and Noise writes a
 * frame as two chunks (its length, then the ciphertext) under yamux's own
 * header and body: a tab's cold start to its first reply made 224 sends of
 * 7.4 KB in all, each a trip to the browser's network process on the tab's
 * main thread; one send a batch makes 110. The relay reads a byte stream
 * either way.
 */
import { ConnectionFailedError, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import type { AbortOptions, ComponentLogger, CreateListenerOptions, DialTransportOptions, Listener, Transport, Connection } from '@libp2p/interface'
import { AbstractMultiaddrConnection } from '@libp2p/utils'
import type { AbstractMultiaddrConnectionInit, SendResult } from '@libp2p/utils'
import { WebSockets as WebSocketsMatcher, WebSocketsSecure } from '@multiformats/multiaddr-matcher'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Above this many bytes waiting in the socket, the connection says it cannot send more until they drain. */
const MAX_BUFFERED_AMOUNT = 4 * 1024 * 1024
const BUFFERED_AMOUNT_POLL_MS = 10

class WebSocketConnection extends AbstractMultiaddrConnection {
  readonly #socket: WebSocket
  #poll: ReturnType<typeof setInterval> | undefined

  constructor (socket: WebSocket, init: AbstractMultiaddrConnectionInit) {
    super(init)
    this.#socket = socket
    socket.addEventListener('close', (evt) => {
      this.#stopPoll()
      if (!evt.wasClean) this.onRemoteReset()
      else this.onTransportClosed()
    }, { once: true })
    socket.addEventListener('message', (evt: MessageEvent) => {
      if (!(evt.data instanceof ArrayBuffer)) { this.abort(new Error('a WebSocket message that is not binary')); return }
      this.onData(new Uint8Array(evt.data))
    })
  }

  sendData (data: Uint8ArrayList): SendResult {
    // one message for the batch (a copy when it has several chunks)
    this.#socket.send(data.subarray() as Uint8Array<ArrayBuffer>)
    const canSendMore = this.#socket.bufferedAmount < MAX_BUFFERED_AMOUNT
    if (!canSendMore && this.#poll === undefined) {
      this.#poll = setInterval(() => {
        if (this.#socket.bufferedAmount > 0) return
        this.#stopPoll()
        this.safeDispatchEvent('drain')
      }, BUFFERED_AMOUNT_POLL_MS)
    }
    return { sentBytes: data.byteLength, canSendMore }
  }

  #stopPoll (): void {
    clearInterval(this.#poll)
    this.#poll = undefined
  }

  sendReset (): void {
    this.#stopPoll()
    // 1006 may not be sent by a page (it throws): an abrupt end is a plain close the far side did not expect
    this.#socket.close()
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    this.#socket.close()
    options?.signal?.throwIfAborted()
  }

  sendPause (): void {
    // a WebSocket cannot pause reading
  }

  sendResume (): void {}
}

/** `ws://host:port` or `wss://…` for a `/ws` or `/wss` (or `/tls/…/ws`) multiaddr. */
export function webSocketUri (ma: Multiaddr): string {
  let host: string | undefined
  let port: string | undefined
  let secure = false
  for (const { name, value } of ma.getComponents()) {
    if (name === 'ip4' || name === 'dns' || name === 'dns4' || name === 'dns6') host = value
    else if (name === 'ip6') host = `[${value ?? ''}]`
    else if (name === 'tcp') port = value
    else if (name === 'tls' || name === 'wss') secure = true
  }
  if (host === undefined || port === undefined) throw new ConnectionFailedError(`not a WebSocket address: ${ma.toString()}`)
  return `${secure ? 'wss' : 'ws'}://${host}:${port}`
}

class BrowserWebSockets implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@parley/websockets-browser'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']
  readonly #logger: ComponentLogger

  constructor (components: { logger: ComponentLogger }) {
    this.#logger = components.logger
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    options.signal?.throwIfAborted()
    const uri = webSocketUri(ma)
    const socket = new WebSocket(uri)
    socket.binaryType = 'arraybuffer'
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        socket.removeEventListener('open', opened)
        socket.removeEventListener('error', failed)
        options.signal?.removeEventListener('abort', aborted)
        if (err === undefined) { resolve(); return }
        try { socket.close() } catch { /* closing a socket that never opened */ }
        reject(err)
      }
      const opened = (): void => { done() }
      const failed = (): void => { done(new ConnectionFailedError(`could not connect to ${uri}`)) }
      const aborted = (): void => { done(new ConnectionFailedError(`could not connect to ${uri}: aborted`)) }
      socket.addEventListener('open', opened)
      socket.addEventListener('error', failed)
      options.signal?.addEventListener('abort', aborted)
    })
    const maConn = new WebSocketConnection(socket, {
      remoteAddr: ma,
      direction: 'outbound',
      log: this.#logger.forComponent('parley:websockets:connection')
    })
    return options.upgrader.upgradeOutbound(maConn, options)
  }

  createListener (_options: CreateListenerOptions): Listener {
    throw new Error('a browser cannot listen for WebSocket connections')
  }

  listenFilter (): Multiaddr[] {
    return []
  }

  dialFilter (multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter(ma => WebSocketsMatcher.exactMatch(ma) || WebSocketsSecure.exactMatch(ma))
  }
}

/** The browser's WebSocket transport (see the module doc). */
export function browserWebSockets (): (components: { logger: ComponentLogger }) => Transport {
  return (components) => new BrowserWebSockets(components)
}
