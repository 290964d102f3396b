/**
 * An agent's hold on its relays: it dials them, learns where they serve STUN
 * (protocols/stun), waits for a circuit relay reservation, and redials a relay
 * that went away, with backoff (the reservation and the handle record follow).
 *
 * A relay that refused us a reservation (it was full, or we came back too
 * often) is not asked again on the same connection: libp2p's circuit relay
 * transport asks a relay once per connection. So a relay we are connected to
 * without a reservation, and with no circuit of ours through it, is
 * disconnected and redialled, with backoff, until it grants one.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { AbortOptions, Connection, Libp2pEvents, PeerId, Stream, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AgentError, AgentErrorCode } from '../errors.js'
import { askStunServer } from '../node/stun-announce.js'
import { DIAL_TIMEOUT_MS, RESERVATION_TIMEOUT_MS } from './constants.js'
import { oneLine } from './errors.js'
import { p2pPeerOf } from '../util/multiaddr.js'

const log = logger('parley:agent:relays')

/** Redialling a relay that went away: the first wait and the longest, in ms. */
const REDIAL_BACKOFF_MS = [250, 10_000] as const
/** Dialling again a relay that answered but granted no reservation: the first wait and the longest, in ms. */
const REFUSED_BACKOFF_MS = [5_000, 60_000] as const

/** What the relay link needs from the node. */
export interface RelayLinkComponents {
  connectionManager: {
    openConnection: (target: Multiaddr, options?: AbortOptions & { force?: boolean }) => Promise<Connection>
    openStream: (target: Multiaddr, protocol: string, options?: AbortOptions) => Promise<Stream>
    getConnections: (peer?: PeerId) => Connection[]
    closeConnections: (peer: PeerId, options?: AbortOptions) => Promise<void>
  }
  addressManager: { getAddresses: () => Multiaddr[] }
  events: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'>
  peerId: PeerId
}

export interface RelayLinkInit {
  /** The relays' multiaddrs, each ending in `/p2p/<relay peer id>`. */
  relays: readonly string[]
  /** Ask each relay for its STUN server (when WebRTC is on). */
  stun: boolean
  /** Called once a relay that came back has granted a reservation again. */
  onBack: (relay: string) => Promise<void>
}

export class RelayLink {
  readonly #components: RelayLinkComponents
  readonly #init: RelayLinkInit
  /** The STUN server each of our relays announced (relay address → `stun:` URL). */
  readonly stun = new Map<string, string>()
  #stopping = false
  /** Waits for a reservation, failed at once by {@link stop}. */
  readonly #waiting = new Set<() => void>()
  /** Relays being redialled now (one loop each). */
  readonly #redialling = new Set<string>()
  /** Asks the relays that granted nothing again, {@link RESERVATION_TIMEOUT_MS} after {@link join}. */
  #retryTimer: ReturnType<typeof setTimeout> | undefined

  constructor (components: RelayLinkComponents, init: RelayLinkInit) {
    this.#components = components
    this.#init = init
  }

