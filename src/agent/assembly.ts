/**
 * One agent assembly for both runtimes: a libp2p node with the Parley
 * service ({@link parley}) and the libp2p services it needs, wrapped in an
 * {@link Agent} that stays the same object across restarts and key
 * rotations. What differs between Node and the browser (transports, where
 * keys and stores live, the connection gater) is an {@link AgentPlatform},
 * given by `createAgent` in `node.ts` or `browser.ts`.
 */
import type { OutboxEntry } from '../mailbox/outbox.js'
import { createLibp2p } from 'libp2p'
import type { Libp2pOptions } from 'libp2p'
import type { AbortOptions, Libp2p, Transport, ConnectionGater } from '@libp2p/interface'
import { webRTC } from '@libp2p/webrtc'
import { noise } from '@chainsafe/libp2p-noise'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { KadDHT } from '@libp2p/kad-dht'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Datastore } from 'interface-datastore'
import { MemoryDatastore } from 'datastore-core'
import { ReplayGuard } from '../envelope/replay-guard.js'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import type { Identity } from '../identity/identity.js'
import { createIdentity } from '../identity/identity.js'
import { notStarted } from './errors.js'
import { createRotation } from '../handles/record.js'
import type { HandleRecord, HandleRotation } from '../handles/record.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { MAX_STREAM_WINDOW_BYTES } from '../session/constants.js'
import type { Handler, Session } from '../session/session.js'
import type { ReplayCheck } from '../envelope/replay-guard.js'
import type { PendingApproval, TrustLevel, TrustLimits, TrustEntry, LogEntry, ExportedLog } from '../store/index.js'
import type { Terms } from '../negotiation/transition.js'
import { withStunServers } from '../node/stun-announce.js'
import { presenceEnabled, presencePubsub } from '../presence/agent.js'
import type { Presence } from '../presence/presence.js'
import { checkAgentOptions } from './options.js'
import type { AgentOptions } from './options.js'
import { parley } from './service.js'
import type { ParleyService } from './service.js'
import { parleyDHT } from './dht.js'
import { walkPacer } from './walk-pacer.js'
import type { WalkPacer } from './walk-pacer.js'
import { AGENT_EVENTS } from './events.js'
import { INBOUND_CONNECTIONS_PER_SECOND_PER_HOST, MAX_INCOMING_PENDING_CONNECTIONS } from './constants.js'
import type { AgentEvents, VerifiedCard } from './events.js'
import type { CardRecord } from '../handles/card.js'
import type { Desk, InboxMessage } from './desk.js'
import type { Negotiations, MoveResult } from './negotiations.js'
import type { MediaLeg, MediaCalls } from '../media/calls.js'

const log = logger('parley:agent')

/** The libp2p services an agent's node runs (see {@link Agent.libp2p}). */
export type AgentServices = {
  /** The identify protocol: exchanges addresses and protocols with each peer. */
  identify: Identify
  /** libp2p ping, used to check connections are alive. */
  ping: Ping
  /** The Kademlia DHT, in client mode: publishes and resolves handle records. */
  dht: KadDHT
  /** Gossipsub for presence announcements, present only when the `presence` option is on. */
  pubsub?: GossipSub
  /** Paces libp2p's random walk while the relays are down (see {@link WalkPacer}). */
  walkPacer: WalkPacer
  /** Parley itself: sessions, handles, negotiations, the human's desk. */
  parley: ParleyService
}

/** The stores an agent keeps between runs (or in memory). */
export interface AgentStores {
  /** Where the desk, negotiations and (unless `replay` is given) the replay guard are kept. */
  datastore: Datastore
  /** The replay guard; `undefined`: one kept in `datastore`. */
  replay?: ReplayCheck
  /** Closes the stores (after the node stopped). */
  close: () => Promise<void>
}

