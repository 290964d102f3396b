/**
 * The relay's WebSocket transport: `@libp2p/websockets` with the bounds its
 * listener lacks, and optionally TLS (`/tls/ws`) from a certificate and key.
 *
 * What `@libp2p/websockets` 10 leaves open, and what bounds it here:
 *
 * - A TCP socket that connects to the WebSocket port and never finishes the
 *   HTTP upgrade (sends nothing, or half a request) is held forever: the
 *   listener waits for its first byte without a timeout, and libp2p's own
 *   limits (inbound rate per host, pending connections, the gater, the
 *   inbound upgrade timeout) only see a connection once the WebSocket
 *   handshake is done. Here every socket must complete the upgrade within
 *   `handshakeTimeoutMs` (TLS handshake included) or is destroyed.
 * - Sockets still in that handshake are capped per remote IP and in total, so
 *   one host cannot fill the port with silent sockets between deadlines.
 * - `ws` buffers a whole message before delivering it, up to 100 MiB by
 *   default. libp2p peers send one Noise frame (at most 64 KiB) per message,
 *   so the relay caps messages at `maxMessageBytes` and `ws` closes a
 *   connection that sends a bigger one (close code 1009).
 * - `ws` reports a connection that breaks the WebSocket protocol (a message
 *   over the cap, a malformed frame) by an 'error' event on it, which the
 *   listener does not handle: thrown from the event loop, it would stop the
 *   relay. Each connection gets a handler that logs it (`ws` has closed the
 *   connection already).
 *
 * The listener's `onSocketConnection`, `onUpgrade`, `onWsServerConnection` and `close` are public
 * methods, wrapped on the instance; the message cap is set on its private
 * `wsServer` (a `ws.WebSocketServer`, checked at creation: a version of
 * `@libp2p/websockets` without it fails at start, not silently).
 */
import { webSockets } from '@libp2p/websockets'
import type { WebSocketsComponents } from '@libp2p/websockets'
import type { CreateListenerOptions, Listener, Transport } from '@libp2p/interface'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { EventEmitter } from 'node:events'
import { createSecureContext } from 'node:tls'
import { logger } from '@libp2p/logger'
import { ParleyError } from '../errors.js'

const log = logger('parley:relay:websockets')

/** Bounds on the WebSocket listener. */
export interface WebSocketLimits {
  /** Longest time from TCP accept to a completed WebSocket upgrade (TLS handshake included), in ms. */
  handshakeTimeoutMs: number
  /** Sockets from one IP address still in that handshake at once. */
  maxHandshakesPerIp: number
  /** Sockets on the WebSocket port at once (in the handshake or upgraded). */
  maxSockets: number
  /** Largest WebSocket message accepted, in bytes. */
  maxMessageBytes: number
}

/** A certificate chain and private key, PEM text, for serving `/tls/ws`. */
export interface WebSocketTls {
  /** The certificate chain, leaf first (PEM). */
  cert: string
  /** The certificate's private key (PEM). */
  key: string
}

/** The code of the error thrown for a certificate and key that do not make a TLS context. */
export const ERR_BAD_TLS = 'ERR_BAD_TLS'

/**
 * Checks that `tls` makes a TLS server context (readable PEM, key matching the
 * certificate); throws a {@link ParleyError} with code {@link ERR_BAD_TLS} otherwise.
 */
