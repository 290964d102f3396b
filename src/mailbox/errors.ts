import { ParleyError } from '../errors.js'

/** Every status a mailbox answers other than success (protocols/mailbox §4), and the client's own. */
export const MailboxErrorCode = {
  /** A malformed request, a bad or unsealed envelope, or a deposit by someone other than its signer. */
  INVALID: 'ERR_MAILBOX_INVALID',
  /** The envelope is over the relay's largest message. */
  TOO_LARGE: 'ERR_MAILBOX_TOO_LARGE',
  /** The relay keeps no mail for that recipient (its record does not list the relay). */
  UNKNOWN_RECIPIENT: 'ERR_MAILBOX_UNKNOWN_RECIPIENT',
  /** The recipient's newer record names another key: re-resolve, seal again, send again. */
  STALE_RECORD: 'ERR_MAILBOX_STALE_RECORD',
  /** Over a per-sender or per-recipient quota (`scope`). */
  QUOTA: 'ERR_MAILBOX_QUOTA',
  /** The relay holds all it will. */
  FULL: 'ERR_MAILBOX_FULL',
  /** The relay could not be reached, or the stream broke before an answer (the client's code). */
  UNREACHABLE: 'ERR_MAILBOX_UNREACHABLE'
} as const
export type MailboxErrorCode = typeof MailboxErrorCode[keyof typeof MailboxErrorCode]

/** A mailbox refused a request, or could not be reached; `code` says why. */
export class MailboxError extends ParleyError<MailboxErrorCode> {
  static override readonly name = 'MailboxError'
  /** For `ERR_MAILBOX_QUOTA`: which quota (`sender` or `recipient`). */
  readonly scope?: string
  /** The limit passed, when the relay says. */
  readonly limit?: number

  constructor (code: MailboxErrorCode, message: string, details: { scope?: string, limit?: number } = {}, options?: ErrorOptions) {
    super(code, message, options)
    if (details.scope !== undefined) this.scope = details.scope
    if (details.limit !== undefined) this.limit = details.limit
  }
}

/** Whether a refusal is worth trying again later (the relay may take it then). */
export function retryable (code: string): boolean {
  return code === MailboxErrorCode.QUOTA || code === MailboxErrorCode.FULL || code === MailboxErrorCode.UNREACHABLE
}