/** What differs between the runtimes an agent runs on. */
export interface AgentPlatform {
  /** `node` or `browser`, as the dashboard and presence show it. */
  readonly name: 'node' | 'browser'
  /** The agent's identity: loaded from where this runtime keeps it, or new. */
  identity: (options: AgentOptions) => Promise<Identity>
  /** Keeps a new identity after a key rotation (where it keeps identities). */
  saveIdentity: (options: AgentOptions, identity: Identity) => Promise<void>
  /** Opens the agent's stores. */
  stores: (options: AgentOptions) => Promise<AgentStores>
  /** Transports besides circuit relay and WebRTC: WebSockets (to relays), and TCP in Node. */
  transports: () => Array<(components: never) => Transport>
  /** The connection gater (see {@link AgentOptions.dialPrivateAddresses}). */
  gater: (options: AgentOptions) => ConnectionGater | undefined
  /** ICE configuration when the options give none. */
  rtcConfiguration: () => RTCConfiguration
  /** Makes a call's audio leg (protocols/media), with the ICE configuration's servers added; none: the agent refuses audio. */
  audioLeg?: (options: { iceServers: string[], label: string }, rtc: RTCConfiguration) => MediaLeg
  /** Noise's primitives, when not its default (the browser: X25519 keys without a base-point table). */
  noiseCrypto?: () => ICryptoInterface
  /** Called after a node stopped (Node: releases WebRTC threads once no agent runs). */
  stopped?: (stillRunning: number) => Promise<void>
}

/** Stores for an agent without a `dataDir`: memory, and a replay guard there (a new key each run, so nothing it accepted can be replayed to it after a restart). */
export function memoryStores (): AgentStores {
  return { datastore: new MemoryDatastore(), replay: new ReplayGuard(), close: async () => {} }
}

/** Agents started and not yet stopped in this process. */
let running = 0

/**
 * An agent node on the mesh (made by `createAgent`): it serves methods to
 * callers ({@link handle}), opens sessions to other agents ({@link connect}),
 * and holds what its policy reserves for the human for approval
 * ({@link approve}, {@link reject}). It is the same object across
 * {@link stop} / {@link start} and {@link rotateKey}; underneath, each start
 * runs a libp2p node with the Parley service ({@link Agent.parley}).
 */
export class Agent extends TypedEventEmitter<AgentEvents> {
  #identity: Identity
  /** The handle this agent registers, without its `@` (`undefined` for an agent without one). */
  readonly handleName: string | undefined
  readonly #options: AgentOptions
  readonly #platform: AgentPlatform
  readonly #handlers = new Map<string, Handler>()
  #stores: AgentStores | undefined
  #libp2p: Libp2p<AgentServices> | undefined
  #service: ParleyService | undefined
  #rotation: HandleRotation | undefined
  #stopping = false

  constructor (identity: Identity, options: AgentOptions, platform: AgentPlatform) {
    super()
    this.#identity = identity
    this.#options = options
    this.#platform = platform
    this.handleName = checkAgentOptions(options)
  }

