/** Protocol id and limits of the mailbox (protocols/mailbox). */

/** The stream protocol relays serve mail on. */
export const MAILBOX_PROTOCOL = '/parley/mailbox/1.0.0'
/** Longest request frame: a 256 KiB envelope plus the recipient's record (§2). */
export const MAX_REQUEST_BYTES = 300 * 1024
/** Longest answer frame (§2). */
export const MAX_ANSWER_BYTES = 2 * 1024 * 1024
/** Envelope bytes one `pull` answer carries at most (always at least one message). */
export const MAX_PULL_BYTES = 1024 * 1024
/** Most messages one `pull` asks for, and most ids one `ack` names. */
export const MAX_BATCH = 256
/** Messages a `pull` returns when it names no `limit`. */
export const DEFAULT_PULL_LIMIT = 100
/** A request must arrive whole within this long of its stream opening. */
export const REQUEST_TIMEOUT_MS = 10_000
/** Default largest envelope a relay keeps (its canonical JSON). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
/** Default time a relay keeps an unacknowledged message. */
export const DEFAULT_MAIL_TTL_MS = 7 * 24 * 3600 * 1000
/** Default quotas (§5). */
export const DEFAULT_MAILBOX_QUOTAS = {
  /** Messages stored from one sender, across all recipients. */
  perSender: 2000,
  /** Messages stored for one recipient. */
  perRecipient: 10_000,
  /** Envelope bytes stored for one recipient. */
  perRecipientBytes: 64 * 1024 * 1024,
  /** Messages stored in all. */
  total: 200_000,
  /** Envelope bytes stored in all. */
  totalBytes: 1024 * 1024 * 1024
} as const
/** The receipt method (§7). */
export const RECEIPT_METHOD = 'mail/receipt'