export function checkTls (tls: WebSocketTls): void {
  try {
    createSecureContext({ cert: tls.cert, key: tls.key })
  } catch (err) {
    throw new ParleyError(ERR_BAD_TLS, `WebSocket TLS certificate and key are not usable: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * The listen addresses to use: with `tls`, each insecure WebSocket address
 * (`…/ws`) becomes a secure one (`…/tls/ws`); without it, a secure WebSocket
 * address is refused ({@link ParleyError} `ERR_INVALID_OPTIONS`), since the
 * listener would have no certificate to serve.
 */
export function webSocketListenAddrs (listen: string[], tls: boolean): string[] {
  return listen.map(addr => {
    const secure = /\/(wss|tls\/ws)$/.test(addr)
    if (secure && !tls) throw new ParleyError('ERR_INVALID_OPTIONS', `listen address ${addr} is a secure WebSocket address, but no certificate was given (--ws-tls-cert and --ws-tls-key)`)
    return tls && /\/ws$/.test(addr) && !secure ? addr.replace(/\/ws$/, '/tls/ws') : addr
  })
}

/** The parts of `@libp2p/websockets`' listener this module wraps. */
interface WsListener extends Listener {
  onSocketConnection: (socket: Socket) => Promise<void>
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  onWsServerConnection: (socket: EventEmitter, req: IncomingMessage) => void
  wsServer?: { options?: { maxPayload?: number } }
}

/** The connection's 4-tuple: the same for a TCP socket and the TLS socket wrapping it. */
function tupleOf (socket: { remoteAddress?: string, remotePort?: number, localAddress?: string, localPort?: number }): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`
}

/** Wraps a `@libp2p/websockets` listener with {@link WebSocketLimits}. */
function bound (listener: WsListener, limits: WebSocketLimits): Listener {
  const options = listener.wsServer?.options
  if (typeof listener.onSocketConnection !== 'function' || typeof listener.onUpgrade !== 'function' || typeof listener.onWsServerConnection !== 'function' || options === undefined) {
    throw new Error('@libp2p/websockets listener has changed shape: cannot bound its handshakes and message size (see src/node/websockets.ts)')
  }
  options.maxPayload = limits.maxMessageBytes
  /** Every socket on the port. */
  const sockets = new Set<Socket>()
  /** Sockets in the handshake, by 4-tuple, with their deadline timers. */
  const handshaking = new Map<string, { socket: Socket, ip: string, timer: ReturnType<typeof setTimeout> }>()
  const perIp = new Map<string, number>()

  const settle = (tuple: string): void => {
    const entry = handshaking.get(tuple)
    if (entry === undefined) return
    handshaking.delete(tuple)
    clearTimeout(entry.timer)
    const n = (perIp.get(entry.ip) ?? 1) - 1
    if (n <= 0) perIp.delete(entry.ip)
    else perIp.set(entry.ip, n)
  }

  const onSocketConnection = listener.onSocketConnection.bind(listener)
  listener.onSocketConnection = async (socket: Socket): Promise<void> => {
    const ip = socket.remoteAddress ?? ''
    const pending = perIp.get(ip) ?? 0
    if (sockets.size >= limits.maxSockets || pending >= limits.maxHandshakesPerIp) {
      log('refused a WebSocket socket from %s: %s', ip, sockets.size >= limits.maxSockets ? 'too many sockets' : 'too many handshakes from this IP')
      socket.destroy()
      return
    }
    const tuple = tupleOf(socket)
    sockets.add(socket)
    perIp.set(ip, pending + 1)
    const timer = setTimeout(() => {
      log('closed a WebSocket socket from %s: no upgrade within %d ms', ip, limits.handshakeTimeoutMs)
      socket.destroy(new ParleyError('ERR_HANDSHAKE_TIMEOUT', 'WebSocket upgrade not completed in time'))
    }, limits.handshakeTimeoutMs)
    timer.unref()
    handshaking.set(tuple, { socket, ip, timer })
    socket.once('close', () => { sockets.delete(socket); settle(tuple) })
    await onSocketConnection(socket)
  }

  const onUpgrade = listener.onUpgrade.bind(listener)
  listener.onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // the HTTP (and TLS) part is done; libp2p's inbound upgrade timeout bounds the rest
    settle(tupleOf(req.socket))
    onUpgrade(req, socket, head)
  }

  const onWsServerConnection = listener.onWsServerConnection.bind(listener)
  listener.onWsServerConnection = (socket: EventEmitter, req: IncomingMessage): void => {
    // `ws` closes a connection that breaks the protocol (a message over the cap, a bad frame), then
    // emits 'error' on it; the listener adds no 'error' handler, so without this one that error
    // is thrown out of the event loop and takes the relay down
    socket.on('error', (err: Error) => { log('closed a WebSocket connection from %s: %s', req.socket.remoteAddress, err.message) })
    onWsServerConnection(socket, req)
  }

  const close = listener.close.bind(listener)
  listener.close = async (): Promise<void> => {
    // sockets that never sent a byte are not in the listener's own set: its server would wait for them
    for (const { socket } of handshaking.values()) socket.destroy()
    await close()
  }
  return listener
}

/**
 * The relay's WebSocket transport: `webSockets()` with {@link WebSocketLimits},
 * serving TLS on `/tls/ws` (or `/wss`) listen addresses when `tls` is given.
 */
export function relayWebSockets (limits: WebSocketLimits, tls?: WebSocketTls): (components: WebSocketsComponents) => Transport {
  const serverTimeouts = { headersTimeout: limits.handshakeTimeoutMs, requestTimeout: limits.handshakeTimeoutMs }
  const factory = webSockets({
    http: serverTimeouts,
    ...(tls === undefined ? {} : { https: { ...serverTimeouts, cert: tls.cert, key: tls.key, handshakeTimeout: limits.handshakeTimeoutMs } })
  })
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options: CreateListenerOptions): Listener => bound(createListener(options) as WsListener, limits)
    return transport
  }
}
