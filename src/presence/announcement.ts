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
 * const bytes = await signPresence(identity, { handle: 'alice', kind: 'human', capabilities: ['chat'], connections: [] })
 * const verdict = await verifyPresence(bytes, { from: identity.peerIdString, resolve })
 * verdict.status // 'valid'
 * ```
 */
import { isJsonObject } from '../util/shape.js'
import { canonicalize } from '../crypto/canonical-json.js'
import type { JsonValue } from '../crypto/canonical-json.js'
import { verifySignature } from '../crypto/signature.js'
import { ed25519KeyOfPeer } from '../crypto/peer-key.js'
import { fromBase64url, fromUtf8, toBase64url, utf8 } from '../crypto/bytes.js'
import { HANDLE_PATTERN } from '../handles/record.js'
import type { Transport } from '../dashboard/types.js'

/** The gossipsub topic of presence announcements. */
export const PRESENCE_TOPIC = '/parley/presence/1.0.0'
/** Prefix of the message a peer signs. */
export const PRESENCE_SIGNATURE_DOMAIN = 'parley/presence/v1\n'
/** Largest announcement accepted, in bytes. */
export const MAX_PRESENCE_BYTES = 8192
/** Most capabilities, and the longest one (characters). */
export const MAX_CAPABILITIES = 32
export const MAX_CAPABILITY_LENGTH = 64
/** Most connections an announcement lists. */
export const MAX_CONNECTIONS = 64
/** Announcements older than this are stale (default). */
export const DEFAULT_MAX_AGE_MS = 120_000
/** Announcements dated further ahead than this are refused (default). */
export const DEFAULT_MAX_FUTURE_MS = 30_000
/** Transports an announcement may name. */
export const PRESENCE_TRANSPORTS = ['tcp', 'websocket', 'circuit', 'webrtc'] as const satisfies readonly Transport[]

export type PresenceTransport = Transport

/** Why an announcement is not valid. */
export const PresenceErrorCode = {
  OVERSIZE: 'ERR_OVERSIZE',
  MALFORMED: 'ERR_MALFORMED',
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  UNSIGNED: 'ERR_UNSIGNED',
  SIGNER_MISMATCH: 'ERR_SIGNER_MISMATCH',
  STALE: 'ERR_STALE',
  FUTURE: 'ERR_FUTURE',
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  HANDLE_UNRESOLVED: 'ERR_HANDLE_UNRESOLVED',
  HANDLE_MISMATCH: 'ERR_HANDLE_MISMATCH'
} as const
export type PresenceErrorCode = typeof PresenceErrorCode[keyof typeof PresenceErrorCode]

/** An announcement's members, as on the wire. */
export interface PresenceAnnouncement {
  v: 1
  peer: string
  handle?: string
  kind: 'agent' | 'human'
  capabilities: string[]
  connections: Array<{ peer: string, transport: PresenceTransport }>
  ts: number
  sig?: string
}

/** What a receiver concludes about one announcement. */
export interface PresenceVerdict {
  status: 'valid' | 'invalid' | 'unsigned'
  /** Set unless `status` is `valid`. */
  reason?: PresenceErrorCode
  /** The parsed announcement, when it was well-formed enough to read. */
  announcement?: PresenceAnnouncement
}

/** What signing needs: Parley's `Identity` satisfies it. */
export interface PresenceSigner {
  readonly peerIdString: string
  sign: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array
}

/** What the DHT says about a handle: the holder and its kind, or undefined when no valid record was found. */
export type HandleLookup = (handle: string) => Promise<{ peer: string, kind: string } | undefined>

export interface VerifyPresenceOptions {
  /** The gossipsub publisher (the message's authenticated `from`): must equal `peer`. */
  from: string
  /** Resolves claimed handles; without it a handle claim cannot be checked and the announcement is invalid. */
  resolve?: HandleLookup
  now?: number
  maxAgeMs?: number
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
  if (typeof peer !== 'string' || ed25519KeyOfPeer(peer) === undefined) return M
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
  if (canonical !== text) return invalid(PresenceErrorCode.NON_CANONICAL, parsed)
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
