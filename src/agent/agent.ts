/**
 * The agent node: what an agent developer embeds to join the mesh.
 *
 * An agent holds an identity, reserves slots on relays (it needs no public
 * address), publishes its handle record to the DHT (proof of work included)
 * and republishes it before expiry, resolves other handles, and opens
 * sessions: signed JSON-RPC 2.0 in both directions over one stream, upgraded
 * to a direct WebRTC connection when the peers can reach each other.
 *
 * @example
 * ```ts
 * import { createAgent } from 'parley-mesh'
 *
 * const relayAddr = process.env.PARLEY_RELAY ?? ''
 * const plumber = await createAgent({ handle: 'rapidplumb', relays: [relayAddr] })
 * plumber.handle('ping', () => 'pong')
 * await plumber.start()
 *
 * const me = await createAgent({ relays: [relayAddr] })
 * await me.start()
 * const session = await me.connect('@rapidplumb')
 * console.log(await session.request('ping')) // 'pong'
 * ```
 *
 * @packageDocumentation
 */
import { createLibp2p } from 'libp2p'
import type { AbortOptions, Libp2p, Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { webRTC } from '@libp2p/webrtc'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { createIdentity, loadOrCreateIdentity, saveIdentity } from '../identity/index.js'
import type { Identity } from '../identity/index.js'
import { AgentError, AgentErrorCode, HandleRecordError, HandleRecordErrorCode } from '../errors.js'
import { checkAgentOptions, relayPeer } from './options.js'
import type { AgentOptions } from './options.js'
import {
  DEFAULT_RECORD_TTL_MS, HANDLE_PATTERN, createHandleRecord, createRotation, handleDhtConfig, handleKey, succession, validateHandleRecord
} from '../handles/record.js'
import type { HandleRecord, HandleRotation } from '../handles/record.js'
import { DEFAULT_POW_BITS } from '../handles/pow.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { utf8 } from '../crypto/bytes.js'
import { DHT_PROTOCOL } from '../node/constants.js'
import { SESSION_PROTOCOL, DEFAULT_FRAMES_PER_SECOND_BY_TRUST, MAX_STREAM_WINDOW_BYTES } from '../session/constants.js'
import { TokenBuckets } from '../util/token-bucket.js'
import { Session, RESUME, framesOf, peekBody } from '../session/session.js'
import { fromUtf8 } from '../crypto/bytes.js'
import type { Caller, Handler, SessionHost } from '../session/session.js'
import { HandleResolver } from './resolver.js'
import { askStunServer, withStunServers } from '../node/stun-announce.js'
import { icePath } from './ice-path.js'
import type { IcePath } from './ice-path.js'
import { walkPacer } from './walk-pacer.js'
import type { WalkPacer } from './walk-pacer.js'
// --- presence (dev dashboard): opt-in announcements on gossipsub ---
import type { GossipSub } from '@libp2p/gossipsub'
import { presenceEnabled, presencePubsub, startAgentPresence } from '../presence/agent.js'
import type { Presence } from '../presence/presence.js'
// --- end presence ---
import { join } from 'node:path'
import { raceSignal } from '../util/abort.js'
import { LevelDatastore } from 'datastore-level'
import { MemoryDatastore } from 'datastore-core'
import type { Datastore } from 'interface-datastore'
import { Desk } from './desk.js'
import { HumanBridge, inboxMessage, recordEnvelope } from './bridge.js'
import type { InboxMessage } from './desk.js'
import { Negotiations, DECLINED_METHOD } from './negotiations.js'
import type { MoveResult } from './negotiations.js'
import { METHODS } from '../methods/index.js'
import type { EnvelopeRecord } from '../session/session.js'
import { ReplayJournal } from '../store/replay-journal.js'
import { ReplayGuard } from '../envelope/replay-guard.js'
import type { ReplayCheck } from '../envelope/replay-guard.js'
import type { PendingApproval, TrustLevel, TrustLimits, TrustEntry, TrustSuggestion, LogEntry, ExportedLog } from '../store/index.js'
import type { Party, Terms } from '../negotiation/transition.js'

/** How long `connect()` may take by default, end to end (ms). */
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000
/** How long one dial of a peer (through one relay) may take (ms). */
const DIAL_TIMEOUT_MS = 10_000
/** How often finished approvals and negotiations past their keeping time are deleted (ms). */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000
const log = logger('parley:agent')

/** Agents started and not yet stopped in this process (see {@link releaseWebRTC}). */
let running = 0

/**
 * node-datachannel can keep a native callback of a closed data channel
 * referenced, so a process whose agents have all stopped never exits
 * (murat-dogan/node-datachannel#349). When the last agent stops, release its
 * threads; libdatachannel initializes itself again if WebRTC is used later.
 */
async function releaseWebRTC (): Promise<void> {
  if (running > 0 || globalThis.process?.versions?.node === undefined) return
  try {
    const { default: ndc } = await import('node-datachannel')
    ndc.cleanup()
  } catch (err) {
    log('could not release WebRTC threads: %e', err)
  }
}

/** Methods the node answers itself, whatever the policy (their own logic gates what matters). */
const BUILT_IN = new Set<string>(['ping', METHODS.transition, METHODS.applied, DECLINED_METHOD, METHODS.outcome])

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
}

