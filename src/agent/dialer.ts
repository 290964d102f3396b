/**
 * Opening sessions: resolve a handle, dial the peer through one of its
 * relays, exchange hellos, then move the session onto a direct WebRTC
 * connection signalled over that relay (and close the circuit once no session
 * is left on it).
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AgentError, AgentErrorCode } from '../errors.js'
import { HANDLE_PATTERN } from '../handles/record.js'
import type { HandleRecord } from '../handles/record.js'
import { SESSION_PROTOCOL } from '../session/constants.js'
import { BLOB_PROTOCOL } from '../session/blob.js'
import type { Session } from '../session/session.js'
import { raceSignal } from '../util/abort.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_UPGRADE_TIMEOUT_MS, DIAL_TIMEOUT_MS } from './constants.js'
import { icePath } from './ice-path.js'
import type { IcePath } from './ice-path.js'
import { oneLine } from './errors.js'

const log = logger('parley:agent:dialer')

/** What the dialer needs from the node and the service. */
export interface DialerHost {
  connectionManager: {
    openConnection: (target: Multiaddr | PeerId, options?: AbortOptions & { force?: boolean }) => Promise<Connection>
    getConnections: (peer?: PeerId) => Connection[]
  }
  resolve: (handle: string, options?: { fresh?: boolean }) => Promise<HandleRecord>
  /** A new outbound session on `stream` (tracked by the service). */
  open: (connection: Connection, peer: string, signal: AbortSignal | undefined) => Promise<Session>
  connected: (session: Session) => void
  direct: (detail: { session: Session, peer: string, path?: IcePath }) => void
  relayed: (detail: { session: Session, peer: string, attempts: number, reason: string }) => void
  stopping: () => boolean
  /** `stream` (a session's) runs on `connection`. */
  carried: (stream: Stream, connection: Connection) => void
  /** Settles once the relays' STUN servers are known (WebRTC dials wait for it). */
  stunLearnt: () => Promise<void>
  webrtc: boolean
  connectTimeoutMs?: number
  upgradeTimeoutMs?: number
}

/** The best of `connections` open now: a direct one before a relayed one. */
export function bestConnection (connections: readonly Connection[]): Connection | undefined {
  const open = connections.filter(c => c.status === 'open')
  return open.find(c => c.limits === undefined) ?? open[0]
}

export class Dialer {
  readonly #host: DialerHost
  /** The relays each session's peer was reached through, to reach it again. */
  readonly #relaysOf = new WeakMap<Session, readonly string[]>()

  constructor (host: DialerHost) {
    this.#host = host
  }

