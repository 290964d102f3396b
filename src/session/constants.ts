/** The session stream protocol id. */
export const SESSION_PROTOCOL = '/parley/session/1.0.0'

/** JSON-RPC error code for an envelope the receiver refused; `data.code` holds the envelope error code. */
export const ENVELOPE_REJECTED = -32001
/**
 * JSON-RPC error code for a request refused because the session already has
 * `maxInFlight` requests being handled; `data.code` is `ERR_TOO_MANY_REQUESTS`.
 */
export const TOO_MANY_REQUESTS = -32004
/** The `data.code` of a {@link TOO_MANY_REQUESTS} error. */
export const ERR_TOO_MANY_REQUESTS = 'ERR_TOO_MANY_REQUESTS'
/** Standard JSON-RPC codes (defined in src/envelope/rpc-error.ts, with `RpcError`). */
export { METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR } from '../envelope/rpc-error.js'

/** Default time a request waits for its response. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Length prefixes above this many times the envelope limit reset the stream. */
export const HARD_FRAME_FACTOR = 16

/** Default time a session stream's first frame (the peer's hello) has to arrive whole. */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000
/** Default time a frame has to arrive whole once its first byte is awaited. */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000
/** Default number of incoming requests one session handles at once. */
export const DEFAULT_MAX_IN_FLIGHT = 64
/** Default time the outgoing side of a session may stay blocked (the peer not reading) before the session is closed. */
export const DEFAULT_WRITE_TIMEOUT_MS = 10_000
/** Default bytes a session may hold queued for a peer that does not read (beyond one frame of any size). */
export const DEFAULT_MAX_WRITE_BUFFER_BYTES = 1024 * 1024
/** Longest text taken from a request into an error message (a method name, a refusal reason). */
export const MAX_ECHOED_CHARS = 256
/** Frames of one unknown peer verified per second, across all its sessions, after a burst of twice as many; faster ones wait (protocols/session §6.1). */
export const DEFAULT_FRAMES_PER_SECOND = 200
/** The same by the peer's trust level: unknown (0), known (1), trusted (2). Contacts may talk faster than strangers. */
export const DEFAULT_FRAMES_PER_SECOND_BY_TRUST: readonly [number, number, number] = Object.freeze([DEFAULT_FRAMES_PER_SECOND, 1000, 2000] as const)
/**
 * Bytes a session reads ahead of its reader (protocols/session §6.1): past it
 * the stream is paused, so a peer sending faster than its frames are admitted
 * waits on the muxer's flow control instead of growing our memory.
 */
export const READ_AHEAD_BYTES = 64 * 1024
/**
 * The largest yamux receive window an agent grants one stream (the library's
 * default is 16 MiB): what a peer may have in flight to a paused stream.
 */
export const MAX_STREAM_WINDOW_BYTES = 1024 * 1024
/**
 * Bytes a session lets a stream hold beyond what its transport took before it
 * waits for the stream to drain (protocols/session §6.1): a WebRTC data
 * channel asks for a drain after almost every message, and waiting for each
 * drain event cost ~1 ms a message.
 */
export const WRITE_AHEAD_BYTES = 16 * 1024

/**
 * Default time a session whose connection failed waits to be taken over on a
 * new stream (`session/resume`, protocols/session §5.1) before it ends; the
 * side that opened it redials meanwhile. 0 ends it at once.
 */
export const DEFAULT_RESUME_WINDOW_MS = 30_000
/** Backoff between redials of a session whose connection failed: first and longest wait (protocols/session §5.1). */
export const RESUME_BACKOFF_MS: readonly [number, number] = Object.freeze([250, 2000] as const)
/**
 * Answers a session keeps so that a retried request (same envelope `id`)
 * gets the first response instead of running twice (protocols/session §5.2):
 * at most this many, and at most {@link ANSWER_CACHE_BYTES} of them.
 */
export const ANSWER_CACHE_ENTRIES = 256
/** Bytes of signed responses a session keeps for retried requests (see {@link ANSWER_CACHE_ENTRIES}). */
export const ANSWER_CACHE_BYTES = 1024 * 1024
/** JSON-RPC "Invalid Request": a retried envelope `id` that names another method. */
export const INVALID_REQUEST = -32600