/** The events an {@link Agent} emits; each `detail` is the payload given. */
export interface AgentEvents {
  /** An incoming session, after its hello: `detail.remote` is the verified caller. */
  session: CustomEvent<Session>
  /** An outgoing session opened by {@link Agent.connect}, after its hello. */
  connected: CustomEvent<Session>
  /** Something waits for the human's approval (see {@link Agent.approve}). */
  pending: CustomEvent<PendingApproval>
  /** A message reached the human's inbox. */
  message: CustomEvent<InboxMessage>
  /** After a run of settled negotiations with a contact, the node suggests trusting it more (the human decides: {@link Agent.setTrust}). */
  suggestion: CustomEvent<TrustSuggestion>
  /**
   * A session moved onto a direct WebRTC connection (either side): `path` is
   * the ICE candidate pair it runs on, e.g. `srflx` to `srflx` when both
   * agents are behind NATs, `host` to `host` on one LAN (when it can be read).
   */
  direct: CustomEvent<{
    /** The session that moved. */
    session: Session
    /** The peer id at the other end. */
    peer: string
    /** The ICE candidate pair the connection runs on, when it could be read. */
    path?: IcePath
  }>
  /**
   * A session of ours stays on the relay: no direct connection could be made
   * (every attempt failed, e.g. a NAT that maps each destination to a new
   * port, a symmetric NAT, on either side). It goes on working, relayed.
   */
  relayed: CustomEvent<{
    /** The session that stays on the relay. */
    session: Session
    /** The peer id at the other end. */
    peer: string
    /** How many direct connections were tried. */
    attempts: number
    /** Why the last attempt failed. */
    reason: string
  }>
  /** The far side's human decided on a request of ours that was held (`approval/outcome`). */
  outcome: CustomEvent<{
    /** The peer that sent the outcome, as its session verified it. */
    from: Caller
    /** The id of the approval on the far side that held our request. */
    approval: string
    /** The envelope id of our request that was held. */
    request: string
    /** What the far side's human decided. */
    decision: 'approve' | 'reject'
    /** The human's free-text reply, if they gave one. */
    reply?: string
    /** The handler's result, when the request was approved and ran. */
    result?: JsonValue
    /** The id of the session the outcome arrived on. */
    session?: string
  }>
}

export type { AgentOptions }

/**
 * Creates an agent (not started: call {@link Agent.start}). The options are
 * checked first: a bad relay address or handle throws `ERR_INVALID_OPTIONS`
 * before any key is created or any file written.
 */
export async function createAgent (options: AgentOptions): Promise<Agent> {
  checkAgentOptions(options)
  const kind = options.kind ?? 'agent'
  const identity = options.dataDir === undefined
    ? await createIdentity({ kind })
    : await loadOrCreateIdentity({ dataDir: options.dataDir, kind })
  return new Agent(identity, options)
}

/**
 * An agent node on the mesh (made by {@link createAgent}): it serves methods
 * to callers ({@link handle}), opens sessions to other agents
 * ({@link connect}), and holds what its policy reserves for the human for
 * approval ({@link approve}, {@link reject}).
 */
export class Agent extends TypedEventEmitter<AgentEvents> {
  #identity: Identity
  /** The handle this agent registers, without its `@` (`undefined` for an agent without one). */
  readonly handleName: string | undefined
  readonly #options: AgentOptions
  /** What `handle()` registered, as given. */
  readonly #handlers = new Map<string, Handler>()
  /** The same, behind the policy gate: what sessions call. */
  readonly #gated = new Map<string, Handler>()
  #datastore: Datastore | undefined
  /**
   * The replay guard all our sessions share (protocols/envelope §6.1): with a
   * data dir, kept in a journal there (`<dataDir>/replay/`), so a restart
   * still refuses replays; without one, in memory (the node has a new key
   * each run, so nothing it accepted can be replayed to it after a restart).
   */
  #replay: ReplayJournal | ReplayGuard | undefined
  /** The last envelopes of each session, handed to the human with a held request. */
  readonly #history = new WeakMap<Session, EnvelopeRecord[]>()
  readonly #bridge: HumanBridge
  #desk: Desk | undefined
  #negotiations: Negotiations | undefined
  #pruneTimer: ReturnType<typeof setInterval> | undefined
  readonly #sessions = new Set<Session>()
  /** Each peer's fair share of frame verification, across its sessions, by its trust level 0/1/2 (undefined: no rate). */
  readonly #frameRates: ReadonlyArray<TokenBuckets<string> | undefined>
  #libp2p: Libp2p<AgentServices> | undefined
  #resolver: HandleResolver | undefined
  #record: HandleRecord | undefined
  /** The record as JSON, as hellos carry it (parsed once per publish, not per session). */
  #recordJson: JsonValue | undefined
  /** The previous key's hand-over of our handle, carried in our records after {@link rotateKey}. */
  #rotation: HandleRotation | undefined
  #republish: ReturnType<typeof setTimeout> | undefined
  #stopping = false
  #presence: Presence | undefined
  #started: number | undefined
  /** The STUN server each of our relays announced (relay address → `stun:` URL), given to WebRTC as ICE servers. */
  readonly #relayStun = new Map<string, string>()