  /** The runtime this agent runs on. */
  get platform (): 'node' | 'browser' { return this.#platform.name }
  /** Our key (a new one after {@link rotateKey}). */
  get identity (): Identity { return this.#identity }
  /** Our peer id, as a string (it changes with {@link rotateKey}). */
  get peerId (): string { return this.#identity.peerIdString }
  /** The underlying libp2p node while the agent runs (throws `ERR_NOT_STARTED` before {@link start} and after {@link stop}). */
  get libp2p (): Libp2p<AgentServices> {
    if (this.#libp2p === undefined) throw notStarted()
    return this.#libp2p
  }

  /** The Parley service of the running node (throws `ERR_NOT_STARTED` when not running). */
  get parley (): ParleyService {
    if (this.#service === undefined) throw notStarted()
    return this.#service
  }

  /**
   * Audio in sessions (protocols/media): `media.join(session)` brings a person
   * onto the line by voice (a human-kind agent, or `joining: 'human'`), the
   * `call` event tells when the far side did; `media.leave(session)` ends the
   * audio and keeps the session. Throws `ERR_NOT_STARTED` when not running.
   */
  get media (): MediaCalls { return this.parley.media }

  /** Our published handle record, once {@link start} has published it. */
  get record (): HandleRecord | undefined { return this.#service?.record }
  /** When the node last started (ms since the Unix epoch), once {@link start} has run. */
  get started (): number | undefined { return this.#service?.started }
  /** Presence announcements seen (and ours sent), when the `presence` option is on. */
  get presence (): Presence | undefined { return this.#service?.presence }
  /** Sessions open now, both directions. */
  get sessions (): ReadonlySet<Session> { return this.#service?.sessions ?? new Set() }
  /** The human's desk: trust, approvals, inbox, event log (after {@link start}). */
  get desk (): Desk { return this.parley.desk }
  /** This node's negotiations (after {@link start}). */
  get negotiations (): Negotiations { return this.parley.negotiations }

  /** The handle records this agent holds: those it resolved (validated when resolved) and its own. */
  resolvedHandles (): HandleRecord[] { return this.#service?.resolvedHandles() ?? [] }
  /** The STUN servers this agent gives WebRTC, learnt from its relays (protocols/stun). */
  stunServers (): string[] { return this.#service?.stunServers() ?? [] }
  /** The same, once each relay reached at start has said where it serves STUN (the agent asks in the background). */
  async stunReady (): Promise<string[]> { return this.parley.stunReady() }

  /**
   * Serves `method` on every session (replaces an earlier handler), behind
   * the policy gate: a request the policy holds for the human is answered
   * `{ status: 'held', approval }` and runs once approved ({@link approve}),
   * its result following as an `approval/outcome` notification. `ping`,
   * `message` (to the inbox) and the negotiation methods are served by default.
   */
  handle (method: string, handler: Handler): this {
    this.#handlers.set(method, handler)
    this.#service?.handle(method, handler)
    return this
  }

  /**
   * Starts the node, reserves on the relays, and publishes our handle record.
   * If any step fails, everything this call opened is closed again before the
   * error is thrown (so a process whose start failed can exit): no relay
   * reachable is `ERR_NO_RELAY`, a handle another key holds `ERR_HANDLE_TAKEN`.
   */
  async start (): Promise<void> {
    if (this.#libp2p !== undefined) throw new Error('agent already started')
    const opensStores = this.#stores === undefined
    try {
      await this.#start()
    } catch (err) {
      await this.stop().catch(e => { log('stop after a failed start: %e', e) })
      if (opensStores) await this.close().catch(e => { log('close after a failed start: %e', e) })
      throw err
    }
  }

  async #start (): Promise<void> {
    this.#stopping = false
    const o = this.#options
    if (this.#stores === undefined) {
      // before any session: an envelope accepted before a restart is still refused as a replay
      this.#stores = await this.#platform.stores(o)
    }
    const stores = this.#stores
    const webrtc = o.webrtc !== false
    const rtc = o.rtcConfiguration ?? this.#platform.rtcConfiguration()
    const gater = this.#platform.gater(o)
    const audioLeg = this.#platform.audioLeg
    const options: Libp2pOptions<AgentServices> = {
      start: false,
      privateKey: this.#identity.privateKey,
      // One bare /p2p-circuit per relay: circuit relay v2 then keeps that many reservations among
      // the relays we are connected to (we dial ours), and seeks one again when a relay comes back
      // after a restart. (A relay-specific listen address is reserved once and never again, and
      // mixing the two makes the transport search for one reservation more than there are
      // relays, a DHT random walk that kept a core busy.)
      addresses: { listen: [...o.relays.map(() => '/p2p-circuit'), ...(webrtc ? ['/webrtc'] : [])] },
      // a failed heartbeat ping must not take the relay connection, and every circuit on it, down
      connectionMonitor: { abortConnectionOnPingFailure: false },
      // every relayed caller comes from the relay's IP: libp2p's per-host limits would be shared by all of them
      connectionManager: { inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND_PER_HOST, maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS },
      // read for each new peer connection: our relays' STUN servers are added as they are learnt
      transports: [
        ...(this.#platform.transports() as Libp2pOptions['transports'] & object),
        circuitRelayTransport(),
        ...(webrtc ? [webRTC({ rtcConfiguration: () => withStunServers(rtc, this.#service?.relayStun.values() ?? []) })] : [])
      ],
      connectionEncrypters: [noise(this.#platform.noiseCrypto === undefined ? {} : { crypto: this.#platform.noiseCrypto() })],
      // a paused session stream holds at most its window: bound it (protocols/session §6.1)
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW_BYTES } })],
      ...(gater === undefined ? {} : { connectionGater: gater }),
      services: {
        identify: identify(),
        ping: ping(),
        walkPacer: walkPacer(),
        dht: parleyDHT({ relays: o.relays, ...(o.dhtServers === undefined ? {} : { dhtServers: o.dhtServers }), ...(o.minPowBits === undefined ? {} : { minPowBits: o.minPowBits }) }),
        ...(presenceEnabled(o.presence) ? { pubsub: presencePubsub() } : {}),
        parley: parley({
          ...o,
          identity: this.#identity,
          // the agent's stores; libp2p keeps its peer store in memory, as it always did here
          datastore: stores.datastore,
          ...(stores.replay === undefined ? {} : { replay: stores.replay }),
          ...(this.#rotation === undefined ? {} : { rotation: this.#rotation }),
          ...(audioLeg === undefined ? {} : { createAudioLeg: (leg: { iceServers: string[], label: string }) => audioLeg(leg, rtc) })
        })
      }
    }
    const libp2p = await createLibp2p(options)
    this.#libp2p = libp2p
    const service = this.#service = libp2p.services.parley
    for (const [method, handler] of this.#handlers) service.handle(method, handler)
    for (const type of AGENT_EVENTS) {
      service.addEventListener(type, (e: CustomEvent) => { this.safeDispatchEvent(type, { detail: e.detail }) })
    }
    running++
    await libp2p.start()
    await service.ready()
  }

  /** Stops the node; open sessions close. */
  async stop (): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    const libp2p = this.#libp2p
    if (libp2p !== undefined) {
      this.#libp2p = undefined
      this.#service = undefined
      await libp2p.stop()
      running--
      await this.#platform.stopped?.(running)
    }
  }

  /** Stops the node and closes its stores (a stopped agent that will not start again). */
  async close (): Promise<void> {
    await this.stop()
    const stores = this.#stores
    this.#stores = undefined
    await stores?.close()
  }

  /**
   * Hands our handle over to a new key, as when the old one may be
   * compromised. The old key signs the hand-over; the node restarts under
   * the new key (a new peer id: open sessions close), and publishes a
   * successor record carrying that signature, which DHT servers and
   * resolvers accept in place of the old key's record. With a `dataDir`,
   * the new key replaces the old one on disk.
   *
   * @example
   * ```ts
   * import type { Agent } from 'parley-mesh'
   *
   * declare const agent: Agent
   * const before = agent.peerId
   * const record = await agent.rotateKey()
   * record.rotation?.prev === before // true; callers of @handle now reach the new key
   * ```
   */
  async rotateKey (): Promise<HandleRecord> {
    const handle = this.handleName
    if (handle === undefined) throw new Error('an agent without a handle has nothing to hand over')
    if (this.#libp2p === undefined) throw notStarted()
    const next = await createIdentity({ kind: this.#identity.kind })
    const rotation = await createRotation(this.#identity, handle, next.peerIdString)
    // kept first: where the platform cannot keep it, the agent goes on under its old key
    await this.#platform.saveIdentity(this.#options, next)
    // mail still waiting at our relays is addressed to the old key: picked up while we hold it
    await this.parley.mail.pickUp().catch((err: Error) => { log('picking up mail before the rotation: %e', err) })
    // the event log goes on under the new key: the old one signs the hand-over (protocols/event-log §3.1)
    await this.parley.desk.handOver(next)
    await this.stop()
    log('@%s: key %s hands over to %s', handle, this.#identity.peerIdString, next.peerIdString)
    this.#identity = next
    this.#rotation = rotation
    await this.start()
    const record = this.record
    if (record === undefined) throw new Error(`@${handle} was not republished under the new key`)
    return record
  }

  /** Resolves `@handle` to its current, verified record (cached until expiry). */
  async resolve (handle: string, options: { fresh?: boolean } = {}): Promise<HandleRecord> { return this.parley.resolve(handle, options) }
  /** Publishes (or republishes) our handle record: a handle held by another key is `ERR_HANDLE_TAKEN`. */
  async publish (): Promise<HandleRecord> { return this.parley.publish() }
  /** Publishes our A2A Agent Card under our handle, in the DHT and on gossipsub (protocols/agent-card). */
  async publishCard (card: { [key: string]: JsonValue }): Promise<CardRecord> { return this.parley.publishCard(card) }
  /** The Agent Card of `@handle` from the DHT, signed by the handle's current owner; undefined when it has none. */
  async agentCard (handle: string): Promise<VerifiedCard | undefined> { return this.parley.agentCard(handle) }
  /** Agents whose Agent Card offers a skill (its `id` or a tag), each card checked against its handle's owner (needs `presence`). */
  async findAgents (query: { skill: string }): Promise<VerifiedCard[]> { return this.parley.findAgents(query) }
  /** The Agent Cards heard on gossipsub, unchecked (the dashboard shows them; {@link findAgents} checks ownership). */
  heardCards (): CardRecord[] { return this.parley.heardCards() }
  /**
   * Opens a session to `@handle` (or a peer id): resolves, dials through the
   * peer's relay, exchanges hellos, and returns at once; meanwhile it dials a
   * direct WebRTC connection signalled over the relay and, when that opens,
   * moves the live session onto it (`direct` event). A session whose
   * upgrade fails stays on the relay (`relayed` event).
   */
  async connect (target: string, options: AbortOptions = {}): Promise<Session> { return this.parley.connect(target, options) }
  /** Approvals waiting for the human, oldest first. */
  pending (): PendingApproval[] { return this.parley.pending() }
  /** Approves what approval `id` holds (see {@link ParleyService.approve}). */
  async approve (id: string, options: { reply?: string } = {}): Promise<PendingApproval> { return this.parley.approve(id, options) }
  /** Rejects what approval `id` holds (the caller hears `approval/outcome`; a held accept of ours becomes a reject). */
  async reject (id: string, options: { reply?: string } = {}): Promise<PendingApproval> { return this.parley.reject(id, options) }
  /**
   * Sends a free-text `message` to `@handle` (or a peer id). On a live
   * session the result is the recipient's answer: `queued` in its inbox, or
   * `held` for its human. When the recipient cannot be reached, the message
   * is sealed to it and left at the relays its record lists: `{ status:
   * 'queued', id, relays, waiting }` (or `pending` while no relay has it
   * yet); {@link outbox} and the `mail` event follow it to its receipts.
   */
  async send (to: string, text: string, options: { conversation?: string, inReplyTo?: string } = {}): Promise<JsonValue> { return this.parley.send(to, text, options) }
  /** Our outgoing mail, oldest first: where each message is queued and the receipts that came back. */
  outbox (): OutboxEntry[] { return this.parley.outbox() }
  /** The human has read these inbox messages (all by default): senders of mail get a `read` receipt, once each. */
  async markRead (messages?: readonly InboxMessage[]): Promise<number> { return this.parley.markRead(messages) }
  /** Sets a contact's trust level (a human decision): `@handle` or a peer id. */
  async setTrust (who: string, level: TrustLevel, options: { limits?: TrustLimits, note?: string } = {}): Promise<TrustEntry> { return this.parley.setTrust(who, level, options) }
  /** Opens a negotiation with `@handle` (or a peer id) and sends the first offer. */
  async propose (to: string, options: { subject: string, terms: Terms, ttlMs?: number }): Promise<MoveResult> { return this.parley.propose(to, options) }
  /** The human's inbox, oldest first. */
  async inbox (): Promise<InboxMessage[]> { return this.parley.inbox() }
  /** The event log's last `limit` entries. */
  async logEntries (limit = 50): Promise<LogEntry[]> { return this.parley.logEntries(limit) }
  /** The whole event log, signed and hash-chained: anyone can check it with `parley verify`. */
  async exportLog (): Promise<ExportedLog> { return this.parley.exportLog() }
}

/**
 * Creates an agent on `platform` (not started: call {@link Agent.start}).
 * The options are checked first: a bad relay address or handle throws
 * `ERR_INVALID_OPTIONS` before any key is created or any file written.
 */
export async function assembleAgent (options: AgentOptions, platform: AgentPlatform): Promise<Agent> {
  checkAgentOptions(options)
  const identity = await platform.identity(options)
  return new Agent(identity, options, platform)
}

