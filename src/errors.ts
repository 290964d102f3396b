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
  MALFORMED_RECORD: 'ERR_MALFORMED_RECORD',
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  NON_CANONICAL: 'ERR_NON_CANONICAL',
  INVALID_HANDLE: 'ERR_INVALID_HANDLE',
  KEY_MISMATCH: 'ERR_KEY_MISMATCH',
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  BAD_POW: 'ERR_BAD_POW',
  INSUFFICIENT_POW: 'ERR_INSUFFICIENT_POW',
  EXPIRED: 'ERR_EXPIRED',
  EXPIRY_TOO_FAR: 'ERR_EXPIRY_TOO_FAR',
  BAD_ROTATION: 'ERR_BAD_ROTATION',
  HANDLE_TAKEN: 'ERR_HANDLE_TAKEN',
  /** No valid record for the handle was found (resolution). */
  NOT_FOUND: 'ERR_NOT_FOUND',
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
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT'
} as const
export type IdentityErrorCode = typeof IdentityErrorCode[keyof typeof IdentityErrorCode]

/** An identity could not be created or loaded; `code` says why. */
export class IdentityError extends ParleyError<IdentityErrorCode> {
  static override readonly name = 'IdentityError'
}