  constructor (identity: Identity, options: AgentOptions) {
    super()
    this.#identity = identity
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const agent = this
    this.#bridge = new HumanBridge({
      get desk () { return agent.desk },
      get negotiations () { return agent.negotiations },
      get identity () { return agent.identity },
      handlers: this.#handlers,
      sessionWith: async (party) => this.#sessionWith(party),
      history: (session) => this.#history.get(session)
    })
    this.#options = options
    this.handleName = checkAgentOptions(options)
    const fps = options.maxFramesPerSecond ?? DEFAULT_FRAMES_PER_SECOND_BY_TRUST
    // by trust level; each a burst of two seconds' worth, then the rate
    this.#frameRates = (typeof fps === 'number' ? [fps, fps, fps] : fps).map(r => r === 0 ? undefined : new TokenBuckets<string>({ rate: r, burst: 2 * r }))
    this.handle('ping', () => 'pong')
    this.handle(METHODS.message, async (params, context) => {
      const message = inboxMessage(params, context)
      await this.desk.deliver(message)
      return { status: 'queued' }
    })
    this.handle(METHODS.transition, async (params, context) => this.negotiations.onTransition(params, context))
    this.handle(METHODS.applied, async (params, context) => { await this.negotiations.onDecided(params, context, true); return null })
    this.handle(DECLINED_METHOD, async (params, context) => { await this.negotiations.onDecided(params, context, false); return null })
    this.handle(METHODS.outcome, async (params, context) => {
      const p = params as { approval: string, request: string, decision: 'approve' | 'reject', reply?: string, result?: JsonValue }
      // only from the peer that holds that request of ours, once; anything else is ignored and counted
      if (!await this.#bridge.acceptOutcome(params, context)) return null
      this.safeDispatchEvent('outcome', { detail: { ...p, from: context.caller, ...(context.session.id === undefined ? {} : { session: context.session.id }) } })
      return null
    })
  }

  /** Our key (a new one after {@link rotateKey}). */
  get identity (): Identity { return this.#identity }
  /** Our peer id, as a string (it changes with {@link rotateKey}). */
  get peerId (): string { return this.#identity.peerIdString }
  /** The underlying libp2p node while the agent runs (throws `ERR_NOT_STARTED` before {@link start} and after {@link stop}). */
  get libp2p (): Libp2p<AgentServices> {
    if (this.#libp2p === undefined) throw notStarted()
    return this.#libp2p
  }

  /** Our published handle record, once {@link start} has published it. */
  get record (): HandleRecord | undefined { return this.#record }

  /** When the node last started (ms since the Unix epoch), once {@link start} has run. */
  get started (): number | undefined { return this.#started }

  /**
   * The handle records this agent holds: those it resolved (each validated
   * when resolved: signature, proof of work, expiry, and the DHT's choice)
   * and its own. Cached until they expire; some may have expired since.
   */
  resolvedHandles (): HandleRecord[] {
    return this.#resolver?.records() ?? []
  }

  /** Presence announcements seen (and ours sent), when the `presence` option is on. */
  get presence (): Presence | undefined { return this.#presence }

  /**
   * The STUN servers this agent gives WebRTC, learnt from its relays
   * (protocols/stun), besides any in the `rtcConfiguration` option.
   */
  stunServers (): string[] {
    return [...new Set(this.#relayStun.values())]
  }

  /** Sessions open now, both directions. */
  get sessions (): ReadonlySet<Session> { return this.#sessions }

  /**
   * Serves `method` on every session (replaces an earlier handler), behind
   * the policy gate: a request the policy holds for the human is answered
   * `{ status: 'held', approval }` and runs once approved ({@link approve}),
   * its result following as an `approval/outcome` notification. `ping`,
   * `message` (to the inbox) and the negotiation methods are served by default.
   */
  handle (method: string, handler: Handler): this {
    this.#handlers.set(method, handler)
    this.#gated.set(method, BUILT_IN.has(method) ? handler : async (params, context) => this.#bridge.gate(method, handler, params, context))
    return this
  }

  /** The human's desk: trust, approvals, inbox, event log (after {@link start}). */
  get desk (): Desk {
    if (this.#desk === undefined) throw notStarted()
    return this.#desk
  }

  /** This node's negotiations (after {@link start}). */
  get negotiations (): Negotiations {
    if (this.#negotiations === undefined) throw notStarted()
    return this.#negotiations
  }

  /**
   * Starts the node, reserves on the relays, and publishes our handle record.
   * If any step fails, everything this call opened is closed again before the
   * error is thrown (so a process whose start failed can exit): no relay
   * reachable is `ERR_NO_RELAY`, a handle another key holds `ERR_HANDLE_TAKEN`.
   */
  async start (): Promise<void> {
    if (this.#libp2p !== undefined) throw new Error('agent already started')
    const opensStores = this.#datastore === undefined
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
    const minPowBits = o.minPowBits ?? DEFAULT_POW_BITS
    const webrtc = o.webrtc !== false
    const trusted = new Set([...o.relays.map(relayPeer), ...(o.dhtServers ?? [])])
    if (this.#datastore === undefined) {
      const datastore = o.dataDir === undefined ? new MemoryDatastore() : new LevelDatastore(join(o.dataDir, 'datastore'))
      if (datastore instanceof LevelDatastore) {
        try {
          await datastore.open()
        } catch (err) {
          throw new AgentError(AgentErrorCode.DATA_DIR_UNAVAILABLE, `cannot open the store in ${o.dataDir ?? ''} (${oneLine(err)}): is another agent running with this data directory? Stop it, or give this agent a directory of its own`, { cause: err })
        }
      }
      this.#datastore = datastore
      // before any session: an envelope accepted before a restart is still refused as a replay
      // (the journal is in the data dir, whose LevelDB lock is ours now: no other process writes it)
      this.#replay = o.dataDir === undefined ? new ReplayGuard() : await ReplayJournal.open(join(o.dataDir, 'replay'))
      this.#desk = await Desk.open(datastore, this.#identity, o.policy === undefined ? {} : { policy: o.policy })
      this.#desk.addEventListener('pending', (e) => { this.safeDispatchEvent('pending', { detail: e.detail }) })
      this.#desk.addEventListener('message', (e) => { this.safeDispatchEvent('message', { detail: e.detail }) })
      this.#negotiations = new Negotiations(this.#negotiationsHost(datastore))
      await this.#negotiations.load()
      // a settled negotiation counts for its counterparty: after a run of them the node suggests more trust (never grants it)
      const desk = this.#desk
      this.#negotiations.addEventListener('transition', (e) => {
        const { negotiation: n } = e.detail
        if (n.state !== 'confirmed' && n.state !== 'rejected') return
        const other = n.parties.find(p => p.peer !== this.peerId)
        if (other !== undefined) void desk.trust.recordOutcome(other.peer, n.state === 'confirmed', other.handle === undefined ? {} : { handle: other.handle }).catch(() => {})
      })
      desk.trust.addEventListener('suggestion', (e) => {
        desk.record('trust.suggestion', { ...e.detail })
        this.safeDispatchEvent('suggestion', { detail: e.detail })
      })
    }
    this.#negotiations?.startExpiry()
    this.#prune()
    this.#pruneTimer = setInterval(() => { this.#prune() }, PRUNE_INTERVAL_MS)
    this.#pruneTimer.unref?.()
    const libp2p = await createLibp2p({
      privateKey: this.#identity.privateKey,
      // One bare /p2p-circuit per relay: circuit relay v2 then keeps that many reservations among
      // the relays we are connected to (we dial ours), and seeks one again when a relay comes back
      // after a restart. (A relay-specific listen address is reserved once and never again, and
      // mixing the two makes the transport search for one reservation more than there are
      // relays, a DHT random walk that kept a core busy.)
      addresses: { listen: [...o.relays.map(() => '/p2p-circuit'), ...(webrtc ? ['/webrtc'] : [])] },
      // a failed heartbeat ping must not take the relay connection, and every circuit on it, down
      connectionMonitor: { abortConnectionOnPingFailure: false },
      // read for each new peer connection: our relays' STUN servers are added as they are learnt
      transports: [tcp(), webSockets(), circuitRelayTransport(), ...(webrtc ? [webRTC({ rtcConfiguration: () => withStunServers(o.rtcConfiguration ?? defaultRtcConfiguration(), this.#relayStun.values()) })] : [])],
      connectionEncrypters: [noise()],
      // a paused session stream holds at most its window: bound it (protocols/session §6.1)
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW_BYTES } })],
      connectionGater: { denyDialMultiaddr: () => false },
      services: {
        identify: identify(),
        ping: ping(),
        walkPacer: walkPacer(),
        // only trusted servers (our relays, and dhtServers) enter the routing table (protocols/handle-record §15)
        dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: true, peerInfoMapper: (info) => trusted.has(info.id.toString()) ? passthroughMapper(info) : { ...info, multiaddrs: [] }, ...handleDhtConfig({ minPowBits }) }),
        ...(presenceEnabled(o.presence) ? { pubsub: presencePubsub() } : {})
      }
    })
    this.#libp2p = libp2p
    this.#started = Date.now()
    running++
    this.#resolver = new HandleResolver(libp2p.services.dht, { minPowBits, trusted: (peer) => trusted.has(peer) })
    await libp2p.handle(SESSION_PROTOCOL, (stream, connection) => { this.#accept(stream, connection) }, {
      runOnLimitedConnection: true,
      maxInboundStreams: o.maxSessionsPerPeer ?? 8
    })
    libp2p.addEventListener('peer:disconnect', (evt) => { this.#onDisconnect(evt.detail.toString()) })
    const dials = await Promise.allSettled(o.relays.map(async r => libp2p.dial(multiaddr(r), { signal: AbortSignal.timeout(10_000) })))
    if (o.relays.length > 0 && dials.every(d => d.status === 'rejected')) {
      const why = dials.map((d, i) => `${o.relays[i]}: ${d.status === 'rejected' ? oneLine(d.reason) : 'ok'}`).join('; ')
      throw new AgentError(AgentErrorCode.NO_RELAY, `no relay could be reached (${why}); is the relay running, and is this its current address? A relay prints its addresses when it starts`)
    }
    // before any WebRTC connection: where the relays serve STUN (one round trip each, on the open connection)
    if (webrtc) await Promise.allSettled(o.relays.filter((_r, i) => dials[i]?.status === 'fulfilled').map(async r => this.#learnStun(r)))
    await this.#waitForReservation()
    if (this.handleName !== undefined) await this.publish()
    // decided requests whose peer was unreachable (before a restart, too) carry on
    this.#bridge.resume().catch(err => { log.error('resuming decided requests failed: %e', err) })
    // --- presence ---
    if (presenceEnabled(o.presence) && libp2p.services.pubsub !== undefined) {
      this.#presence = startAgentPresence({
        identity: this.identity,
        announcedHandle: () => this.#record === undefined ? undefined : this.handleName,
        capabilities: () => [...this.#handlers.keys()].filter(m => m !== 'ping'),
        resolve: async (handle) => this.resolve(handle).then(r => ({ peer: r.peer, kind: r.kind }), () => undefined)
      }, libp2p as Libp2p<{ pubsub: GossipSub }>, o.presence ?? true)
    }
    // --- end presence ---
  }

  /** Deletes finished approvals and negotiations past the policy's `quotas.finishedKeptMs`, so that neither the store nor start-up grows with history. */
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

  /** Stops the node; open sessions close. */
  async stop (): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    clearTimeout(this.#republish)
    this.#negotiations?.stopExpiry()
    clearInterval(this.#pruneTimer)
    this.#bridge.stop()
    this.#presence?.stop()
    await Promise.allSettled([...this.#sessions].map(async s => s.close()))
    const libp2p = this.#libp2p
    if (libp2p !== undefined) {
      this.#libp2p = undefined
      await libp2p.stop()
      running--
      await releaseWebRTC()
    }
  }

  /** Stops the node and closes its stores (a stopped agent that will not start again). */
  async close (): Promise<void> {
    await this.stop()
    await this.#desk?.close()
    if (this.#replay instanceof ReplayJournal) await this.#replay.close()
    const ds = this.#datastore
    this.#replay = undefined
    this.#desk = undefined
    this.#negotiations = undefined
    this.#datastore = undefined
    if (ds instanceof LevelDatastore) await ds.close()
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
    await this.stop()
    if (this.#options.dataDir !== undefined) await saveIdentity(this.#options.dataDir, next, { overwrite: true })
    log('@%s: key %s hands over to %s', handle, this.#identity.peerIdString, next.peerIdString)
    this.#identity = next
    this.#rotation = rotation
    this.#record = undefined
    this.#recordJson = undefined
    await this.start()
    const record = this.#record as HandleRecord | undefined
    if (record === undefined) throw new Error(`@${handle} was not republished under the new key`)
    return record
  }

  /** Resolves `@handle` to its current, verified record (cached until expiry). */
  async resolve (handle: string, options: { fresh?: boolean } = {}): Promise<HandleRecord> {
    if (this.#resolver === undefined) throw notStarted()
    return this.#resolver.resolve(handle, options)
  }

  /**
   * Publishes (or republishes) our handle record: first come, first served,
   * so a handle held by another key is refused with `ERR_HANDLE_TAKEN`.
   */
  async publish (): Promise<HandleRecord> {
    const handle = this.handleName
    if (handle === undefined) throw new Error('this agent has no handle')
    const libp2p = this.libp2p
    const existing = await this.#resolver?.lookup(handle)
    const ttlMs = this.#options.recordTtlMs ?? DEFAULT_RECORD_TTL_MS
    const seq = Math.max(Date.now(), (this.#record?.seq ?? 0) + 1, (existing?.seq ?? 0) + 1)
    // first come, first served, as the DHT servers will judge it (throws ERR_HANDLE_TAKEN),
    // decided before the proof of work is minted
    if (existing !== undefined) {
      try {
        succession(existing, { ...existing, peer: this.peerId, seq, rotation: this.#rotation }, Date.now())
      } catch (err) {
        if (!(err instanceof HandleRecordError) || err.code !== HandleRecordErrorCode.HANDLE_TAKEN) throw err
        throw new HandleRecordError(HandleRecordErrorCode.HANDLE_TAKEN, `${err.message}, a key other than this agent's (${this.peerId}). ${TAKEN_HINT}`)
      }
    }
    const { record, bytes } = await createHandleRecord(this.#identity, {
      handle,
      relays: this.#reservedRelays().slice(0, 8),
      seq,
      ttlMs,
      powBits: this.#options.powBits ?? DEFAULT_POW_BITS,
      ...(this.#rotation === undefined ? {} : { rotation: this.#rotation })
    })
    let accepted = 0
    for await (const event of libp2p.services.dht.put(handleKey(handle), bytes, { signal: AbortSignal.timeout(15_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted++
    }
    if (accepted === 0) {
      throw new HandleRecordError(HandleRecordErrorCode.HANDLE_TAKEN, `no DHT server accepted the record for @${handle} (the handle may be held by another key). ${TAKEN_HINT}`)
    }
    this.#record = record
    this.#recordJson = JSON.parse(fromUtf8(bytes)) as JsonValue
    this.#resolver?.remember(record)
    clearTimeout(this.#republish)
    this.#republish = setTimeout(() => { this.publish().catch(err => { log('republish of @%s failed: %e', handle, err) }) }, Math.max(1000, ttlMs / 2))
    this.#republish.unref?.()
    log('published @%s (seq %d) on %d DHT servers', handle, record.seq, accepted)
    return record
  }

  /**
   * Opens a session to `@handle` (or a peer id): resolves, dials through the
   * peer's relay, exchanges hellos, and returns at once; meanwhile it dials a
   * direct WebRTC connection signalled over the relay and, when that opens,
   * moves the live session onto it (`upgrade` event). A session whose
   * upgrade fails stays on the relay.
   */
  async connect (target: string, options: AbortOptions = {}): Promise<Session> {
    const ms = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
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
    let peer: string
    let relays: string[] = []
    let connection: Connection
    if (target.startsWith('@') || HANDLE_PATTERN.test(target)) {
      let record = await within(this.resolve(target))
      try {
        connection = await this.#dial(record.peer, record.relays, signal)
      } catch (err) {
        signal?.throwIfAborted()
        // the cached record may be stale: the handle moved relays, or to a new key
        const fresh = await within(this.resolve(target, { fresh: true }))
        if (fresh === record) throw err
        record = fresh
        connection = await this.#dial(record.peer, record.relays, signal)
      }
      peer = record.peer
      relays = [...record.relays]
    } else {
      peer = peerIdFromString(target).toString()
      connection = await this.#dial(peer, relays, signal)
    }
    const stream = await connection.newStream(SESSION_PROTOCOL, { runOnLimitedConnection: true, ...(signal === undefined ? {} : { signal }) })
    const session = this.#track(new Session(this.#host(), stream, peer, 'outbound'))
    try {
      await within(session.ready)
    } catch (err) {
      session.abort(err as Error)
      throw err
    }
    this.safeDispatchEvent('connected', { detail: session })
    if (connection.limits !== undefined && relays.length > 0 && this.#options.webrtc !== false) void this.#upgrade(session, relays, connection)
    return session
  }

  async #dial (peer: string, relays: readonly string[], signal?: AbortSignal): Promise<Connection> {
    const libp2p = this.libp2p
    const open = libp2p.getConnections(peerIdFromString(peer)).filter(c => c.status === 'open')
    const best = open.find(c => c.limits === undefined) ?? open[0]
    if (best !== undefined) return best
    // each attempt gets DIAL_TIMEOUT_MS, within what is left of connect()'s
    const attempt = (): AbortSignal => signal === undefined ? AbortSignal.timeout(DIAL_TIMEOUT_MS) : AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
    let lastError: unknown
    for (const relay of relays) {
      signal?.throwIfAborted()
      try {
        return await libp2p.dial(multiaddr(`${relay}/p2p-circuit/p2p/${peer}`), { signal: attempt() })
      } catch (err) {
        lastError = err
      }
    }
    if (relays.length === 0) return libp2p.dial(peerIdFromString(peer), { signal: attempt() })
    throw lastError instanceof Error ? lastError : new Error(`cannot reach ${peer}`)
  }

  /**
   * Dials a direct WebRTC connection through one of `relays` and moves
   * `session` onto it; then closes the relayed connection `circuit`, which
   * counts against the relay's limits, once no session stream is left on it.
   */
  async #upgrade (session: Session, relays: string[], circuit: Connection): Promise<void> {
    const timeout = this.#options.upgradeTimeoutMs ?? 10_000
    let attempts = 0
    let reason = 'no attempt'
    // WebRTC setup through a relay sometimes stalls (see docs/benchmarks.md): try each relay twice
    for (const relay of [...relays, ...relays]) {
      if (session.closed || this.#stopping) return
      attempts++
      try {
        // force: libp2p would otherwise hand back the relayed connection we already have
        const connection = await this.libp2p.dial(multiaddr(`${relay}/p2p-circuit/webrtc/p2p/${session.remotePeer}`), { signal: AbortSignal.timeout(timeout), force: true })
        if (connection.limits !== undefined) { reason = 'the WebRTC dial gave a relayed connection'; continue }
        const stream = await connection.newStream(SESSION_PROTOCOL, { signal: AbortSignal.timeout(timeout) })
        await session.upgrade(stream)
        await this.#announceDirect(session, connection)
        await this.#dropCircuit(circuit)
        return
      } catch (err) {
        reason = oneLine(err)
        log('no direct WebRTC connection to %s through %s: %e', session.remotePeer, relay, err)
      }
    }
    if (session.closed || this.#stopping) return
    // a NAT that maps each destination to a new port (symmetric) on either side defeats hole punching
    log('session %s with %s stays on the relay: no direct connection after %d attempts (%s); behind a symmetric NAT, only a TURN server would help', session.id, session.remotePeer, attempts, reason)
    this.safeDispatchEvent('relayed', { detail: { session, peer: session.remotePeer, attempts, reason } })
  }

  /** Logs and announces (`direct` event) the ICE candidate pair a session now runs on. */
  async #announceDirect (session: Session, connection: Connection): Promise<void> {
    const path = await icePath(connection)
    log('session %s with %s is direct on %a (%s)', session.id, session.remotePeer, connection.remoteAddr,
      path === undefined ? 'candidate pair unknown' : `${path.local.type} ${path.local.address ?? '?'}:${path.local.port ?? '?'} -> ${path.remote.type} ${path.remote.address ?? '?'}:${path.remote.port ?? '?'}`)
    this.safeDispatchEvent('direct', { detail: { session, peer: session.remotePeer, ...(path === undefined ? {} : { path }) } })
  }

  /** Asks `relay` where it serves STUN (protocols/stun), and remembers the answer. */
  async #learnStun (relay: string): Promise<void> {
    try {
      const url = await askStunServer(this.libp2p, relay, { signal: AbortSignal.timeout(3000) })
      if (url === undefined) this.#relayStun.delete(relay)
      else this.#relayStun.set(relay, url)
      log('relay %s: %s', relay, url === undefined ? 'no STUN server announced' : `STUN at ${url}`)
    } catch (err) {
      // an older relay does not speak the protocol: no STUN from it
      log('relay %s announces no STUN server: %e', relay, err)
    }
  }

  /**
   * Closes a relayed connection once no session stream is left on it: the far
   * side closes a session's old stream when it has adopted the new one, and
   * closing the circuit before then could end the session there. Gives up
   * (leaves it open) after `waitMs`, if another session still uses it.
   */
  async #dropCircuit (circuit: Connection, waitMs = 5000): Promise<void> {
    const deadline = Date.now() + waitMs
    while (circuit.status === 'open' && !this.#stopping) {
      if (!circuit.streams.some(s => s.protocol === SESSION_PROTOCOL)) {
        log('closing the relayed connection to %p: its sessions are direct now', circuit.remotePeer)
        await circuit.close().catch(err => { circuit.abort(err as Error) })
        return
      }
      if (Date.now() >= deadline) return
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  /**
   * A new session stream: either a new session (its first frame is a hello)
   * or an existing one moving to a new connection (`session/resume`).
   */
  #accept (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    const frames = framesOf(stream, this.#options.maxEnvelopeBytes, this.#host())
    void (async () => {
      const first = await frames.next()
      if (first.done === true || 'oversize' in first.value) { stream.abort(new Error('no session frame')); return }
      const bytes = first.value.bytes
      const resumed = resumeTarget(bytes)
      if (resumed !== undefined) {
        const session = [...this.#sessions].find(s => s.remotePeer === peer && s.id === resumed)
        if (session !== undefined && await session.acceptsResume(bytes)) {
          session.adopt(stream, frames)
          if (connection.limits === undefined) void this.#announceDirect(session, connection)
          return
        }
        stream.abort(new Error('session/resume for no session of this peer'))
        return
      }
      // libp2p's maxInboundStreams counts one connection's streams; a peer may open several connections
      const max = this.#options.maxSessionsPerPeer ?? 8
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
    return {
      signer: this.#identity,
      handle: this.#record === undefined ? undefined : this.handleName,
      record: () => this.#recordJson,
      handlers: this.#gated,
      replayGuard: this.#replayGuard(),
      verifyHello: async (remotePeer, claimed, record) => this.#verifyHello(remotePeer, claimed, record),
      ...(this.#options.maxEnvelopeBytes === undefined ? {} : { maxBytes: this.#options.maxEnvelopeBytes }),
      ...(this.#options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.#options.requestTimeoutMs }),
      ...(this.#options.keepAliveMs === undefined ? {} : { keepAliveMs: this.#options.keepAliveMs }),
      ...(this.#options.helloTimeoutMs === undefined ? {} : { helloTimeoutMs: this.#options.helloTimeoutMs }),
      ...(this.#options.frameTimeoutMs === undefined ? {} : { frameTimeoutMs: this.#options.frameTimeoutMs }),
      ...(this.#options.maxInFlight === undefined ? {} : { maxInFlight: this.#options.maxInFlight }),
      ...(this.#options.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: this.#options.writeTimeoutMs }),
      ...(this.#options.maxWriteBufferBytes === undefined ? {} : { maxWriteBufferBytes: this.#options.maxWriteBufferBytes }),
      ...(this.#frameRates.every(r => r === undefined) ? {} : { admit: (peer: string) => this.#frameRates[this.#desk?.trust.level(peer) ?? 0]?.wait(peer) ?? 0 })
    }
  }

  /** The node's replay guard (opened with the stores at {@link start}). */
  #replayGuard (): ReplayCheck {
    if (this.#replay === undefined) throw notStarted()
    return this.#replay
  }

  // ---------------------------------------------------------------------------
  // The human bridge: policy gate, approvals, messages, trust, log

  #negotiationsHost (datastore: Datastore): ConstructorParameters<typeof Negotiations>[0] {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const agent = this
    return {
      // the key can change (rotateKey): always sign with the current one
      signer: { get peerIdString () { return agent.peerId }, sign: (data) => agent.identity.sign(data) },
      self: () => this.handleName === undefined || this.#record === undefined ? { peer: this.peerId } : { peer: this.peerId, handle: this.handleName },
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
  async #sessionWith (party: Party): Promise<Session> {
    const open = [...this.#sessions].find(s => s.remotePeer === party.peer && !s.closed && s.remote !== undefined)
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
  async send (to: string, text: string, options: { conversation?: string, inReplyTo?: string } = {}): Promise<JsonValue> {
    const target = to.startsWith('@') || HANDLE_PATTERN.test(to) ? await this.resolve(to) : undefined
    const peer = target?.peer ?? peerIdFromString(to).toString()
    const session = await this.#sessionWith({ peer, ...(target === undefined ? {} : { handle: target.handle }) })
    return session.request(METHODS.message, { text, ...options })
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

  /** Stamps the remote side from what can be verified: a valid record of this peer that the DHT confirms is current. */
  async #verifyHello (remotePeer: string, claimed: string | undefined, record: unknown): Promise<Caller> {
    const anon: Caller = { peer: remotePeer, kind: 'anon' }
    if (claimed === undefined || record === undefined) return anon
    try {
      const minPowBits = this.#options.minPowBits ?? DEFAULT_POW_BITS
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

  #reservedRelays (): string[] {
    const own = `/p2p-circuit/p2p/${this.peerId}`
    const reserved = new Set<string>()
    for (const a of this.libp2p.getMultiaddrs()) {
      const s = a.toString()
      if (s.endsWith(own) && !s.includes('/webrtc')) reserved.add(s.slice(0, -own.length))
    }
    return this.#options.relays.filter(r => reserved.has(r))
  }

  async #waitForReservation (timeoutMs = 15_000): Promise<Multiaddr[]> {
    if (this.#options.relays.length === 0) return []
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.#reservedRelays().length > 0) return this.libp2p.getMultiaddrs()
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    throw new AgentError(AgentErrorCode.NO_RELAY, `no relay granted a reservation within ${timeoutMs} ms (relays: ${this.#options.relays.join(', ')}); the relay may be full (see its /healthz) or refusing this peer`)
  }

  /** A relay went away: redial it with backoff; the reservation and our record follow. */
  #onDisconnect (peer: string): void {
    const relay = this.#options.relays.find(r => r.endsWith(`/p2p/${peer}`))
    if (relay === undefined || this.#stopping) return
    void (async () => {
      for (let delay = 250; !this.#stopping; delay = Math.min(delay * 2, 10_000)) {
        await new Promise(resolve => setTimeout(resolve, delay))
        if (this.#stopping) return
        try {
          await this.libp2p.dial(multiaddr(relay), { signal: AbortSignal.timeout(5000) })
          await this.#waitForReservation(10_000)
          // the relay may have come back with another STUN port, or none
          if (this.#options.webrtc !== false) await this.#learnStun(relay)
          if (this.handleName !== undefined) await this.publish()
          log('back on relay %s', relay)
          return
        } catch (err) {
          log('relay %s still unreachable: %e', relay, err)
        }
      }
    })().catch(err => { log.error('redialling relay %s failed: %e', relay, err) })
  }
}

/** What to do about `ERR_HANDLE_TAKEN`. */
const TAKEN_HINT = 'Keep the key that registered it between runs (the dataDir option, or --data-dir), or pick another handle.'

function notStarted (): AgentError {
  return new AgentError(AgentErrorCode.NOT_STARTED, 'the agent is not started: await agent.start() first')
}

/** The first line of an error's message. */
function oneLine (err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0] ?? text
}

/** The session id named by a frame if it is a `session/resume` (unverified: the session checks it). */
function resumeTarget (bytes: Uint8Array): string | undefined {
  const body = peekBody(bytes)
  return body?.method === RESUME && typeof body.params?.session === 'string' ? body.params.session : undefined
}

/** No STUN/TURN servers of its own (public ones are unreachable offline, and each costs a second per dial; the relays' are added); ICE bound as PARLEY_WEBRTC_BIND says. */
function defaultRtcConfiguration (): RTCConfiguration {
  const bind = globalThis.process?.env?.PARLEY_WEBRTC_BIND
  return (bind === undefined || bind === '' ? { iceServers: [] } : { iceServers: [], bindAddress: bind }) as RTCConfiguration
}
