/**
 * Parley as a libp2p service: add `parley()` under `services` of any
 * js-libp2p node (with a Kademlia DHT service that validates handle records,
 * and circuit relay transport to reach agents behind relays) and the node
 * speaks Parley: it registers a handle, serves methods, opens signed sessions
 * to `@handles`, negotiates and holds what its policy reserves for the human.
 * `createAgent` assembles exactly this service on a node of its own; this is
 * the way in for an application that already runs a libp2p node. A node that
 * is called through relays should raise libp2p's per-host inbound limits as
 * `createAgent` does (`INBOUND_CONNECTIONS_PER_SECOND_PER_HOST`): every
 * relayed caller arrives from the relay's IP address.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p'
 * import { webSockets } from '@libp2p/websockets'
 * import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
 * import { noise } from '@chainsafe/libp2p-noise'
 * import { yamux } from '@chainsafe/libp2p-yamux'
 * import { identify } from '@libp2p/identify'
 * import { ping } from '@libp2p/ping'
 * import { parley, parleyDHT } from 'parley-mesh'
 *
 * const relay = process.env.PARLEY_RELAY ?? ''
 * const node = await createLibp2p({
 *   addresses: { listen: ['/p2p-circuit'] },
 *   transports: [webSockets(), circuitRelayTransport()],
 *   connectionEncrypters: [noise()],
 *   streamMuxers: [yamux()],
 *   services: { identify: identify(), ping: ping(), dht: parleyDHT({ relays: [relay] }), parley: parley({ relays: [relay] }) }
 * })
 * await node.services.parley.ready()
 * const session = await node.services.parley.connect('@rapidplumb')
 * console.log(await session.request('ping')) // 'pong'
 * ```
 *
 * @packageDocumentation
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import type { AbortOptions, Connection, Libp2pEvents, PeerId, PrivateKey, Startable, Stream, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { KadDHT } from '@libp2p/kad-dht'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Datastore } from 'interface-datastore'
import { TypedEventEmitter } from 'main-event'
import { AgentError, AgentErrorCode } from '../errors.js'
import { notStarted } from './errors.js'
import { createIdentity } from '../identity/identity.js'
import type { Identity, IdentityKind } from '../identity/identity.js'
import { HANDLE_PATTERN, handleKey, validateHandleRecord } from '../handles/record.js'
import type { HandleRecord, HandleRotation } from '../handles/record.js'
import { DEFAULT_POW_BITS } from '../handles/pow.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { utf8 } from '../crypto/bytes.js'
import { SESSION_PROTOCOL, DEFAULT_FRAMES_PER_SECOND_BY_TRUST } from '../session/constants.js'
import { Session, RESUME, framesOf, peekBody } from '../session/session.js'
import type { Caller, EnvelopeRecord, Handler, SessionHost } from '../session/session.js'
import { TokenBuckets } from '../util/token-bucket.js'
import { raceSignal } from '../util/abort.js'
import { ReplayStore } from '../store/replay-store.js'
import type { ReplayCheck } from '../envelope/replay-guard.js'
import type { PendingApproval, TrustLevel, TrustLimits, TrustEntry, LogEntry, ExportedLog } from '../store/index.js'
import type { Party, Terms } from '../negotiation/transition.js'
import { METHODS } from '../methods/index.js'
import { presenceEnabled, startAgentPresence } from '../presence/agent.js'
import type { AgentPresenceOption } from '../presence/agent.js'
import type { Presence } from '../presence/presence.js'
import { Desk } from './desk.js'
import type { InboxMessage } from './desk.js'
import { HumanBridge, inboxMessage, recordEnvelope } from './bridge.js'
import { Negotiations, DECLINED_METHOD } from './negotiations.js'
import type { MoveResult } from './negotiations.js'
import { HandleResolver } from './resolver.js'
import { getValueFrom } from './dht-get.js'
import { BLOB_PROTOCOL, Blobs } from '../session/blob.js'
import { MediaCalls } from '../media/calls.js'
import type { MediaLeg } from '../media/calls.js'
import { JOIN_METHOD, LEAVE_METHOD } from '../media/constants.js'
import { CardBoard } from '../presence/cards.js'
import { CardRecordError, CardRecordErrorCode, cardKey, cardSkills, createCardRecord, validateCardRecord } from '../handles/card.js'
import type { CardRecord } from '../handles/card.js'
import { dhtAnswers } from '../handles/lookup.js'
import type { RawAnswer } from '../handles/lookup.js'
import { DHT_PROTOCOL } from '../node/constants.js'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Mail } from './mail.js'
import type { MailHost, MailSent } from './mail.js'
import { RECEIPT_METHOD } from '../mailbox/constants.js'
import type { OutboxEntry } from '../mailbox/outbox.js'
import { RpcError, handlerParams } from '../session/session.js'
import type { HandlerContext, HandlerParams } from '../session/session.js'
import type { MailContext } from './bridge.js'
import type { JsonRpcParams } from '../envelope/jsonrpc.js'
import { HandlePublisher } from './publisher.js'
import { RelayLink } from './relays.js'
import { Dialer, bestConnection } from './dialer.js'
import { checkAgentOptions, relayPeer } from './options.js'
import type { AgentOptions } from './options.js'
import type { AgentEvents, VerifiedCard } from './events.js'
import { CARD_PUBLISH_TIMEOUT_MS, MAX_BLOB_PULLS_PER_CONNECTION, DEFAULT_DHT_SERVICE, DEFAULT_MAX_SESSIONS_PER_PEER, DIRECT_GET_TIMEOUT_MS, DEFAULT_PUBSUB_SERVICE, PRUNE_INTERVAL_MS } from './constants.js'

const log = logger('parley:agent')

/** Methods the node answers itself, whatever the policy (their own logic gates what matters). */
// media/join and media/leave carry their own admission rule (protocols/media §1): a human on the line
const BUILT_IN = new Set<string>(['ping', METHODS.transition, METHODS.applied, DECLINED_METHOD, METHODS.outcome, RECEIPT_METHOD, JOIN_METHOD, LEAVE_METHOD])

