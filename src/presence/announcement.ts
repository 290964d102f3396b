/**
 * Presence announcements (`protocols/presence`): a signed statement a peer
 * publishes on the gossipsub topic `/parley/presence/1.0.0` saying who it is
 * (handle, kind), what it offers (capabilities) and how it is connected, so
 * that a dashboard can draw the mesh beyond its own connections.
 *
 * An announcement is believed only as far as it can be checked: its
 * signature by `peer`, `peer` being the gossipsub publisher, a fresh `ts`, and
 * a claimed handle whose DHT record names the same peer and kind.
 *
 * @example
 * ```ts
 * import { createIdentity } from 'parley-mesh/identity'
 * import { signPresence, verifyPresence } from 'parley-mesh/presence'
 * import type { HandleLookup } from 'parley-mesh/presence'
 *
 * const identity = await createIdentity({ kind: 'human' })
 * // in practice a DHT lookup of the handle record
 * const resolve: HandleLookup = async () => ({ peer: identity.peerIdString, kind: 'human' })
 * const bytes = await signPresence(identity, { handle: 'alice', kind: 'human', capabilities: ['chat'], connections: [] })
 * const verdict = await verifyPresence(bytes, { from: identity.peerIdString, resolve })
 * verdict.status // 'valid'
 * ```
 */
