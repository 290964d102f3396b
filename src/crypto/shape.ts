/**
 * Shape checks that every parser of Parley's signed objects needs (envelopes,
 * handle records, presence, transitions, agreements, the stores): one of
 * each, so that "a peer id" or "an object" means the same everywhere.
 */
import { fromBase64url } from './bytes.js'
import { ed25519KeyOfPeer } from './peer-key.js'

/** True for an object as `JSON.parse` makes them: not null, not an array. */
export function isJsonObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** True for a plain JSON object (not an array, not null, not a class instance). */
export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (!isJsonObject(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** True for the canonical peer id string of an Ed25519 key. */
export function isPeerId (value: unknown): value is string {
  return typeof value === 'string' && value.length <= 128 && ed25519KeyOfPeer(value) !== undefined
}

/** True for canonical unpadded base64url of exactly `length` bytes. */
export function isBase64urlOf (value: unknown, length: number): value is string {
  return typeof value === 'string' && fromBase64url(value)?.byteLength === length
}
