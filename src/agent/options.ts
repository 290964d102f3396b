/**
 * What an agent is created with ({@link AgentOptions}), and the check that
 * runs before anything starts: a mistake in the options fails at once with an
 * {@link AgentError} (`ERR_INVALID_OPTIONS`) whose message names the option
 * and says what to pass instead, rather than as a timeout later.
 */
import { p2pPeerOf } from '../util/multiaddr.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgentError, AgentErrorCode } from '../errors.js'
import { HANDLE_PATTERN } from '../handles/record.js'
import { isIdentityKind } from '../identity/identity.js'
import type { IdentityKind } from '../identity/identity.js'
import type { NodePolicy } from '../store/index.js'
import type { AgentPresenceOption } from '../presence/agent.js'

/** What {@link createAgent} takes: only `relays` is required. */
export interface AgentOptions {
  /** The handle to register, without or with `@` (omit for an agent without one: callers see it as `anon`). */
  handle?: string
  /** `agent` (default) or `human`. */
  kind?: IdentityKind
  /**
   * Keeps the identity and the stores between runs: a directory in Node, the
   * name of an IndexedDB database in a browser. Omit for an ephemeral
   * in-memory identity.
   */
  dataDir?: string
  /** Relay multiaddrs (with `/p2p/<id>`) to reserve on; the first reachable ones are published in the record. */
  relays: string[]
  /**
   * Peer ids of DHT servers to trust besides the relays: only these and the
   * relays enter this agent's DHT routing table, and only their answers count
   * when a handle is resolved (protocols/handle-record §15). Default none.
   */
  dhtServers?: string[]
  /** Proof-of-work difficulty minted into our record (default the network's, `DEFAULT_POW_BITS`). */
  powBits?: number
  /** Least difficulty accepted on others' records (default `DEFAULT_POW_BITS`). */
  minPowBits?: number
  /** Lifetime of our record; it is republished at half of it (default 24 h). */
  recordTtlMs?: number
  /** Default request timeout (10 s). */
  requestTimeoutMs?: number
  /** Largest envelope accepted (256 KiB). */
  maxEnvelopeBytes?: number
  /** Silence after which a session sends a keep-alive ping (default 30 s; 0 disables). */
  keepAliveMs?: number
  /**
   * How long a session whose connection is lost (a relay crashed, a network
   * changed) waits to be resumed on a new one before it ends (default 30 s;
   * 0 ends it at once). The side that opened it redials meanwhile, and sends
   * unanswered requests again under their envelope ids, which the far side
   * answers with their first responses (protocols/session §5).
   */
  resumeWindowMs?: number
  /** Sessions one peer may open to us at once (default 8). */
  maxSessionsPerPeer?: number
  /** Time a peer's new session stream has to deliver its whole `session/hello` before the stream is reset (default 10 s; 0 disables). */
  helloTimeoutMs?: number
  /** Time a frame has to arrive whole once it has begun (default 10 s; 0 disables); idle time between frames is not limited. */
  frameTimeoutMs?: number
  /**
   * Frames one peer may have verified a second, across all its sessions, each
   * rate with a burst of twice as many; a peer that sends faster is read more
   * slowly, so it cannot starve other peers. One rate for every peer, or three
   * by the peer's trust level `[unknown, known, trusted]` (default
   * `[200, 1000, 2000]`). 0 turns the rate off (for that level).
   */
  maxFramesPerSecond?: number | readonly [number, number, number]
  /** Incoming requests one session handles at once (default 64); more are answered at once with `ERR_TOO_MANY_REQUESTS`. */
  maxInFlight?: number
  /** Time a session's outgoing side may stay blocked by a peer that reads nothing before the session is closed (default 10 s; 0 disables). */
  writeTimeoutMs?: number
  /** Bytes a session may hold waiting for a peer that does not read (beyond one frame) before it is closed (default 1 MiB). */
  maxWriteBufferBytes?: number
  /** How long each attempt at a direct WebRTC connection may take before the session stays on the relay (default 10 s). */
  upgradeTimeoutMs?: number
  /** How long `connect()` may take end to end, resolving the handle, dialing and exchanging hellos (default 30 s; 0 for none): then `ERR_CONNECT_TIMEOUT`. */
  connectTimeoutMs?: number
  /**
   * WebRTC configuration (default: ICE bound to `PARLEY_WEBRTC_BIND` when
   * that environment variable is set). Its `iceServers` are used as given,
   * followed by the STUN servers the agent's relays announce
   * (protocols/stun); none are added otherwise: no public STUN servers.
   */
  rtcConfiguration?: RTCConfiguration
  /**
   * Direct WebRTC connections (default true): listen for them, and move
   * sessions onto them. `false` keeps every session on the relay (the other
   * side never learns this node's IP addresses).
   */
  webrtc?: boolean
  /**
   * In a browser: dial private and loopback addresses and plain `/ws`, which
   * libp2p's browser connection gater refuses by default (a page must not
   * probe the visitor's network). For tests and development on loopback
   * only; a production tab reaches relays on public `wss` addresses. Node
   * agents always dial what they are given.
   */
  dialPrivateAddresses?: boolean
  /**
   * Announce this agent on the presence topic (`protocols/presence`) so that
   * dashboards can show it: handle, kind, capabilities (default: the methods
   * it serves) and connections, signed. Adds gossipsub. Default off.
   */
  presence?: AgentPresenceOption
  /**
   * What this node asks its human about (method classes, an amount threshold);
   * with each contact's trust level it decides every incoming request and
   * negotiation move (protocols/methods §1).
   */
  policy?: NodePolicy
}