/**
 * The Parley service's options: an agent's options (see `createAgent`)
 * without what belongs to the assembly (`dataDir`, `rtcConfiguration`), plus
 * what an assembly may hand in.
 */
export interface ParleyInit extends Omit<AgentOptions, 'dataDir' | 'rtcConfiguration'> {
  /**
   * Makes the audio leg of a call (protocols/media), given the ICE servers
   * the data connections use; without it this node refuses audio. `createAgent`
   * passes its platform's: in Node `createAudioLeg` (src/media/leg.ts), in a
   * browser a leg on the tab's own `RTCPeerConnection` and microphone
   * (src/media/browser-leg.ts).
   */
  createAudioLeg?: (options: { iceServers: string[], label: string }) => MediaLeg
  /** The identity to sign with; by default, the node's own Ed25519 key (`components.privateKey`). */
  identity?: Identity
  /** The replay guard sessions share; by default one kept in the datastore. */
  replay?: ReplayCheck
  /** Where the desk, negotiations and (by default) the replay guard are kept; by default the node's datastore. */
  datastore?: Datastore
  /** The name of the node's Kademlia DHT service (default `dht`). */
  dhtService?: string
  /** The name of the node's gossipsub service, used when `presence` is on (default `pubsub`). */
  pubsubService?: string
  /** A handle record rotation to carry in our records (after a key rotation). */
  rotation?: HandleRotation
}

/** What the Parley service needs from the libp2p node (its `components`). */
export interface ParleyComponents {
  /** The node's peer id. */
  peerId: PeerId
  /** The node's key: the Parley identity when `init.identity` is not given. */
  privateKey: PrivateKey
  /** Where the session protocol is handled. */
  registrar: Registrar
  /** Dials relays and peers, and lists connections. */
  connectionManager: ConnectionManager
  /** The node's addresses: which relays hold a reservation for it. */
  addressManager: AddressManager
  /** The node's events (`peer:disconnect`, connection events for presence). */
  events: TypedEventTarget<Libp2pEvents>
  /** The node's datastore: the desk's when `init.datastore` is not given. */
  datastore: Datastore
}

/**
 * The Parley service (see {@link parley}): everything an agent does on the
 * mesh, over the libp2p node it is added to.
 */
export class ParleyService extends TypedEventEmitter<AgentEvents> implements Startable {
  /** The service's name, as libp2p logs it. */
  readonly [Symbol.toStringTag] = '@parley/agent'
  /** What this service offers other services (libp2p's dependency check). */
  readonly [serviceCapabilities]: string[] = ['@parley/agent']
  /** What it needs on the node: identify (for circuit relay) and a kad-dht (handle records). */
  readonly [serviceDependencies]: string[] = ['@libp2p/identify', '@libp2p/kad-dht']
  /** The handle this agent registers, without its `@` (`undefined` for an agent without one). */
  readonly handleName: string | undefined
  /** Audio in sessions (protocols/media): `join` a session by voice, `leave` it; a `call` event when the far side joins. */
  readonly media: MediaCalls
  readonly #components: ParleyComponents
  readonly #init: ParleyInit
  #identity: Identity | undefined
  /** What `handle()` registered, as given. */
  readonly #handlers = new Map<string, Handler>()
  /** The connection each session stream was opened on: a session whose connection is lost waits to be resumed. */
  readonly #carriers = new WeakMap<Stream, Connection>()
  readonly #blobs = new Blobs({ newStream: async (peer, protocol, signal) => this.#newStream(peer, protocol, signal) })
  /** The same, behind the policy gate: what sessions call. */
  readonly #gated = new Map<string, Handler>()
  readonly #history = new WeakMap<Session, EnvelopeRecord[]>()
  readonly #bridge: HumanBridge
  readonly #sessions = new Set<Session>()
  readonly #frameRates: ReadonlyArray<TokenBuckets<string> | undefined>
  readonly #trusted: Set<string>
  #replay: ReplayCheck | undefined
  #desk: Desk | undefined
  #negotiations: Negotiations | undefined
  #mail: Mail | undefined
  #resolver: HandleResolver | undefined
  #publisher: HandlePublisher | undefined
  #relays: RelayLink | undefined
  #dialer: Dialer | undefined
  #presence: Presence | undefined
  #cards: CardBoard | undefined
  #ownCard: CardRecord | undefined
  #cardTimer: ReturnType<typeof setTimeout> | undefined
  #pruneTimer: ReturnType<typeof setInterval> | undefined
  #ready: Promise<void> | undefined
  #started: number | undefined
  #running = false
  #stopping = false

