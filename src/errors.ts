/**
 * Typed errors shared by every Parley module.
 *
 * Each error class has a stable `name` (for `instanceof`-free checks across
 * realms and processes) and every instance carries a stable machine-readable
 * `code`. Codes are part of the wire contract: protocol specs in `protocols/`
 * list them and the test vectors assert them.
 *
 * @packageDocumentation
 */

/** Base class of every error Parley throws on purpose. */
export class ParleyError<Code extends string = string> extends Error {
  static override readonly name: string = 'ParleyError'
  /** Stable machine-readable reason, e.g. `ERR_BAD_SIGNATURE`; part of the wire contract. */
  readonly code: Code

  constructor (code: Code, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = (new.target as { name: string }).name
  }
}

/** Every reason an envelope can be refused. */
export const EnvelopeErrorCode = {
  /** The frame exceeds the receiver's size limit. */
  OVERSIZE: 'ERR_OVERSIZE',
  /** The bytes are not UTF-8 JSON text. */
  MALFORMED_JSON: 'ERR_MALFORMED_JSON',
  /** The JSON is valid but is not the RFC 8785 canonical form of itself. */
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  /** A required envelope field is missing, has the wrong type, or an unknown field is present. */
  MALFORMED_ENVELOPE: 'ERR_MALFORMED_ENVELOPE',
  /** `v` names a version this implementation does not speak. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** `body` is not a single JSON-RPC 2.0 request, notification or response. */
  MALFORMED_JSONRPC: 'ERR_MALFORMED_JSONRPC',
  /** `ts` is older than the receiver's window. */
  STALE: 'ERR_STALE',
  /** `ts` is further in the future than the receiver tolerates. */
  FUTURE: 'ERR_FUTURE',
  /** The Ed25519 signature does not verify under the Parley rule. */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** `from.peer` is not the peer the transport authenticated. */
  SIGNER_MISMATCH: 'ERR_SIGNER_MISMATCH',
  /** `to` does not name the receiver. */
  WRONG_RECIPIENT: 'ERR_WRONG_RECIPIENT',
  /** The same (signer, id, nonce) was already accepted inside the window. */
  REPLAYED: 'ERR_REPLAYED',
  /** A sealed payload could not be opened (wrong key, tampered ciphertext). */
  UNSEALABLE: 'ERR_UNSEALABLE'
} as const
export type EnvelopeErrorCode = typeof EnvelopeErrorCode[keyof typeof EnvelopeErrorCode]

/** An envelope was refused; `code` says why. */
export class EnvelopeError extends ParleyError<EnvelopeErrorCode> {
  static override readonly name = 'EnvelopeError'
}

/** Every reason a handle record can be refused. */
export const HandleRecordErrorCode = {
  /** Not UTF-8 JSON / I-JSON, not an object, a missing, unknown or mistyped member, or `peer` not an Ed25519 peer id. */
  MALFORMED_RECORD: 'ERR_MALFORMED_RECORD',
  /** `v` is present but not 1. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** The bytes are not the canonical (RFC 8785) encoding, or a base64url value is not canonically spelled. */
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  /** The handle is not 3-32 characters of `a-z`, `0-9` and `-` (`protocols/handle-record` §1). */
  INVALID_HANDLE: 'ERR_INVALID_HANDLE',
  /** The record is stored under a DHT key other than `/handle/<handle>`. */
  KEY_MISMATCH: 'ERR_KEY_MISMATCH',
  /** `sig` does not verify. */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** The proof-of-work stamp does not satisfy `pow.bits`. */
  BAD_POW: 'ERR_BAD_POW',
  /** `pow.bits` is below the validator's minimum. */
  INSUFFICIENT_POW: 'ERR_INSUFFICIENT_POW',
  /** `expires` is not after now. */
  EXPIRED: 'ERR_EXPIRED',
  /** `expires` is further ahead than the validator's maximum TTL. */
  EXPIRY_TOO_FAR: 'ERR_EXPIRY_TOO_FAR',
  /** `rotation` does not verify, `prev` equals `peer`, or `prev` is not an Ed25519 peer id. */
  BAD_ROTATION: 'ERR_BAD_ROTATION',
  /** The handle is already held by another key (first come, first served). */
  HANDLE_TAKEN: 'ERR_HANDLE_TAKEN',
  /** No valid record for the handle was found (resolution). */
  NOT_FOUND: 'ERR_NOT_FOUND',
  /** The trusted DHT servers answered with records of different owners, equally often (resolution, protocols/handle-record §15). */
  HANDLE_CONFLICT: 'ERR_HANDLE_CONFLICT',
  /** The record is more than 4096 bytes. */
  OVERSIZE: 'ERR_OVERSIZE'
} as const
export type HandleRecordErrorCode = typeof HandleRecordErrorCode[keyof typeof HandleRecordErrorCode]