  /**
   * Dials every relay; throws `ERR_NO_RELAY` when none answers. Then asks the
   * ones reached where they serve STUN (one round trip each, on the open
   * connection), in the background ({@link stunLearnt}).
   */
  async join (): Promise<void> {
    const relays = this.#init.relays
    const dials = await Promise.allSettled(relays.map(async r => this.#components.connectionManager.openConnection(multiaddr(r), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })))
    if (relays.length > 0 && dials.every(d => d.status === 'rejected')) {
      const why = dials.map((d, i) => `${relays[i]}: ${d.status === 'rejected' ? oneLine(d.reason) : 'ok'}`).join('; ')
      throw new AgentError(AgentErrorCode.NO_RELAY, `no relay could be reached (${why}); is the relay running, and is this its current address? A relay prints its addresses when it starts`)
    }
    // a relay that has granted nothing by then refused us: it is asked again on a new connection
    clearTimeout(this.#retryTimer)
    this.#retryTimer = setTimeout(() => { this.retryRefused().catch(err => { log.error('asking the relays again: %e', err) }) }, RESERVATION_TIMEOUT_MS)
    this.#retryTimer.unref?.()
    // in the background: WebRTC waits for it (stunLearnt) only when it dials
    if (this.#init.stun) this.stunLearnt = Promise.allSettled(relays.filter((_r, i) => dials[i]?.status === 'fulfilled').map(async r => this.learnStun(r))).then(() => {})
  }

  /** Settles once the relays reached at {@link join} have said where they serve STUN (or that they do not). */
  stunLearnt: Promise<void> = Promise.resolve()

  stop (): void {
    this.#stopping = true
    clearTimeout(this.#retryTimer)
    for (const fail of [...this.#waiting]) fail()
  }

  /** Asks `relay` where it serves STUN (protocols/stun), and remembers the answer. */
  async learnStun (relay: string): Promise<void> {
    try {
      const cm = this.#components.connectionManager
      const url = await askStunServer({ dialProtocol: async (ma, protocol, options) => cm.openStream(ma, protocol, options) }, relay, { signal: AbortSignal.timeout(3000) })
      if (url === undefined) this.stun.delete(relay)
      else this.stun.set(relay, url)
      log('relay %s: %s', relay, url === undefined ? 'no STUN server announced' : `STUN at ${url}`)
    } catch (err) {
      // an older relay does not speak the protocol: no STUN from it
      log('relay %s announces no STUN server: %e', relay, err)
    }
  }

  /** The relays that hold a reservation for us now (as given in the options). */
  reserved (): string[] {
    const own = `/p2p-circuit/p2p/${this.#components.peerId.toString()}`
    const reserved = new Set<string>()
    for (const a of this.#components.addressManager.getAddresses()) {
      const s = a.toString()
      if (s.endsWith(own) && !s.includes('/webrtc')) reserved.add(s.slice(0, -own.length))
    }
    return this.#init.relays.filter(r => reserved.has(r))
  }

  /**
   * Resolves once a relay (or `relay`, when given) holds a reservation for us
   * (a listener says so: `transport:listening`, or our addresses change);
   * `ERR_NO_RELAY` after `timeoutMs`, or when stopped.
   */
  async reservation (timeoutMs = RESERVATION_TIMEOUT_MS, relay?: string): Promise<void> {
    const held = (): boolean => relay === undefined ? this.reserved().length > 0 : this.reserved().includes(relay)
    if (this.#init.relays.length === 0 || held()) return
    const events = this.#components.events
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer)
        events.removeEventListener('transport:listening', check)
        events.removeEventListener('self:peer:update', check)
        this.#waiting.delete(fail)
        if (err === undefined) resolve()
        else reject(err)
      }
      const check = (): void => { if (held()) done() }
      const fail = (): void => { done(new AgentError(AgentErrorCode.NO_RELAY, `no relay granted a reservation within ${timeoutMs} ms (relays: ${relay ?? this.#init.relays.join(', ')}); the relay may be full (see its /healthz) or refusing this peer (it limits how often one peer reserves: --reservation-rate-per-peer)`)) }
      const timer = setTimeout(fail, timeoutMs)
      this.#waiting.add(fail)
      // a circuit listener says it listens as soon as a relay grants a reservation; the address
      // manager's own update comes a second later (debounced)
      events.addEventListener('transport:listening', check)
      events.addEventListener('self:peer:update', check)
      check()
    })
  }

  /**
   * Each relay we are connected to that holds no reservation for us, and
   * carries no circuit of ours, is disconnected, so that {@link onDisconnect}
   * dials it anew and the new connection asks again. Run once a relay has had
   * {@link RESERVATION_TIMEOUT_MS} to grant one.
   */
  async retryRefused (): Promise<void> {
    if (this.#stopping) return
    const reserved = new Set(this.reserved())
    for (const relay of this.#init.relays) {
      if (reserved.has(relay) || this.#redialling.has(relay)) continue
      await this.#drop(relay)
    }
  }

  /** Closes our connections to `relay` unless a circuit of ours runs through it; true if it did. */
  async #drop (relay: string): Promise<boolean> {
    const peer = peerIdOf(relay)
    if (peer === undefined) return false
    const cm = this.#components.connectionManager
    if (cm.getConnections(peer).length === 0) return false
    const through = `/p2p/${peer.toString()}/p2p-circuit`
    if (cm.getConnections().some(c => c.remoteAddr.toString().includes(through))) {
      log('relay %s holds no reservation for us, but carries our circuits: not redialled', relay)
      return false
    }
    log('relay %s holds no reservation for us: dialling it anew to ask again', relay)
    await cm.closeConnections(peer).catch((err: unknown) => { log('closing %s: %e', relay, err) })
    return true
  }

  /**
   * A peer went away: if it is one of our relays, redial it with backoff
   * (250 ms doubling to 10 s); the reservation and `onBack` follow. A relay
   * that answers but grants no reservation is disconnected and dialled again
   * later (5 s doubling to a minute: it is full, or we came too often, and
   * each try costs it a handshake).
   */
  onDisconnect (peer: string): void {
    const relay = this.#init.relays.find(r => r.endsWith(`/p2p/${peer}`))
    if (relay === undefined || this.#stopping || this.#redialling.has(relay)) return
    this.#redialling.add(relay)
    void (async () => {
      let unreachable: number = REDIAL_BACKOFF_MS[0]
      let refused: number = REFUSED_BACKOFF_MS[0]
      let delay = unreachable
      while (!this.#stopping) {
        await new Promise(resolve => setTimeout(resolve, delay))
        if (this.#stopping) return
        try {
          await this.#components.connectionManager.openConnection(multiaddr(relay), { signal: AbortSignal.timeout(5000) })
        } catch (err) {
          log('relay %s still unreachable: %e', relay, err)
          unreachable = Math.min(unreachable * 2, REDIAL_BACKOFF_MS[1])
          delay = unreachable
          continue
        }
        try {
          await this.reservation(10_000, relay)
        } catch (err) {
          log('relay %s answered but granted no reservation: %e', relay, err)
          await this.#drop(relay)
          delay = refused
          refused = Math.min(refused * 2, REFUSED_BACKOFF_MS[1])
          continue
        }
        try {
          // the relay may have come back with another STUN port, or none
          if (this.#init.stun) await this.learnStun(relay)
          await this.#init.onBack(relay)
          log('back on relay %s', relay)
          return
        } catch (err) {
          // tried again on the next round (the connection and the reservation are kept)
          log('back on relay %s, but not published yet: %e', relay, err)
          unreachable = Math.min(unreachable * 2, REDIAL_BACKOFF_MS[1])
          delay = unreachable
        }
      }
    })().catch(err => { log.error('redialling relay %s failed: %e', relay, err) }).finally(() => { this.#redialling.delete(relay) })
  }
}

/** The peer id a relay's multiaddr ends in (the options were checked: every relay has one). */
function peerIdOf (relay: string): PeerId | undefined {
  const id = p2pPeerOf(relay)
  return id === undefined ? undefined : peerIdFromString(id)
}
