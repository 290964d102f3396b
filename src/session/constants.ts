/** The session stream protocol id. */
export const SESSION_PROTOCOL = '/parley/session/1.0.0'

/** JSON-RPC error code for an envelope the receiver refused; `data.code` holds the envelope error code. */
export const ENVELOPE_REJECTED = -32001
/** Standard JSON-RPC codes. */
export const METHOD_NOT_FOUND = -32601
export const INVALID_PARAMS = -32602
export const INTERNAL_ERROR = -32603

/** Default time a request waits for its response. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Length prefixes above this many times the envelope limit reset the stream. */
export const HARD_FRAME_FACTOR = 16