/** A handle record was refused; `code` says why. */
export class HandleRecordError extends ParleyError<HandleRecordErrorCode> {
  static override readonly name = 'HandleRecordError'
}

/** Every reason an identity cannot be loaded or created. */
export const IdentityErrorCode = {
  /** The key file is readable by group or others. */
  KEY_PERMISSIONS: 'ERR_KEY_PERMISSIONS',
  /** The key file exists but cannot be parsed, or its fields disagree. */
  KEY_CORRUPT: 'ERR_KEY_CORRUPT',
  /** The stored kind differs from the kind asked for. */
  KIND_MISMATCH: 'ERR_KIND_MISMATCH',
  /** An argument is not acceptable (unknown kind, bad seed length). */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** The private key's secret cannot be read: a non-extractable WebCrypto key (it signs, it cannot be saved or exported). */
  KEY_NOT_EXTRACTABLE: 'ERR_KEY_NOT_EXTRACTABLE',
  /** The key store cannot be used: no IndexedDB in this runtime, or the browser refused to open or write it. */
  KEY_STORE_UNAVAILABLE: 'ERR_KEY_STORE_UNAVAILABLE'
} as const
export type IdentityErrorCode = typeof IdentityErrorCode[keyof typeof IdentityErrorCode]

/** An identity could not be created or loaded; `code` says why. */
export class IdentityError extends ParleyError<IdentityErrorCode> {
  static override readonly name = 'IdentityError'
}

/** Every reason an agent cannot be created or started. */
export const AgentErrorCode = {
  /** An option is missing or malformed (a relay address without `/p2p/<id>`, a bad handle): the message names it. */
  INVALID_OPTIONS: 'ERR_INVALID_OPTIONS',
  /** No relay could be dialed, or none granted a reservation in time. */
  NO_RELAY: 'ERR_NO_RELAY',
  /** The data directory's store cannot be opened: most often another running agent holds it. */
  DATA_DIR_UNAVAILABLE: 'ERR_DATA_DIR_UNAVAILABLE',
  /** The agent is not started (or was stopped): call `start()` first. */
  NOT_STARTED: 'ERR_NOT_STARTED',
  /** This runtime is too old for Parley (Node.js before 22). */
  UNSUPPORTED_RUNTIME: 'ERR_UNSUPPORTED_RUNTIME',
  /** `connect()` did not open a session within `connectTimeoutMs` (resolving, dialing and the hellos together). */
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  /**
   * No connection to the peer could be made: each of its relays refused or
   * failed the circuit (most often `NO_RESERVATION`: the peer is offline, or
   * has not registered again since its relay restarted). The message names
   * each relay and its reason; `cause` is the last one's error.
   */
  PEER_UNREACHABLE: 'ERR_PEER_UNREACHABLE'
} as const
export type AgentErrorCode = typeof AgentErrorCode[keyof typeof AgentErrorCode]

/** An agent could not be created or started, or could not reach a peer in time; `code` says why and the message says what to do. */
export class AgentError extends ParleyError<AgentErrorCode> {
  static override readonly name = 'AgentError'
}
