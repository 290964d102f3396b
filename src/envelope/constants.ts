/** The envelope version this implementation speaks (`v`). */
export const ENVELOPE_VERSION = 1

/** Domain separation for envelope signatures: prefixed to the canonical JSON before signing. */
export const SIGNING_CONTEXT = 'parley/envelope/v1\n'

/** Largest frame accepted by default, in bytes of UTF-8 JSON (256 KiB). */
export const DEFAULT_MAX_BYTES = 256 * 1024

/** Oldest `ts` accepted by default: 5 minutes before the receiver's clock. */
export const DEFAULT_MAX_AGE_MS = 5 * 60 * 1000

/** Furthest future `ts` accepted by default: 60 seconds ahead of the receiver's clock. */
export const DEFAULT_MAX_SKEW_MS = 60 * 1000

/** Entries the default replay guard holds before it starts narrowing its window. */
export const DEFAULT_REPLAY_CAPACITY = 100_000

/** The one sealing suite defined by version 1. */
export const SEALED_ALG = 'X25519-HKDF-SHA256-ChaCha20Poly1305'

/** HKDF `info` for the sealing key. */
export const SEALED_INFO = 'parley/sealed/v1'

/** `id` syntax. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/