/** Where a relay's address comes from, for error messages. */
const RELAY_HINT = 'a relay prints its addresses when it starts (npm start, or parley relay); pass one whole, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…'

function invalid (message: string): never {
  throw new AgentError(AgentErrorCode.INVALID_OPTIONS, message)
}

/** The peer id a relay's multiaddr ends in (`/p2p/<id>`; {@link checkAgentOptions} has made sure there is one). */
export function relayPeer (relay: string): string {
  return p2pPeerOf(relay) ?? ''
}

/**
 * Checks `options` before an agent is created or started, and returns the
 * handle without its `@` (or `undefined`). Throws {@link AgentError}
 * `ERR_INVALID_OPTIONS` naming the first bad option: a relay that is missing
 * (as from an unset `PARLEY_RELAY`), not a multiaddr, or without
 * `/p2p/<peer id>`; a handle outside the syntax; an unknown kind; a proof of
 * work or a duration out of range.
 */
export function checkAgentOptions (options: AgentOptions): string | undefined {
  if (typeof options !== 'object' || options === null) invalid('createAgent needs an options object, e.g. { handle: \'alice\', relays: [process.env.PARLEY_RELAY] }')
  if (!Array.isArray(options.relays)) invalid(`relays must be an array of relay multiaddrs (${RELAY_HINT})`)
  options.relays.forEach((relay: unknown, i) => {
    const name = `relays[${i}]`
    if (relay === undefined || relay === null || relay === '') invalid(`${name} is ${relay === '' ? 'empty' : String(relay)}: is PARLEY_RELAY set? ${RELAY_HINT}`)
    if (typeof relay !== 'string') invalid(`${name} must be a multiaddr string, not ${typeof relay}`)
    const named = `relay ${JSON.stringify(relay)}`
    let peer: string | undefined
    try {
      peer = p2pPeerOf(relay)
    } catch (err) {
      invalid(`${named} is not a multiaddr (${(err as Error).message}); ${RELAY_HINT}`)
    }
    if (peer === undefined) invalid(`${named} has no /p2p/<peer id>, so the relay cannot be authenticated; ${RELAY_HINT}`)
    try { peerIdFromString(peer) } catch { invalid(`${named} ends in /p2p/${peer}, which is not a peer id; ${RELAY_HINT}`) }
    if (relay.includes('/p2p-circuit')) invalid(`${named} is a circuit address; give the relay's own address`)
  })
  if (options.dhtServers !== undefined) {
    if (!Array.isArray(options.dhtServers)) invalid('dhtServers must be an array of peer ids')
    for (const peer of options.dhtServers) {
      try { peerIdFromString(peer) } catch { invalid(`dhtServers: ${JSON.stringify(peer)} is not a peer id`) }
    }
  }
  let handle: string | undefined
  if (options.handle !== undefined) {
    const h = typeof options.handle === 'string' && options.handle.startsWith('@') ? options.handle.slice(1) : options.handle
    if (typeof h !== 'string' || !HANDLE_PATTERN.test(h)) invalid(`handle ${JSON.stringify(options.handle)} is not a handle: 3-32 characters of a-z, 0-9 and -, e.g. 'rapid-plumb'`)
    if (options.relays.length === 0) invalid(`handle @${h} needs at least one relay to publish it on (${RELAY_HINT})`)
    handle = h
  }
  if (options.kind !== undefined && !isIdentityKind(options.kind)) invalid(`kind must be 'agent' or 'human', not ${JSON.stringify(options.kind)}`)
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) invalid('dataDir must be a directory path (in a browser, a database name)')
  for (const key of ['powBits', 'minPowBits'] as const) {
    const v = options[key]
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 32)) invalid(`${key} must be an integer from 0 to 32, not ${String(v)}`)
  }
  for (const key of ['recordTtlMs', 'requestTimeoutMs', 'maxEnvelopeBytes', 'keepAliveMs', 'maxSessionsPerPeer', 'upgradeTimeoutMs', 'connectTimeoutMs', 'helloTimeoutMs', 'frameTimeoutMs', 'writeTimeoutMs', 'maxWriteBufferBytes', 'resumeWindowMs'] as const) {
    const v = options[key]
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) invalid(`${key} must be a non-negative number, not ${String(v)}`)
  }
  const fps = options.maxFramesPerSecond
  const rate = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0
  if (fps !== undefined && !(Array.isArray(fps) ? fps.length === 3 && fps.every(rate) : rate(fps))) {
    invalid(`maxFramesPerSecond must be a non-negative number, or three of them by trust level [unknown, known, trusted], not ${JSON.stringify(fps)}`)
  }
  if (options.maxInFlight !== undefined && (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1)) invalid(`maxInFlight must be a whole number of at least 1, not ${String(options.maxInFlight)}`)
  return handle
}