import { isJsonObject, isPeerId } from '../crypto/shape.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { verifySignature } from '../crypto/signature.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
import { fromBase64url, fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { HANDLE_PATTERN } from '../handles/record.js'
import type { Transport } from '../util/transport.js'

/** The gossipsub topic of presence announcements. */
export const PRESENCE_TOPIC = '/parley/presence/1.0.0'
/** Prefix of the message a peer signs. */
export const PRESENCE_SIGNATURE_DOMAIN = 'parley/presence/v1\n'
/** Largest announcement accepted, in bytes. */
export const MAX_PRESENCE_BYTES = 8192
/** Most capabilities an announcement lists. */
export const MAX_CAPABILITIES = 32
/** Longest capability, in characters. */
export const MAX_CAPABILITY_LENGTH = 64
/** Most connections an announcement lists. */
export const MAX_CONNECTIONS = 64
/** Announcements older than this are stale (default). */
export const DEFAULT_MAX_AGE_MS = 120_000
/** Announcements dated further ahead than this are refused (default). */
export const DEFAULT_MAX_FUTURE_MS = 30_000
/** Transports an announcement may name. */
export const PRESENCE_TRANSPORTS = ['tcp', 'websocket', 'circuit', 'webrtc'] as const satisfies readonly Transport[]

/** A transport a connection in an announcement may use. */
export type PresenceTransport = Transport

/** Why an announcement is not valid. */
export const PresenceErrorCode = {
  /** More than {@link MAX_PRESENCE_BYTES} bytes. */
  OVERSIZE: 'ERR_OVERSIZE',
  /** Not UTF-8 JSON, a missing, unknown or mistyped member, or `peer` not an Ed25519 peer id. */
  MALFORMED: 'ERR_MALFORMED',
  /** The bytes are not the RFC 8785 canonical form of what they parse to. */
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  /** `v` is not 1. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** There is no `sig`. */
  UNSIGNED: 'ERR_UNSIGNED',
  /** `peer` is not the gossipsub publisher. */
  SIGNER_MISMATCH: 'ERR_SIGNER_MISMATCH',
  /** `ts` is older than the receiver's window. */
  STALE: 'ERR_STALE',
  /** `ts` is further ahead of the receiver's clock than it tolerates. */
  FUTURE: 'ERR_FUTURE',
  /** The signature does not verify under `peer`'s key. */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** The claimed handle has no valid record (yet). */
  HANDLE_UNRESOLVED: 'ERR_HANDLE_UNRESOLVED',
  /** The claimed handle's record names another peer or kind. */
  HANDLE_MISMATCH: 'ERR_HANDLE_MISMATCH'
} as const
export type PresenceErrorCode = typeof PresenceErrorCode[keyof typeof PresenceErrorCode]

/** An announcement's members, as on the wire. */
export interface PresenceAnnouncement {
  /** The format version, 1. */
  v: 1
  /** The announcing peer's id; its key signs. */
  peer: string
  /** The handle it claims, without `@`; checked against the DHT. */
  handle?: string
  /** Whether it is an agent or a human. */
  kind: 'agent' | 'human'
  /** What it offers, free-form names (at most {@link MAX_CAPABILITIES}). */
  capabilities: string[]
  /** The peers it is connected to, and how (at most {@link MAX_CONNECTIONS}). */
  connections: Array<{
    /** The other peer's id. */
    peer: string
    /** The connection's transport. */
    transport: PresenceTransport
  }>
  /** When it was signed, ms since the Unix epoch. */
  ts: number
  /** Base64url Ed25519 signature by `peer`. */
  sig?: string
}

/** What a receiver concludes about one announcement. */
export interface PresenceVerdict {
  /** `valid` only when every check passed. */
  status: 'valid' | 'invalid' | 'unsigned'
  /** Set unless `status` is `valid`. */
  reason?: PresenceErrorCode
  /** The parsed announcement, when it was well-formed enough to read. */
  announcement?: PresenceAnnouncement
}

/** What signing needs: Parley's `Identity` satisfies it. */
export interface PresenceSigner {
  /** The signer's peer id: the announcement's `peer`. */
  readonly peerIdString: string
  /** Signs `data` with the Ed25519 key named by `peerIdString`. */
  sign: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array
}

/** What the DHT says about a handle: the holder and its kind, or undefined when no valid record was found. */
export type HandleLookup = (handle: string) => Promise<{
  /** The holder's peer id. */
  peer: string
  /** The record's kind. */
  kind: string
} | undefined>

/** Options of {@link verifyPresence}. */
export interface VerifyPresenceOptions {
  /** The gossipsub publisher (the message's authenticated `from`): must equal `peer`. */
  from: string
  /** Resolves claimed handles; without it a handle claim cannot be checked and the announcement is invalid. */
  resolve?: HandleLookup
  /** The receiver's clock, ms since the Unix epoch (default `Date.now()`). */
  now?: number
  /** Oldest acceptable `ts`, as an age in ms (default {@link DEFAULT_MAX_AGE_MS}, 120 s). */
  maxAgeMs?: number
  /** Furthest acceptable future `ts`, in ms (default {@link DEFAULT_MAX_FUTURE_MS}, 30 s). */
  maxFutureMs?: number
}

/** The message a peer signs: UTF-8(`parley/presence/v1\n`) ‖ JCS(announcement without `sig`). */
export function presenceSigningMessage (members: object): Uint8Array {
  const rest: Record<string, unknown> = { ...members }
  delete rest.sig
  return utf8(PRESENCE_SIGNATURE_DOMAIN + canonicalize(rest as JsonValue))
}

/** Signs an announcement for `signer` (its `peer`), dated `ts` (default now); returns the wire bytes. */
export async function signPresence (signer: PresenceSigner, fields: Omit<PresenceAnnouncement, 'v' | 'peer' | 'ts' | 'sig'> & { ts?: number }): Promise<Uint8Array> {
  const members: Record<string, unknown> = {
    v: 1,
    peer: signer.peerIdString,
    ...(fields.handle === undefined ? {} : { handle: fields.handle }),
    kind: fields.kind,
    capabilities: [...fields.capabilities],
    connections: fields.connections.map(c => ({ peer: c.peer, transport: c.transport })),
    ts: fields.ts ?? Date.now()
  }
  const sig = toBase64url(await signer.sign(presenceSigningMessage(members)))
  return utf8(canonicalize({ ...members, sig } as JsonValue))
}

const MEMBERS = new Set(['v', 'peer', 'handle', 'kind', 'capabilities', 'connections', 'ts', 'sig'])


/** Structure checks; returns the announcement or the reason it is malformed. */
function structure (value: unknown): PresenceAnnouncement | PresenceErrorCode {
  const M = PresenceErrorCode.MALFORMED
  if (!isJsonObject(value)) return M
  for (const name of Object.keys(value)) if (!MEMBERS.has(name)) return M
  if (value.v === undefined) return M
  if (value.v !== 1) return PresenceErrorCode.UNSUPPORTED_VERSION
  const { peer, handle, kind, capabilities, connections, ts, sig } = value
  // isPeerId bounds the length first: decoding a long base58 string costs ~50 ms per 8 KB
  if (!isPeerId(peer)) return M
  if (handle !== undefined && (typeof handle !== 'string' || !HANDLE_PATTERN.test(handle))) return M
  if (kind !== 'agent' && kind !== 'human') return M
  if (!Array.isArray(capabilities) || capabilities.length > MAX_CAPABILITIES) return M
  for (const c of capabilities) if (typeof c !== 'string' || c.length === 0 || c.length > MAX_CAPABILITY_LENGTH) return M
  if (!Array.isArray(connections) || connections.length > MAX_CONNECTIONS) return M
  for (const c of connections) {
    if (!isJsonObject(c) || Object.keys(c).some(k => k !== 'peer' && k !== 'transport')) return M
    if (typeof c.peer !== 'string' || c.peer.length === 0 || c.peer.length > 128) return M
    if (!(PRESENCE_TRANSPORTS as readonly unknown[]).includes(c.transport)) return M
  }
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return M
  if (sig !== undefined && typeof sig !== 'string') return M
  return value as unknown as PresenceAnnouncement
}

/**
 * Checks an announcement received from gossipsub publisher `options.from`.
 * Order: size, JSON, structure, canonical form, signature present, signer is
 * the publisher, freshness, signature, handle claim. Never throws.
 */
export async function verifyPresence (bytes: Uint8Array, options: VerifyPresenceOptions): Promise<PresenceVerdict> {
  const invalid = (reason: PresenceErrorCode, announcement?: PresenceAnnouncement): PresenceVerdict =>
    ({ status: reason === PresenceErrorCode.UNSIGNED ? 'unsigned' : 'invalid', reason, ...(announcement === undefined ? {} : { announcement }) })
  if (bytes.byteLength > MAX_PRESENCE_BYTES) return invalid(PresenceErrorCode.OVERSIZE)
  let text: string
  let value: unknown
  try {
    text = fromUtf8(bytes)
    value = JSON.parse(text)
  } catch {
    return invalid(PresenceErrorCode.MALFORMED)
  }
  const parsed = structure(value)
  if (typeof parsed === 'string') return invalid(parsed)
  let canonical: string
  try {
    canonical = canonicalize(value as JsonValue)
  } catch {
    return invalid(PresenceErrorCode.MALFORMED, parsed)
  }
  // compare bytes, not text: the decoder drops a leading byte order mark, which canonical bytes never have
  if (canonical !== text || bytes[0] === 0xef) return invalid(PresenceErrorCode.NON_CANONICAL, parsed)
  if (parsed.sig === undefined) return invalid(PresenceErrorCode.UNSIGNED, parsed)
  if (parsed.peer !== options.from) return invalid(PresenceErrorCode.SIGNER_MISMATCH, parsed)
  const now = options.now ?? Date.now()
  if (parsed.ts < now - (options.maxAgeMs ?? DEFAULT_MAX_AGE_MS)) return invalid(PresenceErrorCode.STALE, parsed)
  if (parsed.ts > now + (options.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS)) return invalid(PresenceErrorCode.FUTURE, parsed)
  const sig = fromBase64url(parsed.sig)
  const key = ed25519KeyOfPeer(parsed.peer)
  if (sig === undefined || sig.byteLength !== 64 || key === undefined || !await verifySignature(key, presenceSigningMessage(parsed), sig)) {
    return invalid(PresenceErrorCode.BAD_SIGNATURE, parsed)
  }
  if (parsed.handle !== undefined) {
    let holder: { peer: string, kind: string } | undefined
    try {
      holder = await options.resolve?.(parsed.handle)
    } catch {
      holder = undefined
    }
    if (holder === undefined) return invalid(PresenceErrorCode.HANDLE_UNRESOLVED, parsed)
    if (holder.peer !== parsed.peer || holder.kind !== parsed.kind) return invalid(PresenceErrorCode.HANDLE_MISMATCH, parsed)
  }
  return { status: 'valid', announcement: parsed }
}