  constructor (components: ParleyComponents, init: ParleyInit) {
    super()
    this.#components = components
    this.#init = init
    this.handleName = checkAgentOptions(init)
    this.#trusted = new Set([...init.relays.map(relayPeer), ...(init.dhtServers ?? [])])
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const service = this
    this.#bridge = new HumanBridge({
      get desk () { return service.desk },
      get negotiations () { return service.negotiations },
      get identity () { return service.identity },
      handlers: this.#handlers,
      sessionWith: async (party, preferred) => this.#sessionWith(party, preferred),
      history: (session) => this.#history.get(session)
    })
    const fps = init.maxFramesPerSecond ?? DEFAULT_FRAMES_PER_SECOND_BY_TRUST
    // by trust level; each a burst of two seconds' worth, then the rate
    this.#frameRates = (typeof fps === 'number' ? [fps, fps, fps] : fps).map(r => r === 0 ? undefined : new TokenBuckets<string>({ rate: r, burst: 2 * r }))
    this.media = new MediaCalls({
      kind: () => this.#identity?.kind === 'human' ? 'human' : 'agent',
      ...(init.createAudioLeg === undefined ? {} : { createLeg: init.createAudioLeg }),
      iceServers: () => this.stunServers()
    })
    this.handle('ping', () => 'pong')
    this.handle(JOIN_METHOD, this.media.onJoin)
    this.handle(LEAVE_METHOD, this.media.onLeave)
    this.handle(METHODS.message, this.#message)
    this.handle(METHODS.transition, async (params, context) => this.negotiations.onTransition(params, context))
    this.handle(METHODS.applied, async (params, context) => { await this.negotiations.onDecided(params, context, true); return null })
    this.handle(DECLINED_METHOD, async (params, context) => { await this.negotiations.onDecided(params, context, false); return null })
    // a receipt for mail we sent (protocols/mailbox §7), on a live session
    this.handle(RECEIPT_METHOD, async (params, context) => { await this.mail.receipt(context.caller.peer, params); return null })
    this.handle(METHODS.outcome, async (params, context) => {
      const p = params as { approval: string, request: string, decision: 'approve' | 'reject', reply?: string, result?: JsonValue }
      // only from the peer that holds that request of ours, once; anything else is ignored and counted
      if (!await this.#bridge.acceptOutcome(params, context)) return null
      this.safeDispatchEvent('outcome', { detail: { ...p, from: context.caller, ...(context.session.id === undefined ? {} : { session: context.session.id }) } })
      return null
    })
  }

  /** Our key. */
  get identity (): Identity {
    if (this.#identity === undefined) throw notStarted()
    return this.#identity
  }

  /** Our peer id, as a string. */
  get peerId (): string { return this.#components.peerId.toString() }

  /** Our published handle record, once published. */
  get record (): HandleRecord | undefined { return this.#publisher?.record }

  /** When the service last started (ms since the Unix epoch). */
  get started (): number | undefined { return this.#started }

  /** Presence announcements seen (and ours sent), when the `presence` option is on. */
  get presence (): Presence | undefined { return this.#presence }

  /** Sessions open now, both directions. */
  get sessions (): ReadonlySet<Session> { return this.#sessions }

  /** The human's desk: trust, approvals, inbox, event log (once started). */
  get desk (): Desk {
    if (this.#desk === undefined) throw notStarted()
    return this.#desk
  }

  /** This node's negotiations (once started). */
  get negotiations (): Negotiations {
    if (this.#negotiations === undefined) throw notStarted()
    return this.#negotiations
  }

  /** The agent's mail: its outbox, deposits at relays and pickup (protocols/mailbox). */
  get mail (): Mail {
    if (this.#mail === undefined) throw notStarted()
    return this.#mail
  }

  /** A `message` goes to the human's inbox (the policy gate in front decides whether it is held first). */
  readonly #message = async (params: HandlerParams, context: HandlerContext | MailContext): Promise<JsonValue> => {
    await this.desk.deliver(inboxMessage(params, context))
    return { status: 'queued' }
  }

  /** The handle records this node holds: those it resolved (validated when resolved) and its own. */
  resolvedHandles (): HandleRecord[] {
    return this.#resolver?.records() ?? []
  }

  /** The STUN servers learnt from our relays (protocols/stun). */
  stunServers (): string[] {
    return [...new Set(this.#relays?.stun.values() ?? [])]
  }

  /** The STUN servers learnt from our relays, once each relay reached at start has answered (or not). */
  async stunReady (): Promise<string[]> {
    await this.#relays?.stunLearnt
    return this.stunServers()
  }

  /** The relay STUN URLs as learnt (relay address → `stun:` URL), read by WebRTC for each new connection. */
  get relayStun (): ReadonlyMap<string, string> {
    return this.#relays?.stun ?? new Map()
  }

  /**
   * Serves `method` on every session (replaces an earlier handler), behind
   * the policy gate: a request the policy holds for the human is answered
   * `{ status: 'held', approval }` and runs once approved.
   */
  handle (method: string, handler: Handler): this {
    this.#handlers.set(method, handler)
    this.#gated.set(method, BUILT_IN.has(method) ? handler : async (params, context) => this.#bridge.gate(context.method, handler, params, context))
    return this
  }

  /**
   * Resolves once the node has joined the mesh: relays reached, a
   * reservation granted, our handle published. Rejects as `start()` would
   * (`ERR_NO_RELAY`, `ERR_HANDLE_TAKEN`).
   */
  async ready (): Promise<void> {
    if (this.#ready === undefined) throw notStarted()
    return this.#ready
  }

  // ---------------------------------------------------------------------------
  // libp2p lifecycle

  async start (): Promise<void> {
    this.#stopping = false
    const init = this.#init
    this.#identity = init.identity ?? await identityOf(this.#components.privateKey, init.kind ?? 'agent')
    if (this.#identity.peerIdString !== this.peerId) throw new AgentError(AgentErrorCode.INVALID_OPTIONS, 'the identity given to parley() is not the node\'s key')
    const datastore = init.datastore ?? this.#components.datastore
    this.#replay = init.replay ?? await ReplayStore.open(datastore)
    const desk = this.#desk = await Desk.open(datastore, this.#identity, init.policy === undefined ? {} : { policy: init.policy })
    desk.addEventListener('pending', (e) => { this.safeDispatchEvent('pending', { detail: e.detail }) })
    desk.addEventListener('message', (e) => { this.safeDispatchEvent('message', { detail: e.detail }) })
    const negotiations = this.#negotiations = new Negotiations(this.#negotiationsHost(datastore))
    await negotiations.load()
    // a settled negotiation counts for its counterparty: after a run of them the node suggests more trust (never grants it)
    negotiations.addEventListener('transition', (e) => {
      const { negotiation: n } = e.detail
      if (n.state !== 'confirmed' && n.state !== 'rejected') return
      const other = n.parties.find(p => p.peer !== this.peerId)
      if (other !== undefined) void desk.trust.recordOutcome(other.peer, n.state === 'confirmed', other.handle === undefined ? {} : { handle: other.handle }).catch(() => {})
    })
    desk.trust.addEventListener('suggestion', (e) => {
      desk.record('trust.suggestion', { ...e.detail })
      this.safeDispatchEvent('suggestion', { detail: e.detail })
    })
    negotiations.startExpiry()
    this.#mail = await Mail.open(datastore, this.#mailHost())
    this.#prune()
    this.#pruneTimer = setInterval(() => { this.#prune() }, PRUNE_INTERVAL_MS)
    this.#pruneTimer.unref?.()
    const minPowBits = init.minPowBits ?? DEFAULT_POW_BITS
    const resolver = this.#resolver = new HandleResolver(this.#dht(), {
      minPowBits,
      trusted: (peer) => this.#trusted.has(peer),
      askConnected: async (key) => this.#askConnected(key)
    })
    const relays = this.#relays = new RelayLink(this.#components, {
      relays: init.relays,
      stun: init.webrtc !== false,
      onBack: async () => { if (this.#publisher !== undefined) await this.#publisher.publish() }
    })
    if (this.handleName !== undefined) {
      this.#publisher = new HandlePublisher({
        handle: this.handleName,
        identity: this.#identity,
        dht: () => this.#dht(),
        resolver,
        relays: () => relays.reserved(),
        ...(init.recordTtlMs === undefined ? {} : { recordTtlMs: init.recordTtlMs }),
        ...(init.powBits === undefined ? {} : { powBits: init.powBits }),
        ...(init.rotation === undefined ? {} : { rotation: init.rotation })
      })
    }
    this.#dialer = new Dialer({
      connectionManager: this.#components.connectionManager,
      resolve: async (handle, options) => this.resolve(handle, options),
      open: async (connection, peer, signal) => this.#open(connection, peer, signal),
      connected: (session) => { this.safeDispatchEvent('connected', { detail: session }) },
      direct: (detail) => { this.safeDispatchEvent('direct', { detail }) },
      relayed: (detail) => { this.safeDispatchEvent('relayed', { detail }) },
      stopping: () => this.#stopping,
      carried: (stream, connection) => { this.#carriers.set(stream, connection) },
      stunLearnt: async () => relays.stunLearnt,
      webrtc: init.webrtc !== false,
      ...(init.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: init.connectTimeoutMs }),
      ...(init.upgradeTimeoutMs === undefined ? {} : { upgradeTimeoutMs: init.upgradeTimeoutMs })
    })
    await this.#components.registrar.handle(SESSION_PROTOCOL, (stream, connection) => { this.#accept(stream, connection) }, {
      runOnLimitedConnection: true,
      maxInboundStreams: init.maxSessionsPerPeer ?? DEFAULT_MAX_SESSIONS_PER_PEER
    })
    // payloads beyond a frame (protocols/blob): pulled by the receiver, on a connection we share
    await this.#components.registrar.handle(BLOB_PROTOCOL, (stream, connection) => { void this.#blobs.serve(stream, connection.remotePeer.toString()) }, {
      runOnLimitedConnection: true,
      maxInboundStreams: MAX_BLOB_PULLS_PER_CONNECTION
    })
    this.#components.events.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#components.events.addEventListener('self:peer:update', this.#onSelfUpdate)
    this.#started = Date.now()
    this.#running = true
  }

  /** After the node has started: joins the mesh in the background ({@link ready} tells when, or why not). */
  afterStart (): void {
    const ready = this.#join()
    ready.catch(err => { log('joining the mesh failed: %e', err) })
    this.#ready = ready
  }

  async #join (): Promise<void> {
    const t0 = Date.now()
    const relays = this.#relays
    await relays?.join()
    const t1 = Date.now()
    // mail: what waits to be deposited (after a restart too), and pickup from our relays
    this.#mail?.start()
    if (this.#publisher !== undefined) {
      // the record lists the relays that hold a reservation for us
      await relays?.reservation()
      const t2 = Date.now()
      await this.#publisher.publish()
      log('joined the mesh in %d ms: relays %d ms, reservation %d ms, handle %d ms', Date.now() - t0, t1 - t0, t2 - t1, Date.now() - t2)
    } else {
      // an agent without a handle calls out through its relays at once; its reservation (to be
      // called back on) comes in the background
      relays?.reservation().then(() => { log('reserved on a relay %d ms after start', Date.now() - t0) }, (err) => { log.error('%e', err) })
      log('joined the mesh in %d ms (relays reached; no handle to publish)', t1 - t0)
    }
    // decided requests whose peer was unreachable (before a restart, too) carry on
    this.#bridge.resume().catch(err => { log.error('resuming decided requests failed: %e', err) })
    if (presenceEnabled(this.#init.presence)) this.#startPresence(this.#init.presence ?? true)
  }

  async beforeStop (): Promise<void> {
    this.#stopping = true
    clearTimeout(this.#cardTimer)
    this.#publisher?.stop()
    this.#relays?.stop()
    this.#negotiations?.stopExpiry()
    clearInterval(this.#pruneTimer)
    this.#bridge.stop()
    await this.#mail?.stop()
    this.#presence?.stop()
    this.#cards?.stop()
    this.media.closeAll()
    this.#components.events.removeEventListener('peer:disconnect', this.#onDisconnect)
    this.#components.events.removeEventListener('self:peer:update', this.#onSelfUpdate)
    await Promise.allSettled([...this.#sessions].map(async s => s.close()))
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    await this.#components.registrar.unhandle(SESSION_PROTOCOL).catch(() => {})
    await this.#components.registrar.unhandle(BLOB_PROTOCOL).catch(() => {})
    this.#blobs.clear()
    await this.#desk?.close()
    if (this.#init.replay === undefined && this.#replay instanceof ReplayStore) await this.#replay.close?.()
    this.#desk = undefined
    this.#negotiations = undefined
    this.#mail = undefined
    this.#replay = undefined
  }

  /** Our addresses changed (a reservation was made or lost): the record follows the relays we are on. */
  readonly #onSelfUpdate = (): void => {
    if (!this.#stopping) this.#publisher?.relaysChanged()
  }

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (!this.#stopping) this.#relays?.onDisconnect(evt.detail.toString())
  }

  /** The node's service called `name` (libp2p puts services among the components), if it has one. */
  #service<T> (name: string): T | undefined {
    try {
      return (this.#components as unknown as Record<string, T | undefined>)[name]
    } catch {
      // libp2p's components throw for a name they do not hold
      return undefined
    }
  }

  #dht (): KadDHT {
    const name = this.#init.dhtService ?? DEFAULT_DHT_SERVICE
    const dht = this.#service<KadDHT>(name)
    if (dht === undefined) throw new AgentError(AgentErrorCode.INVALID_OPTIONS, `parley() needs a Kademlia DHT service named '${name}' on the node (add parleyDHT() under services)`)
    return dht
  }

  #startPresence (option: AgentPresenceOption): void {
    const name = this.#init.pubsubService ?? DEFAULT_PUBSUB_SERVICE
    const pubsub = this.#service<GossipSub>(name)
    if (pubsub === undefined) { log.error('presence is on, but the node has no gossipsub service named %s', name); return }
    this.#cards = new CardBoard(pubsub)
    this.#cards.start()
    const cm = this.#components.connectionManager
    this.#presence = startAgentPresence({
      identity: this.identity,
      announcedHandle: () => this.record === undefined ? undefined : this.handleName,
      capabilities: () => [...this.#handlers.keys()].filter(m => m !== 'ping'),
      resolve: async (handle) => this.resolve(handle).then(r => ({ peer: r.peer, kind: r.kind }), () => undefined)
    }, { pubsub, events: this.#components.events, getConnections: () => cm.getConnections() }, option)
  }

  /** Deletes finished approvals and negotiations past the policy's `quotas.finishedKeptMs`. */
  #prune (): void {
    const desk = this.#desk
    const negotiations = this.#negotiations
    if (desk === undefined || negotiations === undefined) return
    const keptMs = desk.quotas.finishedKeptMs
    if (keptMs === 0) return
    const before = Date.now() - keptMs
    Promise.all([desk.prune(before), negotiations.prune(before)])
      .then(([approvals, moves]) => { if (approvals + moves > 0) log('pruned %d finished approvals and %d negotiations', approvals, moves) })
      .catch(err => { log.error('pruning finished approvals and negotiations failed: %e', err) })
  }

  // ---------------------------------------------------------------------------
  // Handles and sessions

  /** Resolves `@handle` to its current, verified record (cached until expiry). */
  async resolve (handle: string, options: { fresh?: boolean } = {}): Promise<HandleRecord> {
    if (this.#resolver === undefined) throw notStarted()
    return this.#resolver.resolve(handle, options)
  }

  /** What each trusted DHT server we have a direct connection to stores under `key` (one GET each, at once). */
  async #askConnected (key: Uint8Array): Promise<RawAnswer[]> {
    const byPeer = new Map<string, Connection>()
    for (const c of this.#components.connectionManager.getConnections()) {
      const peer = c.remotePeer.toString()
      if (c.status === 'open' && c.limits === undefined && this.#trusted.has(peer) && !byPeer.has(peer)) byPeer.set(peer, c)
    }
    const signal = AbortSignal.timeout(DIRECT_GET_TIMEOUT_MS)
    const answers = await Promise.all([...byPeer].map(async ([server, connection]) => {
      try {
        const value = await getValueFrom(connection, DHT_PROTOCOL, key, signal)
        return value === undefined ? undefined : { server, value }
      } catch (err) {
        log('asking %s for a record failed: %e', server, err)
        return undefined
      }
    }))
    return answers.filter((a): a is RawAnswer => a !== undefined)
  }

  /**
   * Publishes our A2A Agent Card (protocols/agent-card): signed, stored in
   * the DHT under our handle (the relays take it only from the handle's
   * owner) and announced on gossipsub when presence is on.
   */
  async publishCard (card: { [key: string]: JsonValue }): Promise<CardRecord> {
    const handle = this.record?.handle
    if (handle === undefined) throw new AgentError(AgentErrorCode.INVALID_OPTIONS, 'an Agent Card is published under a handle: start the agent with one')
    const seq = Math.max(Date.now(), (this.#ownCard?.seq ?? 0) + 1)
    const { record, bytes } = await createCardRecord(this.identity, { handle, card, seq })
    let accepted = 0
    for await (const event of this.#dht().put(cardKey(handle), bytes, { signal: AbortSignal.timeout(CARD_PUBLISH_TIMEOUT_MS) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted++
    }
    if (accepted === 0) throw new CardRecordError(CardRecordErrorCode.NOT_OWNER, `no DHT server took the card of @${handle}`)
    this.#ownCard = record
    await this.#cards?.announce(bytes)
    // republished at half its lifetime, as the handle record is, while the agent runs
    clearTimeout(this.#cardTimer)
    this.#cardTimer = setTimeout(() => {
      if (this.#stopping) return
      this.publishCard(card).catch(err => { log('republishing the card of @%s failed: %e', handle, err) })
    }, Math.max(1000, (record.expires - Date.now()) / 2))
    this.#cardTimer.unref?.()
    return record
  }

  /**
   * The Agent Card of `@handle`, from the DHT: only a card signed by the
   * handle's current owner counts. Undefined when it has none.
   */
  async agentCard (handle: string): Promise<VerifiedCard | undefined> {
    const owner = await this.resolve(handle)
    const key = cardKey(owner.handle)
    let answers = await this.#askConnected(key)
    if (answers.length === 0) answers = (await dhtAnswers(this.#dht(), key, CARD_PUBLISH_TIMEOUT_MS)).filter(a => this.#trusted.has(a.server))
    let best: CardRecord | undefined
    for (const { value } of answers) {
      const r = await validateCardRecord(value, { key }).catch(() => undefined)
      if (r !== undefined && r.peer === owner.peer && (best === undefined || r.seq > best.seq)) best = r
    }
    return best === undefined ? undefined : { handle: owner.handle, peer: owner.peer, kind: owner.kind, card: best.card, seq: best.seq }
  }

  /** The Agent Cards heard on gossipsub (not checked against their handles: {@link findAgents} does that). */
  heardCards (): CardRecord[] {
    return this.#cards?.cards() ?? []
  }

  /**
   * Agents whose Agent Card offers `skill` (a skill's `id` or one of its
   * `tags`), from the cards heard on gossipsub (presence on): each checked
   * against its handle's current record, so a card from anyone but the
   * handle's owner is never returned.
   */
  async findAgents (query: { skill: string }): Promise<VerifiedCard[]> {
    const found = new Map<string, VerifiedCard>()
    for (const r of this.#cards?.cards() ?? []) {
      if (!cardSkills(r.card).includes(query.skill)) continue
      const owner = await this.resolve(r.handle).catch(() => undefined)
      if (owner === undefined || owner.peer !== r.peer) continue
      const held = found.get(r.handle)
      if (held === undefined || held.seq < r.seq) found.set(r.handle, { handle: r.handle, peer: r.peer, kind: owner.kind, card: r.card, seq: r.seq })
    }
    return [...found.values()]
  }

  /** Publishes (or republishes) our handle record: a handle held by another key is `ERR_HANDLE_TAKEN`. */
  async publish (): Promise<HandleRecord> {
    if (this.handleName === undefined) throw new Error('this agent has no handle')
    if (this.#publisher === undefined) throw notStarted()
    return this.#publisher.publish()
  }

  /**
   * Opens a session to `@handle` (or a peer id): resolves, dials through the
   * peer's relay, exchanges hellos, and returns at once; meanwhile it dials a
   * direct WebRTC connection signalled over the relay and moves the session
   * onto it (`direct` event), or stays on the relay (`relayed`).
   */
  async connect (target: string, options: AbortOptions = {}): Promise<Session> {
    if (this.#dialer === undefined) throw notStarted()
    return this.#dialer.connect(target, options)
  }

  async #open (connection: Connection, peer: string, signal: AbortSignal | undefined): Promise<Session> {
    const stream = await connection.newStream(SESSION_PROTOCOL, { runOnLimitedConnection: true, ...(signal === undefined ? {} : { signal }) })
    this.#carriers.set(stream, connection)
    const session = this.#track(new Session(this.#host(), stream, peer, 'outbound'))
    try {
      await (signal === undefined ? session.ready : raceSignal(session.ready, signal))
    } catch (err) {
      session.abort(err as Error)
      throw err
    }
    return session
  }

  /**
   * A new session stream: either a new session (its first frame is a hello)
   * or an existing one moving to a new connection (`session/resume`).
   */
  #accept (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    this.#carriers.set(stream, connection)
    const frames = framesOf(stream, this.#init.maxEnvelopeBytes, this.#host())
    void (async () => {
      const first = await frames.next()
      if (first.done === true || 'oversize' in first.value) { stream.abort(new Error('no session frame')); return }
      const bytes = first.value.bytes
      const resumed = resumeTarget(bytes)
      if (resumed !== undefined) {
        const session = [...this.#sessions].find(s => s.remotePeer === peer && s.id === resumed)
        if (session !== undefined && await session.acceptsResume(bytes)) {
          session.adopt(stream, frames)
          if (connection.limits === undefined) void this.#dialer?.announceDirect(session, connection)
          return
        }
        stream.abort(new Error('session/resume for no session of this peer'))
        return
      }
      // libp2p's maxInboundStreams counts one connection's streams; a peer may open several connections
      const max = this.#init.maxSessionsPerPeer ?? DEFAULT_MAX_SESSIONS_PER_PEER
      if ([...this.#sessions].filter(s => s.remotePeer === peer && s.direction === 'inbound' && !s.closed).length >= max) {
        log('refused a session from %s: it has %d open already', peer, max)
        stream.abort(new Error(`${max} sessions from this peer are open already`))
        return
      }
      const session = this.#track(new Session(this.#host(), stream, peer, 'inbound', { frames, first: bytes }))
      session.ready.then(() => { this.safeDispatchEvent('session', { detail: session }) }, () => {})
    })().catch(err => { log('session stream from %s failed: %e', peer, err); stream.abort(err as Error) })
  }

  #track (session: Session): Session {
    this.#sessions.add(session)
    const desk = this.#desk
    session.ready.then((remote) => {
      desk?.record('session.open', { session: session.id ?? null, direction: session.direction, remote: { ...remote } })
    }, () => {})
    if (desk !== undefined) {
      const history: EnvelopeRecord[] = []
      this.#history.set(session, history)
      session.addEventListener('envelope', (e) => {
        recordEnvelope(desk, session, e.detail)
        // kept as is; written out only if a request is handed to the human
        history.push(e.detail)
        if (history.length > 24) history.shift()
      })
    }
    session.addEventListener('close', () => {
      this.#sessions.delete(session)
      desk?.record('session.close', { session: session.id ?? null, peer: session.remotePeer })
    }, { once: true })
    return session
  }

  #host (): SessionHost {
    const o = this.#init
    const replay = this.#replay
    if (replay === undefined) throw notStarted()
    return {
      signer: this.identity,
      handle: this.record === undefined ? undefined : this.handleName,
      record: () => this.#publisher?.json,
      handlers: this.#gated,
      replayGuard: replay,
      verifyHello: async (remotePeer, claimed, record) => this.#verifyHello(remotePeer, claimed, record),
      blobs: this.#blobs,
      ...(o.maxEnvelopeBytes === undefined ? {} : { maxBytes: o.maxEnvelopeBytes }),
      ...(o.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: o.requestTimeoutMs }),
      ...(o.keepAliveMs === undefined ? {} : { keepAliveMs: o.keepAliveMs }),
      ...(o.helloTimeoutMs === undefined ? {} : { helloTimeoutMs: o.helloTimeoutMs }),
      ...(o.frameTimeoutMs === undefined ? {} : { frameTimeoutMs: o.frameTimeoutMs }),
      ...(o.maxInFlight === undefined ? {} : { maxInFlight: o.maxInFlight }),
      ...(o.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: o.writeTimeoutMs }),
      ...(o.maxWriteBufferBytes === undefined ? {} : { maxWriteBufferBytes: o.maxWriteBufferBytes }),
      ...(this.#frameRates.every(r => r === undefined) ? {} : { admit: (peer: string) => this.#frameRates[this.#desk?.trust.level(peer) ?? 0]?.wait(peer) ?? 0 }),
      // a session whose connection is lost waits to be resumed; the side that opened it redials
      lost: (stream) => this.#lost(stream),
      reconnect: async (session, signal) => {
        if (this.#dialer === undefined || this.#stopping) throw notStarted()
        return this.#dialer.reconnect(session, signal)
      },
      ...(o.resumeWindowMs === undefined ? {} : { resumeWindowMs: o.resumeWindowMs })
    }
  }

  /**
   * Whether `stream` ended because the relay under it went away (protocols/
   * session §5.1): its connection is a circuit, closed, and so is every
   * connection to that relay. A circuit the peer closed (while the relay is
   * still there) is the peer ending its sessions, and a direct connection
   * that closed cannot be told apart from a peer that left: both end the
   * session, as before.
   */
  #lost (stream: Stream): boolean {
    if (this.#stopping) return false
    const connection = this.#carriers.get(stream)
    if (connection === undefined || connection.status === 'open' || connection.limits === undefined) return false
    const relay = relayOf(connection.remoteAddr)
    if (relay === undefined) return false
    const lost = !this.#components.connectionManager.getConnections(peerIdFromString(relay)).some(c => c.status === 'open')
    log('a session stream with %p ended with its circuit through %s: %s', connection.remotePeer, relay, lost ? 'the relay went away' : 'the relay is still connected')
    return lost
  }

  /** A new stream to `peer` on the best connection we have with it: a direct one before a relayed one. */
  async #newStream (peer: string, protocol: string, signal: AbortSignal): Promise<Stream> {
    const connection = bestConnection(this.#components.connectionManager.getConnections(peerIdFromString(peer)))
    if (connection === undefined) throw new Error(`no connection to ${peer}`)
    log('%s to %s on %a', protocol, peer, connection.remoteAddr)
    return connection.newStream(protocol, { signal, runOnLimitedConnection: true })
  }

  /** Stamps the remote side from what can be verified: a valid record of this peer that the DHT confirms is current. */
  async #verifyHello (remotePeer: string, claimed: string | undefined, record: unknown): Promise<Caller> {
    const anon: Caller = { peer: remotePeer, kind: 'anon' }
    if (claimed === undefined || record === undefined) return anon
    try {
      const minPowBits = this.#init.minPowBits ?? DEFAULT_POW_BITS
      const bytes = utf8(canonicalize(record))
      const offered = await validateHandleRecord(bytes, { key: handleKey(claimed), minPowBits })
      if (offered.peer !== remotePeer || this.#resolver === undefined) return anon
      // a caller whose cached record names another key may have rotated: confirm asks the DHT again (rate-limited)
      const current = await this.#resolver.confirm(claimed, remotePeer)
      if (current.peer !== remotePeer) {
        log('%s claims @%s, which the DHT gives to %s', remotePeer, claimed, current.peer)
        return anon
      }
      return { peer: remotePeer, handle: claimed, kind: offered.kind }
    } catch (err) {
      log('could not verify %s as @%s: %e', remotePeer, claimed, err)
      return anon
    }
  }

  // ---------------------------------------------------------------------------
  // The human bridge: policy gate, approvals, messages, trust, log

  #negotiationsHost (datastore: Datastore): ConstructorParameters<typeof Negotiations>[0] {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const service = this
    return {
      signer: { get peerIdString () { return service.peerId }, sign: (data) => service.identity.sign(data) },
      self: () => this.handleName === undefined || this.record === undefined ? { peer: this.peerId } : { peer: this.peerId, handle: this.handleName },
      session: async (party) => this.#sessionWith(party),
      // the bytes an approval binds to are built only when the policy holds the move
      holdOutgoing: async (n, t) => this.#bridge.holdMove(n, t, () => utf8(JSON.stringify(t)), 'transition'),
      holdIncoming: async (n, t, context) => this.#bridge.holdMove(n, t, () => utf8(canonicalize(context.envelope)), 'envelope', context.caller),
      record: (type, data) => { this.#desk?.record(type, data) },
      datastore,
      quota: (peer) => this.desk.negotiationQuota(peer),
      expireApproval: async (id) => this.#bridge.expire(id)
    }
  }

  /** An open session with `party`, or a new one (by handle when it has one). */
  async #sessionWith (party: Party, preferred?: string): Promise<Session> {
    const open = [...this.#sessions].filter(s => s.remotePeer === party.peer && !s.closed && s.remote !== undefined)
      .sort((a, b) => Number(b.id === preferred) - Number(a.id === preferred))[0]
    if (open !== undefined) return open
    return this.connect(party.handle === undefined ? party.peer : `@${party.handle}`)
  }

  /** Approvals waiting for the human, oldest first. */
  pending (): PendingApproval[] { return this.desk.pending() }

  /**
   * Approves what approval `id` holds: signs the decision (bound to the hash
   * of the exact envelope or transition held), then lets the held work go
   * ahead — the request runs and its result goes back as `approval/outcome`
   * (with `reply`), a held move of ours is sent, a held move of theirs applied.
   */
  async approve (id: string, options: { reply?: string } = {}): Promise<PendingApproval> {
    return this.#bridge.decide(id, 'approve', options)
  }

  /** Rejects what approval `id` holds (the caller hears `approval/outcome`; a held accept of ours becomes a reject). */
  async reject (id: string, options: { reply?: string } = {}): Promise<PendingApproval> {
    return this.#bridge.decide(id, 'reject', options)
  }

  /** Sends a free-text `message` to `@handle` (or a peer id); the result says whether it was queued or held. */
  async send (to: string, text: string, options: { conversation?: string, inReplyTo?: string } = {}): Promise<JsonValue | MailSent> {
    const target = to.startsWith('@') || HANDLE_PATTERN.test(to) ? await this.resolve(to) : undefined
    const peer = target?.peer ?? peerIdFromString(to).toString()
    const params = { text, ...options }
    const mail = this.mail
    let session: Session | undefined
    // a peer whose live path failed lately is mailed at once (its circuit breaker is open)
    if (target === undefined || mail.breakers.allows(peer)) {
      try {
        session = await this.#sessionWith({ peer, ...(target === undefined ? {} : { handle: target.handle }) })
        mail.breakers.success(peer)
      } catch (err) {
        // nothing was sent: without a session no request left us
        if (target === undefined) throw err
        mail.breakers.failure(peer)
        log('%s cannot be reached live (%e): mailing it', to, err)
      }
    }
    if (session !== undefined) return session.request(METHODS.message, params)
    return mail.send(target as HandleRecord, METHODS.message, params, text)
  }

  /** Our outgoing mail, oldest first: what is queued at which relays, and the receipts that came back. */
  outbox (): OutboxEntry[] { return this.mail.outbox.list() }

  /**
   * The human has read these inbox messages (all of the inbox by default):
   * each that came by mail gets a signed `read` receipt to its sender, once.
   * Resolves with how many receipts went out.
   */
  async markRead (messages?: readonly InboxMessage[]): Promise<number> {
    return this.mail.markRead(messages ?? await this.inbox())
  }

  /** What the mail worker needs of this service. */
  #mailHost (): MailHost {
    return {
      identity: () => this.identity,
      handle: () => this.handleName,
      ownRelays: () => this.#init.relays,
      connect: async (address, signal) => this.#components.connectionManager.openConnection(multiaddr(address), { signal }),
      resolve: async (handle, options) => this.resolve(handle, options),
      session: async (peer, handle, signal) => raceSignal(this.#sessionWith({ peer, ...(handle === undefined ? {} : { handle }) }), signal),
      deliver: async (body, caller, envelope) => {
        if (body.method !== METHODS.message) throw new RpcError(-32601, `${body.method} cannot come by mail`, { code: 'ERR_MAIL_METHOD' })
        return this.#bridge.gate(METHODS.message, this.#message, handlerParams((body as { params?: JsonRpcParams }).params), { caller, envelope, method: body.method })
      },
      record: (type, data) => { this.#desk?.record(type, data) },
      changed: (entry) => { this.safeDispatchEvent('mail', { detail: entry }) }
    }
  }

  /** Sets a contact's trust level (a human decision): `@handle` or a peer id. */
  async setTrust (who: string, level: TrustLevel, options: { limits?: TrustLimits, note?: string } = {}): Promise<TrustEntry> {
    const record = who.startsWith('@') || HANDLE_PATTERN.test(who) ? await this.resolve(who) : undefined
    const peer = record?.peer ?? peerIdFromString(who).toString()
    const entry = await this.desk.trust.set(peer, level, { by: this.peerId, ...(record === undefined ? {} : { handle: record.handle }), ...options })
    this.desk.record('trust.change', { peer, level, ...(record === undefined ? {} : { handle: record.handle }) })
    return entry
  }

  /** Opens a negotiation with `@handle` (or a peer id) and sends the first offer. */
  async propose (to: string, options: { subject: string, terms: Terms, ttlMs?: number }): Promise<MoveResult> {
    const record = to.startsWith('@') || HANDLE_PATTERN.test(to) ? await this.resolve(to) : undefined
    const party: Party = record === undefined ? { peer: peerIdFromString(to).toString() } : { peer: record.peer, handle: record.handle }
    return this.negotiations.propose(party, options)
  }

  /** The human's inbox, oldest first. */
  async inbox (): Promise<InboxMessage[]> { return this.desk.inbox() }

  /** The event log's last `limit` entries. */
  async logEntries (limit = 50): Promise<LogEntry[]> { return this.desk.recent(limit) }

  /** The whole event log, signed and hash-chained: anyone can check it with `parley verify`. */
  async exportLog (): Promise<ExportedLog> {
    await this.desk.flush()
    return this.desk.log.export()
  }
}

/**
 * The Parley service factory, for `services` of a js-libp2p node:
 * `services: { parley: parley({ handle: 'alice', relays: [relay] }) }`.
 * Throws `ERR_INVALID_OPTIONS` at once for bad options.
 */
export function parley (init: ParleyInit): (components: ParleyComponents) => ParleyService {
  checkAgentOptions(init)
  return (components) => new ParleyService(components, init)
}

/** The Parley identity of a node's own Ed25519 key. */
async function identityOf (key: PrivateKey, kind: IdentityKind): Promise<Identity> {
  if (key.type !== 'Ed25519') throw new AgentError(AgentErrorCode.INVALID_OPTIONS, `parley() needs a node with an Ed25519 key, not ${key.type}`)
  return createIdentity({ kind, seed: key.raw.subarray(0, 32) })
}


/** The session id named by a frame if it is a `session/resume` (unverified: the session checks it). */
function resumeTarget (bytes: Uint8Array): string | undefined {
  const body = peekBody(bytes)
  return body?.method === RESUME && typeof body.params?.session === 'string' ? body.params.session : undefined
}

/** The relay's peer id in a circuit address (`…/p2p/RELAY/p2p-circuit/…`), if it names one. */
function relayOf (address: Multiaddr): string | undefined {
  const parts = address.toString().split('/')
  const circuit = parts.indexOf('p2p-circuit')
  return circuit >= 2 && parts[circuit - 2] === 'p2p' ? parts[circuit - 1] : undefined
}