  /** Opens a session to `@handle` or a peer id, within `connectTimeoutMs` (`ERR_CONNECT_TIMEOUT`) and `options.signal`. */
  async connect (target: string, options: AbortOptions = {}): Promise<Session> {
    const ms = this.#host.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    const deadline = ms > 0 ? AbortSignal.timeout(ms) : undefined
    const signals = [deadline, options.signal].filter((s): s is AbortSignal => s !== undefined)
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals)
    try {
      return await this.#connect(target, signal)
    } catch (err) {
      if (deadline?.aborted === true && options.signal?.aborted !== true) {
        throw new AgentError(AgentErrorCode.CONNECT_TIMEOUT, `no session with ${target} within ${ms} ms (connectTimeoutMs): the peer may be offline, or its relays unreachable`, { cause: err })
      }
      throw err
    }
  }

  async #connect (target: string, signal: AbortSignal | undefined): Promise<Session> {
    const within = async <T>(p: Promise<T>): Promise<T> => signal === undefined ? p : raceSignal(p, signal)
    let relays: string[] = []
    let opened: { connection: Connection, session: Session }
    if (target.startsWith('@') || HANDLE_PATTERN.test(target)) {
      let record = await within(this.#host.resolve(target))
      try {
        opened = await this.#open(record.peer, record.relays, signal)
      } catch (err) {
        signal?.throwIfAborted()
        // the cached record may be stale: the handle moved relays, or to a new key
        const fresh = await within(this.#host.resolve(target, { fresh: true }))
        if (fresh === record) throw err
        record = fresh
        opened = await this.#open(record.peer, record.relays, signal)
      }
      relays = [...record.relays]
    } else {
      opened = await this.#open(peerIdFromString(target).toString(), relays, signal)
    }
    const { connection, session } = opened
    this.#relaysOf.set(session, relays)
    this.#host.connected(session)
    if (connection.limits !== undefined && relays.length > 0 && this.#host.webrtc) void this.#upgrade(session, relays, connection)
    return session
  }

  /**
   * A session with `peer` on a connection {@link dial} gives. A connection
   * that was already open may be dead without libp2p knowing yet (the peer
   * restarted, or rotated its key, and its WebRTC transport is torn down):
   * when the session cannot open on it, one new connection is dialled.
   */
  async #open (peer: string, relays: readonly string[], signal: AbortSignal | undefined): Promise<{ connection: Connection, session: Session }> {
    const open = this.#openConnection(peer)
    const reused = open !== undefined
    const connection = open ?? await this.dial(peer, relays, signal)
    try {
      return { connection, session: await this.#host.open(connection, peer, signal) }
    } catch (err) {
      if (!reused) throw err
      signal?.throwIfAborted()
      log('no session on the open connection to %s (%e): dialling a new one', peer, err)
      const again = await this.dial(peer, relays, signal, { fresh: true })
      return { connection: again, session: await this.#host.open(again, peer, signal) }
    }
  }

  /**
   * An open connection to `peer` (a direct one first), or a new one through
   * one of `relays`; with `fresh`, always a new one.
   */
  async dial (peer: string, relays: readonly string[], signal?: AbortSignal, options: { fresh?: boolean } = {}): Promise<Connection> {
    const cm = this.#host.connectionManager
    if (options.fresh !== true) {
      const open = this.#openConnection(peer)
      if (open !== undefined) return open
    }
    // each attempt gets DIAL_TIMEOUT_MS, within what is left of connect()'s
    const attempt = (): AbortSignal => signal === undefined ? AbortSignal.timeout(DIAL_TIMEOUT_MS) : AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
    const force = options.fresh === true
    const failures: string[] = []
    let lastError: unknown
    for (const relay of relays) {
      signal?.throwIfAborted()
      try {
        return await cm.openConnection(multiaddr(`${relay}/p2p-circuit/p2p/${peer}`), { signal: attempt(), force })
      } catch (err) {
        lastError = err
        failures.push(`${relay}: ${oneLine(err)}`)
      }
    }
    if (relays.length === 0) {
      try {
        return await cm.openConnection(peerIdFromString(peer), { signal: attempt(), force })
      } catch (err) {
        lastError = err
        failures.push(`direct: ${oneLine(err)}`)
      }
    }
    // an abort is the caller's deadline or signal, which connect() reports as such
    signal?.throwIfAborted()
    throw new AgentError(AgentErrorCode.PEER_UNREACHABLE, `cannot reach ${peer} (${failures.join('; ')}): it may be offline, or not yet registered again with its relay`, { cause: lastError })
  }

  /**
   * A new session stream to `session`'s peer after its connection was lost
   * (protocols/session §5.1): on a connection still open to it, else dialled
   * afresh through the relays it was reached by (a relay that restarted
   * comes back at its address).
   */
  async reconnect (session: Session, signal: AbortSignal): Promise<Stream> {
    const connection = await this.dial(session.remotePeer, this.#relaysOf.get(session) ?? [], signal)
    const stream = await connection.newStream(SESSION_PROTOCOL, { runOnLimitedConnection: true, signal })
    this.#host.carried(stream, connection)
    log('session %s with %s: a new stream on %a to resume it', session.id, session.remotePeer, connection.remoteAddr)
    return stream
  }

  #openConnection (peer: string): Connection | undefined {
    return bestConnection(this.#host.connectionManager.getConnections(peerIdFromString(peer)))
  }


  /**
   * Dials a direct WebRTC connection through one of `relays` and moves
   * `session` onto it; then closes the relayed connection `circuit`, which
   * counts against the relay's limits, once no session stream is left on it.
   */
  async #upgrade (session: Session, relays: string[], circuit: Connection): Promise<void> {
    const timeout = this.#host.upgradeTimeoutMs ?? DEFAULT_UPGRADE_TIMEOUT_MS
    let attempts = 0
    let reason = 'no attempt'
    await this.#host.stunLearnt()
    // WebRTC setup through a relay sometimes stalls (see docs/benchmarks.md): try each relay twice
    for (const relay of [...relays, ...relays]) {
      if (session.closed || this.#host.stopping()) return
      attempts++
      try {
        log('session %s with %s: dialling WebRTC through %s (attempt %d)', session.id, session.remotePeer, relay, attempts)
        // force: libp2p would otherwise hand back the relayed connection we already have
        const connection = await this.#host.connectionManager.openConnection(multiaddr(`${relay}/p2p-circuit/webrtc/p2p/${session.remotePeer}`), { signal: AbortSignal.timeout(timeout), force: true })
        if (connection.limits !== undefined) { reason = 'the WebRTC dial gave a relayed connection'; continue }
        log('session %s with %s: WebRTC connection open, moving the session onto it', session.id, session.remotePeer)
        const stream = await connection.newStream(SESSION_PROTOCOL, { signal: AbortSignal.timeout(timeout) })
        this.#host.carried(stream, connection)
        await session.upgrade(stream)
        await this.announceDirect(session, connection)
        await this.#dropCircuit(circuit)
        return
      } catch (err) {
        reason = oneLine(err)
        log('no direct WebRTC connection to %s through %s: %e', session.remotePeer, relay, err)
      }
    }
    if (session.closed || this.#host.stopping()) return
    // a NAT that maps each destination to a new port (symmetric) on either side defeats hole punching
    log('session %s with %s stays on the relay: no direct connection after %d attempts (%s); behind a symmetric NAT, only a TURN server would help', session.id, session.remotePeer, attempts, reason)
    this.#host.relayed({ session, peer: session.remotePeer, attempts, reason })
  }

  /** Logs and announces (`direct` event) the ICE candidate pair a session now runs on. */
  async announceDirect (session: Session, connection: Connection): Promise<void> {
    const path = await icePath(connection)
    log('session %s with %s is direct on %a (%s)', session.id, session.remotePeer, connection.remoteAddr,
      path === undefined ? 'candidate pair unknown' : `${path.local.type} ${path.local.address ?? '?'}:${path.local.port ?? '?'} -> ${path.remote.type} ${path.remote.address ?? '?'}:${path.remote.port ?? '?'}`)
    this.#host.direct({ session, peer: session.remotePeer, ...(path === undefined ? {} : { path }) })
  }

  /**
   * Closes a relayed connection once no session stream (nor a payload being
   * pulled, protocols/blob) is left on it: the far side closes a session's old
   * stream when it has adopted the new one, and closing the circuit before
   * then could end the session there. Gives up
   * (leaves it open) after `waitMs`, if another session still uses it.
   */
  async #dropCircuit (circuit: Connection, waitMs = 5000): Promise<void> {
    const deadline = Date.now() + waitMs
    while (circuit.status === 'open' && !this.#host.stopping()) {
      if (!circuit.streams.some(s => s.protocol === SESSION_PROTOCOL || s.protocol === BLOB_PROTOCOL)) {
        log('closing the relayed connection to %p: its sessions are direct now', circuit.remotePeer)
        await circuit.close().catch(err => { circuit.abort(err as Error) })
        return
      }
      if (Date.now() >= deadline) return
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}
